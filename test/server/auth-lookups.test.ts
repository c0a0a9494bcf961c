import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { TokenLookups } from '../../src/server/auth.js';
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
    // One lookup goes at once; the 29 arriving while it is out go together in the next.
    expect(count()).toBe(2);
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
