import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { KilnError } from '../../core/index.js';
import type { Storage, StudyRecord, StudySpec } from './types.js';
import { expireIn, finishIn, reserveIn, type RunningRow, type StudyTx } from './lease.js';
import { TRIAL_COLUMNS, toTrial, type TrialRow } from './rows.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS studies (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL,
  created_at TEXT NOT NULL,
  budget INTEGER,
  controller_state TEXT,
  state_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS trials (
  study TEXT NOT NULL REFERENCES studies(name),
  number INTEGER NOT NULL,
  arch TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
  feasible INTEGER NOT NULL DEFAULT 0,
  value REAL,
  metrics TEXT NOT NULL DEFAULT '{}',
  error TEXT,
  controller_state TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  worker TEXT,
  heartbeat REAL,
  requeued INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (study, number)
);
CREATE INDEX IF NOT EXISTS trials_by_state ON trials (study, state, feasible);
CREATE INDEX IF NOT EXISTS trials_requeued ON trials (study, number) WHERE requeued = 1;`;

/**
 * Files written before studies were shared by workers lack the columns for owners, heartbeats,
 * the retry queue, the budget and the shared controller state: they are added, and each study's
 * shared state starts as its latest trial's.
 */
const MIGRATE_TO_WORKERS = `
ALTER TABLE studies ADD COLUMN budget INTEGER;
ALTER TABLE studies ADD COLUMN controller_state TEXT;
ALTER TABLE studies ADD COLUMN state_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN worker TEXT;
ALTER TABLE trials ADD COLUMN heartbeat REAL;
ALTER TABLE trials ADD COLUMN requeued INTEGER NOT NULL DEFAULT 0;
UPDATE studies SET controller_state = (SELECT t.controller_state FROM trials t WHERE t.study = studies.name
  AND t.controller_state IS NOT NULL ORDER BY t.number DESC LIMIT 1);
