import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { createRng, dataPath, KilnError, projectRoot } from '../src/core/index.js';
import {
  bestSoFar, bestTrial, controllers, createController, isNotEvaluable, listTrialArtifacts, loadTable, memoryStorage, nb201Space, openStudy, paretoFront,
  processId, runStudy, sqliteStorage, trialArtifactDir, trialsToReach, type Controller, type ControllerOptions, type Evaluator, type PendingTrial, type Study, type StudyConfig, type Trial,
} from '../src/nas/index.js';
import { MAX_NOT_EVALUABLE_IN_A_ROW } from '../src/nas/study.js';
import { tempDir } from './temp-dir.js';

const TABLE = dataPath('nb201', 'nb201-cifar10.csv');
const config = (over: Partial<StudyConfig> = {}): StudyConfig => ({
  name: 's1', space: 'nb201', objective: 'cifar10_test_acc', table: TABLE, controller: 'evolution',
  controllerOptions: { population: 10, sampleSize: 3 }, constraints: ['latency_ms_pixel3<=6'], seed: 3, ...over,
});
const tmp = (name: string) => path.join(tempDir('kiln-study-'), name);
/** What must match between an interrupted and an uninterrupted run. */
const finished = (trials: Trial[]) => trials.filter((t) => t.state === 'complete').map((t) => [t.arch, t.feasible, t.value, t.metrics, t.error]);

/** The full table's lines: header first, then one row per line. */
const tableLines = () => fs.readFileSync(TABLE, 'utf8').split('\n').filter((l) => l.trim() !== '');
/** A CSV of the full table's header and the rows `keep` accepts (by row index). */
function tableOf(name: string, keep: (row: number) => boolean): string {
  const [header, ...rows] = tableLines();
  const file = tmp(name);
  fs.writeFileSync(file, [header, ...rows.filter((_, i) => keep(i))].join('\n') + '\n');
  return file;
}
/** About `fraction` of NAS-Bench-201's rows, drawn with a seeded rng. */
const partialTable = (fraction: number, seed: number) => {
  const rng = createRng(seed);
  return tableOf(`partial-${fraction}.csv`, () => rng.next() < fraction);
};
const PARTIAL = partialTable(0.3, 1);
const SPARSE = partialTable(0.005, 2);
/** Small settings, so that every controller gets past its start within a short budget. */
const QUICK: Record<string, ControllerOptions> = {
  evolution: { population: 6, sampleSize: 3 },
  predictor: { initial: 5, topK: 3, epochs: 5 },
};

test('a constrained study evaluates only feasible architectures and counts evaluations', async () => {
  const run = await runStudy({ study: config(), budget: 40, storage: memoryStorage() });
  const complete = run.trials.filter((t) => t.state === 'complete');
  const feasible = complete.filter((t) => t.feasible);
  assert.equal(run.done, 40);
  assert.equal(feasible.length, 40);
  assert.ok(complete.length > 40, 'some proposals were infeasible');
  for (const t of complete) {
    assert.equal(t.feasible, t.metrics.latency_ms_pixel3 <= 6);
    if (t.feasible) assert.equal(t.value, t.metrics.cifar10_test_acc);
    else assert.deepEqual(Object.keys(t.metrics), ['latency_ms_pixel3'], 'infeasible: costs only, never evaluated');
  }
  assert.equal(run.best, bestTrial(run.trials));
  assert.equal(run.best!.value, Math.max(...feasible.map((t) => t.value!)));
  assert.equal(run.stopped, false);
});

