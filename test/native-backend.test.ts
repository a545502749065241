import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend, nativeAvailability, nativeThreads, nextSeed, setSeed, tf } from '../src/backend/index.js';
import { FUSED, hasFusedKernel } from '../src/backend/fused.js';
import { projectRoot } from '../src/core/paths.js';
import { Adam } from '../src/train/index.js';
import { tempDir } from './temp-dir.js';

const native = nativeAvailability();
const needsNative = native.ok ? false : `native backend unavailable: ${native.reason}`;
const cli = path.join(projectRoot(), 'dist', 'src', 'cli', 'main.js');

/** A small conv net with batch norm and relu6 (the layers the native fast paths replace). */
function smallCnn(): tf.LayersModel {
  const init = () => tf.initializers.glorotUniform({ seed: nextSeed() });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init() }),
      tf.layers.batchNormalization(),
      tf.layers.reLU({ maxValue: 6 }),
      tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, depthwiseInitializer: init() }),
      tf.layers.batchNormalization(),
      tf.layers.reLU(),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 4, kernelInitializer: init() }),
    ],
  });
}

function batch() {
  const x = tf.randomNormal([8, 8, 8, 3], 0, 1, 'float32', 7);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4);
  return { x, y };
}

/** Weights (and the batch norms' moving statistics) after `steps` Adam steps on `backend`. */
async function trainedWeights(backend: string, steps: number, optimizer: () => tf.Optimizer): Promise<Float32Array[]> {
  await initBackend(backend);
  setSeed(3);
  const model = smallCnn();
  const { x, y } = batch();
  const opt = optimizer();
  for (let i = 0; i < steps; i++) {
    tf.tidy(() => {
      opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor), false);
    });
  }
  const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  model.dispose();
  opt.dispose();
  tf.dispose([x, y]);
  return weights;
}

test('the native backend registers the fused kernels and uses them', { skip: needsNative }, async () => {
  await initBackend('native');
  for (const name of Object.values(FUSED)) assert.ok(hasFusedKernel(name), name);
  await initBackend('wasm');
  for (const name of Object.values(FUSED)) assert.equal(hasFusedKernel(name), false, `${name} on wasm`);
});

test('Kiln\'s Adam with the fused kernel gives exactly the weights of tf.train.adam on native', { skip: needsNative }, async () => {
  // Same backend, same gradients: the fused update must reproduce tfjs's float32 arithmetic bit for bit.
  const fused = await trainedWeights('native', 5, () => new Adam(0.01));
  const reference = await (async () => {
    await initBackend('native');
    const saved = tf.getKernel(FUSED.adam, 'native')!;
    tf.unregisterKernel(FUSED.adam, 'native');
    try {
      return await trainedWeights('native', 5, () => new Adam(0.01));
    } finally {
      tf.registerKernel(saved);
    }
  })();
  fused.forEach((w, i) => assert.deepEqual(Array.from(w), Array.from(reference[i]), `weight ${i}`));
});

test('training on native (fused batch norm, relu6, Adam) matches training on cpu', { skip: needsNative }, async () => {
  const onNative = await trainedWeights('native', 5, () => new Adam(0.01));
  const onCpu = await trainedWeights('cpu', 5, () => new Adam(0.01));
  onNative.forEach((w, i) => {
    const scale = Math.max(1, ...Array.from(onCpu[i], Math.abs));
    const err = Math.max(...Array.from(w, (v, k) => Math.abs(v - onCpu[i][k])));
    assert.ok(err <= 1e-4 * scale, `weight ${i} (incl. moving statistics): max difference ${err}`);
  });
});

test('a thousand training steps on native keep tensors and native memory flat', { skip: needsNative }, async () => {
  await initBackend('native');
  setSeed(5);
  const model = smallCnn();
  const { x, y } = batch();
  const opt = new Adam(0.001);
  const step = () => tf.tidy(() => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor), true)!.dataSync()[0]);
  for (let i = 0; i < 10; i++) step();
  const before = tf.memory() as tf.MemoryInfo & { numNativeTensors: number; numNativeBytes: number };
  for (let i = 0; i < 1000; i++) step();
  const after = tf.memory() as tf.MemoryInfo & { numNativeTensors: number; numNativeBytes: number };
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytes, before.numBytes);
  assert.equal(after.numNativeTensors, before.numNativeTensors, 'libtorch tensors held by the addon');
  assert.equal(after.numNativeBytes, before.numNativeBytes);
  model.dispose();
  opt.dispose();
  tf.dispose([x, y]);
});

