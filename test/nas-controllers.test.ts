import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, dataPath } from '../src/core/index.js';
import { mean } from '../src/math/index.js';
import {
  controllers, COVERED_TRIES, createController, loadTable, memoryStorage, nb201Space, openStudy, type Architecture, type Controller, type TrialResult,
} from '../src/nas/index.js';
import { sampleAmong } from '../src/nas/controllers/policy.js';

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

/** Up to `n` ask/tell steps; a finite schedule (coarse-to-fine) ends early. */
const runSteps = (c: Controller, n: number, acc: Float64Array) => Array.from({ length: n }, () => (c.exhausted?.() ? [] : [nb201Space.toString(step(c, acc))])).flat();

test('every controller is deterministic and resumes exactly from state()', () => {
  const acc = table().column('cifar10_test_acc');
  for (const name of controllers.names()) {
    // What a finite schedule proposed before it ended must still repeat exactly.
    const run = (c: Controller, n: number) => runSteps(c, n, acc);
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

test('coverage: every controller proposes only what the study covers; full coverage changes nothing', () => {
  const t = table();
  const acc = t.column('cifar10_test_acc');
  const few = createRng(3).shuffle([...t.archs]).slice(0, 40);
  const keys = new Set(few.map((a) => nb201Space.key(a)));
  const covered = (a: Architecture) => keys.has(nb201Space.key(a));
  for (const name of controllers.names()) {
    const all = createController(name, nb201Space, 11, {}, { covered: () => true });
    assert.deepEqual(runSteps(all, 30, acc), runSteps(createController(name, nb201Space, 11), 30, acc), `${name}: full coverage, same proposals`);
    // 40 of 15,625 rows: re-drawing alone rarely lands in them, so the fallback to the candidates runs too.
    const c = createController(name, nb201Space, 11, {}, { covered, feasible: covered, candidates: few });
    const proposals = runSteps(c, 60, acc);
    assert.ok(proposals.length > 0 && proposals.every((a) => keys.has(a)), `${name} proposes only covered architectures`);
  }
  assert.throws(() => createController('random', nb201Space, 1, {}, { covered: () => false }).ask(),
    new RegExp(`${COVERED_TRIES} proposals in a row were architectures the study cannot evaluate, and it lists none it can`));
  // TabNAS: past maxRejections it samples the policy restricted to the feasible candidates instead of giving up.
  const tab = createController('tabnas', nb201Space, 1, { maxRejections: 5 }, { feasible: covered, candidates: few });
  assert.ok(runSteps(tab, 20, acc).every((a) => keys.has(a)));
  assert.ok((tab.state() as { rejected: number }).rejected >= 5);
});

test('sampleAmong draws the policy conditioned on the pool', () => {
  const rng = createRng(1);
  const pool = [{ values: [1] }, { values: [2] }];
  let ones = 0;
  for (let i = 0; i < 4000; i++) if (sampleAmong([[0.5, 0.3, 0.2]], pool, rng).values[0] === 1) ones++;
  assert.ok(Math.abs(ones / 4000 - 0.6) < 0.03, `P(1 | {1, 2}) = 0.6, got ${ones / 4000}`);
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

test('coarse-to-fine as a study: BigNAS selection order, finite schedule, exact resume', async () => {
  const t = table();
  const acc = t.column('cifar10_test_acc');
  const lat = t.column('latency_ms_pixel3');
  const [limit, coarse, fine, seed] = [6, 10, 15, 4];
  // The selection as BigNAS wrote it: smallest, then coarse feasible draws, then fine mutations of the best; scored once each.
  const rng = createRng(seed);
  const score = (a: Architecture) => acc[t.rowOf(a)];
  const cost = (a: Architecture) => lat[t.rowOf(a)];
  const scored: string[] = [];
  let best: Architecture = { values: nb201Space.decisions.map(() => 0) };
  scored.push(nb201Space.toString(best));
  const consider = (a: Architecture) => {
    if (cost(a) > limit) return;
    if (!scored.includes(nb201Space.toString(a))) scored.push(nb201Space.toString(a));
    if (score(a) > score(best) || (score(a) === score(best) && cost(a) > cost(best))) best = a;
  };
  for (let tries = 0, found = 0; found < coarse && tries < coarse * 50; tries++) {
    const a = nb201Space.sample(rng);
    if (cost(a) > limit) continue;
    found++;
    consider(a);
  }
  for (let i = 0; i < fine; i++) consider(nb201Space.mutate(best, rng));

  const config = {
    name: 'c2f', space: 'nb201', objective: 'cifar10_test_acc', table: dataPath('nb201', 'nb201-cifar10.csv'), constraints: [`latency_ms_pixel3<=${limit}`],
    controller: 'coarse-to-fine', controllerOptions: { coarse, fine, costMetric: 'latency_ms_pixel3' }, seed,
  };
  const straight = openStudy({ study: config, storage: memoryStorage() });
  const run = await straight.run({ budget: 1000 });
  assert.deepEqual(run.trials.map((x) => x.arch), scored);
  assert.ok(run.trials.every((x) => x.feasible) && !run.stopped, 'every proposal feasible; ran out, not stopped');
  assert.deepEqual(straight.controller.pick?.(), best);

  const storage = memoryStorage();
  const stop = new AbortController();
  await openStudy({ study: config, storage }).run({ budget: 1000, signal: stop.signal, onTrial: (_, done) => done === 7 && stop.abort() });
  assert.equal(storage.trials('c2f').length, 7);
  const resumed = openStudy({ study: config, storage });
  assert.deepEqual((await resumed.run({ budget: 1000 })).trials.map((x) => [x.arch, x.value]), run.trials.map((x) => [x.arch, x.value]));
  assert.deepEqual(resumed.controller.pick?.(), best);
});
