import { KilnError } from '../../core/index.js';
import { connectPostgresSync, PgError, type SyncPgClient } from './postgres-sync.js';
import type { Storage, StudyRecord, StudySpec } from './types.js';
import { TRIAL_COLUMNS, toTrial, type TrialRow } from './rows.js';
import { expireIn, finishIn, reserveIn, type RunningRow, type StudyTx } from './lease.js';

/**
 * The layout below; version 1 (before workers shared studies) is upgraded in place by MIGRATIONS,
 * any other version is refused, not migrated blindly.
 */
export const POSTGRES_SCHEMA_VERSION = 2;

// JSON columns are TEXT, as in SQLite, so specs and controller states come back exactly as stored.
// studies.next_trial hands out trial numbers: the UPDATE that takes one locks the study row, so
// processes sharing a study never get the same number.
const SCHEMA = [
  `CREATE TABLE kiln_meta (version INTEGER NOT NULL)`,
  `CREATE TABLE studies (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL,
    next_trial INTEGER NOT NULL DEFAULT 0,
    budget INTEGER,
    controller_state TEXT,
    state_version INTEGER NOT NULL DEFAULT 0
  )`,
  `CREATE TABLE trials (
    study TEXT NOT NULL REFERENCES studies(name),
    number INTEGER NOT NULL,
    arch TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
    feasible BOOLEAN NOT NULL DEFAULT FALSE,
    value DOUBLE PRECISION,
    metrics TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    controller_state TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    worker TEXT,
    heartbeat DOUBLE PRECISION,
    requeued BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (study, number)
  )`,
  `CREATE INDEX trials_by_state ON trials (study, state, feasible)`,
  `CREATE INDEX trials_requeued ON trials (study, number) WHERE requeued`,
  `INSERT INTO kiln_meta (version) VALUES (${POSTGRES_SCHEMA_VERSION})`,
];

/** Statements that take a schema of version N (the key) to N + 1. */
const MIGRATIONS: Record<number, string[]> = {
  // Owners, heartbeats, the retry queue, the budget and the shared controller state (the latest trial's).
  1: [
    `ALTER TABLE studies ADD COLUMN budget INTEGER, ADD COLUMN controller_state TEXT, ADD COLUMN state_version INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE trials ADD COLUMN worker TEXT, ADD COLUMN heartbeat DOUBLE PRECISION, ADD COLUMN requeued BOOLEAN NOT NULL DEFAULT FALSE`,
    `CREATE INDEX trials_by_state ON trials (study, state, feasible)`,
    `CREATE INDEX trials_requeued ON trials (study, number) WHERE requeued`,
    `UPDATE studies SET controller_state = (SELECT t.controller_state FROM trials t WHERE t.study = studies.name
      AND t.controller_state IS NOT NULL ORDER BY t.number DESC LIMIT 1)`,
    `UPDATE studies SET state_version = 1 WHERE controller_state IS NOT NULL`,
  ],
};

/** A postgres:// or postgresql:// URI taken apart: what to connect to, and how to name it without the password. */
interface PostgresTarget {
  /** The URI pg connects with (the password kept, `schema` removed). */
  connectionString: string;
  /** The URI with no password: safe to print, and what Storage.uri gives. */
  display: string;
  /** 'host:port/db', for messages. */
  where: string;
  user: string;
  database: string;
  /** The PostgreSQL schema the tables live in (?schema=NAME; default public). */
  schema: string;
}

