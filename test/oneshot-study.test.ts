import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { blobs, runCommands } from './helpers.js';
import Database from 'better-sqlite3';
import { KilnError, projectRoot } from '../src/core/index.js';
import { register as registerOneshot } from '../src/cli/commands/oneshot.js';
import { register as registerStudy } from '../src/cli/commands/study.js';
import { initBackend, setSeed } from '../src/backend/index.js';
import type { Splits } from '../src/data/index.js';
import { memoryStorage, sqliteStorage, type Trial } from '../src/nas/index.js';
import { tabnasSearch, type TabnasOptions } from '../src/nas/oneshot/index.js';
import { tempDir } from './temp-dir.js';

const tmp = tempDir('kiln-oneshot-study-');

before(async () => {
  await initBackend();
});

const splits: Splits = { train: blobs(96, 6, 3, 4), val: blobs(48, 6, 3, 5), test: blobs(48, 6, 3, 6) };
const base: TabnasOptions = {
  splits, layers: 2, widths: [4, 8, 16, 32], limit: 200, mode: 'rejection', steps: 40, batchSize: 16, lr: 1e-2,
  controllerLr: 0.1, warmup: 0.25, quality: 'likelihood', seed: 3, studyName: 'tabnas-toy',
};
/**
 * An interrupted search's complete trials against an uninterrupted one's: the same children in
 * the same order, the same metrics up to float rounding (weights reloaded from a checkpoint do
 * not reproduce the last bits of every later step, as in oneshot.test.ts).
 */
function assertSameTrials(actual: Trial[], expected: Trial[]): void {
  const done = (trials: Trial[]) => trials.filter((t) => t.state === 'complete');
  const [a, e] = [done(actual), done(expected)];
  assert.deepEqual(a.map((t) => [t.arch, t.feasible, t.value === null]), e.map((t) => [t.arch, t.feasible, t.value === null]));
  a.forEach((t, i) => {
    assert.deepEqual(Object.keys(t.metrics).sort(), Object.keys(e[i].metrics).sort());
    for (const [k, v] of Object.entries(t.metrics)) {
      assert.ok(Math.abs(v - e[i].metrics[k]) <= 1e-4 * Math.max(1, Math.abs(v)), `trial ${i} ${k}: ${v} vs ${e[i].metrics[k]}`);
    }
  });
}

test('a TabNAS search is a study: one trial per step, in storage as it ends; a crash and an abort both resume to the same trials', async () => {
  setSeed(5);
  const straight = await tabnasSearch({ ...base, storage: memoryStorage() });
  straight.supernet.dispose();
  const trials = straight.search.study.trials();
  assert.equal(trials.length, 40);
  assert.deepEqual(trials.map((t) => t.metrics.step), Array.from({ length: 40 }, (_, i) => i + 1));
  assert.ok(trials.every((t) => t.state === 'complete' && t.feasible && t.metrics.params <= 200));
  assert.equal(trials.filter((t) => t.value === null).length, 10, 'the 25% warm-up steps have no quality');
  assert.deepEqual(straight.search.study.spec.constraints, ['params<=200']);

  // A crash at step 23 (no final checkpoint; the last one is at step 20): every finished step is already stored.
  const db = path.join(tmp, 'crash.sqlite');
  const dir = path.join(tmp, 'crash-ckpt');
  const storage = sqliteStorage(db);
  setSeed(5);
  await assert.rejects(tabnasSearch({ ...base, storage, checkpointDir: dir, checkpointEvery: 10,
    onStep: (e) => { if (e.step === 23) throw new Error('crash'); } }), /crash/);
  assert.equal(storage.trials('tabnas-toy').filter((t) => t.state === 'complete').length, 23);
  setSeed(5);
  const resumed = await tabnasSearch({ ...base, storage, checkpointDir: dir, checkpointEvery: 10 });
  resumed.supernet.dispose();
  assert.equal(resumed.search.resumedFrom, 20);
  const after = storage.trials('tabnas-toy');
  assert.deepEqual(after.filter((t) => t.state === 'failed').map((t) => t.metrics.step), [21, 22, 23], 'steps after the checkpoint redone');
  assert.match(after[20].error!, /resumed from its supernet checkpoint at step 20/);
  assertSameTrials(after, trials);
  assert.deepEqual(resumed.pick, straight.pick);

  // An abort stops after the current step with a checkpoint there: nothing to redo.
  const abortDb = memoryStorage();
  const stop = new AbortController();
  setSeed(5);
  const first = await tabnasSearch({ ...base, storage: abortDb, checkpointDir: path.join(tmp, 'abort-ckpt'), checkpointEvery: 10, signal: stop.signal,
    onStep: (e) => { if (e.step === 17) stop.abort(); } });
  first.supernet.dispose();
  assert.ok(first.search.aborted);
  setSeed(5);
  const second = await tabnasSearch({ ...base, storage: abortDb, checkpointDir: path.join(tmp, 'abort-ckpt'), checkpointEvery: 10 });
  second.supernet.dispose();
  assert.equal(second.search.resumedFrom, 17);
  assert.equal(abortDb.trials('tabnas-toy').filter((t) => t.state === 'failed').length, 0);
  assertSameTrials(abortDb.trials('tabnas-toy'), trials);
  storage.close();
});

