import pg from 'pg';
import type { AirflowConnection, AirflowPool, AirflowVariable } from '../../src/airflow/model.js';
import { fernetCore, HEAP } from '../../src/metadb/fernet-core.js';
import type { DesiredObject } from '../../src/metadb/plan.js';

/** SipHash-2-4 of `data` under `key` by the Fernet module (its test vectors are in fernet-core.test.ts): 8 bytes. */
export function sipHash(key: Buffer, data: Buffer): Buffer {
  const core = fernetCore();
  const mem = core.reserve(HEAP + 64 + data.length);
  mem.set(key, HEAP + 16);
  mem.set(data, HEAP + 64);
  core.fn.sip(HEAP + 64, data.length, HEAP + 16, HEAP);
  return Buffer.from(core.bytes.subarray(HEAP, HEAP + 8));
}

export async function openClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** A varied connection for index i: optional columns absent, empty or set, unicode, nested extras. */
export function makeConnection(i: number): AirflowConnection {
  const id = `conn_${String(i).padStart(5, '0')}`;
  switch (i % 7) {
    case 0:
      // Only the required columns.
      return { conn_id: id, conn_type: 'generic' };
    case 1:
      return {
        conn_id: id, conn_type: 'postgres', host: `db${i}.example.com`, login: 'airflow', password: `p@ss/${i}:wörd`,
        schema: 'airflow', port: 5432, extra: { sslmode: 'require' }, description: `main db ${i}`,
      };
    case 2:
      // Unicode everywhere, port NULL, extra NULL.
      return { conn_id: id, conn_type: 'http', host: 'https://ünïcode.example/路径', login: 'usér', password: '密码🔑', port: null, extra: null, description: 'éàü 日本 🚀' };
    case 3:
      // Empty strings: '' password and {} extra are stored as NULL by Airflow; '' host/schema stay ''.
      return { conn_id: id, conn_type: 'aws', host: '', schema: '', login: '', password: '', extra: {} };
    case 4:
      return {
        conn_id: id, conn_type: 'google_cloud_platform', extra: { project: `proj-${i}`, nested: { a: [1, 2, { b: null }], t: true }, n: 1.5 },
      };
    case 5:
      return { conn_id: id, conn_type: 'snowflake', login: 'user', password: 'x'.repeat(300), port: 65535, extra: { quote: 'a "b" \\ c\nd' } };
    default:
      return { conn_id: id, conn_type: 'ssh', host: '10.0.0.1', port: 1, description: null, login: null, password: null };
  }
}

export function makeVariable(i: number): AirflowVariable {
  const key = `var_${String(i).padStart(4, '0')}`;
  switch (i % 4) {
    case 0:
      return { key, value: '' };
    case 1:
      return { key, value: `{"k": ${i}, "ü": "日本"}`, description: 'json text' };
    case 2:
      return { key, value: 'line1\nline2\t"quoted" 🚀', description: null };
    default:
      return { key, value: String(i) };
  }
}

export function makePool(i: number): AirflowPool {
  return { name: `pool_${i}`, slots: i === 0 ? -1 : i * 3, description: i % 2 ? `pool ${i} ü` : null, include_deferred: i % 3 === 0 };
}

export function desiredSet(nConn: number, nVar: number, nPool: number, source = 'settings'): DesiredObject[] {
  const out: DesiredObject[] = [];
  for (let i = 0; i < nConn; i++) {
    const c = makeConnection(i);
    out.push({ kind: 'connection', key: c.conn_id, source, object: c });
  }
  for (let i = 0; i < nVar; i++) {
    const v = makeVariable(i);
    out.push({ kind: 'variable', key: v.key, source, object: v });
  }
  for (let i = 0; i < nPool; i++) {
    const p = makePool(i);
    out.push({ kind: 'pool', key: p.name, source, object: p });
  }
  return out;
}

/** Every row of the tables envmgr touches (and whether its own table exists), for before/after comparisons. */
export async function dumpTables(client: pg.ClientBase, schema = 'public'): Promise<Record<string, unknown>> {
  const { rows: tables } = await client.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
    [schema],
  );
  const out: Record<string, unknown> = { tables: tables.map((t) => t.table_name) };
  for (const { table_name } of tables) {
    const { rows } = await client.query(`SELECT to_jsonb(t) AS r, t.xmin::text AS xmin FROM "${schema}"."${table_name}" t ORDER BY to_jsonb(t)::text`);
    out[table_name] = rows;
  }
  return out;
}

/** Records the SQL text of every statement a client sends. */
export function recordStatements(client: pg.Client): string[] {
  const log: string[] = [];
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const first = args[0];
    log.push(typeof first === 'string' ? first : String((first as { text?: string }).text ?? ''));
    return original(...args);
  };
  return log;
}

/** Statements that write (COPY included), or that take a transaction id (txid_current), which a no-op sync must not. */
export const WRITE_SQL = /^\s*(INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|COMMENT|TRUNCATE|COPY)\b|\btxid_current\b/i;

/** Counts how many queries a client has in flight at most (node-postgres wants one at a time). */
export function trackInFlight(client: pg.Client): { max: number; calls: number } {
  const seen = { max: 0, calls: 0 };
  let inFlight = 0;
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    inFlight++;
    seen.calls++;
    seen.max = Math.max(seen.max, inFlight);
    const done = () => {
      inFlight--;
    };
    const submittable = args[0] as { submit?: unknown; callback?: (...a: unknown[]) => void };
    if (typeof submittable?.submit === 'function') {
      // A COPY (copy.ts) is a query object whose callback reports its end.
      const callback = submittable.callback;
      submittable.callback = (...a: unknown[]) => {
        done();
        callback?.(...a);
      };
      return original(...args);
    }
    const result = original(...args) as Promise<unknown>;
    result.then(done, done);
    return result;
  };
  return seen;
}