test('a kernel the native backend lacks fails with an error naming it', { skip: needsNative }, async () => {
  await initBackend('native');
  const x = tf.tensor1d([1, 2]);
  assert.throws(() => tf.multinomial(x as tf.Tensor1D, 2, 1), /Kernel 'Multinomial' not registered for backend 'native'/);
  x.dispose();
});

test('KILN_THREADS must be a positive integer', () => {
  const saved = process.env.KILN_THREADS;
  try {
    process.env.KILN_THREADS = '3';
    assert.equal(nativeThreads(), 3);
    for (const bad of ['0', '-1', '1.5', '0x2', 'two', '2 cores']) {
      process.env.KILN_THREADS = bad;
      assert.throws(() => nativeThreads(), /KILN_THREADS must be an integer from 1 to 1024/, bad);
    }
    delete process.env.KILN_THREADS;
    assert.equal(nativeThreads(), os.availableParallelism());
  } finally {
    if (saved === undefined) delete process.env.KILN_THREADS;
    else process.env.KILN_THREADS = saved;
  }
});

test('kiln doctor names the backend, its threads and its libraries', { skip: needsNative }, () => {
  const out = execFileSync(process.execPath, [cli, 'doctor'], { encoding: 'utf8', env: { ...process.env, KILN_BACKEND: '', KILN_THREADS: '1' } });
  assert.match(out, /^backend {3}native$/m);
  assert.match(out, /^native {4}libtorch \d+\.\d+\.\d+, 1 thread \(KILN_THREADS=1\)/m);
  assert.match(out, /^blas /m);
});

/** Runs `kiln doctor` with the environment changed; stdout, stderr and exit code. */
function doctor(env: Record<string, string>, args: string[] = []) {
  const r = spawnSync(process.execPath, [cli, 'doctor', ...args], { encoding: 'utf8', env: { ...process.env, KILN_BACKEND: '', ...env } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

function assertFallsBack(r: ReturnType<typeof doctor>, reason: RegExp): void {
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^backend {3}wasm$/m);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^kiln: using the wasm backend \(.*\); for the faster native backend install libtorch/);
  assert.match(lines[0], reason);
}

test('without the addon Kiln falls back to wasm with one line, and refuses an explicit --backend native', () => {
  const missing = path.join(os.tmpdir(), 'kiln-no-such-addon.node');
  assertFallsBack(doctor({ KILN_NATIVE_ADDON: missing }), /not built/);
  const r = doctor({ KILN_NATIVE_ADDON: missing }, ['--backend', 'native']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^kiln: the native backend is unavailable: .*apt-get install libtorch-dev/);
});

test('an addon that does not load (corrupt file) falls back to wasm with one line', () => {
  const dir = tempDir('kiln-addon-');
  const corrupt = path.join(dir, 'kiln_native.node');
  fs.writeFileSync(corrupt, 'not a shared object');
  assertFallsBack(doctor({ KILN_NATIVE_ADDON: corrupt }), /does not load/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a libtorch without the symbols the addon needs falls back to wasm with one line', { skip: needsNative || (spawnSync('cc', ['--version']).status !== 0 && 'no C compiler to build a stand-in libtorch') }, () => {
  // Stand-ins for libtorch's libraries that define none of its symbols, found first on the
  // library path: what an upgraded or broken libtorch looks like to the built addon.
  const dir = tempDir('kiln-fake-torch-');
  const src = path.join(dir, 'empty.c');
  fs.writeFileSync(src, 'int kiln_stand_in = 0;\n');
  for (const lib of ['libtorch.so.1.13', 'libtorch_cpu.so.1.13', 'libc10.so.1.13']) {
    execFileSync('cc', ['-shared', '-fPIC', '-o', path.join(dir, lib), src]);
  }
  assertFallsBack(doctor({ LD_LIBRARY_PATH: dir }), /does not load \(.*(undefined symbol|symbol lookup)/);
  fs.rmSync(dir, { recursive: true, force: true });
});