function parsePostgresUri(uri: string): PostgresTarget {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new KilnError(`malformed PostgreSQL URI (use postgresql://USER:PASSWORD@HOST:PORT/DB)`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new KilnError(`not a PostgreSQL URI: ${url.protocol}`);
  const schema = url.searchParams.get('schema') ?? 'public';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new KilnError(`PostgreSQL schema must be a plain name (letters, digits, _), got '${schema}'`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database === '') throw new KilnError(`PostgreSQL URI names no database (use postgresql://USER:PASSWORD@HOST:PORT/DB)`);
  const user = decodeURIComponent(url.username) || process.env.PGUSER || process.env.USER || '?';
  const host = url.hostname || url.searchParams.get('host') || 'localhost';
  const where = `${host}:${url.port || '5432'}/${database}`;
  const connect = new URL(url.href);
  connect.searchParams.delete('schema');
  const display = new URL(url.href);
  display.password = '';
  display.searchParams.delete('password');
  return { connectionString: connect.href, display: display.href, where, user, database, schema };
}

/** One line saying why the connection failed, naming host and database, never the password. */
function connectError(e: unknown, t: PostgresTarget): KilnError {
  const err = e as PgError;
  const code = err.code ?? '';
  const reason =
    code === 'ECONNREFUSED' ? 'connection refused (is the server running?)'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'unknown host'
        : code === '28P01' ? `password authentication failed for user '${t.user}'`
          : code === '3D000' ? `database '${t.database}' does not exist`
            : /timeout/i.test(err.message) || code === 'ETIMEDOUT' ? 'connection timed out'
              : /password must be a string/.test(err.message) ? `user '${t.user}' needs a password (in the URI, postgresql://USER:PASSWORD@..., or in PGPASSWORD)`
                : err.message;
  return new KilnError(`cannot open PostgreSQL storage at ${t.where}: ${reason}`);
}

/**
 * The server went away, ran out of room or stopped answering in the middle of a study: trouble in
 * the user's environment, so a one-line KilnError naming the server. Other errors pass unchanged.
 */
function serverTrouble(e: unknown, t: PostgresTarget): unknown {
  if (!(e instanceof PgError)) return e;
  const code = e.code ?? '';
  const trouble = /^(08|53|57)/.test(code) || /^E[A-Z]+$/.test(code) || /connection terminated|timeout/i.test(e.message);
  return trouble ? new KilnError(`PostgreSQL storage at ${t.where}: ${e.message}`) : e;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Checks the schema holds Kiln's tables at the version this code knows; creates them, in one
 * transaction under an advisory lock, when the schema is empty and `create` is set.
 */
function prepareSchema(db: SyncPgClient, t: PostgresTarget, create: boolean): void {
  const inspect = () => db.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename`, [t.schema])
    .rows.map((r) => r.tablename);
  /** The schema's version; a KilnError unless it is Kiln's at a version this code reads or can upgrade. */
  const check = (tables: string[]): number => {
    if (!tables.includes('kiln_meta')) {
      throw new KilnError(`${t.display} is not a Kiln study database (schema ${t.schema} holds ${tables.slice(0, 3).join(', ')}, no kiln_meta table)`);
    }
    const versions = db.query<{ version: number }>('SELECT version FROM kiln_meta').rows.map((r) => r.version);
    const known = versions.length === 1 && (versions[0] === POSTGRES_SCHEMA_VERSION || MIGRATIONS[versions[0]] !== undefined);
    if (!known) {
      throw new KilnError(`${t.display} holds Kiln schema version ${versions.join(', ') || 'none'}; this Kiln reads version ${POSTGRES_SCHEMA_VERSION}`);
    }
    if (versions[0] !== POSTGRES_SCHEMA_VERSION && !create) {
      throw new KilnError(`${t.display} holds Kiln schema version ${versions[0]}; open it once for writing (kiln search or kiln worker) to upgrade it to ${POSTGRES_SCHEMA_VERSION}`);
    }
    return versions[0];
  };
  const tables = inspect();
  if (tables.length > 0 && check(tables) === POSTGRES_SCHEMA_VERSION) return;
  if (!create) throw new KilnError(`no storage at ${t.display} (schema ${t.schema} holds no studies; run kiln search first, or pass --storage)`);
  db.query('BEGIN');
  try {
    db.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`kiln schema ${t.schema}`]);
    const exists = db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [t.schema]).rowCount > 0;
    if (!exists) db.query(`CREATE SCHEMA ${quoteIdent(t.schema)}`);
    // Another process may have created or upgraded the tables while this one waited for the lock.
    const now = inspect();
    if (now.length > 0) {
      for (let v = check(now); v < POSTGRES_SCHEMA_VERSION; v++) for (const statement of MIGRATIONS[v]) db.query(statement);
      db.query('UPDATE kiln_meta SET version = $1', [POSTGRES_SCHEMA_VERSION]);
    } else {
      for (const statement of SCHEMA) db.query(statement);
    }
    db.query('COMMIT');
  } catch (e) {
    try {
      db.query('ROLLBACK');
    } catch {
      // The connection is gone; the error that ended the transaction says more.
    }
    throw e;
  }
}

/**
 * PostgreSQL storage, for studies shared by several processes or machines: the same tables and
 * semantics as SQLite's, one statement (so one transaction) per change. The `pg` driver runs in a
 * worker thread behind a blocking call, because Storage is synchronous. `create: false` opens a
 * read-only session and never creates a schema or table.
 */
export function postgresStorage(uri: string, opts: { create?: boolean } = {}): Storage {
  const t = parsePostgresUri(uri);
  const create = opts.create !== false;
  let connection: SyncPgClient;
  try {
    connection = connectPostgresSync(t.connectionString);
  } catch (e) {
    throw connectError(e, t);
  }
  const db: SyncPgClient = {
    query<R>(text: string, values?: unknown[]) {
      try {
        return connection.query<R>(text, values);
      } catch (e) {
        throw serverTrouble(e, t);
      }
    },
    close: () => connection.close(),
  };
  try {
    db.query(`SET search_path TO ${quoteIdent(t.schema)}`);
    if (!create) db.query('SET default_transaction_read_only = on');
    prepareSchema(db, t, create);
  } catch (e) {
    db.close();
    if (e instanceof KilnError) throw e;
    throw new KilnError(`cannot open PostgreSQL storage ${t.display}: ${(e as Error).message}`);
  }
  type StudyRow = { spec: string; created_at: string; budget: number | null; state_version: number };
  const record = (r: StudyRow): StudyRecord => ({ spec: JSON.parse(r.spec), createdAt: r.created_at, budget: r.budget, stateVersion: r.state_version });
  const noStudy = (name: string) => new KilnError(`no study named '${name}' in storage ${t.display}`);
  const now = () => new Date().toISOString();
  // Heartbeats use the server's clock, so machines with skewed clocks still agree on who is late.
  const SERVER_MS = `(extract(epoch from clock_timestamp()) * 1000)::float8`;
  const txOf = (study: string): StudyTx => ({
    now: () => db.query<{ ms: number }>(`SELECT ${SERVER_MS} AS ms`).rows[0].ms,
    running: () => db.query<RunningRow>(`SELECT number, arch, worker, heartbeat FROM trials WHERE study = $1 AND state = 'running' ORDER BY number`, [study]).rows,
    failedWith: (arch, reason) => Number(db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM trials WHERE study = $1 AND state = 'failed' AND arch = $2 AND error = $3`,
      [study, arch, reason]).rows[0].n),
    fail(numbers, reason, requeue) {
      db.query(`UPDATE trials SET state = 'failed', error = $1, finished_at = $2, requeued = $3 WHERE study = $4 AND number = ANY($5::int[]) AND state = 'running'`,
        [reason, now(), requeue, study, numbers]);
    },
    counts() {
      // Two index ranges, not a scan of every trial: this runs once per reservation.
      const r = db.query<{ evaluated: string; running: string }>(`SELECT
        (SELECT COUNT(*) FROM trials WHERE study = $1 AND state = 'complete' AND (feasible OR value IS NOT NULL)) AS evaluated,
        (SELECT COUNT(*) FROM trials WHERE study = $1 AND state = 'running') AS running`, [study]).rows[0];
      return { evaluated: Number(r.evaluated), running: Number(r.running) };
    },
    takeRequeued() {
      const r = db.query<{ arch: string }>(`UPDATE trials SET requeued = FALSE WHERE study = $1 AND number =
        (SELECT number FROM trials WHERE study = $1 AND requeued ORDER BY number LIMIT 1) RETURNING arch`, [study]).rows[0];
      return r?.arch;
    },
    insert(arch, worker, heartbeat) {
      const r = db.query<TrialRow>(`WITH n AS (UPDATE studies SET next_trial = next_trial + 1 WHERE name = $1 RETURNING next_trial - 1 AS number)
        INSERT INTO trials (study, number, arch, state, started_at, worker, heartbeat) SELECT $1, number, $2, 'running', $3, $4, $5::float8 FROM n
        RETURNING ${TRIAL_COLUMNS}`, [study, arch, now(), worker, heartbeat]).rows[0];
      if (!r) throw noStudy(study);
      return toTrial(r);
    },
    isRunning: (n) => db.query(`SELECT 1 FROM trials WHERE study = $1 AND number = $2 AND state = 'running'`, [study, n]).rowCount > 0,
    finish(n, o, state) {
      const r = db.query<TrialRow>(`UPDATE trials SET state = $1, feasible = $2, value = $3, metrics = $4, error = $5,
        controller_state = $6, finished_at = $7 WHERE study = $8 AND number = $9 RETURNING ${TRIAL_COLUMNS}`,
      [o.state, o.feasible, o.value, JSON.stringify(o.metrics), o.error ?? null, state, now(), study, n]).rows[0];
      if (state !== null) txOf(study).writeState(state);
      return toTrial(r);
    },
    stateVersion: () => db.query<{ v: number }>(`SELECT state_version AS v FROM studies WHERE name = $1`, [study]).rows[0].v,
    readState: () => db.query<{ s: string | null }>(`SELECT controller_state AS s FROM studies WHERE name = $1`, [study]).rows[0].s,
    writeState(state) {
      db.query(`UPDATE studies SET controller_state = $1, state_version = state_version + 1 WHERE name = $2`, [state, study]);
    },
  });
  /**
   * Runs `fn` in one transaction holding the study's row lock (SELECT ... FOR UPDATE), so the
   * processes sharing a study take turns; rolled back when `fn` or the server fails.
   */
  const locked = <T>(study: string, fn: (tx: StudyTx) => T): T => {
    db.query('BEGIN');
    try {
      if (db.query('SELECT 1 FROM studies WHERE name = $1 FOR UPDATE', [study]).rowCount === 0) throw noStudy(study);
      const result = fn(txOf(study));
      db.query('COMMIT');
      return result;
    } catch (e) {
      try {
        db.query('ROLLBACK');
      } catch {
        // The connection is gone; the error that ended the transaction says more.
      }
      throw e;
    }
  };
  return {
    uri: t.display,
    createStudy(spec: StudySpec) {
      const createdAt = now();
      const res = db.query(`INSERT INTO studies (name, spec, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
        [spec.name, JSON.stringify(spec), createdAt]);
      if (res.rowCount !== 1) throw new KilnError(`study '${spec.name}' already exists in storage ${t.display}`);
      return { spec: JSON.parse(JSON.stringify(spec)), createdAt, budget: null, stateVersion: 0 };
    },
    getStudy(name) {
      const r = db.query<StudyRow>('SELECT spec, created_at, budget, state_version FROM studies WHERE name = $1', [name]).rows[0];
      return r && record(r);
    },
    listStudies: () => db.query<StudyRow>('SELECT spec, created_at, budget, state_version FROM studies ORDER BY created_at, name').rows.map(record),
    // One statement: taking the number locks the study row, so no transaction is needed.
    createTrial: (study, arch, worker) => txOf(study).insert(arch, worker ?? null, worker === undefined ? null : txOf(study).now()),
    reserveTrial: (study, request) => locked(study, (tx) => reserveIn(tx, request)),
    finishTrial: (study, number, outcome) => locked(study, (tx) => finishIn(tx, study, number, outcome)),
    heartbeat: (study, worker) => locked(study, () => db.query(`UPDATE trials SET heartbeat = ${SERVER_MS} WHERE study = $1 AND worker = $2 AND state = 'running'`,
      [study, worker]).rowCount),
    expireTrials: (study, o) => locked(study, (tx) => expireIn(tx, o)),
    setBudget(study, budget) {
      if (db.query('UPDATE studies SET budget = $1 WHERE name = $2', [budget, study]).rowCount === 0) throw noStudy(study);
    },
    trials(study) {
      const rows = db.query<TrialRow>(`SELECT ${TRIAL_COLUMNS} FROM trials WHERE study = $1 ORDER BY number`, [study]).rows;
      if (rows.length === 0 && db.query('SELECT 1 FROM studies WHERE name = $1', [study]).rowCount === 0) throw noStudy(study);
      return rows.map(toTrial);
    },
    controllerState(study) {
      const r = db.query<{ s: string | null }>(`SELECT controller_state AS s FROM studies WHERE name = $1`, [study]).rows[0];
      return r?.s ? JSON.parse(r.s) : undefined;
    },
    discardAfter: (study, number, reason) => locked(study, () => {
      const n = db.query(`UPDATE trials SET state = 'failed', error = $1, controller_state = NULL, finished_at = $2
        WHERE study = $3 AND number > $4 AND state != 'failed'`, [reason, now(), study, number]).rowCount;
      const kept = db.query<{ s: string }>(`SELECT controller_state AS s FROM trials WHERE study = $1 AND controller_state IS NOT NULL
        ORDER BY number DESC LIMIT 1`, [study]).rows[0];
      db.query(`UPDATE studies SET controller_state = $1, state_version = state_version + 1 WHERE name = $2`, [kept?.s ?? null, study]);
      return n;
    }),
    close: () => db.close(),
  };
}
