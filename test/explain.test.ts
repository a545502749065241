import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../src/backend/index.js';
import { KilnError, createRng } from '../src/core/index.js';
import { analyzers, buildGraph, createAnalyzer, forward, mergeBatchNorm } from '../src/explain/index.js';

before(async () => {
  await initBackend();
});

const seed = (n: number) => tf.initializers.glorotUniform({ seed: n });

/** ReLU MLP; `bias` false gives the homogeneous nets on which LRP identities hold exactly. */
function mlp(bias: boolean, activation: 'relu' | 'tanh' = 'relu'): tf.LayersModel {
  return tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [8], units: 12, activation, useBias: bias, kernelInitializer: seed(1), biasInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: 9 }) }),
    tf.layers.dense({ units: 10, activation, useBias: bias, kernelInitializer: seed(2), biasInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: 9 }) }),
    tf.layers.dense({ units: 4, useBias: bias, kernelInitializer: seed(3), biasInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: 9 }) }),
  ] });
}

/** Functional CNN with every supported layer kind: conv, BN, ReLU, depthwise, Add, pools, Concatenate, Dropout, Reshape. */
function cnn(bias: boolean, softmax = false): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 2] });
  let h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: bias, kernelInitializer: seed(4) }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
  const branch = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu', useBias: bias,
    depthwiseInitializer: seed(5) }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.add().apply([h, branch]) as tf.SymbolicTensor;
  h = tf.layers.maxPooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
  const avg = tf.layers.averagePooling2d({ poolSize: 2 }).apply(h) as tf.SymbolicTensor;
  const strided = tf.layers.conv2d({ filters: 3, kernelSize: 2, strides: 2, activation: 'relu', useBias: bias,
    kernelInitializer: seed(6) }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.concatenate().apply([avg, strided]) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  let f = tf.layers.reshape({ targetShape: [28] }).apply(h) as tf.SymbolicTensor;
  f = tf.layers.dropout({ rate: 0.5 }).apply(f) as tf.SymbolicTensor;
  f = tf.layers.dense({ units: 6, activation: 'relu', useBias: bias, kernelInitializer: seed(7) }).apply(f) as tf.SymbolicTensor;
  f = tf.layers.concatenate().apply([f, pooled]) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, useBias: bias, kernelInitializer: seed(8), activation: softmax ? 'softmax' : 'linear' })
    .apply(f) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const INNVESTIGATE = ['input', 'random', 'gradient', 'gradient.baseline', 'input_t_gradient', 'deconvnet', 'guided_backprop',
  'integrated_gradients', 'smoothgrad', 'lrp.z', 'lrp.z_IB', 'lrp.epsilon', 'lrp.epsilon_IB', 'lrp.w_square', 'lrp.flat',
  'lrp.alpha_beta', 'lrp.alpha_2_beta_1', 'lrp.alpha_2_beta_1_IB', 'lrp.alpha_1_beta_0', 'lrp.alpha_1_beta_0_IB', 'lrp.z_plus',
  'lrp.z_plus_fast', 'lrp.sequential_preset_a', 'lrp.sequential_preset_b', 'lrp.sequential_preset_a_flat',
  'lrp.sequential_preset_b_flat', 'deep_taylor', 'deep_taylor.bounded', 'pattern.net', 'pattern.attribution'];

/** Options that keep the dry runs fast, plus the required ones. */
const FAST: Record<string, Record<string, unknown>> = {
  integrated_gradients: { steps: 8 },
  smoothgrad: { augment_by_n: 4, noise_scale: 0.1 },
  'lrp.alpha_beta': { alpha: 2 },
  'deep_taylor.bounded': { low: 0, high: 1 },
};

const sum = (t: tf.Tensor): number => tf.tidy(() => tf.sum(t).dataSync()[0]);

function rowSums(t: tf.Tensor): number[] {
  return tf.tidy(() => Array.from(tf.sum(tf.reshape(t, [t.shape[0], -1]), 1).dataSync()));
}

function assertAllClose(a: tf.Tensor, b: tf.Tensor, rtol: number, what: string): void {
  const x = a.dataSync();
  const y = b.dataSync();
  const scale = Math.max(1e-6, ...Array.from(y, Math.abs));
  for (let i = 0; i < y.length; i++) {
    assert.ok(Math.abs(x[i] - y[i]) <= rtol * scale, `${what}: element ${i} is ${x[i]}, expected ${y[i]}`);
  }
}

