import { readdir } from 'node:fs/promises';
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

describe('ENVMGR_API_TOKEN + ENVMGR_DOMAIN, with no config at all', () => {
  it('works for every read and write, writes no file, and auth status names the environment', async () => {
    const home = await tempHome();
    const env = baseEnv(home, { ENVMGR_API_TOKEN: em.token, ENVMGR_DOMAIN: em.url, CI: 'true' });
    const cli = (args: string[], stdin?: string) => runCli(args, { env, cwd: home, stdin });

    const workspaces = await cli(['workspace', 'list', '--json']);
    expect(workspaces.code, workspaces.stderr).toBe(0);
    expect((JSON.parse(workspaces.stdout) as { name: string }[]).map((w) => w.name)).toEqual(['alpha', 'beta']);
    const all = JSON.parse((await cli(['deployment', 'list', '--all', '--json'])).stdout) as unknown[];
    expect(all).toHaveLength(3);

    const ws = em.workspaces.beta;
    expect((await cli(['env', 'airflow-variable', 'create', 'ci_var', '-w', ws, '--value', 'from-ci'])).code).toBe(0);
    const vars = JSON.parse((await cli(['env', 'airflow-variable', 'list', '-w', ws, '--json'])).stdout) as { objectKey: string }[];
    expect(vars.map((v) => v.objectKey)).toContain('ci_var');
    expect((await cli(['env', 'airflow-variable', 'delete', 'ci_var', '-w', ws, '--yes'])).code).toBe(0);

    const noWorkspace = await cli(['env', 'connection', 'list']);
    expect(noWorkspace.code).toBe(2);
    expect(noWorkspace.stderr).toMatch(/pass --workspace-id/);

    const status = await cli(['auth', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/token from\s+environment variable ENVMGR_API_TOKEN \(overrides any stored login\)/);
    expect(status.stdout).not.toContain(em.token);

    expect(await readdir(home)).toEqual([]);
  });

  it('auth status --offline asks no server, not even for the organization (the port given has nothing listening)', async () => {
    const home = await tempHome();
    const { createServer } = await import('node:net');
    // A port that was free a moment ago: connecting to it is refused.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as { port: number };
        probe.close(() => resolve(p));
      });
    });
    const env = baseEnv(home, { ENVMGR_API_TOKEN: em.token, ENVMGR_DOMAIN: `http://127.0.0.1:${port}` });
    const status = await runCli(['--verbose', 'auth', 'status', '--offline'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).not.toMatch(/ECONNREFUSED|cannot reach|GET /);
    expect(status.stdout).toMatch(/^organization\t\(unknown offline/m);
    expect(status.stdout).toMatch(/^token valid\tnot checked$/m);
    const json = await runCli(['--json', 'auth', 'status', '--offline'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ domain: `127.0.0.1:${port}`, organizationId: null, tokenSource: 'env' });
  });

  it('fails with exit 4 and the variable to check when the token is unknown', async () => {
    const home = await tempHome();
    const result = await runCli(['workspace', 'list'], { env: baseEnv(home, { ENVMGR_API_TOKEN: 'expired-or-unknown-1', ENVMGR_DOMAIN: em.url }) });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/ENVMGR_API_TOKEN/);
  });

  it('asks for ENVMGR_DOMAIN when only the token is set', async () => {
    const home = await tempHome();
    const result = await runCli(['workspace', 'list'], { env: baseEnv(home, { ENVMGR_API_TOKEN: em.token }) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/set ENVMGR_DOMAIN/);
  });

  it("over a stored login, an unknown token from the environment is not shown as the stored login's user", async () => {
    const home = await tempHome();
    const env = baseEnv(home);
    expect((await runCli(['login', em.url, '--with-token', '--workspace-id', em.workspaces.alpha], { env, stdin: em.token })).code).toBe(0);
    const stored = JSON.parse((await runCli(['auth', 'status', '--json'], { env })).stdout) as { user?: string };
    expect(stored.user).toEqual(expect.any(String));
    const status = await runCli(['auth', 'status', '--json'], { env: { ...env, ENVMGR_API_TOKEN: 'bogus-token-1' } });
    expect(status.code).toBe(4);
    const shown = JSON.parse(status.stdout) as { user?: string; tokenSource: string; tokenValid?: boolean };
    expect(shown).toMatchObject({ tokenSource: 'env', tokenValid: false });
    expect(shown.user).toBeUndefined();
    const table = await runCli(['auth', 'status'], { env: { ...env, ENVMGR_API_TOKEN: 'bogus-token-1' } });
    expect(table.stdout).not.toContain(stored.user!);
  });

  it('turns the showSecrets 403 into the organization-setting guidance', async () => {
    const home = await tempHome();
    const env = baseEnv(home, { ENVMGR_API_TOKEN: em.lockedToken, ENVMGR_DOMAIN: em.url });
    const workspaces = JSON.parse((await runCli(['workspace', 'list', '--json'], { env })).stdout) as { id: string }[];
    const result = await runCli(['env', 'connection', 'list', '-w', workspaces[0]!.id, '--show-secrets'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ask an organization owner to enable/);
    expect(result.stderr).toContain(em.lockedOrganizationId);
  });
});

describe('without a terminal nothing prompts and the error names the flag', () => {
  it('login without a token names --with-token', async () => {
    const home = await tempHome();
    const result = await runCli(['login', em.url], { env: baseEnv(home) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('pass --with-token');
  });

  it('workspace switch without an argument names the argument', async () => {
    const home = await tempHome();
    const env = baseEnv(home);
    expect((await runCli(['login', em.url, '--with-token'], { env, stdin: em.token })).code).toBe(0);
    const result = await runCli(['workspace', 'switch'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/prompting is not possible.*pass an id-or-name argument/);
  });

  it('login without a domain and nothing saved names the argument', async () => {
    const home = await tempHome();
    const result = await runCli(['login', '--with-token'], { env: baseEnv(home), stdin: 'x' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/pass a domain-or-url argument/);
  });
});
