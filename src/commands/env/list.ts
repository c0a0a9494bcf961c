import { UsageError } from '../../cli/errors.js';
import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { handleEmptyList } from '../../cli/table.js';
import { chooseFormat, type OutputFormat } from '../shared/output.js';
import type { EnvKind } from './kinds.js';
import { printObjects } from './render.js';
import { addScopeOptions, checkScopeFlags, describeScope, resolveScope, type ScopeFlags } from './scope.js';

export interface EnvListOptions extends ScopeFlags {
  kind: EnvKind;
  resolveLinked: boolean;
  showSecrets: boolean;
  format?: string;
}

export function registerEnvList(parent: Command, ctx: Context, kind: EnvKind): void {
  addScopeOptions(parent.command('list').alias('ls').description(`list the ${kind.noun}s of a workspace or deployment`))
    .option('--resolve-linked', "with --deployment-id: what the deployment gets, workspace links and overrides applied")
    .option('--show-secrets', 'show secret values (needs Environment Secrets Fetching on the organization)')
    .option('--format <format>', 'table, json or yaml')
    .action(async (flags: ScopeFlags & { resolveLinked?: boolean; showSecrets?: boolean; format?: string }) => {
      checkScopeFlags(flags);
      await runEnvList(ctx, { ...flags, kind, resolveLinked: flags.resolveLinked === true, showSecrets: flags.showSecrets === true });
    });
}

export async function runEnvList(ctx: Context, opts: EnvListOptions): Promise<void> {
  const format: OutputFormat = chooseFormat(ctx, opts.format);
  const ref = await resolveScope(ctx, opts);
  if (opts.resolveLinked && ref.scope !== 'DEPLOYMENT') {
    throw new UsageError('--resolve-linked resolves what a deployment gets: pass --deployment-id (a workspace list has nothing to resolve)');
  }
  const session = await ctx.session();
  const objects = await (await ctx.api()).listEnvironmentObjects(session.organizationId, {
    ...(ref.scope === 'WORKSPACE' ? { workspaceId: ref.id } : { deploymentId: ref.id }),
    objectType: opts.kind.objectType,
    showSecrets: opts.showSecrets || undefined,
    resolveLinked: opts.resolveLinked || undefined,
  });
  if (objects.length === 0 && format === 'yaml') {
    ctx.io.out('[]\n');
    return;
  }
  if (handleEmptyList(ctx.io, format === 'json', objects, `No ${opts.kind.noun}s in ${describeScope(ref)}.`)) return;
  await printObjects(ctx, opts.kind, objects, format, opts.showSecrets);
}
