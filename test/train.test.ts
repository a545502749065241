import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { KilnError } from '../src/core/index.js';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { fitStandardizer, loadDataset, splitDataset, standardize, type Dataset, type Splits } from '../src/data/index.js';
import { cnn, mlp } from '../src/nn/index.js';
import {
  classificationLoss, createSchedule, evaluate, fit, hasCheckpoint, optimizers, schedules, type EpochLog,
} from '../src/train/index.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir('kiln-train-');

let digits: Splits;
let iris: Splits;

function standardized(name: string): Splits {
  const s = splitDataset(loadDataset(name), { val: 0.15, test: 0.15, seed: 1 });
  const st = fitStandardizer(s.train);
  return { train: standardize(s.train, st), val: standardize(s.val, st), test: standardize(s.test, st) };
}

before(async () => {
  await initBackend();
  digits = standardized('digits');
  iris = standardized('iris');
});

function irisModel(seed: number, dropout = 0): tf.LayersModel {
  setSeed(seed);
  return mlp({ inputs: 4, hidden: [16], outputs: 3, dropout });
}

const weightsOf = (m: tf.LayersModel): number[][] => m.getWeights().map((w) => [...w.dataSync()]);

function maxDiff(a: number[][], b: number[][]): number {
  return Math.max(...a.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - b[i][j])))));
}

test('an MLP trained by fit reaches >= 95% test accuracy on 8x8 digits', async () => {
  const model = (setSeed(1), mlp({ inputs: 64, hidden: [64, 64], outputs: 10, dropout: 0.1 }));
  const result = await fit(model, { train: digits.train, val: digits.val },
    { epochs: 8, batchSize: 32, lr: 3e-3, schedule: 'cosine', seed: 1 });
  const { accuracy } = await evaluate(model, digits.test);
  assert.equal(result.history.length, 8);
  assert.ok(result.history[7].loss < result.history[0].loss / 3, 'training loss falls');
  assert.ok(accuracy >= 0.95, `test accuracy ${accuracy}`);
  model.dispose();
});

test('schedule values: constant, cosine, warmup, warmup-cosine', () => {
  const o = { lr: 0.1, totalSteps: 100, warmupSteps: 10, minLr: 0.01 };
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);
  const constant = createSchedule('constant', o);
  [0, 50, 99].forEach((s) => close(constant(s), 0.1));
  const cosine = createSchedule('cosine', o);
  close(cosine(0), 0.1);
  close(cosine(50), 0.055);
  close(cosine(100), 0.01);
  assert.ok(cosine(25) > cosine(26));
  const warm = createSchedule('warmup', o);
  close(warm(0), 0.01);
  close(warm(4), 0.05);
  close(warm(9), 0.1);
  close(warm(60), 0.1);
  const wc = createSchedule('warmup-cosine', o);
  close(wc(0), 0.01);
  close(wc(9), 0.1);
  close(wc(10), 0.1);
  close(wc(55), 0.055);
  close(wc(100), 0.01);
  assert.deepEqual(schedules.names(), ['constant', 'cosine', 'warmup', 'warmup-cosine']);
  assert.throws(() => createSchedule('step', o), /unknown learning-rate schedule 'step' \(known: constant/);
});

test('label smoothing replaces the one-hot target by (1-s)*onehot + s/K', () => {
  const logits = tf.tensor2d([[2, 0, -1], [0.5, 0.5, 3]]);
  const labels = tf.tensor1d([0, 2], 'int32');
  const logp = tf.logSoftmax(logits).arraySync() as number[][];
  const expected = (s: number) => {
    const rows = [0, 2].map((label, r) => -logp[r].reduce((acc, lp, k) => acc + ((k === label ? 1 - s : 0) + s / 3) * lp, 0));
    return (rows[0] + rows[1]) / 2;
  };
  for (const s of [0, 0.1, 0.3]) {
    const loss = classificationLoss(logits, labels, s);
    assert.ok(Math.abs(loss.dataSync()[0] - expected(s)) < 1e-5, `smoothing ${s}`);
    loss.dispose();
  }
  const plain = classificationLoss(logits, labels, 0);
  const smooth = classificationLoss(logits, labels, 0.3);
  assert.ok(smooth.dataSync()[0] > plain.dataSync()[0], 'confident correct predictions cost more when smoothed');
  tf.dispose([logits, labels, plain, smooth]);
});

test('every registered optimizer lowers the training loss and the schedule drives its rate', async () => {
  for (const name of optimizers.names()) {
    const model = irisModel(2);
    const rates: number[] = [];
    const result = await fit(model, { train: iris.train }, {
      epochs: 6, batchSize: 16, optimizer: name, lr: name === 'sgd' ? 0.05 : 0.01, schedule: 'warmup', warmupEpochs: 1,
      onBatch: (e) => rates.push(e.lr),
    });
    const h = result.history;
    assert.ok(h[h.length - 1].loss < h[0].loss * 0.8, `${name}: loss ${h[0].loss} -> ${h[h.length - 1].loss}`);
    assert.ok(rates[0] < rates[6] && rates[6] === rates[rates.length - 1], `${name} warm-up rates ${rates.slice(0, 8)}`);
    model.dispose();
  }
  const model = irisModel(2);
  await assert.rejects(fit(model, { train: iris.train }, { epochs: 1, optimizer: 'lbfgs' }), KilnError);
  model.dispose();
});