test('a constraint on an outcome (accuracy) costs an evaluation; one on a cost stays free; controllers see only costs before paying', async () => {
  const study = config({ constraints: ['latency_ms_pixel3<=6', 'cifar10_test_acc>=90.5'], controller: 'random', controllerOptions: {} });
  const run = await runStudy({ study, budget: 30, storage: memoryStorage() });
  const complete = run.trials.filter((t) => t.state === 'complete');
  const evaluated = complete.filter((t) => t.value !== null);
  assert.equal(run.done, 30);
  assert.equal(evaluated.length, 30, 'the budget counts every evaluation, met outcome or not');
  for (const t of complete) {
    if (t.metrics.latency_ms_pixel3 > 6) {
      assert.deepEqual(Object.keys(t.metrics), ['latency_ms_pixel3'], 'a broken cost limit is found before evaluating');
      assert.equal(t.value, null);
    } else {
      assert.equal(t.value, t.metrics.cifar10_test_acc, 'evaluated: the objective is kept');
      assert.equal(t.feasible, t.value! >= 90.5);
    }
  }
  const paid = evaluated.filter((t) => !t.feasible);
  assert.ok(paid.length > 0, 'random search paid for cells below the accuracy limit');
  assert.equal(run.best!.value, Math.max(...evaluated.filter((t) => t.feasible).map((t) => t.value!)));
  const curve = bestSoFar(run.trials);
  assert.equal(curve.length, 30, 'every evaluation is a step of the best-so-far curve');
  // The predictor ranks the table's rows with its model: an accuracy limit must not pre-filter them by the table's accuracy.
  const predictor = await runStudy({ study: config({ constraints: ['cifar10_test_acc>=93'], controller: 'predictor', controllerOptions: { initial: 10, topK: 5 } }), budget: 15, storage: memoryStorage() });
  assert.ok(predictor.trials.some((t) => t.value !== null && t.value < 93), 'its proposals include cells below the limit it has not paid to see');
});

test('resume after an interruption gives the same trials as an uninterrupted run', async () => {
  const straight = await runStudy({ study: config(), budget: 60, storage: memoryStorage() });
  const storage = memoryStorage();
  const stop = new AbortController();
  const first = await runStudy({ study: config(), budget: 60, storage, signal: stop.signal, onTrial: (_, done) => done === 25 && stop.abort() });
  assert.equal(first.stopped, true);
  assert.equal(first.done, 25);
  // A killed process leaves its current trial running.
  storage.createTrial('s1', '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|');
  const resumed = await runStudy({ study: config(), budget: 60, storage });
  assert.equal(resumed.interrupted, 1);
  assert.equal(resumed.resumed, true);
  assert.equal(resumed.trials.filter((t) => t.state === 'failed').length, 1);
  assert.deepEqual(finished(resumed.trials), finished(straight.trials));
  // Raising the budget continues the same study.
  const longer = await runStudy({ study: config(), budget: 80, storage });
  const straight80 = await runStudy({ study: config(), budget: 80, storage: memoryStorage() });
  assert.deepEqual(finished(longer.trials), finished(straight80.trials));
});

test('a study refuses other settings and bad inputs with KilnErrors', async () => {
  const storage = memoryStorage();
  await runStudy({ study: config(), budget: 5, storage });
  await assert.rejects(runStudy({ study: config({ seed: 4 }), budget: 5, storage }), /exists with other settings \(seed: stored 3, given 4\)/);
  await assert.rejects(runStudy({ study: config({ name: 'x', objective: 'accuracy' }), budget: 5, storage }), /objective 'accuracy' is not a metric/);
  await assert.rejects(runStudy({ study: config({ name: 'x', constraints: ['latency_ms_pixel3 <= '] }), budget: 5, storage }), /malformed constraint/);
  await assert.rejects(runStudy({ study: config({ name: 'x', controller: 'nope' }), budget: 5, storage }), /unknown controller 'nope'/);
  await assert.rejects(runStudy({ study: config({ name: 'x' }), budget: 0, storage }), /budget must be a positive integer/);
  await assert.rejects(runStudy({ study: config({ name: 'bad name' }), budget: 1, storage }), /study name/);
});

test('an evaluation error fails the trial and stops the run', async () => {
  const broken: Evaluator = {
    name: 'broken', metrics: ['cifar10_test_acc'],
    evaluate: async () => {
      throw new KilnError('the device went away');
    },
  };
  const storage = memoryStorage();
  await assert.rejects(
    runStudy({ study: config({ constraints: [] }), evaluator: broken, budget: 10, storage }),
    (e: Error) => e instanceof KilnError && /the device went away/.test(e.message),
  );
  const trials = storage.trials('s1');
  assert.equal(trials.length, 1);
  assert.equal(trials[0].state, 'failed');
  assert.match(trials[0].error!, /the device went away/);
});

