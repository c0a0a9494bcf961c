import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, tempHome } from './support/cli.js';
import { startTestEnvironmentManager, type TestEnvironmentManager } from './support/server.js';

let em: TestEnvironmentManager;
beforeAll(async () => {
  em = await startTestEnvironmentManager();
});
afterAll(async () => {
  await em?.close();
});

const domainOf = (url: string) => new URL(url).host;

describe('login, lists, switch, config, logout against a real server', () => {
  it('walks the whole session through the built CLI', async () => {
    const home = await tempHome();
    const env = baseEnv(home);
    const cli = (args: string[], stdin?: string) => runCli(args, { env, cwd: home, stdin });

    // Two workspaces and no terminal: logs in, leaves the workspace unset and says what to run.
    const login = await cli(['login', em.url, '--with-token'], em.token);
    expect(login.code).toBe(0);
    expect(login.stderr).toContain('Logged in to');
    expect(login.stderr).toMatch(/run envmgr workspace switch/);
    expect(login.stderr).toMatch(/storing the token in .*credentials\.json \(mode 0600\)/);
    expect(login.stdout + login.stderr).not.toContain(em.token);
    const credentialsFile = join(home, '.envmgr', 'credentials.json');
    expect((await stat(credentialsFile)).mode & 0o777).toBe(0o600);
    const config = await readFile(join(home, '.envmgr', 'config.yaml'), 'utf8');
    expect(config).toContain(`context: ${domainOf(em.url)}`);
    expect(config).toContain(em.organizationId);
    expect(config).not.toContain(em.token);
    expect((await stat(join(home, '.envmgr', 'config.yaml'))).mode & 0o777).toBe(0o600);

    const deploymentsWithout = await cli(['deployment', 'list']);
    expect(deploymentsWithout.code).toBe(2);
    expect(deploymentsWithout.stderr).toMatch(/^error: no workspace selected; pass --workspace-id \(or --all for every workspace\) or run envmgr workspace switch$/m);

    const list = await cli(['workspace', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.trim().split('\n').map((l) => l.split('\t'))).toEqual([
      ['alpha', em.workspaces.alpha, 'false'],
      ['beta', em.workspaces.beta, 'false'],
    ]);

    const switched = await cli(['workspace', 'switch', 'beta']);
    expect(switched.code).toBe(0);
    const listed = JSON.parse((await cli(['workspace', 'list', '--json'])).stdout) as { id: string; current: boolean }[];
    expect(listed.find((w) => w.current)?.id).toBe(em.workspaces.beta);

    const deployments = await cli(['deployment', 'list', '--json']);
    expect((JSON.parse(deployments.stdout) as { id: string }[]).map((d) => d.id)).toEqual([em.deployments.beta1]);
    const all = JSON.parse((await cli(['deployment', 'list', '--all', '--json'])).stdout) as { id: string }[];
    expect(all.map((d) => d.id).sort()).toEqual([em.deployments.alpha1, em.deployments.alpha2, em.deployments.beta1].sort());
    const table = await cli(['deployment', 'list', '--workspace-id', em.workspaces.alpha]);
    const rows = table.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(rows.map((r) => r[0]).sort()).toEqual(['alpha-one', 'alpha-two']);
    expect(rows[0]).toContain(em.deployments.alpha1);

    const status = await cli(['auth', 'status', '--json']);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({ user: 'e2e-owner', tokenSource: 'file', workspaceId: em.workspaces.beta, tokenValid: true });
    expect(status.stdout).not.toContain(em.token);
    expect((await cli(['auth', 'token'])).stdout).toBe(em.token + '\n');

    const logout = await cli(['logout']);
    expect(logout.code).toBe(0);
    const after = await cli(['auth', 'status']);
    expect(after.code).toBe(4);
    expect(after.stderr).toMatch(/run envmgr login/);
    expect(JSON.parse(await readFile(credentialsFile, 'utf8')).tokens).toEqual({});
  });

  it('logs in with --token-login and --workspace-id by name, and --json never holds the token', async () => {
    const home = await tempHome();
    const result = await runCli(['login', em.url, '--token-login', em.token, '--workspace-id', 'alpha', '--json'], { env: baseEnv(home) });
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(body).toMatchObject({ domain: domainOf(em.url), apiUrl: em.url, user: 'e2e-owner', organizationId: em.organizationId, workspaceId: em.workspaces.alpha, workspaceName: 'alpha', credentialStore: 'file' });
    expect(result.stdout).not.toContain(em.token);
  });

  it('rejects a wrong token with exit 4 and stores nothing', async () => {
    const home = await tempHome();
    const result = await runCli(['login', em.url, '--with-token'], { env: baseEnv(home), stdin: 'not-a-real-token-123' });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/not accepted/);
    expect(await readdir(home)).not.toContain('.envmgr');
  });

  it('keeps project and global config apart with the right precedence', async () => {
    const home = await tempHome();
    const env = baseEnv(home);
    const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { env: { ...env, ...extra }, cwd: home });

    expect((await cli(['config', 'get', 'disable_env_objects'])).stdout).toBe('false\n');
    expect((await cli(['config', 'set', 'dev.prefer', 'remote', '-g'])).code).toBe(0);
    // In the home directory, `.envmgr/` is the global one: a project write there is refused, not mixed in.
    const notProject = await cli(['config', 'set', 'dev.prefer', 'local']);
    expect(notProject.code).toBe(2);
    expect(notProject.stderr).toMatch(/no project here.*pass -g/);
    expect(await readFile(join(home, '.envmgr', 'config.yaml'), 'utf8')).toBe('dev:\n  prefer: remote\n');
    const sub = join(home, 'proj');
    await mkdir(sub);
    const inProject = (args: string[], extra: NodeJS.ProcessEnv = {}) => runCli(args, { env: { ...env, ...extra }, cwd: sub });
    expect((await inProject(['config', 'set', 'dev.wait', '30s'])).code).toBe(0);
    expect(await readFile(join(sub, '.envmgr', 'config.yaml'), 'utf8')).toBe('dev:\n  wait: 30s\n');
    expect((await inProject(['config', 'get', 'dev.wait'])).stdout).toBe('30s\n');
    expect((await inProject(['config', 'get', 'dev.wait'], { ENVMGR_DEV_WAIT: '1m' })).stdout).toBe('1m\n');
    const unset = await inProject(['config', 'get', 'dev.wait', '-g']);
    expect(unset.stdout).toBe('');
    // Unset is exit 1, so that a script can tell it from a value.
    expect(unset.code).toBe(1);
    expect(unset.stderr).toBe('error: dev.wait is not set in the global file; set it with envmgr config set -g dev.wait <value>\n');
    expect((await inProject(['config', 'get', 'dev.prefer'])).stdout).toBe('remote\n');
    const listed = JSON.parse((await inProject(['config', 'list', '--json'])).stdout) as { key: string; value?: string; source: string }[];
    expect(listed.find((r) => r.key === 'dev.wait')).toMatchObject({ value: '30s', source: 'project' });
    expect(listed.find((r) => r.key === 'dev.settings_file')).toMatchObject({ value: 'airflow_settings.yaml', source: 'default' });

    const unknown = await inProject(['config', 'set', 'dev.colour', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/valid keys: .*dev\.prefer/);
    const outside = await inProject(['config', 'set', 'dev.prefer', 'server']);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/valid values: local, remote/);
  });
});
