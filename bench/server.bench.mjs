// Benchmark: the resolved environment-object list of a deployment with 1,000 objects, at limit=100 (all ten pages in
// turn) and limit=1000, under concurrent load from a separate process, against a bare fastify route serving a static
// JSON body of the same size, in the same run on the same machine. Reports throughput ratio and p99 latency.
// Each scenario is measured masked and with showSecrets=true (what `envmgr dev start` sends), on the server as it
// runs (response cache on) and, as a floor, with the response cache off (every request queries, decrypts, resolves
// and serializes). Every envmgr request authenticates against the database; the baseline does nothing but send.
//
// `node bench/server.bench.mjs --load '<json>'` is the load generator (run as a child process by run()).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const DURATION_MS = Number(process.env.BENCH_SERVER_DURATION_MS ?? 5000);
const CONNECTIONS = Number(process.env.BENCH_SERVER_CONNECTIONS ?? 8);
const ROUNDS = Number(process.env.BENCH_SERVER_ROUNDS ?? 5);
const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--load') {
  const result = await generateLoad(JSON.parse(process.argv[3]));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

/**
 * A bounded closed-loop load: `connections` workers per target, each sending its next request when the last one is
 * read. The targets (envmgr and the bare baseline) are measured in alternating rounds from this one process, so a
 * burst of other work on the machine falls on both sides alike instead of on whichever happened to run then; each
 * target gets `durationMs` in total.
 */
async function generateLoad({ targets, durationMs, rounds, connections, warmupMs }) {
  const { Pool } = await import('undici');
  const sides = targets.map(({ origin, paths, headers }) => {
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(origin)) throw new Error(`refusing to load anything but 127.0.0.1: ${origin}`);
    return { pool: new Pool(origin, { connections, pipelining: 1 }), paths, headers, next: 0, latencies: [], bytes: 0, errors: 0, elapsed: 0 };
  });
  const once = async (side) => {
    const path = side.paths[side.next++ % side.paths.length];
    const res = await side.pool.request({ method: 'GET', path, headers: side.headers });
    const body = await res.body.arrayBuffer();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
    return body.byteLength;
  };
  const drive = async (side, ms, record) => {
    const start = performance.now();
    const end = start + ms;
    await Promise.all(Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          const n = await once(side);
          if (record) {
            side.bytes += n;
            side.latencies.push(performance.now() - t);
          }
        } catch {
          side.errors += 1;
        }
      }
    }));
    if (record) side.elapsed += (performance.now() - start) / 1000;
  };
  for (const side of sides) await drive(side, warmupMs, false);
  for (let r = 0; r < rounds; r++) {
    // Alternate which side goes first, so neither always follows the other's leftovers.
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) await drive(side, durationMs / rounds, true);
  }
  await Promise.all(sides.map((s) => s.pool.close()));
  return sides.map((side) => {
    const latencies = side.latencies.sort((a, b) => a - b);
    const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
    return {
      requests: latencies.length, errors: side.errors, rps: latencies.length / side.elapsed, p50Ms: pct(0.5), p99Ms: pct(0.99),
      bytesPerRequest: side.bytes / Math.max(1, latencies.length),
    };
  });
}