test('trial artifacts: an evaluated trial keeps what its evaluator wrote; a failed one, or one failed under it by another worker, keeps nothing', async () => {
  const root = tempDir('kiln-artifacts-');
  const table = loadTable(TABLE, nb201Space);
  let fail = false;
  /** Writes note.txt into the folder it is given, then throws when `fail` is set. */
  const writing: Evaluator = {
    name: 'writing', metrics: table.columns,
    evaluate: async (a, _signal, dir) => {
      assert.ok(dir && fs.readdirSync(dir).length === 0, 'an empty folder to fill');
      fs.writeFileSync(path.join(dir, 'note.txt'), nb201Space.toString(a));
      if (fail) throw new KilnError('the device went away');
      return table.row(table.rowOf(a));
    },
  };
  // Unfinished folders: one of a process of this machine that is gone (swept), one of another machine (left alone).
  const gone = spawnSync(process.execPath, ['-e', '']).pid!;
  const [host, , boot] = processId().split(':');
  const dead = `trial-7.tmp-${host}:${gone}:${boot}`;
  const elsewhere = 'trial-8.tmp-other-host:123:abcd1234';
  for (const d of [dead, elsewhere]) fs.mkdirSync(path.join(root, 's1', d), { recursive: true });
  const storage = memoryStorage();
  const study = openStudy({ study: config({ constraints: [] }), storage, evaluator: writing, artifacts: root });
  const first = await study.evaluate(study.ask());
  assert.deepEqual(fs.readdirSync(path.join(root, 's1')).sort(), [elsewhere, `trial-${first.number}`].sort(), 'the dead process\'s folder was swept');
  fs.rmSync(path.join(root, 's1', elsewhere), { recursive: true });
  assert.equal(first.state, 'complete');
  assert.deepEqual([...listTrialArtifacts(root, 's1')], [[first.number, ['note.txt']]]);
  assert.equal(fs.readFileSync(path.join(trialArtifactDir(root, 's1', first.number), 'note.txt'), 'utf8'), first.arch);

  fail = true;
  await assert.rejects(study.evaluate(study.ask()), /the device went away/);
  fail = false;
  // Another worker fails the running trial (its owner looked gone) while this one still evaluates it.
  const lost = study.ask();
  const taken: Evaluator = { ...writing, evaluate: async (a, signal, dir) => {
    storage.expireTrials('s1', { graceMs: -1 });
    return writing.evaluate(a, signal, dir);
  } };
  const other = openStudy({ study: config({ constraints: [] }), storage, evaluator: taken, artifacts: root });
  assert.equal((await other.evaluate(lost)).state, 'failed');
  assert.deepEqual(fs.readdirSync(path.join(root, 's1')), [`trial-${first.number}`], 'only the evaluated trial has a folder; no temporary ones are left');
  assert.throws(() => trialArtifactDir(root, '..', 0), /cannot keep artifacts/);
  fs.rmSync(root, { recursive: true, force: true });
});

test('every controller searches a partial table: it proposes only rows, the budget counts evaluations, runs are seeded', async () => {
  for (const file of [PARTIAL, SPARSE]) {
    const table = loadTable(file, nb201Space);
    const acc = table.column('cifar10_test_acc');
    for (const name of controllers.names()) {
      for (const constraints of [[], ['latency_ms_pixel3<=6']]) {
        const what = `${name} on ${table.size} rows${constraints.length ? ' under a limit' : ''}`;
        const study = config({ name: 'p', table: file, controller: name, controllerOptions: QUICK[name] ?? {}, constraints, seed: 5 });
        const run = await runStudy({ study, budget: 12, storage: memoryStorage() });
        const complete = run.trials.filter((t) => t.state === 'complete');
        assert.equal(complete.length, run.trials.length, `${what}: nothing failed`);
        for (const t of complete) {
          const row = table.rowOf(nb201Space.parse(t.arch));
          assert.ok(row >= 0 && !isNotEvaluable(t), `${what}: trial ${t.number} ${t.arch} is in the table`);
          if (t.feasible) assert.equal(t.value, acc[row], `${what}: the table's value`);
        }
        const evaluated = complete.filter((t) => t.feasible).length;
        assert.equal(run.done, evaluated, `${what}: done counts evaluated trials only`);
        // Coarse-to-fine has a finite schedule; on a sparse table it ends before the budget.
        if (name === 'coarse-to-fine') assert.ok(run.done >= 1 && run.done <= 12 && !run.stopped, `${what}: ${run.done}`);
        else assert.equal(run.done, 12, what);
        const again = await runStudy({ study, budget: 12, storage: memoryStorage() });
        assert.deepEqual(finished(again.trials), finished(run.trials), `${what}: seeded`);
      }
    }
  }
});

