import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRng } from '../src/core/index.js';
import { blobs } from './helpers.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import type { Dataset, Splits } from '../src/data/index.js';
import { getSpace, memoryStorage, sqliteStorage } from '../src/nas/index.js';
import {
  bignasSupernet, bignasTrain, enumerate, largestChild, mlpParams, mlpSupernet, mlpWidthSpace, mlpWidths, recalibrateBatchNorm,
  selectChild, smallestChild, tabnasSearch, tunasSpace, atResolution, splitsAtResolution,
} from '../src/nas/oneshot/index.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir('kiln-oneshot-');

before(async () => {
  await initBackend();
});

const splitsOf = (seed: number, dims = 6, shape?: number[]): Splits =>
  ({ train: blobs(96, dims, 3, seed, shape), val: blobs(48, dims, 3, seed + 1, shape), test: blobs(48, dims, 3, seed + 2, shape) });

test('one-shot spaces are registered and parse their own text form', () => {
  for (const name of ['mlp2', 'mlp3', 'mlp4', 'tunas', 'bignas']) {
    const space = getSpace(name);
    const a = space.sample(createRng(1));
    assert.deepEqual(space.parse(space.toString(a)), a);
  }
  assert.equal(getSpace('mlp2').toString({ values: [3, 1] }), '64-16');
  assert.throws(() => getSpace('mlp2').parse('64-17'), /not a choice/);
});

test('MLP supernet: a child is the leading slice of the shared weights, and its standalone model computes the same function', () => {
  setSeed(1);
  const space = mlpWidthSpace(2, [4, 8, 16]);
  const net = mlpSupernet(space, 5, 3);
  const a = space.parse('8-4');
  const x = tf.randomNormal([7, 5], 0, 1, 'float32', 3);
  const viaSupernet = tf.softmax(net.logits(x, a)).dataSync();
  const model = net.child(a);
  const viaChild = (model.predict(x) as tf.Tensor).dataSync();
  viaSupernet.forEach((v, i) => assert.ok(Math.abs(v - viaChild[i]) < 1e-5));
  assert.equal(model.countParams(), mlpParams(5, [8, 4], 3));
  assert.equal(net.costs(a).params, model.countParams());
  // A wider child shares the narrower child's units: its first-layer kernel starts with the same columns.
  const wide = net.child(space.parse('16-4'));
  const k8 = model.layers[1].getWeights()[0];
  const k16 = wide.layers[1].getWeights()[0];
  assert.deepEqual(Array.from(tf.slice(k16, [0, 0], [5, 8]).dataSync()), Array.from(k8.dataSync()));
  net.dispose();
});

test('TabNAS search: every policy pick meets the parameter limit; a checkpointed run resumes to the same result', async () => {
  const splits = splitsOf(4);
  const base = { splits, layers: 2, widths: [4, 8, 16, 32], limit: 200, mode: 'rejection' as const, steps: 40, batchSize: 16, lr: 1e-2,
    controllerLr: 0.1, warmup: 0.25, quality: 'likelihood' as const, seed: 3 };
  setSeed(5);
  const full = await tabnasSearch(base);
  assert.ok(full.pickFeasible && full.pickParams <= 200, `pick ${full.space.toString(full.pick)} has ${full.pickParams} params`);
  const feasible = enumerate(full.space)!.filter((a) => mlpParams(6, mlpWidths(full.space, a), 3) <= 200).length;
  assert.equal(full.feasibleCount, feasible);
  assert.equal(full.search.qualities.filter(Number.isNaN).length, 10); // RL off during the 25% warm-up
  full.supernet.dispose();

  const dir = path.join(tmp, 'tabnas');
  const stop = new AbortController();
  setSeed(5);
  const first = await tabnasSearch({ ...base, checkpointDir: dir, checkpointEvery: 5, signal: stop.signal,
    onStep: (e) => { if (e.step === 23) stop.abort(); } });
  assert.ok(first.search.aborted);
  first.supernet.dispose();
  setSeed(5);
  const resumed = await tabnasSearch({ ...base, checkpointDir: dir, checkpointEvery: 5 });
  assert.equal(resumed.search.resumedFrom, 23);
  assert.deepEqual(resumed.search.losses.map((l) => l.toFixed(4)), full.search.losses.map((l) => l.toFixed(4)));
  assert.deepEqual(resumed.pick, full.pick);
  resumed.supernet.dispose();
});

