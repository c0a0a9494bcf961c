import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { airflowDb, FERNET_KEY, sql } from '../dev/support.js';
import { baseEnv, CLI, ROOT, runCli, runCommand, tempHome } from './support/cli.js';
import { startTestEnvironmentManager, type TestEnvironmentManager } from './support/server.js';

// The low-severity CLI findings of the black-box audit (L2-L5, L8, L9, L12-L14, M8), each checked through the
// built CLI against a real Environment Manager and a real metadata database.

let em: TestEnvironmentManager;
beforeAll(async () => {
  em = await startTestEnvironmentManager();
});
afterAll(async () => {
  await em?.close();
});

const domainOf = (url: string) => new URL(url).host;

async function session(workspace?: string) {
  const home = await tempHome();
  const env = baseEnv(home);
  const cli = (args: string[], stdin?: string, cwd = home) => runCli(args, { env, cwd, stdin });
  if (workspace !== undefined) {
    const login = await cli(['login', em.url, '--with-token', ...(workspace ? ['--workspace-id', workspace] : [])], em.token);
    expect(login.code, login.stderr).toBe(0);
  }
  const globalConfig = async () => parseYaml(await readFile(join(home, '.envmgr', 'config.yaml'), 'utf8')) as {
    context?: string;
    contexts: Record<string, { workspaceId?: string; organizationId?: string }>;
  };
  return { home, env, cli, globalConfig };
}

describe('deployment list -w (L2)', () => {
  it('takes a workspace id or name, and a workspace that does not exist is an error, not an empty list', async () => {
    const { cli } = await session('alpha');
    const byName = await cli(['deployment', 'list', '-w', 'beta', '--json']);
    expect(byName.code, byName.stderr).toBe(0);
    expect((JSON.parse(byName.stdout) as { id: string }[]).map((d) => d.id)).toEqual([em.deployments.beta1]);
    const byId = await cli(['deployment', 'list', '--workspace-id', em.workspaces.beta, '--json']);
    expect((JSON.parse(byId.stdout) as { id: string }[]).map((d) => d.id)).toEqual([em.deployments.beta1]);

    // Reported as `workspace switch nope` reports it.
    const switched = await cli(['workspace', 'switch', 'nope']);
    for (const args of [['deployment', 'list', '-w', 'nope'], ['deployment', 'list', '-w', 'nope', '--json']]) {
      const unknown = await cli(args);
      expect(unknown.code).toBe(switched.code);
      expect(unknown.code).toBe(1);
      expect(unknown.stdout).toBe('');
      expect(unknown.stderr).toMatch(/^error: no workspace "nope"; available: alpha \(.+\), beta \(.+\)$/m);
      expect(unknown.stderr).not.toMatch(/No deployments found/);
    }
  });
});

describe('login again without --workspace-id (L3)', () => {
  it('keeps the workspace chosen before when it is still in the same organization', async () => {
    const { cli, globalConfig } = await session('beta');
    const domain = domainOf(em.url);
    expect((await globalConfig()).contexts[domain]!.workspaceId).toBe(em.workspaces.beta);

    const again = await cli(['login', em.url, '--with-token'], em.token);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`Workspace: beta (${em.workspaces.beta})`);
    expect(again.stderr).not.toMatch(/none was chosen/);
    expect((await globalConfig()).contexts[domain]!.workspaceId).toBe(em.workspaces.beta);

    // Another organization on the same domain: the old workspace is not carried over.
    const locked = await cli(['login', em.url, '--with-token'], em.lockedToken);
    expect(locked.code, locked.stderr).toBe(0);
    const lockedContext = (await globalConfig()).contexts[domain]!;
    expect(lockedContext.organizationId).toBe(em.lockedOrganizationId);
    expect(lockedContext.workspaceId).not.toBe(em.workspaces.beta);
  });

  it('still leaves the workspace unset on a first login with several workspaces', async () => {
    const { cli, globalConfig } = await session();
    const login = await cli(['login', em.url, '--with-token'], em.token);
    expect(login.code).toBe(0);
    expect(login.stderr).toMatch(/2 workspaces are available and none was chosen/);
    expect((await globalConfig()).contexts[domainOf(em.url)]!.workspaceId).toBeUndefined();
  });
});

