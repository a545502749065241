import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataPath } from '../src/core/index.js';
import { mean } from '../src/math/index.js';
import { createController, loadTable, nb201Space, REWARDS, resolveCostModel, type Controller } from '../src/nas/index.js';

const table = () => loadTable(dataPath('nb201', 'nb201-cifar10.csv'), nb201Space);

test('TuNAS rewards: mnas, mnas_hard and abs', () => {
  assert.equal(REWARDS.mnas(0.9, 2, 1, -0.07), 0.9 * 2 ** -0.07);
  assert.equal(REWARDS.mnas_hard(0.9, 0.5, 1, -0.07), 0.9, 'no bonus below the target');
  assert.equal(REWARDS.mnas_hard(0.9, 2, 1, -0.07), 0.9 * 2 ** -0.07);
  assert.ok(Math.abs(REWARDS.abs(0.9, 12, 10, -0.1) - (0.9 - 0.02)) < 1e-12);
  assert.ok(Math.abs(REWARDS.abs(0.9, 8, 10, -0.1) - (0.9 - 0.02)) < 1e-12, 'abs penalizes both sides of the target');
});

function run(c: Controller, steps: number, score: (row: number) => number): number[] {
  const t = table();
  const rows: number[] = [];
  for (let k = 0; k < steps; k++) {
    const a = c.ask();
    const row = t.rowOf(a);
    rows.push(row);
    c.tell(a, { score: score(row), feasible: true, metrics: {} });
  }
  return rows;
}

test('REINFORCE learns: later samples are more accurate, and the abs reward lands near its latency target', () => {
  const t = table();
  const acc = t.column('cifar10_test_acc');
  const lat = t.column('latency_ms_pixel3');
  const plain = run(createController('reinforce', nb201Space, 1, { qualityScale: 0.01 }), 300, (r) => acc[r]);
  assert.ok(mean(plain.slice(-50).map((r) => acc[r])) > mean(plain.slice(0, 50).map((r) => acc[r])) + 3);
  const env = { cost: (m: string) => resolveCostModel(m, { space: nb201Space, table: t }), candidates: t.archs };
  const abs = createController('reinforce', nb201Space, 1, { costMetric: 'latency_ms_pixel3', target: 6, qualityScale: 0.01, beta: -0.5 }, env);
  const rows = run(abs, 300, (r) => acc[r]);
  const late = mean(rows.slice(-50).map((r) => Math.abs(lat[r] / 6 - 1)));
  const early = mean(rows.slice(0, 50).map((r) => Math.abs(lat[r] / 6 - 1)));
  assert.ok(late < early, `samples approach the target (|T/T0-1| ${early.toFixed(2)} -> ${late.toFixed(2)})`);
  const pick = abs.pick!()!;
  assert.ok(t.rowOf(pick) >= 0, 'the pick is a table cell');
});

test('REINFORCE options are validated', () => {
  assert.throws(() => createController('reinforce', nb201Space, 1, { reward: 'abs' }), /needs option 'costMetric'/);
  assert.throws(() => createController('reinforce', nb201Space, 1, { reward: 'bogus' }), /one of none, mnas, mnas_hard, abs/);
  assert.throws(() => createController('reinforce', nb201Space, 1, { costMetric: 'params', target: 1 }), /needs the study's cost models/);
  assert.throws(() => createController('reinforce', nb201Space, 1, { lr: -1 }), /'lr' must be a number/);
});
