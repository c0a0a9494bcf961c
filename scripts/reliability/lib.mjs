// Shared parts of the reliability suites: a real Environment Manager in this process, Airflow metadata databases,
// the built CLI run as a child process, and state dumps that ignore what legitimately differs between two writes of
// the same content (Fernet IVs, serial ids, timestamps).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'dist/cli/main.js');
export const FERNET_KEY = '1NdcG3zgY2-okvDIhnqOTfHatmZ1dQW4y-Nv77K74XU=';

/** Built code (npm run build first). */
export function dist(path) {
  return import(pathToFileURL(join(ROOT, 'dist', path)).href);
}

/** A stack trace line as Node prints them. */
export const STACK_LINE = /^\s+at .+(\(|:\d+:\d+)/m;

/** The homes tempHome made, which removeTempHomes removes when the run ends. */
const homes = new Set();

export async function tempHome(prefix = 'envmgr-rel-') {
  const home = await mkdtemp(join(tmpdir(), prefix));
  homes.add(home);
  await mkdir(join(home, 'project', '.envmgr'), { recursive: true });
  return home;
}

export async function removeTempHomes() {
  await Promise.all([...homes].map((home) => rm(home, { recursive: true, force: true })));
  homes.clear();
}

/**
 * A clean environment for the CLI: nothing of the caller's own envmgr setup, proxies or CI flags. The tests' CLI
 * helper (test/cli/support/cli.ts baseEnv) is this one.
 */
export function cliEnv(home, extra = {}) {
  return {
    PATH: process.env.PATH,
    // The test run's temporary directory (test/support/global-setup.ts), removed when the run ends.
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    HOME: home,
    ENVMGR_HOME: join(home, '.envmgr'),
    // Without a Secret Service the keychain attempt fails fast; the keychain tests set up their own.
    DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent',
    ...extra,
  };
}

/**
 * Runs the built CLI. `onSpawn(child)` sees the child (the crash suite kills it); `onStderr(text)` sees stderr as
 * it arrives. Resolves with the exit code (null when killed), signal, stdout and stderr.
 */
export function runCli(args, opts = {}) {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--', CLI, ...args], { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c.toString()));
    child.stderr.on('data', (c) => {
      stderr += c.toString();
      opts.onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
    opts.onSpawn?.(child);
  });
}

export async function sql(url, text, values = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** A fresh database holding Airflow's tables for `version`. */
export async function airflowDb(createDatabase, version = '3.1') {
  const url = await createDatabase('rel_af');
  const { loadSchemaFixture } = await dist('metadb/index.js');
  await loadSchemaFixture(url, version);
  return url;
}

/**
 * Every row of the tables envmgr touches, exactly, as text (xmin included): equal before and after means nothing
 * was written at all.
 */
export async function rawDump(url) {
  const out = [];
  for (const t of ['connection', 'variable', 'slot_pool']) {
    const rows = await sql(url, `SELECT to_jsonb(t)::text AS row, xmin::text AS xmin FROM ${t} t ORDER BY 1`);
    out.push(`${t}: ${rows.map((r) => `${r.row}@${r.xmin}`).join('\n')}`);
  }
  const [state] = await sql(url, "SELECT to_regclass('envmgr_sync_state') IS NOT NULL AS exists");
  if (state.exists) out.push(`state: ${(await sql(url, 'SELECT to_jsonb(s)::text AS row FROM envmgr_sync_state s ORDER BY 1')).map((r) => r.row).join('\n')}`);
  return out.join('\n');
}

/**
 * The logical content of the tables envmgr touches: every column but serial ids, encrypted values decrypted (a
 * re-encryption of the same value is the same state), the sync state without its write times and stored-row
 * fingerprints (those cover ciphertext). Two databases holding the same objects written by envmgr dump equal.
 */
export async function logicalDump(url, key = FERNET_KEY) {
  const { fernetDecrypt } = await dist('index.js');
  const dec = (value, encrypted) => (value !== null && encrypted ? `dec:${fernetDecrypt(key, value)}` : value);
  const conns = await sql(url, 'SELECT * FROM connection ORDER BY conn_id');
  const vars = await sql(url, 'SELECT * FROM variable ORDER BY key');
  const pools = await sql(url, 'SELECT * FROM slot_pool ORDER BY pool');
  const lines = [];
  for (const c of conns) {
    const { id: _id, ...rest } = c;
    lines.push(`connection ${JSON.stringify({ ...rest, password: dec(c.password, c.is_encrypted), extra: dec(c.extra, c.is_extra_encrypted) })}`);
  }
  for (const v of vars) {
    const { id: _id, ...rest } = v;
    lines.push(`variable ${JSON.stringify({ ...rest, val: dec(v.val, v.is_encrypted) })}`);
  }
  for (const p of pools) {
    const { id: _id, ...rest } = p;
    lines.push(`pool ${JSON.stringify(rest)}`);
  }
  const [state] = await sql(url, "SELECT to_regclass('envmgr_sync_state') IS NOT NULL AS exists");
  if (state.exists) {
    const { parseSyncState } = await dist('metadb/sync-state.js');
    const [doc] = await sql(url, 'SELECT state FROM envmgr_sync_state');
    const entries = doc ? [...parseSyncState(doc.state, 'envmgr_sync_state').values()] : [];
    const order = (a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    for (const { kind, key, source, hash } of entries.sort(order)) lines.push(`state ${JSON.stringify({ kind, key, source, content_hash: hash })}`);
  }
  return lines.join('\n');
}

/**
 * A real Environment Manager on 127.0.0.1 in this process: an organization with Environment Secrets Fetching on,
 * one workspace, `deployments` deployments and an owner token.
 */
export async function startEnvironmentManager(createDatabase, opts = {}) {
  const server = await dist('server/index.js');
  const databaseUrl = opts.databaseUrl ?? (await createDatabase('rel_em'));
  const { id: organizationId } = await server.adminCreateOrganization(databaseUrl, { name: `Reliability ${randomBytes(3).toString('hex')}`, environmentSecretsFetchingEnabled: true });
  const { id: userId } = await server.adminCreateUser(databaseUrl, { organizationId, username: `owner-${randomBytes(3).toString('hex')}`, organizationRole: 'ORGANIZATION_OWNER' });
  const workspaceId = (await server.adminCreateWorkspace(databaseUrl, { organizationId, name: 'reliability' })).id;
  const deployments = [];
  for (let i = 0; i < (opts.deployments ?? 2); i++) deployments.push((await server.adminCreateDeployment(databaseUrl, { workspaceId, name: `dep-${i}` })).id);
  const token = `PLANTEDTOKEN${randomBytes(12).toString('hex')}`;
  await server.adminCreateToken(databaseUrl, { organizationId, name: 'reliability', userId, roles: [{ role: 'ORGANIZATION_OWNER' }], token });
  const masterKey = opts.masterKey ?? server.generateMasterKey();
  const running = opts.startServer === false ? undefined : await server.startServer({ host: '127.0.0.1', port: 0, databaseUrl, masterKey, logStream: opts.logStream ?? devNull() });
  return { url: running?.url, databaseUrl, masterKey, organizationId, userId, workspaceId, deployments, token, close: () => running?.close() };
}

function devNull() {
  return { write: () => true };
}

/** Calls the Environment Manager's API; throws on a non-2xx answer. */
export async function apiCall(em, method, path, body, token = em.token) {
  const res = await fetch(`${em.url}/v1/organizations/${em.organizationId}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Runs `worker(item)` over `items` with at most `concurrency` at a time. */
export async function pool(items, concurrency, worker) {
  let next = 0;
  const results = new Array(items.length);
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await worker(items[i], i);
      }
    }),
  );
  return results;
}

/**
 * `count` deployment-scoped connections (plus a few variables) on deployment `deploymentId`; `version` changes every
 * field so two versions differ in every row.
 */
export function connectionBodies(deploymentId, count, version) {
  const bodies = [];
  for (let i = 0; i < count; i++) {
    bodies.push({
      objectKey: `conn_${String(i).padStart(5, '0')}`, objectType: 'CONNECTION', scope: 'DEPLOYMENT', scopeEntityId: deploymentId,
      connection: { type: 'postgres', host: `db-${version}-${i}.internal`, login: `user_${version}`, password: `pw-${version}-${i}-${randomBytes(4).toString('hex')}`, port: 5432 + (i % 100), schema: `s${version}`, extra: { sslmode: 'require', v: `${version}` } },
    });
  }
  for (let i = 0; i < Math.max(1, Math.floor(count / 100)); i++) {
    bodies.push({ objectKey: `var_${i}`, objectType: 'AIRFLOW_VARIABLE', scope: 'DEPLOYMENT', scopeEntityId: deploymentId, airflowVariable: { value: `value-${version}-${i}`, isSecret: i % 2 === 0 } });
  }
  return bodies;
}

/** The env and arguments of `dev start` for one deployment into one database, logged in through the environment. */
export function devStartArgs(db, deploymentId, extra = []) {
  return ['dev', 'start', '-d', deploymentId, '--db-url', db, '--fernet-key', FERNET_KEY, '--wait', '10s', ...extra];
}

export function tokenEnv(home, em, extra = {}) {
  return cliEnv(home, { ENVMGR_API_TOKEN: em.token, ENVMGR_DOMAIN: em.url, ENVMGR_ORGANIZATION_ID: em.organizationId, ...extra });
}

/** Percentile (0–100) of a list of numbers. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Random integer in [0, n). Seeded per suite run from crypto for variety; the seed is reported. */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

/** A suite's result as the runner prints it. */
export function result(name) {
  return { suite: name, runs: 0, failures: 0, partialStates: 0, figures: {}, findings: [], problems: [] };
}
