import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { LOOKUP_APPLICATION_NAME, LookupConnection, TokenLookups } from '../../src/server/auth.js';
import { buildApp } from '../../src/server/app.js';
import { parseMasterKeys } from '../../src/server/crypto.js';
import { TEST_MASTER_KEY } from './helpers.js';
import { createOrganizationIn, createTokenIn } from '../../src/server/admin.js';
import { hashToken } from '../../src/server/crypto.js';
import { createPool, type Queryable } from '../../src/server/db.js';
import { migrate } from '../../src/server/migrations.js';
import { createTestDatabase } from '../support/pg.js';

let pool: pg.Pool;
let org: string;
const tokens: Array<{ id: string; token: string }> = [];

beforeAll(async () => {
  pool = createPool(await createTestDatabase('lookups'), 4);
  await migrate(pool);
  org = (await createOrganizationIn(pool, { name: 'Lookups', environmentSecretsFetchingEnabled: false })).id;
  for (let i = 0; i < 5; i++) tokens.push(await createTokenIn(pool, { organizationId: org, name: `t${i}`, roles: [{ role: 'ORGANIZATION_MEMBER' }] }));
}, 60_000);

afterAll(async () => {
  await pool?.end();
});

/** The real pool, counting the statements sent through it. */
function counting(q: pg.Pool): { q: Queryable; count: () => number } {
  let n = 0;
  const wrapped = {
    query: (...args: Parameters<pg.Pool['query']>) => {
      n += 1;
      return (q.query as (...a: unknown[]) => unknown)(...args);
    },
  } as unknown as Queryable;
  return { q: wrapped, count: () => n };
}

describe('TokenLookups', () => {
  it('answers each request with its own token row, sharing round trips when requests arrive together', async () => {
    const { q, count } = counting(pool);
    const lookups = new TokenLookups(q, 1);
    const asked = Array.from({ length: 30 }, (_, i) => (i % 6 === 5 ? `envmgr_unknown_${i}` : tokens[i % 6]!.token));
    const rows = await Promise.all(asked.map((t) => lookups.find(hashToken(t))));
    rows.forEach((row, i) => {
      const expected = i % 6 === 5 ? undefined : tokens[i % 6]!.id;
      expect(row?.id, `request ${i}`).toBe(expected);
      if (row) expect(row.token_hash.equals(hashToken(asked[i]!))).toBe(true);
    });
    // All 30 were asked in one turn of the event loop: one query answers them all.
    expect(count()).toBe(1);
  });

  it('sends the requests arriving while a lookup is out together in the next one', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let sent = 0;
    const held = {
      query: async (...args: unknown[]) => {
        sent += 1;
        if (sent === 1) await gate;
        return (pool.query as (...a: unknown[]) => unknown)(...args);
      },
    } as unknown as Queryable;
    const lookups = new TokenLookups(held, 1);
    const first = lookups.find(hashToken(tokens[0]!.token));
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    await turn();
    expect(sent).toBe(1);
    // Three more requests, each in a later turn, while the first lookup is held back.
    const later: Array<Promise<unknown>> = [];
    for (const t of [tokens[1]!, tokens[2]!, tokens[1]!]) {
      later.push(lookups.find(hashToken(t.token)));
      await turn();
    }
    expect(sent).toBe(1);
    release();
    const rows = (await Promise.all([first, ...later])) as Array<{ id: string } | undefined>;
    expect(rows.map((r) => r?.id)).toEqual([tokens[0]!.id, tokens[1]!.id, tokens[2]!.id, tokens[1]!.id]);
    expect(sent).toBe(2);
  });

  it('sends every lookup after its request arrived: a change in the database holds for the next request', async () => {
    const lookups = new TokenLookups(pool, 2);
    const hash = hashToken(tokens[0]!.token);
    expect((await lookups.find(hash))?.expired).toBe(false);
    await pool.query("UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1", [tokens[0]!.id]);
    expect((await lookups.find(hash))?.expired).toBe(true);
    await pool.query('UPDATE organizations SET environment_secrets_fetching_enabled = true WHERE id = $1', [org]);
    expect((await lookups.find(hashToken(tokens[1]!.token)))?.secrets_fetching_enabled).toBe(true);
    await pool.query('DELETE FROM api_tokens WHERE id = $1', [tokens[1]!.id]);
    expect(await lookups.find(hashToken(tokens[1]!.token))).toBeUndefined();
  });

  it('fails every request of a batch whose query fails, and recovers for the next', async () => {
    let fail = true;
    const flaky = {
      query: (...args: unknown[]) => (fail ? Promise.reject(new Error('connection lost')) : (pool.query as (...a: unknown[]) => unknown)(...args)),
    } as unknown as Queryable;
    const lookups = new TokenLookups(flaky, 1);
    const results = await Promise.allSettled([lookups.find(hashToken(tokens[2]!.token)), lookups.find(hashToken(tokens[3]!.token))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect((await lookups.find(hashToken(tokens[2]!.token)))?.id).toBe(tokens[2]!.id);
  });
});

describe('LookupConnection', () => {
  it('answers queries on a session of its own that plans prepared statements once', async () => {
    const connection = new LookupConnection(pool.options);
    try {
      const { rows } = await connection.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode');
      expect(rows[0]?.plan_cache_mode).toBe('force_generic_plan');
      const lookups = new TokenLookups(connection, 1);
      expect((await lookups.find(hashToken(tokens[4]!.token)))?.id).toBe(tokens[4]!.id);
      // The pool's own sessions keep the default.
      expect((await pool.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')).rows[0]?.plan_cache_mode).toBe('auto');
    } finally {
      await connection.close();
    }
  });

  it('opens a new session when its backend was terminated, and the lookup in flight still succeeds', async () => {
    const connection = new LookupConnection(pool.options);
    try {
      const pid = (await connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await pool.query('SELECT pg_terminate_backend($1)', [pid]);
      const lookups = new TokenLookups(connection, 1);
      expect((await lookups.find(hashToken(tokens[4]!.token)))?.id).toBe(tokens[4]!.id);
      const again = (await connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      expect(again).not.toBe(pid);
    } finally {
      await connection.close();
    }
  });

  it('reports an SQL error without dropping its session, and refuses queries once closed', async () => {
    const connection = new LookupConnection(pool.options);
    const pid = (await connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await expect(connection.query('SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table/);
    expect((await connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid).toBe(pid);
    await connection.close();
    await expect(connection.query('SELECT 1')).rejects.toThrow(/closing/);
  });

  it('belongs to the app: its sessions open with the first request and end when the app closes', async () => {
    const sessions = async () =>
      Number((await pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
        [LOOKUP_APPLICATION_NAME],
      )).rows[0]!.n);
    const before = await sessions();
    const app = await buildApp({ pool, config: { keyring: parseMasterKeys(TEST_MASTER_KEY, 'k') } });
    try {
      const res = await app.inject({ method: 'GET', url: '/v1/users/self', headers: { authorization: `Bearer ${tokens[4]!.token}` } });
      expect(res.statusCode).toBe(200);
      expect(await sessions()).toBeGreaterThan(before);
    } finally {
      await app.close();
    }
    // A backend leaves pg_stat_activity a moment after its client hung up.
    for (let i = 0; i < 200 && (await sessions()) > before; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await sessions()).toBe(before);
  });
});
