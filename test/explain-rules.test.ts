import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend } from '../src/backend/index.js';
import { createRng } from '../src/core/index.js';
import { analyzers, createAnalyzer } from '../src/explain/index.js';

/**
 * Every LRP/DeepTaylor analyzer on single-layer models (Dense, Dense+relu, Conv2D, Conv2D+relu,
 * average and max pooling) against values computed here in matrix form with plain loops: the layer
 * is written as an explicit matrix M (input x output) with a connectivity mask, and each rule's
 * textbook formula is evaluated on it. Shares no code with src/explain.
 */

before(async () => {
  await initBackend();
});

interface Layer {
  /** M[i][j]: weight from flat input i to flat output j. */
  m: number[][];
  /** Which (i, j) are connected (for the flat rule; padding and pooling windows). */
  c: boolean[][];
  b: number[];
}

type RefRule = (layer: Layer, x: number[], r: number[]) => number[];

/** R_i = sum_j share(i, j) * R_j / sum_i' share(i', j), 0 where the normaliser is 0. */
function spread(layer: Layer, x: number[], r: number[], share: (i: number, j: number) => number,
  extra: (j: number) => number = () => 0, stabilise: (z: number) => number = (z) => z): number[] {
  const nIn = layer.m.length;
  const nOut = r.length;
  const out = new Array<number>(nIn).fill(0);
  for (let j = 0; j < nOut; j++) {
    let z = extra(j);
    for (let i = 0; i < nIn; i++) z += share(i, j);
    z = stabilise(z);
    if (z === 0) continue;
    for (let i = 0; i < nIn; i++) out[i] += (share(i, j) / z) * r[j];
  }
  return out;
}

const pos = (v: number): number => Math.max(v, 0);
const neg = (v: number): number => Math.min(v, 0);

function zRef(bias: boolean, eps = 0): RefRule {
  return (l, x, r) => spread(l, x, r, (i, j) => x[i] * l.m[i][j], (j) => (bias ? l.b[j] : 0),
    (z) => (eps === 0 ? z : z + (z >= 0 ? eps : -eps)));
}

function alphaBetaRef(alpha: number, beta: number, bias: boolean): RefRule {
  return (l, x, r) => {
    const act = spread(l, x, r, (i, j) => pos(x[i] * l.m[i][j]), (j) => (bias ? pos(l.b[j]) : 0));
    const inh = spread(l, x, r, (i, j) => neg(x[i] * l.m[i][j]), (j) => (bias ? neg(l.b[j]) : 0));
    return act.map((a, i) => alpha * a - beta * inh[i]);
  };
}

const wSquareRef: RefRule = (l, x, r) => spread(l, x, r, (i, j) => l.m[i][j] ** 2);
const flatRef: RefRule = (l, x, r) => spread(l, x, r, (i, j) => (l.c[i][j] ? 1 : 0));
const zPlusFastRef: RefRule = (l, x, r) => spread(l, x, r, (i, j) => x[i] * pos(l.m[i][j]));
const boundedRef = (lo: number, hi: number): RefRule => (l, x, r) =>
  spread(l, x, r, (i, j) => x[i] * l.m[i][j] - lo * pos(l.m[i][j]) - hi * neg(l.m[i][j]));

const LOW = -1;
const HIGH = 1;

/** The reference rule each analyzer applies to a kernel layer (conv: is it a convolution). */
function referenceFor(name: string, conv: boolean): RefRule {
  const table: Record<string, RefRule> = {
    'lrp.z': zRef(true),
    'lrp.z_IB': zRef(false),
    'lrp.epsilon': zRef(true, 1e-7),
    'lrp.epsilon_IB': zRef(false, 1e-7),
    'lrp.w_square': wSquareRef,
    'lrp.flat': flatRef,
    'lrp.alpha_beta': alphaBetaRef(3, 2, true),
    'lrp.alpha_2_beta_1': alphaBetaRef(2, 1, true),
    'lrp.alpha_2_beta_1_IB': alphaBetaRef(2, 1, false),
    'lrp.alpha_1_beta_0': alphaBetaRef(1, 0, true),
    'lrp.alpha_1_beta_0_IB': alphaBetaRef(1, 0, false),
    'lrp.z_plus': alphaBetaRef(1, 0, false),
    'lrp.z_plus_fast': zPlusFastRef,
    'lrp.sequential_preset_a': conv ? alphaBetaRef(1, 0, true) : zRef(true, 0.1),
    'lrp.sequential_preset_b': conv ? alphaBetaRef(2, 1, true) : zRef(true, 0.1),
    // The single layer reads the input, so the _flat presets use the flat rule.
    'lrp.sequential_preset_a_flat': flatRef,
    'lrp.sequential_preset_b_flat': flatRef,
    'deep_taylor': zPlusFastRef,
    'deep_taylor.bounded': boundedRef(LOW, HIGH),
  };
  const ref = table[name];
  assert.ok(ref, `no matrix-form reference for ${name}`);
  return ref;
}

