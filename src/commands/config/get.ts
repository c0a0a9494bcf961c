import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { UserError } from '../../cli/errors.js';
import { shownValue } from '../../config/registry.js';
import type { ResolvedSetting } from '../../config/settings.js';

export interface ConfigGetOptions {
  key: string;
  global: boolean;
  showSecrets?: boolean;
}

export function registerConfigGet(parent: Command, ctx: Context): void {
  parent
    .command('get')
    .description('print the effective value of a setting (flag > env > project > global > default); exits 1 when it is not set')
    .argument('<key>', 'a key from envmgr config list')
    .option('-g, --global', 'only the value stored in the global file')
    .option('--show-secrets', 'print a password in a URL (dev.db_url, dev.start_command) instead of ****')
    .action(async (key: string, flags: { global?: boolean; showSecrets?: boolean }) => {
      await runConfigGet(ctx, { key, global: flags.global === true, showSecrets: flags.showSecrets === true });
    });
}

export async function runConfigGet(ctx: Context, opts: ConfigGetOptions): Promise<void> {
  const settings = await ctx.config();
  const resolved = opts.global
    ? { key: opts.key, value: settings.stored(opts.key, 'global'), source: 'global', origin: settings.globalFile }
    : settings.resolve(opts.key);
  const value = resolved.value === undefined ? undefined : shownValue(opts.key, resolved.value, opts.showSecrets);
  // Shown as it is (so that it can be found and mended), and said to be wrong: commands that read it stop on it.
  const problem = settings.problemOf(resolved as ResolvedSetting);
  if (ctx.globals.json) {
    ctx.io.out(JSON.stringify({ ...resolved, value, ...(problem ? { problem } : {}) }, null, 2) + '\n');
    return;
  }
  if (problem) ctx.log.warn(problem);
  // Unset is a failure (exit 1, as `git config --get` has it), so that a script can tell it from a value.
  if (value === undefined) {
    throw new UserError(`${opts.key} is not set${opts.global ? ' in the global file' : ''}; set it with envmgr config set${opts.global ? ' -g' : ''} ${opts.key} <value>`);
  }
  ctx.io.out(value + '\n');
  if (value !== resolved.value) ctx.io.err('(password masked; --show-secrets prints it)\n');
}
