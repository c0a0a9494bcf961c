// Server under load: two real server processes on one database, many concurrent clients mixing reads (with and
// without showSecrets) and writes for a fixed time. No 5xx, no lost write (every acknowledged write reads back).
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { Agent } from 'undici';
import { apiCall, pool, percentile, result, rng, ROOT, startEnvironmentManager } from './lib.mjs';

/** A server process started from built code (test/server/fixtures/serve.mjs), resolved once it listens. */
export function spawnServer(databaseUrl, masterKey) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'test/server/fixtures/serve.mjs')], {
      env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, MASTER_KEY: masterKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c) => (err += c.toString()));
    child.stdout.on('data', (c) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) resolve({ url: JSON.parse(line).url, child, stop: () => stopChild(child), stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err.slice(-500)}`)));
  });
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

/** opts: {clients, seconds, seedObjects?, seed?}. */
export async function loadSuite(h, opts) {
  const r = result('load');
  const seed = opts.seed ?? randomInt(1, 2 ** 31);
  const em = await startEnvironmentManager(h.createDatabase, { deployments: 2, startServer: false });
  const servers = [await spawnServer(em.databaseUrl, em.masterKey)];
  servers.push(await spawnServer(em.databaseUrl, em.masterKey));
  const agent = new Agent({ connections: Math.ceil(opts.clients / 2) + 8, keepAliveTimeout: 10_000 });
  try {
    // A base of workspace objects linked to every deployment, so resolved reads do real work.
    const setup = { ...em, url: servers[0].url };
    const base = Array.from({ length: opts.seedObjects ?? 200 }, (_, i) => ({
      objectKey: `base_${i}`, objectType: i % 4 === 3 ? 'AIRFLOW_VARIABLE' : 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: em.workspaceId, autoLinkDeployments: true,
      ...(i % 4 === 3 ? { airflowVariable: { value: `base-secret-${i}`, isSecret: true } } : { connection: { type: 'postgres', host: `h${i}`, password: `pw-${i}`, extra: { region: 'eu', api_key: `k-${i}` } } }),
    }));
    await pool(base, 16, (b) => apiCall(setup, 'POST', '/environment-objects', b));

    const latencies = { read: [], readSecrets: [], resolved: [], write: [] };
    const statuses = {};
    const errors = [];
    const acknowledged = new Map(); // id -> expected {host, password}
    const deadline = performance.now() + opts.seconds * 1000;
    const org = `/v1/organizations/${em.organizationId}`;
    const headers = { authorization: `Bearer ${em.token}` };
    const send = async (server, kind, method, path, body) => {
      const t0 = performance.now();
      try {
        const res = await fetch(`${server.url}${path}`, {
          method, dispatcher: agent,
          headers: body ? { ...headers, 'content-type': 'application/json' } : headers,
          body: body ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        latencies[kind].push(performance.now() - t0);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status >= 500) errors.push(`${method} ${path.split('?')[0]} → ${res.status}: ${text.slice(0, 200)}`);
        return { status: res.status, body: res.status < 300 && text ? JSON.parse(text) : undefined };
      } catch (error) {
        errors.push(`${method} ${path.split('?')[0]}: ${error.message}`);
        statuses.network = (statuses.network ?? 0) + 1;
        return { status: 0 };
      }
    };

    await Promise.all(
      Array.from({ length: opts.clients }, async (_, c) => {
        const random = rng(seed + c);
        const server = servers[c % servers.length];
        const own = [];
        let n = 0;
        while (performance.now() < deadline) {
          const roll = random(100);
          const dep = em.deployments[random(em.deployments.length)];
          if (roll < 30) {
            await send(server, 'read', 'GET', `${org}/environment-objects?workspaceId=${em.workspaceId}&objectType=CONNECTION&limit=50&offset=${random(4) * 50}`);
          } else if (roll < 50) {
            await send(server, 'readSecrets', 'GET', `${org}/environment-objects?workspaceId=${em.workspaceId}&showSecrets=true&limit=100`);
          } else if (roll < 75) {
            await send(server, 'resolved', 'GET', `${org}/environment-objects?deploymentId=${dep}&resolveLinked=true&showSecrets=${roll % 2 === 0}&limit=1000`);
          } else if (roll < 88 || own.length === 0) {
            const key = `load_${c}_${n++}`;
            const connection = { type: 'http', host: `${key}.example`, password: `pw-${key}` };
            const res = await send(server, 'write', 'POST', `${org}/environment-objects`, { objectKey: key, objectType: 'CONNECTION', scope: 'DEPLOYMENT', scopeEntityId: dep, connection });
            if (res.status === 200 && res.body?.id) {
              own.push(res.body.id);
              acknowledged.set(res.body.id, { host: connection.host, password: connection.password });
            }
          } else {
            // Update one of this client's own objects: the last acknowledged value must be the one read back.
            const id = own[random(own.length)];
            const host = `updated-${c}-${n++}.example`;
            const password = `pw2-${c}-${n}`;
            const res = await send(server, 'write', 'POST', `${org}/environment-objects/${id}`, { connection: { host, password } });
            if (res.status === 200) acknowledged.set(id, { host, password });
          }
        }
      }),
    );

    // Every acknowledged write must read back, from the other server process than the one that took it.
    let lost = 0;
    await pool([...acknowledged], 16, async ([id, want], i) => {
      const res = await fetch(`${servers[i % 2].url}${org}/environment-objects/${id}?showSecrets=true`, { headers, dispatcher: agent });
      const body = res.ok ? await res.json() : undefined;
      if (!body || body.connection?.host !== want.host || body.connection?.password !== want.password) {
        lost++;
        if (lost <= 5) r.problems.push(`lost write: object ${id} reads ${res.status} ${JSON.stringify(body?.connection ?? null).slice(0, 120)}, wanted host ${want.host}`);
      }
    });

    const all = Object.values(latencies).flat();
    const fiveXX = Object.entries(statuses).filter(([s]) => Number(s) >= 500).reduce((sum, [, v]) => sum + v, 0);
    r.runs = all.length;
    r.failures = fiveXX + (statuses.network ?? 0) + lost;
    for (const e of errors.slice(0, 10)) r.problems.push(e);
    r.figures.seed = seed;
    r.figures.clients = opts.clients;
    r.figures.serverProcesses = servers.length;
    r.figures.seconds = opts.seconds;
    r.figures.requests = all.length;
    r.figures.requestsPerSecond = Math.round(all.length / opts.seconds);
    r.figures.statuses = statuses;
    r.figures.fiveXX = fiveXX;
    r.figures.acknowledgedWrites = acknowledged.size;
    r.figures.lostWrites = lost;
    const ms = (v) => +v.toFixed(1);
    r.figures.p50ms = ms(percentile(all, 50));
    r.figures.p99ms = ms(percentile(all, 99));
    for (const [kind, list] of Object.entries(latencies)) r.figures[`${kind} p50/p99 ms (n)`] = `${ms(percentile(list, 50))} / ${ms(percentile(list, 99))} (${list.length})`;
    return r;
  } finally {
    await agent.close().catch(() => undefined);
    for (const s of servers) await s.stop();
  }
}