test('every controller can be shared: workers interleaving asks and tells propose and learn what one process doing the same steps would', async () => {
  const STEPS = 40;
  for (const name of controllers.names()) {
    // Coarse-to-fine's schedule is finite: long enough here to outlast the steps.
    const options = name === 'coarse-to-fine' ? { coarse: 30, fine: 10 } : QUICK[name] ?? {};
    const study = config({ name: 'shared', controller: name, controllerOptions: options, seed: 4 });
    // One seeded schedule of asks and tells by three workers; the lone process performs every step itself.
    const rng = createRng(9);
    const open: number[][] = [[], [], []];
    let asked = 0;
    const schedule = Array.from({ length: STEPS }, () => {
      const by = rng.int(3);
      if (rng.next() < 0.55 || open[by].length === 0) {
        open[by].push(asked);
        return { by, ask: asked++ };
      }
      return { by, tell: open[by].shift()! };
    });
    const rest = open.flatMap((told, by) => told.map((tell) => ({ by, tell })));
    const replay = async (studies: Study[]) => {
      const pending: PendingTrial[] = [];
      for (const step of [...schedule, ...rest]) {
        const study = studies[step.by % studies.length];
        if ('ask' in step) pending[step.ask!] = study.ask();
        else await study.evaluate(pending[step.tell!]);
      }
      return studies[0].storage;
    };
    const alone = await replay([openStudy({ study, storage: memoryStorage() })]);
    const storage = memoryStorage();
    const together = await replay([0, 1, 2].map(() => openStudy({ study, storage })));
    assert.deepEqual(together.trials('shared').map((t) => [t.number, t.arch, t.state, t.value]),
      alone.trials('shared').map((t) => [t.number, t.arch, t.state, t.value]), `${name}: same proposals and results`);
    assert.deepEqual(storage.controllerState('shared'), alone.controllerState('shared'), `${name}: same state at the end`);
    assert.equal(new Set(together.trials('shared').map((t) => t.worker)).size, 3, `${name}: three workers took part`);
  }
});

/** Uniform random search that knows nothing of the table: most proposals fall outside a partial one. */
const unaware = (seed: number): Controller => createController('random', nb201Space, seed);

test('proposals outside a partial table are not-evaluable trials: free, visible, resumed exactly; a stuck controller stops', async () => {
  const study = config({ name: 'u', table: PARTIAL, controller: 'random', controllerOptions: {}, constraints: ['latency_ms_pixel3<=6'] });
  const table = loadTable(PARTIAL, nb201Space);
  const run = await runStudy({ study, controller: unaware(9), budget: 20, storage: memoryStorage() });
  const skipped = run.trials.filter(isNotEvaluable);
  assert.ok(skipped.length >= 20, `most proposals miss a 30% table (${skipped.length} of ${run.trials.length})`);
  for (const t of skipped) {
    assert.deepEqual([t.state, t.feasible, t.value, t.metrics], ['complete', false, null, {}]);
    assert.match(t.error!, /^not evaluable: not in table .*partial-0\.3\.csv$/);
    assert.equal(table.rowOf(nb201Space.parse(t.arch)), -1);
  }
  const rest = run.trials.filter((t) => !isNotEvaluable(t));
  assert.ok(rest.every((t) => table.rowOf(nb201Space.parse(t.arch)) >= 0));
  assert.ok(rest.some((t) => !t.feasible), 'rows over the limit are infeasible, as before');
  assert.equal(run.done, 20);
  assert.equal(rest.filter((t) => t.feasible).length, 20, 'only evaluated trials count against the budget');

  // The controller's state is stored with not-evaluable trials too, so a resume continues exactly.
  const storage = memoryStorage();
  const stop = new AbortController();
  await runStudy({ study, controller: unaware(9), budget: 20, storage, signal: stop.signal, onTrial: (t) => isNotEvaluable(t) && t.number > 10 && stop.abort() });
  assert.ok(isNotEvaluable(storage.trials('u').at(-1)!), 'stopped right after a not-evaluable trial');
  const resumed = await runStudy({ study, controller: unaware(1234), budget: 20, storage });
  assert.deepEqual(finished(resumed.trials), finished(run.trials));

  const outside = nb201Space.sample(createRng(0));
  assert.equal(table.rowOf(outside), -1);
  const stuck: Controller = { name: 'stuck', ask: () => outside, tell() {}, state: () => ({}), restore() {} };
  const stuckStorage = memoryStorage();
  await assert.rejects(
    runStudy({ study: { ...study, name: 'stuck' }, controller: stuck, budget: 5, storage: stuckStorage }),
    new RegExp(`${MAX_NOT_EVALUABLE_IN_A_ROW} proposals in a row of controller 'stuck' were not evaluable: not in table`),
  );
  assert.equal(stuckStorage.trials('stuck').length, MAX_NOT_EVALUABLE_IN_A_ROW);
});

