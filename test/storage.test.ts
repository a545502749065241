import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../src/core/index.js';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { MAX_RETRIES, memoryStorage, openStorage, sqliteStorage, TrialNotRunningError, workerId, type Storage, type StudySpec } from '../src/nas/index.js';
import { spawnStorageWorker } from './storage-workers.js';
import { dropTestSchemas, freshPostgresUri, noPostgres } from './postgres.js';
import { tempDir } from './temp-dir.js';

const spec = (name: string): StudySpec => ({
  name, space: 'nb201', objective: 'acc', direction: 'max', constraints: ['latency<=6'], controller: 'evolution',
  controllerOptions: { population: 20 }, evaluator: 'table', table: 't.csv', archColumn: 'arch', seed: 1,
});

/** The behaviour every Storage backend must have; run once per backend below (`skip` says why a backend cannot run here). */
function storageConformance(backend: string, open: () => { storage: Storage; reopen?: () => Storage; uri?: string }, skip: string | false = false) {
  describe(`storage conformance: ${backend}`, { skip }, () => {
    test('studies: create, get, list, no duplicates', () => {
      const { storage } = open();
      assert.equal(storage.getStudy('a'), undefined);
      const rec = storage.createStudy(spec('a'));
      assert.deepEqual(rec.spec, spec('a'));
      storage.createStudy(spec('b'));
      assert.deepEqual(storage.getStudy('a')!.spec, spec('a'));
      assert.deepEqual(storage.listStudies().map((s) => s.spec.name), ['a', 'b']);
      assert.throws(() => storage.createStudy(spec('a')), KilnError);
      storage.close();
    });

    test('trials: numbering, finishing, metrics, values, controller state', () => {
      const { storage } = open();
      storage.createStudy(spec('s'));
      storage.createStudy(spec('other'));
      const t0 = storage.createTrial('s', 'arch0');
      assert.equal(t0.number, 0);
      assert.equal(t0.state, 'running');
      assert.equal(storage.createTrial('other', 'x').number, 0, 'numbers are per study');
      assert.equal(storage.controllerState('s'), undefined);
      const done = storage.finishTrial('s', 0, { state: 'complete', feasible: true, value: 93.5, metrics: { acc: 93.5, latency: 4.25 }, controllerState: { rng: 7, population: [{ values: [1, 2], score: 93.5 }] } });
      assert.equal(done.state, 'complete');
      assert.equal(done.feasible, true);
      assert.equal(done.value, 93.5);
      assert.ok(done.finishedAt && done.finishedAt >= done.startedAt);
      storage.createTrial('s', 'arch1');
      storage.finishTrial('s', 1, { state: 'complete', feasible: false, value: null, metrics: { latency: 9 }, controllerState: { rng: 8, population: [] } });
      storage.createTrial('s', 'arch2');
      storage.finishTrial('s', 2, { state: 'failed', feasible: false, value: null, metrics: {}, error: 'boom' });
      assert.throws(() => storage.finishTrial('s', 2, { state: 'complete', feasible: true, value: 1, metrics: {} }), /not running/);
      const trials = storage.trials('s');
      assert.deepEqual(trials.map((t) => [t.number, t.arch, t.state, t.feasible, t.value, t.error]), [
        [0, 'arch0', 'complete', true, 93.5, null],
        [1, 'arch1', 'complete', false, null, null],
        [2, 'arch2', 'failed', false, null, 'boom'],
      ]);
      assert.deepEqual(trials[0].metrics, { acc: 93.5, latency: 4.25 });
      assert.deepEqual(storage.controllerState('s'), { rng: 8, population: [] }, 'latest stored state');
      assert.throws(() => storage.createTrial('nope', 'x'), KilnError);
      assert.throws(() => storage.trials('nope'), KilnError);
      storage.close();
    });

    test('reserveTrial counts evaluated plus running trials against the budget, and stores the proposing state', () => {
      const { storage } = open();
      storage.createStudy(spec('s'));
      const versions: number[] = [];
      const reserve = (worker: string) => storage.reserveTrial('s', {
        worker, graceMs: 60_000, budget: 2,
        propose: (slot) => {
          versions.push(slot.version);
          return { arch: `a${versions.length}`, state: { asked: versions.length } };
        },
      });
      const a = reserve('w1');
      const b = reserve('w2');
      assert.deepEqual([a.trial?.number, a.trial?.worker, b.trial?.number, b.trial?.worker], [0, 'w1', 1, 'w2']);
      assert.deepEqual(storage.controllerState('s'), { asked: 2 });
      assert.equal(storage.getStudy('s')!.stateVersion, 2);
      const full = reserve('w3');
      assert.deepEqual([full.trial, full.trial === undefined && full.done], [undefined, false], 'running trials hold the rest of the budget');
      storage.finishTrial('s', 0, { state: 'complete', feasible: false, value: null, metrics: {} });
      assert.equal(reserve('w3').trial?.number, 2, 'an infeasible trial frees its place');
      storage.finishTrial('s', 1, { state: 'complete', feasible: true, value: 1, metrics: {} });
      storage.finishTrial('s', 2, { state: 'complete', feasible: true, value: 2, metrics: {},
        updateState: (slot) => ({ told: 2, seen: slot.version, before: slot.read() }) });
      assert.deepEqual(storage.controllerState('s'), { told: 2, seen: 3, before: { asked: 3 } });
      const after = reserve('w1');
      assert.deepEqual([after.trial, after.evaluated, after.trial === undefined && after.done], [undefined, 2, true]);
      assert.deepEqual(versions, [0, 1, 2]);
      storage.setBudget('s', 2);
      assert.equal(storage.getStudy('s')!.budget, 2);
      assert.throws(() => storage.reserveTrial('nope', { worker: 'w', graceMs: 1, propose: () => ({ arch: 'x', state: {} }) }), KilnError);
      storage.close();
    });

    test('a running trial expires only when its heartbeat is older than the grace; it is failed, re-queued and retried first', async () => {
      const { storage } = open();
      storage.createStudy(spec('s'));
      storage.createStudy(spec('t'));
      // Owners on other machines: only their heartbeats tell whether they live.
      const far = (n: number) => `far-host:${n}:0123abcd:0`;
      const reserve = (worker: string, graceMs: number) => storage.reserveTrial('s', { worker, graceMs, propose: () => ({ arch: `by-${worker}`, state: {} }) });
      reserve(far(1), 60_000);
      reserve(far(2), 60_000);
      storage.createTrial('t', 'other study', far(3));
      const start = Date.now();
      while (Date.now() - start < 400) {
        await new Promise((r) => setTimeout(r, 40));
        assert.equal(storage.heartbeat('s', far(1)), 1);
      }
      assert.equal(storage.expireTrials('s', { graceMs: 60_000 }), 0, 'started a moment ago: alive');
      const taken = reserve(far(4), 250);
      assert.ok(taken.trial);
      assert.deepEqual([taken.expired, taken.retry, taken.trial.arch], [1, true, `by-${far(2)}`], 'the silent owner\'s trial expired and is retried first');
      const trials = storage.trials('s');
      assert.deepEqual(trials.map((x) => [x.number, x.state, x.worker]), [
        [0, 'running', far(1)], [1, 'failed', far(2)], [2, 'running', far(4)],
      ]);
      assert.match(trials[1].error!, /heartbeat/);
      assert.throws(() => storage.finishTrial('s', 1, { state: 'complete', feasible: true, value: 1, metrics: {} }), TrialNotRunningError,
        'the expired owner\'s late result is refused');
      assert.equal(reserve(far(4), 250).trial!.arch, `by-${far(4)}`, 'retried once, then the queue is empty');
      assert.equal(storage.trials('t')[0].state, 'running', 'other studies are left alone');
      storage.close();
    });

    test('an architecture whose worker is lost every time is tried at most MAX_RETRIES times', async () => {
      const { storage } = open();
      storage.createStudy(spec('s'));
      let proposed = 0;
      const reserve = () => storage.reserveTrial('s', { worker: 'far-host:1:0123abcd:0', graceMs: 5, propose: () => ({ arch: `p${proposed++}`, state: {} }) });
      const archs: string[] = [];
      for (let i = 0; i < MAX_RETRIES + 1; i++) {
        archs.push(reserve().trial!.arch);
        await new Promise((r) => setTimeout(r, 30)); // the owner stays silent past the grace
      }
      assert.deepEqual(archs, [...Array(MAX_RETRIES).fill('p0'), 'p1'], 'p0 tried MAX_RETRIES times, then the controller is asked again');
      const lost = storage.trials('s').filter((t) => t.arch === 'p0');
      assert.ok(lost.every((t) => t.state === 'failed'));
      assert.match(lost.at(-1)!.error!, new RegExp(`not retried again: ${MAX_RETRIES} workers were lost`));
      storage.close();
    });

    test('trials without an owner are failed and not retried; a gone process of this machine expires at once', (t) => {
      const { storage } = open();
      storage.createStudy(spec('s'));
      storage.createTrial('s', 'orphan');
      const me = workerId();
      storage.createTrial('s', 'mine', me);
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      const gone = me.replace(/:\d+:([^:]+):\d+$/, `:${dead}:$1:0`);
      storage.createTrial('s', 'gone', gone);
      const expired = storage.expireTrials('s', { graceMs: 60_000 });
      const states = storage.trials('s').map((x) => x.state);
      if (/:noboot:/.test(me)) {
        t.diagnostic('no boot id on this machine: processes of this machine are judged by heartbeats only');
        assert.deepEqual([expired, states], [1, ['failed', 'running', 'running']]);
      } else {
        assert.deepEqual([expired, states], [2, ['failed', 'running', 'failed']]);
        assert.equal(storage.reserveTrial('s', { worker: me, graceMs: 60_000, propose: () => ({ arch: 'new', state: {} }) }).trial!.arch, 'gone');
      }
      assert.equal(storage.trials('s')[0].error, 'interrupted: the run stopped before this trial finished');
      storage.close();
    });

    test('processes sharing a study stop at exactly the budget: no duplicate, all exit 0', async (t) => {
      const { storage, uri } = open();
      if (!uri) return t.skip('memory storage lives in one process');
      storage.createStudy(spec('s'));
      const BUDGET = 60;
      const startAt = Date.now() + 1000;
      const workers = [0, 1, 2].map((id) => spawnStorageWorker(uri, 's', { id, budget: BUDGET, graceMs: 60_000, startAt }));
      const results = await Promise.all(workers.map((w) => w.done));
      for (const r of results) assert.deepEqual([r.code, r.stderr], [0, '']);
      const trials = storage.trials('s');
      assert.deepEqual(trials.map((x) => x.number), trials.map((_, i) => i), 'numbers 0..n-1, each once');
      assert.equal(trials.filter((x) => x.state === 'complete' && x.feasible).length, BUDGET);
      assert.ok(trials.every((x) => x.state === 'complete'), 'nothing left running or failed');
      assert.equal(new Set(trials.map((x) => x.arch)).size, trials.length, 'no proposal twice');
      const finished = results.flatMap((r) => r.report!.finished).sort((a, b) => a - b);
      assert.deepEqual(finished, trials.map((x) => x.number), 'each trial finished by exactly one process');
      assert.ok(results.every((r) => r.report!.finished.length > 0), 'all three took part');
      storage.close();
    });

    test('a SIGKILLed process loses only its running trial, which another process retries; the budget stays exact', async (t) => {
      const { storage, uri } = open();
      if (!uri) return t.skip('memory storage lives in one process');
      storage.createStudy(spec('s'));
      const BUDGET = 20;
      const doomed = spawnStorageWorker(uri, 's', { id: 0, budget: BUDGET, graceMs: 60_000, startAt: 0, hangAfter: 5 });
      await doomed.hanging;
      doomed.child.kill('SIGKILL');
      assert.equal((await doomed.done).signal, 'SIGKILL');
      const hung = storage.trials('s').find((x) => x.state === 'running')!;
      // Its owner is gone from this machine, so the next worker need not wait for the grace.
      const next = await spawnStorageWorker(uri, 's', { id: 1, budget: BUDGET, graceMs: 60_000, startAt: 0 }).done;
      assert.deepEqual([next.code, next.stderr, next.report!.retried], [0, '', 1]);
      const trials = storage.trials('s');
      assert.equal(trials.filter((x) => x.state === 'complete' && x.feasible).length, BUDGET);
      assert.deepEqual(trials.filter((x) => x.state !== 'complete').map((x) => [x.number, x.state]), [[hung.number, 'failed']]);
      assert.equal(trials.filter((x) => x.arch === hung.arch && x.state === 'complete').length, 1, 'its architecture was retried once');
      storage.close();
    });

    test('discardAfter fails later trials of that study and forgets their controller state', () => {
      const { storage } = open();
      storage.createStudy(spec('s'));
      storage.createStudy(spec('t'));
      for (const arch of ['a', 'b', 'c']) {
        const n = storage.createTrial('s', arch).number;
        storage.finishTrial('s', n, { state: 'complete', feasible: true, value: n, metrics: { acc: n }, controllerState: { step: n } });
      }
      storage.createTrial('s', 'd');
      storage.createTrial('t', 'e');
      assert.equal(storage.discardAfter('s', 0, 'rolled back'), 3);
      assert.deepEqual(storage.trials('s').map((t) => [t.state, t.error]),
        [['complete', null], ['failed', 'rolled back'], ['failed', 'rolled back'], ['failed', 'rolled back']]);
      assert.deepEqual(storage.controllerState('s'), { step: 0 });
      assert.equal(storage.trials('t')[0].state, 'running');
      assert.equal(storage.discardAfter('s', 0, 'again'), 0, 'failed trials stay as they were');
      storage.close();
    });

    test('returned records are copies', () => {
      const { storage } = open();
      storage.createStudy(spec('s'));
      const t = storage.createTrial('s', 'a');
      storage.finishTrial('s', 0, { state: 'complete', feasible: true, value: 1, metrics: { acc: 1 } });
      t.arch = 'changed';
      storage.trials('s')[0].metrics.acc = 5;
      assert.equal(storage.trials('s')[0].arch, 'a');
      assert.equal(storage.trials('s')[0].metrics.acc, 1);
      storage.close();
    });

    test('data survives reopening (persistent backends)', (t) => {
      const { storage, reopen } = open();
      if (!reopen) return t.skip('memory storage lives in one process');
      storage.createStudy(spec('s'));
      storage.createTrial('s', 'a');
      storage.finishTrial('s', 0, { state: 'complete', feasible: true, value: 2, metrics: { acc: 2 }, controllerState: { rng: 3 } });
      storage.createTrial('s', 'b');
      storage.close();
      const again = reopen();
      assert.deepEqual(again.trials('s').map((x) => [x.arch, x.state]), [['a', 'complete'], ['b', 'running']]);
      assert.deepEqual(again.controllerState('s'), { rng: 3 });
      assert.deepEqual(again.getStudy('s')!.spec, spec('s'));
      again.close();
    });
  });
}