describe('logout (L4, L5)', () => {
  it('says which login is current once the current one is logged out', async () => {
    const other = await startTestEnvironmentManager();
    try {
      const { cli, globalConfig } = await session();
      expect((await cli(['login', other.url, '--with-token', '--workspace-id', 'alpha'], other.token)).code).toBe(0);
      expect((await cli(['login', em.url, '--with-token', '--workspace-id', 'alpha'], em.token)).code).toBe(0);
      expect((await globalConfig()).context).toBe(domainOf(em.url));

      const logout = await cli(['logout']);
      expect(logout.code).toBe(0);
      expect(logout.stderr).toBe(`Logged out of ${domainOf(em.url)}.\nNow using ${domainOf(other.url)}.\n`);
      expect((await globalConfig()).context).toBe(domainOf(other.url));

      // Logging out of a login that is not the current one changes nothing else, and says nothing more.
      expect((await cli(['login', em.url, '--with-token', '--workspace-id', 'alpha'], em.token)).code).toBe(0);
      const notCurrent = await cli(['logout', other.url]);
      expect(notCurrent.stderr).toBe(`Logged out of ${domainOf(other.url)}.\n`);

      // The last one: nothing becomes current.
      const last = await cli(['logout', '--json']);
      expect(JSON.parse(last.stdout)).toEqual({ domain: domainOf(em.url), removed: true });
      expect(last.stderr).toBe('');
    } finally {
      await other.close();
    }
  });

  it('logged in nowhere: a note and exit 0, as for a domain one is not logged in to', async () => {
    const { cli } = await session();
    const unknownDomain = await cli(['logout', 'nonexistent.example.com']);
    expect(unknownDomain.code).toBe(0);
    const nowhere = await cli(['logout']);
    expect(nowhere.code).toBe(unknownDomain.code);
    expect(nowhere.stderr).toBe('Not logged in anywhere; nothing to do.\n');
    const json = await cli(['logout', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ domain: null, removed: false });
  });
});

