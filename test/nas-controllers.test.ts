import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataPath } from '../src/core/index.js';
import { mean } from '../src/math/index.js';
import {
  controllers, createController, loadTable, nb201Space, type Architecture, type Controller, type TrialResult,
} from '../src/nas/index.js';

const table = () => loadTable(dataPath('nb201', 'nb201-cifar10.csv'), nb201Space);

/** Feeds table accuracy back; archs with an avg_pool on edge 1<-0 count as infeasible. */
function step(c: Controller, acc: Float64Array): Architecture {
  const a = c.ask();
  const feasible = a.values[0] !== 4;
  const value = acc[table().rowOf(a)];
  const r: TrialResult = feasible ? { score: value, feasible, metrics: { acc: value } } : { score: -Infinity, feasible, metrics: {} };
  c.tell(a, r);
  return a;
}

test('every controller is deterministic and resumes exactly from state()', () => {
  const acc = table().column('cifar10_test_acc');
  for (const name of controllers.names()) {
    const run = (c: Controller, n: number) => Array.from({ length: n }, () => nb201Space.toString(step(c, acc)));
    const a = createController(name, nb201Space, 11);
    const b = createController(name, nb201Space, 11);
    assert.deepEqual(run(a, 40), run(b, 40), `${name} is seeded`);
    const snapshot = JSON.parse(JSON.stringify(a.state()));
    const continued = run(a, 40);
    const resumed = createController(name, nb201Space, 999);
    resumed.restore(snapshot);
    assert.deepEqual(run(resumed, 40), continued, `${name} resumes exactly`);
    assert.throws(() => resumed.restore({ nonsense: true }), /does not belong/);
  }
});

test('evolution: random until P feasible members, then one-decision mutants of members, with aging', () => {
  const acc = table().column('cifar10_test_acc');
  const P = 8;
  const c = createController('evolution', nb201Space, 5, { population: P, sampleSize: 3 });
  const feasibleTold: Architecture[] = [];
  while (feasibleTold.length < P) {
    const a = step(c, acc);
    if (a.values[0] !== 4) feasibleTold.push(a);
  }
  for (let k = 0; k < 60; k++) {
    const members = (c.state() as { population: { values: number[] }[] }).population;
    assert.equal(members.length, P);
    const a = c.ask();
    const oneAway = members.some((m) => m.values.filter((v, i) => v !== a.values[i]).length === 1);
    assert.ok(oneAway, 'child is a one-decision mutant of a member');
    const feasible = a.values[0] !== 4;
    c.tell(a, feasible ? { score: acc[table().rowOf(a)], feasible, metrics: {} } : { score: -Infinity, feasible, metrics: {} });
    if (feasible) feasibleTold.push(a);
    // Aging: the population is exactly the last P feasible children, oldest first.
    const now = (c.state() as { population: { values: number[] }[] }).population.map((m) => m.values);
    assert.deepEqual(now, feasibleTold.slice(-P).map((m) => [...m.values]));
  }
});

test('controller options are validated', () => {
  assert.throws(() => createController('evolution', nb201Space, 0, { population: 1 }), /'population' must be an integer in \[2, inf\]/);
  assert.throws(() => createController('evolution', nb201Space, 0, { population: 10, sampleSize: 11 }), /'sampleSize' must be an integer in \[1, 10\]/);
  assert.throws(() => createController('evolution', nb201Space, 0, { popsize: 10 }), /no option 'popsize' \(known: population, sampleSize\)/);
  assert.throws(() => createController('random', nb201Space, 0, { population: 10 }), /takes no options/);
  assert.throws(() => createController('bayes', nb201Space, 0), /unknown controller 'bayes'/);
});

test('evolution beats random search on NAS-Bench-201 after 100 evaluations', () => {
  const acc = table().column('cifar10_test_acc');
  const best = (name: string, seed: number) => {
    const c = createController(name, nb201Space, seed);
    let top = -Infinity;
    for (let k = 0; k < 100; k++) {
      const a = c.ask();
      const v = acc[table().rowOf(a)];
      c.tell(a, { score: v, feasible: true, metrics: {} });
      top = Math.max(top, v);
    }
    return top;
  };
  const seeds = [1, 2, 3, 4, 5, 6];
  const evo = mean(seeds.map((s) => best('evolution', s)));
  const rnd = mean(seeds.map((s) => best('random', s)));
  assert.ok(evo > rnd + 0.2, `evolution ${evo} vs random ${rnd}`);
});
