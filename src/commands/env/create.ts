import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { UsageError } from '../../cli/errors.js';
import type { ConnectionFields, CreateEnvironmentObjectRequest } from '../../api/types.js';
import { addFieldOptions, checkKey, collect, fieldInput, type EnvKind, type FieldFlags, type FieldInput } from './kinds.js';
import { addScopeOptions, checkScopeFlags, describeScope, resolveScope, type ScopeFlags } from './scope.js';
import { readSecret } from './secrets.js';
import { NamedEntities } from '../shared/named.js';

export interface EnvCreateOptions extends ScopeFlags {
  kind: EnvKind;
  key: string;
  fields: FieldInput;
  description?: string;
  autoLink: boolean;
  links: string[];
  excludes: string[];
}

export function registerEnvCreate(parent: Command, ctx: Context, kind: EnvKind): void {
  const command = addScopeOptions(
    parent.command('create').description(`create a ${kind.noun} at workspace or deployment scope`).argument('<key>', kind.objectType === 'CONNECTION' ? 'the conn_id' : 'the variable key'),
    `the ${kind.noun}`,
  );
  addFieldOptions(command, kind, { secret: 'mark' })
    .option('--description <text>', 'description')
    .option('--auto-link', 'link to all deployments of the workspace, current and future')
    .option('--link <deployment>', 'link to this deployment, by id or name (repeatable, or comma-separated)', collect)
    .option('--exclude <deployment>', 'with --auto-link: not to this deployment, by id or name (repeatable, or comma-separated)', collect)
    .action(async (key: string, flags: ScopeFlags & FieldFlags & { description?: string; autoLink?: boolean; link?: string[]; exclude?: string[] }) => {
      checkScopeFlags(flags);
      checkKey(key, kind);
      const fields = fieldInput(kind, flags);
      if (kind.objectType === 'CONNECTION' && !fields.connection?.type) throw new UsageError('--type is required for a connection, e.g. --type postgres');
      if (flags.deploymentId && (flags.autoLink || (flags.link ?? []).length > 0 || (flags.exclude ?? []).length > 0)) {
        throw new UsageError('--auto-link, --link and --exclude apply to workspace objects; drop --deployment-id');
      }
      if ((flags.exclude ?? []).length > 0 && !flags.autoLink) throw new UsageError('--exclude only makes sense with --auto-link');
      await runEnvCreate(ctx, {
        kind,
        key,
        fields,
        workspaceId: flags.workspaceId,
        deploymentId: flags.deploymentId,
        description: flags.description,
        autoLink: flags.autoLink === true,
        links: flags.link ?? [],
        excludes: flags.exclude ?? [],
      });
    });
}

export async function runEnvCreate(ctx: Context, opts: EnvCreateOptions): Promise<{ id: string }> {
  const named = new NamedEntities(ctx);
  const ref = await resolveScope(ctx, opts, named);
  const links = ref.scope === 'WORKSPACE' ? await named.deploymentsOf(ref.id, opts.links) : [];
  const excludes = ref.scope === 'WORKSPACE' ? await named.deploymentsOf(ref.id, opts.excludes) : [];
  await readSecret(ctx, opts.kind, opts.fields, { required: opts.kind.objectType === 'AIRFLOW_VARIABLE', prompt: true });
  const body: CreateEnvironmentObjectRequest = {
    objectKey: opts.key,
    objectType: opts.kind.objectType,
    scope: ref.scope,
    scopeEntityId: ref.id,
    description: opts.description,
  };
  if (opts.kind.objectType === 'CONNECTION') body.connection = opts.fields.connection as ConnectionFields;
  else body.airflowVariable = { value: opts.fields.variable?.value ?? '', isSecret: opts.fields.variable?.isSecret ?? false };
  if (ref.scope === 'WORKSPACE') {
    if (opts.autoLink) body.autoLinkDeployments = true;
    if (links.length > 0) body.links = links.map((id) => ({ scope: 'DEPLOYMENT', scopeEntityId: id }));
    if (excludes.length > 0) body.excludeLinks = excludes.map((id) => ({ scope: 'DEPLOYMENT', scopeEntityId: id }));
  }
  const session = await ctx.session();
  const created = await (await ctx.api()).createEnvironmentObject(session.organizationId, body);
  if (ctx.globals.json) ctx.io.out(JSON.stringify({ id: created.id, objectKey: opts.key, scope: ref.scope, scopeEntityId: ref.id }, null, 2) + '\n');
  else {
    ctx.io.out(created.id + '\n');
    ctx.io.err(`Created ${opts.kind.noun} ${opts.key} in ${describeScope(ref)}.\n`);
  }
  return created;
}
