/**
 * `kiln study create` + `kiln worker`: several worker processes fill one study to exactly its
 * budget; a worker killed with SIGKILL loses only its running trial, which the next worker retries;
 * bad input is one `kiln:` line and exit 2. Run on SQLite, and on PostgreSQL when a server is set.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataPath } from '../src/core/index.js';
import { openStorage, type Trial } from '../src/nas/index.js';
import { dropTestSchemas, freshPostgresUri, noPostgres } from './postgres.js';
import { tempDir } from './temp-dir.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const TABLE = dataPath('nb201', 'nb201-cifar10.csv');
const env = { ...process.env, KILN_THREADS: '1' };
const kiln = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, timeout: 120_000 });
const create = (storage: string, budget: number) => kiln(['study', 'create', '--table', TABLE, '--objective', 'cifar10_test_acc',
  '--constraint', 'latency_ms_pixel3<=6', '--budget', String(budget), '--seed', '3', '--storage', storage, '--study', 'w1']);

const startWorker = (storage: string) => start(['worker', '--storage', storage, '--study', 'w1', '--json']);

function start(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

const trialsOf = (storage: string): Trial[] => {
  const s = openStorage(storage, { create: false });
  try {
    return s.trials('w1');
  } finally {
    s.close();
  }
};
const evaluated = (trials: Trial[]) => trials.filter((t) => t.state === 'complete' && t.feasible).length;

after(dropTestSchemas);

const backends: [string, () => string, string | false][] = [
  ['sqlite', () => `sqlite:${path.join(tempDir('kiln-worker-'), 'w.db')}`, false],
  ['postgres', freshPostgresUri, noPostgres],
];

for (const [backend, storageUri, skip] of backends) {
  describe(`kiln worker on ${backend}`, { skip }, () => {
    test('three workers started together fill the study to exactly its budget and all exit 0', async () => {
      const storage = storageUri();
      const made = create(storage, 60);
      assert.equal(made.status, 0, made.stderr);
      assert.match(made.stdout, /^study w1 created in .*: 0\/60 trials evaluated\nstart workers with: kiln worker --storage .* --study w1\n$/);
      const runs = await Promise.all([0, 1, 2].map(() => startWorker(storage).done));
      for (const r of runs) assert.equal(r.code, 0, r.stderr);
      const reports = runs.map((r) => JSON.parse(r.stdout) as { worker: string; done: number; finished: number });
      assert.ok(reports.every((r) => r.done === 60));
      const trials = trialsOf(storage);
      assert.equal(evaluated(trials), 60);
      assert.deepEqual(trials.filter((t) => t.state !== 'complete'), [], 'no trial failed: a starting worker never fails another\'s');
      assert.deepEqual(trials.map((t) => t.number), trials.map((_, i) => i));
      assert.equal(reports.reduce((n, r) => n + r.finished, 0), trials.length, 'each trial finished by one worker');
      assert.deepEqual(new Set(trials.map((t) => t.worker)), new Set(reports.filter((r) => r.finished > 0).map((r) => r.worker)));
    });

    test('two kiln search processes started at once on a new study (the issue\'s case) both exit 0, with exactly the budget', async () => {
      const storage = storageUri();
      const search = ['search', '--table', TABLE, '--objective', 'cifar10_test_acc', '--constraint', 'latency_ms_pixel3<=6',
        '--budget', '80', '--seed', '3', '--storage', storage, '--study', 'w1', '--json'];
      const runs = await Promise.all([0, 1].map(() => start(search).done));
      for (const r of runs) assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(runs.map((r) => JSON.parse(r.stdout).done), [80, 80]);
      const trials = trialsOf(storage);
      assert.equal(evaluated(trials), 80);
      assert.deepEqual(trials.filter((t) => t.state !== 'complete'), []);
      assert.deepEqual(trials.map((t) => t.number), trials.map((_, i) => i));
    });

    test('a SIGKILLed worker loses only its running trial, which the next worker retries; the budget stays exact', async () => {
      const storage = storageUri();
      assert.equal(create(storage, 200).status, 0);
      const { child, done } = startWorker(storage);
      for (let seen = 0; seen < 20;) {
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(child.exitCode, null, 'killed mid-run');
        try {
          seen = evaluated(trialsOf(storage));
        } catch {
          // Tables not written yet.
        }
      }
      child.kill('SIGKILL');
      assert.equal((await done).signal, 'SIGKILL');
      const before = trialsOf(storage);
      const cut = before.filter((t) => t.state === 'running');
      assert.ok(cut.length <= 1, 'at most the running trial is cut');
      const next = await startWorker(storage).done;
      assert.equal(next.code, 0, next.stderr);
      const trials = trialsOf(storage);
      assert.equal(evaluated(trials), 200);
      assert.equal(trials.filter((t) => t.state === 'running').length, 0);
      const byNumber = new Map(trials.map((t) => [t.number, t]));
      for (const t of before.filter((x) => x.state === 'complete')) assert.deepEqual(byNumber.get(t.number), t, `trial ${t.number} kept`);
      const lastBefore = Math.max(...before.map((t) => t.number));
      for (const t of cut) {
        assert.equal(byNumber.get(t.number)!.state, 'failed');
        // The re-queued architecture is the next worker's first trial (the controller may propose it again later too).
        const retry = trials.find((x) => x.number > lastBefore);
        assert.deepEqual([retry?.arch, retry?.state], [t.arch, 'complete'], 'retried first');
      }
      assert.equal(JSON.parse(next.stdout).retried, cut.length);
    });
  });
}

test('kiln worker: bad input is one line and exit 2', () => {
  const storage = `sqlite:${path.join(tempDir('kiln-worker-'), 'w.db')}`;
  const missing = kiln(['worker', '--storage', storage, '--study', 'w1']);
  assert.deepEqual([missing.status, missing.stderr], [2, `kiln: no study 'w1' in ${storage} (studies: none); create it with kiln search or kiln study create\n`]);
  assert.equal(create(storage, 5).status, 0);
  const grace = kiln(['worker', '--storage', storage, '--study', 'w1', '--heartbeat', '5', '--grace', '2']);
  assert.deepEqual([grace.status, grace.stderr], [2, 'kiln: --grace (2 s) must be longer than --heartbeat (5 s)\n']);
  const negative = kiln(['worker', '--storage', storage, '--study', 'w1', '--grace', '-1']);
  assert.equal(negative.status, 2);
  assert.match(negative.stderr, /^kiln: --grace must be a positive number/);
  const changed = kiln(['study', 'create', '--table', TABLE, '--objective', 'cifar10_test_acc', '--budget', '5', '--seed', '3', '--storage', storage, '--study', 'w1']);
  assert.equal(changed.status, 2);
  assert.match(changed.stderr, /^kiln: study 'w1' exists with other settings \(constraints: stored \["latency_ms_pixel3<=6"\], given \[\]\)/);
  const elsewhere = tempDir('kiln-worker-');
  const copy = path.join(elsewhere, 'table.csv');
  fs.copyFileSync(TABLE, copy);
  const moved = `sqlite:${path.join(elsewhere, 'm.db')}`;
  assert.equal(kiln(['study', 'create', '--table', copy, '--objective', 'cifar10_test_acc', '--budget', '5', '--storage', moved, '--study', 'w1']).status, 0);
  fs.rmSync(copy);
  const gone = kiln(['worker', '--storage', moved, '--study', 'w1']);
  assert.deepEqual([gone.status, gone.stderr], [2, `kiln: study 'w1' reads table ${copy}, which is not here (run the worker where that path holds the same file)\n`]);
});