// ---- CLI ----

const dist = path.dirname(fileURLToPath(import.meta.url));
const commandUrl = (name: string) => pathToFileURL(path.join(dist, '..', 'src', 'cli', 'commands', `${name}.js`)).href;
/** `kiln oneshot` in a child process (to be interrupted), with main.ts's KilnError handling. */
const HARNESS = `
import { Command } from 'commander';
import { register } from '${commandUrl('oneshot')}';
const program = new Command('kiln');
register(program);
process.argv.splice(1, 0, 'kiln');
try { await program.parseAsync(process.argv); }
catch (e) { if (e.name !== 'KilnError') throw e; console.error('kiln: ' + e.message); process.exit(2); }`;

const kiln = (args: string[]): Promise<string> => runCommands([registerOneshot, registerStudy], args);
const tabnasArgs = (out: string) => ['oneshot', 'tabnas', '--data', 'iris', '--limit', '200', '--steps', '60', '--batch-size', '16', '--epochs', '1', '--out', out];
const STUDY = 'tabnas-rejection-seed0';

/** Completed search steps in the run's SQLite file (0 while it does not exist yet). */
function storedSteps(db: string): number {
  if (!fs.existsSync(db)) return 0;
  const ro = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (ro.prepare(`SELECT COUNT(*) AS n FROM trials WHERE study = ? AND state = 'complete'`).get(STUDY) as { n: number }).n;
  } catch {
    return 0; // tables not created yet
  } finally {
    ro.close();
  }
}

test('kiln oneshot tabnas: Ctrl-C mid-search, the same command resumes to the trials of an uninterrupted run; kiln study reads its studies', async () => {
  const out = path.join(tmp, 'cli');
  const db = path.join(out, 'studies.sqlite');
  const child = spawn(process.execPath, ['--input-type=module', '-e', HARNESS, ...tabnasArgs(out)],
    { cwd: projectRoot(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KILN_THREADS: '1' } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  while (storedSteps(db) < 10) {
    if (child.exitCode !== null) throw new Error(`search ended before it could be interrupted: ${stderr}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /stopped; re-run the same command to resume/);
  const stoppedAt = storedSteps(db);
  assert.ok(stoppedAt >= 10 && stoppedAt < 60, `stopped mid-search at ${stoppedAt}`);

  const again = await kiln(tabnasArgs(out));
  assert.match(again, new RegExp(`resumed from the checkpoint in .* at step ${stoppedAt}`));
  assert.match(again, /found \d+-\d+ \(\d+ params, limit 200, feasible\)/);
  const straightOut = path.join(tmp, 'cli-straight');
  await kiln(tabnasArgs(straightOut));
  const read = (file: string) => {
    const s = sqliteStorage(file);
    try {
      return s.trials(STUDY);
    } finally {
      s.close();
    }
  };
  const resumed = read(db);
  assert.equal(resumed.length, 60);
  assertSameTrials(resumed, read(path.join(straightOut, 'studies.sqlite')));

  const storage = ['--storage', `sqlite:${db}`];
  const list = await kiln(['study', 'list', ...storage]);
  assert.match(list, new RegExp(`^${STUDY} {2}mlp2/tabnas {2}60 complete \\(0 infeasible\\), 0 failed`, 'm'));
  assert.match(list, new RegExp(`^${STUDY}-final {2}mlp2/given {2}1 complete`, 'm'));
  assert.match(await kiln(['study', 'show', STUDY, ...storage]), /evaluator inherited-weights[\s\S]*objective max quality; constraints params<=200/);
  const best = JSON.parse(await kiln(['study', 'best', `${STUDY}-final`, ...storage, '--json'])) as Trial;
  assert.ok(fs.existsSync(path.join(out, 'models', best.arch, 'model.onnx')), 'the found model is saved under its arch');
  assert.ok(best.metrics.params <= 200 && best.metrics.test_accuracy >= 0);
  const exported = JSON.parse(await kiln(['study', 'export', STUDY, ...storage])) as { trials: Trial[] };
  assert.deepEqual(exported.trials, resumed);
  const csv = (await kiln(['study', 'export', STUDY, '--format', 'csv', ...storage])).trim().split('\n');
  assert.equal(csv.length, 61);
  assert.match(csv[0], /^number,arch,state,feasible,value,params,quality,step,train_loss,/);

  await assert.rejects(kiln(['oneshot', 'tabnas', '--data', 'iris', '--limit', '5', '--steps', '3', '--out', path.join(tmp, 'bad')]),
    (e: Error) => e instanceof KilnError && /no mlp2 child fits 5 parameters/.test(e.message));
});
