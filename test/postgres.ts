/**
 * The PostgreSQL server the storage tests use: KILN_TEST_POSTGRES (which .ci/run sets), e.g.
 * postgresql://kiln:kiln@127.0.0.1:5432/kiln_test. Without it, or when the server does not answer,
 * PostgreSQL tests skip and say why. Every storage a test opens gets a schema of its own, named
 * after this process, and `dropTestSchemas` removes them, so runs never see each other's studies.
 */
import { connectPostgresSync } from '../src/nas/storage/postgres-sync.js';

export const POSTGRES_URI = process.env.KILN_TEST_POSTGRES ?? '';

function probe(): string | false {
  if (POSTGRES_URI === '') return 'KILN_TEST_POSTGRES is not set (e.g. postgresql://kiln:kiln@127.0.0.1:5432/kiln_test)';
  try {
    connectPostgresSync(POSTGRES_URI).close();
    return false;
  } catch (e) {
    return `PostgreSQL at KILN_TEST_POSTGRES does not answer: ${(e as Error).message}`;
  }
}

/** Why PostgreSQL tests are skipped, or false when the server answers. */
export const noPostgres: string | false = probe();

const RUN = `kiln_test_${Date.now().toString(36)}_${process.pid}`;
const schemas: string[] = [];

/** KILN_TEST_POSTGRES pointing at a schema no other test or run uses (`?schema=`), created on first open. */
export function freshPostgresUri(): string {
  const schema = `${RUN}_${schemas.length}`;
  schemas.push(schema);
  const url = new URL(POSTGRES_URI);
  url.searchParams.set('schema', schema);
  return url.href;
}

/** Runs SQL on the test server outside any storage (to plant foreign tables, a future version, ...). */
export function postgresSql(sql: string, values: unknown[] = []): Record<string, unknown>[] {
  const db = connectPostgresSync(POSTGRES_URI);
  try {
    return db.query(sql, values).rows;
  } finally {
    db.close();
  }
}

/** Drops every schema this process handed out. */
export function dropTestSchemas(): void {
  if (noPostgres || schemas.length === 0) return;
  postgresSql(schemas.map((s) => `DROP SCHEMA IF EXISTS "${s}" CASCADE;`).join('\n'));
}
