import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { UsageError } from '../../cli/errors.js';
import { shownValue } from '../../config/registry.js';

/** Keys that hold an id: a blank value is refused. (Other keys may be set to "" on purpose, e.g. no start command.) */
const ID_KEYS: ReadonlySet<string> = new Set(['project.workspace', 'project.deployment']);

export interface ConfigSetOptions {
  key: string;
  value: string;
  global: boolean;
}

export function registerConfigSet(parent: Command, ctx: Context): void {
  parent
    .command('set')
    .description('store a setting in the project file (.envmgr/config.yaml) or, with -g, the global file')
    .argument('<key>', 'a key from envmgr config list')
    .argument('<value>', 'the value')
    .option('-g, --global', 'write the global file instead of the project file')
    .action(async (key: string, value: string, flags: { global?: boolean }) => {
      await runConfigSet(ctx, { key, value, global: flags.global === true });
    });
}

export async function runConfigSet(ctx: Context, opts: ConfigSetOptions): Promise<void> {
  const settings = await ctx.config();
  if (ID_KEYS.has(opts.key) && opts.value.trim() === '') {
    // A blank id would be sent as one (and match nothing); removing the key is `unset`.
    throw new UsageError(`${opts.key} needs an id, not a blank value; to remove it run envmgr config unset ${opts.key}${opts.global ? ' -g' : ''}`);
  }
  const file = await settings.set(opts.key, opts.value, opts.global ? 'global' : 'project');
  const value = shownValue(opts.key, opts.value);
  if (ctx.globals.json) ctx.io.out(JSON.stringify({ key: opts.key, value, file }) + '\n');
  else ctx.io.err(`Set ${opts.key} = ${value} in ${file}\n`);
}