test('early stopping stops after patience epochs and restores the best weights', async () => {
  const model = irisModel(3);
  let afterFirst: number[][] = [];
  const result = await fit(model, { train: iris.train, val: iris.val }, {
    epochs: 10, lr: 0.01, earlyStopping: { patience: 2, minDelta: 100 },
    onEpoch: (log) => { if (log.epoch === 0) afterFirst = weightsOf(model); },
  });
  assert.equal(result.stoppedEarly, true);
  assert.equal(result.history.length, 3, 'epoch 0 is best; epochs 1 and 2 do not improve by minDelta');
  assert.equal(result.bestEpoch, 0);
  assert.equal(maxDiff(weightsOf(model), afterFirst), 0);
  model.dispose();
});

test('no tensor leaks: the tensor count is flat across epochs and restored after fit', async () => {
  const model = irisModel(4, 0.2);
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  await fit(model, { train: iris.train, val: iris.val }, {
    epochs: 5, lr: 0.01, labelSmoothing: 0.1, schedule: 'cosine', earlyStopping: { patience: 100 },
    checkpointDir: path.join(tmp, 'leak'), onEpoch: () => counts.push(tf.memory().numTensors),
  });
  assert.ok(counts.every((c) => c === counts[0]), `tensor counts per epoch ${counts}`);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test('an aborted fit resumes from its checkpoint and ends where an uninterrupted fit ends', async () => {
  const opts = { epochs: 4, batchSize: 16, lr: 0.01, seed: 9, schedule: 'warmup-cosine', earlyStopping: { patience: 10 } };
  const data = { train: iris.train, val: iris.val };
  const straight = irisModel(5, 0.2);
  const reference = await fit(straight, data, opts);

  const dir = path.join(tmp, 'resume');
  const controller = new AbortController();
  const first = irisModel(5, 0.2);
  const partial = await fit(first, data, {
    ...opts, checkpointDir: dir,
    onBatch: (e) => { if (e.epoch === 2 && e.batch === 3) controller.abort(); }, signal: controller.signal,
  });
  assert.equal(partial.aborted, true);
  assert.equal(partial.history.length, 2);
  assert.ok(hasCheckpoint(dir));

  const resumed = irisModel(77, 0.2); // different init: the checkpoint must overwrite it
  const epochsSeen: EpochLog[] = [];
  const rest = await fit(resumed, data, { ...opts, checkpointDir: dir, onEpoch: (l) => epochsSeen.push(l) });
  assert.deepEqual(rest.resumedFrom, { epoch: 2, batch: 4 });
  assert.deepEqual(epochsSeen.map((l) => l.epoch), [2, 3]);
  assert.equal(rest.history.length, 4);
  rest.history.forEach((l, i) => assert.ok(Math.abs(l.loss - reference.history[i].loss) < 1e-4, `epoch ${i} loss`));
  assert.equal(maxDiff(weightsOf(resumed), weightsOf(straight)), 0);

  const again = await fit(resumed, data, { ...opts, checkpointDir: dir });
  assert.equal(again.history.length, 4, 'a finished checkpoint trains no further');
  await assert.rejects(fit(irisModel(5), data, { ...opts, batchSize: 8, checkpointDir: dir }), /checkpoint .* batch size 16/);
  for (const m of [straight, first, resumed]) m.dispose();
});

test('a CNN trains through the same loop (conv gradients on the active backend)', async () => {
  // 12x12 noise images whose class says which half is brighter.
  const n = 96;
  const rng = (i: number) => ((Math.sin(i * 12.9898) * 43758.5453) % 1 + 1) % 1;
  const x = new Float32Array(n * 144);
  const y = Int32Array.from({ length: n }, (_, i) => i % 2);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < 144; p++) {
      const col = p % 12;
      const bright = y[i] === 0 ? col < 6 : col >= 6;
      x[i * 144 + p] = (bright ? 0.5 : 0) + 0.5 * rng(i * 144 + p);
    }
  }
  const ds: Dataset = { name: 'bars', x, shape: [12, 12, 1], y, classNames: ['left', 'right'], featureNames: [] };
  setSeed(6);
  const model = cnn({ inputShape: [12, 12, 1], outputs: 2, filters: [4], dense: 8 });
  const result = await fit(model, { train: ds }, { epochs: 5, batchSize: 16, lr: 0.01 });
  assert.ok(result.history[4].accuracy >= 0.9, `train accuracy ${result.history.map((h) => h.accuracy)}`);
  model.dispose();
});

test('an abort from a timer stops a long fit promptly (the loop yields to the event loop)', async () => {
  const model = irisModel(8);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 100);
  const result = await fit(model, { train: iris.train }, { epochs: 10000, lr: 0.01, signal: controller.signal });
  clearTimeout(timer);
  assert.equal(result.aborted, true);
  assert.ok(result.history.length < 10000);
  model.dispose();
});