function selected(model: tf.LayersModel, x: tf.Tensor): number[] {
  return tf.tidy(() => {
    const y = model.predict(x) as tf.Tensor;
    return Array.from(tf.max(y, 1).dataSync());
  });
}

test('every registered analyzer dry-runs on an MLP and a CNN: shape kept, all finite, no leaked tensors', () => {
  const data = { mlp: tf.randomUniform([3, 8], 0, 1, 'float32', 11), cnn: tf.randomUniform([2, 8, 8, 2], 0, 1, 'float32', 12) };
  const fitData = { mlp: tf.randomUniform([16, 8], 0, 1, 'float32', 13), cnn: tf.randomUniform([10, 8, 8, 2], 0, 1, 'float32', 14) };
  const models = { mlp: mlp(true), cnn: cnn(true) };
  for (const name of INNVESTIGATE) assert.ok(analyzers.has(name), `analyzer ${name} is not registered`);
  for (const kind of ['mlp', 'cnn'] as const) {
    for (const name of analyzers.names()) {
      const before = tf.memory().numTensors;
      const analyzer = createAnalyzer(name, models[kind], FAST[name] ?? {});
      analyzer.fit?.(fitData[kind], { batchSize: 4 });
      const r = analyzer.analyze(data[kind]);
      assert.deepEqual(r.shape, data[kind].shape, `${name} on ${kind}: shape`);
      assert.ok(r.dataSync().every(Number.isFinite), `${name} on ${kind}: non-finite values`);
      if (name !== 'input' && name !== 'random') assert.ok(r.dataSync().some((v) => v !== 0), `${name} on ${kind}: all zero`);
      r.dispose();
      analyzer.dispose();
      assert.equal(tf.memory().numTensors, before, `${name} on ${kind}: leaked tensors`);
    }
  }
});

test('gradient matches central finite differences (MLP and CNN)', () => {
  for (const model of [mlp(true, 'tanh'), cnn(true)]) {
    const shape = model.inputs[0].shape.slice(1) as number[];
    const x = tf.randomUniform([1, ...shape], 0.1, 1, 'float32', 21);
    const g = createAnalyzer('gradient', model).analyze(x, { neuronSelection: 'index', index: 1 }).dataSync();
    const xs = x.dataSync();
    const h = 1e-3;
    const f = (v: Float32Array): number => tf.tidy(() => (model.predict(tf.tensor(v, x.shape)) as tf.Tensor).dataSync()[1]);
    for (let i = 0; i < xs.length; i += Math.max(1, Math.floor(xs.length / 24))) {
      const up = Float32Array.from(xs);
      const down = Float32Array.from(xs);
      up[i] += h;
      down[i] -= h;
      const fd = (f(up) - f(down)) / (2 * h);
      assert.ok(Math.abs(fd - g[i]) <= 2e-3 + 2e-2 * Math.abs(fd), `input ${i}: gradient ${g[i]}, finite difference ${fd}`);
    }
  }
});

test('gradient (reverse pass) equals gradient.baseline (autodiff of the whole model)', () => {
  const model = cnn(true);
  const x = tf.randomUniform([2, 8, 8, 2], 0, 1, 'float32', 22);
  for (const sel of [{ neuronSelection: 'max_activation' }, { neuronSelection: 'all' }, { neuronSelection: 'index', index: [2, 0] }] as const) {
    assertAllClose(createAnalyzer('gradient', model).analyze(x, sel), createAnalyzer('gradient.baseline', model).analyze(x, sel), 1e-4, sel.neuronSelection);
  }
});

test('LRP-z equals gradient x input on bias-free ReLU nets (MLP and residual CNN)', () => {
  for (const [model, x] of [[mlp(false), tf.randomNormal([3, 8], 0, 1, 'float32', 23)], [cnn(false), tf.randomNormal([2, 8, 8, 2], 0, 1, 'float32', 24)]] as const) {
    const lrp = createAnalyzer('lrp.z', model).analyze(x);
    const ixg = createAnalyzer('input_t_gradient', model).analyze(x);
    assertAllClose(lrp, ixg, 1e-4, 'lrp.z vs input_t_gradient');
  }
});

