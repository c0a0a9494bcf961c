import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCreateDeployment, adminCreateOrganization, adminCreateToken, adminCreateWorkspace, adminSetOrganization } from '../../src/server/admin.js';
import { createTestDatabase } from '../support/pg.js';
import { TEST_MASTER_KEY } from './helpers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// A private build of the server (not dist/, which other runs may be rebuilding): inside the project so that the
// built files resolve their dependencies from its node_modules.
const buildDir = join(root, 'node_modules', '.cache', `envmgr-server-test-${randomBytes(4).toString('hex')}`);

const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await rm(buildDir, { recursive: true, force: true });
});

async function buildServer(): Promise<string> {
  await mkdir(buildDir, { recursive: true });
  const tsconfig = join(buildDir, 'tsconfig.json');
  await writeFile(tsconfig, JSON.stringify({
    extends: join(root, 'tsconfig.build.json'),
    compilerOptions: { outDir: join(buildDir, 'out'), rootDir: join(root, 'src'), declaration: false, sourceMap: false },
    files: [join(root, 'src', 'server', 'index.ts')],
    include: [],
  }));
  await promisify(execFile)(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], { cwd: root });
  return join(buildDir, 'out', 'server', 'index.js');
}

function serve(module: string, databaseUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(root, 'test', 'server', 'fixtures', 'serve.mjs')], {
    env: { ...process.env, ENVMGR_SERVER_MODULE: module, DATABASE_URL: databaseUrl, MASTER_KEY: TEST_MASTER_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolvePromise, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolvePromise({ url: JSON.parse(line).url, child });
    });
    child.on('exit', (code) => reject(new Error(`server process exited with ${code}: ${err}`)));
  });
}

let databaseUrl: string;
let module: string;
let org: string;
let ws: string;
let dep: string;
let token: string;

beforeAll(async () => {
  [module, databaseUrl] = await Promise.all([buildServer(), createTestDatabase('multi')]);
  org = (await adminCreateOrganization(databaseUrl, { name: 'Multi', environmentSecretsFetchingEnabled: true })).id;
  ws = (await adminCreateWorkspace(databaseUrl, { organizationId: org, name: 'w' })).id;
  dep = (await adminCreateDeployment(databaseUrl, { workspaceId: ws, name: 'd' })).id;
  token = (await adminCreateToken(databaseUrl, { organizationId: org, name: 't', roles: [{ role: 'ORGANIZATION_OWNER' }] })).token;
}, 180_000);

async function api(base: string, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await request(`${base}/v1/organizations/${org}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.statusCode, body: (await res.body.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('two server processes on one database', () => {
  it('serve the same data: written through one, read through the other', { timeout: 120_000 }, async () => {
    // Both start (and migrate) at once against the same fresh schema.
    const [a, b] = await Promise.all([serve(module, databaseUrl), serve(module, databaseUrl)]);
    expect(a.url).not.toBe(b.url);
    const resolvedVia = async (base: string) =>
      (await api(base, 'GET', `/environment-objects?deploymentId=${dep}&resolveLinked=true&showSecrets=true`)).body.environmentObjects;

    expect(await resolvedVia(b.url)).toEqual([]);
    const created = await api(a.url, 'POST', '/environment-objects', {
      objectKey: 'shared', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: ws, autoLinkDeployments: true,
      connection: { type: 'postgres', host: 'one', password: 'multi-secret' },
    });
    expect(created.status).toBe(200);
    expect((await resolvedVia(b.url)).map((o: any) => [o.objectKey, o.connection.host, o.connection.password])).toEqual([['shared', 'one', 'multi-secret']]); // eslint-disable-line @typescript-eslint/no-explicit-any

    // Masked lists are cached per process; a write through the other process must still show at once.
    const maskedVia = async (base: string) =>
      (await api(base, 'GET', `/environment-objects?deploymentId=${dep}&resolveLinked=true`)).body.environmentObjects.map((o: any) => o.connection.host); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(await maskedVia(a.url)).toEqual(['one']);
    expect(await maskedVia(a.url)).toEqual(['one']);
    const updated = await api(b.url, 'POST', `/environment-objects/${created.body.id}`, { connection: { host: 'two' } });
    expect(updated.status).toBe(200);
    expect(await maskedVia(a.url)).toEqual(['two']);
    expect((await resolvedVia(a.url))[0].connection).toEqual({ type: 'postgres', host: 'two', password: 'multi-secret' });

    // showSecrets lists are cached per process too: a secret changed through b shows through a at once.
    expect((await resolvedVia(a.url))[0].connection.password).toBe('multi-secret');
    const rotated = await api(b.url, 'POST', `/environment-objects/${created.body.id}`, { connection: { password: 'rotated-secret' } });
    expect(rotated.status).toBe(200);
    expect((await resolvedVia(a.url))[0].connection.password).toBe('rotated-secret');

    // The organization's setting, changed by `server admin` straight on the database, holds at once in both.
    await adminSetOrganization(databaseUrl, { organizationId: org, environmentSecretsFetchingEnabled: false });
    for (const base of [a.url, b.url]) {
      const refused = await api(base, 'GET', `/environment-objects?deploymentId=${dep}&resolveLinked=true&showSecrets=true`);
      expect([refused.status, refused.body.message]).toEqual([403, `showSecrets on organization with id ${org} is not allowed`]);
    }
    await adminSetOrganization(databaseUrl, { organizationId: org, environmentSecretsFetchingEnabled: true });

    const excluded = await request(`${b.url}/v1/organizations/${org}/environment-objects/${created.body.id}/exclude-linking`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ scope: 'DEPLOYMENT', scopeEntityId: dep }),
    });
    expect(excluded.statusCode).toBe(204);
    await excluded.body.dump();
    expect(await resolvedVia(a.url)).toEqual([]);
    expect(await maskedVia(a.url)).toEqual([]);

    const exits = [a, b].map(({ child }) => new Promise<number | null>((r) => child.on('exit', r)));
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await Promise.all(exits)).toEqual([0, 0]);
  });
});
