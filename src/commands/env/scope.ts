import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { UsageError } from '../../cli/errors.js';
import type { Scope } from '../../api/types.js';

export interface ScopeRef {
  scope: Scope;
  id: string;
}

export interface ScopeFlags {
  workspaceId?: string;
  deploymentId?: string;
}

export function addScopeOptions(command: Command, what = 'the objects'): Command {
  return command
    .option('-w, --workspace-id <id>', `workspace that owns ${what} (default: the current workspace)`)
    .option('-d, --deployment-id <id>', `deployment that owns ${what}`);
}

export function checkScopeFlags(flags: ScopeFlags): void {
  if (flags.workspaceId && flags.deploymentId) {
    throw new UsageError('--workspace-id and --deployment-id are mutually exclusive; pass one');
  }
}

/** The deployment when `-d` is given, else the workspace from `-w`, `project.workspace` or the login. */
export async function resolveScope(ctx: Context, flags: ScopeFlags): Promise<ScopeRef> {
  checkScopeFlags(flags);
  if (flags.deploymentId) return { scope: 'DEPLOYMENT', id: flags.deploymentId };
  return { scope: 'WORKSPACE', id: await ctx.workspaceId(flags.workspaceId) };
}

export function describeScope(ref: ScopeRef): string {
  return `${ref.scope === 'WORKSPACE' ? 'workspace' : 'deployment'} ${ref.id}`;
}
