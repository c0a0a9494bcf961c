import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { CancelError } from '../../cli/errors.js';
import { findObject } from './find.js';
import type { EnvKind } from './kinds.js';
import { addScopeOptions, checkScopeFlags, describeScope, resolveScope, type ScopeFlags } from './scope.js';

export interface EnvDeleteOptions extends ScopeFlags {
  kind: EnvKind;
  keyOrId: string;
  yes: boolean;
}

export function registerEnvDelete(parent: Command, ctx: Context, kind: EnvKind): void {
  addScopeOptions(parent.command('delete').alias('rm').description(`delete a ${kind.noun}`).argument('<key-or-id>', `the ${kind.noun}'s key or id`), `the ${kind.noun}`)
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (keyOrId: string, flags: ScopeFlags & { yes?: boolean }) => {
      checkScopeFlags(flags);
      await runEnvDelete(ctx, { ...flags, kind, keyOrId, yes: flags.yes === true });
    });
}

export async function runEnvDelete(ctx: Context, opts: EnvDeleteOptions): Promise<void> {
  const ref = await resolveScope(ctx, opts);
  const session = await ctx.session();
  const api = await ctx.api();
  const object = await findObject(api, session.organizationId, opts.kind, opts.keyOrId, ref);
  if (!opts.yes) {
    const linked = object.scope === 'WORKSPACE' && (object.autoLinkDeployments || (object.links?.length ?? 0) > 0) ? ' and remove it from every linked deployment' : '';
    const sure = await ctx.prompter.confirm(`Delete ${opts.kind.noun} ${object.objectKey} from ${describeScope(ref)}${linked}?`, { flag: '--yes' });
    if (!sure) throw new CancelError('not deleted');
  }
  await api.deleteEnvironmentObject(session.organizationId, object.id);
  if (ctx.globals.json) ctx.io.out(JSON.stringify({ id: object.id, objectKey: object.objectKey, deleted: true }) + '\n');
  else ctx.io.err(`Deleted ${opts.kind.noun} ${object.objectKey} (${object.id}).\n`);
}
