import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import type { LinkRequest } from '../../api/types.js';
import { findObject } from './find.js';
import { describeDeployment, linkTarget } from './scope.js';
import { addFieldOptions, fieldInput, type EnvKind, type FieldFlags, type FieldInput } from './kinds.js';
import { toLinkRequest } from './links.js';
import { readSecret } from './secrets.js';
import { printJson } from '../../cli/table.js';

export interface EnvLinkCreateOptions {
  kind: EnvKind;
  keyOrId: string;
  workspaceId?: string;
  deploymentId: string;
  overrides: FieldInput;
}

export function registerEnvLinkCreate(parent: Command, ctx: Context, kind: EnvKind): void {
  const command = parent
    .command('create')
    .description(`link a workspace ${kind.noun} to a deployment, optionally overriding fields for it (replaces an existing link to it)`)
    .argument('<key-or-id>', `the workspace ${kind.noun}'s key or id`)
    .requiredOption('-d, --deployment-id <id-or-name>', 'the deployment to link to')
    .option('-w, --workspace-id <id-or-name>', 'workspace that owns the object (default: the current workspace)');
  addFieldOptions(command, kind, { secret: 'none' }).action(async (keyOrId: string, flags: FieldFlags & { deploymentId: string; workspaceId?: string }) => {
    await runEnvLinkCreate(ctx, { kind, keyOrId, workspaceId: flags.workspaceId, deploymentId: flags.deploymentId, overrides: fieldInput(kind, flags) });
  });
}

export async function runEnvLinkCreate(ctx: Context, input: EnvLinkCreateOptions): Promise<void> {
  const { workspaceId, deploymentId } = await linkTarget(ctx, input);
  const opts = { ...input, deploymentId };
  const session = await ctx.session();
  const api = await ctx.api();
  const object = await findObject(api, session.organizationId, opts.kind, opts.keyOrId, { scope: 'WORKSPACE', id: workspaceId });
  await readSecret(ctx, opts.kind, opts.overrides, { required: false, prompt: false });
  const link: LinkRequest = { scope: 'DEPLOYMENT', scopeEntityId: opts.deploymentId };
  const connection = opts.overrides.connection;
  const variable = opts.overrides.variable;
  if (connection && Object.keys(connection).length > 0) link.overrides = { connection };
  if (variable && variable.value !== undefined) link.overrides = { airflowVariable: { value: variable.value } };
  const links = (object.links ?? []).filter((l) => l.scopeEntityId !== opts.deploymentId).map(toLinkRequest);
  const updated = await api.updateEnvironmentObject(session.organizationId, object.id, { links: [...links, link] });
  if (ctx.globals.json) printJson(ctx.io, updated);
  else {
    const fields = link.overrides ? Object.keys(link.overrides.connection ?? link.overrides.airflowVariable ?? {}) : [];
    ctx.io.err(`Linked ${opts.kind.noun} ${object.objectKey} to ${describeDeployment(input.deploymentId, opts.deploymentId)}${fields.length > 0 ? ` overriding ${fields.join(', ')}` : ''}.\n`);
  }
}
