import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { UserError } from '../../cli/errors.js';
import { findObject } from './find.js';
import { describeDeployment, linkTarget } from './scope.js';
import { shellWord } from '../shared/named.js';
import type { EnvKind } from './kinds.js';
import { toLinkRequest } from './links.js';
import { printJson } from '../../cli/table.js';

export interface EnvLinkDeleteOptions {
  kind: EnvKind;
  keyOrId: string;
  workspaceId?: string;
  deploymentId: string;
}

export function registerEnvLinkDelete(parent: Command, ctx: Context, kind: EnvKind): void {
  parent
    .command('delete')
    .alias('rm')
    .description(`remove the link of a workspace ${kind.noun} to a deployment (and its overrides)`)
    .argument('<key-or-id>', `the workspace ${kind.noun}'s key or id`)
    .requiredOption('-d, --deployment-id <id-or-name>', 'the linked deployment')
    .option('-w, --workspace-id <id-or-name>', 'workspace that owns the object (default: the current workspace)')
    .action(async (keyOrId: string, flags: { deploymentId: string; workspaceId?: string }) => {
      await runEnvLinkDelete(ctx, { kind, keyOrId, ...flags });
    });
}

export async function runEnvLinkDelete(ctx: Context, input: EnvLinkDeleteOptions): Promise<void> {
  const { workspaceId, deploymentId } = await linkTarget(ctx, input);
  const opts = { ...input, deploymentId };
  const session = await ctx.session();
  const api = await ctx.api();
  const object = await findObject(api, session.organizationId, opts.kind, opts.keyOrId, { scope: 'WORKSPACE', id: workspaceId });
  const links = object.links ?? [];
  if (!links.some((l) => l.scopeEntityId === opts.deploymentId)) {
    const hint = object.autoLinkDeployments ? `; it reaches every deployment through auto-link: use envmgr env ${opts.kind.command} update ${shellWord(object.objectKey)}${input.workspaceId !== undefined ? ` -w ${shellWord(input.workspaceId)}` : ''} --exclude ${shellWord(input.deploymentId)}` : '';
    throw new UserError(`${opts.kind.noun} ${object.objectKey} has no link to ${describeDeployment(input.deploymentId, opts.deploymentId)}${hint}`);
  }
  const updated = await api.updateEnvironmentObject(session.organizationId, object.id, {
    links: links.filter((l) => l.scopeEntityId !== opts.deploymentId).map(toLinkRequest),
  });
  if (ctx.globals.json) printJson(ctx.io, updated);
  else ctx.io.err(`Removed the link of ${opts.kind.noun} ${object.objectKey} to ${describeDeployment(input.deploymentId, opts.deploymentId)}.\n`);
}