test('epsilon, z+ and alpha1-beta0 conserve relevance on bias-free nets', () => {
  for (const [model, x] of [[mlp(false), tf.randomUniform([3, 8], 0, 1, 'float32', 25)], [cnn(false), tf.randomUniform([2, 8, 8, 2], 0, 1, 'float32', 26)]] as const) {
    const out = selected(model, x);
    for (const name of ['lrp.epsilon', 'lrp.z_plus', 'lrp.alpha_1_beta_0']) {
      const sums = rowSums(createAnalyzer(name, model).analyze(x));
      sums.forEach((s, i) => assert.ok(Math.abs(s - out[i]) <= 1e-3 * Math.abs(out[i]) + 1e-5,
        `${name}: relevance sums to ${s}, output is ${out[i]}`));
    }
  }
});

test('integrated gradients is complete within 1% at 256 steps', () => {
  const model = mlp(true);
  const x = tf.randomUniform([2, 8], 0, 1, 'float32', 27);
  const ig = createAnalyzer('integrated_gradients', model, { steps: 256 }).analyze(x, { neuronSelection: 'index', index: 0 });
  const y = model.predict(x) as tf.Tensor;
  const y0 = model.predict(tf.zerosLike(x)) as tf.Tensor;
  const diff = tf.sub(y, y0).arraySync() as number[][];
  rowSums(ig).forEach((s, i) => {
    const target = diff[i][0];
    assert.ok(Math.abs(s - target) <= 0.01 * Math.abs(target), `sum ${s} vs f(x) - f(0) = ${target}`);
  });
});

test('neuron selection: all is the sum over indices, max_activation picks each argmax', () => {
  const model = mlp(true);
  const x = tf.randomUniform([3, 8], 0, 1, 'float32', 28);
  const a = createAnalyzer('gradient', model);
  const perIndex = [0, 1, 2, 3].map((i) => a.analyze(x, { neuronSelection: 'index', index: i }));
  assertAllClose(a.analyze(x, { neuronSelection: 'all' }), tf.addN(perIndex), 1e-5, 'all vs sum');
  const argmax = Array.from((tf.argMax(model.predict(x) as tf.Tensor, 1)).dataSync());
  assertAllClose(a.analyze(x), a.analyze(x, { neuronSelection: 'index', index: argmax }), 1e-6, 'max_activation');
  assert.throws(() => a.analyze(x, { neuronSelection: 'index', index: 4 }), /out of range/);
  assert.throws(() => a.analyze(x, { neuronSelection: 'index' }), /needs an index/);
});

test('a model ending in softmax is refused; stripSoftmax analyzes its logits', () => {
  const model = cnn(true, true);
  assert.throws(() => createAnalyzer('lrp.epsilon', model), (e: unknown) =>
    e instanceof KilnError && /ends in a softmax/.test(e.message) && /stripSoftmax/.test(e.message));
  const x = tf.randomUniform([2, 8, 8, 2], 0, 1, 'float32', 29);
  const stripped = createAnalyzer('lrp.epsilon', model, { stripSoftmax: true }).analyze(x);
  // cnn() is seeded, so cnn(true, false) is the same network without the softmax.
  assertAllClose(stripped, createAnalyzer('lrp.epsilon', cnn(true, false)).analyze(x), 1e-5, 'stripped softmax');
});

test('an unsupported layer is named in the error; unknown analyzers and options are refused', () => {
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3 }),
    tf.layers.separableConv2d({ filters: 2, kernelSize: 3, name: 'sep' }),
    tf.layers.flatten(), tf.layers.dense({ units: 2 }),
  ] });
  assert.throws(() => createAnalyzer('gradient', model), (e: unknown) =>
    e instanceof KilnError && /'sep'/.test(e.message) && /SeparableConv2D/.test(e.message));
  assert.throws(() => createAnalyzer('lrp.nope', mlp(true)), /unknown analyzer 'lrp.nope'.*lrp.epsilon/);
  assert.throws(() => createAnalyzer('lrp.epsilon', mlp(true), { eps: 1 }), /no option 'eps'.*epsilon/);
  assert.throws(() => createAnalyzer('deep_taylor.bounded', mlp(true)), /needs the option low/);
  assert.throws(() => createAnalyzer('pattern.net', mlp(true)).analyze(tf.ones([1, 8])), /must be fitted/);
});