function load(config) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [self, '--load', JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load generator exited with ${code}`))));
  });
}

export async function seed(url, token, org, ws, dep) {
  const { request } = await import('undici');
  const bodies = [];
  for (let i = 0; i < 400; i++) {
    bodies.push(i % 2 === 0
      ? { objectKey: `dep_conn_${i}`, objectType: 'CONNECTION', scope: 'DEPLOYMENT', scopeEntityId: dep, connection: { type: 'postgres', host: `db-${i}.internal`, login: 'etl', password: `pw-${i}`, schema: 'public', port: 5432, extra: { sslmode: 'require', api_key: `key-${i}` } } }
      : { objectKey: `dep_var_${i}`, objectType: 'AIRFLOW_VARIABLE', scope: 'DEPLOYMENT', scopeEntityId: dep, airflowVariable: { value: `value-${i}`, isSecret: i % 3 === 0 } });
  }
  for (let i = 0; i < 350; i++) {
    bodies.push({
      objectKey: `ws_linked_${i}`, objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: ws, description: `linked connection ${i}`,
      connection: { type: 'http', host: `api-${i}.example.com`, login: 'svc', password: `ws-pw-${i}`, extra: { timeout: 30, token: `tok-${i}` } },
      links: [{ scope: 'DEPLOYMENT', scopeEntityId: dep, overrides: { connection: { host: `api-${i}.prod.example.com`, extra: { timeout: 60 } } } }],
    });
  }
  for (let i = 0; i < 300; i++) {
    const excluded = i >= 250;
    bodies.push({
      objectKey: `ws_auto_${i}`, objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws, autoLinkDeployments: true,
      airflowVariable: { value: `auto-${i}`, isSecret: i % 2 === 0 },
      ...(excluded ? { excludeLinks: [{ scope: 'DEPLOYMENT', scopeEntityId: dep }] } : {}),
    });
  }
  // Workspace objects shadowed by the deployment's own objects of the same key.
  for (let i = 0; i < 50; i++) {
    bodies.push({ objectKey: `dep_var_${2 * i + 1}`, objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws, autoLinkDeployments: true, airflowVariable: { value: 'shadowed' } });
  }
  let index = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (index < bodies.length) {
      const body = bodies[index++];
      const res = await request(`${url}/v1/organizations/${org}/environment-objects`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`seeding failed: ${res.statusCode} ${text}`);
    }
  }));
}

export async function run() {
  const { startEmbeddedPostgres } = await import('../dist/pg/embedded.js');
  const server = await import('../dist/server/index.js');
  const { default: Fastify } = await import('fastify');
  const { request } = await import('undici');

  const postgres = await startEmbeddedPostgres({ fast: true });
  let envmgr;
  let uncached;
  let bare;
  try {
    const databaseUrl = await postgres.createDatabase('bench');
    const { id: org } = await server.adminCreateOrganization(databaseUrl, { name: 'Bench', environmentSecretsFetchingEnabled: true });
    const { id: ws } = await server.adminCreateWorkspace(databaseUrl, { organizationId: org, name: 'bench' });
    const { id: dep } = await server.adminCreateDeployment(databaseUrl, { workspaceId: ws, name: 'bench-prod' });
    const { token } = await server.adminCreateToken(databaseUrl, { organizationId: org, name: 'bench', roles: [{ role: 'ORGANIZATION_OWNER' }] });
    const masterKey = randomBytes(32).toString('base64');
    envmgr = await server.startServer({ databaseUrl, masterKey, port: 0 });
    // The same server without its response cache: every request queries, resolves, masks and serializes.
    uncached = await server.startServer({ databaseUrl, masterKey, port: 0, responseCache: false });
    await seed(envmgr.url, token, org, ws, dep);

    const listPath = (offset, limit) => `/v1/organizations/${org}/environment-objects?deploymentId=${dep}&resolveLinked=true&offset=${offset}&limit=${limit}`;
    // What `envmgr dev start` sends: secrets in clear (the organization allows it, the token is an owner).
    const secretPath = (offset, limit) => `/v1/organizations/${org}/environment-objects?deploymentId=${dep}&showSecrets=true&resolveLinked=true&offset=${offset}&limit=${limit}`;
    const headers = { authorization: `Bearer ${token}` };
    const fetchText = async (path) => (await (await request(`${envmgr.url}${path}`, { headers })).body.text());
    const full = JSON.parse(await fetchText(listPath(0, 1000)));
    if (full.totalCount !== 1000 || full.environmentObjects.length !== 1000) throw new Error(`expected 1000 resolved objects, got ${full.totalCount}`);
    const clear = JSON.parse(await fetchText(secretPath(0, 1000)));
    if (clear.environmentObjects.find((o) => o.objectKey === 'dep_conn_0')?.connection?.password !== 'pw-0') throw new Error('showSecrets did not return secrets in clear');
    const pages = [];
    const secretPages = [];
    for (let offset = 0; offset < 1000; offset += 100) {
      pages.push(await fetchText(listPath(offset, 100)));
      secretPages.push(await fetchText(secretPath(offset, 100)));
    }
    const bigText = await fetchText(listPath(0, 1000));
    const bigSecretText = await fetchText(secretPath(0, 1000));

    // The baseline: the same bytes, served as a static body by a bare fastify route.
    bare = Fastify({ logger: false });
    bare.get('/page/:n', (req, reply) => reply.type('application/json').send(pages[Number(req.params.n)]));
    bare.get('/all', (_req, reply) => reply.type('application/json').send(bigText));
    bare.get('/secret-page/:n', (req, reply) => reply.type('application/json').send(secretPages[Number(req.params.n)]));
    bare.get('/secret-all', (_req, reply) => reply.type('application/json').send(bigSecretText));
    await bare.listen({ host: '127.0.0.1', port: 0 });
    const bareUrl = `http://127.0.0.1:${bare.server.address().port}`;

    const common = { durationMs: DURATION_MS, rounds: ROUNDS, connections: CONNECTIONS, warmupMs: 1500 };
    const paged = { headers, paths: pages.map((_, i) => listPath(i * 100, 100)) };
    const whole = { headers, paths: [listPath(0, 1000)] };
    const barePaged = { origin: bareUrl, headers: {}, paths: pages.map((_, i) => `/page/${i}`) };
    const bareWhole = { origin: bareUrl, headers: {}, paths: ['/all'] };
    const secretPaged = { headers, paths: pages.map((_, i) => secretPath(i * 100, 100)) };
    const secretWhole = { headers, paths: [secretPath(0, 1000)] };
    const bareSecretPaged = { origin: bareUrl, headers: {}, paths: pages.map((_, i) => `/secret-page/${i}`) };
    const bareSecretWhole = { origin: bareUrl, headers: {}, paths: ['/secret-all'] };
    const scenarios = {
      limit100: { envmgr: { origin: envmgr.url, ...paged }, bare: barePaged },
      limit1000: { envmgr: { origin: envmgr.url, ...whole }, bare: bareWhole },
      'limit100.showSecrets': { envmgr: { origin: envmgr.url, ...secretPaged }, bare: bareSecretPaged },
      'limit1000.showSecrets': { envmgr: { origin: envmgr.url, ...secretWhole }, bare: bareSecretWhole },
      'limit100.showSecrets.uncached': { envmgr: { origin: uncached.url, ...secretPaged }, bare: bareSecretPaged },
      'limit1000.showSecrets.uncached': { envmgr: { origin: uncached.url, ...secretWhole }, bare: bareSecretWhole },
      'limit100.uncached': { envmgr: { origin: uncached.url, ...paged }, bare: barePaged },
      'limit1000.uncached': { envmgr: { origin: uncached.url, ...whole }, bare: bareWhole },
    };
    // Settle the freshly written tables (statistics, visibility map) so autovacuum does not run mid-measurement.
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query('VACUUM ANALYZE');
    await admin.end();
    const only = process.env.BENCH_SERVER_SCENARIOS?.split(',');
    const figures = {};
    for (const [name, s] of Object.entries(scenarios)) {
      if (only && !only.includes(name)) continue;
      const [ours, base] = await load({ ...common, targets: [s.envmgr, s.bare] });
      if (ours.errors > 0 || base.errors > 0) throw new Error(`errors under load: envmgr ${ours.errors}, bare ${base.errors}`);
      const size = `${Math.round(ours.bytesPerRequest / 1024)} KiB/response`;
      figures[`server.resolved-list.${name}.throughput`] = {
        value: Number(ours.rps.toFixed(1)), baseline: Number(base.rps.toFixed(1)), unit: 'req/s', target: 0.5, lowerIsBetter: false,
        note: `resolved list of 1,000 objects, ${name.startsWith('limit1000') ? 'one page of 1,000' : 'ten pages of 100 in turn'}${name.includes('showSecrets') ? ', showSecrets=true (secrets in clear, as dev start asks)' : ', secrets masked'}${name.endsWith('uncached') ? ', response cache off' : ', response cache on (revision-keyed)'}, ${CONNECTIONS} connections from a separate process for ${DURATION_MS / 1000} s in ${ROUNDS} rounds alternating with the baseline; baseline: bare fastify serving the same bytes statically (${size})`,
      };
      figures[`server.resolved-list.${name}.p99`] = {
        value: Number((ours.p99Ms / 1000).toFixed(4)), baseline: Number((base.p99Ms / 1000).toFixed(4)), unit: 's', target: 3,
        note: `p99 latency under the same load (p50 ${ours.p50Ms.toFixed(1)} ms vs ${base.p50Ms.toFixed(1)} ms)`,
      };
    }
    return figures;
  } finally {
    await bare?.close();
    await envmgr?.close();
    await uncached?.close();
    await postgres.stop();
  }
}

if (process.argv[1] === self) {
  const figures = await run();
  console.log(JSON.stringify(figures, null, 2));
}
