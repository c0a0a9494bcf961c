import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { AuthError, CancelError, UsageError, UserError, exitCodeFor, formatError } from './errors.js';
import { testIO } from './io.js';
import { createLogger } from './log.js';
import { scriptedPrompter } from './prompter.js';
import { printTable, handleEmptyList } from './table.js';
import { Context } from './context.js';
import { runProgram } from './program.js';

describe('errors', () => {
  it('map to the documented exit codes', () => {
    expect(exitCodeFor(new UserError('x'))).toBe(1);
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    expect(exitCodeFor(new AuthError('x'))).toBe(4);
    expect(exitCodeFor(new CancelError())).toBe(130);
    expect(exitCodeFor(new TypeError('bug'))).toBe(1);
  });

  it('print a bug as one line plus the --verbose hint, the stack only with --verbose', () => {
    const bug = new TypeError('x is undefined');
    const quiet = formatError(bug, false);
    expect(quiet).toContain('re-run with --verbose');
    expect(quiet).not.toContain('at ');
    expect(formatError(bug, true)).toContain('shell.test.ts');
    expect(formatError(new UserError('no workspace; pass --workspace-id'), false)).toBe('error: no workspace; pass --workspace-id\n');
  });

  it('show the control characters of a message (a name a server sent) instead of handing them to the terminal', async () => {
    const evil = 'evil\u001b[31mRED\u001b[0m\u0007';
    const printed = formatError(new UserError(`no workspace "x"; available: ${evil} (w1)`), false);
    expect(printed).toBe('error: no workspace "x"; available: evil\u241b[31mRED\u241b[0m\u2407 (w1)\n');
    // eslint-disable-next-line no-control-regex
    expect(formatError(new Error(`bad ${evil}`), false)).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    const { findByIdOrName } = await import('../commands/shared/pick.js');
    expect(() => findByIdOrName([{ id: 'w1', name: evil }], 'x', 'workspace')).toThrow('available: evil\u241b[31mRED\u241b[0m\u2407 (w1)');
  });

  it('an ambiguous deployment name lists the ids with their workspaces, which is what tells them apart', async () => {
    const { findByIdOrName } = await import('../commands/shared/pick.js');
    const deployments = [
      { id: 'd1', name: 'etl', workspaceName: 'data-platform' },
      { id: 'd2', name: 'etl', workspaceName: 'analytics' },
      { id: 'd3', name: 'other', workspaceName: 'analytics' },
    ];
    expect(() => findByIdOrName(deployments, 'etl', 'deployment')).toThrow(
      'several deployments are named "etl"; pass the id instead (d1 in workspace data-platform, d2 in workspace analytics)',
    );
    expect(() => findByIdOrName([{ id: 'w1', name: 'a' }, { id: 'w2', name: 'A' }], 'a', 'workspace')).not.toThrow();
    expect(() => findByIdOrName([{ id: 'w1', name: 'A' }, { id: 'w2', name: 'A' }], 'A', 'workspace')).toThrow('pass the id instead (w1, w2)');
  });
});

describe('tables', () => {
  const rows = [{ a: 'x', b: 1 }, { a: 'longer', b: 22 }];
  const cols = [{ header: 'A', value: (r: { a: string }) => r.a }, { header: 'B', value: (r: { b: number }) => r.b }];

  it('are tab-separated without a header off a terminal', () => {
    const io = testIO();
    printTable(io, cols as never, rows);
    expect(io.stdout()).toBe('x\t1\nlonger\t22\n');
  });

  it('have a header and aligned columns on a terminal, bold only with colour', () => {
    const io = testIO({ isTTY: true });
    printTable(io, cols as never, rows);
    expect(io.stdout().split('\n')).toEqual(['A       B', 'x       1', 'longer  22', '']);
    const coloured = testIO({ isTTY: true, color: true });
    printTable(coloured, cols as never, rows);
    expect(coloured.stdout().startsWith('\u001b[1m')).toBe(true);
  });

  it('handle an empty list: [] with --json, a line on stderr otherwise', () => {
    const json = testIO();
    expect(handleEmptyList(json, true, [], 'No workspaces.')).toBe(true);
    expect(json.stdout()).toBe('[]\n');
    const human = testIO();
    expect(handleEmptyList(human, false, [], 'No workspaces.')).toBe(true);
    expect(human.stdout()).toBe('');
    expect(human.stderr()).toBe('No workspaces.\n');
  });
});