test('BigNAS: sandwich training steps run, zero-init residual gammas, and a recalibrated child reproduces the supernet on the calibration batch', async () => {
  setSeed(2);
  const splits = splitsOf(7, 64, [8, 8, 1]);
  const net = bignasSupernet([8, 8, 1], 3, { channels: [4, 8], strides: [1, 2], depth: 2, stem: 4, maxExpansion: 4, kernels: [3, 5] }, [6, 8]);
  const zeroGammas = net.variables.filter((v) => /project_bn\/gamma/.test(v.name) && tf.max(tf.abs(v)).dataSync()[0] === 0);
  assert.equal(zeroGammas.length, 3); // blocks 2 of both stages, and stage 1's first block (4 -> 4 channels, stride 1)
  const r = await bignasTrain({ supernet: net, train: splits.train, steps: 3, batchSize: 16, lr: 1e-2, weightDecay: 1e-4, randomChildren: 2, seed: 1 });
  assert.equal(r.losses.length, 3);
  assert.ok(r.losses.every(Number.isFinite));
  for (const a of [largestChild(net), smallestChild(net)]) {
    const calib: Dataset = { ...splits.val, x: splits.val.x.slice(0, 32 * 64), y: splits.val.y.slice(0, 32) };
    const model = net.child(a);
    recalibrateBatchNorm(model, calib, 1, 32);
    const x = tf.tensor(calib.x, [32, 8, 8, 1]);
    const res = model.inputs[0].shape[1]!;
    const viaChild = (model.predict(res === 8 ? x : tf.image.resizeBilinear(x as tf.Tensor4D, [res, res])) as tf.Tensor).dataSync();
    const viaSupernet = tf.softmax(net.logits(x, a, { training: true })).dataSync();
    // Same batch, same statistics: only the variance estimator's rounding differs.
    viaChild.forEach((v, i) => assert.ok(Math.abs(v - viaSupernet[i]) < 1e-3, `${net.space.toString(a)}: ${v} vs ${viaSupernet[i]}`));
  }
  assert.ok(net.costs(smallestChild(net)).mflops < net.costs(largestChild(net)).mflops);
  net.dispose();
});

test('BigNAS selection is a study: each child scored with inherited weights is a trial; an aborted selection resumes to the same trials and pick', async () => {
  setSeed(2);
  const splits = splitsOf(7, 64, [8, 8, 1]);
  const net = bignasSupernet([8, 8, 1], 3, { channels: [4, 8], strides: [1, 2], depth: 2, stem: 4, maxExpansion: 4, kernels: [3, 5] }, [6, 8]);
  await bignasTrain({ supernet: net, train: splits.train, steps: 2, batchSize: 16, lr: 1e-2, weightDecay: 1e-4, randomChildren: 1, seed: 1 });
  const limit = (net.costs(smallestChild(net)).mflops + net.costs(largestChild(net)).mflops) / 2;
  const opts = { coarse: 4, fine: 3, seed: 5 };
  const straight = memoryStorage();
  const full = await selectChild(net, splits, 'mflops', limit, { ...opts, storage: straight, study: 'sel' });
  const trials = straight.trials('sel');
  assert.equal(trials.length, full.evaluated);
  assert.ok(full.evaluated >= 2 && full.evaluated <= 1 + 4 + 3);
  assert.equal(trials[0].arch, net.space.toString(smallestChild(net)));
  assert.ok(trials.every((t) => t.state === 'complete' && t.feasible && t.metrics.mflops <= limit));
  assert.equal(full.valAccuracy, Math.max(...trials.map((t) => t.value!)));
  assert.deepEqual(straight.getStudy('sel')!.spec.constraints, [`mflops<=${limit}`]);

  const storage = sqliteStorage(path.join(tmp, 'select.sqlite'));
  const stop = new AbortController();
  const first = await selectChild(net, splits, 'mflops', limit, { ...opts, storage, study: 'sel', signal: stop.signal, onTrial: () => stop.abort() });
  assert.ok(first.stopped);
  assert.equal(storage.trials('sel').length, 1);
  const resumed = await selectChild(net, splits, 'mflops', limit, { ...opts, storage, study: 'sel' });
  assert.ok(!resumed.stopped);
  assert.deepEqual(storage.trials('sel').map((t) => [t.arch, t.value]), trials.map((t) => [t.arch, t.value]));
  assert.deepEqual(resumed.arch, full.arch);
  storage.close();
  net.dispose();
});

test('TuNAS space: filter multipliers, kernels, expansions and skips per block', () => {
  const space = tunasSpace();
  assert.equal(space.decisions.filter((d) => d.name.endsWith('_skip')).length, 3);
  assert.ok(space.decisions.every((d) => d.choices.length >= 2));
});

test('BigNAS children are scored on images at their own resolution', () => {
  const ds = blobs(3, 64, 3, 9, [8, 8, 1]);
  const small = atResolution(ds, 4);
  assert.deepEqual(small.shape, [4, 4, 1]);
  assert.equal(small.x.length, 3 * 16);
  // Halving with bilinear sampling (no half-pixel centres) reads source pixel (2i, 2j).
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) assert.ok(Math.abs(small.x[16 + i * 4 + j] - ds.x[64 + 2 * i * 8 + 2 * j]) < 1e-6);
  const splits = splitsOf(3, 64, [8, 8, 1]);
  assert.equal(splitsAtResolution(splits, 6), splitsAtResolution(splits, 6)); // memoized
  assert.equal(splitsAtResolution(splits, 8).val, splits.val); // full size: unchanged
});
