import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, UserError } from '../cli/errors.js';
import { sendJson, startScriptedServer, type ScriptedServer } from '../../test/cli/support/http.js';
import { ApiClient, parseRetryAfter } from './client.js';
import { ApiError } from './errors.js';

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const TOKEN = 'tok-abcdef-123456';
const client = (url: string, extra: Partial<ConstructorParameters<typeof ApiClient>[0]> = {}) =>
  new ApiClient({ apiUrl: url, token: TOKEN, version: '9.9.9', retryBaseMs: 10, ...extra });

describe('ApiClient', () => {
  it('sends the client headers and the bearer token', async () => {
    server = await startScriptedServer((_r, _i, res) => sendJson(res, 200, { status: 'ok' }));
    await client(server.url).health();
    const headers = server.requests[0]!.headers;
    expect(headers['user-agent']).toBe('envmgr/9.9.9');
    expect(headers['x-client-identifier']).toBe('cli');
    expect(headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(server.requests[0]!.url).toBe('/v1/health');
  });

  it('retries 503 twice, then succeeds', async () => {
    server = await startScriptedServer((_r, i, res) => (i < 2 ? sendJson(res, 503, { message: 'busy', requestId: 'r', statusCode: 503 }) : sendJson(res, 200, { status: 'ok' })));
    expect(await client(server.url).health()).toEqual({ status: 'ok' });
    expect(server.requests).toHaveLength(3);
  });

  it('waits as long as Retry-After says on 429', async () => {
    server = await startScriptedServer((_r, i, res) =>
      i === 0 ? sendJson(res, 429, { message: 'slow down', requestId: 'r1', statusCode: 429 }, { 'retry-after': '1' }) : sendJson(res, 200, { status: 'ok' }),
    );
    await client(server.url).health();
    expect(server.requests).toHaveLength(2);
    const gap = server.requests[1]!.at - server.requests[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(990);
  });

  it('gives up after the retries with the last error, request id included', async () => {
    server = await startScriptedServer((_r, _i, res) => sendJson(res, 502, { message: 'bad gateway', requestId: 'req-9', statusCode: 502 }));
    const error = await client(server.url, { retries: 2 }).health().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(502);
    expect((error as ApiError).requestId).toBe('req-9');
    expect((error as Error).message).toContain('request id req-9');
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry a POST on 502 (the server may have acted)', async () => {
    server = await startScriptedServer((_r, _i, res) => sendJson(res, 502, { message: 'bad gateway', requestId: 'x', statusCode: 502 }));
    await expect(client(server.url).createEnvironmentObject('o', { objectKey: 'k', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: 'w' })).rejects.toBeInstanceOf(ApiError);
    expect(server.requests).toHaveLength(1);
  });

  it('turns 401 into an AuthError with the login hint, never echoing the token', async () => {
    server = await startScriptedServer((_r, _i, res) => sendJson(res, 401, { message: 'invalid token', requestId: 'r', statusCode: 401 }));
    const error = await client(server.url).self().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toMatch(/run envmgr login/);
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it('explains the showSecrets 403', async () => {
    server = await startScriptedServer((_r, _i, res) =>
      sendJson(res, 403, { message: 'showSecrets on organization with id org123 is not allowed', requestId: 'r', statusCode: 403 }),
    );
    const error = await client(server.url).listEnvironmentObjects('org123', { workspaceId: 'w', showSecrets: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as Error).message).toMatch(/ask an organization owner to enable/);
    expect((error as Error).message).toContain('envmgr server admin set organization --organization-id org123 --secrets-fetching');
    expect((error as Error).message).not.toMatch(/run without showing secrets/);
  });

  it('says what to do about a role too low for showSecrets', async () => {
    server = await startScriptedServer((_r, _i, res) =>
      sendJson(res, 403, { message: 'showSecrets requires WORKSPACE_AUTHOR (or higher) on workspace w', requestId: 'r', statusCode: 403 }),
    );
    const error = await client(server.url).listEnvironmentObjects('org123', { workspaceId: 'w', showSecrets: true }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^showSecrets requires WORKSPACE_AUTHOR \(or higher\) on workspace w: ask an owner of the workspace for that role/);
  });

  it('reports field errors', async () => {
    server = await startScriptedServer((_r, _i, res) =>
      sendJson(res, 400, { message: 'invalid request', requestId: 'r', statusCode: 400, fieldErrors: [{ field: 'connection.port', message: 'must be <= 65535' }] }),
    );
    const error = await client(server.url).createEnvironmentObject('o', { objectKey: 'k', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: 'w' }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('connection.port: must be <= 65535');
  });

  it('follows offset until totalCount, with repeated array parameters', async () => {
    const all = Array.from({ length: 5 }, (_, i) => ({ id: `w${i}`, name: `ws${i}` }));
    server = await startScriptedServer((r, _i, res) => {
      const url = new URL(r.url, 'http://x');
      const offset = Number(url.searchParams.get('offset'));
      // Serves at most 2 per page whatever the limit asked, as a server with a lower cap would.
      sendJson(res, 200, { workspaces: all.slice(offset, offset + 2), limit: 2, offset, totalCount: all.length });
    });
    const workspaces = await client(server.url).workspaces('org', { workspaceIds: ['a', 'b'] });
    expect(workspaces.map((w) => w.id)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
    expect(server.requests).toHaveLength(3);
    const first = new URL(server.requests[0]!.url, 'http://x');
    expect(first.pathname).toBe('/v1/organizations/org/workspaces');
    expect(first.searchParams.getAll('workspaceIds')).toEqual(['a', 'b']);
  });

  it('fetches the pages after the first a few at a time, and keeps their order', async () => {
    const all = Array.from({ length: 29 }, (_, i) => ({ id: `w${String(i).padStart(2, '0')}`, name: `ws${i}` }));
    let inFlight = 0;
    let most = 0;
    server = await startScriptedServer(async (r, _i, res) => {
      const offset = Number(new URL(r.url, 'http://x').searchParams.get('offset'));
      inFlight++;
      most = Math.max(most, inFlight);
      // Later pages answer sooner, so an order taken from arrival would be wrong.
      await new Promise((resolve) => setTimeout(resolve, offset === 0 ? 0 : 60 - offset));
      inFlight--;
      sendJson(res, 200, { workspaces: all.slice(offset, offset + 3), limit: 3, offset, totalCount: all.length });
    });
    const workspaces = await client(server.url).workspaces('org');
    expect(workspaces.map((w) => w.id)).toEqual(all.map((w) => w.id));
    expect(server.requests).toHaveLength(10);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
  });

  it('reads the listing again page after page when it changes while being read', async () => {
    let all = Array.from({ length: 6 }, (_, i) => ({ id: `w${i}`, name: `ws${i}` }));
    server = await startScriptedServer((r, i, res) => {
      const offset = Number(new URL(r.url, 'http://x').searchParams.get('offset'));
      // Someone adds a workspace right after the first page was served.
      if (i === 1) all = [...all, { id: 'w6', name: 'ws6' }];
      sendJson(res, 200, { workspaces: all.slice(offset, offset + 2), limit: 2, offset, totalCount: all.length });
    });
    const workspaces = await client(server.url).workspaces('org');
    expect(workspaces.map((w) => w.id)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'w6']);
    // The re-read starts over at offset 0 and follows offset to the new totalCount.
    const offsets = server.requests.map((q) => Number(new URL(q.url, 'http://x').searchParams.get('offset')));
    expect(offsets.slice(-4)).toEqual([0, 2, 4, 6]);
  });

  it('stops paging at the page cap instead of following a server that never ends', async () => {
    server = await startScriptedServer((r, _i, res) => {
      const offset = Number(new URL(r.url, 'http://x').searchParams.get('offset'));
      sendJson(res, 200, { workspaces: [{ id: `w${offset}`, name: 'x' }], limit: 1, offset, totalCount: 1_000_000 });
    });
    await expect(client(server.url).workspaces('org')).rejects.toThrow(/did not end after 100 pages \(100 items read\); narrow the query/);
    expect(server.requests).toHaveLength(100);
  });

  it('fails clearly when nothing listens, after retrying', async () => {
    server = await startScriptedServer((_r, _i, res) => sendJson(res, 200, {}));
    const url = server.url;
    await server.close();
    server = undefined;
    const error = await client(url).health().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused/);
  });

  it('says what to check when an answer has no body or no message, instead of "HTTP 404 (HTTP 404)" or a TypeError', async () => {
    server = await startScriptedServer((req, _i, res) => {
      const status = req.url === '/v1/health' ? 200 : req.url === '/v1/users/self' ? 200 : req.url!.includes('gone') ? 404 : 502;
      if (req.url === '/v1/users/self') return sendJson(res, 200, {});
      res.writeHead(status).end();
    });
    const api = client(server.url);
    await expect(api.health()).rejects.toThrow(/GET \/v1\/health at http:\/\/127\.0\.0\.1:\d+ answered HTTP 200 with an empty body; check that the URL points at an Environment Manager/);
    await expect(api.self()).rejects.toThrow(/answered without an organizationId; check that the URL points at an Environment Manager/);
    const missing = (await api.organization('gone').catch((e: unknown) => e)) as Error;
    expect(missing.message).toMatch(/^not found, with no message: check that http:\/\/127\.0\.0\.1:\d+ is the Environment Manager's address \(HTTP 404\)$/);
    const failed = (await client(server.url, { retries: 0 }).organization('x').catch((e: unknown) => e)) as Error;
    expect(failed.message).toMatch(/^the server failed without saying why; try again later.* \(HTTP 502\)$/);
  });

  it('asks a server that took the request and stayed silent only once more, saying so', async () => {
    server = await startScriptedServer(() => {
      // never answers
    });
    const notices: string[] = [];
    const error = (await client(server.url, { requestTimeoutMs: 150, notice: (m) => notices.push(m) }).health().catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/no response in time/);
    expect(server.requests).toHaveLength(2);
    expect(notices).toEqual([expect.stringMatching(/did not answer within 150 ms; trying once more$/)]);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
