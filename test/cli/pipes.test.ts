import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv, CLI, tempHome } from './support/cli.js';

/** Runs the CLI with its stdout (or stderr) a pipe whose reader has gone before anything is written (`| head -0`). */
function withClosedReader(args: string[], env: NodeJS.ProcessEnv, cwd: string, which: 'stdout' | 'stderr' = 'stdout'): Promise<{ code: number | null; other: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--', CLI, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = which === 'stdout' ? child.stdout : child.stderr;
    const open = which === 'stdout' ? child.stderr : child.stdout;
    closed.destroy();
    let other = '';
    open.on('data', (c: Buffer) => (other += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, other });
    });
  });
}

describe('output into a pipe whose reader went away (envmgr … | head -1)', () => {
  it('ends quietly with the command\'s own exit code, its other effects done, instead of an unhandled EPIPE stack trace', async () => {
    const home = await tempHome();
    const env = baseEnv(home);
    for (const args of [['config', 'list'], ['--json', 'config', 'list'], ['completion', 'bash']]) {
      const run = await withClosedReader(args, env, home);
      expect(run.other, args.join(' ')).not.toMatch(/EPIPE|Unhandled|node:events/);
      expect(run.code, `${args.join(' ')}: ${run.other}`).toBe(0);
    }
    // The write happens although nobody reads what config set says about it.
    const set = await withClosedReader(['config', 'set', '-g', 'dev.wait', '2m'], env, home, 'stderr');
    expect(set.code).toBe(0);
    expect(await readFile(join(home, '.envmgr', 'config.yaml'), 'utf8')).toMatch(/wait: 2m/);
    // A failing command keeps its exit code.
    const bad = await withClosedReader(['config', 'get', 'no.such.key'], env, home, 'stderr');
    expect(bad.code).toBe(2);
  });
});
