import { KilnError } from '../../core/index.js';
import { connectPostgresSync, PgError, type SyncPgClient } from './postgres-sync.js';
import type { Storage, StudyRecord, StudySpec, TrialOutcome } from './types.js';
import { TRIAL_COLUMNS, toTrial, type TrialRow } from './rows.js';

/** The layout below; a database holding another version is refused, not migrated blindly. */
export const POSTGRES_SCHEMA_VERSION = 1;

// JSON columns are TEXT, as in SQLite, so specs and controller states come back exactly as stored.
// studies.next_trial hands out trial numbers: the UPDATE that takes one locks the study row, so
// processes sharing a study never get the same number.
const SCHEMA = [
  `CREATE TABLE kiln_meta (version INTEGER NOT NULL)`,
  `CREATE TABLE studies (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL,
    next_trial INTEGER NOT NULL DEFAULT 0
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
    PRIMARY KEY (study, number)
  )`,
  `INSERT INTO kiln_meta (version) VALUES (${POSTGRES_SCHEMA_VERSION})`,
];


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
  const check = (tables: string[]) => {
    if (!tables.includes('kiln_meta')) {
      throw new KilnError(`${t.display} is not a Kiln study database (schema ${t.schema} holds ${tables.slice(0, 3).join(', ')}, no kiln_meta table)`);
    }
    const versions = db.query<{ version: number }>('SELECT version FROM kiln_meta').rows.map((r) => r.version);
    if (versions.length !== 1 || versions[0] !== POSTGRES_SCHEMA_VERSION) {
      throw new KilnError(`${t.display} holds Kiln schema version ${versions.join(', ') || 'none'}; this Kiln reads version ${POSTGRES_SCHEMA_VERSION}`);
    }
  };
  const tables = inspect();
  if (tables.length > 0) return check(tables);
  if (!create) throw new KilnError(`no storage at ${t.display} (schema ${t.schema} holds no studies; run kiln search first, or pass --storage)`);
  db.query('BEGIN');
  try {
    db.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`kiln schema ${t.schema}`]);
    const exists = db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [t.schema]).rowCount > 0;
    if (!exists) db.query(`CREATE SCHEMA ${quoteIdent(t.schema)}`);
    // Another process may have created the tables while this one waited for the lock.
    const now = inspect();
    if (now.length > 0) check(now);
    else for (const statement of SCHEMA) db.query(statement);
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
  const record = (r: { spec: string; created_at: string }): StudyRecord => ({ spec: JSON.parse(r.spec), createdAt: r.created_at });
  const noStudy = (name: string) => new KilnError(`no study named '${name}' in storage ${t.display}`);
  const now = () => new Date().toISOString();
  return {
    uri: t.display,
    createStudy(spec: StudySpec) {
      const createdAt = now();
      const res = db.query(`INSERT INTO studies (name, spec, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
        [spec.name, JSON.stringify(spec), createdAt]);
      if (res.rowCount !== 1) throw new KilnError(`study '${spec.name}' already exists in storage ${t.display}`);
      return { spec: JSON.parse(JSON.stringify(spec)), createdAt };
    },
    getStudy(name) {
      const r = db.query<{ spec: string; created_at: string }>('SELECT spec, created_at FROM studies WHERE name = $1', [name]).rows[0];
      return r && record(r);
    },
    listStudies: () => db.query<{ spec: string; created_at: string }>('SELECT spec, created_at FROM studies ORDER BY created_at, name').rows.map(record),
    createTrial(study, arch) {
      const r = db.query<TrialRow>(`WITH n AS (UPDATE studies SET next_trial = next_trial + 1 WHERE name = $1 RETURNING next_trial - 1 AS number)
        INSERT INTO trials (study, number, arch, state, started_at) SELECT $1, number, $2, 'running', $3 FROM n
        RETURNING ${TRIAL_COLUMNS}`, [study, arch, now()]).rows[0];
      if (!r) throw noStudy(study);
      return toTrial(r);
    },
    finishTrial(study, number, o: TrialOutcome) {
      const state = o.controllerState === undefined ? null : JSON.stringify(o.controllerState);
      const r = db.query<TrialRow>(`UPDATE trials SET state = $1, feasible = $2, value = $3, metrics = $4, error = $5,
        controller_state = $6, finished_at = $7 WHERE study = $8 AND number = $9 AND state = 'running' RETURNING ${TRIAL_COLUMNS}`,
      [o.state, o.feasible, o.value, JSON.stringify(o.metrics), o.error ?? null, state, now(), study, number]).rows[0];
      if (!r) throw new Error(`trial ${number} of study '${study}' is not running`);
      return toTrial(r);
    },
    trials(study) {
      const rows = db.query<TrialRow>(`SELECT ${TRIAL_COLUMNS} FROM trials WHERE study = $1 ORDER BY number`, [study]).rows;
      if (rows.length === 0 && db.query('SELECT 1 FROM studies WHERE name = $1', [study]).rowCount === 0) throw noStudy(study);
      return rows.map(toTrial);
    },
    controllerState(study) {
      const r = db.query<{ controller_state: string }>(`SELECT controller_state FROM trials WHERE study = $1 AND controller_state IS NOT NULL
        ORDER BY number DESC LIMIT 1`, [study]).rows[0];
      return r ? JSON.parse(r.controller_state) : undefined;
    },
    failRunning(study, reason) {
      return db.query(`UPDATE trials SET state = 'failed', error = $1, finished_at = $2 WHERE study = $3 AND state = 'running'`,
        [reason, now(), study]).rowCount;
    },
    discardAfter(study, number, reason) {
      return db.query(`UPDATE trials SET state = 'failed', error = $1, controller_state = NULL, finished_at = $2
        WHERE study = $3 AND number > $4 AND state != 'failed'`, [reason, now(), study, number]).rowCount;
    },
    close: () => db.close(),
  };
}
