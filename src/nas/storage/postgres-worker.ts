/**
 * Worker thread behind `connectPostgresSync`: it owns the async `pg` client. Each request from the
 * blocked caller is answered on the shared port, then the shared flag is raised and notified.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import pg from 'pg';
import type { PgAnswer, PgRequest, PgValue, PgWorkerData } from './postgres-sync.js';

const { flag, port, config } = workerData as PgWorkerData & { port: MessagePort };
let client: pg.Client | undefined;
/** An error the idle connection raised (server gone); the next request reports it. */
let lost: Error | undefined;
/** Parameterized statements are prepared once per connection, named by their text. */
const prepared = new Map<string, string>();

async function handle(req: PgRequest): Promise<PgValue> {
  if (req.op === 'connect') {
    client = new pg.Client(config);
    client.on('error', (e) => { lost = e; });
    await client.connect();
    return null;
  }
  if (!client) throw new Error('not connected');
  if (req.op === 'end') {
    // A connection the server already ended has nothing left to close.
    if (!lost) await client.end();
    return null;
  }
  if (lost) throw lost;
  let name: string | undefined;
  if (req.values.length > 0) {
    name = prepared.get(req.text) ?? `kiln${prepared.size}`;
    prepared.set(req.text, name);
  }
  const res = await client.query({ name, text: req.text, values: req.values });
  return { rows: res.rows, rowCount: res.rowCount ?? 0 };
}

parentPort!.on('message', async (req: PgRequest) => {
  let answer: PgAnswer;
  try {
    answer = { ok: true, value: await handle(req) };
  } catch (e) {
    const err = e as Error & { code?: string };
    answer = { ok: false, error: { message: err.message, code: err.code } };
  }
  port.postMessage(answer);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
