import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRng } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import type { CostModel } from '../src/nas/index.js';
import { latencyDevice } from '../src/nas/latency/index.js';
import { onnxRuntimeAvailable, ONNXRUNTIME_HINT } from '../src/nn/onnx/index.js';
import { mobileDetCosts, mobileDetFeatures, mobileDetPlan, mobileDetSpace, TINY_LAYOUT } from '../src/detect/space/index.js';
import {
  buildDetector, detectionBatches, detectorLatencyModel, detSupernet, disposeBatch, mobileDetSearch, runMobileDet, ssdLoss,
} from '../src/detect/ssd/index.js';
import { squareImages } from './helpers.js';
import { tempDir } from './temp-dir.js';

// onnxruntime-node is optional (its install script needs the network): without it the ort case says so and skips.
const noOrt = (await onnxRuntimeAvailable()) ? false : ONNXRUNTIME_HINT;

before(async () => {
  await initBackend();
});

const categories = [{ id: 7, name: 'square' }];


test('every child of the detection supernet has the standalone detector\'s rows and anchors, and trains', () => {
  setSeed(4);
  for (const variant of ['full', 'ibn'] as const) {
    const space = mobileDetSpace(variant, TINY_LAYOUT);
    const net = detSupernet({ space, inputShape: [32, 32, 3], categories });
    const rng = createRng(11);
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    for (let i = 0; i < 6; i++) {
      const a = space.sample(rng);
      const d = buildDetector({ space, arch: a, inputShape: [32, 32, 3], categories });
      const rows = net.forward(x, a);
      assert.deepEqual(rows.shape, [2, ...(d.model.outputs[0].shape.slice(1) as number[])]);
      assert.deepEqual(net.anchors, d.anchors);
      assert.ok((rows.dataSync() as Float32Array).every(Number.isFinite));
      tf.dispose(rows);
      d.model.dispose();
    }
    // A few steps on one batch through one child lower its loss: gradients reach the shared weights.
    const a = space.sample(rng);
    const batch = detectionBatches(net, squareImages(8, 1), { threshold: 0.5, flip: false })(createRng(1), 8);
    const opt = tf.train.adam(0.01);
    const lossOf = () => ssdLoss(net.forward(batch.x, a), batch).total;
    const before = tf.tidy(() => lossOf().dataSync()[0]);
    for (let s = 0; s < 10; s++) opt.minimize(lossOf, true, net.variables)?.dispose();
    const after = tf.tidy(() => lossOf().dataSync()[0]);
    assert.ok(after < before * 0.8, `${variant}: loss ${before} -> ${after}`);
    disposeBatch(batch);
    opt.dispose();
    x.dispose();
    net.dispose();
  }
});

test('a supernet over non-square images has the standalone detector\'s anchors and rows', () => {
  setSeed(5);
  const space = mobileDetSpace('full', TINY_LAYOUT);
  const net = detSupernet({ space, inputShape: [32, 48, 3], categories });
  const a = space.sample(createRng(2));
  const d = buildDetector({ space, arch: a, inputShape: [32, 48, 3], categories });
  assert.deepEqual(net.anchors, d.anchors);
  const rows = net.forward(tf.zeros([1, 32, 48, 3]) as tf.Tensor4D, a);
  assert.deepEqual(rows.shape.slice(1), d.model.outputs[0].shape.slice(1));
  tf.dispose(rows);
  d.model.dispose();
  net.dispose();
});