describe('prompter', () => {
  it('refuses without a terminal, naming the flag to use', async () => {
    const prompter = scriptedPrompter([], false);
    await expect(prompter.secret('API token', { flag: '--with-token' })).rejects.toThrow(/pass --with-token/);
    await expect(prompter.confirm('Delete?', { flag: '--yes' })).rejects.toBeInstanceOf(UsageError);
  });

  it('words a question to confirm as one, and a value to give as one', async () => {
    const { inquirerPrompter } = await import('./prompter.js');
    const prompter = inquirerPrompter(testIO({ canPrompt: false }));
    await expect(prompter.confirm('Delete variable vo from workspace alpha?', { flag: '--yes' })).rejects.toThrow(
      'delete variable vo from workspace alpha needs a confirmation, but prompting is not possible (no terminal, CI or --no-input); pass --yes',
    );
    await expect(prompter.input('Domain or URL of the Environment Manager', { flag: 'a domain-or-url argument' })).rejects.toThrow(
      'domain or url of the environment manager is needed, but prompting is not possible (no terminal, CI or --no-input); pass a domain-or-url argument',
    );
  });

  it('takes CI=false and CI=0 for "not CI", anything else set for CI', async () => {
    const { isCi } = await import('./io.js');
    expect([undefined, '', 'false', 'FALSE', '0'].map(isCi)).toEqual([false, false, false, false, false]);
    expect(['true', '1', 'yes', 'github'].map(isCi)).toEqual([true, true, true, true]);
  });
});

describe('logger', () => {
  it('redacts registered secrets and bearer tokens', () => {
    const io = testIO();
    const log = createLogger(() => io, () => true);
    log.addSecret('s3cr3t-value');
    log.debug('sent s3cr3t-value with Authorization: Bearer abc.def');
    expect(io.stderr()).toBe('debug: sent **** with Authorization: Bearer ****\n');
  });

  it('prints debug lines only with --verbose', () => {
    const io = testIO();
    createLogger(() => io, () => false).debug('hidden');
    expect(io.stderr()).toBe('');
  });
});

describe('program', () => {
  const run = async (argv: string[], register?: (p: Command, ctx: Context) => void) => {
    const io = testIO();
    const ctx = new Context({ io, env: {}, cwd: '/nonexistent', homeDir: '/nonexistent', version: '1.2.3' });
    const code = await runProgram(ctx, argv, register ? [{ name: 'probe', summary: 'test', load: async () => register }] : undefined);
    return { code, io, ctx };
  };

  it('prints the version and exits 0', async () => {
    const { code, io } = await run(['--version']);
    expect(code).toBe(0);
    expect(io.stdout()).toBe('1.2.3\n');
  });

  it('exits 2 on an unknown command or option', async () => {
    expect((await run(['nope'])).code).toBe(2);
    expect((await run(['config', 'get', '--bogus', 'x'])).code).toBe(2);
  });

  it('accepts global options after the subcommand and maps thrown errors to exit codes', async () => {
    let seen: unknown;
    const { code, io } = await run(['probe', '--json', '--no-input', '--verbose'], (program, ctx) => {
      program.command('probe').action(() => {
        seen = { ...ctx.globals };
        throw new AuthError('not logged in; run envmgr login');
      });
    });
    expect(seen).toMatchObject({ json: true, input: false, verbose: true });
    expect(code).toBe(4);
    expect(io.stderr().endsWith('error: not logged in; run envmgr login\n')).toBe(true);
    expect(io.stderr()).toMatch(/^debug: config: global /);
  });
});
