import { access, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCreateToken, adminCreateUser } from '../../src/server/index.js';
import { startTestEnvironmentManager, type TestEnvironmentManager } from '../cli/support/server.js';
import { createTestDatabase } from '../support/pg.js';
import { airflowDb, api, developer, dump, FERNET_KEY, OTHER_KEY, pythonDecrypt, pythonWithCryptography, readBack, sql } from './support.js';

let em: TestEnvironmentManager;
let call: ReturnType<typeof api>;
const ids: Record<string, string> = {};

interface Report {
  rows: { key: string; type: string; source: string; action: string; fields?: string[] }[];
  counts: Record<string, number>;
  shadowed: { kind: string; key: string; hidden: string; winner: string }[];
  runtimeShadows: { variable: string }[];
}

beforeAll(async () => {
  em = await startTestEnvironmentManager();
  call = api(em);
  const { alpha } = em.workspaces;
  const { alpha1, alpha2 } = em.deployments;
  const create = async (name: string, body: Record<string, unknown>) => {
    ids[name] = (await call<{ id: string }>('POST', '/environment-objects', body)).id;
  };
  // Linked to all deployments but alpha2, with alpha1's link overriding host, password and one extra member.
  await create('warehouse', {
    objectKey: 'warehouse', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: alpha, autoLinkDeployments: true,
    connection: { type: 'postgres', host: 'wh.internal', login: 'etl', password: 'base-pw-Z1', port: 5432, schema: 'dw', extra: { sslmode: 'require', region: 'eu' } },
    links: [{ scope: 'DEPLOYMENT', scopeEntityId: alpha1, overrides: { connection: { host: 'wh-prod.internal', password: 'prod-pw-Z2', extra: { region: 'us' } } } }],
    excludeLinks: [{ scope: 'DEPLOYMENT', scopeEntityId: alpha2 }],
  });
  // Reaches alpha2 only, through an explicit link.
  await create('api_http', {
    objectKey: 'api_http', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: alpha,
    connection: { type: 'http', host: 'api.example.com', extra: { token: 'tok-Z3' } },
    links: [{ scope: 'DEPLOYMENT', scopeEntityId: alpha2 }],
  });
  // The same key at both scopes: alpha1's own object wins.
  await create('shared_ws', {
    objectKey: 'shared', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: alpha, autoLinkDeployments: true,
    connection: { type: 'http', host: 'from-workspace' },
  });
  await create('shared_dep', {
    objectKey: 'shared', objectType: 'CONNECTION', scope: 'DEPLOYMENT', scopeEntityId: alpha1,
    connection: { type: 'http', host: 'from-deployment' },
  });
  await create('pg_dep', {
    objectKey: 'pg_dep', objectType: 'CONNECTION', scope: 'DEPLOYMENT', scopeEntityId: alpha1,
    connection: { type: 'postgres', host: 'dep-db', login: 'u', password: 'dep-pw-Z4', port: 6543 },
  });
  await create('env_name', {
    objectKey: 'env_name', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: alpha, autoLinkDeployments: true,
    airflowVariable: { value: 'workspace-value', isSecret: false },
  });
  await create('secret_var', {
    objectKey: 'secret_var', objectType: 'AIRFLOW_VARIABLE', scope: 'DEPLOYMENT', scopeEntityId: alpha1,
    airflowVariable: { value: 'var-secret-Z5', isSecret: true },
  });
});

afterAll(async () => {
  await em?.close();
});

function target(db: string, key = FERNET_KEY): string[] {
  return ['--db-url', db, '--fernet-key', key, '--wait', '10s'];
}

