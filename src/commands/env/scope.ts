import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { UsageError, UserError } from '../../cli/errors.js';
import type { Scope } from '../../api/types.js';
import { NamedEntities, refuseBlank } from '../shared/named.js';

export interface ScopeRef {
  scope: Scope;
  id: string;
  /** What -d or -w gave (`etl-production`, or the id itself), for messages; absent for the current workspace. */
  given?: string;
}

export interface ScopeFlags {
  workspaceId?: string;
  deploymentId?: string;
}

export function addScopeOptions(command: Command, what = 'the objects'): Command {
  return command
    .option('-w, --workspace-id <id-or-name>', `workspace that owns ${what} (default: the current workspace)`)
    .option('-d, --deployment-id <id-or-name>', `deployment that owns ${what}`);
}

export function checkScopeFlags(flags: ScopeFlags): void {
  refuseBlank({ '--workspace-id': flags.workspaceId, '--deployment-id': flags.deploymentId });
  if (flags.workspaceId && flags.deploymentId) {
    throw new UsageError('--workspace-id and --deployment-id are mutually exclusive; pass one');
  }
}

/**
 * The deployment when `-d` is given, else the workspace from `-w`, `project.workspace` or the login; `-d` and `-w`
 * take an id or a name (NamedEntities).
 */
export async function resolveScope(ctx: Context, flags: ScopeFlags, named = new NamedEntities(ctx)): Promise<ScopeRef> {
  checkScopeFlags(flags);
  const given = flags.deploymentId ?? flags.workspaceId;
  const id = flags.deploymentId ? await named.id('deployment', flags.deploymentId) : await workspaceFlag(ctx, flags.workspaceId, named);
  return { scope: flags.deploymentId ? 'DEPLOYMENT' : 'WORKSPACE', id, ...(given !== undefined ? { given } : {}) };
}

/**
 * The workspace `-w` names, else the configured one (`project.workspace`), either by id or by name; else the one
 * logged in to.
 */
export async function workspaceFlag(ctx: Context, flag: string | undefined, named = new NamedEntities(ctx)): Promise<string> {
  if (flag) return named.id('workspace', flag);
  const choice = await ctx.workspaceChoice();
  if (!choice.configuredIn) return choice.id;
  try {
    return await named.id('workspace', choice.id, true);
  } catch (error) {
    // A value the user did not type here: say where it is set.
    if (error instanceof UserError) throw new UserError(`${error.message} (from ${choice.configuredIn})`);
    throw error;
  }
}

export function describeScope(ref: ScopeRef): string {
  return `${ref.scope === 'WORKSPACE' ? 'workspace' : 'deployment'} ${ref.given !== undefined && ref.given !== ref.id ? `${ref.given} (${ref.id})` : ref.id}`;
}

/** A deployment for a message: the name it was given by and its id, or the id it was given as. */
export function describeDeployment(given: string, id: string): string {
  return `deployment ${given !== id ? `${given} (${id})` : id}`;
}

/**
 * What a link command names: the workspace that owns the object (-w, else the configured or logged-in one) and the
 * deployment of that workspace (-d), each by id or name; a blank one is refused.
 */
export async function linkTarget(ctx: Context, flags: { workspaceId?: string; deploymentId: string }): Promise<{ workspaceId: string; deploymentId: string }> {
  refuseBlank({ '--workspace-id': flags.workspaceId, '--deployment-id': flags.deploymentId });
  const named = new NamedEntities(ctx);
  const workspaceId = await workspaceFlag(ctx, flags.workspaceId, named);
  return { workspaceId, deploymentId: await named.deploymentOf(workspaceId, flags.deploymentId) };
}