test('TuNAS warm-up in the detection supernet: at keep 1 every op of a block trains, at keep 0 only the child\'s', () => {
  setSeed(8);
  const space = mobileDetSpace('full', TINY_LAYOUT);
  const net = detSupernet({ space, inputShape: [32, 32, 3], categories });
  const a = space.parse('f1.25-ibn_k3_e4-f1.25-fused_k3_e4-tucker_k3_i0.25_o0.25-f1.25-ibn_k5_e8');
  const batch = detectionBatches(net, squareImages(4, 1), { threshold: 0.5, flip: false })(createRng(1), 4);
  const trained = (keep: number) => {
    const { value, grads } = tf.variableGrads(() => ssdLoss(net.forward(batch.x, a, { warmupKeep: keep, random: createRng(2).next }), batch).total, net.variables);
    const moved = new Set(Object.entries(grads).filter(([, g]) => tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 0).map(([name]) => name.slice(net.prefix.length)));
    const loss = value.dataSync()[0];
    tf.dispose([value, ...Object.values(grads)]);
    return { moved, loss };
  };
  const plain = tf.tidy(() => ssdLoss(net.forward(batch.x, a), batch).total.dataSync()[0]);
  const off = trained(0);
  assert.equal(off.loss, plain); // keep 0 is the plain child, and draws nothing
  const never = () => assert.fail('keep 0 must not draw');
  tf.tidy(() => assert.equal(ssdLoss(net.forward(batch.x, a, { warmupKeep: 0, random: never }), batch).total.dataSync()[0], plain));
  const on = trained(1);
  assert.notEqual(on.loss, plain);
  // Every op's own weights in every block the child runs: IBN, fused and Tucker at kernels 3 and 5.
  const opWeights = ['ibn/dw3', 'ibn/dw5', 'fused/conv3', 'fused/conv5', 'tucker/conv3', 'tucker/conv5'];
  for (const block of ['s0b0', 's1b0', 's1b1', 's2b0']) {
    for (const w of opWeights) assert.ok(on.moved.has(`${block}/${w}`), `${block}/${w} untrained at keep 1`);
    assert.equal(opWeights.filter((w) => off.moved.has(`${block}/${w}`)).length, 1, `${block}: one op trains at keep 0`);
  }
  disposeBatch(batch);
  net.dispose();
});

test('per-op latency features: a skipped block adds nothing, a wider child costs more', () => {
  const space = mobileDetSpace('full', TINY_LAYOUT);
  const f = (s: string) => mobileDetFeatures(mobileDetPlan(space, space.parse(s)), TINY_LAYOUT, 32, 4, 5);
  const withBlock = f('f1-ibn_k3_e4-f1-fused_k3_e4-tucker_k3_i0.25_o0.25-f1-ibn_k3_e4');
  const skipped = f('f1-ibn_k3_e4-f1-fused_k3_e4-skip-f1-ibn_k3_e4');
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  assert.equal(withBlock.length, skipped.length);
  assert.equal(withBlock.filter((v, i) => v !== skipped[i]).length, 2); // the Tucker count and MACs
  assert.deepEqual(skipped.slice(0, 3), [2, 1, 0]); // IBN, fused, Tucker blocks
  const wide = f('f1.25-ibn_k5_e8-f1.25-fused_k5_e8-skip-f1.25-ibn_k5_e8');
  assert.ok(sum(wide) > sum(skipped));
});

test('the search rewards the latency target: a strong abs penalty drives the pick below the median child', async () => {
  const space = mobileDetSpace('full', TINY_LAYOUT);
  const macs: CostModel = { name: 'mmacs', metric: 'mmacs', cost: (a) => mobileDetCosts(mobileDetPlan(space, a), 32).mmacs };
  const all = Array.from({ length: 400 }, (_, i) => macs.cost(space.sample(createRng(i)))).sort((a, b) => a - b);
  setSeed(3);
  const net = detSupernet({ space, inputShape: [32, 32, 3], categories });
  const r = await mobileDetSearch({
    supernet: net, train: squareImages(32, 2), val: squareImages(16, 3), latency: macs, target: all[0] * 1.2, beta: -5, controllerLr: 0.3,
    steps: 40, batchSize: 4, lr: 0.01, warmup: 0.25, seed: 2,
  });
  assert.equal(r.qualities.filter(Number.isNaN).length, 10);
  assert.ok(r.qualities.slice(10).every((q) => q > 0 && q <= 1));
  assert.equal(r.pickLatency, macs.cost(r.pick));
  assert.ok(r.pickLatency < all[200], `pick ${space.toString(r.pick)} costs ${r.pickLatency}, median child ${all[200]}`);
  assert.ok(r.probs.some((row) => Math.max(...row) > 1 / row.length + 0.05));
  net.dispose();
});

for (const runtime of ['tfjs', 'ort']) {
  test(`the detector latency model is fitted to per-op lookup tables measured on ${runtime}`, { skip: runtime === 'ort' && noOrt }, async () => {
    const space = mobileDetSpace('full', TINY_LAYOUT);
    const device = latencyDevice(runtime, 1);
    const m = await detectorLatencyModel(space, device, { inputShape: [32, 32, 3], categories, samples: 3, seed: 1, warmup: 1, repeats: 2 });
    assert.equal(m.cost.name, `latency_ms_${runtime}_b1`);
    // Every op of the heads (reshapes of rows, concatenations of rows) has an entry, besides the convolutions.
    assert.ok(['Reshape', 'Concatenate', 'DepthwiseConv2D', 'Conv2D'].every((c) => Object.keys(m.table).some((k) => k.startsWith(c))));
    assert.ok(m.range.min > 0 && m.range.max >= m.range.min);
    assert.ok(Number.isFinite(m.cost.cost(space.sample(createRng(5)))));
  });
}

