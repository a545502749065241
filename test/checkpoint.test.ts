import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { initBackend, setSeed, tf } from '../src/backend/index.js';
import { fitStandardizer, loadDataset, splitDataset, standardize, type Splits } from '../src/data/index.js';
import { mlp } from '../src/nn/index.js';
import { createOptimizer, fit, hasCheckpoint, loadCheckpoint, optimizers, type TrainState } from '../src/train/index.js';
import { checkpointSteps } from '../src/train/checkpoint.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir('kiln-checkpoint-');

let iris: Splits;
before(async () => {
  await initBackend();
  const s = splitDataset(loadDataset('iris'), { val: 0.15, test: 0.15, seed: 1 });
  const st = fitStandardizer(s.train);
  iris = { train: standardize(s.train, st), val: standardize(s.val, st), test: standardize(s.test, st) };
});

function irisModel(seed: number): tf.LayersModel {
  setSeed(seed);
  return mlp({ inputs: 4, hidden: [16], outputs: 3, dropout: 0.2 });
}

const weightsOf = (m: tf.LayersModel): Float32Array[] => m.getWeights().map((w) => w.dataSync() as Float32Array);

for (const name of optimizers.names()) {
  test(`${name}: an interrupted and resumed fit ends with the same weights, bit for bit`, async () => {
    const opts = { epochs: 3, batchSize: 16, lr: 0.01, seed: 4, optimizer: name, schedule: 'warmup-cosine' };
    const data = { train: iris.train, val: iris.val };
    const straight = irisModel(2);
    const reference = await fit(straight, data, opts);

    const dir = path.join(tmp, `resume-${name}`);
    const controller = new AbortController();
    const first = irisModel(2);
    await fit(first, data, { ...opts, checkpointDir: dir, signal: controller.signal,
      onBatch: (e) => { if (e.epoch === 1 && e.batch === 2) controller.abort(); } });
    const resumed = irisModel(3);
    const rest = await fit(resumed, data, { ...opts, checkpointDir: dir });
    assert.deepEqual(rest.resumedFrom, { epoch: 1, batch: 3 });
    assert.deepEqual(rest.history.map((l) => l.loss), reference.history.map((l) => l.loss));
    weightsOf(resumed).forEach((w, i) => assert.deepEqual(w, weightsOf(straight)[i], `weight ${i}`));
    for (const m of [straight, first, resumed]) m.dispose();
  });
}

/** A checkpoint whose weights all equal its step, so a reader can tell whether state and weights belong together. */
function stateAt(step: number): TrainState {
  return { epoch: step, batch: 0, step, partial: { lossSum: 0, correct: 0, seen: 0 }, history: [], best: null,
    sinceBest: 0, stoppedEarly: false, config: { optimizer: 'adam', batchSize: 8, trainSize: 100, seed: 1 } };
}

const tiny = (): tf.LayersModel => mlp({ inputs: 2, hidden: [], outputs: 2 });

function fill(model: tf.LayersModel, value: number): void {
  model.setWeights(model.getWeights().map((w) => tf.fill(w.shape, value)));
}

async function crashedSave(dir: string, step: number, crashAfter: number): Promise<void> {
  const model = tiny();
  fill(model, step);
  const steps = checkpointSteps(dir, model, createOptimizer('adam', { lr: 0.1 }), stateAt(step), null);
  for (const s of steps.slice(0, crashAfter)) await s.run();
  model.dispose();
}

async function readBack(dir: string): Promise<{ step: number; weight: number } | null> {
  const model = tiny();
  const got = await loadCheckpoint(dir, model, createOptimizer('adam', { lr: 0.1 }));
  const weight = model.getWeights()[0].dataSync()[0];
  model.dispose();
  return got && { step: got.state.step, weight };
}