storageConformance('memory', () => ({ storage: memoryStorage() }));
storageConformance('sqlite', () => {
  const file = path.join(tempDir('kiln-storage-'), 'kiln.db');
  return { storage: sqliteStorage(file), reopen: () => sqliteStorage(file), uri: `sqlite:${file}` };
});
storageConformance('postgres', () => {
  const uri = freshPostgresUri();
  return { storage: openStorage(uri), reopen: () => openStorage(uri), uri };
}, noPostgres);
after(dropTestSchemas);

test('storage URIs', () => {
  const dir = tempDir('kiln-uri-');
  const file = path.join(dir, 'x.db');
  assert.equal(openStorage('memory').uri, 'memory');
  assert.throws(() => openStorage(`sqlite:${file}`, { create: false }), /no storage at sqlite:/);
  const s = openStorage(`sqlite:${file}`);
  assert.equal(s.uri, `sqlite:${file}`);
  assert.equal((s as unknown as { uri: string }).uri.startsWith('sqlite:'), true);
  s.close();
  assert.equal(fs.existsSync(file), true);
  const db = openStorage(`sqlite:${file}`, { create: false });
  db.close();
  assert.throws(() => openStorage('mysql://u:secret@host/db'), /^KilnError: unknown storage 'mysql:\/\/u:\*\*\*@host\/db' \(use memory, sqlite:PATH.db or postgresql:/);
  assert.throws(() => openStorage('postgresql://u@host'), /names no database/);
  assert.throws(() => openStorage('postgres://u@host/db?schema=a;drop'), /schema must be a plain name/);
  assert.throws(() => openStorage('sqlite:'), /needs a path/);
  assert.throws(() => openStorage('sqlite:/no/such/dir/x.db'), /does not exist/);
  assert.throws(() => openStorage('memory:x'), /takes no path/);
});

test('a SQLite file written before studies had workers is upgraded on the first write, and read-only opens ask for that first', () => {
  const file = path.join(tempDir('kiln-old-'), 'old.db');
  // The layout Kiln wrote before trials had owners, heartbeats and a retry queue.
  const old = new Database(file);
  old.exec(`CREATE TABLE studies (name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE trials (study TEXT NOT NULL REFERENCES studies(name), number INTEGER NOT NULL, arch TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')), feasible INTEGER NOT NULL DEFAULT 0, value REAL,
      metrics TEXT NOT NULL DEFAULT '{}', error TEXT, controller_state TEXT, started_at TEXT NOT NULL, finished_at TEXT,
      PRIMARY KEY (study, number));`);
  old.prepare('INSERT INTO studies VALUES (?, ?, ?)').run('s', JSON.stringify(spec('s')), '2026-01-01T00:00:00.000Z');
  const trial = old.prepare(`INSERT INTO trials (study, number, arch, state, feasible, value, controller_state, started_at) VALUES ('s', ?, ?, ?, ?, ?, ?, 'then')`);
  trial.run(0, 'a', 'complete', 1, 90, '{"step":0}');
  trial.run(1, 'b', 'complete', 1, 91, '{"step":1}');
  trial.run(2, 'c', 'running', 0, null, null);
  old.close();

  assert.throws(() => openStorage(`sqlite:${file}`, { create: false }), /written by an older Kiln; open it once for writing/);
  const storage = sqliteStorage(file);
  assert.deepEqual(storage.trials('s').map((t) => [t.number, t.state, t.worker]), [[0, 'complete', null], [1, 'complete', null], [2, 'running', null]]);
  assert.deepEqual(storage.controllerState('s'), { step: 1 }, 'the shared state starts as the latest trial\'s');
  assert.deepEqual([storage.getStudy('s')!.budget, storage.getStudy('s')!.stateVersion], [null, 1]);
  assert.equal(storage.expireTrials('s', { graceMs: 60_000 }), 1, 'the old run\'s running trial has no owner');
  assert.equal(storage.reserveTrial('s', { worker: workerId(), graceMs: 60_000, propose: () => ({ arch: 'd', state: { step: 3 } }) }).trial!.number, 3);
  storage.close();
  const reader = openStorage(`sqlite:${file}`, { create: false });
  assert.equal(reader.trials('s').length, 4);
  reader.close();
});
