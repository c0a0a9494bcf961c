import type { Context } from '../../cli/context.js';
import { printRecord, printTable, type Column } from '../../cli/table.js';
import { MASK, type EnvironmentObject } from '../../api/types.js';
import { printData, shortTime, type OutputFormat } from '../shared/output.js';
import type { EnvKind } from './kinds.js';
import { stringifyJsonExact } from '../../airflow/exact-json.js';

/** How an object reaches deployments, in a few words. */
export function linkSummary(o: EnvironmentObject): string {
  if (o.sourceScope === 'WORKSPACE') return `from workspace ${o.sourceScopeEntityId ?? ''}`.trim();
  if (o.scope !== 'WORKSPACE') return '';
  const excluded = o.excludeLinks?.length ?? 0;
  if (o.autoLinkDeployments) return excluded > 0 ? `all deployments except ${excluded}` : 'all deployments';
  const linked = o.links?.length ?? 0;
  return linked === 0 ? 'none' : `${linked} deployment${linked === 1 ? '' : 's'}`;
}

function variableValue(o: EnvironmentObject, showSecrets: boolean): string {
  const v = o.airflowVariable;
  if (!v) return '';
  return v.isSecret && !showSecrets ? MASK : v.value;
}

export async function printObjects(ctx: Context, kind: EnvKind, objects: EnvironmentObject[], format: OutputFormat, showSecrets: boolean): Promise<void> {
  if (format !== 'table') {
    await printData(ctx, format, objects);
    return;
  }
  const columns: Column<EnvironmentObject>[] =
    kind.objectType === 'CONNECTION'
      ? [
          { header: 'KEY', value: (o) => o.objectKey, truncate: true },
          { header: 'TYPE', value: (o) => o.connection?.type },
          { header: 'HOST', value: (o) => o.connection?.host, truncate: true },
          { header: 'LOGIN', value: (o) => o.connection?.login },
          ...(showSecrets ? [{ header: 'PASSWORD', value: (o: EnvironmentObject) => o.connection?.password }] : []),
          { header: 'SCOPE', value: (o) => o.scope },
          { header: 'LINKED TO', value: linkSummary, truncate: true },
          { header: 'ID', value: (o) => o.id ?? '' },
          { header: 'UPDATED', value: (o) => shortTime(o.updatedAt) },
        ]
      : [
          { header: 'KEY', value: (o) => o.objectKey, truncate: true },
          { header: 'VALUE', value: (o) => variableValue(o, showSecrets), truncate: true },
          { header: 'SECRET', value: (o) => o.airflowVariable?.isSecret ?? false },
          { header: 'SCOPE', value: (o) => o.scope },
          { header: 'LINKED TO', value: linkSummary, truncate: true },
          { header: 'ID', value: (o) => o.id ?? '' },
          { header: 'UPDATED', value: (o) => shortTime(o.updatedAt) },
        ];
  printTable(ctx.io, columns, objects);
}

export async function printObject(ctx: Context, object: EnvironmentObject, format: OutputFormat, showSecrets: boolean): Promise<void> {
  if (format !== 'table') {
    await printData(ctx, format, object);
    return;
  }
  const c = object.connection;
  const fields: [string, string | number | boolean | undefined][] = [
    ['key', object.objectKey],
    ['id', object.id],
    ['type', object.objectType],
    ['scope', `${object.scope} ${object.scopeEntityId}`],
  ];
  if (object.sourceScope) fields.push(['source', `${object.sourceScope} ${object.sourceScopeEntityId ?? ''}`]);
  if (object.description) fields.push(['description', object.description]);
  if (c) {
    fields.push(['conn type', c.type], ['host', c.host], ['login', c.login]);
    // `setFields` says whether the password holds a value; an empty or absent one is not shown as ****.
    const hasPassword = object.setFields ? object.setFields.includes('password') : typeof c.password === 'string' && c.password !== '';
    fields.push(['password', !hasPassword ? undefined : showSecrets ? c.password : MASK]);
    fields.push(['schema', c.schema], ['port', c.port], ['extra', c.extra ? stringifyJsonExact(c.extra) : undefined]);
  }
  if (object.airflowVariable) {
    fields.push(['value', variableValue(object, showSecrets)], ['secret', object.airflowVariable.isSecret]);
  }
  if (object.scope === 'WORKSPACE' && !object.sourceScope) {
    fields.push(['linked to', linkSummary(object)]);
    for (const link of object.links ?? []) {
      const overrides = link.connectionOverrides ?? link.airflowVariableOverrides;
      fields.push(['  link', `${link.scopeEntityId}${overrides ? ` overrides ${Object.keys(overrides).join(', ')}` : ''}`]);
    }
    for (const excluded of object.excludeLinks ?? []) fields.push(['  excluded', excluded.scopeEntityId]);
  }
  fields.push(['updated', shortTime(object.updatedAt)]);
  printRecord(ctx.io, fields.filter(([, v]) => v !== undefined && v !== ''));
}
