import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Client } from '../../src/pg/driver.js';
import { adminUrl, createTestDatabase } from '../support/pg.js';

const DRIVER = new URL('../../dist/pg/driver.js', import.meta.url).href;

/** Runs `body` in a fresh Node process (ESM) after importing the built driver; answers its JSON output. */
function fresh(body: string, before = ''): Record<string, unknown> {
  const script = `${before}\nconst pg = await import(${JSON.stringify(DRIVER)});\n${body}`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as Record<string, unknown>;
}

describe('the pg driver module', () => {
  it("loads node-postgres without Node's internal fetch and leaves no navigator behind", () => {
    const out = fresh(`
      process.stdout.write(JSON.stringify({
        client: typeof pg.Client, pool: typeof pg.Pool, dbError: typeof pg.DatabaseError,
        fetchLoaded: process.moduleLoadList.some((m) => m.includes('internal/deps/undici')),
        navigator: typeof globalThis.navigator === 'object' ? globalThis.navigator.userAgent : typeof globalThis.navigator,
      }));`);
    expect(out).toMatchObject({ client: 'function', pool: 'function', dbError: 'function', fetchLoaded: false });
    // Node >= 21 has its own navigator; on Node 20 the one lent for the load is gone.
    const major = Number(process.versions.node.split('.')[0]);
    expect(out.navigator).toBe(major >= 21 ? `Node.js/${major}` : 'undefined');
  });

  it('leaves a navigator that was already there alone', () => {
    const out = fresh(
      `process.stdout.write(JSON.stringify({ agent: globalThis.navigator.userAgent, client: typeof pg.Client }));`,
      `Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'test-agent' }, configurable: true });`,
    );
    expect(out).toEqual({ agent: 'test-agent', client: 'function' });
  });

  describe('SCRAM in one turn of the event loop', () => {
    const scram = createRequire(import.meta.url)('pg/lib/crypto/utils') as {
      deriveKey(password: string, salt: Uint8Array, iterations: number): Promise<ArrayBuffer | Buffer>;
      hmacSha256(key: ArrayBuffer | Uint8Array, message: string): Promise<ArrayBuffer | Buffer>;
      sha256(data: ArrayBuffer | Uint8Array): Promise<ArrayBuffer | Buffer>;
    };
    const subtle = globalThis.crypto.subtle;
    const hex = (b: ArrayBuffer | Buffer) => Buffer.from(b as ArrayBuffer).toString('hex');

    it("gives WebCrypto's bytes for PBKDF2, HMAC-SHA256 and SHA-256", async () => {
      await fc.assert(
        fc.asyncProperty(fc.string({ maxLength: 20 }), fc.uint8Array({ minLength: 1, maxLength: 24 }), fc.integer({ min: 1, max: 64 }), fc.string({ maxLength: 40 }), async (password, salt, iterations, message) => {
          const key = await subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
          const want = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, 256);
          const salted = await scram.deriveKey(password, salt, iterations);
          expect(hex(salted)).toBe(hex(want));
          const hmacKey = await subtle.importKey('raw', want, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
          expect(hex(await scram.hmacSha256(want, message))).toBe(hex(await subtle.sign('HMAC', hmacKey, new TextEncoder().encode(message))));
          expect(hex(await scram.hmacSha256(salted, message))).toBe(hex(await subtle.sign('HMAC', hmacKey, new TextEncoder().encode(message))));
          expect(hex(await scram.sha256(salted))).toBe(hex(await subtle.digest('SHA-256', want)));
        }),
        { numRuns: 200 },
      );
    });

    it('derives the key without leaving the current turn (WebCrypto would go through the thread pool)', async () => {
      let turned = false;
      setImmediate(() => (turned = true));
      await scram.deriveKey('password', Buffer.from('salt'), 4096);
      await scram.hmacSha256(Buffer.alloc(32), 'Client Key');
      await scram.sha256(Buffer.alloc(32));
      expect(turned).toBe(false);
    });

    it('logs in to Postgres with scram-sha-256, and a wrong password is still refused', async () => {
      const url = new URL(await createTestDatabase('scram'));
      const method = new Client({ connectionString: adminUrl() });
      await method.connect();
      try {
        const { rows } = await method.query<{ method: string }>("SELECT current_setting('password_encryption') AS method");
        expect(rows[0]?.method).toBe('scram-sha-256');
      } finally {
        await method.end();
      }
      const ok = new Client({ connectionString: url.href });
      await ok.connect();
      expect((await ok.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await ok.end();
      url.password = 'not-the-password';
      const bad = new Client({ connectionString: url.href });
      await expect(bad.connect()).rejects.toThrow(/password authentication failed/);
      await bad.end().catch(() => undefined);
    });
  });
});

