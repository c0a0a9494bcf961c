import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresCanReach, runningDevDatabaseUrl, startDevServer } from '../../src/server/dev.js';

const cleanup: string[] = [];
afterAll(async () => {
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

async function get(url: string, token: string) {
  const res = await request(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, body: (await res.body.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('dev server', () => {
  it('ephemeral: seeds the demo organization and answers with a new owner token', { timeout: 120_000 }, async () => {
    const home = await mkdtemp(join(tmpdir(), 'envmgr-devhome-'));
    cleanup.push(home);
    const dev = await startDevServer({ home, ephemeral: true, port: 0 });
    try {
      expect(dev.tokenIsNew).toBe(true);
      expect(dev.postgresDataDir).toBeUndefined();
      const { seed } = dev;
      expect(seed.workspaces.map((w) => w.name)).toEqual(['data-platform', 'analytics']);
      expect(seed.deployments.map((d) => `${d.workspaceName}/${d.name}`)).toEqual(['data-platform/etl-production', 'data-platform/etl-staging', 'analytics/reporting-dev']);
      const org = seed.organization.id;
      const api = (path: string) => get(`${dev.url}/v1/organizations/${org}${path}`, dev.token);
      expect((await api('')).body).toMatchObject({ name: 'Demo Organization', environmentSecretsFetchingEnabled: true });
      expect((await api('/workspaces')).body.totalCount).toBe(2);
      expect((await api('/deployments')).body.totalCount).toBe(3);
      const dep = (name: string) => seed.deployments.find((d) => d.name === name)!.id;
      const ws = (name: string) => seed.workspaces.find((w) => w.name === name)!.id;
      const owned = async (q: string) => (await api(`/environment-objects?${q}&limit=100`)).body.totalCount as number;
      const total = (await owned(`workspaceId=${ws('data-platform')}`)) + (await owned(`workspaceId=${ws('analytics')}`))
        + (await owned(`deploymentId=${dep('etl-production')}`)) + (await owned(`deploymentId=${dep('etl-staging')}`)) + (await owned(`deploymentId=${dep('reporting-dev')}`));
      expect(total).toBeGreaterThanOrEqual(12);

      const resolved = async (name: string) => {
        const res = await api(`/environment-objects?deploymentId=${dep(name)}&resolveLinked=true&showSecrets=true&limit=100`);
        expect(res.status).toBe(200);
        return Object.fromEntries(res.body.environmentObjects.map((o: any) => [`${o.objectType}:${o.objectKey}`, o])); // eslint-disable-line @typescript-eslint/no-explicit-any
      };
      const prod = await resolved('etl-production');
      expect(Object.keys(prod).sort()).toEqual([
        'AIRFLOW_VARIABLE:api_secret_key', 'AIRFLOW_VARIABLE:batch_size', 'AIRFLOW_VARIABLE:environment_name', 'AIRFLOW_VARIABLE:log_level',
        'CONNECTION:aws_default', 'CONNECTION:metrics_db', 'CONNECTION:slack_alerts', 'CONNECTION:warehouse_postgres',
      ]);
      expect(prod['CONNECTION:warehouse_postgres'].connection).toMatchObject({ host: 'warehouse-prod.internal', extra: { sslmode: 'require' } });
      expect(prod['AIRFLOW_VARIABLE:environment_name'].airflowVariable.value).toBe('production');
      expect(prod['AIRFLOW_VARIABLE:log_level'].airflowVariable.value).toBe('INFO');
      const staging = await resolved('etl-staging');
      expect(staging['CONNECTION:aws_default']).toBeUndefined();
      expect(staging['AIRFLOW_VARIABLE:log_level']).toMatchObject({ scope: 'DEPLOYMENT', airflowVariable: { value: 'DEBUG' } });
      expect(staging['CONNECTION:warehouse_postgres'].connection).toMatchObject({ host: 'warehouse-staging.internal', password: 'demo-staging-password' });
      const reporting = await resolved('reporting-dev');
      expect(reporting['CONNECTION:bigquery_default'].connection.extra).toEqual({ project: 'demo-analytics-dev', keyfile_dict: { type: 'service_account', private_key_id: 'demo-key-id' } });
      expect(seed.demoDeploymentId).toBe(dep('etl-production'));

      // server admin --dev reaches it while it runs, from a note only its user can read, gone when it stops.
      const note = join(home, 'dev-server', 'ephemeral.json');
      expect((await stat(note)).mode & 0o777).toBe(0o600);
      expect(await runningDevDatabaseUrl(home)).toBe(dev.databaseUrl);
    } finally {
      await dev.close();
    }
    await expect(stat(join(home, 'dev-server', 'ephemeral.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(runningDevDatabaseUrl(home)).rejects.toThrow(/no dev server keeps its data under .*, and no --ephemeral one runs from there/);
  });

  it('persistent: keeps key and data across restarts, reuses a fixed dev token, seeds once; relocates the cluster when root cannot share the home', { timeout: 180_000 }, async () => {
    // mkdtemp makes a 0700 directory: as root, the postgres user cannot traverse it, like /root.
    const home = await mkdtemp(join(tmpdir(), 'envmgr-devhome-'));
    const relocationRoot = await mkdtemp(join(tmpdir(), 'envmgr-reloc-'));
    cleanup.push(home, relocationRoot);
    const devToken = 'dev-token-for-tests-123';
    const first = await startDevServer({ home, devToken, port: 0, relocationRoot });
    let objectCount: number;
    try {
      expect(first.token).toBe(devToken);
      expect(first.tokenIsNew).toBe(false);
      if (process.getuid?.() === 0) expect(first.postgresDataDir?.startsWith(relocationRoot)).toBe(true);
      else expect(first.postgresDataDir).toBe(join(home, 'dev-server', 'pg'));
      expect((await stat(join(home, 'dev-server', 'master.key'))).mode & 0o777).toBe(0o600);
      expect((await stat(join(home, 'dev-server', 'state.json'))).mode & 0o777).toBe(0o600);
      const res = await get(`${first.url}/v1/organizations/${first.seed.organization.id}/environment-objects?workspaceId=${first.seed.workspaces[0]!.id}`, devToken);
      expect(res.status).toBe(200);
      objectCount = res.body.totalCount;
    } finally {
      await first.close();
    }
    const second = await startDevServer({ home, devToken, port: 0, relocationRoot });
    try {
      expect(second.tokenIsNew).toBe(false);
      expect(second.postgresDataDir).toBe(first.postgresDataDir);
      const res = await get(`${second.url}/v1/organizations/${second.seed.organization.id}/environment-objects?workspaceId=${second.seed.workspaces[0]!.id}&showSecrets=true&objectKey=warehouse_postgres`, devToken);
      // Secrets sealed by the first run open with the key kept on disk; nothing was seeded twice.
      expect(res.body.environmentObjects[0].connection.password).toBe('demo-warehouse-password');
      const all = await get(`${second.url}/v1/organizations/${second.seed.organization.id}/environment-objects?workspaceId=${second.seed.workspaces[0]!.id}`, devToken);
      expect(all.body.totalCount).toBe(objectCount);
    } finally {
      await second.close();
    }
    const third = await startDevServer({ home, port: 0, relocationRoot });
    try {
      expect(third.tokenIsNew).toBe(true);
      expect(third.token).not.toBe(devToken);
      expect((await get(`${third.url}/v1/users/self`, third.token)).body).toMatchObject({ username: 'demo-owner', organizationRole: 'ORGANIZATION_OWNER' });
      expect((await get(`${third.url}/v1/users/self`, devToken)).status).toBe(200);
      expect(third.tokenFile).toBe(join(home, 'dev-server', 'owner.token'));
      expect((await stat(third.tokenFile!)).mode & 0o777).toBe(0o600);
    } finally {
      await third.close();
    }
    // A generated token is kept and reused: restarts neither mint another nor log the developer out.
    const fourth = await startDevServer({ home, port: 0, relocationRoot });
    try {
      expect(fourth.token).toBe(third.token);
      expect(fourth.tokenIsNew).toBe(false);
      // server admin --dev finds the running dev server's database from its state.
      const found = await runningDevDatabaseUrl(home);
      expect(new URL(found).port).toBe(new URL(fourth.databaseUrl).port);
      const tokens = await import('../../src/pg/driver.js').then(async ({ Client }) => {
        const client = new Client({ connectionString: found });
        await client.connect();
        try {
          const n = (await client.query<{ n: string }>("SELECT count(*) AS n FROM api_tokens WHERE name LIKE 'dev owner token %'")).rows[0]!.n;
          // The fixed token of the first starts expires: a later start with it is refused, not a unique-key crash.
          const { hashToken } = await import('../../src/server/crypto.js');
          await client.query("UPDATE api_tokens SET expires_at = now() - interval '1 day' WHERE token_hash = $1", [hashToken(devToken)]);
          return n;
        } finally {
          await client.end();
        }
      });
      // The fixed token of the first starts and the one the third generated: none from the fourth.
      expect(Number(tokens)).toBe(2);
    } finally {
      await fourth.close();
    }
    await expect(runningDevDatabaseUrl(home)).rejects.toThrow('the dev server is not running; start it with envmgr server start --dev');
    await expect(startDevServer({ home, devToken, port: 0, relocationRoot })).rejects.toThrow(/the --dev-token given \(or ENVMGR_DEV_TOKEN\) has expired in this dev server; pass another one/);
    await expect(runningDevDatabaseUrl(relocationRoot)).rejects.toThrow(/no dev server keeps its data under/);
  });

  it('a port that is taken: the start fails before minting a token', { timeout: 120_000 }, async () => {
    const home = await mkdtemp(join(tmpdir(), 'envmgr-devhome-'));
    cleanup.push(home);
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startDevServer({ home, port, relocationRoot: await mkdtemp(join(tmpdir(), 'envmgr-reloc-')) })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      await expect(stat(join(home, 'dev-server', 'owner.token'))).rejects.toThrow();
    } finally {
      blocker.close();
    }
  });

  it('postgresCanReach: as root, a directory under a 0700 parent is unreachable, under 0711 reachable', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'envmgr-reach-'));
    cleanup.push(parent);
    await mkdir(join(parent, 'inner'));
    await chmod(parent, 0o700);
    const expected = process.getuid?.() === 0 ? false : true;
    expect(postgresCanReach(join(parent, 'inner', 'pg'))).toBe(expected);
    await chmod(parent, 0o711);
    await chmod(join(parent, 'inner'), 0o711);
    expect(postgresCanReach(join(parent, 'inner', 'pg'))).toBe(true);
  });
});
