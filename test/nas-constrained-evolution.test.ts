import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataPath } from '../src/core/index.js';
import { mean } from '../src/math/index.js';
import { createController, loadTable, nb201Space, type Architecture, type Controller } from '../src/nas/index.js';

const table = loadTable(dataPath('nb201', 'nb201-cifar10.csv'), nb201Space);
const acc = table.column('cifar10_test_acc');
const lat = table.column('latency_ms_pixel3');
const key = (a: Architecture) => nb201Space.key(a);
const underPixel3Limit = (a: Architecture) => lat[table.rowOf(a)] <= 6;
const distance = (a: readonly number[], b: readonly number[]) => a.filter((v, i) => v !== b[i]).length;

/** Asks and tells `n` times with table accuracy; infeasible proposals are told as such (never evaluated). */
function drive(c: Controller, n: number, feasible: (a: Architecture) => boolean) {
  const asked: Architecture[] = [];
  for (let k = 0; k < n; k++) {
    const a = c.ask();
    asked.push(a);
    c.tell(a, feasible(a) ? { score: acc[table.rowOf(a)], feasible: true, metrics: {} } : { score: -Infinity, feasible: false, metrics: {} });
  }
  return asked;
}

test('constrained evolution proposes only feasible cells, never one twice, each within three decisions of a member', () => {
  const c = createController('constrained-evolution', nb201Space, 4, { population: 10, sampleSize: 3 }, { feasible: underPixel3Limit });
  const asked = drive(c, 300, underPixel3Limit);
  assert.ok(asked.every(underPixel3Limit), 'every proposal meets the limit');
  assert.equal(new Set(asked.map(key)).size, asked.length, 'no repeats');
  // After the 10 random members, a child is a mutant (one decision) plus a repair of at most two more.
  for (let k = 10; k < asked.length; k++) {
    const members = asked.slice(k - 10, k);
    const nearest = Math.min(...members.map((m) => distance(m.values, asked[k].values)));
    assert.ok(nearest <= 3, `proposal ${k} is ${nearest} decisions from every member`);
  }
});

test('constrained evolution repairs mutants that break the limit instead of discarding them', () => {
  // Plain evolution would propose the mutant, see it rejected and draw again; repairs add a second change.
  const c = createController('constrained-evolution', nb201Space, 9, { population: 10 }, { feasible: underPixel3Limit });
  const asked = drive(c, 200, underPixel3Limit);
  let repaired = 0;
  for (let k = 10; k < asked.length; k++) {
    const members = asked.slice(Math.max(0, k - 10), k);
    if (Math.min(...members.map((m) => distance(m.values, asked[k].values))) >= 2) repaired++;
  }
  assert.ok(repaired >= 20, `${repaired} of 190 children changed two or more decisions`);
});

test('under latency_ms_pixel3<=6 constrained evolution beats random search and evolution after 100 evaluations', () => {
  const best = (name: string, seed: number) => {
    const c = createController(name, nb201Space, seed, {}, { feasible: underPixel3Limit });
    let top = -Infinity;
    let evaluations = 0;
    for (let k = 0; k < 5000 && evaluations < 100; k++) {
      const a = c.ask();
      const ok = underPixel3Limit(a);
      if (ok) {
        evaluations++;
        top = Math.max(top, acc[table.rowOf(a)]);
      }
      c.tell(a, ok ? { score: acc[table.rowOf(a)], feasible: true, metrics: {} } : { score: -Infinity, feasible: false, metrics: {} });
    }
    return top;
  };
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
  const constrained = mean(seeds.map((s) => best('constrained-evolution', s)));
  for (const other of ['random', 'evolution']) {
    const rival = mean(seeds.map((s) => best(other, s)));
    assert.ok(constrained > rival + 0.3, `constrained-evolution ${constrained.toFixed(2)} vs ${other} ${rival.toFixed(2)}`);
  }
});

test('constrained evolution without constraints proposes each cell once and improves on random draws', () => {
  const c = createController('constrained-evolution', nb201Space, 2, {}, {});
  const asked = drive(c, 400, () => true);
  assert.equal(new Set(asked.map(key)).size, asked.length);
  const firstRandom = Math.max(...asked.slice(0, 20).map((a) => acc[table.rowOf(a)]));
  assert.ok(Math.max(...asked.map((a) => acc[table.rowOf(a)])) > firstRandom);
});
