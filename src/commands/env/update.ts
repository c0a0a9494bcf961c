import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { UsageError, UserError } from '../../cli/errors.js';
import type { EnvironmentObject, UpdateEnvironmentObjectRequest } from '../../api/types.js';
import { findObject } from './find.js';
import { addFieldOptions, collect, fieldInput, type EnvKind, type FieldFlags, type FieldInput } from './kinds.js';
import { addScopeOptions, checkScopeFlags, resolveScope, type ScopeFlags } from './scope.js';
import { NamedEntities, shellWord } from '../shared/named.js';
import { readSecret } from './secrets.js';
import { printJson } from '../../cli/table.js';

export interface EnvUpdateOptions extends ScopeFlags {
  kind: EnvKind;
  keyOrId: string;
  fields: FieldInput;
  description?: string;
  autoLink?: boolean;
  excludes: string[];
  includes: string[];
}

export function registerEnvUpdate(parent: Command, ctx: Context, kind: EnvKind): void {
  const command = addScopeOptions(
    parent.command('update').description(`change a ${kind.noun}; fields not given keep their value (secrets included)`).argument('<key-or-id>', `the ${kind.noun}'s key or id`),
    `the ${kind.noun}`,
  );
  addFieldOptions(command, kind, { secret: 'toggle' })
    .option('--description <text>', 'description')
    .option('--auto-link', 'link to all deployments of the workspace, current and future')
    .option('--no-auto-link', 'stop linking to all deployments (explicit links stay)')
    .option('--exclude <deployment>', 'keep an auto-linked object away from this deployment, by id or name (repeatable, or comma-separated)', collect)
    .option('--include <deployment>', 'undo an --exclude, by id or name (repeatable, or comma-separated)', collect)
    .action(async (keyOrId: string, flags: ScopeFlags & FieldFlags & { description?: string; autoLink?: boolean; exclude?: string[]; include?: string[] }) => {
      checkScopeFlags(flags);
      await runEnvUpdate(ctx, {
        kind,
        keyOrId,
        fields: fieldInput(kind, flags),
        workspaceId: flags.workspaceId,
        deploymentId: flags.deploymentId,
        description: flags.description,
        autoLink: flags.autoLink,
        excludes: flags.exclude ?? [],
        includes: flags.include ?? [],
      });
    });
}

export async function runEnvUpdate(ctx: Context, input: EnvUpdateOptions): Promise<EnvironmentObject> {
  const named = new NamedEntities(ctx);
  const ref = await resolveScope(ctx, input, named);
  const session = await ctx.session();
  const api = await ctx.api();
  const current = await findObject(api, session.organizationId, input.kind, input.keyOrId, ref);
  // The deployments named go by the object's own workspace (a deployment object has none: refused below).
  const of = (values: string[]) => (current.scope === 'WORKSPACE' ? named.deploymentsOf(current.scopeEntityId, values) : Promise.resolve(values));
  const opts = { ...input, excludes: await of(input.excludes), includes: await of(input.includes) };
  // One deployment both ways (by name and by id, say): the include would be undone by the exclusion after it.
  const both = input.excludes.filter((_, i) => opts.includes.includes(opts.excludes[i]!));
  if (both.length > 0) throw new UsageError(`--exclude and --include both name ${both.join(', ')}; pass one`);
  // How to name the object again in a command to run instead: with its -w when it was given one.
  const again = `${shellWord(current.objectKey)}${ref.scope === 'WORKSPACE' && ref.given !== undefined ? ` -w ${shellWord(ref.given)}` : ''}`;
  await readSecret(ctx, opts.kind, opts.fields, { required: false, prompt: false });
  const body = updateBody(opts, current);
  const linkChange = opts.autoLink !== undefined || opts.excludes.length > 0 || opts.includes.length > 0;
  if (linkChange && current.scope !== 'WORKSPACE') throw new UsageError('--auto-link, --exclude and --include apply to workspace objects only');
  // As for create: an exclusion keeps an auto-linked object away from a deployment; without auto-link it does nothing.
  const autoLinked = opts.autoLink ?? current.autoLinkDeployments === true;
  if (opts.excludes.length > 0 && !autoLinked) {
    throw new UserError(
      `--exclude only makes sense for an auto-linked object, and ${opts.kind.noun} ${current.objectKey} ${opts.autoLink === false ? 'would not be' : 'is not'} ` +
        `(add --auto-link; to undo an explicit link use envmgr env ${opts.kind.command} link delete ${again} -d <deployment>)`,
    );
  }
  // An explicit link wins over an exclusion (the server refuses it): what to run instead, before anything changes.
  const linked = opts.excludes.find((d) => (current.links ?? []).some((l) => l.scopeEntityId === d));
  if (linked !== undefined) {
    const given = input.excludes[opts.excludes.indexOf(linked)]!;
    throw new UserError(
      `${opts.kind.noun} ${current.objectKey} is linked to ${given === linked ? `deployment ${linked}` : `deployment ${given} (${linked})`} explicitly, and an explicit ` +
        `link wins over an exclusion: remove it with envmgr env ${opts.kind.command} link delete ${again} -d ${shellWord(given)}`,
    );
  }
  if (Object.keys(body).length === 0 && opts.excludes.length === 0) {
    throw new UsageError(`nothing to update; pass a field flag (see envmgr env ${opts.kind.command} update --help)`);
  }
  let updated = current as EnvironmentObject;
  if (Object.keys(body).length > 0) updated = await api.updateEnvironmentObject(session.organizationId, current.id, body);
  for (const deploymentId of opts.excludes) {
    await api.excludeLinking(session.organizationId, current.id, { scope: 'DEPLOYMENT', scopeEntityId: deploymentId });
  }
  if (opts.excludes.length > 0) updated = await api.getEnvironmentObject(session.organizationId, current.id);
  if (ctx.globals.json) printJson(ctx.io, updated);
  else ctx.io.err(`Updated ${opts.kind.noun} ${current.objectKey} (${current.id}).\n`);
  return updated;
}

/** Only what changes. A connection is sent whole, its untouched secrets as the mask, which the API keeps. */
function updateBody(opts: EnvUpdateOptions, current: EnvironmentObject): UpdateEnvironmentObjectRequest {
  const body: UpdateEnvironmentObjectRequest = {};
  if (opts.description !== undefined) body.description = opts.description;
  const connection = opts.fields.connection;
  if (connection && Object.keys(connection).length > 0) {
    const base = current.connection ?? { type: connection.type ?? '' };
    const extra = connection.extra ? mergeExtra(base.extra ?? {}, connection.extra) : base.extra;
    body.connection = { ...base, ...connection, ...(extra ? { extra } : {}) };
  }
  const variable = opts.fields.variable;
  if (variable && (variable.value !== undefined || variable.isSecret !== undefined)) {
    // Only the fields given: the API keeps the others (a secret value it masks included).
    body.airflowVariable = { ...(variable.value !== undefined ? { value: variable.value } : {}), ...(variable.isSecret !== undefined ? { isSecret: variable.isSecret } : {}) };
  }
  if (opts.autoLink !== undefined) body.autoLinkDeployments = opts.autoLink;
  if (opts.includes.length > 0) {
    body.excludeLinks = (current.excludeLinks ?? []).filter((e) => !opts.includes.includes(e.scopeEntityId));
  }
  return body;
}

/** `--extra` members replace those of the same name; a member set to null is removed. */
function mergeExtra(base: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...base, ...changes };
  for (const [name, value] of Object.entries(changes)) if (value === null) delete merged[name];
  return merged;
}
