import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../src/core/rng.js';
import { initBackend, nativeAvailability, nextSeed, resolveBackendName, setSeed, tf } from '../src/backend/index.js';
import { activeWasmFixes, setWasmFixes, WASM_FIXES } from '../src/backend/wasm-fixes.js';

/** Largest absolute difference relative to the largest reference magnitude. */
function relError(actual: Float32Array | number[], expected: Float32Array | number[]): number {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

function randomValues(seed: number, n: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

type ConvKind = 'conv2d' | 'depthwise';
interface ConvCase { kind: ConvKind; batch: number; k: number; stride: 1 | 2; pad: 'same' | 'valid'; mult: number }

/** dL/dx and dL/dfilter of L = sum(conv(x, f) * r) on the current backend, as plain arrays. */
function convGrads(c: ConvCase): Float32Array[] {
  const [h, w, cin] = [7, 6, 3];
  const filterShape: [number, number, number, number] = [c.k, c.k, cin, c.kind === 'conv2d' ? 4 : c.mult];
  return tf.tidy(() => {
    const x = tf.tensor4d(randomValues(1, c.batch * h * w * cin), [c.batch, h, w, cin]);
    const f = tf.tensor4d(randomValues(2, filterShape.reduce((a, b) => a * b)), filterShape);
    const conv = (xi: tf.Tensor4D, fi: tf.Tensor4D) => c.kind === 'conv2d'
      ? tf.conv2d(xi, fi, c.stride, c.pad)
      : tf.depthwiseConv2d(xi, fi, c.stride, c.pad);
    const r = tf.tensor(randomValues(3, conv(x, f).size), conv(x, f).shape);
    const grads = tf.grads((xi: tf.Tensor, fi: tf.Tensor) => tf.sum(tf.mul(conv(xi as tf.Tensor4D, fi as tf.Tensor4D), r)));
    return grads([x, f]).map((g) => g.dataSync() as Float32Array);
  });
}

/** Runs `fn` on cpu, then on wasm (leaving wasm selected), returning both results. */
async function onBoth<T>(fn: () => T): Promise<{ cpu: T; wasm: T }> {
  await initBackend('cpu');
  const cpu = fn();
  await initBackend('wasm');
  return { cpu, wasm: fn() };
}

const convCases: ConvCase[] = [];
for (const kind of ['conv2d', 'depthwise'] as const) {
  for (const stride of [1, 2] as const) {
    for (const pad of ['same', 'valid'] as const) {
      for (const k of [1, 3, 5]) {
        for (const batch of [1, 8]) {
          // Depthwise channel multiplier 2 on every other case exercises the multiplier sum.
          convCases.push({ kind, batch, k, stride, pad, mult: kind === 'depthwise' && batch === 8 ? 2 : 1 });
        }
      }
    }
  }
}

test('wasm conv2d and depthwise gradients (dx and dfilter) equal the cpu backend', async () => {
  for (const c of convCases) {
    const { cpu, wasm } = await onBoth(() => convGrads(c));
    const [dxErr, dfErr] = [relError(wasm[0], cpu[0]), relError(wasm[1], cpu[1])];
    assert.ok(dxErr <= 1e-4 && dfErr <= 1e-4, `${JSON.stringify(c)}: dx error ${dxErr}, dfilter error ${dfErr}`);
  }
});

test('without the conv gradient kernels wasm cannot train a conv (the fix is what makes it work)', async () => {
  await initBackend('wasm');
  setWasmFixes(WASM_FIXES.filter((f) => f !== 'conv-grad-kernels'));
  try {
    assert.throws(() => convGrads({ kind: 'conv2d', batch: 1, k: 3, stride: 1, pad: 'same', mult: 1 }), /not registered/);
  } finally {
    setWasmFixes(WASM_FIXES);
  }
  assert.deepEqual(activeWasmFixes(), [...WASM_FIXES]);
});

test('transposed and batched fused matmul on wasm equal plain matmul of transposed operands and the cpu result', async () => {
  const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { a: [5, 7], b: [6, 7], ta: false, tb: true },
    { a: [7, 5], b: [7, 6], ta: true, tb: false },
    { a: [7, 5], b: [6, 7], ta: true, tb: true },
    { a: [3, 4, 8], b: [3, 9, 8], ta: false, tb: true },
    { a: [3, 8, 4], b: [3, 8, 9], ta: true, tb: false },
    { a: [3, 4, 8], b: [3, 8, 9], ta: false, tb: false },
  ];
  for (const { a, b, ta, tb } of cases) {
    const run = () => tf.tidy(() => {
      const at = tf.tensor(randomValues(4, a.reduce((p, q) => p * q)), a);
      const bt = tf.tensor(randomValues(5, b.reduce((p, q) => p * q)), b);
      const swap = (t: tf.Tensor) => tf.transpose(t, [...Array(t.rank - 2).keys(), t.rank - 1, t.rank - 2]);
      const bias = tf.tensor1d(randomValues(6, tb ? b[b.length - 2] : b[b.length - 1]));
      return {
        flagged: tf.matMul(at, bt, ta, tb).dataSync() as Float32Array,
        plain: tf.matMul(ta ? swap(at) : at, tb ? swap(bt) : bt).dataSync() as Float32Array,
        fused: tf.fused.matMul({ a: at, b: bt, transposeA: ta, transposeB: tb, bias, activation: 'relu' }).dataSync() as Float32Array,
        fusedPlain: tf.relu(tf.add(tf.matMul(ta ? swap(at) : at, tb ? swap(bt) : bt), bias)).dataSync() as Float32Array,
      };
    });
    const { cpu, wasm } = await onBoth(run);
    assert.ok(relError(wasm.flagged, wasm.plain) <= 1e-6, `flagged vs plain ${JSON.stringify({ a, b, ta, tb })}`);
    assert.ok(relError(wasm.fused, wasm.fusedPlain) <= 1e-6, `fused vs plain ${JSON.stringify({ a, b, ta, tb })}`);
    assert.ok(relError(wasm.flagged, cpu.flagged) <= 1e-5, `wasm vs cpu ${JSON.stringify({ a, b, ta, tb })}`);
    assert.ok(relError(wasm.fused, cpu.fused) <= 1e-5, `fused wasm vs cpu ${JSON.stringify({ a, b, ta, tb })}`);
  }
});

test('matmul on wasm with one buffer reshaped to different b shapes (stale XNNPACK packing as shipped)', async () => {
  const run = () => tf.tidy(() => {
    const x = tf.tensor1d(randomValues(12, 360));
    const first = tf.matMul(tf.ones([2, 60]), tf.reshape(x, [60, 6]));
    const second = tf.matMul(tf.ones([2, 3]), tf.reshape(x, [3, 120]));
    return [first, second].map((t) => t.dataSync() as Float32Array);
  });
  const { cpu, wasm } = await onBoth(run);
  cpu.forEach((c, i) => assert.ok(relError(wasm[i], c) <= 1e-5, `product ${i}: ${relError(wasm[i], c)}`));
});

test('sum and mean over leading axes on wasm (ones-row matmul) equal the cpu backend', async () => {
  const run = () => tf.tidy(() => {
    const x = tf.tensor4d(randomValues(11, 3 * 4 * 5 * 6), [3, 4, 5, 6]);
    return [
      tf.sum(x, [0, 1, 2]), tf.mean(x, [0, 1, 2], true), tf.mean(x, 0), tf.sum(x, [1, 0]), tf.sum(x, [1, 2]), tf.mean(x),
    ].map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
  });
  const { cpu, wasm } = await onBoth(run);
  cpu.forEach((c, i) => {
    assert.deepEqual(wasm[i].shape, c.shape);
    assert.ok(relError(wasm[i].values, c.values) <= 1e-5, `reduction ${i}: ${relError(wasm[i].values, c.values)}`);
  });
});

test('batchnorm gradients on wasm (fast gradient) equal the cpu backend with the shipped gradient', async () => {
  const run = () => tf.tidy(() => {
    const x = tf.tensor4d(randomValues(7, 4 * 5 * 5 * 6), [4, 5, 5, 6]);
    const gamma = tf.tensor1d(randomValues(8, 6));
    const beta = tf.tensor1d(randomValues(9, 6));
    const r = tf.tensor4d(randomValues(10, x.size), x.shape);
    const loss = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(xi, [0, 1, 2]);
      return tf.sum(tf.mul(tf.batchNorm(xi, mean, variance, b, g, 1e-3), r));
    };
    return tf.grads(loss)([x, gamma, beta]).map((g) => g.dataSync() as Float32Array);
  });
  await initBackend('cpu');
  setWasmFixes(WASM_FIXES.filter((f) => f !== 'batchnorm-grad'));
  const cpu = run();
  setWasmFixes(WASM_FIXES);
  await initBackend('wasm');
  const wasm = run();
  for (let i = 0; i < 3; i++) assert.ok(relError(wasm[i], cpu[i]) <= 1e-4, `gradient ${i}: ${relError(wasm[i], cpu[i])}`);
});

