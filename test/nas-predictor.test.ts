import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/backend/index.js';
import { createRng, dataPath } from '../src/core/index.js';
import { createController, fitPredictor, gcnWidth, loadTable, nb101Space, nb201Space, PREDICTOR_DEFAULTS } from '../src/nas/index.js';
import { kendallTau } from '../src/math/index.js';

test('Kendall tau-b: identical, reversed and tied rankings', () => {
  assert.equal(kendallTau([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(kendallTau([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  // 5 concordant, 0 discordant, 1 pair tied in b only: 5 / sqrt(6 * 5).
  assert.ok(Math.abs(kendallTau([1, 2, 3, 4], [1, 2, 2, 3]) - 5 / Math.sqrt(30)) < 1e-12);
});

const t = () => loadTable(dataPath('nb201', 'nb201-cifar10.csv'), nb201Space);
function split(n: number, seed: number) {
  const table = t();
  const order = createRng(seed).shuffle(table.archs.map((_, i) => i));
  const acc = table.column('cifar10_test_acc');
  const pick = (idx: number[]) => ({ archs: idx.map((i) => table.archs[i]), y: idx.map((i) => acc[i]) });
  return { train: pick(order.slice(0, n)), test: pick(order.slice(n, n + 1000)) };
}

test('MLP on one-hot ranks held-out NAS-Bench-201 cells', () => {
  const { train, test: held } = split(100, 1);
  const p = fitPredictor(nb201Space, train.archs, train.y, { model: 'mlp', ...PREDICTOR_DEFAULTS.mlp, seed: 1 });
  const tau = kendallTau(p.predict(held.archs), held.y);
  assert.ok(tau > 0.4, `tau ${tau.toFixed(3)}`);
});

test('MLP ranks held-out NAS-Bench-101 models: train and test share no model', () => {
  // The sample's 500 cells are 292 models; a split by cell would put one model on both sides.
  const table = loadTable(dataPath('nb101', 'nb101-sample500.json'), nb101Space);
  const order = createRng(1).shuffle(table.archs.map((_, i) => i));
  const acc = table.column('val_acc');
  const [train, held] = [order.slice(0, 172), order.slice(172)];
  const keys = new Set(train.map((i) => nb101Space.key(table.archs[i])));
  assert.equal(held.length, 120);
  assert.ok(held.every((i) => !keys.has(nb101Space.key(table.archs[i]))));
  const p = fitPredictor(nb101Space, train.map((i) => table.archs[i]), train.map((i) => acc[i]), { model: 'mlp', ...PREDICTOR_DEFAULTS.mlp, seed: 1 });
  const tau = kendallTau(p.predict(held.map((i) => table.archs[i])), held.map((i) => acc[i]));
  assert.ok(tau > 0.2, `tau ${tau.toFixed(3)}`);
});

test('GCN on the cell DAG ranks held-out NAS-Bench-201 cells', async () => {
  await initBackend();
  assert.equal(gcnWidth(43), 48);
  assert.equal(gcnWidth(172), 144);
  const { train, test: held } = split(100, 2);
  // A short schedule keeps the test fast; bench/nas-predictor.ts runs the paper's 300 epochs.
  const p = fitPredictor(nb201Space, train.archs, train.y, { model: 'gcn', ...PREDICTOR_DEFAULTS.gcn, epochs: 40, lr: 1e-3, hidden: [32], seed: 2 });
  const tau = kendallTau(p.predict(held.archs), held.y);
  p.dispose();
  assert.ok(tau > 0.3, `tau ${tau.toFixed(3)}`);
});

test('predictor controller: N random, then predicted top K, never the same cell twice; refit=false walks one ranking', () => {
  const table = t();
  const acc = table.column('cifar10_test_acc');
  for (const refit of [true, false]) {
    const c = createController('predictor', nb201Space, 3, { initial: 20, topK: 10, refit }, { candidates: table.archs });
    const seen = new Set<string>();
    const values: number[] = [];
    for (let k = 0; k < 60; k++) {
      const a = c.ask();
      const key = nb201Space.key(a);
      assert.ok(!seen.has(key), 'no repeats');
      seen.add(key);
      values.push(acc[table.rowOf(a)]);
      c.tell(a, { score: acc[table.rowOf(a)], feasible: true, metrics: {} });
    }
    const avg = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(avg(values.slice(20)) > avg(values.slice(0, 20)) + 2, `predicted picks beat random ones (refit=${refit})`);
    assert.equal((c.state() as { fits: number }).fits, refit ? 4 : 1);
  }
});