test('BatchNormalization is merged into the preceding conv/dense layer without changing the function', () => {
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, kernelInitializer: seed(30) }),
    tf.layers.batchNormalization({ movingMeanInitializer: tf.initializers.constant({ value: 0.3 }),
      movingVarianceInitializer: tf.initializers.constant({ value: 2 }), gammaInitializer: tf.initializers.constant({ value: 1.5 }),
      betaInitializer: tf.initializers.constant({ value: -0.2 }) }),
    tf.layers.reLU(), tf.layers.flatten(),
    tf.layers.dense({ units: 5, kernelInitializer: seed(31) }),
    tf.layers.batchNormalization({ movingMeanInitializer: tf.initializers.constant({ value: -0.5 }) }),
    tf.layers.dense({ units: 2, kernelInitializer: seed(32) }),
  ] });
  const graph = buildGraph(model);
  const merged = mergeBatchNorm(graph);
  assert.equal(merged.ops.filter((op) => op.className === 'BatchNormalization').length, 0);
  assert.equal(merged.ops.length, graph.ops.length - 2);
  const x = tf.randomUniform([2, 6, 6, 2], 0, 1, 'float32', 33);
  assertAllClose(forward(merged, x), model.predict(x) as tf.Tensor, 1e-5, 'merged forward');
  // LRP-z with the BN folded is the z rule on the folded layers: still sums to the output minus bias absorption.
  assert.ok(Number.isFinite(sum(createAnalyzer('lrp.z', model).analyze(x))));
});

test('a standalone BatchNormalization (after an activation) is kept as a per-channel affine layer', () => {
  const model = tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [4], units: 5, activation: 'relu', kernelInitializer: seed(34) }),
    tf.layers.batchNormalization({ gammaInitializer: tf.initializers.constant({ value: 2 }) }),
    tf.layers.dense({ units: 2, kernelInitializer: seed(35) }),
  ] });
  const x = tf.randomUniform([3, 4], 0, 1, 'float32', 36);
  assertAllClose(createAnalyzer('gradient', model).analyze(x), createAnalyzer('gradient.baseline', model).analyze(x), 1e-5, 'gradient');
  assertAllClose(forward(mergeBatchNorm(buildGraph(model)), x), model.predict(x) as tf.Tensor, 1e-5, 'forward');
});

test('PatternNet recovers the signal direction hidden under a distractor (linear patterns)', () => {
  // x = s * a_s + d * a_d; the filter w (w . a_d = 0, w . a_s = 1) reads s, and the pattern is a_s.
  const n = 400;
  const aS = [1, 0.5];
  const aD = [1, 1];
  const w = [2, -2];
  // Centred, and the distractor made exactly uncorrelated with the signal in this sample.
  const rng = createRng(37);
  const centre = (v: number[]): number[] => v.map((e) => e - v.reduce((a, b) => a + b, 0) / v.length);
  const sv = centre(Array.from({ length: n }, () => rng.normal()));
  let dv = centre(Array.from({ length: n }, () => 3 * rng.normal()));
  const proj = dv.reduce((a, e, i) => a + e * sv[i], 0) / sv.reduce((a, e) => a + e * e, 0);
  dv = dv.map((e, i) => e - proj * sv[i]);
  const x = tf.tensor2d(sv.map((e, i) => [e * aS[0] + dv[i] * aD[0], e * aS[1] + dv[i] * aD[1]]));
  const model = tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [2], units: 2, useBias: false, weights: [tf.tensor2d([[w[0], -w[0]], [w[1], -w[1]]])] }),
  ] });
  const net = createAnalyzer('pattern.net', model, { pattern_type: 'linear' });
  net.fit!(x, { batchSize: 128 });
  // PatternNet's output for output 0 is y0 * a_s (the reconstructed signal).
  const probe = tf.tensor2d([[1, 0]]);
  const y0 = (model.predict(probe) as tf.Tensor).dataSync()[0];
  const signal = net.analyze(probe, { neuronSelection: 'index', index: 0 }).dataSync();
  assert.ok(Math.abs(signal[0] / y0 - aS[0]) < 1e-3 && Math.abs(signal[1] / y0 - aS[1]) < 1e-3,
    `pattern ${signal[0] / y0}, ${signal[1] / y0} vs ${aS}`);
  // PatternAttribution = pattern * weight, times the output: relevance w_i a_i y0.
  const attr = createAnalyzer('pattern.attribution', model, { pattern_type: 'linear' });
  attr.fit!(x);
  const r = attr.analyze(probe, { neuronSelection: 'index', index: 0 }).dataSync();
  assert.ok(Math.abs(r[0] - w[0] * aS[0] * y0) < 1e-3 && Math.abs(r[1] - w[1] * aS[1] * y0) < 1e-3);
});
