import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

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
});
