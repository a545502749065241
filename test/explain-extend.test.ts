import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../src/backend/index.js';
import { KilnError, createRng } from '../src/core/index.js';
import {
  alphaBetaRule, boundedRule, composites, createAnalyzer, flatRule, gammaRule, listComposites, resolveComposite, wSquareRule,
  zPlusFastRule, type LinearParams, type Rule,
} from '../src/explain/index.js';

/**
 * Explain as a library: named composites (Zennit's), the explained neuron, the stabilizer of the
 * non-epsilon rules, w_square's bias, and the places where Kiln's bias conventions follow Zennit
 * rather than iNNvestigate, each checked against numbers computed here with plain loops and
 * against numbers printed by Zennit 0.5.1 (torch, float64) on the same weights.
 */

before(async () => {
  await initBackend();
});

function assertClose(actual: ArrayLike<number>, expected: readonly number[], what: string, rtol = 1e-5): void {
  const scale = Math.max(1e-6, ...expected.map(Math.abs));
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= rtol * scale, `${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

const sumOf = (v: ArrayLike<number>): number => Array.from(v).reduce((a, b) => a + b, 0);

// ---- named composites ---------------------------------------------------------------------------

/** conv 2x2 (1->2) relu, conv 2x2 (2->2) relu, flatten, dense 8->3 relu, dense 3->2 on a 4x4x1 input. */
const ZENNIT_NET = {
  conv1: { kernel: [0.329, 0.885, -0, -0.233, 0.423, 0.265, 0.101, 0.134], bias: [-0.161, 0.42] },
  conv2: { kernel: [0.165, 0.143, -0.357, 0.144, 0.07, -0.069, -0.066, 0.178, -0.585, -0.522, -0.488, 0.529, 0.664, -0.475, 0.371, 0.51],
    bias: [-0.221, 0.288] },
  dense1: { kernel: [-0.688, -0.085, -0.446, 0.605, -0.51, 0.026, -0.57, -0.645, -0.524, -0.236, 0.192, -0.28, 0.584, -0.062, 0.209,
    0.418, 0.565, 0.64, -0.338, -0.078, 0.566, 0.472, 0.466, -0.132], bias: [0.088, 0.042, 0.118] },
  dense2: { kernel: [0.799, 0.923, 0.363, 0.726, 0.027, -0.191], bias: [0.577, 0.317] },
  x: [0.732, 0.449, 0.508, 0.048, 0.582, 0.313, 0.804, 0.836, 0.6, 0.97, 0.534, 0.319, 0.263, 0.066, 0.117, 0.342],
};

/** Zennit's composites (default epsilon and stabilizer 1e-6) on ZENNIT_NET for its largest output (index 1). */
const ZENNIT_RELEVANCE: Record<string, number[]> = {
  'epsilon-plus': [0.01524135, 0.007535698, -0.001488687, 0, 0.09473202, 0.07140895, 0.07308043, -0.0003709432, 0.1689245,
    0.6429059, 0.1941226, 0.004313654, 0.01706119, 0.01297539, 0.02019151, 0.01552151],
  'epsilon-alpha2-beta1': [0.06096541, -0.023009, -0.04403023, 0.007911042, 0.2968279, -0.171987, -0.3302907, -0.2664027,
    0.0685097, -0.4613706, -1.489591, -0.6599215, -0.2126203, -0.1527413, -0.1272346, -0.02760255],
  'epsilon-plus-flat': [0.007602051, 0.01238624, 0.003795219, -0.0009889684, 0.06150126, 0.1333743, 0.1040795, 0.03220648,
    0.1169065, 0.3866699, 0.3850425, 0.1152791, 0.0630073, 0.2656819, 0.2847582, 0.08208366],
  'epsilon-alpha2-beta1-flat': [0.0152041, 0.0227555, 0.006137029, -0.001414371, 0.09388636, 0.1768557, 0.1063488, 0.02337941,
    0.105189, 0.28418, 0.2836565, 0.1046655, 0.0265067, 0.1300798, 0.1834448, 0.0798717],
  // EpsilonGammaBox(low=0, high=1): box rule on the first convolution, gamma 0.25 on the second.
  'epsilon-gamma-box': [0.02326529, 0.01648591, 0.001895613, -0.001098014, 0.1258441, 0.1493355, 0.1227055, 0.0053595, 0.2527897,
    0.8011175, 0.359862, 0.08573708, 0.01660352, 0.009773693, 0.02020842, 0.01919756],
};

function zennitNet(): tf.LayersModel {
  const n = ZENNIT_NET;
  return tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 2, activation: 'relu',
      weights: [tf.tensor4d(n.conv1.kernel, [2, 2, 1, 2]), tf.tensor1d(n.conv1.bias)] }),
    tf.layers.conv2d({ filters: 2, kernelSize: 2, activation: 'relu', weights: [tf.tensor4d(n.conv2.kernel, [2, 2, 2, 2]), tf.tensor1d(n.conv2.bias)] }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 3, activation: 'relu', weights: [tf.tensor2d(n.dense1.kernel, [8, 3]), tf.tensor1d(n.dense1.bias)] }),
    tf.layers.dense({ units: 2, weights: [tf.tensor2d(n.dense2.kernel, [3, 2]), tf.tensor1d(n.dense2.bias)] }),
  ] });
}

/** Bias-free ReLU CNN with a standalone batch normalization, on which LRP conserves relevance. */
function biasFreeNet(): tf.LayersModel {
  const rng = createRng(41);
  const random = (n: number): number[] => Array.from({ length: n }, () => 2 * rng.next() - 1);
  return tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'relu', useBias: false,
      weights: [tf.tensor4d(random(27), [3, 3, 1, 3])] }),
    tf.layers.flatten(),
    tf.layers.dense({ units: 6, activation: 'relu', useBias: false, weights: [tf.tensor2d(random(48 * 6), [48, 6])] }),
    tf.layers.batchNormalization({ weights: [tf.tensor1d(random(6).map((v) => 1 + 0.5 * v)), tf.tensor1d(random(6)),
      tf.tensor1d(random(6).map((v) => 0.2 * v)), tf.tensor1d(random(6).map((v) => 1 + 0.5 * v))] }),
    tf.layers.dense({ units: 3, useBias: false, weights: [tf.tensor2d(random(18), [6, 3])] }),
  ] });
}

test('the named composites are listed, and each matches Zennit on a small CNN with biases', () => {
  const names = listComposites().map((c) => c.name);
  for (const name of Object.keys(ZENNIT_RELEVANCE)) assert.ok(names.includes(name), `composite ${name} is not registered`);
  assert.ok(listComposites().every((c) => /Zennit/.test(c.description)), 'every composite names its Zennit counterpart');
  const model = zennitNet();
  const x = tf.tensor4d(ZENNIT_NET.x, [1, 4, 4, 1]);
  for (const name of names) {
    const expected = ZENNIT_RELEVANCE[name];
    assert.ok(expected, `no Zennit reference for composite ${name}`);
    const { relevance, neuron } = createAnalyzer('lrp', model, { composite: name }).explain(x);
    assert.deepEqual(neuron, [1]);
    assertClose(relevance.dataSync(), expected, `${name} vs Zennit`, 2e-5);
  }
});

test('every registered composite conserves relevance on a bias-free ReLU CNN', () => {
  const model = biasFreeNet();
  const x = tf.randomUniform([3, 6, 6, 1], 0.1, 1, 'float32', 42);
  const outputs = tf.tidy(() => Array.from(tf.max(model.predict(x) as tf.Tensor, 1).dataSync()));
  for (const name of composites.names()) {
    const r = createAnalyzer('lrp', model, { composite: name }).analyze(x);
    const sums = tf.tidy(() => Array.from(tf.sum(tf.reshape(r, [3, -1]), 1).dataSync()));
    sums.forEach((s, i) => assert.ok(Math.abs(s - outputs[i]) <= 1e-4 * Math.abs(outputs[i]),
      `${name}: relevance of example ${i} sums to ${s}, the output is ${outputs[i]}`));
    assert.ok(r.dataSync().some((v) => v !== 0), `${name}: all zero`);
  }
});

test('the lrp analyzer takes a composite by name or as an object; unknown names are refused', () => {
  const model = zennitNet();
  const x = tf.tensor4d(ZENNIT_NET.x, [1, 4, 4, 1]);
  const byName = createAnalyzer('lrp', model, { composite: 'epsilon-alpha2-beta1', epsilon: 0.01 });
  assert.equal(byName.options.composite, 'epsilon-alpha2-beta1');
  const byObject = createAnalyzer('lrp', model, { composite: resolveComposite('epsilon-alpha2-beta1', { epsilon: 0.01 }) });
  assert.equal(byObject.options.composite, '(custom)');
  assert.deepEqual(Array.from(byName.analyze(x).dataSync()), Array.from(byObject.analyze(x).dataSync()));
  // The default is epsilon-plus.
  assertClose(createAnalyzer('lrp', model).analyze(x).dataSync(), ZENNIT_RELEVANCE['epsilon-plus'], 'default composite', 2e-5);
  assert.throws(() => createAnalyzer('lrp', model, { composite: 'nope' }), (e: unknown) =>
    e instanceof KilnError && /^unknown composite 'nope' \(known: epsilon-plus, /.test(e.message));
  assert.throws(() => createAnalyzer('lrp.epsilon', model, { composite: 'epsilon-plus' }), /has no option 'composite'/);
});

// ---- the explained neuron -----------------------------------------------------------------------

test('explain() says which output it explained and returns the same relevance as analyze()', () => {
  const model = zennitNet();
  const x = tf.tidy(() => tf.concat([tf.tensor4d(ZENNIT_NET.x, [1, 4, 4, 1]), tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 43)]));
  const argmax = tf.tidy(() => Array.from(tf.argMax(model.predict(x) as tf.Tensor, 1).dataSync()));
  for (const name of ['gradient', 'lrp.epsilon', 'lrp', 'integrated_gradients']) {
    const analyzer = createAnalyzer(name, model, name === 'integrated_gradients' ? { steps: 4 } : {});
    const max = analyzer.explain(x);
    assert.deepEqual(max.neuron, argmax, `${name}: max_activation`);
    assertClose(max.relevance.dataSync(), Array.from(analyzer.analyze(x).dataSync()), `${name}: explain vs analyze`, 1e-6);
    assert.deepEqual(analyzer.explain(x, { neuronSelection: 'index', index: 0 }).neuron, [0, 0, 0]);
    assert.deepEqual(analyzer.explain(x, { neuronSelection: 'index', index: [1, 0, 1] }).neuron, [1, 0, 1]);
    assert.equal(analyzer.explain(x, { neuronSelection: 'all' }).neuron, null);
  }
});

// ---- one dense layer: stabilizer, w_square bias, bias conventions -------------------------------

/** A dense layer [in, out] written as LinearParams, the context every rule receives. */
function denseLayer(w: number[][], b: number[] | null): LinearParams {
  return {
    kind: 'dense',
    weight: tf.tensor2d(w),
    bias: b ? tf.tensor1d(b) : null,
    apply: (x, weight, bias) => (bias ? tf.add(tf.matMul(x as tf.Tensor2D, weight as tf.Tensor2D), bias) : tf.matMul(x as tf.Tensor2D, weight as tf.Tensor2D)),
  };
}

function applyRule(rule: Rule, layer: LinearParams, x: number[], r: number[]): number[] {
  return tf.tidy(() => Array.from(rule.apply(layer, tf.tensor2d([x]), tf.tensor2d([r])).dataSync()));
}

// Zennit's test layer: torch weight rows [1,-2,0.5,3], [-1,1,2,-0.5], [0.3,-0.7,1.5,-2] as [in, out].
const W = [[1, -1, 0.3], [-2, 1, -0.7], [0.5, 2, 1.5], [3, -0.5, -2]];
const B = [0.5, -1, 0.2];
const X = [1, -0.5, 2, 0.3];

function denseModel(): tf.LayersModel {
  return tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, weights: [tf.tensor2d(W), tf.tensor1d(B)] })] });
}

function explainAll(name: string, options: Record<string, unknown> = {}): number[] {
  return tf.tidy(() => Array.from(createAnalyzer(name, denseModel(), options).analyze(tf.tensor2d([X]), { neuronSelection: 'all' }).dataSync()));
}

const Y = B.map((bj, j) => X.reduce((s, xi, i) => s + xi * W[i][j], bj));
const pos = (v: number): number => Math.max(v, 0);
const neg = (v: number): number => Math.min(v, 0);

/** R_i = sum_j share(i, j) R_j / (denominator_j), 0 where the denominator is 0. */
function spread(share: (i: number, j: number) => number, denominator: (j: number) => number): number[] {
  return X.map((_, i) => Y.reduce((s, r, j) => (denominator(j) === 0 ? s : s + (share(i, j) * r) / denominator(j)), 0));
}
const column = (f: (i: number, j: number) => number) => (j: number): number => X.reduce((s, _, i) => s + f(i, j), 0);

/** Alpha-beta on the test layer; `biasPart(j, activating)` is what each convention adds to a denominator. */
function alphaBetaByHand(alpha: number, beta: number, biasPart: (j: number, activating: boolean) => number): number[] {
  const act = (i: number, j: number): number => pos(X[i] * W[i][j]);
  const inh = (i: number, j: number): number => neg(X[i] * W[i][j]);
  const a = spread(act, (j) => column(act)(j) + biasPart(j, true));
  const n = spread(inh, (j) => column(inh)(j) + biasPart(j, false));
  return a.map((v, i) => alpha * v - beta * n[i]);
}

const zennitBias = (j: number, activating: boolean): number => (activating ? pos(B[j]) : neg(B[j]));
const innvestigateBias = (j: number): number => B[j];

test('bias convention: alpha-beta splits the bias by sign (Zennit), not the whole bias in both parts (iNNvestigate)', () => {
  const zennit = alphaBetaByHand(2, 1, zennitBias);
  const innvestigate = alphaBetaByHand(2, 1, innvestigateBias);
  assert.ok(zennit.some((v, i) => Math.abs(v - innvestigate[i]) > 0.1), 'the conventions differ on this layer');
  assertClose(explainAll('lrp.alpha_2_beta_1'), zennit, 'lrp.alpha_2_beta_1');
  assertClose(explainAll('lrp.alpha_beta', { alpha: 2 }), zennit, 'lrp.alpha_beta');
  // What Zennit's AlphaBeta(2, 1) printed for this layer.
  assertClose(explainAll('lrp.alpha_2_beta_1'), [1.9970595, 2.3361921, 9.7649351, -1.5264151], 'Zennit AlphaBeta');
  // alpha1-beta0 with bias is Zennit's ZPlus (b+ joins the sum); lrp.z_plus is iNNvestigate's (bias ignored).
  assertClose(explainAll('lrp.alpha_1_beta_0'), alphaBetaByHand(1, 0, zennitBias), 'lrp.alpha_1_beta_0');
  assertClose(explainAll('lrp.alpha_1_beta_0'), [1.2532468, 1.2954545, 4.8824675, 0.9], 'Zennit ZPlus');
  assertClose(explainAll('lrp.z_plus'), alphaBetaByHand(1, 0, () => 0), 'lrp.z_plus');
  assert.ok(Math.abs(alphaBetaByHand(1, 0, zennitBias)[2] - alphaBetaByHand(1, 0, innvestigateBias)[2]) > 0.1);
});

test('bias convention: w_square with bias adds b^2 to the denominator (Zennit); the default ignores the bias (iNNvestigate)', () => {
  const square = (i: number, j: number): number => W[i][j] ** 2;
  const withBias = spread(square, (j) => column(square)(j) + B[j] ** 2);
  const without = spread(square, column(square));
  assertClose(explainAll('lrp.w_square', { bias: true }), withBias, 'w_square bias=true');
  assertClose(explainAll('lrp.w_square', { bias: true }), [0.5322316, 1.6318049, 1.8851001, 4.6698715], 'Zennit WSquare');
  assertClose(explainAll('lrp.w_square'), without, 'w_square default');
  assertClose(explainAll('lrp.w_square', { bias: false }), without, 'w_square bias=false');
  assert.ok(sumOf(withBias) < sumOf(without) - 0.1, 'the bias absorbs relevance');
  // The flat rule ignores the bias in both libraries.
  assertClose(explainAll('lrp.flat'), X.map(() => sumOf(Y) / 4), 'flat');
});

test('the stabilizer: default unchanged, and where a denominator is nearly zero it prevents NaN and infinity', () => {
  const layer = denseLayer(W, B);
  // Default = stabilizer 0 = safe division, bit for bit.
  const rules: [string, (s?: number) => Rule][] = [
    ['alpha_beta', (s) => alphaBetaRule(2, 1, true, s === undefined ? {} : { stabilizer: s })],
    ['z_plus_fast', (s) => zPlusFastRule(s === undefined ? {} : { stabilizer: s })],
    ['w_square', (s) => wSquareRule(s === undefined ? {} : { stabilizer: s })],
    ['flat', (s) => flatRule(s === undefined ? {} : { stabilizer: s })],
    ['bounded', (s) => boundedRule(-1, 2, s === undefined ? {} : { stabilizer: s })],
    ['gamma', (s) => gammaRule(0.25, s === undefined ? {} : { stabilizer: s })],
  ];
  for (const [name, make] of rules) {
    assert.deepEqual(applyRule(make(), layer, X, Y), applyRule(make(0), layer, X, Y), `${name}: default vs stabilizer 0`);
    assert.notDeepEqual(applyRule(make(0.5), layer, X, Y), applyRule(make(), layer, X, Y), `${name}: a stabilizer changes the result`);
  }
  assertClose(explainAll('lrp.alpha_2_beta_1', { stabilizer: 0 }), alphaBetaByHand(2, 1, zennitBias), 'analyzer default');
  // The flat rule's denominator is the fan-in: with a stabilizer s each input gets R / (4 + s).
  assertClose(applyRule(flatRule({ stabilizer: 0.5 }), layer, X, Y), X.map(() => sumOf(Y) / 4.5), 'flat, stabilizer 0.5');

  // Denominators of 1e-36 with relevance 1e3: R / z overflows float32 to infinity, and infinity times a zero weight is NaN.
  const tiny = 1e-18;
  const cases: { name: string; rule: (s: number) => Rule; w: number[][]; x: number[]; expected: (s: number) => number[] }[] = [
    // Activating part x1 w1 = 1e-36 (alpha-beta, z+ fast): all of R goes to input 1 as R x1 w1 / (x1 w1 + s).
    { name: 'alpha_beta', rule: (s) => alphaBetaRule(1, 0, false, { stabilizer: s }), w: [[tiny], [-1]], x: [tiny, 1],
      expected: (s) => [(1e3 * 1e-36) / (1e-36 + s), 0] },
    { name: 'z_plus_fast', rule: (s) => zPlusFastRule({ stabilizer: s }), w: [[tiny], [-1]], x: [tiny, 1],
      expected: (s) => [(1e3 * 1e-36) / (1e-36 + s), 0] },
    // Squared weights of 1e-36 (w_square): R w_i^2 / (sum w^2 + s).
    { name: 'w_square', rule: (s) => wSquareRule({ stabilizer: s }), w: [[tiny], [0]], x: [1, 1],
      expected: (s) => [(1e3 * 1e-36) / (1e-36 + s), 0] },
    // x at the lower bound (bounded): z = w x - w low = 1e-36.
    { name: 'bounded', rule: (s) => boundedRule(0, 1, { stabilizer: s }), w: [[tiny], [0]], x: [tiny, 0],
      expected: (s) => [(1e3 * 1e-36) / (1e-36 + s), 0] },
  ];
  for (const c of cases) {
    const l = denseLayer(c.w, null);
    const plain = applyRule(c.rule(0), l, c.x, [1e3]);
    assert.ok(plain.some((v) => !Number.isFinite(v)), `${c.name}: without a stabilizer the result should overflow (got ${plain})`);
    const stable = applyRule(c.rule(1e-6), l, c.x, [1e3]);
    assert.ok(stable.every(Number.isFinite), `${c.name}: with a stabilizer every value is finite (got ${stable})`);
    // A stabilizer of the denominator's own size, so the value is of order one: R p / (p + s) = 1e3 / 11.
    assertClose(applyRule(c.rule(1e-35), l, c.x, [1e3]), c.expected(1e-35), `${c.name} stabilized`, 1e-5);
  }
});

test('the gamma rule (Zennit generalized Gamma, used by epsilon-gamma-box) matches a hand computation and Zennit', () => {
  // Output 1 is negative here (bias -3), so both of the rule's branches are exercised.
  const b = [0.5, -3, 0.2];
  const y = b.map((bj, j) => X.reduce((s, xi, i) => s + xi * W[i][j], bj));
  assert.ok(y[1] < 0 && y[0] > 0);
  const byHand = (gamma: number): number[] => {
    const up = (w: number): number => w + gamma * pos(w);
    const down = (w: number): number => w + gamma * neg(w);
    return X.map((xi, i) => y.reduce((sum, r, j) => {
      // Positive output: x+ with w + gamma w+, x- with w + gamma w-, bias b + gamma b+; negative output: the mirror image.
      const [wxp, wxn, bias] = r > 0 ? [up, down, up(b[j])] : [down, up, down(b[j])];
      const z = X.reduce((s, xk, k) => s + pos(xk) * wxp(W[k][j]) + neg(xk) * wxn(W[k][j]), bias);
      return sum + ((pos(xi) * wxp(W[i][j]) + neg(xi) * wxn(W[i][j])) * r) / z;
    }, 0));
  };
  const layer = denseLayer(W, b);
  for (const [gamma, zennit] of [[0.25, [0.8410416, 1.113399, 5.327658, 0.3698506]], [1, [1.029365, 1.197781, 4.237045, 0.5885597]]] as const) {
    const got = applyRule(gammaRule(gamma), layer, X, y);
    assertClose(got, byHand(gamma), `gamma ${gamma} by hand`);
    assertClose(got, [...zennit], `gamma ${gamma} vs Zennit`);
  }
  // gamma = 0 is the z rule with bias.
  const zRule = X.map((xi, i) => y.reduce((sum, r, j) => sum + (xi * W[i][j] * r) / y[j], 0));
  assertClose(applyRule(gammaRule(0), layer, X, y), zRule, 'gamma 0');
});
