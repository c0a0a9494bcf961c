import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminCreateDeployment, adminCreateOrganization, adminCreateToken, adminCreateWorkspace,
} from '../../src/server/admin.js';
import { buildApp } from '../../src/server/app.js';
import { masterKeyId, parseMasterKeys } from '../../src/server/crypto.js';
import { createPool } from '../../src/server/db.js';
import { startServer, listen, type RunningServer } from '../../src/server/start.js';
import { createTestDatabase } from '../support/pg.js';
import { TEST_MASTER_KEY } from './helpers.js';

class Lines extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void) {
    this.text += chunk.toString('utf8');
    done();
  }
  entries(): Array<Record<string, unknown>> {
    return this.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  }
}

let databaseUrl: string;
let server: RunningServer;
let token: string;
let org: string;
let ws: string;
let dep: string;
const log = new Lines();

beforeAll(async () => {
  databaseUrl = await createTestDatabase('sock');
  org = (await adminCreateOrganization(databaseUrl, { name: 'Sockets', environmentSecretsFetchingEnabled: true })).id;
  ws = (await adminCreateWorkspace(databaseUrl, { organizationId: org, name: 'ws' })).id;
  dep = (await adminCreateDeployment(databaseUrl, { workspaceId: ws, name: 'dep' })).id;
  token = (await adminCreateToken(databaseUrl, { organizationId: org, name: 'ci', roles: [{ role: 'ORGANIZATION_OWNER' }] })).token;
  server = await startServer({ databaseUrl, masterKey: TEST_MASTER_KEY, port: 0, logStream: log });
});
afterAll(async () => {
  await server?.close();
});