test('openStudy: hand-driven ask/tell stores each trial as it ends; learn: false leaves the controller alone; rewind redoes later trials', () => {
  const storage = memoryStorage();
  const study = openStudy({ study: config(), storage });
  assert.equal(study.resumed, false);
  const t = study.ask();
  assert.equal(storage.trials('s1')[0].state, 'running');
  const before = JSON.stringify(study.controller.state());
  const stored = study.tell(t, { latency_ms_pixel3: 5, cifar10_test_acc: 90 }, { learn: false });
  assert.deepEqual([stored.state, stored.feasible, stored.value], ['complete', true, 90]);
  assert.equal(JSON.stringify(study.controller.state()), before);
  assert.equal(study.tell(study.ask(), { latency_ms_pixel3: 7 }).feasible, false, 'constraints judge the told costs');
  study.tell(study.ask(), { latency_ms_pixel3: 1, cifar10_test_acc: 93 });
  assert.equal((study.controller.state() as { population: unknown[] }).population.length, 1, 'only the learned trial joined the population');
  assert.equal(study.evaluated(), 2);
  assert.equal(study.best()!.value, 93);
  assert.equal(study.rewind(1, 'redo'), 2);
  assert.deepEqual(study.trials().map((x) => x.state), ['complete', 'failed', 'failed']);
  const reopened = openStudy({ study: config(), storage });
  assert.ok(reopened.resumed);
  assert.equal(reopened.ask().number, 3);
});

test('bestSoFar, trialsToReach and paretoFront', () => {
  const t = (number: number, value: number | null, feasible = true, state: Trial['state'] = 'complete'): Trial => ({
    number, arch: String(number), state, feasible, value, metrics: {}, error: null, startedAt: '', finishedAt: '', worker: null,
  });
  const trials = [t(0, 90), t(1, null, false), t(2, 92), t(3, 99, true, 'failed'), t(4, 91), t(5, 93)];
  assert.deepEqual(bestSoFar(trials), [90, 92, 92, 93]);
  assert.deepEqual(bestSoFar(trials, 'min'), [90, 90, 90, 90]);
  assert.equal(trialsToReach(trials, 92), 2);
  assert.equal(trialsToReach(trials, 95), null);
  assert.equal(bestTrial(trials)!.number, 5);
  // (accuracy max, latency min)
  const pts = [[90, 5], [92, 6], [91, 7], [92, 5], [80, 1], [80, 2]];
  assert.deepEqual(paretoFront(pts, ['max', 'min']), [3, 4]);
  assert.deepEqual(paretoFront([[1, 1], [1, 1]], ['max', 'max']), [0, 1], 'equal points do not dominate each other');
});

// ---- CLI and processes ----

const dist = path.dirname(fileURLToPath(import.meta.url));
const commandUrl = (name: string) => pathToFileURL(path.join(dist, '..', 'src', 'cli', 'commands', `${name}.js`)).href;
/** A minimal `kiln` entry point over the two command modules, with main.ts's KilnError handling. */
const HARNESS = `
import { Command } from 'commander';
import { register as search } from '${commandUrl('search')}';
import { register as study } from '${commandUrl('study')}';
const program = new Command('kiln');
search(program); study(program);
process.argv.splice(1, 0, 'kiln');
try { await program.parseAsync(process.argv); }
catch (e) { if (e.name !== 'KilnError') throw e; console.error('kiln: ' + e.message); process.exit(2); }`;
const kilnArgs = (args: string[]) => ['--input-type=module', '-e', HARNESS, ...args];
const kiln = (args: string[]) => spawnSync(process.execPath, kilnArgs(args), { cwd: projectRoot(), encoding: 'utf8' });
const searchArgs = (db: string, budget: number, extra: string[] = []) => [
  'search', '--table', TABLE, '--objective', 'cifar10_test_acc', '--constraint', 'latency_ms_pixel3<=6',
  '--controller', 'evolution', '--population', '10', '--sample-size', '3', '--budget', String(budget), '--seed', '3',
  '--storage', `sqlite:${db}`, '--study', 's1', ...extra,
];

