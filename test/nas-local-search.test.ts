import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRng, dataPath } from '../src/core/index.js';
import {
  createController, loadTable, memoryStorage, nb201Space, oneDecisionNeighbours, runStudy, trialsToReach, twoDecisionNeighbours,
  type Architecture, type Controller, type LocalSearchState, type StudyConfig, type Trial,
} from '../src/nas/index.js';
import { tempDir } from './temp-dir.js';

const TABLE = dataPath('nb201', 'nb201-cifar10.csv');
const table = loadTable(TABLE, nb201Space);
const acc = table.column('cifar10_test_acc');
const lat = table.column('latency_ms_pixel3');
const key = (a: { values: readonly number[] }) => nb201Space.key(a);
const distance = (a: readonly number[], b: readonly number[]) => a.filter((v, i) => v !== b[i]).length;
const LOCAL = ['local-search', 'guided-local-search'];

/** Asks and tells `n` times with table accuracy; `feasible` marks the rest infeasible (never evaluated). */
function drive(c: Controller, n: number, feasible: (a: Architecture) => boolean = () => true, each?: (a: Architecture, before: LocalSearchState) => void) {
  const asked: Architecture[] = [];
  for (let k = 0; k < n; k++) {
    const before = each && (c.state() as LocalSearchState);
    const a = c.ask();
    if (each) each(a, before as LocalSearchState);
    asked.push(a);
    const ok = feasible(a);
    const v = acc[table.rowOf(a)];
    c.tell(a, ok ? { score: v, feasible: true, metrics: {} } : { score: -Infinity, feasible: false, metrics: {} });
  }
  return asked;
}

/** Whether `x` is a local optimum by what `before` knows: every one-decision neighbour proposed and scored no better. */
function isOptimum(before: LocalSearchState, x: { values: number[]; score: number }): boolean {
  const proposed = new Set(before.proposed.map((v) => key({ values: v })));
  const scores = new Map(before.observed.map((o) => [key(o), o.score]));
  return oneDecisionNeighbours(nb201Space, x).every((n) => proposed.has(key({ values: n })) && scores.get(key({ values: n }))! <= x.score);
}

test('local search: init random cells, then one-decision neighbours of its current cell, restarts only at a local optimum', () => {
  for (const name of LOCAL) {
    const init = 6;
    const escape = name === 'local-search' ? 0 : 5;
    const c = createController(name, nb201Space, 7, escape ? { init, escape } : { init });
    let restarts = 0;
    let climbs = 0;
    let escapes = 0;
    drive(c, 400, undefined, (a, before) => {
      const after = c.state() as LocalSearchState;
      if (before.observed.length < init) {
        assert.equal(after.current, null, `${name}: the first ${init} proposals are the random sample`);
        return;
      }
      if (after.current !== null) {
        climbs++;
        if (distance(a.values, after.current.values) === 2) {
          // Guided: two decisions away only from a local optimum, at most `escape` times per arrival there.
          escapes++;
          assert.ok(isOptimum(before, after.current), `${name}: escapes only from a local optimum`);
          assert.equal(after.queue.length, 0);
          assert.ok(after.escapeLeft >= 0 && after.escapeLeft < escape, `${name}: ${after.escapeLeft} escape tries left of ${escape}`);
          if (before.current && key(before.current) === key(after.current)) assert.equal(after.escapeLeft, before.escapeLeft - 1);
          return;
        }
        assert.equal(distance(a.values, after.current.values), 1, `${name}: a climb proposes a neighbour of its current cell`);
        if (before.current === null && before.start === 0) {
          // The first climb starts from the best of the initial sample.
          const best = before.observed.slice(0, init).reduce((x, y) => (y.score > x.score ? y : x));
          assert.deepEqual(after.current.values, best.values);
        }
        return;
      }
      // No current cell after this ask: a restart, from a local optimum the climb reached (itself, or a
      // cell it stepped to for free because that cell was told before and scored better).
      restarts++;
      // A climb, or a restart cell whose climb ended at once (every neighbour tried already).
      const from = before.current ?? before.observed.slice(before.start).reduce((x, y) => (y.score > x.score ? y : x));
      assert.ok([from, ...before.observed].some((x) => x.score >= from.score && isOptimum(before, x)), `${name}: restarted at a local optimum`);
      assert.ok(!before.proposed.some((v) => key({ values: v }) === key(a)), `${name}: the restart cell is new`);
    });
    assert.ok(restarts >= 3 && climbs > 300, `${name}: ${restarts} restarts, ${climbs} climbing proposals`);
    assert.ok(escape ? escapes > 0 : escapes === 0, `${name}: ${escapes} two-decision proposals with escape ${escape}`);
  }
});

test('local search never proposes an architecture twice', () => {
  for (const name of LOCAL) {
    const keys = drive(createController(name, nb201Space, 3), 1500).map(key);
    assert.equal(new Set(keys).size, keys.length, name);
  }
});

test('local search proposes only feasible cells under a constraint the study passes in', () => {
  const feasible = (a: Architecture) => lat[table.rowOf(a)] <= 6;
  for (const name of LOCAL) {
    const asked = drive(createController(name, nb201Space, 5, {}, { feasible }), 300, feasible);
    assert.ok(asked.every(feasible), `${name} skips infeasible neighbours and starts`);
    assert.equal(new Set(asked.map(key)).size, asked.length);
  }
});

