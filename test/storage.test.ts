import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../src/core/index.js';
import { memoryStorage, openStorage, sqliteStorage, type Storage, type StudySpec } from '../src/nas/index.js';
import { dropTestSchemas, freshPostgresUri, noPostgres } from './postgres.js';

const spec = (name: string): StudySpec => ({
  name, space: 'nb201', objective: 'acc', direction: 'max', constraints: ['latency<=6'], controller: 'evolution',
  controllerOptions: { population: 20 }, evaluator: 'table', table: 't.csv', archColumn: 'arch', seed: 1,
});

/** The behaviour every Storage backend must have; run once per backend below (`skip` says why a backend cannot run here). */
function storageConformance(backend: string, open: () => { storage: Storage; reopen?: () => Storage }, skip: string | false = false) {
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

    test('failRunning marks only running trials of that study failed', () => {
      const { storage } = open();
      storage.createStudy(spec('s'));
      storage.createStudy(spec('t'));
      storage.createTrial('s', 'a');
      storage.finishTrial('s', 0, { state: 'complete', feasible: true, value: 1, metrics: { acc: 1 } });
      storage.createTrial('s', 'b');
      storage.createTrial('t', 'c');
      assert.equal(storage.failRunning('s', 'killed'), 1);
      assert.deepEqual(storage.trials('s').map((t) => [t.state, t.error]), [['complete', null], ['failed', 'killed']]);
      assert.equal(storage.trials('t')[0].state, 'running');
      assert.equal(storage.createTrial('s', 'd').number, 2, 'numbering continues after failed trials');
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
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-storage-')), 'kiln.db');
  return { storage: sqliteStorage(file), reopen: () => sqliteStorage(file) };
});
storageConformance('postgres', () => {
  const uri = freshPostgresUri();
  return { storage: openStorage(uri), reopen: () => openStorage(uri) };
}, noPostgres);
after(dropTestSchemas);

test('storage URIs', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-uri-'));
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
