/**
 * What PostgreSQL storage adds to the conformance suite in storage.test.ts: connection errors in one
 * line without the password, read-only opens that create nothing, refusal of foreign and future
 * schemas, trial numbers that stay unique when processes share a study, the worker thread never
 * keeping a process alive, and `kiln search` / `kiln study list` on a postgresql:// URI.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dataPath, KilnError } from '../src/core/index.js';
import { openStorage, POSTGRES_SCHEMA_VERSION, type StudySpec } from '../src/nas/index.js';
import { dropTestSchemas, freshPostgresUri, noPostgres, POSTGRES_URI, postgresSql } from './postgres.js';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const STORAGE_MODULE = pathToFileURL(path.join(dist, 'src', 'nas', 'storage', 'index.js')).href;
const CLI = path.join(dist, 'src', 'cli', 'main.js');

const spec = (name: string): StudySpec => ({
  name, space: 'nb201', objective: 'acc', direction: 'max', constraints: [], controller: 'random',
  controllerOptions: {}, evaluator: 'table', seed: 1,
});
const schemaOf = (uri: string) => new URL(uri).searchParams.get('schema')!;
const schemaExists = (schema: string) => postgresSql('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]).length > 0;
/** The test URI with one part changed. */
const edited = (edit: (u: URL) => void) => {
  const url = new URL(POSTGRES_URI);
  edit(url);
  return url.href;
};

after(dropTestSchemas);

test('an unreachable server is one KilnError naming host and database', () => {
  assert.throws(() => openStorage('postgresql://kiln:s3cret-pw@127.0.0.1:1/kiln_test'), (e: Error) => {
    assert.ok(e instanceof KilnError);
    assert.equal(e.message, 'cannot open PostgreSQL storage at 127.0.0.1:1/kiln_test: connection refused (is the server running?)');
    return true;
  });
});

