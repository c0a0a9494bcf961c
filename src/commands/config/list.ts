import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { printTable } from '../../cli/table.js';
import { SETTINGS, shownValue } from '../../config/registry.js';
import type { ResolvedSetting } from '../../config/settings.js';

export interface ConfigListOptions {
  global: boolean;
  showSecrets?: boolean;
}

export function registerConfigList(parent: Command, ctx: Context): void {
  parent
    .command('list')
    .description('every known setting with its effective value and where it comes from')
    .option('-g, --global', 'only the values stored in the global file')
    .option('--show-secrets', 'show a password in a URL (dev.db_url, dev.start_command) instead of ****')
    .action(async (flags: { global?: boolean; showSecrets?: boolean }) => {
      await runConfigList(ctx, { global: flags.global === true, showSecrets: flags.showSecrets === true });
    });
}

export async function runConfigList(ctx: Context, opts: ConfigListOptions): Promise<void> {
  const settings = await ctx.config();
  const rows = SETTINGS.map((def) => {
    const resolved = opts.global
      ? globalOnly(def.key, settings.stored(def.key, 'global'), settings.globalFile)
      : settings.resolve(def.key);
    const value = resolved.value === undefined ? undefined : shownValue(def.key, resolved.value, opts.showSecrets);
    const problem = settings.problemOf(resolved as ResolvedSetting);
    return { ...resolved, value, description: def.description, allowed: def.allowed, default: def.default, ...(problem ? { problem } : {}) };
  });
  // Listed as they are (so that they can be found and mended), and said to be wrong: commands that read them stop.
  for (const row of rows) if (row.problem) ctx.log.warn(row.problem);
  if (ctx.globals.json) {
    ctx.io.out(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  printTable(
    ctx.io,
    [
      { header: 'KEY', value: (r) => r.key },
      { header: 'VALUE', value: (r) => r.value ?? '' },
      // The word --json uses: "unset" for a key with no value anywhere.
      { header: 'SOURCE', value: (r) => (r.value === undefined ? 'unset' : r.source) },
      { header: 'DESCRIPTION', value: (r) => r.description + (r.allowed ? ` (${r.allowed.join('|')})` : ''), truncate: true },
    ],
    rows,
  );
}

/** A key as stored in the global file alone (`config list -g`): "unset" when the file does not hold it. */
function globalOnly(key: string, value: string | undefined, file: string): { key: string; value?: string; source: string; origin?: string } {
  return value === undefined ? { key, value, source: 'unset' } : { key, value, source: 'global', origin: file };
}