describe('env … --password-stdin / --value-stdin and the get table (L8)', () => {
  it('refuses empty stdin with exit 2 naming the flag, and creates nothing', async () => {
    const { cli } = await session('alpha');
    const conn = await cli(['env', 'connection', 'create', 'empty_pw', '--type', 'postgres', '--password-stdin'], '');
    expect(conn.code).toBe(2);
    expect(conn.stderr).toMatch(/^error: empty stdin: --password-stdin needs the value on stdin/m);
    // Only a newline (`echo "$UNSET" |`) is empty too.
    const newline = await cli(['env', 'connection', 'create', 'empty_pw', '--type', 'postgres', '--password-stdin'], '\n');
    expect(newline.code).toBe(2);
    expect((await cli(['env', 'connection', 'get', 'empty_pw'])).code).toBe(1);

    const variable = await cli(['env', 'airflow-variable', 'create', 'empty_var', '--secret', '--value-stdin'], '');
    expect(variable.code).toBe(2);
    expect(variable.stderr).toMatch(/--value-stdin/);
    expect((await cli(['env', 'airflow-variable', 'get', 'empty_var'])).code).toBe(1);

    expect((await cli(['env', 'connection', 'create', 'has_pw', '--type', 'postgres', '--password-stdin'], 'pw-123456')).code).toBe(0);
    expect((await cli(['env', 'airflow-variable', 'create', 'has_var', '--value', 'v1'])).code).toBe(0);
    for (const args of [
      ['env', 'connection', 'update', 'has_pw', '--password-stdin'],
      ['env', 'connection', 'link', 'create', 'has_pw', '-d', em.deployments.alpha1, '--password-stdin'],
      ['env', 'airflow-variable', 'update', 'has_var', '--value-stdin'],
    ]) {
      const empty = await cli(args, '');
      expect(empty.code, args.join(' ')).toBe(2);
      expect(empty.stderr).toMatch(/empty stdin: --(password|value)-stdin/);
    }
    const kept = await cli(['env', 'connection', 'get', 'has_pw', '--show-secrets', '--json']);
    expect((JSON.parse(kept.stdout) as { connection: { password: string } }).connection.password).toBe('pw-123456');
  });

  it('shows **** only for a password that holds a value (setFields)', async () => {
    const { cli } = await session('alpha');
    // An empty password stored through the API (or by another client).
    const res = await fetch(`${em.url}/v1/organizations/${em.organizationId}/environment-objects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${em.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ objectKey: 'blank_pw', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: em.workspaces.alpha, connection: { type: 'postgres', host: 'h', password: '' } }),
    });
    expect(res.status, await res.text()).toBeLessThan(300);
    const blank = await cli(['env', 'connection', 'get', 'blank_pw']);
    expect(blank.code, blank.stderr).toBe(0);
    expect(blank.stdout).toMatch(/^host\th$/m);
    expect(blank.stdout).not.toMatch(/^password/m);
    expect(blank.stdout).not.toContain('****');

    expect((await cli(['env', 'connection', 'create', 'real_pw', '--type', 'postgres', '--password-stdin'], 'pw-abcdef')).code).toBe(0);
    const real = await cli(['env', 'connection', 'get', 'real_pw']);
    expect(real.stdout).toMatch(/^password\t\*\*\*\*$/m);
  });
});

describe('object export (L9, L12)', () => {
  const target = (db: string) => ['--db-url', db, '--fernet-key', FERNET_KEY, '--wait', '10s'];

  it('--serialization without --env-export is a usage error, before any database is waited for', async () => {
    const { cli } = await session();
    const started = performance.now();
    // Nothing listens on port 1: without the check this would wait for the database (here 3 s) and exit 1.
    const run = await cli(['object', 'export', '--serialization', 'json', '--db-url', 'postgresql://u:p@127.0.0.1:1/x', '--wait', '3s']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: --serialization goes with --env-export/m);
    expect(performance.now() - started).toBeLessThan(2500);
    // The default value alone is no request.
    const uri = await cli(['object', 'export', '--env-export', '--serialization', 'uri', '-s', 'x.yaml']);
    expect(uri.code).toBe(2);
    expect(uri.stderr).toMatch(/mutually exclusive/);
  });

  it('names the connections whose description a URI .env or the settings file cannot hold', async () => {
    const { home, cli } = await session();
    const project = join(home, 'project');
    await mkdir(join(project, '.envmgr'), { recursive: true });
    const db = await airflowDb('3.1');
    await sql(
      db,
      `INSERT INTO connection (conn_id, conn_type, host, description, is_encrypted, is_extra_encrypted)
       VALUES ('with_desc', 'http', 'a.example', 'the A service', false, false),
              ('also_desc', 'http', 'b.example', 'the B service', false, false),
              ('no_desc', 'http', 'c.example', NULL, false, false)`,
    );
    const inProject = (args: string[]) => cli(args, undefined, project);

    const env = await inProject(['object', 'export', '--env-export', '-e', 'out.env', ...target(db)]);
    expect(env.code, env.stderr).toBe(0);
    const warnings = env.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([
      'warning: the description of 2 connections was not exported (also_desc, with_desc): a connection URI has no description; --serialization json keeps it',
    ]);

    const json = await inProject(['object', 'export', '--env-export', '-e', 'json.env', '--serialization', 'json', ...target(db)]);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr).not.toMatch(/description/);
    expect(await readFile(join(project, 'json.env'), 'utf8')).toContain('the A service');

    const settings = await inProject(['object', 'export', '-s', 'settings.yaml', '-c', ...target(db)]);
    expect(settings.code, settings.stderr).toBe(0);
    expect(settings.stderr).toMatch(/^warning: the description of 2 connections was not exported \(also_desc, with_desc\): the settings file has no field for it/m);

    // Only those that have one are named; none, no warning.
    await sql(db, `UPDATE connection SET description = NULL WHERE conn_id = 'also_desc'`);
    const one = await inProject(['object', 'export', '--env-export', '-e', 'one.env', ...target(db)]);
    expect(one.stderr).toMatch(/^warning: the description of 1 connection was not exported \(with_desc\)/m);
    await sql(db, `UPDATE connection SET description = ''`);
    const none = await inProject(['object', 'export', '--env-export', '-e', 'none.env', ...target(db)]);
    expect(none.code).toBe(0);
    expect(none.stderr).not.toMatch(/warning/);
  });
});

describe('config list and set (L13, L14)', () => {
  it('config list names an unset key\'s source "unset", as --json does', async () => {
    const { cli } = await session();
    const table = await cli(['config', 'list']);
    const rows = table.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(rows.find((r) => r[0] === 'dev.db_url')!.slice(0, 3)).toEqual(['dev.db_url', '', 'unset']);
    const json = JSON.parse((await cli(['config', 'list', '--json'])).stdout) as { key: string; source: string }[];
    expect(json.find((r) => r.key === 'dev.db_url')!.source).toBe('unset');

    const globalTable = await cli(['config', 'list', '-g']);
    const globalRows = globalTable.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(globalRows.find((r) => r[0] === 'dev.prefer')!.slice(0, 3)).toEqual(['dev.prefer', '', 'unset']);
    const globalJson = JSON.parse((await cli(['config', 'list', '-g', '--json'])).stdout) as { key: string; source: string }[];
    expect(globalJson.find((r) => r.key === 'dev.prefer')!.source).toBe('unset');
  });

  it('auth status --json says workspaceId null when none is chosen, as the table says (none …)', async () => {
    const { cli } = await session('');
    const status = JSON.parse((await cli(['auth', 'status', '--json'])).stdout) as Record<string, unknown>;
    expect(status).toHaveProperty('workspaceId', null);
  });

  it('config set refuses a blank id for project.deployment and project.workspace', async () => {
    const { home, cli } = await session();
    const project = join(home, 'project');
    await mkdir(join(project, '.envmgr'), { recursive: true });
    for (const key of ['project.deployment', 'project.workspace']) {
      for (const value of ['', '  ', '\t']) {
        const run = await cli(['config', 'set', key, value], undefined, project);
        expect(run.code, `${key}=${JSON.stringify(value)}`).toBe(2);
        expect(run.stderr).toMatch(new RegExp(`^error: ${key.replace('.', '\\.')} needs an id, not a blank value; to remove it run envmgr config unset ${key.replace('.', '\\.')}$`, 'm'));
      }
    }
    await expect(stat(join(project, '.envmgr', 'config.yaml'))).rejects.toThrow();
    expect((await cli(['config', 'set', 'project.deployment', em.deployments.alpha1], undefined, project)).code).toBe(0);
  });
});

describe('project.workspace against workspace switch', () => {
  it('names where project.workspace is set when it matches no workspace, and workspace switch warns that it still wins', async () => {
    const { cli } = await session('alpha');
    expect((await cli(['config', 'set', '-g', 'project.workspace', 'x'])).code).toBe(0);
    const switched = await cli(['workspace', 'switch', 'beta']);
    expect(switched.code, switched.stderr).toBe(0);
    expect(switched.stderr).toMatch(/^warning: project\.workspace is "x" \(.*config\.yaml:\d+\), which wins over this choice .*envmgr config unset -g project\.workspace$/m);
    const listed = await cli(['deployment', 'list']);
    expect(listed.code).toBe(1);
    expect(listed.stderr).toMatch(/^error: no workspace "x"; available: .* \(from project\.workspace in .*config\.yaml:\d+, which wins over envmgr workspace switch; .*\)$/m);
    // A flag is the user's own choice: no such note.
    const flagged = await cli(['deployment', 'list', '-w', 'nope']);
    expect(flagged.stderr).not.toMatch(/from project\.workspace/);
    expect((await cli(['config', 'unset', '-g', 'project.workspace'])).code).toBe(0);
    const after = await cli(['workspace', 'switch', 'beta']);
    expect(after.stderr).not.toMatch(/warning/);
  });
});

describe('README: how to run the built CLI (M8)', () => {
  it('recommends the forms that keep a later --env-file from Node, and they do', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    // `node dist/cli/main.js` is only ever mentioned as the form not to use.
    const mentions = [...readme.matchAll(/(\S+\s+)?`?node dist\/cli\/main\.js/g)];
    for (const m of mentions) expect(m[1]?.trim(), m[0]).toBe('not');
    expect(readme).toContain('./dist/cli/main.js');

    // The script run directly (its shebang is `node --`) gives envmgr's own error for a missing --env-file.
    const home = await tempHome();
    const run = await runCommand(CLI, ['object', 'import', '--env-file', 'nope.env', '--db-url', 'postgresql://u:p@127.0.0.1:1/x', '--wait', '1s'], { env: baseEnv(home), cwd: home });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot read \.env file .*nope\.env/);
  });
});