describe('PostgreSQL storage', { skip: noPostgres }, () => {
  test('a wrong password and a missing database are one-line KilnErrors without the password', (t) => {
    const wrong = edited((u) => { u.password = 'not-the-Password-42'; });
    const { hostname, port, username } = new URL(POSTGRES_URI);
    try {
      openStorage(wrong).close();
      t.diagnostic('this server accepts any password (trust authentication); wrong-password case not checked');
    } catch (e) {
      assert.ok(e instanceof KilnError);
      assert.match(e.message, new RegExp(`^cannot open PostgreSQL storage at ${hostname}:${port || 5432}/\\w+: password authentication failed for user '${username}'$`));
      assert.ok(!e.message.includes('not-the-Password-42'));
    }
    const missing = edited((u) => { u.pathname = '/kiln_no_such_database'; });
    assert.throws(() => openStorage(missing), (e: Error) => {
      assert.ok(e instanceof KilnError);
      assert.equal(e.message, `cannot open PostgreSQL storage at ${hostname}:${port || 5432}/kiln_no_such_database: database 'kiln_no_such_database' does not exist`);
      return true;
    });
  });

  test('uri and messages never show the password; postgres:// works too', () => {
    const uri = freshPostgresUri();
    const password = new URL(uri).password;
    const storage = openStorage(uri.replace(/^postgresql:/, 'postgres:'));
    assert.equal(storage.uri, edited((u) => { u.password = ''; u.protocol = 'postgres:'; u.searchParams.set('schema', schemaOf(uri)); }));
    storage.createStudy(spec('s'));
    assert.throws(() => storage.createStudy(spec('s')), (e: Error) => e instanceof KilnError && !(password && e.message.includes(`:${password}@`)));
    storage.close();
    assert.throws(() => storage.listStudies(), /closed/);
  });

  test('a connection the server ends mid-study is a KilnError naming the server, and close still returns', () => {
    const name = `kiln_lost_${process.pid}`;
    const uri = edited((u) => { u.searchParams.set('schema', schemaOf(freshPostgresUri())); u.searchParams.set('application_name', name); });
    const storage = openStorage(uri);
    storage.createStudy(spec('s'));
    assert.equal(postgresSql('SELECT pg_terminate_backend(pid) AS gone FROM pg_stat_activity WHERE application_name = $1', [name]).length, 1);
    assert.throws(() => storage.listStudies(), (e: Error) => e instanceof KilnError && /^PostgreSQL storage at [^ ]+: .*terminat/i.test(e.message));
    storage.close();
  });

  test('create: false never creates a schema or table, and the session is read-only', () => {
    const uri = freshPostgresUri();
    assert.throws(() => openStorage(uri, { create: false }), /^KilnError: no storage at postgres(ql)?:\/\/.*holds no studies; run kiln search first/);
    assert.equal(schemaExists(schemaOf(uri)), false);
    const writer = openStorage(uri);
    writer.createStudy(spec('s'));
    writer.createTrial('s', 'a');
    writer.close();
    const reader = openStorage(uri, { create: false });
    assert.deepEqual(reader.listStudies().map((s) => s.spec.name), ['s']);
    assert.equal(reader.trials('s').length, 1);
    assert.throws(() => reader.createTrial('s', 'b'), /read-only transaction/);
    reader.close();
  });

  test('a schema with other tables, or with a Kiln schema of another version, is refused and left alone', () => {
    const foreign = freshPostgresUri();
    postgresSql(`CREATE SCHEMA "${schemaOf(foreign)}"; CREATE TABLE "${schemaOf(foreign)}".ratings (id INTEGER)`);
    for (const create of [true, false]) {
      assert.throws(() => openStorage(foreign, { create }), /^KilnError: postgresql:\/\/.* is not a Kiln study database \(schema \w+ holds ratings, no kiln_meta table\)$/);
    }
    assert.deepEqual(postgresSql('SELECT tablename FROM pg_tables WHERE schemaname = $1', [schemaOf(foreign)]), [{ tablename: 'ratings' }]);

    const future = freshPostgresUri();
    openStorage(future).close();
    postgresSql(`UPDATE "${schemaOf(future)}".kiln_meta SET version = ${POSTGRES_SCHEMA_VERSION + 98}`);
    assert.throws(() => openStorage(future), new RegExp(`holds Kiln schema version ${POSTGRES_SCHEMA_VERSION + 98}; this Kiln reads version ${POSTGRES_SCHEMA_VERSION}$`));
  });

  test('a schema of version 1 (before workers) is upgraded in place by the first writer; a reader asks for that first', () => {
    const uri = freshPostgresUri();
    const q = `"${schemaOf(uri)}"`;
    postgresSql(`CREATE SCHEMA ${q};
      CREATE TABLE ${q}.kiln_meta (version INTEGER NOT NULL); INSERT INTO ${q}.kiln_meta VALUES (1);
      CREATE TABLE ${q}.studies (name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at TEXT NOT NULL, next_trial INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE ${q}.trials (study TEXT NOT NULL REFERENCES ${q}.studies(name), number INTEGER NOT NULL, arch TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')), feasible BOOLEAN NOT NULL DEFAULT FALSE,
        value DOUBLE PRECISION, metrics TEXT NOT NULL DEFAULT '{}', error TEXT, controller_state TEXT, started_at TEXT NOT NULL,
        finished_at TEXT, PRIMARY KEY (study, number));
      INSERT INTO ${q}.studies VALUES ('s', '${JSON.stringify(spec('s'))}', 'then', 2);
      INSERT INTO ${q}.trials (study, number, arch, state, feasible, value, controller_state, started_at) VALUES
        ('s', 0, 'a', 'complete', TRUE, 1, '{"step":0}', 'then'), ('s', 1, 'b', 'complete', TRUE, 2, '{"step":1}', 'then');`);
    assert.throws(() => openStorage(uri, { create: false }), /holds Kiln schema version 1; open it once for writing \(kiln search or kiln worker\) to upgrade it to 2$/);
    const storage = openStorage(uri);
    assert.deepEqual(postgresSql(`SELECT version FROM ${q}.kiln_meta`), [{ version: POSTGRES_SCHEMA_VERSION }]);
    assert.deepEqual(storage.controllerState('s'), { step: 1 });
    assert.deepEqual(storage.trials('s').map((t) => [t.number, t.worker]), [[0, null], [1, null]]);
    assert.equal(storage.reserveTrial('s', { worker: 'w', graceMs: 1000, propose: () => ({ arch: 'c', state: {} }) }).trial!.number, 2);
    storage.close();
    openStorage(uri, { create: false }).close();
  });

  test('processes sharing one study get unique trial numbers; the schema is created once; no process is kept alive', async () => {
    const uri = freshPostgresUri();
    const PROCESSES = 3;
    const TRIALS = 20;
    const start = Date.now() + 1500;
    // Each child waits for a common start time, so creating the schema, the study and the trials all race.
    const child = (id: number) => `
      const { openStorage } = await import(${JSON.stringify(STORAGE_MODULE)});
      while (Date.now() < ${start}) await new Promise((r) => setTimeout(r, 2));
      const storage = openStorage(${JSON.stringify(uri)});
      try { storage.createStudy(${JSON.stringify(spec('shared'))}); } catch (e) { if (!/already exists/.test(e.message)) throw e; }
      for (let i = 0; i < ${TRIALS}; i++) {
        const t = storage.createTrial('shared', 'p${id}-' + i);
        storage.finishTrial('shared', t.number, { state: 'complete', feasible: true, value: i, metrics: {}, controllerState: { id: ${id}, i } });
      }
      ${id === 0 ? '// left open: the worker thread must not keep this process alive' : 'storage.close();'}`;
    const runs = await Promise.all(Array.from({ length: PROCESSES }, (_, id) => new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, ['--input-type=module', '-e', child(id)], { timeout: 60_000 });
      let stderr = '';
      p.stderr.on('data', (d) => { stderr += d; });
      p.on('close', (code) => resolve({ code, stderr }));
    })));
    assert.deepEqual(runs, Array.from({ length: PROCESSES }, () => ({ code: 0, stderr: '' })));
    const storage = openStorage(uri, { create: false });
    const trials = storage.trials('shared');
    assert.deepEqual(trials.map((t) => t.number), Array.from({ length: PROCESSES * TRIALS }, (_, i) => i));
    assert.equal(new Set(trials.map((t) => t.arch)).size, PROCESSES * TRIALS);
    assert.ok(trials.every((t) => t.state === 'complete'));
    for (let id = 0; id < PROCESSES; id++) {
      assert.deepEqual(trials.filter((t) => t.arch.startsWith(`p${id}-`)).map((t) => t.value), Array.from({ length: TRIALS }, (_, i) => i), 'each process saw its own trials in order');
    }
    storage.close();
    assert.deepEqual(postgresSql(`SELECT version FROM "${schemaOf(uri)}".kiln_meta`), [{ version: POSTGRES_SCHEMA_VERSION }]);
  });

  test('kiln search then kiln study list on a postgresql:// storage', () => {
    const uri = freshPostgresUri();
    const kiln = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, KILN_THREADS: '1' }, timeout: 60_000 });
    const empty = kiln(['study', 'list', '--storage', uri]);
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /^kiln: no storage at postgres/);
    const search = kiln(['search', '--space', 'nb201', '--table', dataPath('nb201', 'nb201-cifar10.csv'), '--objective', 'cifar10_test_acc',
      '--constraint', 'latency_ms_pixel3<=6', '--budget', '6', '--seed', '2', '--storage', uri, '--study', 'pg1', '--json']);
    assert.equal(search.status, 0, search.stderr);
    const out = JSON.parse(search.stdout);
    assert.equal(out.done, 6);
    const password = new URL(uri).password;
    assert.ok(!(password && out.storage.includes(`:${password}@`)), 'the printed storage has no password');
    const list = kiln(['study', 'list', '--storage', uri]);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^pg1 {2}nb201/evolution {2}${out.done + out.infeasible} complete \\(${out.infeasible} infeasible\\), 0 failed  best cifar10_test_acc=${out.best.value}\n$`));
  });
});