test('kiln search and kiln study: output, JSON, export, bad input -> exit 2', () => {
  const db = tmp('cli.db');
  const r = kiln(searchArgs(db, 30, ['--json']));
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.done, 30);
  assert.equal(out.study.constraints[0], 'latency_ms_pixel3<=6');
  assert.ok(out.best.metrics.latency_ms_pixel3 <= 6);

  const list = kiln(['study', 'list', '--storage', `sqlite:${db}`]);
  assert.match(list.stdout, /^s1 {2}nb201\/evolution {2}\d+ complete/);
  const best = kiln(['study', 'best', 's1', '--storage', `sqlite:${db}`, '--json']);
  assert.deepEqual(JSON.parse(best.stdout), out.best);
  assert.match(kiln(['study', 'show', 's1', '--storage', `sqlite:${db}`]).stdout, /constraints latency_ms_pixel3<=6/);
  const csvFile = tmp('trials.csv');
  assert.equal(kiln(['study', 'export', 's1', '--format', 'csv', '--out', csvFile, '--storage', `sqlite:${db}`]).status, 0);
  const csv = fs.readFileSync(csvFile, 'utf8').trim().split('\n');
  assert.ok(csv[0].startsWith('number,arch,state,feasible,value,'));
  const exported = JSON.parse(kiln(['study', 'export', 's1', '--storage', `sqlite:${db}`]).stdout);
  assert.equal(exported.trials.length, csv.length - 1);
  assert.match(kiln(['search', '--help']).stdout, /--constraint <expr>[\s\S]*--population <n>[\s\S]*--storage <uri>/);

  for (const [args, message] of [
    [searchArgs(db, 30, ['--seed', 'x']), /--seed must be an integer/],
    [searchArgs(db, 30, ['--direction', 'up']), /--direction must be max or min/],
    [searchArgs(db, 0), /--budget must be an integer >= 1/],
    [searchArgs(db, 30, ['--constraint', 'latency_ms_pixel9<=6', '--study', 's2']), /unknown cost metric 'latency_ms_pixel9'/],
    [searchArgs(db, 30, ['--controller', 'random', '--study', 's3']), /controller 'random' has no option 'population'/],
    [['search', '--table', TABLE, '--storage', 'memory'], /--objective is required/],
    [['search', '--objective', 'acc', '--storage', 'memory'], /needs a benchmark table/],
    [['study', 'show', 'nope', '--storage', `sqlite:${db}`], /no study 'nope' in sqlite:.* \(studies: s1\)/],
    [['study', 'list', '--storage', `sqlite:${db}.missing`], /no storage at sqlite:/],
    [['study', 'export', 's1', '--format', 'xml', '--storage', `sqlite:${db}`], /--format must be json or csv/],
  ] as const) {
    const bad = kiln([...args]);
    assert.equal(bad.status, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, new RegExp(`^kiln: .*${message.source}`));
  }
});

test('kiln search on a partial table exits 0; study show counts not-evaluable trials; a table with no feasible row exits 2', async () => {
  const db = tmp('partial.db');
  const r = kiln(['search', '--table', PARTIAL, '--objective', 'cifar10_test_acc', '--constraint', 'latency_ms_pixel3<=6',
    '--controller', 'evolution', '--budget', '25', '--seed', '3', '--storage', `sqlite:${db}`, '--study', 'p', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual([out.done, out.notEvaluable], [25, 0]);
  const table = loadTable(PARTIAL, nb201Space);
  assert.ok(table.rowOf(nb201Space.parse(out.best.arch)) >= 0);

  // Only a controller that ignores coverage leaves not-evaluable trials; `study show` lists them apart.
  const storage = sqliteStorage(db);
  await runStudy({ study: config({ name: 'u', table: PARTIAL, controller: 'random', controllerOptions: {} }), controller: unaware(9), budget: 5, storage });
  const skipped = storage.trials('u').filter(isNotEvaluable).length;
  storage.close();
  const show = kiln(['study', 'show', 'u', '--storage', `sqlite:${db}`]);
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, new RegExp(`trials: \\d+ complete \\(\\d+ infeasible, ${skipped} not evaluable\\)`));
  assert.equal(JSON.parse(kiln(['study', 'show', 'u', '--storage', `sqlite:${db}`, '--json']).stdout).notEvaluable, skipped);
  assert.match(kiln(['study', 'show', 'p', '--storage', `sqlite:${db}`]).stdout, /trials: \d+ complete \(\d+ infeasible\), 0 failed/);

  const latency = loadTable(TABLE, nb201Space).column('latency_ms_pixel3');
  const slow = tableOf('slow.csv', (row) => latency[row] > 6);
  const bad = kiln(['search', '--table', slow, '--objective', 'cifar10_test_acc', '--constraint', 'latency_ms_pixel3<=6', '--storage', 'memory']);
  assert.equal(bad.status, 2, bad.stderr);
  assert.equal(bad.stderr, `kiln: no architecture in ${slow} satisfies latency_ms_pixel3<=6\n`);
});

/** Starts the search in a child process and waits until the DB holds `atLeast` evaluated trials. */
async function startAndWait(db: string, budget: number, atLeast: number) {
  const child = spawn(process.execPath, kilnArgs(searchArgs(db, budget)), { cwd: projectRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ? null : code)));
  for (;;) {
    await new Promise((r) => setTimeout(r, 10));
    if (child.exitCode !== null) throw new Error(`search ended before it could be interrupted: ${stderr}`);
    if (!fs.existsSync(db)) continue;
    const ro = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const n = (ro.prepare(`SELECT COUNT(*) AS n FROM trials WHERE state = 'complete' AND feasible = 1`).get() as { n: number }).n;
      if (n >= atLeast) return { child, exited, stderr: () => stderr };
    } catch {
      // Tables not created yet.
    } finally {
      ro.close();
    }
  }
}