const OPTIONS: Record<string, Record<string, unknown>> = {
  'lrp.alpha_beta': { alpha: 3 },
  'deep_taylor.bounded': { low: LOW, high: HIGH },
};

const relevanceAnalyzers = (): string[] => analyzers.names().filter((n) => n.startsWith('lrp.') || n.startsWith('deep_taylor'));

function randomArray(n: number, seed: number, lo = -1, hi = 1): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
}

/** Dense layer as a matrix. */
function denseMatrix(w: number[], b: number[], nIn: number, nOut: number): Layer {
  const m = Array.from({ length: nIn }, (_, i) => Array.from({ length: nOut }, (_, j) => w[i * nOut + j]));
  return { m, c: m.map((row) => row.map(() => true)), b };
}

/** 2-D convolution (NHWC, one example) as a matrix, 'same' or 'valid' padding, given stride. */
function convMatrix(w: number[], b: number[], h: number, wd: number, cin: number, k: number, cout: number,
  stride: number, padding: 'same' | 'valid'): { layer: Layer; oh: number; ow: number } {
  const oh = padding === 'same' ? Math.ceil(h / stride) : Math.ceil((h - k + 1) / stride);
  const ow = padding === 'same' ? Math.ceil(wd / stride) : Math.ceil((wd - k + 1) / stride);
  const padTop = padding === 'same' ? Math.floor(Math.max((oh - 1) * stride + k - h, 0) / 2) : 0;
  const padLeft = padding === 'same' ? Math.floor(Math.max((ow - 1) * stride + k - wd, 0) / 2) : 0;
  const nIn = h * wd * cin;
  const nOut = oh * ow * cout;
  const m = Array.from({ length: nIn }, () => new Array<number>(nOut).fill(0));
  const c = Array.from({ length: nIn }, () => new Array<boolean>(nOut).fill(false));
  const bias: number[] = [];
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let co = 0; co < cout; co++) {
        const j = (oy * ow + ox) * cout + co;
        bias[j] = b[co];
        for (let ky = 0; ky < k; ky++) {
          for (let kx = 0; kx < k; kx++) {
            const iy = oy * stride + ky - padTop;
            const ix = ox * stride + kx - padLeft;
            if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
            for (let ci = 0; ci < cin; ci++) {
              const i = (iy * wd + ix) * cin + ci;
              m[i][j] = w[((ky * k + kx) * cin + ci) * cout + co];
              c[i][j] = true;
            }
          }
        }
      }
    }
  }
  return { layer: { m, c, b: bias }, oh, ow };
}

function matVec(l: Layer, x: number[]): number[] {
  return l.b.map((bj, j) => x.reduce((s, xi, i) => s + xi * l.m[i][j], bj));
}

function assertClose(actual: ArrayLike<number>, expected: number[], what: string, rtol = 1e-3): void {
  const scale = Math.max(1e-6, ...expected.map(Math.abs));
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(err <= rtol * scale, `${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (scale ${scale})`);
  }
}

/** Runs every relevance analyzer on `model` for input x and compares with the matrix form. */
function checkAllRules(model: tf.LayersModel, layer: Layer, xs: number[], shape: number[], relu: boolean, conv: boolean): void {
  const y = matVec(layer, xs).map((v) => (relu ? pos(v) : v));
  assert.ok(y.filter((v) => v !== 0).length >= 2, 'the test input should activate several outputs');
  const x = tf.tensor(xs, [1, ...shape]);
  for (const name of relevanceAnalyzers()) {
    const analyzer = createAnalyzer(name, model, OPTIONS[name] ?? {});
    const r = analyzer.analyze(x, { neuronSelection: 'all' });
    const expected = referenceFor(name, conv)(layer, xs, y);
    assertClose(r.dataSync(), expected, `${name} on ${model.name}`);
    r.dispose();
    analyzer.dispose();
  }
  x.dispose();
}

