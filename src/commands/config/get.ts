import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';

export interface ConfigGetOptions {
  key: string;
  global: boolean;
}

export function registerConfigGet(parent: Command, ctx: Context): void {
  parent
    .command('get')
    .description('print the effective value of a setting (flag > env > project > global > default)')
    .argument('<key>', 'a key from envmgr config list')
    .option('-g, --global', 'only the value stored in the global file')
    .action(async (key: string, flags: { global?: boolean }) => {
      await runConfigGet(ctx, { key, global: flags.global === true });
    });
}

export async function runConfigGet(ctx: Context, opts: ConfigGetOptions): Promise<void> {
  const settings = await ctx.config();
  const resolved = opts.global
    ? { key: opts.key, value: settings.stored(opts.key, 'global'), source: 'global', origin: settings.globalFile }
    : settings.resolve(opts.key);
  if (ctx.globals.json) {
    ctx.io.out(JSON.stringify(resolved, null, 2) + '\n');
    return;
  }
  if (resolved.value === undefined) {
    ctx.io.err(`${opts.key} is not set\n`);
    return;
  }
  ctx.io.out(resolved.value + '\n');
}