UPDATE studies SET state_version = 1 WHERE controller_state IS NOT NULL;`;

/**
 * SQLite storage (WAL journal, one transaction per change): a trial and the controller
 * state after it land together or not at all, so a SIGKILL loses at most the running trial.
 * Changes that read before they write (reserving a trial, finishing one) run in BEGIN IMMEDIATE
 * transactions, so processes sharing the file take turns.
 */
export function sqliteStorage(file: string, opts: { readonly?: boolean } = {}): Storage {
  if (file === '') throw new KilnError(`sqlite storage needs a path: sqlite:FILE.db`);
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new KilnError(`folder for sqlite storage does not exist: ${dir}`);
  let db: Database.Database;
  try {
    // Read-only uses (list, show, export) open the file read-only: they never create tables or files.
    db = new Database(file, { readonly: opts.readonly === true, fileMustExist: opts.readonly === true });
    // Writers wait their turn for the file's lock rather than fail.
    db.pragma('busy_timeout = 30000');
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((t) => t.name);
    if (tables.length > 0 && !tables.includes('studies')) {
      db.close();
      throw new KilnError(`${file} is not a Kiln study database (it holds ${tables.slice(0, 3).join(', ')}, no studies table)`);
    }
    const old = tables.length > 0 && !(db.prepare(`SELECT name FROM pragma_table_info('trials')`).all() as { name: string }[]).some((c) => c.name === 'worker');
    if (opts.readonly) {
      if (tables.length === 0) throw new KilnError(`${file} holds no studies (run kiln search first)`);
      if (old) throw new KilnError(`${file} was written by an older Kiln; open it once for writing (kiln search or kiln worker) to upgrade it`);
    } else {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.transaction(() => {
        // Checked again inside the lock: another process may have upgraded the file meanwhile.
        const stillOld = old && !(db.prepare(`SELECT name FROM pragma_table_info('trials')`).all() as { name: string }[]).some((c) => c.name === 'worker');
        if (stillOld) db.exec(MIGRATE_TO_WORKERS);
        db.exec(SCHEMA);
      }).immediate();
    }
  } catch (e) {
    if (e instanceof KilnError) throw e;
    throw new KilnError(`cannot open sqlite storage ${file}: ${(e as Error).message}`);
  }
  const q = {
    insertStudy: db.prepare('INSERT INTO studies (name, spec, created_at) VALUES (?, ?, ?)'),
    getStudy: db.prepare('SELECT spec, created_at, budget, state_version FROM studies WHERE name = ?'),
    listStudies: db.prepare('SELECT spec, created_at, budget, state_version FROM studies ORDER BY created_at, name'),
    nextNumber: db.prepare('SELECT COALESCE(MAX(number) + 1, 0) AS n FROM trials WHERE study = ?'),
    insertTrial: db.prepare(`INSERT INTO trials (study, number, arch, state, started_at, worker, heartbeat) VALUES (?, ?, ?, 'running', ?, ?, ?)`),
    getTrial: db.prepare(`SELECT ${TRIAL_COLUMNS} FROM trials WHERE study = ? AND number = ?`),
    isRunning: db.prepare(`SELECT 1 FROM trials WHERE study = ? AND number = ? AND state = 'running'`),
    finishTrial: db.prepare(`UPDATE trials SET state = ?, feasible = ?, value = ?, metrics = ?, error = ?,
      controller_state = ?, finished_at = ? WHERE study = ? AND number = ? AND state = 'running'`),
    trials: db.prepare(`SELECT ${TRIAL_COLUMNS} FROM trials WHERE study = ? ORDER BY number`),
    running: db.prepare(`SELECT number, arch, worker, heartbeat FROM trials WHERE study = ? AND state = 'running' ORDER BY number`),
    failedWith: db.prepare(`SELECT COUNT(*) AS n FROM trials WHERE study = ? AND state = 'failed' AND arch = ? AND error = ?`),
    fail: db.prepare(`UPDATE trials SET state = 'failed', error = ?, finished_at = ?, requeued = ? WHERE study = ? AND number = ? AND state = 'running'`),
    // Two index ranges, not a scan of every trial: this runs once per reservation.
    counts: db.prepare(`SELECT (SELECT COUNT(*) FROM trials WHERE study = ? AND state = 'complete' AND (feasible = 1 OR value IS NOT NULL)) AS evaluated,
      (SELECT COUNT(*) FROM trials WHERE study = ? AND state = 'running') AS running`),
    requeued: db.prepare(`SELECT number, arch FROM trials WHERE study = ? AND requeued = 1 ORDER BY number LIMIT 1`),
    unqueue: db.prepare(`UPDATE trials SET requeued = 0 WHERE study = ? AND number = ?`),
    heartbeat: db.prepare(`UPDATE trials SET heartbeat = ? WHERE study = ? AND worker = ? AND state = 'running'`),
    setBudget: db.prepare(`UPDATE studies SET budget = ? WHERE name = ?`),
    studyState: db.prepare(`SELECT controller_state, state_version FROM studies WHERE name = ?`),
    writeState: db.prepare(`UPDATE studies SET controller_state = ?, state_version = state_version + 1 WHERE name = ?`),
    latestTrialState: db.prepare(`SELECT controller_state FROM trials WHERE study = ? AND controller_state IS NOT NULL
      ORDER BY number DESC LIMIT 1`),
    discardAfter: db.prepare(`UPDATE trials SET state = 'failed', error = ?, controller_state = NULL, finished_at = ?
      WHERE study = ? AND number > ? AND state != 'failed'`),
  };
  type StudyRow = { spec: string; created_at: string; budget: number | null; state_version: number };
  const record = (r: StudyRow): StudyRecord => ({ spec: JSON.parse(r.spec), createdAt: r.created_at, budget: r.budget, stateVersion: r.state_version });
  const requireStudy = (name: string) => {
    if (!q.getStudy.get(name)) throw new KilnError(`no study named '${name}' in storage sqlite:${file}`);
  };
  const now = () => new Date().toISOString();
  const txOf = (study: string): StudyTx => ({
    now: () => Date.now(),
    running: () => q.running.all(study) as RunningRow[],
    fail(numbers, reason, requeue) {
      for (const n of numbers) q.fail.run(reason, now(), requeue ? 1 : 0, study, n);
    },
    failedWith: (arch, reason) => (q.failedWith.get(study, arch, reason) as { n: number }).n,
    counts: () => q.counts.get(study, study) as { evaluated: number; running: number },
    takeRequeued() {
      const r = q.requeued.get(study) as { number: number; arch: string } | undefined;
      if (!r) return undefined;
      q.unqueue.run(study, r.number);
      return r.arch;
    },
    insert(arch, worker, heartbeat) {
      const { n } = q.nextNumber.get(study) as { n: number };
      q.insertTrial.run(study, n, arch, now(), worker, heartbeat);
      return toTrial(q.getTrial.get(study, n) as TrialRow);
    },
    isRunning: (n) => q.isRunning.get(study, n) !== undefined,
    finish(n, o, state) {
      q.finishTrial.run(o.state, o.feasible ? 1 : 0, o.value, JSON.stringify(o.metrics), o.error ?? null, state, now(), study, n);
      if (state !== null) q.writeState.run(state, study);
      return toTrial(q.getTrial.get(study, n) as TrialRow);
    },
    stateVersion: () => (q.studyState.get(study) as { state_version: number }).state_version,
    readState: () => (q.studyState.get(study) as { controller_state: string | null }).controller_state,
    writeState: (state) => void q.writeState.run(state, study),
  });
  /** Runs `fn` on the study in one BEGIN IMMEDIATE transaction (rolled back when it throws). */
  const locked = <T>(study: string, fn: (tx: StudyTx) => T): T => db.transaction(() => {
    requireStudy(study);
    return fn(txOf(study));
  }).immediate();
  return {
    uri: `sqlite:${file}`,
    createStudy(spec: StudySpec) {
      if (q.getStudy.get(spec.name)) throw new KilnError(`study '${spec.name}' already exists in storage sqlite:${file}`);
      const createdAt = now();
      try {
        q.insertStudy.run(spec.name, JSON.stringify(spec), createdAt);
      } catch (e) {
        // Another process created it between the check and the insert.
        if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new KilnError(`study '${spec.name}' already exists in storage sqlite:${file}`);
        throw e;
      }
      return { spec: JSON.parse(JSON.stringify(spec)), createdAt, budget: null, stateVersion: 0 };
    },
    getStudy(name) {
      const r = q.getStudy.get(name) as StudyRow | undefined;
      return r && record(r);
    },
    listStudies: () => (q.listStudies.all() as StudyRow[]).map(record),
    createTrial: (study, arch, worker) => locked(study, (tx) => tx.insert(arch, worker ?? null, worker === undefined ? null : Date.now())),
    reserveTrial: (study, request) => locked(study, (tx) => reserveIn(tx, request)),
    finishTrial: (study, number, outcome) => locked(study, (tx) => finishIn(tx, study, number, outcome)),
    heartbeat: (study, worker) => q.heartbeat.run(Date.now(), study, worker).changes,
    expireTrials: (study, o) => locked(study, (tx) => expireIn(tx, o)),
    setBudget(study, budget) {
      requireStudy(study);
      q.setBudget.run(budget, study);
    },
    trials(study) {
      requireStudy(study);
      return (q.trials.all(study) as TrialRow[]).map(toTrial);
    },
    controllerState(study) {
      const r = q.studyState.get(study) as { controller_state: string | null } | undefined;
      return r?.controller_state ? JSON.parse(r.controller_state) : undefined;
    },
    discardAfter: (study, number, reason) => locked(study, () => {
      const n = q.discardAfter.run(reason, now(), study, number).changes;
      const kept = q.latestTrialState.get(study) as { controller_state: string } | undefined;
      q.writeState.run(kept?.controller_state ?? null, study);
      return n;
    }),
    close: () => db.close(),
  };
}
