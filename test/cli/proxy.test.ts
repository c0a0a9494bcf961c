import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, tempHome } from './support/cli.js';
import { sendJson, startScriptedServer, type ScriptedServer } from './support/http.js';

const WORKSPACES = { workspaces: [{ id: 'w1', name: 'via-proxy', organizationId: 'o1', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' }], limit: 1000, offset: 0, totalCount: 1 };

/** A small forward proxy on 127.0.0.1 (CONNECT tunnels and absolute-URI requests) that records what it carried. */
async function startProxy(): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createHttpServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '');
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  server.on('connect', (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const upstream = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let api: ScriptedServer;
let proxy: Awaited<ReturnType<typeof startProxy>>;
beforeAll(async () => {
  api = await startScriptedServer((_r, _i, res) => sendJson(res, 200, WORKSPACES));
  proxy = await startProxy();
});
afterAll(async () => {
  await api?.close();
  await proxy?.close();
});

describe('proxies and CAs', () => {
  it('goes through HTTP_PROXY, and around it for hosts in NO_PROXY', async () => {
    const home = await tempHome();
    const common = { ENVMGR_API_TOKEN: 'proxy-token-1234', ENVMGR_DOMAIN: api.url, ENVMGR_ORGANIZATION_ID: 'o1' };
    const via = await runCli(['workspace', 'list'], { env: baseEnv(home, { ...common, HTTP_PROXY: proxy.url }) });
    expect(via.code, via.stderr).toBe(0);
    expect(via.stdout).toBe('via-proxy\tw1\tfalse\n');
    expect(proxy.seen.length).toBe(1);
    expect(proxy.seen[0]).toContain(`127.0.0.1:${api.port}`);

    const around = await runCli(['workspace', 'list'], { env: baseEnv(home, { ...common, HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }) });
    expect(around.code, around.stderr).toBe(0);
    expect(proxy.seen.length).toBe(1);
    expect(api.requests.length).toBe(2);
  });

  it('names a proxy variable that is not a URL, instead of an unexpected "Invalid URL"', async () => {
    const home = await tempHome();
    const result = await runCli(['workspace', 'list'], {
      env: baseEnv(home, { ENVMGR_API_TOKEN: 'proxy-token-1234', ENVMGR_DOMAIN: api.url, ENVMGR_ORGANIZATION_ID: 'o1', HTTPS_PROXY: 'user:pw-9z@::bad' }),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error: HTTPS_PROXY (or its lower-case spelling) is not an http:// or https:// URL; set it like http://proxy.example.com:3128\n');
  });

  it('names an unreadable --ca-file', async () => {
    const home = await tempHome();
    const result = await runCli(['workspace', 'list', '--ca-file', '/nonexistent/ca.pem'], {
      env: baseEnv(home, { ENVMGR_API_TOKEN: 'proxy-token-1234', ENVMGR_DOMAIN: api.url, ENVMGR_ORGANIZATION_ID: 'o1' }),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot read the CA file \/nonexistent\/ca\.pem \(--ca-file\): ENOENT/);
  });

  it('trusts a private CA given with --ca-file (and not without it)', async () => {
    const home = await tempHome();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(home, 'key.pem'), '-out', join(home, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const tls = createHttpsServer({ key: readFileSync(join(home, 'key.pem')), cert: readFileSync(join(home, 'cert.pem')) }, (_req, res) => sendJson(res, 200, WORKSPACES));
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    try {
      const env = baseEnv(home, { ENVMGR_API_TOKEN: 'tls-token-1234', ENVMGR_DOMAIN: `https://127.0.0.1:${(tls.address() as AddressInfo).port}`, ENVMGR_ORGANIZATION_ID: 'o1' });
      const untrusted = await runCli(['workspace', 'list'], { env });
      expect(untrusted.code).toBe(1);
      expect(untrusted.stderr).toMatch(/cannot reach https:\/\/127\.0\.0\.1:\d+: its TLS certificate is not trusted \(\w+\); pass --ca-file/);
      const trusted = await runCli(['workspace', 'list', '--ca-file', join(home, 'cert.pem')], { env });
      expect(trusted.code, trusted.stderr).toBe(0);
      expect(trusted.stdout).toBe('via-proxy\tw1\tfalse\n');
      const fromEnv = await runCli(['workspace', 'list'], { env: { ...env, ENVMGR_CA_FILE: join(home, 'cert.pem') } });
      expect(fromEnv.code, fromEnv.stderr).toBe(0);
    } finally {
      tls.closeAllConnections();
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    }
  });
});