test('50 Adam steps of a small CNN on wasm keep the tensor and buffer counts flat', async () => {
  await initBackend('wasm');
  setSeed(1);
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false,
        kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }) }),
      tf.layers.batchNormalization(),
      tf.layers.reLU({ maxValue: 6 }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false,
        depthwiseInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }) }),
      tf.layers.batchNormalization(),
      tf.layers.reLU({ maxValue: 6 }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }) }),
    ],
  });
  const optimizer = tf.train.adam(0.01);
  const x = tf.randomNormal([8, 8, 8, 3], 0, 1, 'float32', nextSeed());
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
  const step = () => tf.tidy(() => optimizer.minimize(() =>
    tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor), true)!.dataSync()[0]);
  const first = step();
  for (let i = 0; i < 4; i++) step();
  const before = tf.memory();
  let last = first;
  for (let i = 0; i < 45; i++) last = step();
  assert.equal(tf.memory().numTensors, before.numTensors);
  // Kernel intermediates are backend buffers, not tensors: check those do not pile up either.
  assert.equal(tf.memory().numDataBuffers, before.numDataBuffers);
  assert.ok(last < first, `loss went ${first} -> ${last}`);
  model.dispose();
  optimizer.dispose();
  tf.dispose([x, y]);
});

test('setSeed makes nextSeed and seeded tf ops reproducible', () => {
  const draw = () => {
    const seeds = [nextSeed(), nextSeed(), nextSeed()];
    return { seeds, values: Array.from(tf.tidy(() => tf.randomNormal([5], 0, 1, 'float32', seeds[0]).dataSync())) };
  };
  setSeed(42);
  const a = draw();
  setSeed(42);
  const b = draw();
  setSeed(43);
  const c = draw();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.seeds, c.seeds);
});

test('backend names resolve from the argument, then KILN_BACKEND, and unknown names are refused', () => {
  assert.equal(resolveBackendName('cpu'), 'cpu');
  const saved = process.env.KILN_BACKEND;
  try {
    process.env.KILN_BACKEND = 'cpu';
    assert.equal(resolveBackendName(), 'cpu');
    delete process.env.KILN_BACKEND;
    assert.equal(resolveBackendName(), nativeAvailability().ok ? 'native' : 'wasm');
  } finally {
    if (saved === undefined) delete process.env.KILN_BACKEND;
    else process.env.KILN_BACKEND = saved;
  }
  assert.throws(() => resolveBackendName('webgl'), /unknown backend 'webgl'/);
  assert.throws(() => setWasmFixes(['nope']), /unknown wasm fix 'nope'/);
});
