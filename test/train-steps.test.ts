import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { createSchedule, setLearningRate, trainSteps, trainStepsSync, type TrainStepsOptions } from '../src/train/index.js';

before(async () => {
  await initBackend();
});

/** A least-squares problem: w [3] fitted to y = x w* from batches drawn by step. */
function problem(seed: number) {
  setSeed(seed);
  const w = tf.variable(tf.randomNormal([3, 1], 0, 1, 'float32', seed));
  const data = Array.from({ length: 6 }, (_, i) => ({
    x: tf.randomNormal([4, 3], 0, 1, 'float32', seed * 100 + i),
    y: tf.randomNormal([4, 1], 0, 1, 'float32', seed * 200 + i),
  }));
  const loss = (b: { x: tf.Tensor; y: tf.Tensor }) => tf.losses.meanSquaredError(b.y, tf.matMul(b.x, w)) as tf.Scalar;
  return { w, data, loss, dispose: () => tf.dispose([w, ...data.flatMap((d) => [d.x, d.y])]) };
}

const values = (t: tf.Tensor) => [...t.dataSync()];

test('trainSteps takes exactly the steps of a hand-written optimizer.minimize loop with a schedule', async () => {
  const schedule = createSchedule('warmup-cosine', { lr: 0.1, totalSteps: 6, warmupSteps: 2, minLr: 0 });
  const a = problem(1);
  const optA = tf.train.adam(0.1);
  const handLosses: number[] = [];
  for (let step = 0; step < 6; step++) {
    setLearningRate(optA, schedule(step));
    const l = optA.minimize(() => a.loss(a.data[step]), true, [a.w])!;
    handLosses.push(l.dataSync()[0]);
    l.dispose();
  }
  const b = problem(1);
  const optB = tf.train.adam(0.1);
  const losses: number[] = [];
  const lrs: number[] = [];
  const r = await trainSteps({ optimizer: optB, to: 6, variables: [b.w], schedule, batch: (s) => b.data[s], loss: b.loss,
    onStep: (e) => { losses.push(e.loss); lrs.push(e.lr!); } });
  assert.deepEqual(r, { step: 6, aborted: false });
  assert.deepEqual(losses, handLosses);
  assert.deepEqual(lrs, [0, 1, 2, 3, 4, 5].map(schedule));
  assert.deepEqual(values(b.w), values(a.w));
  [a, b].forEach((p) => p.dispose());
  [optA, optB].forEach((o) => o.dispose());
});

test('trainStepsSync and trainSteps agree; a promise from a hook of the sync loop is an error', async () => {
  const run = async (sync: boolean) => {
    const p = problem(2);
    const opt = tf.train.sgd(0.05);
    const losses: number[] = [];
    const o = { optimizer: opt, to: 6, batch: (s: number) => p.data[s], loss: p.loss, onStep: (e: { loss: number }) => { losses.push(e.loss); } };
    if (sync) trainStepsSync(o);
    else await trainSteps(o);
    const w = values(p.w);
    p.dispose();
    opt.dispose();
    return { losses, w };
  };
  assert.deepEqual(await run(true), await run(false));
  const p = problem(2);
  const opt = tf.train.sgd(0.05);
  assert.throws(() => trainStepsSync({ optimizer: opt, to: 2, batch: (s) => p.data[s], loss: p.loss, onStep: async () => {} }), /returned a promise/);
  p.dispose();
  opt.dispose();
});

test('clipNorm rescales the gradients to the global norm (plain SGD moves the weights by exactly lr * clipNorm)', async () => {
  const p = problem(3);
  const opt = tf.train.sgd(1);
  const before = values(p.w);
  await trainSteps({ optimizer: opt, to: 1, variables: [p.w], clipNorm: 1e-3, batch: (s) => p.data[s], loss: p.loss });
  const moved = Math.hypot(...values(p.w).map((v, i) => v - before[i]));
  assert.ok(Math.abs(moved - 1e-3) < 1e-7, `moved ${moved}`);
  // A bound above the gradient's norm changes nothing: the same step as without clipping.
  const q = problem(3);
  const optQ = tf.train.sgd(1);
  const r = problem(3);
  const optR = tf.train.sgd(1);
  await trainSteps({ optimizer: optQ, to: 3, clipNorm: 1e6, batch: (s) => q.data[s], loss: q.loss });
  await trainSteps({ optimizer: optR, to: 3, batch: (s) => r.data[s], loss: r.loss });
  const [wq, wr] = [values(q.w), values(r.w)];
  wq.forEach((v, i) => assert.ok(Math.abs(v - wr[i]) < 1e-6));
  [p, q, r].forEach((x) => x.dispose());
  [opt, optQ, optR].forEach((o) => o.dispose());
});

test('a non-finite loss stops the loop with a KilnError whose message may read the batch, the batch released and no tensor left behind', async () => {
  const p = problem(4);
  const opt = tf.train.sgd(0.1);
  const released: number[] = [];
  const count = tf.memory().numTensors;
  const o: TrainStepsOptions<{ step: number; t: tf.Tensor }> = {
    optimizer: opt, to: 5, batch: (step) => ({ step, t: tf.scalar(step) }),
    loss: (b) => (b.step === 2 ? tf.mul(p.loss(p.data[0]), NaN) : p.loss(p.data[b.step])) as tf.Scalar,
    release: (b) => { released.push(b.step); b.t.dispose(); },
    divergence: (loss, step, b) => `diverged with ${loss} at ${step} on batch ${b.t.dataSync()[0]}`,
  };
  await assert.rejects(trainSteps(o), (e: Error) => e instanceof KilnError && e.message === 'diverged with NaN at 2 on batch 2');
  assert.deepEqual(released, [0, 1, 2]);
  assert.equal(tf.memory().numTensors, count);
  p.dispose();
  opt.dispose();
});

test('an abort stops before the next step; resuming with from ends where an uninterrupted run ends; checkpoints fall on every k and the last step', async () => {
  const whole = problem(5);
  const optW = tf.train.momentum(0.05, 0.9);
  await trainSteps({ optimizer: optW, to: 6, batch: (s) => whole.data[s], loss: whole.loss });
  const p = problem(5);
  const opt = tf.train.momentum(0.05, 0.9);
  const ac = new AbortController();
  const saved: number[] = [];
  const o = { optimizer: opt, to: 6, batch: (s: number) => p.data[s], loss: p.loss, checkpoint: { every: 4, save: (done: number) => { saved.push(done); } } };
  const first = await trainSteps({ ...o, signal: ac.signal, onStep: (e) => { if (e.step === 2) ac.abort(); } });
  assert.deepEqual(first, { step: 3, aborted: true });
  const rest = await trainSteps({ ...o, from: first.step });
  assert.deepEqual(rest, { step: 6, aborted: false });
  assert.deepEqual(saved, [4, 6]);
  assert.deepEqual(values(p.w), values(whole.w));
  [whole, p].forEach((x) => x.dispose());
  [optW, opt].forEach((x) => x.dispose());
});
