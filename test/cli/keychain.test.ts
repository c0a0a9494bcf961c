import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, baseEnv, runCommand, runCli, tempHome } from './support/cli.js';
import { startTestEnvironmentManager, type TestEnvironmentManager } from './support/server.js';

function which(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const haveSecretService = which('dbus-run-session') && which('gnome-keyring-daemon');
const haveKeytar = existsSync(join(ROOT, 'node_modules/keytar/build/Release/keytar.node'));
const skipReason = !haveSecretService
  ? 'dbus-run-session or gnome-keyring-daemon is not installed (.ci/run installs dbus and gnome-keyring)'
  : !haveKeytar
    ? 'keytar (optional dependency) is not built'
    : '';
if (skipReason) console.warn(`keychain tests skipped: ${skipReason}`);

let em: TestEnvironmentManager;
beforeAll(async () => {
  em = await startTestEnvironmentManager();
});
afterAll(async () => em?.close());

/**
 * Runs `script` in a fresh D-Bus session with gnome-keyring's Secret Service unlocked. The keyring file lives
 * under $HOME, so successive sessions with the same HOME see the same keyring, as a user's logins do.
 */
function inKeyringSession(env: NodeJS.ProcessEnv, script: string, stdin?: string) {
  const unlock = 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null';
  return runCommand('dbus-run-session', ['--', 'sh', '-c', `${unlock}; ${script}`], { env, stdin, timeoutMs: 30_000 });
}

describe.skipIf(Boolean(skipReason))('the OS keychain through the Secret Service (gnome-keyring under dbus-run-session)', () => {
  it('stores the token in the keychain, reads it back in a later session, and forgets it on logout', async () => {
    const home = await tempHome();
    const env = baseEnv(home);
    const node = JSON.stringify(process.execPath);
    const cli = `${node} ${JSON.stringify(CLI)}`;

    const login = await inKeyringSession(env, `exec ${cli} login ${em.url} --with-token --workspace-id alpha`, em.token);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('system keychain');
    expect(login.stderr).not.toMatch(/credentials\.json/);
    expect(existsSync(join(home, '.envmgr', 'credentials.json'))).toBe(false);

    const status = await inKeyringSession(env, `exec ${cli} auth status --json`);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ tokenSource: 'keychain', tokenValid: true, user: 'e2e-owner' });

    // Read straight from the Secret Service: service envmgr, account = the domain.
    const domain = new URL(em.url).host;
    const keytar = JSON.stringify(join(ROOT, 'node_modules/keytar'));
    const direct = await inKeyringSession(env, `exec ${node} -e 'require(${keytar}).getPassword("envmgr", ${JSON.stringify(domain)}).then((t) => process.stdout.write(String(t)))'`);
    expect(direct.stdout).toBe(em.token);

    // Outside any D-Bus session the keychain cannot be reached: that is said, not "no token stored".
    const unreachable = await runCli(['workspace', 'list'], { env: { ...env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } });
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toMatch(/the token may be in the system keychain, which could not be read \(could not read the system keychain: .+\)/);
    expect(unreachable.stderr).not.toContain('no token stored');

    const logout = await inKeyringSession(env, `exec ${cli} logout`);
    expect(logout.code, logout.stderr).toBe(0);
    const gone = await inKeyringSession(env, `exec ${node} -e 'require(${keytar}).getPassword("envmgr", ${JSON.stringify(domain)}).then((t) => process.stdout.write(String(t)))'`);
    expect(gone.stdout).toBe('null');
  });
});

describe('no Secret Service', () => {
  it('falls back to a 0600 file, says so on login, and auth status names the file', async () => {
    const home = await tempHome();
    const env = baseEnv(home);
    const login = await runCli(['login', em.url, '--with-token', '--workspace-id', 'beta'], { env, stdin: em.token });
    expect(login.code).toBe(0);
    const file = join(home, '.envmgr', 'credentials.json');
    expect(login.stderr).toContain(`storing the token in ${file} (mode 0600) instead`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8')).tokens[new URL(em.url).host]).toBe(em.token);
    const status = await runCli(['auth', 'status', '--json'], { env });
    expect(JSON.parse(status.stdout)).toMatchObject({ tokenSource: 'file', tokenStore: `file ${file}` });
  });
});
