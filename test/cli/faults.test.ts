import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCreateToken } from '../../src/server/index.js';
import { baseEnv, runCli, tempHome } from './support/cli.js';
import { sendJson, startScriptedServer, type ScriptedServer } from './support/http.js';
import { startTestEnvironmentManager, type TestEnvironmentManager } from './support/server.js';

const WORKSPACES = { workspaces: [{ id: 'w1', name: 'only', organizationId: 'o1', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' }], limit: 1000, offset: 0, totalCount: 1 };

/** The CLI pointed at `url` through the environment token, with the organization given so one call is made. */
async function envFor(url: string, extra: NodeJS.ProcessEnv = {}) {
  const home = await tempHome();
  return baseEnv(home, { ENVMGR_API_TOKEN: 'fault-token-1234', ENVMGR_DOMAIN: url, ENVMGR_ORGANIZATION_ID: 'o1', ...extra });
}

describe('faults, on a real HTTP server on 127.0.0.1', () => {
  let server: ScriptedServer | undefined;
  afterAll(async () => server?.close());

  it('503 twice then 200: succeeds', async () => {
    server = await startScriptedServer((_r, i, res) => (i < 2 ? sendJson(res, 503, { message: 'unavailable', requestId: `r${i}`, statusCode: 503 }) : sendJson(res, 200, WORKSPACES)));
    const result = await runCli(['workspace', 'list'], { env: await envFor(server.url) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('only\tw1\tfalse\n');
    expect(server.requests).toHaveLength(3);
    expect(server.requests.every((r) => r.url.startsWith('/v1/organizations/o1/workspaces'))).toBe(true);
    await server.close();
    server = undefined;
  });

  it('429 with Retry-After: waits that long before the next request', async () => {
    server = await startScriptedServer((_r, i, res) =>
      i === 0 ? sendJson(res, 429, { message: 'too many requests', requestId: 'r0', statusCode: 429 }, { 'retry-after': '2' }) : sendJson(res, 200, WORKSPACES),
    );
    const result = await runCli(['workspace', 'list'], { env: await envFor(server.url) });
    expect(result.code, result.stderr).toBe(0);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(1990);
    await server.close();
    server = undefined;
  });

  it('a Retry-After longer than a minute fails at once, saying when to retry', async () => {
    server = await startScriptedServer((_r, _i, res) => sendJson(res, 429, { message: 'too many requests', requestId: 'r0', statusCode: 429 }, { 'retry-after': '3600' }));
    const result = await runCli(['workspace', 'list'], { env: await envFor(server.url) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/try again after 3600 s/);
    expect(server.requests).toHaveLength(1);
    await server.close();
    server = undefined;
  });

  it('server down: a clear error and exit 1, well before the test would kill it', async () => {
    const gone = await startScriptedServer((_r, _i, res) => sendJson(res, 200, {}));
    const url = gone.url;
    await gone.close();
    const result = await runCli(['workspace', 'list'], { env: await envFor(url), timeoutMs: 15_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused; check the URL/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);

    // auth status still shows the login it has, says the check could not be made, and exits 1 with the same reason.
    const status = await runCli(['auth', 'status'], { env: await envFor(url), timeoutMs: 15_000 });
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/^api url\thttp:\/\/127\.0\.0\.1:\d+$/m);
    expect(status.stdout).toMatch(/^token valid\tunknown \(the server did not answer\)$/m);
    expect(status.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused/);
    const json = await runCli(['auth', 'status', '--json'], { env: await envFor(url), timeoutMs: 15_000 });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ organizationId: 'o1', tokenSource: 'env' });
    expect(JSON.parse(json.stdout).tokenValid).toBeUndefined();
  });

  it('a server that accepts but never answers: the request timeout ends it with exit 1', async () => {
    const sockets: import('node:net').Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    try {
      const result = await runCli(['workspace', 'list'], { env: await envFor(`http://127.0.0.1:${port}`, { ENVMGR_HTTP_TIMEOUT: '0.5' }), timeoutMs: 20_000 });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/no response in time/);
      // The first attempt and one retry, said on stderr while it waits (not three silent ones: two minutes at 30 s).
      expect(sockets.length).toBe(2);
      expect(result.stderr).toMatch(/^http:\/\/127\.0\.0\.1:\d+ did not answer within 500 ms; trying once more$/m);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('rejected tokens against the real server', () => {
  let em: TestEnvironmentManager;
  beforeAll(async () => {
    em = await startTestEnvironmentManager();
  });
  afterAll(async () => em?.close());

  it('an unknown stored token: exit 4 with the login hint for that domain', async () => {
    const home = await tempHome();
    const env = baseEnv(home);
    expect((await runCli(['login', em.url, '--with-token', '--workspace-id', 'alpha'], { env, stdin: em.token })).code).toBe(0);
    const domain = new URL(em.url).host;
    await writeFile(join(home, '.envmgr', 'credentials.json'), JSON.stringify({ version: 1, tokens: { [domain]: 'revoked-token-999' } }), { mode: 0o600 });
    const result = await runCli(['deployment', 'list'], { env });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`run envmgr login ${domain}`);
  });

  it('a corrupt credentials file: exit 1 with one line that says what to do, not an unexpected error', async () => {
    const home = await tempHome();
    const env = baseEnv(home);
    expect((await runCli(['login', em.url, '--with-token', '--workspace-id', 'alpha'], { env, stdin: em.token })).code).toBe(0);
    await writeFile(join(home, '.envmgr', 'credentials.json'), '{not json', { mode: 0o600 });
    for (const args of [['workspace', 'list'], ['workspace', 'list', '--verbose']]) {
      const result = await runCli(args, { env });
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain('credentials.json is not valid JSON; delete it and run envmgr login again');
      expect(result.stderr).not.toMatch(/unexpected|\n\s+at /);
    }
  });

  it('an expired token: exit 4', async () => {
    const { token } = await adminCreateToken(em.databaseUrl, { organizationId: em.organizationId, name: 'old', roles: [{ role: 'ORGANIZATION_OWNER' }], expiresAt: '2020-01-01T00:00:00Z' });
    const home = await tempHome();
    const result = await runCli(['workspace', 'list'], { env: baseEnv(home, { ENVMGR_API_TOKEN: token, ENVMGR_DOMAIN: em.url }) });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/not authenticated/);
    expect(result.stderr).not.toContain(token);
    // login says why the server refused it, not only that it did.
    const login = await runCli(['login', em.url, '--with-token'], { env: baseEnv(home), stdin: token });
    expect(login.code).toBe(4);
    expect(login.stderr).toMatch(/^error: the token was not accepted by .* \(the API token has expired: ask for a new token\); check the token/m);
    expect(login.stderr).not.toContain(token);
  });

  it('names ENVMGR_CA_FILE, not --ca-file, when the CA file the variable names cannot be read', async () => {
    const home = await tempHome();
    const result = await runCli(['workspace', 'list'], { env: baseEnv(home, { ENVMGR_API_TOKEN: 'x-token-123456', ENVMGR_DOMAIN: em.url, ENVMGR_CA_FILE: '/nonexistent/ca.pem' }) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot read the CA file \/nonexistent\/ca\.pem \(ENVMGR_CA_FILE\)/);
  });
});