describe('an option given to a command group', () => {
  it('names the subcommands that take it (envmgr server --dev: envmgr server start --dev), still a usage error', async () => {
    const env = baseEnv(await tempHome());
    const server = await runCli(['server', '--dev'], { env });
    expect(server.code).toBe(2);
    expect(server.stderr).toBe("error: unknown option '--dev'\n(did you mean envmgr server start --dev or envmgr server admin … --dev?)\n");
    const list = await runCli(['env', 'connection', '--show-secrets'], { env });
    expect(list.code).toBe(2);
    expect(list.stderr).toContain('(did you mean envmgr env connection list --show-secrets or envmgr env connection get --show-secrets?)');
    // Global options before the group, their values skipped; the flag is the one commander names.
    expect((await runCli(['--ca-file', '/x', 'server', '--dev'], { env })).stderr).toContain('(did you mean envmgr server start --dev or');
    expect((await runCli(['server', '--json=1', '--dev'], { env })).stderr).not.toContain('did you mean');
    // Groups below that have commands taking it are named too.
    expect((await runCli(['server', 'admin', '--dev'], { env })).stderr).toContain('(did you mean envmgr server admin create … --dev or envmgr server admin set … --dev or envmgr server admin list --dev?)');
    // An option no subcommand takes: commander's message alone.
    const none = await runCli(['server', '--nope'], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("error: unknown option '--nope'\n");
  });
});
