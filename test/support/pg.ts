import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** The shared test cluster's admin URL (database `postgres`). */
export function adminUrl(): string {
  return inject('pgAdminUrl');
}

/** Creates a fresh, empty database on the shared test cluster and returns its URL. */
export async function createTestDatabase(prefix = 't'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`.toLowerCase();
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}
