import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, envHttpProxyAgent, request } from './undici.js';

let server: Server;
let base: string;
const seen: Array<{ method: string; url: string; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('the undici modules envmgr loads on their own', () => {
  it('are the very classes undici exports (a release that moves a file fails here)', () => {
    expect(Agent).toBe(undici.Agent);
    expect(envHttpProxyAgent()).toBe(undici.EnvHttpProxyAgent);
  });

  it('in a fresh process: gives agents the API methods (ProxyAgent tunnels with `connect`) without loading the index', () => {
    const script = `
      const { createRequire } = await import('node:module');
      const { sep } = await import('node:path');
      const { Agent } = await import(${JSON.stringify(new URL('../../dist/api/undici.js', import.meta.url).href)});
      const agent = new Agent();
      const methods = ['request', 'stream', 'pipeline', 'upgrade', 'connect'].filter((m) => typeof agent[m] === 'function');
      const cache = Object.keys(createRequire(import.meta.url).cache);
      process.stdout.write(JSON.stringify({ methods, index: cache.some((f) => f.split(sep).slice(-2).join('/') === 'undici/index.js'), loaded: cache.length }));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as { methods: string[]; index: boolean; loaded: number };
    expect(out.methods).toEqual(['request', 'stream', 'pipeline', 'upgrade', 'connect']);
    expect(out.index).toBe(false);
    expect(out.loaded).toBeGreaterThan(0);
  });

  it('requests like undici.request: path and query from the URL, GET by default, PUT with a body', async () => {
    const agent = new Agent();
    try {
      const first = await request(`${base}/v1/things?limit=2&q=a%20b`, { dispatcher: agent });
      expect(first.statusCode).toBe(200);
      expect(await first.body.json()).toEqual({ ok: true });
      const second = await request(new URL(`${base}/v1/put`), { dispatcher: agent, body: 'payload' });
      await second.body.dump();
      const third = await request(`${base}/v1/post`, { dispatcher: agent, method: 'POST', body: '{}' });
      await third.body.dump();
      // No dispatcher given: a shared plain agent.
      const fourth = await request(`${base}/plain`, {});
      await fourth.body.dump();
      expect(seen.slice(-4)).toEqual([
        { method: 'GET', url: '/v1/things?limit=2&q=a%20b', body: '' },
        { method: 'PUT', url: '/v1/put', body: 'payload' },
        { method: 'POST', url: '/v1/post', body: '{}' },
        { method: 'GET', url: '/plain', body: '' },
      ]);
    } finally {
      await agent.close();
    }
  });
});
