import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, baseEnv, tempHome } from './support/cli.js';
import { startTestEnvironmentManager, type TestEnvironmentManager } from './support/server.js';
import { sendJson, startScriptedServer } from './support/http.js';

let em: TestEnvironmentManager;
beforeAll(async () => {
  em = await startTestEnvironmentManager();
});
afterAll(async () => em?.close());

interface Step {
  /** Text the terminal must show before `send` is typed. */
  waitFor: string;
  send: string;
}

/**
 * Runs the CLI on a real pseudo-terminal (util-linux `script`), typing each answer only once its prompt is on
 * screen, as a person would.
 */
function onTerminal(args: string[], env: NodeJS.ProcessEnv, steps: Step[] = []): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...env, TERM: 'xterm', COLUMNS: '120' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let next = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
      while (next < steps.length && screen.includes(steps[next]!.waitFor)) child.stdin.write(steps[next++]!.send);
    });
    child.on('error', reject);
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}

const haveScript = await import('node:child_process').then(({ spawnSync }) => spawnSync('script', ['--version']).status === 0);

describe.skipIf(!haveScript)('on a terminal', () => {
  it('prompts for the token without echo and for the workspace, then prints tables with a header and colour', async () => {
    const home = await tempHome();
    const env = baseEnv(home);
    const login = await onTerminal(['login', em.url], env, [
      { waitFor: 'API token', send: `${em.token}\r` },
      { waitFor: 'Workspace', send: '\u001b[B' },
      { waitFor: 'beta', send: '\r' },
    ]);
    expect(login.code, login.screen).toBe(0);
    expect(login.screen).not.toContain(em.token);
    expect(await readFile(join(home, '.envmgr', 'config.yaml'), 'utf8')).toContain(`workspaceId: ${em.workspaces.beta}`);

    const table = await onTerminal(['workspace', 'list'], env);
    expect(table.code).toBe(0);
    const lines = table.screen.split(/\r?\n/);
    // A bold header; columns padded to the widest cell ("alpha", a 25-character id), two spaces apart.
    expect(lines[0]!.startsWith('\u001b[1m')).toBe(true);
    const strip = (text: string) => text.split('\u001b[1m').join('').split('\u001b[0m').join('');
    expect(strip(lines[0]!)).toBe(`${'NAME'.padEnd(5)}  ${'ID'.padEnd(em.workspaces.alpha.length)}  CURRENT`);
    expect(lines[2]).toMatch(new RegExp(`^beta\\s+${em.workspaces.beta}\\s+true$`));

    const plain = await onTerminal(['workspace', 'list'], { ...env, NO_COLOR: '1' });
    expect(plain.screen).not.toContain('\u001b[');
    expect(plain.screen.split(/\r?\n/)[0]).toMatch(/^NAME\s+ID\s+CURRENT$/);
  });

  it('workspace switch starts the picker on the current workspace: Enter keeps it', async () => {
    const home = await tempHome();
    const env = baseEnv(home);
    const login = await onTerminal(['login', em.url, '--workspace-id', em.workspaces.beta], env, [{ waitFor: 'API token', send: `${em.token}\r` }]);
    expect(login.code, login.screen).toBe(0);
    const picked = await onTerminal(['workspace', 'switch'], env, [{ waitFor: '(current)', send: '\r' }]);
    expect(picked.code, picked.screen).toBe(0);
    expect(picked.screen).toMatch(/beta \(\S+\) \(current\)/);
    expect(await readFile(join(home, '.envmgr', 'config.yaml'), 'utf8')).toContain(`workspaceId: ${em.workspaces.beta}`);
  });

  it('asks before deleting, and "no" cancels with exit 130', async () => {
    const home = await tempHome();
    const env = baseEnv(home, { ENVMGR_API_TOKEN: em.token, ENVMGR_DOMAIN: em.url });
    const create = await onTerminal(['env', 'airflow-variable', 'create', 'tty_var', '-w', em.workspaces.alpha], env, [{ waitFor: 'Value', send: 'typed-in\r' }]);
    expect(create.code, create.screen).toBe(0);
    const refused = await onTerminal(['env', 'airflow-variable', 'delete', 'tty_var', '-w', em.workspaces.alpha], env, [{ waitFor: 'Delete variable tty_var', send: 'n\r' }]);
    expect(refused.code).toBe(130);
    const yes = await onTerminal(['env', 'airflow-variable', 'delete', 'tty_var', '-w', em.workspaces.alpha], env, [{ waitFor: 'Delete variable tty_var', send: 'y\r' }]);
    expect(yes.code, yes.screen).toBe(0);
  });

  it('does not prompt with --no-input or CI even on a terminal, and names the flag', async () => {
    const home = await tempHome();
    for (const [args, extra] of [
      [['login', em.url, '--no-input'], {}],
      [['login', em.url], { CI: 'true' }],
    ] as [string[], NodeJS.ProcessEnv][]) {
      const result = await onTerminal(args, { ...baseEnv(home), ...extra });
      expect(result.code).toBe(2);
      expect(result.screen).toContain('pass --with-token');
      expect(result.screen).not.toContain('? API token');
    }
  });

  it('logs in through the device flow when the server offers it, polling at the given interval', async () => {
    const accessToken = 'device-access-token-42';
    const api = await startScriptedServer((r, _i, res) => {
      const polls = api.requests.filter((q) => q.url === '/v1/auth/device/token').length;
      if (r.url === '/v1/auth/device/code') return sendJson(res, 200, { deviceCode: 'dc-1', userCode: 'WDJB-MJHT', verificationUri: 'https://example.test/activate', expiresIn: 60, interval: 1 });
      if (r.url === '/v1/auth/device/token') {
        // The request being answered is already recorded: the first two polls are pending, the third succeeds.
        if (polls <= 2) return sendJson(res, 400, { message: 'authorization_pending', requestId: 'r', statusCode: 400 });
        return sendJson(res, 200, { accessToken, refreshToken: 'refresh-1', expiresIn: 3600 });
      }
      if (r.headers.authorization !== `Bearer ${accessToken}`) return sendJson(res, 401, { message: 'no', requestId: 'r', statusCode: 401 });
      if (r.url === '/v1/users/self') return sendJson(res, 200, { id: 'u1', username: 'dev-user', subjectType: 'USER', organizationId: 'o1', workspaceRoles: [], deploymentRoles: [] });
      if (r.url.startsWith('/v1/organizations/o1/workspaces')) return sendJson(res, 200, { workspaces: [{ id: 'w1', name: 'solo', organizationId: 'o1', createdAt: '', updatedAt: '' }], limit: 1000, offset: 0, totalCount: 1 });
      if (r.url.startsWith('/v1/organizations')) return sendJson(res, 200, { organizations: [{ id: 'o1', name: 'Org', createdAt: '', updatedAt: '' }], limit: 1000, offset: 0, totalCount: 1 });
      sendJson(res, 404, { message: 'not found', requestId: 'r', statusCode: 404 });
    });
    try {
      const home = await tempHome();
      const login = await onTerminal(['login', api.url], baseEnv(home));
      expect(login.code, login.screen).toBe(0);
      expect(login.screen).toContain('enter the code WDJB-MJHT');
      expect(login.screen).toContain('https://example.test/activate');
      const polls = api.requests.filter((q) => q.url === '/v1/auth/device/token');
      expect(polls).toHaveLength(3);
      expect(polls[1]!.at - polls[0]!.at).toBeGreaterThanOrEqual(990);
      expect(JSON.parse(polls[0]!.body)).toEqual({ deviceCode: 'dc-1' });
      const stored = JSON.parse(await readFile(join(home, '.envmgr', 'credentials.json'), 'utf8')) as { tokens: Record<string, string> };
      expect(Object.values(stored.tokens)).toEqual([accessToken]);
    } finally {
      await api.close();
    }
  });
});