test('local search on a partial table: only covered cells, each once, then repeats only when all are used', () => {
  const rows = createRng(4).shuffle([...table.archs]).slice(0, 3000);
  const keys = new Set(rows.map(key));
  const covered = (a: Architecture) => keys.has(key(a));
  for (const name of LOCAL) {
    const asked = drive(createController(name, nb201Space, 2, {}, { covered, feasible: covered, candidates: rows }), 400);
    assert.ok(asked.every(covered), `${name} proposes only covered cells`);
    assert.equal(new Set(asked.map(key)).size, asked.length, `${name} never repeats`);
    const few = rows.slice(0, 30);
    const fewKeys = new Set(few.map(key));
    const inFew = (a: Architecture) => fewKeys.has(key(a));
    const small = drive(createController(name, nb201Space, 2, {}, { covered: inFew, feasible: inFew, candidates: few }), 40);
    assert.equal(new Set(small.slice(0, 30).map(key)).size, 30, `${name} uses all 30 covered cells before repeating`);
    assert.ok(small.every(inFew));
  }
});

test('local search as a study resumes exactly: partial table, constraint, interrupted at trial 25', async () => {
  const dir = tempDir('kiln-ls-');
  const partial = path.join(dir, 'partial.csv');
  const [header, ...lines] = fs.readFileSync(TABLE, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const rng = createRng(8);
  fs.writeFileSync(partial, [header, ...lines.filter(() => rng.next() < 0.4)].join('\n') + '\n');
  for (const controller of LOCAL) {
    const study: StudyConfig = {
      name: 'ls', space: 'nb201', objective: 'cifar10_test_acc', table: partial, controller, controllerOptions: { init: 4 },
      constraints: ['latency_ms_pixel3<=6'], seed: 12,
    };
    const done = (trials: Trial[]) => trials.map((t) => [t.arch, t.feasible, t.value]);
    const straight = await runStudy({ study, budget: 80, storage: memoryStorage() });
    const storage = memoryStorage();
    const stop = new AbortController();
    await runStudy({ study, budget: 80, storage, signal: stop.signal, onTrial: (t) => t.number >= 24 && stop.abort() });
    assert.ok(storage.trials('ls').length < straight.trials.length, 'interrupted early');
    const resumed = await runStudy({ study, budget: 80, storage });
    assert.deepEqual(done(resumed.trials), done(straight.trials), `${controller} resumes exactly`);
    assert.ok(straight.trials.every((t) => t.feasible), `${controller} proposes only feasible, covered cells`);
  }
});

test('guided local search reaches within 0.2 of the best sooner than local search and evolution (seeds 1-30)', async () => {
  const target = Math.max(...acc) - 0.2;
  const evaluations = async (controller: string, seed: number) => {
    const study: StudyConfig = { name: 'g', space: 'nb201', objective: 'cifar10_test_acc', table: TABLE, controller, seed };
    const stop = new AbortController();
    const run = await runStudy({ study, budget: 300, storage: memoryStorage(), signal: stop.signal, onTrial: (t) => (t.value ?? 0) >= target && stop.abort() });
    return trialsToReach(run.trials, target) ?? 300;
  };
  const total = async (controller: string) => {
    let sum = 0;
    for (let seed = 1; seed <= 30; seed++) sum += await evaluations(controller, seed);
    return sum;
  };
  const [guided, plain, evolution] = [await total('guided-local-search'), await total('local-search'), await total('evolution')];
  assert.ok(guided < plain && plain < evolution, `evaluations over 30 seeds: guided ${guided}, local search ${plain}, evolution ${evolution}`);
});

test('two-decision neighbours: every cell exactly two edges away, once', () => {
  const a = { values: [3, 0, 1, 4, 2, 3] };
  const two = twoDecisionNeighbours(nb201Space, a);
  assert.equal(two.length, 15 * 4 * 4, 'C(6,2) edge pairs, 4 other operations on each');
  assert.ok(two.every((v) => distance(v, a.values) === 2));
  assert.equal(new Set(two.map((v) => key({ values: v }))).size, two.length);
});

test('guided local search with escape 0 walks as before: one-decision neighbours only; with escape it finds cells beyond', () => {
  const steps = (escape: number) => {
    const c = createController('guided-local-search', nb201Space, 11, { escape });
    const far: number[] = [];
    drive(c, 600, undefined, (a, before) => {
      const after = c.state() as LocalSearchState;
      if (after.current && distance(a.values, after.current.values) === 2) far.push(before.observed.length);
    });
    return far.length;
  };
  assert.equal(steps(0), 0);
  assert.ok(steps(20) > 0);
});

test('guided local search reaches within 0.2 of the best sooner than local search on ImageNet16-120 (seeds 1-30)', async () => {
  const imagenet = dataPath('nb201', 'nb201-imagenet16-120.csv');
  const top = loadTable(imagenet, nb201Space).column('imagenet16_120_test_acc');
  const target = Math.max(...top) - 0.2;
  const total = async (controller: string, options: Record<string, number> = {}) => {
    let sum = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const study: StudyConfig = { name: 'i', space: 'nb201', objective: 'imagenet16_120_test_acc', table: imagenet, controller, controllerOptions: options, seed };
      const stop = new AbortController();
      const run = await runStudy({ study, budget: 300, storage: memoryStorage(), signal: stop.signal, onTrial: (t) => (t.value ?? 0) >= target && stop.abort() });
      sum += trialsToReach(run.trials, target) ?? 300;
    }
    return sum;
  };
  // Without the escape the guided climbs end at the local optimum two edges from both target cells.
  const [guided, plain, noEscape] = [await total('guided-local-search'), await total('local-search'), await total('guided-local-search', { escape: 0 })];
  assert.ok(guided < plain && guided < noEscape, `evaluations over 30 seeds: guided ${guided}, local search ${plain}, guided without escape ${noEscape}`);
});