test('the MobileDets pipeline: latency model, search under the target, standalone training of the pick, measured latency, test detections', async () => {
  const space = mobileDetSpace('full', TINY_LAYOUT);
  const splits = { train: squareImages(24, 4), val: squareImages(8, 5), test: squareImages(6, 6) };
  const stages: string[] = [];
  const note = (what: string) => () => { if (stages.at(-1) !== what) stages.push(what); };
  const run = await runMobileDet({
    space, splits, categories, inputShape: [32, 32, 3], device: latencyDevice('tfjs', 1), target: 1, latencySamples: 3, seed: 1,
    search: { steps: 8, batchSize: 4, lr: 0.01, warmup: 0.5, beta: -0.1, controllerLr: 0.1 },
    train: { steps: 10, batchSize: 4, lr: 0.01 },
    onLatency: note('latency'), onSearchStep: note('search'), onTrainStep: note('train'),
  });
  assert.deepEqual(stages, ['latency', 'search', 'train']);
  assert.equal(run.stopped, false);
  const s = run.standalone!;
  assert.ok(space.isValid(run.search.pick));
  assert.equal(s.detector.config.arch, space.toString(run.search.pick));
  assert.equal(run.predictedLatency, run.latency.cost.cost(run.search.pick));
  assert.equal(s.training.steps, 10);
  assert.ok(s.measuredLatency > 0);
  assert.ok(s.detections.length > 0 && s.detections.every((d) => splits.test.some((im) => im.id === d.imageId) && d.categoryId === 7));
  s.detector.model.dispose();
});

test('a search stopped at its checkpoint and resumed ends with the policy and weights of an uninterrupted search', async () => {
  const space = mobileDetSpace('full', TINY_LAYOUT);
  const macs: CostModel = { name: 'mmacs', metric: 'mmacs', cost: (a) => mobileDetCosts(mobileDetPlan(space, a), 32).mmacs };
  const train = squareImages(16, 7);
  const val = squareImages(8, 8);
  // Stopped at step 4 of a 6-step warm-up: the resumed run must continue the path-dropout draws too.
  const settings = { train, val, latency: macs, target: 0.5, beta: -0.5, controllerLr: 0.2, steps: 10, batchSize: 2, lr: 0.01, warmup: 0.6, seed: 4 };
  const fresh = () => {
    setSeed(6);
    return detSupernet({ space, inputShape: [32, 32, 3], categories });
  };
  const straightNet = fresh();
  const straight = await mobileDetSearch({ supernet: straightNet, ...settings });
  const dir = tempDir('kiln-detsearch-');
  const stop = new AbortController();
  const cutNet = fresh();
  const cut = await mobileDetSearch({ supernet: cutNet, ...settings, checkpointDir: dir, signal: stop.signal, onStep: (e) => e.step === 4 && stop.abort() });
  assert.deepEqual([cut.steps, cut.aborted], [4, true]);
  setSeed(99); // other initial weights: the checkpoint must replace them
  const resumedNet = detSupernet({ space, inputShape: [32, 32, 3], categories });
  let at = -1;
  const resumed = await mobileDetSearch({ supernet: resumedNet, ...settings, checkpointDir: dir, onResume: (s) => (at = s) });
  assert.equal(at, 4);
  assert.equal(resumed.losses.length, 10);
  assert.ok(resumed.losses.every((l, i) => Math.abs(l - straight.losses[i]) < 1e-3), `${resumed.losses} vs ${straight.losses}`);
  assert.deepEqual(resumed.qualities.map(Number.isNaN), straight.qualities.map(Number.isNaN));
  assert.ok(resumed.probs.flat().every((p, i) => Math.abs(p - straight.probs.flat()[i]) < 1e-4));
  assert.deepEqual(space.toString(resumed.pick), space.toString(straight.pick));
  straightNet.variables.forEach((v, i) => assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(v, resumedNet.variables[i]))).dataSync()[0]) < 1e-3, v.name));
  for (const n of [straightNet, cutNet, resumedNet]) n.dispose();
  fs.rmSync(dir, { recursive: true });
});