test('SIGKILL mid-run loses no finished trial; re-running resumes to the budget, as if never killed', async () => {
  const budget = 2500;
  const db = tmp('kill.db');
  const { child, exited } = await startAndWait(db, budget, 150);
  child.kill('SIGKILL');
  assert.equal(await exited, null);
  const before = sqliteStorage(db);
  const saved = before.trials('s1').filter((t) => t.state === 'complete');
  before.close();
  assert.ok(saved.length >= 150 && saved.filter((t) => t.feasible).length < budget, `killed mid-run (${saved.length} complete)`);

  const again = kiln(searchArgs(db, budget));
  assert.equal(again.status, 0, again.stderr);
  const after = sqliteStorage(db);
  const trials = after.trials('s1');
  after.close();
  const byNumber = new Map(trials.map((t) => [t.number, t]));
  for (const t of saved) assert.deepEqual(byNumber.get(t.number), t, `trial ${t.number} kept as it was`);
  assert.equal(trials.filter((t) => t.state === 'complete' && t.feasible).length, budget);
  assert.equal(trials.filter((t) => t.state === 'running').length, 0);
  const straight = await runStudy({ study: config(), budget, storage: memoryStorage() });
  assert.deepEqual(finished(trials), finished(straight.trials));
});

test('Ctrl-C stops after the current trial and prints how to resume', async () => {
  const db = tmp('sigint.db');
  const { child, exited, stderr } = await startAndWait(db, 2500, 50);
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.match(stderr(), /stopped at \d+\/2500 trials; resume with the same command:\n {2}kiln search /);
  const s = sqliteStorage(db);
  assert.equal(s.trials('s1').filter((t) => t.state === 'running').length, 0, 'no trial left half-done');
  s.close();
});

test('sqlite storage runs in WAL mode', () => {
  const db = tmp('wal.db');
  sqliteStorage(db).close();
  const raw = new Database(db);
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  raw.close();
  assert.ok(nb201Space.name === 'nb201');
});

test('a study fingerprints its table: resuming after the CSV was edited is refused, naming the change', async () => {
  const file = tmp('table.csv');
  fs.copyFileSync(dataPath('nb201', 'nb201-cifar10.csv'), file);
  const storage = memoryStorage();
  await runStudy({ study: config({ table: file }), budget: 5, storage });
  assert.match(storage.getStudy(config().name)!.spec.tableSha256 ?? '', /^[0-9a-f]{64}$/);
  await runStudy({ study: config({ table: file }), budget: 6, storage }); // unchanged: resumes
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines[1] = lines[1].replace(/,(\d+(\.\d+)?)/, ',1$1'); // one number of the first row, edited
  fs.writeFileSync(file, lines.join('\n'));
  await assert.rejects(runStudy({ study: config({ table: file }), budget: 7, storage }),
    /exists with other settings \(the table's content changed since the study began \(sha256 [0-9a-f]{12}\.\.\. then, [0-9a-f]{12}\.\.\. now\)\)/);
});
