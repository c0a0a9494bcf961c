import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { chooseFormat } from '../shared/output.js';
import { findObject } from './find.js';
import type { EnvKind } from './kinds.js';
import { printObject } from './render.js';
import { addScopeOptions, checkScopeFlags, resolveScope, type ScopeFlags } from './scope.js';

export interface EnvGetOptions extends ScopeFlags {
  kind: EnvKind;
  keyOrId: string;
  showSecrets: boolean;
  format?: string;
}

export function registerEnvGet(parent: Command, ctx: Context, kind: EnvKind): void {
  addScopeOptions(parent.command('get').description(`show one ${kind.noun}`).argument('<key-or-id>', `the ${kind.noun}'s key or id`))
    .option('--show-secrets', 'show secret values (needs Environment Secrets Fetching on the organization)')
    .option('--format <format>', 'table, json or yaml')
    .action(async (keyOrId: string, flags: ScopeFlags & { showSecrets?: boolean; format?: string }) => {
      checkScopeFlags(flags);
      await runEnvGet(ctx, { ...flags, kind, keyOrId, showSecrets: flags.showSecrets === true });
    });
}

export async function runEnvGet(ctx: Context, opts: EnvGetOptions): Promise<void> {
  const format = chooseFormat(ctx, opts.format);
  const ref = await resolveScope(ctx, opts);
  const session = await ctx.session();
  const object = await findObject(await ctx.api(), session.organizationId, opts.kind, opts.keyOrId, ref, opts.showSecrets);
  await printObject(ctx, object, format, opts.showSecrets);
}