describe('dev start against a real Environment Manager and metadata database', () => {
  it('writes what a deployment resolves to: own objects first, links with overrides, auto-link minus exclusions', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db1 = await airflowDb('3.1');
    const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db1), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.rows.map((r) => `${r.type}:${r.key}:${r.action}`).sort()).toEqual([
      'connection:pg_dep:create', 'connection:shared:create', 'connection:warehouse:create',
      'variable:env_name:create', 'variable:secret_var:create',
    ]);
    expect(report.rows.find((r) => r.key === 'warehouse')!.source).toMatch(/workspace link/);
    expect(run.stdout + run.stderr).not.toMatch(/prod-pw-Z2|dep-pw-Z4|var-secret-Z5/);

    const state = await readBack(db1);
    expect(state.connections.get('warehouse')).toMatchObject({
      conn_type: 'postgres', host: 'wh-prod.internal', login: 'etl', password: 'prod-pw-Z2', port: 5432, schema: 'dw',
      extra: { sslmode: 'require', region: 'us' },
    });
    expect(state.connections.get('shared')!.host).toBe('from-deployment');
    expect(state.connections.get('pg_dep')).toMatchObject({ host: 'dep-db', password: 'dep-pw-Z4', port: 6543 });
    expect(state.connections.has('api_http')).toBe(false);
    expect(state.variables.get('env_name')!.value).toBe('workspace-value');
    expect(state.variables.get('secret_var')!.value).toBe('var-secret-Z5');

    const db2 = await airflowDb('2.10');
    expect((await dev.cli(['dev', 'start', '-d', em.deployments.alpha2, ...target(db2)])).code).toBe(0);
    const state2 = await readBack(db2);
    expect([...state2.connections.keys()].sort()).toEqual(['api_http', 'shared']);
    expect(state2.connections.get('shared')!.host).toBe('from-workspace');
    expect(state2.connections.get('api_http')!.extra).toEqual({ token: 'tok-Z3' });

    const db3 = await airflowDb('3.2');
    expect((await dev.cli(['dev', 'start', '-w', em.workspaces.alpha, ...target(db3)])).code).toBe(0);
    expect((await readBack(db3)).connections.get('warehouse')).toMatchObject({ host: 'wh.internal', password: 'base-pw-Z1', extra: { sslmode: 'require', region: 'eu' } });
  });

  it("writes rows that Python's cryptography decrypts to the values written", async (test) => {
    const python = pythonWithCryptography();
    if (!python) {
      test.skip('python3 with the cryptography package is not installed (Debian: apt-get install python3-cryptography)');
      return;
    }
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    expect((await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)])).code).toBe(0);
    const rows = await sql<{ conn_id: string; password: string | null; extra: string | null; is_encrypted: boolean; is_extra_encrypted: boolean }>(db, 'SELECT conn_id, password, extra, is_encrypted, is_extra_encrypted FROM connection ORDER BY conn_id');
    const wh = rows.find((r) => r.conn_id === 'warehouse')!;
    expect(wh.is_encrypted && wh.is_extra_encrypted).toBe(true);
    const [password, extra] = pythonDecrypt(python, FERNET_KEY, [wh.password!, wh.extra!]);
    expect(password).toBe('prod-pw-Z2');
    expect(JSON.parse(extra!)).toEqual({ sslmode: 'require', region: 'us' });
    const shared = rows.find((r) => r.conn_id === 'shared')!;
    expect(shared).toMatchObject({ password: null, extra: null, is_encrypted: false, is_extra_encrypted: false });
    const vars = await sql<{ key: string; val: string; is_encrypted: boolean }>(db, 'SELECT key, val, is_encrypted FROM variable ORDER BY key');
    expect(vars.every((v) => v.is_encrypted)).toBe(true);
    expect(pythonDecrypt(python, FERNET_KEY, vars.map((v) => v.val))).toEqual(['workspace-value', 'var-secret-Z5']);
  });

  it('lets the settings file win by default, listing what it shadows, and lose with dev.prefer=remote', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    await dev.writeProjectFile('airflow_settings.yaml', [
      'airflow:',
      '  connections:',
      '    - conn_id: pg_dep',
      '      conn_type: postgres',
      '      conn_host: localhost',
      '      conn_port: 5433',
      '  variables:',
      '    - variable_name: local_only',
      '      variable_value: from-settings',
      '',
    ].join('\n'));
    const db = await airflowDb('3.0');
    const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.shadowed).toEqual([{ kind: 'connection', key: 'pg_dep', hidden: `deployment (${em.deployments.alpha1})`, winner: 'airflow_settings.yaml:3' }]);
    let state = await readBack(db);
    expect(state.connections.get('pg_dep')).toMatchObject({ host: 'localhost', port: 5433, password: null });
    expect(state.variables.get('local_only')!.value).toBe('from-settings');

    expect((await dev.cli(['config', 'set', 'dev.prefer', 'remote'])).code).toBe(0);
    const again = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/connection pg_dep from airflow_settings\.yaml:3 is shadowed by deployment/);
    state = await readBack(db);
    expect(state.connections.get('pg_dep')).toMatchObject({ host: 'dep-db', port: 6543, password: 'dep-pw-Z4' });
  });

  it('writes nothing on an unchanged re-run or with --dry-run', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('2.7');
    const dry = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db), '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect((JSON.parse(dry.stdout) as Report).counts.create).toBe(5);
    // The counts line says what a run would do, not that anything was created.
    const dryText = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db), '--dry-run']);
    expect(dryText.code, dryText.stderr).toBe(0);
    // The counts are the result, at the end of the table on stdout (DESIGN §7); progress and warnings stay on stderr.
    expect(dryText.stdout).toMatch(/^Dry run \(nothing written\): 5 to create\n$/m);
    expect(dryText.stderr).not.toMatch(/to create/);
    expect(await sql(db, 'SELECT 1 FROM connection')).toEqual([]);
    expect(await sql(db, "SELECT to_regclass('envmgr_sync_state') AS t")).toEqual([{ t: null }]);

    expect((await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)])).code).toBe(0);
    const before = await dump(db);
    const rerun = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db), '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const report = JSON.parse(rerun.stdout) as Report;
    expect(report.counts).toMatchObject({ create: 0, update: 0, delete: 0, conflict: 0, unchanged: 5 });
    expect(await dump(db)).toBe(before);
  });

  it('prunes only rows envmgr wrote, and never overwrites a hand-made row without --overwrite', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    // Hand-made rows: one with a key the deployment also has, one of its own.
    await sql(db, "INSERT INTO connection (conn_id, conn_type, host, is_encrypted, is_extra_encrypted) VALUES ('shared', 'http', 'my-own', false, false), ('mine', 'http', 'mine-host', false, false)");
    const first = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db), '--json']);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/conflict: connection shared/);
    expect(first.stderr).toContain('error: 1 conflict left unresolved (use --overwrite to replace local rows that envmgr did not write or that changed since it wrote them)');
    expect((JSON.parse(first.stdout) as Report).rows.find((r) => r.key === 'shared')!.action).toBe('conflict');
    expect((await readBack(db)).connections.get('shared')!.host).toBe('my-own');

    const forced = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db), '--overwrite']);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await readBack(db)).connections.get('shared')!.host).toBe('from-deployment');

    // The deployment drops pg_dep: --prune deletes it, and leaves the hand-made 'mine'.
    const dep = await api(em)<{ id: string }>('POST', '/environment-objects', {
      objectKey: 'temp_conn', objectType: 'CONNECTION', scope: 'DEPLOYMENT', scopeEntityId: em.deployments.alpha1, connection: { type: 'http', host: 't' },
    });
    expect((await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)])).code).toBe(0);
    expect((await readBack(db)).connections.has('temp_conn')).toBe(true);
    await call('DELETE', `/environment-objects/${dep.id}`);
    const noPrune = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)]);
    expect(noPrune.code).toBe(0);
    expect((await readBack(db)).connections.has('temp_conn')).toBe(true);
    // Kept, and said (nothing else would show it): another deployment's rows are kept the same way.
    expect(noPrune.stderr).toMatch(/^note: 1 row envmgr wrote from the Environment Manager is not among the objects of this run \(another deployment's or workspace's, or deleted there\): temp_conn; kept \(--prune deletes it if envmgr's write is unchanged\)$/m);
    const keptJson = JSON.parse((await dev.cli(['--json', 'dev', 'start', '-d', em.deployments.alpha1, ...target(db)])).stdout) as { kept: unknown[] };
    expect(keptJson.kept).toEqual([{ kind: 'connection', key: 'temp_conn', source: 'the Environment Manager' }]);
    const pruned = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db), '--prune', '--json']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect((JSON.parse(pruned.stdout) as Report).rows.filter((r) => r.action === 'delete').map((r) => r.key)).toEqual(['temp_conn']);
    const state = await readBack(db);
    expect(state.connections.has('temp_conn')).toBe(false);
    expect(state.connections.get('mine')!.host).toBe('mine-host');
  });

  it('warns when an AIRFLOW_CONN_ / AIRFLOW_VAR_ variable will shadow a synced row', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    await dev.writeProjectFile('.env', 'AIRFLOW_VAR_ENV_NAME=override\n');
    const db = await airflowDb('3.1');
    const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)], { env: { AIRFLOW_CONN_PG_DEP: 'postgres://x@y/z' } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/AIRFLOW_CONN_PG_DEP in the environment will shadow connection pg_dep/);
    expect(run.stderr).toMatch(/AIRFLOW_VAR_ENV_NAME in \.env will shadow variable env_name/);
  });

  it('a malformed --fernet-key or --db-url is a usage error (exit 2); the same from the environment is a failure (exit 1); neither is echoed', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    const bad = 'not-a-fernet-key-S3CRET';
    const badUrl = 'postgresql://postgres:PW-S3CRET@127.0.0.1:notaport/airflow';
    const cases: Array<[string[], NodeJS.ProcessEnv, number]> = [
      [['--db-url', db, '--fernet-key', bad], {}, 2],
      [['--db-url', db], { AIRFLOW__CORE__FERNET_KEY: bad }, 1],
      [['--db-url', badUrl, '--fernet-key', ''], {}, 2],
      [['--fernet-key', ''], { AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: badUrl }, 1],
    ];
    for (const [flags, env, code] of cases) {
      const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, '--wait', '5s', '--dry-run', ...flags], { env });
      expect(run.code, `${flags.join(' ')} ${JSON.stringify(env)}: ${run.stderr}`).toBe(code);
      expect(run.stderr).not.toContain('S3CRET');
    }
  });

  it('warns, with file and line, about .env lines dotenv skips, and still uses the rest of the file', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    await dev.writeProjectFile('.env', 'this line is not valid\nAIRFLOW_VAR_ENV_NAME=override\nAIRFLOW_CONN_BROKEN="unterminated\n');
    const db = await airflowDb('3.1');
    const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db), '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/warning: \.env:1: .*NAME=value/);
    expect(run.stderr).toMatch(/warning: \.env:3: .*unterminated/);
    expect(run.stderr).not.toMatch(/warning: \.env:2/);
    expect(run.stderr).toMatch(/AIRFLOW_VAR_ENV_NAME in \.env will shadow variable env_name/);
  });

  it('refuses --deployment-id when disable_env_objects is true, saying how to turn it back on', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    expect((await dev.cli(['config', 'set', '-g', 'disable_env_objects', 'true'])).code).toBe(0);
    const db = await airflowDb('3.1');
    const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/envmgr config set -g disable_env_objects false/);
    expect(await sql(db, 'SELECT 1 FROM connection')).toEqual([]);
  });

  it('says when the Environment Manager is not read: no -d/-w/project scope, or disable_env_objects', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    await dev.writeProjectFile('airflow_settings.yaml', ['airflow:', '  connections:', '    - conn_id: local_only', '      conn_type: http', ''].join('\n'));
    const noScope = await dev.cli(['dev', 'start', ...target(db)]);
    expect(noScope.code, noScope.stderr).toBe(0);
    expect(noScope.stderr).toMatch(/^note: no deployment or workspace given \(-d, -w, or project\.deployment \/ project\.workspace in the config\): the Environment Manager is not read, syncing the settings file only$/m);
    expect(noScope.stderr).not.toMatch(/Fetched/);
    expect(await sql(db, 'SELECT conn_id FROM connection ORDER BY 1')).toEqual([{ conn_id: 'local_only' }]);

    expect((await dev.cli(['config', 'set', 'disable_env_objects', 'true'])).code).toBe(0);
    const disabled = await dev.cli(['dev', 'start', ...target(db)]);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.stderr).toMatch(/^note: the Environment Manager is not read \(disable_env_objects is true\): syncing the settings file only$/m);

    // With a scope there is no such note.
    expect((await dev.cli(['config', 'set', 'disable_env_objects', 'false'])).code).toBe(0);
    const scoped = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)]);
    expect(scoped.code, scoped.stderr).toBe(0);
    expect(scoped.stderr).toMatch(/^Fetched \d+ environment objects? for deployment /m);
    expect(scoped.stderr).not.toMatch(/not read/);
  });

  it('runs dev.start_command first, in the project root, its output on stderr; a failing one stops the sync', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    const project = join(dev.home, 'project');
    // A URL password in the command is masked where envmgr echoes it (the command itself gets it whole).
    const set = await dev.cli(['config', 'set', 'dev.start_command', 'true postgresql://u:s3cret-pw@db/a && echo airflow-up && touch started.marker']);
    expect(set.code).toBe(0);
    expect(set.stderr).toContain('Set dev.start_command = true postgresql://u:****@db/a && echo airflow-up');
    const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^Running dev\.start_command: true postgresql:\/\/u:\*\*\*\*@db\/a && echo airflow-up/m);
    expect(run.stderr).not.toContain('s3cret-pw');
    expect(run.stderr).toMatch(/^airflow-up$/m);
    expect(run.stdout).not.toMatch(/airflow-up/);
    await expect(access(join(project, 'started.marker'))).resolves.toBeUndefined();

    const fresh = await airflowDb('3.1');
    expect((await dev.cli(['config', 'set', 'dev.start_command', 'exit 3'])).code).toBe(0);
    const failed = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(fresh)]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/dev\.start_command failed \(exit 3\); nothing was synced/);
    expect(await sql(fresh, 'SELECT 1 FROM connection')).toEqual([]);
  });

  it('refuses before running dev.start_command when disable_env_objects forbids the fetch', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    expect((await dev.cli(['config', 'set', 'disable_env_objects', 'true'])).code).toBe(0);
    expect((await dev.cli(['config', 'set', 'dev.start_command', 'touch started.marker'])).code).toBe(0);
    const db = await airflowDb('3.1');
    const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/fetching environment objects is disabled/);
    expect(run.stderr).not.toMatch(/Running dev\.start_command/);
    await expect(access(join(dev.home, 'project', 'started.marker'))).rejects.toThrow();
  });

  it('checks its flags, a named settings file and the login before running dev.start_command; --no-start-command skips it', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    const marker = join(dev.home, 'project', 'started.marker');
    const env = { ENVMGR_DEV_START_COMMAND: 'touch started.marker' };
    const refusals: Array<[string[], number, RegExp, NodeJS.ProcessEnv?]> = [
      [['--wait', '5x'], 2, /invalid duration "5x" for dev\.wait/],
      [['--db-url', 'mysql://u:p@h/db'], 2, /only writes a Postgres Airflow metadata database/],
      [['--fernet-key', 'notakey'], 2, /invalid Fernet key from --fernet-key/],
      [['-s', 'missing.yaml'], 1, /cannot read settings file .*missing\.yaml: no such file/],
      [['-d', em.deployments.alpha1], 4, /not logged in|no token/, { ENVMGR_HOME: join(dev.home, 'nobody') }],
      // A deployment that is not there (a typo in its name) too: the objects are fetched first.
      [['-d', 'alpha-onee'], 1, /no deployment "alpha-onee"; available: /],
    ];
    for (const [args, code, message, extra] of refusals) {
      const base = args.includes('--db-url') ? ['--fernet-key', FERNET_KEY, '--wait', '10s'] : args.includes('--wait') ? ['--db-url', db, '--fernet-key', FERNET_KEY] : args.includes('--fernet-key') ? ['--db-url', db, '--wait', '10s'] : target(db);
      const run = await dev.cli(['dev', 'start', ...base, ...args], { env: { ...env, ...extra } });
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(code);
      expect(run.stderr).toMatch(message);
      expect(run.stderr, args.join(' ')).not.toMatch(/Running dev\.start_command/);
      await expect(access(marker)).rejects.toThrow();
    }
    // A failing one says how to skip it, and where to change it (a variable is not changed by config set).
    const failing = await dev.cli(['dev', 'start', ...target(db)], { env: { ENVMGR_DEV_START_COMMAND: 'exit 7' } });
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/dev\.start_command failed \(exit 7\); nothing was synced\. Fix it, change ENVMGR_DEV_START_COMMAND, or skip it this once with --no-start-command/);
    const skipped = await dev.cli(['dev', 'start', '--no-start-command', ...target(db)], { env: { ENVMGR_DEV_START_COMMAND: 'exit 7' } });
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stderr).not.toMatch(/Running dev\.start_command/);
  });

  it('a SIGTERM or SIGINT to envmgr alone ends it as a cancel (exit 130, the --json document) and stops the start command it ran', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    const { spawn, execFileSync } = await import('node:child_process');
    const { CLI } = await import('../cli/support/cli.js');
    // A duration no other process has, to find what is left of the start command.
    const sleeper = 'sleep 47.25';
    const alive = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').some((l) => l.trim() === sleeper);
    // The last: the shell is gone already, what it started in the background still holds the output open.
    for (const [signal, command] of [['SIGTERM', `echo started; ${sleeper}`], ['SIGINT', `echo started; ${sleeper}`], ['SIGTERM', `${sleeper} & echo started`]] as const) {
      const child = spawn(process.execPath, ['--', CLI, '--json', 'dev', 'start', ...target(db)], {
        cwd: join(dev.home, 'project'), env: { ...dev.env, ENVMGR_DEV_START_COMMAND: command }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      const started = new Promise<void>((resolve) => child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (/^started$/m.test(stderr)) resolve();
      }));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      await started;
      // The sleep is running: the start command's own process group, not envmgr's.
      for (let i = 0; i < 50 && !alive(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(alive()).toBe(true);
      child.kill(signal);
      expect(await exited, stderr).toBe(130);
      expect(stderr).toMatch(new RegExp(`error: interrupted \\(${signal}\\); nothing is written unless the sync had already committed`));
      expect(JSON.parse(stdout)).toMatchObject({ error: expect.stringMatching(/interrupted/), written: false });
      for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(alive()).toBe(false);
    }
  });

  it('takes a deployment or workspace name for -d / -w, as workspace switch does, and says what to pass for neither', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    const byName = await dev.cli(['--json', 'dev', 'start', '-d', 'alpha-one', ...target(db)]);
    expect(byName.code, byName.stderr).toBe(0);
    expect(byName.stderr).toContain(`deployment "alpha-one" is ${em.deployments.alpha1}`);
    const byId = await dev.cli(['--json', 'dev', 'start', '-d', em.deployments.alpha1, ...target(db)]);
    expect((JSON.parse(byName.stdout) as Report).rows.map((r) => r.key)).toEqual((JSON.parse(byId.stdout) as Report).rows.map((r) => r.key));
    const unknown = await dev.cli(['dev', 'start', '-d', 'no-such-deployment', ...target(db)]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/error: no deployment "no-such-deployment"; available: .*alpha-one.*; pass its id or name \(envmgr deployment list --all shows them\)/);
    const workspace = await dev.cli(['dev', 'start', '-w', 'alpha', ...target(db)]);
    expect(workspace.code, workspace.stderr).toBe(0);
    expect(workspace.stderr).toContain(`workspace "alpha" is ${em.workspaces.alpha}`);
  });

  it('names the project config when disable_env_objects is true there (a -g false would not undo it)', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    expect((await dev.cli(['config', 'set', 'disable_env_objects', 'true'])).code).toBe(0);
    const db = await airflowDb('3.1');
    const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\.envmgr\/config\.yaml/);
    expect(run.stderr).toMatch(/envmgr config set disable_env_objects false/);
    expect(run.stderr).not.toMatch(/-g disable_env_objects/);
    // The advice works: after it, the same command syncs.
    expect((await dev.cli(['config', 'set', 'disable_env_objects', 'false'])).code).toBe(0);
    const again = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)]);
    expect(again.code, again.stderr).toBe(0);
  });

  it('--prune --skip-invalid keeps the row of an entry whose new value is too wide for its column (Airflow 2.7 password)', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('2.7');
    const settings = (password: string) => ['airflow:', '  connections:', '    - conn_id: keepme', '      conn_type: http', `      conn_password: "${password}"`, ''].join('\n');
    await dev.writeProjectFile('airflow_settings.yaml', settings('short'));
    expect((await dev.cli(['dev', 'start', ...target(db)])).code).toBe(0);
    // Too wide once encrypted: invalid, so skipped; it is still in the file, so it is not pruned either.
    await dev.writeProjectFile('airflow_settings.yaml', settings('p'.repeat(3700)));
    const run = await dev.cli(['dev', 'start', '--prune', '--skip-invalid', ...target(db)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/airflow_settings\.yaml:5: connection keepme: password is 3700 characters long/);
    expect(run.stdout).not.toMatch(/delete/);
    expect((await readBack(db)).connections.get('keepme')!.password).toBe('short');
  });

  it('--prune --skip-invalid keeps the rows of entries that are still in the settings file but invalid, or in a file that does not parse', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    const settings = (slot: string) => ['airflow:', '  connections:', '    - conn_id: kept_conn', '      conn_type: http',
      '  pools:', '    - pool_name: p1', `      pool_slot: ${slot}`, '      pool_description: d', ''].join('\n');
    const pools = async () => (await sql<{ pool: string }>(db, "SELECT pool FROM slot_pool WHERE pool <> 'default_pool' ORDER BY 1")).map((r) => r.pool);
    await dev.writeProjectFile('airflow_settings.yaml', settings('3'));
    expect((await dev.cli(['dev', 'start', ...target(db)])).code).toBe(0);
    expect(await pools()).toEqual(['p1']);

    // p1 is still there, only its slot count is wrong: it must not be deleted as if it had been removed.
    await dev.writeProjectFile('airflow_settings.yaml', settings('many'));
    const invalid = await dev.cli(['dev', 'start', '--prune', '--skip-invalid', ...target(db)]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/airflow_settings\.yaml:7: pool p1/);
    expect(await pools()).toEqual(['p1']);

    // A file that does not parse says nothing about what it holds.
    await dev.writeProjectFile('airflow_settings.yaml', settings('[3'));
    const broken = await dev.cli(['dev', 'start', '--prune', '--skip-invalid', ...target(db)]);
    expect(broken.code).toBe(1);
    expect(await pools()).toEqual(['p1']);
    expect(await sql(db, "SELECT 1 FROM connection WHERE conn_id = 'kept_conn'")).toHaveLength(1);

    // Removed from a valid file, it is pruned.
    await dev.writeProjectFile('airflow_settings.yaml', ['airflow:', '  connections:', '    - conn_id: kept_conn', '      conn_type: http', ''].join('\n'));
    const pruned = await dev.cli(['dev', 'start', '--prune', ...target(db)]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/^p1\tpool\tno longer in the settings file airflow_settings\.yaml\tdelete$/m);
    expect(await pools()).toEqual([]);

    // A settings file that is gone was not read, so it says nothing either: its rows stay (a run from the wrong
    // directory must not empty the database).
    await unlink(join(dev.home, 'project', 'airflow_settings.yaml'));
    const gone = await dev.cli(['dev', 'start', '--prune', ...target(db)]);
    expect(gone.code, gone.stderr).toBe(0);
    expect(await sql(db, "SELECT 1 FROM connection WHERE conn_id = 'kept_conn'")).toHaveLength(1);
  });

  it('--prune deletes only what the same settings file wrote: another file\'s rows on the same database stay', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    const conn = (id: string) => ['airflow:', '  connections:', `    - conn_id: ${id}`, '      conn_type: http', ''].join('\n');
    await dev.writeProjectFile('other.yaml', conn('from_other'));
    await dev.writeProjectFile('airflow_settings.yaml', conn('from_main'));
    expect((await dev.cli(['object', 'import', '-s', 'other.yaml', ...target(db)])).code).toBe(0);
    expect((await dev.cli(['dev', 'start', ...target(db)])).code).toBe(0);
    const ids = async () => (await sql<{ conn_id: string }>(db, 'SELECT conn_id FROM connection ORDER BY 1')).map((r) => r.conn_id);
    expect(await ids()).toEqual(['from_main', 'from_other']);
    // The project's settings file drops from_main: --prune deletes it, and not other.yaml's from_other.
    await dev.writeProjectFile('airflow_settings.yaml', ['airflow:', '  connections: []', ''].join('\n'));
    const pruned = await dev.cli(['dev', 'start', '--prune', ...target(db)]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/^from_main\tconnection\tno longer in the settings file airflow_settings\.yaml\tdelete$/m);
    expect(pruned.stdout).not.toMatch(/from_other/);
    expect(await ids()).toEqual(['from_other']);
  });

  it('refuses a .env named with --env that does not exist (its Fernet key would be silently dropped), writing nothing', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    await dev.writeProjectFile('airflow_settings.yaml', ['airflow:', '  connections:', '    - conn_id: c1', '      conn_type: http', '      conn_password: pw', ''].join('\n'));
    const run = await dev.cli(['dev', 'start', '--env', 'local.envv', '--db-url', db, '--wait', '10s']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot read \.env file .*local\.envv: no such file/);
    expect(await sql(db, 'SELECT 1 FROM connection')).toEqual([]);
  });

  it('ends its output with the error when the fetch fails (no database progress printed after it)', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    const run = await dev.cli(['dev', 'start', '-d', 'no-such-deployment', ...target(db)]);
    expect(run.code).toBe(1);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines[lines.length - 1]).toMatch(/^error: .*no-such-deployment/);
    expect(await sql(db, 'SELECT 1 FROM connection')).toEqual([]);
  });

  it('stops with the Astro message and guidance when the organization does not allow secrets fetching', async () => {
    const dev = await developer(em, { token: em.lockedToken });
    const res = await fetch(`${em.url}/v1/organizations/${em.lockedOrganizationId}/workspaces`, { headers: { authorization: `Bearer ${em.lockedToken}` } });
    const workspace = ((await res.json()) as { workspaces: { id: string }[] }).workspaces[0]!.id;
    const db = await airflowDb('3.1');
    const run = await dev.cli(['dev', 'start', '-w', workspace, ...target(db)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`showSecrets on organization with id ${em.lockedOrganizationId} is not allowed`);
    expect(run.stderr).toMatch(/Environment Secrets Fetching/i);
    expect(await dump(db)).not.toMatch(/state:/);
    expect(await sql(db, 'SELECT 1 FROM connection')).toEqual([]);
  });

  it('gives a clear 403 to a WORKSPACE_MEMBER token and writes nothing', async () => {
    const { id: userId } = await adminCreateUser(em.databaseUrl, { organizationId: em.organizationId, username: `member-${Date.now()}` });
    const { token } = await adminCreateToken(em.databaseUrl, { organizationId: em.organizationId, name: 'member', userId, roles: [{ role: 'WORKSPACE_MEMBER', entityId: em.workspaces.alpha }] });
    const dev = await developer(em, { token, workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/403|permission|WORKSPACE_AUTHOR/i);
    expect(run.stderr).not.toMatch(/re-run with --verbose/);
    expect(await sql(db, 'SELECT 1 FROM connection')).toEqual([]);
    expect(await dump(db)).not.toMatch(/state:/);
  });

  it('reports an API failure at once, without waiting for the database to get its tables', async () => {
    const { id: userId } = await adminCreateUser(em.databaseUrl, { organizationId: em.organizationId, username: `member-${Date.now()}-b` });
    const { token } = await adminCreateToken(em.databaseUrl, { organizationId: em.organizationId, name: 'member', userId, roles: [{ role: 'WORKSPACE_MEMBER', entityId: em.workspaces.alpha }] });
    const dev = await developer(em, { token, workspace: em.workspaces.alpha });
    // No Airflow tables, ever: dev start would wait the whole --wait (10 minutes) for them before giving up.
    const db = await createTestDatabase('no_airflow');
    const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, '--db-url', db, '--fernet-key', FERNET_KEY, '--wait', '10m']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/403|permission|WORKSPACE_AUTHOR/i);
    expect(run.stderr).not.toMatch(/gave up waiting/);
  });

  it('writes nothing when the API fails in the middle of pagination', async () => {
    // A proxy in front of the real server: the first page claims more objects than it holds, the next page fails.
    const upstream = new URL(em.url);
    const proxy = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const isList = url.pathname.endsWith('/environment-objects') && req.method === 'GET';
      if (isList && Number(url.searchParams.get('offset') ?? 0) > 0) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'internal error', requestId: 'r1', statusCode: 500 }));
        return;
      }
      const forward = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          let body = Buffer.concat(chunks);
          if (isList && up.statusCode === 200) {
            const page = JSON.parse(body.toString()) as { totalCount: number };
            page.totalCount += 5;
            body = Buffer.from(JSON.stringify(page));
          }
          const headers = { ...up.headers, 'content-length': String(body.length) };
          res.writeHead(up.statusCode ?? 502, headers).end(body);
        });
      });
      req.pipe(forward);
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const dev = await developer(undefined);
      const login = await dev.cli(['login', url, '--with-token', '--workspace-id', em.workspaces.alpha], { stdin: em.token });
      expect(login.code, login.stderr).toBe(0);
      const db = await airflowDb('3.1');
      const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/500|internal error/);
      expect(await sql(db, 'SELECT 1 FROM connection')).toEqual([]);
      expect(await sql(db, 'SELECT 1 FROM variable')).toEqual([]);
      expect(await dump(db)).not.toMatch(/state:/);
    } finally {
      await new Promise((done) => proxy.close(done));
    }
  });

  it('refuses a wrong Fernet key before writing, naming where the key came from', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    const db = await airflowDb('3.1');
    expect((await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)])).code).toBe(0);
    await call('POST', `/environment-objects/${ids.pg_dep}`, { connection: { type: 'postgres', host: 'changed-host', login: 'u', password: '****', port: 6543 } });
    const before = await dump(db);
    const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, '--db-url', db, '--wait', '10s'], { env: { AIRFLOW__CORE__FERNET_KEY: OTHER_KEY } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/AIRFLOW__CORE__FERNET_KEY in the environment/);
    // One piece of advice, not the same one twice in one line.
    expect(run.stderr.match(/(use|pass) the key/gi) ?? []).toHaveLength(1);
    expect(await dump(db)).toBe(before);
    await call('POST', `/environment-objects/${ids.pg_dep}`, { connection: { type: 'postgres', host: 'dep-db', login: 'u', password: '****', port: 6543 } });
  });

  it('lists every problem of an invalid settings file with file and line, and writes nothing', async () => {
    const dev = await developer(em, { workspace: em.workspaces.alpha });
    await dev.writeProjectFile('airflow_settings.yaml', [
      'airflow:',
      '  connections:',
      '    - conn_id: good',
      '      conn_type: http',
      '    - conn_id: bad port',
      '      conn_type: postgres',
      '    - conn_id: other',
      '      conn_type: postgres',
      '      conn_port: 99999',
      '    - conn_id: third',
      '      conn_colour: blue',
      '',
    ].join('\n'));
    const db = await airflowDb('3.1');
    const run = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/airflow_settings\.yaml:5.*conn_id/);
    expect(run.stderr).toMatch(/airflow_settings\.yaml:9.*port/);
    expect(run.stderr).toMatch(/airflow_settings\.yaml:11.*conn_colour/);
    expect(run.stderr).toMatch(/nothing was written/);
    expect(await sql(db, 'SELECT 1 FROM connection')).toEqual([]);

    const skipping = await dev.cli(['dev', 'start', '-d', em.deployments.alpha1, ...target(db), '--skip-invalid']);
    expect(skipping.code).toBe(1);
    const keys = (await sql<{ conn_id: string }>(db, 'SELECT conn_id FROM connection ORDER BY 1')).map((r) => r.conn_id);
    expect(keys).toContain('good');
    expect(keys).toContain('pg_dep');
    expect(keys).not.toContain('other');
  });
});