for (const relu of [false, true]) {
  test(`every LRP rule matches the matrix form on a Dense${relu ? '+relu' : ''} layer`, () => {
    const nIn = 6;
    const nOut = 4;
    const w = randomArray(nIn * nOut, 1);
    const b = randomArray(nOut, 2, -0.3, 0.3);
    const model = tf.sequential({ name: relu ? 'dense_relu' : 'dense', layers: [
      tf.layers.dense({ inputShape: [nIn], units: nOut, activation: relu ? 'relu' : 'linear',
        weights: [tf.tensor2d(w, [nIn, nOut]), tf.tensor1d(b)] }),
    ] });
    checkAllRules(model, denseMatrix(w, b, nIn, nOut), randomArray(nIn, 13), [nIn], relu, false);
  });
}

for (const [relu, padding, stride] of [[false, 'same', 1], [true, 'valid', 2]] as const) {
  test(`every LRP rule matches the matrix form on a Conv2D${relu ? '+relu' : ''} layer (${padding}, stride ${stride})`, () => {
    const [h, wd, cin, k, cout] = [5, 5, 2, 3, 2];
    const w = randomArray(k * k * cin * cout, 4);
    const b = randomArray(cout, 5, -0.3, 0.3);
    const model = tf.sequential({ name: `conv_${padding}`, layers: [
      tf.layers.conv2d({ inputShape: [h, wd, cin], filters: cout, kernelSize: k, strides: stride, padding,
        activation: relu ? 'relu' : 'linear', weights: [tf.tensor4d(w, [k, k, cin, cout]), tf.tensor1d(b)] }),
      tf.layers.flatten(),
    ] });
    const { layer } = convMatrix(w, b, h, wd, cin, k, cout, stride, padding);
    checkAllRules(model, layer, randomArray(h * wd * cin, 6), [h, wd, cin], relu, true);
  });
}

test('average pooling redistributes relevance by the z rule under every LRP analyzer', () => {
  const [h, wd, ch] = [4, 4, 2];
  const model = tf.sequential({ name: 'avgpool', layers: [
    tf.layers.averagePooling2d({ inputShape: [h, wd, ch], poolSize: 2 }), tf.layers.flatten(),
  ] });
  // Pooling as a fixed matrix: a 2x2 depthwise window with weights 1/4 and no bias.
  const nOut = 2 * 2 * ch;
  const m = Array.from({ length: h * wd * ch }, () => new Array<number>(nOut).fill(0));
  for (let y = 0; y < h; y++) for (let x = 0; x < wd; x++) for (let c = 0; c < ch; c++) {
    m[(y * wd + x) * ch + c][((y >> 1) * 2 + (x >> 1)) * ch + c] = 0.25;
  }
  const layer: Layer = { m, c: m.map((row) => row.map((v) => v !== 0)), b: new Array<number>(nOut).fill(0) };
  const xs = randomArray(h * wd * ch, 7);
  const y = matVec(layer, xs);
  const expected = zRef(false)(layer, xs, y);
  const x = tf.tensor(xs, [1, h, wd, ch]);
  for (const name of relevanceAnalyzers()) {
    const r = createAnalyzer(name, model, OPTIONS[name] ?? {}).analyze(x, { neuronSelection: 'all' });
    assertClose(r.dataSync(), expected, `${name} on avgpool`);
  }
});

test('max pooling gives all relevance to the winner of each window under every LRP analyzer', () => {
  const [h, wd, ch] = [4, 4, 1];
  const model = tf.sequential({ name: 'maxpool', layers: [
    tf.layers.maxPooling2d({ inputShape: [h, wd, ch], poolSize: 2 }), tf.layers.flatten(),
  ] });
  const xs = randomArray(h * wd * ch, 8);
  const expected = new Array<number>(xs.length).fill(0);
  for (let by = 0; by < 2; by++) for (let bx = 0; bx < 2; bx++) {
    let best = -1;
    for (let y = 2 * by; y < 2 * by + 2; y++) for (let x = 2 * bx; x < 2 * bx + 2; x++) {
      const i = y * wd + x;
      if (best < 0 || xs[i] > xs[best]) best = i;
    }
    expected[best] = xs[best];
  }
  const x = tf.tensor(xs, [1, h, wd, ch]);
  for (const name of relevanceAnalyzers()) {
    const r = createAnalyzer(name, model, OPTIONS[name] ?? {}).analyze(x, { neuronSelection: 'all' });
    assertClose(r.dataSync(), expected, `${name} on maxpool`);
  }
});