async function http(method: 'GET' | 'POST', path: string, body?: unknown, auth = true) {
  const res = await request(`${server.url}${path}`, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

describe('over a real socket on 127.0.0.1', () => {
  it('serves the API: health, create, resolved read with secrets', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect((await http('GET', '/v1/health', undefined, false)).body).toEqual({ status: 'ok' });
    const created = await http('POST', `/v1/organizations/${org}/environment-objects`, {
      objectKey: 'sock_conn', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: ws, autoLinkDeployments: true,
      connection: { type: 'http', host: 'example.com', password: 'sock-secret-pass', extra: { bearer_token: 'sock-secret-token' } },
    });
    expect(created.status).toBe(200);
    const read = await http('GET', `/v1/organizations/${org}/environment-objects?deploymentId=${dep}&resolveLinked=true&showSecrets=true`);
    expect(read.status).toBe(200);
    expect(read.body.environmentObjects[0].connection).toEqual({ type: 'http', host: 'example.com', password: 'sock-secret-pass', extra: { bearer_token: 'sock-secret-token' } });
    const bad = await http('GET', `/v1/organizations/${org}/environment-objects`);
    expect(bad.status).toBe(400);
    expect(bad.headers['x-request-id']).toBe(bad.body.requestId);
  });

  it('answers errors met before routing, and before there is a request at all, with the API.md error body', async () => {
    // A raw request, so that nothing on the client side re-encodes the path or refuses the header.
    const raw = (text: string) => new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1');
      let out = '';
      socket.on('data', (d) => (out += d.toString('latin1')));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
      socket.write(text);
    });
    const parse = (response: string) => {
      const [head, body] = response.split('\r\n\r\n', 2) as [string, string];
      const status = Number(head.split(' ')[1]);
      const requestId = /^x-request-id: (.*)$/im.exec(head)?.[1]?.trim();
      return { status, requestId, body: JSON.parse(body) as Record<string, unknown> };
    };
    const badUrl = parse(await raw(`GET /v1/organizations/${org}/workspaces/%E0%A4%A HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`));
    expect(badUrl.status).toBe(400);
    expect(badUrl.body).toEqual({ message: expect.stringContaining('percent-encoding'), requestId: badUrl.requestId, statusCode: 400 });
    expect(badUrl.requestId).toMatch(/^req_/);
    const huge = parse(await raw(`GET /v1/health?x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    expect(huge.status).toBe(431);
    expect(huge.body).toEqual({ message: expect.any(String), requestId: huge.requestId, statusCode: 431 });
    expect(huge.requestId).toMatch(/^req_/);
    expect(huge.requestId).not.toBe(badUrl.requestId);
    const longParam = await http('GET', `/v1/organizations/${org}/workspaces/${'w'.repeat(300)}`);
    expect(longParam.status).toBe(414);
    expect(longParam.body).toEqual({ message: expect.stringContaining('longer than the server accepts'), requestId: longParam.headers['x-request-id'], statusCode: 414 });
    // The server goes on serving.
    expect((await http('GET', '/v1/health', undefined, false)).status).toBe(200);
  });

  it('takes a DELETE or GET sent with Content-Type: application/json and no body, as generic HTTP clients send them', async () => {
    const created = await http('POST', `/v1/organizations/${org}/environment-objects`, {
      objectKey: 'sock_del', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws, airflowVariable: { value: 'v' },
    });
    expect(created.status).toBe(200);
    const url = `${server.url}/v1/organizations/${org}/environment-objects/${created.body.id}`;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': '0' };
    const got = await request(url, { method: 'GET', headers });
    expect(got.statusCode).toBe(200);
    await got.body.text();
    const deleted = await request(url, { method: 'DELETE', headers });
    expect(deleted.statusCode).toBe(204);
    await deleted.body.text();
    expect((await http('GET', `/v1/organizations/${org}/environment-objects/${created.body.id}`)).status).toBe(404);
    // A POST with an empty JSON body is still refused.
    const empty = await request(`${server.url}/v1/organizations/${org}/environment-objects`, { method: 'POST', headers });
    expect(empty.statusCode).toBe(400);
    await empty.body.text();
  });

  it('logs one JSON line per request with id, method, route, status and latency, and never a token or secret', async () => {
    await http('GET', `/v1/organizations/${org}/environment-objects?workspaceId=${ws}&showSecrets=true`);
    await http('GET', '/v1/users/self', undefined, false);
    const entries = log.entries();
    const requests = entries.filter((e) => e.msg === 'request');
    expect(requests.length).toBeGreaterThanOrEqual(5);
    for (const e of requests) {
      expect(e).toMatchObject({ level: 'info', requestId: expect.stringMatching(/^req_/), method: expect.any(String), status: expect.any(Number), latencyMs: expect.any(Number) });
    }
    expect(requests.find((e) => e.status === 401)).toMatchObject({ route: '/v1/users/self', method: 'GET' });
    expect(requests.find((e) => e.method === 'POST')).toMatchObject({ route: '/v1/organizations/:org/environment-objects', status: 200 });
    expect(entries.find((e) => e.msg === 'listening')).toMatchObject({ url: server.url });
    for (const forbidden of [token, token.slice(7), 'sock-secret-pass', 'sock-secret-token', 'Bearer', 'authorization']) {
      expect(log.text.includes(forbidden), forbidden).toBe(false);
    }
  });
});

describe('startServer configuration', () => {
  it('refuses to start without a master key, or with a bad one, saying what to do', async () => {
    await expect(startServer({ databaseUrl, masterKey: '', port: 0 })).rejects.toThrow(/ENVMGR_SERVER_MASTER_KEY/);
    await expect(startServer({ databaseUrl, masterKey: Buffer.alloc(16).toString('base64'), port: 0 })).rejects.toThrow(/32-byte/);
    await expect(startServer({ databaseUrl, masterKeyFile: '/nonexistent/key', port: 0 })).rejects.toThrow(/\/nonexistent\/key/);
  });

  it('opens values sealed with an older key when it follows the new one (rotation)', async () => {
    const newKey = Buffer.alloc(32, 7).toString('base64');
    const rotated = await startServer({ databaseUrl, masterKey: `${newKey},${TEST_MASTER_KEY}`, port: 0 });
    try {
      const res = await request(`${rotated.url}/v1/organizations/${org}/environment-objects?workspaceId=${ws}&showSecrets=true`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.body.json()) as { environmentObjects: Array<{ connection: { password: string } }> };
      expect(body.environmentObjects[0]?.connection.password).toBe('sock-secret-pass');
    } finally {
      await rotated.close();
    }
    // Without the key that sealed what the database holds, the server does not start (it could open none of it,
    // and what it sealed the other processes could not open); the message names key ids, never keys.
    const wrong = startServer({ databaseUrl, masterKey: newKey, port: 0 });
    await expect(wrong).rejects.toThrow(new RegExp(`sealed with master key ${masterKeyId(Buffer.from(TEST_MASTER_KEY, 'base64'))}, which is not configured \\(this process has ${masterKeyId(Buffer.alloc(32, 7))}\\)`));
    await expect(wrong).rejects.not.toThrow(newKey);
  });

  it('closes gracefully: an in-flight request finishes, new connections are refused', async () => {
    const pool = createPool(databaseUrl, 2);
    const app = await buildApp({ pool, config: { keyring: parseMasterKeys(TEST_MASTER_KEY, 'k') } });
    app.get('/slow', async () => {
      await sleep(400);
      return { done: true };
    });
    const running = await listen(app, pool, '127.0.0.1', 0, () => undefined);
    const inFlight = request(`${running.url}/slow`).then(async (r) => ({ status: r.statusCode, body: await r.body.json() }));
    await sleep(100);
    const closed = running.close();
    const result = await inFlight;
    expect(result).toEqual({ status: 200, body: { done: true } });
    await closed;
    await expect(request(`${running.url}/v1/health`)).rejects.toThrow();
  });
});