test('a crash between any two steps of two successive checkpoint writes leaves the newest whole checkpoint', async () => {
  const probe = tiny();
  const steps = checkpointSteps(path.join(tmp, 'probe'), probe, createOptimizer('adam', { lr: 0.1 }), stateAt(0), null);
  probe.dispose();
  const total = steps.length;
  const written = steps.findIndex((s) => s.name === 'write tmp/state.json') + 1; // steps run once the new state file exists
  assert.ok(written > 0 && total >= 12, `the protocol has ${total} steps`);
  for (let first = 0; first <= total; first++) {
    for (let second = 0; second <= total; second++) {
      const dir = path.join(tmp, `crash-${first}-${second}`, 'checkpoint');
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      await crashedSave(dir, 1, total); // a whole write at step 1
      await crashedSave(dir, 2, first);
      await crashedSave(dir, 3, second);
      const where = `crash after step ${first}, then after step ${second}`;
      const newest = second >= written ? 3 : first >= written ? 2 : 1;
      assert.deepEqual(await readBack(dir), { step: newest, weight: newest }, where);

      await crashedSave(dir, 4, total);
      assert.deepEqual(await readBack(dir), { step: 4, weight: 4 }, where);
      assert.deepEqual(fs.readdirSync(path.dirname(dir)), ['checkpoint'], `leftovers after a whole write (${where})`);
      fs.rmSync(path.dirname(dir), { recursive: true });
    }
  }
});

test('a corrupt checkpoint is refused with the file and the fault named, and left as it was', async () => {
  const dir = path.join(tmp, 'corrupt');
  const model = irisModel(1);
  const optimizer = createOptimizer('adam', { lr: 0.01 });
  await fit(model, { train: iris.train }, { epochs: 1, batchSize: 16, lr: 0.01, seed: 1, checkpointDir: dir });
  const snapshot = () => Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
  const state = path.join(dir, 'state.json');
  const original = fs.readFileSync(state, 'utf8');
  const cases: [string, () => void, RegExp][] = [
    ['truncated optimizer.bin', () => fs.truncateSync(path.join(dir, 'optimizer.bin'), 10), /corrupt checkpoint: .*optimizer\.bin holds 10 bytes, its manifest \d+/],
    ['state.json without step', () => { const j = JSON.parse(original); delete j.step; fs.writeFileSync(state, JSON.stringify(j)); }, /corrupt checkpoint: .*state\.json lacks a valid `step`/],
    ['state.json with a string epoch', () => fs.writeFileSync(state, JSON.stringify({ ...JSON.parse(original), epoch: '1' })), /lacks a valid `epoch`/],
    ['state.json cut short', () => fs.writeFileSync(state, original.slice(0, 40)), /corrupt checkpoint: .*state\.json: /],
  ];
  const pristine = snapshot();
  for (const [what, corrupt, message] of cases) {
    corrupt();
    const before = snapshot();
    await assert.rejects(loadCheckpoint(dir, model, optimizer), message, what);
    assert.deepEqual(snapshot(), before, `${what}: the checkpoint was changed`);
    for (const [f, bytes] of Object.entries(pristine)) fs.writeFileSync(path.join(dir, f), bytes);
  }
  assert.ok(hasCheckpoint(dir));
  assert.ok(await loadCheckpoint(dir, model, optimizer));
  model.dispose();
});

test('a resume names each setting that changed, and a checkpoint past the epochs asked for is refused', async () => {
  const dir = path.join(tmp, 'changed');
  const data = { train: iris.train };
  const opts = { epochs: 2, batchSize: 16, lr: 0.01, seed: 1, checkpointDir: dir };
  const model = irisModel(1);
  await fit(model, data, opts);
  const seen: { epoch: number; batch: number; changes: string[] }[] = [];
  const more = await fit(model, data, { ...opts, epochs: 3, lr: 0.005, onResume: (e) => seen.push(e) });
  assert.deepEqual(seen, [{ epoch: 2, batch: 0, changes: ['epochs 2 -> 3', 'lr 0.01 -> 0.005'] }]);
  assert.equal(more.history.length, 3);
  await assert.rejects(fit(model, data, { ...opts, epochs: 2 }), /has trained 3 epochs, more than the 2 asked for \(ask for at least 3/);
  const again: string[][] = [];
  await fit(model, data, { ...opts, epochs: 3, lr: 0.005, onResume: (e) => again.push(e.changes) });
  assert.deepEqual(again, [[]], 'the checkpoint records the settings of the run that wrote it');
  model.dispose();
});
