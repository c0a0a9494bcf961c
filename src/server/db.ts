import type pg from 'pg';
import { parseJsonExact } from '../airflow/pyjson.js';
import { Pool, types } from '../pg/driver.js';

/** Anything that runs a query: the pool or a client inside a transaction. Repositories take one of these. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/** Postgres' `json` and `jsonb` type ids. */
const JSON_TYPES = new Set([114, 3802]);

/**
 * Type parsers for the server's connections: json and jsonb columns as parseJsonExact reads them, so an integer
 * beyond 2^53 in a stored extra comes back with every digit (pg's default, JSON.parse, would round it).
 */
const exactTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    JSON_TYPES.has(oid) && format !== 'binary' ? parseJsonExact : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};

export function createPool(databaseUrl: string, max = 10): pg.Pool {
  const pool = new Pool({ connectionString: databaseUrl, max, idleTimeoutMillis: 30_000, types: exactTypes });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

export async function withTransaction<T>(pool: pg.Pool, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    client.release();
  }
}
