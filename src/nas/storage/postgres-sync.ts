import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type pg from 'pg';

/** What the caller asks the worker (postgres-worker.ts). */
export type PgRequest =
  | { op: 'connect' }
  | { op: 'query'; text: string; values: unknown[] }
  | { op: 'end' };

export interface PgResult<R> { rows: R[]; rowCount: number }

/** A query's rows, or null for connect and end. */
export type PgValue = PgResult<unknown> | null;

export type PgAnswer =
  | { ok: true; value: PgValue }
  | { ok: false; error: { message: string; code?: string } };

export interface PgWorkerData { flag: Int32Array; config: pg.ClientConfig }

/** An error from the server or the connection; `code` is PostgreSQL's SQLSTATE or Node's errno code. */
export class PgError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = 'PgError';
  }
}

/** A PostgreSQL connection with a blocking API; statements of a transaction are plain queries on it. */
export interface SyncPgClient {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): PgResult<R>;
  close(): void;
}

/**
 * Blocks until the worker has raised `flag` and its answer is on `answers`, or `waitMs` passed
 * (null). A wake-up alone proves nothing: the worker raises the flag and then notifies, so the
 * notify of one answer can land in the wait for the next request (the caller saw the flag, read
 * the answer and asked again in between) and wake it with no answer posted yet.
 */
export function waitForAnswer(flag: Int32Array, answers: MessagePort, waitMs: number): PgAnswer | null {
  const deadline = performance.now() + waitMs;
  for (;;) {
    if (Atomics.load(flag, 0) !== 0) {
      const received = receiveMessageOnPort(answers);
      if (received) return received.message as PgAnswer;
    }
    const left = deadline - performance.now();
    if (left <= 0) return null;
    Atomics.wait(flag, 0, 0, left);
  }
}

/** pg gives up on a query after this long; the caller waits a little longer for its answer. */
const QUERY_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Connects with the async `pg` driver in a worker thread and blocks the calling thread on each
 * request (`Atomics.wait` on a shared flag, then `receiveMessageOnPort`), so a synchronous Storage
 * can sit on PostgreSQL. The worker is unref'd: it never keeps the process alive.
 * Throws PgError when the server cannot be reached or refuses the login.
 */
export function connectPostgresSync(connectionString: string): SyncPgClient {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1: answers, port2 } = new MessageChannel();
  const config: pg.ClientConfig = {
    connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS, fallback_application_name: 'kiln',
  };
  const data: PgWorkerData & { port: unknown } = { flag, config, port: port2 };
  // execArgv: [] so that the caller's flags (--input-type=module under `node -e`) do not stop the worker loading.
  const worker = new Worker(new URL('./postgres-worker.js', import.meta.url), { workerData: data, transferList: [port2], execArgv: [] });
  worker.unref();
  let closed = false;
  // The driver times out first; these waits only catch a worker that died or never started.
  const call = (req: PgRequest, waitMs = QUERY_TIMEOUT_MS + 5_000): PgValue => {
    if (closed) throw new Error('PostgreSQL storage is closed');
    Atomics.store(flag, 0, 0);
    worker.postMessage(req);
    const answer = waitForAnswer(flag, answers, waitMs);
    if (!answer) {
      closed = true;
      void worker.terminate();
      throw new PgError(`no answer within ${waitMs / 1000} s`, 'ETIMEDOUT');
    }
    if (!answer.ok) throw new PgError(answer.error.message, answer.error.code);
    return answer.value;
  };
  try {
    call({ op: 'connect' }, CONNECT_TIMEOUT_MS + 5_000);
  } catch (e) {
    closed = true;
    void worker.terminate();
    throw e;
  }
  return {
    query: <R>(text: string, values: unknown[] = []) => call({ op: 'query', text, values }) as PgResult<R>,
    close() {
      if (closed) return;
      try {
        call({ op: 'end' });
      } finally {
        closed = true;
        void worker.terminate();
      }
    },
  };
}
