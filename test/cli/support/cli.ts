import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The built CLI (`npm test` builds first; while developing run `npm run build`). */
export const CLI = join(ROOT, 'dist/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdin?: string;
  /** Wrap the command, e.g. `['dbus-run-session', '--', ...]`. The CLI's own argv goes after. */
  timeoutMs?: number;
}

// baseEnv(home, extra): a clean environment, nothing of the developer's own envmgr setup, proxies or CI flags; one
// builder for the tests and the reliability suites.
export { cliEnv as baseEnv } from '../../../scripts/reliability/lib.mjs';

export async function tempHome(prefix = 'envmgr-e2e-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return runCommand(process.execPath, ['--', CLI, ...args], opts);
}

export function runCommand(command: string, args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    // A command that exits without reading stdin closes the pipe first: EPIPE here is expected, not a failure.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
  });
}
