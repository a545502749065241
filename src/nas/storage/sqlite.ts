import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { KilnError } from '../../core/index.js';
import type { Storage, StudyRecord, StudySpec, Trial, TrialOutcome } from './types.js';
import { TRIAL_COLUMNS, toTrial, type TrialRow } from './rows.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS studies (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL,
  created_at TEXT NOT NULL
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
  PRIMARY KEY (study, number)
);`;


/**
 * SQLite storage (WAL journal, one transaction per change): a trial and the controller
 * state after it land together or not at all, so a SIGKILL loses at most the running trial.
 */
export function sqliteStorage(file: string, opts: { readonly?: boolean } = {}): Storage {
  if (file === '') throw new KilnError(`sqlite storage needs a path: sqlite:FILE.db`);
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new KilnError(`folder for sqlite storage does not exist: ${dir}`);
  let db: Database.Database;
  try {
    // Read-only uses (list, show, export) open the file read-only: they never create tables or files.
    db = new Database(file, { readonly: opts.readonly === true, fileMustExist: opts.readonly === true });
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((t) => t.name);
    if (tables.length > 0 && !tables.includes('studies')) {
      db.close();
      throw new KilnError(`${file} is not a Kiln study database (it holds ${tables.slice(0, 3).join(', ')}, no studies table)`);
    }
    if (opts.readonly) {
      if (tables.length === 0) throw new KilnError(`${file} holds no studies (run kiln search first)`);
    } else {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(SCHEMA);
    }
    db.pragma('busy_timeout = 5000');
  } catch (e) {
    if (e instanceof KilnError) throw e;
    throw new KilnError(`cannot open sqlite storage ${file}: ${(e as Error).message}`);
  }
  const q = {
    insertStudy: db.prepare('INSERT INTO studies (name, spec, created_at) VALUES (?, ?, ?)'),
    getStudy: db.prepare('SELECT spec, created_at FROM studies WHERE name = ?'),
    listStudies: db.prepare('SELECT spec, created_at FROM studies ORDER BY created_at, name'),
    nextNumber: db.prepare('SELECT COALESCE(MAX(number) + 1, 0) AS n FROM trials WHERE study = ?'),
    insertTrial: db.prepare(`INSERT INTO trials (study, number, arch, state, started_at) VALUES (?, ?, ?, 'running', ?)`),
    getTrial: db.prepare(`SELECT ${TRIAL_COLUMNS} FROM trials WHERE study = ? AND number = ?`),
    finishTrial: db.prepare(`UPDATE trials SET state = ?, feasible = ?, value = ?, metrics = ?, error = ?,
      controller_state = ?, finished_at = ? WHERE study = ? AND number = ? AND state = 'running'`),
    trials: db.prepare(`SELECT ${TRIAL_COLUMNS} FROM trials WHERE study = ? ORDER BY number`),
    state: db.prepare(`SELECT controller_state FROM trials WHERE study = ? AND controller_state IS NOT NULL
      ORDER BY number DESC LIMIT 1`),
    failRunning: db.prepare(`UPDATE trials SET state = 'failed', error = ?, finished_at = ? WHERE study = ? AND state = 'running'`),
    discardAfter: db.prepare(`UPDATE trials SET state = 'failed', error = ?, controller_state = NULL, finished_at = ?
      WHERE study = ? AND number > ? AND state != 'failed'`),
  };
  const record = (r: { spec: string; created_at: string }): StudyRecord => ({ spec: JSON.parse(r.spec), createdAt: r.created_at });
  const requireStudy = (name: string) => {
    if (!q.getStudy.get(name)) throw new KilnError(`no study named '${name}' in storage sqlite:${file}`);
  };
  const createTrial = db.transaction((study: string, arch: string): Trial => {
    requireStudy(study);
    const { n } = q.nextNumber.get(study) as { n: number };
    q.insertTrial.run(study, n, arch, new Date().toISOString());
    return toTrial(q.getTrial.get(study, n) as TrialRow);
  });
  const finishTrial = db.transaction((study: string, number: number, o: TrialOutcome): Trial => {
    const state = o.controllerState === undefined ? null : JSON.stringify(o.controllerState);
    const res = q.finishTrial.run(o.state, o.feasible ? 1 : 0, o.value, JSON.stringify(o.metrics), o.error ?? null,
      state, new Date().toISOString(), study, number);
    if (res.changes !== 1) throw new Error(`trial ${number} of study '${study}' is not running`);
    return toTrial(q.getTrial.get(study, number) as TrialRow);
  });
  return {
    uri: `sqlite:${file}`,
    createStudy(spec: StudySpec) {
      if (q.getStudy.get(spec.name)) throw new KilnError(`study '${spec.name}' already exists in storage sqlite:${file}`);
      const createdAt = new Date().toISOString();
      q.insertStudy.run(spec.name, JSON.stringify(spec), createdAt);
      return { spec: JSON.parse(JSON.stringify(spec)), createdAt };
    },
    getStudy(name) {
      const r = q.getStudy.get(name) as { spec: string; created_at: string } | undefined;
      return r && record(r);
    },
    listStudies: () => (q.listStudies.all() as { spec: string; created_at: string }[]).map(record),
    createTrial: (study, arch) => createTrial.immediate(study, arch),
    finishTrial: (study, number, outcome) => finishTrial.immediate(study, number, outcome),
    trials(study) {
      requireStudy(study);
      return (q.trials.all(study) as TrialRow[]).map(toTrial);
    },
    controllerState(study) {
      const r = q.state.get(study) as { controller_state: string } | undefined;
      return r ? JSON.parse(r.controller_state) : undefined;
    },
    failRunning(study, reason) {
      return q.failRunning.run(reason, new Date().toISOString(), study).changes;
    },
    discardAfter(study, number, reason) {
      return q.discardAfter.run(reason, new Date().toISOString(), study, number).changes;
    },
    close: () => db.close(),
  };
}
