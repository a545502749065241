import fs from 'node:fs';
import { createRegistry, KilnError } from '../../core/index.js';
import { memoryStorage } from './memory.js';
import { sqliteStorage } from './sqlite.js';
import { postgresStorage } from './postgres.js';
import type { Storage } from './types.js';

export type {
  Direction, ExpireOptions, Reservation, ReserveRequest, StateSlot, Storage, StudyRecord, StudySpec, Trial, TrialOutcome, TrialState,
} from './types.js';
export { TrialNotRunningError, isEvaluated } from './types.js';
export { workerId, processId, processGoneHere, MAX_RETRIES } from './lease.js';
export { memoryStorage } from './memory.js';
export { sqliteStorage } from './sqlite.js';
export { postgresStorage, POSTGRES_SCHEMA_VERSION } from './postgres.js';

/** Storage backends by URI scheme: 'memory', 'sqlite:FILE', 'postgresql://...' (or 'postgres://...'). */
export interface OpenOptions {
  /**
   * False for read-only uses (listing, export): the SQLite file is opened read-only and must exist;
   * a PostgreSQL session is read-only and its schema must hold Kiln's tables already.
   */
  create?: boolean;
}

export const storageBackends = createRegistry<(rest: string, opts: OpenOptions) => Storage>('storage backend');
storageBackends.register('memory', (rest) => {
  if (rest !== '') throw new KilnError(`storage 'memory' takes no path`);
  return memoryStorage();
}, 'in-process, lost at exit');
storageBackends.register('sqlite', (file, opts) => {
  if (opts.create === false && !fs.existsSync(file)) throw new KilnError(`no storage at sqlite:${file} (run kiln search first, or pass --storage)`);
  return sqliteStorage(file, { readonly: opts.create === false });
}, 'SQLite file: sqlite:PATH.db');
for (const scheme of ['postgresql', 'postgres']) {
  storageBackends.register(scheme, (rest, opts) => postgresStorage(`${scheme}:${rest}`, opts),
    `PostgreSQL database, shared by processes and machines: ${scheme}://USER:PASSWORD@HOST:PORT/DB[?schema=NAME]`);
}

/** The URI with any password replaced, for messages. */
const withoutPassword = (uri: string) => uri.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');

/** Opens a storage from a URI: 'memory', 'sqlite:path.db' or 'postgresql://user:password@host:port/db'. */
export function openStorage(uri: string, opts: OpenOptions = {}): Storage {
  const at = uri.indexOf(':');
  const scheme = at < 0 ? uri : uri.slice(0, at);
  if (!storageBackends.has(scheme)) {
    throw new KilnError(`unknown storage '${withoutPassword(uri)}' (use memory, sqlite:PATH.db or postgresql://USER:PASSWORD@HOST:PORT/DB)`);
  }
  return storageBackends.get(scheme)(at < 0 ? '' : uri.slice(at + 1), opts);
}
