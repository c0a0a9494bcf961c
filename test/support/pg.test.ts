import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './pg.js';

describe('test postgres', () => {
  it('gives each caller its own empty database on 127.0.0.1', async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    expect(a).not.toEqual(b);
    expect(new URL(a).hostname).toBe('127.0.0.1');
    const client = new pg.Client({ connectionString: a });
    await client.connect();
    const { rows } = await client.query("select count(*)::int as n from information_schema.tables where table_schema = 'public'");
    await client.end();
    expect(rows[0].n).toBe(0);
  });
});
