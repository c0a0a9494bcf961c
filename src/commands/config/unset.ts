import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';

export interface ConfigUnsetOptions {
  key: string;
  global: boolean;
}

export function registerConfigUnset(parent: Command, ctx: Context): void {
  parent
    .command('unset')
    .description('remove a setting from the project file or, with -g, the global file')
    .argument('<key>', 'a key from envmgr config list')
    .option('-g, --global', 'the global file instead of the project file')
    .action(async (key: string, flags: { global?: boolean }) => {
      await runConfigUnset(ctx, { key, global: flags.global === true });
    });
}

export async function runConfigUnset(ctx: Context, opts: ConfigUnsetOptions): Promise<void> {
  const settings = await ctx.config();
  const where = opts.global ? 'global' : 'project';
  const removed = await settings.unset(opts.key, where);
  if (ctx.globals.json) ctx.io.out(JSON.stringify({ key: opts.key, removed }) + '\n');
  else ctx.io.err(removed ? `Removed ${opts.key} from the ${where} file\n` : `${opts.key} was not set in the ${where} file\n`);
}
