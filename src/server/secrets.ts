import { isSensitiveName } from '../airflow/sensitive.js';

/**
 * Which parts of an environment object are secret (API.md §Secrets), and how an object is split into a masked body
 * (stored in clear, served as is when secrets are not shown) and its secret values (sealed at rest).
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const MASK = '****';

/** An extra member that is a secret (API.md §Secrets): its name holds one of Airflow's sensitive names. */
export function isSensitiveExtraKey(key: string): boolean {
  return isSensitiveName(key);
}

export interface ConnectionFields {
  type?: string;
  host?: string | null;
  login?: string | null;
  password?: string | null;
  schema?: string | null;
  port?: number | null;
  extra?: JsonObject | null;
}

export interface VariableFields {
  value?: string;
  isSecret?: boolean;
}

/** The secret values of one object or one link override. */
export interface SecretValues {
  password?: string;
  extra?: JsonObject;
  value?: string;
}

const holdsValue = (v: unknown) => v !== null && v !== undefined && v !== '';

/** A connection without its null members: on create, as on update, `null` means "no value" (the member is absent). */
export function withoutNulls(conn: ConnectionFields): ConnectionFields {
  const out: ConnectionFields = {};
  for (const [field, value] of Object.entries(conn) as Array<[keyof ConnectionFields, unknown]>) {
    if (value !== null && value !== undefined) (out as Record<string, unknown>)[field] = value;
  }
  return out;
}

export function splitConnection(conn: ConnectionFields): { masked: ConnectionFields; secrets: SecretValues } {
  const masked: ConnectionFields = { ...conn };
  const secrets: SecretValues = {};
  if (typeof conn.password === 'string' && holdsValue(conn.password)) {
    secrets.password = conn.password;
    masked.password = MASK;
  }
  if (conn.extra && typeof conn.extra === 'object') {
    const extra: JsonObject = {};
    for (const [key, value] of Object.entries(conn.extra)) {
      if (isSensitiveExtraKey(key) && holdsValue(value)) {
        (secrets.extra ??= {})[key] = value;
        extra[key] = MASK;
      } else {
        extra[key] = value;
      }
    }
    masked.extra = extra;
  }
  return { masked, secrets };
}

export function splitVariable(variable: VariableFields): { masked: VariableFields; secrets: SecretValues } {
  if (variable.isSecret && holdsValue(variable.value)) {
    return { masked: { ...variable, value: MASK }, secrets: { value: variable.value } };
  }
  return { masked: { ...variable }, secrets: {} };
}

export function hasSecrets(secrets: SecretValues): boolean {
  return secrets.password !== undefined || secrets.value !== undefined || secrets.extra !== undefined;
}

/** Puts the secret values back into a masked body. */
export function unmaskConnection(masked: ConnectionFields, secrets: SecretValues | null): ConnectionFields {
  if (!secrets) return masked;
  const out: ConnectionFields = { ...masked };
  if (secrets.password !== undefined) out.password = secrets.password;
  if (secrets.extra && out.extra) {
    const extra: JsonObject = { ...out.extra };
    for (const [key, value] of Object.entries(secrets.extra)) if (key in extra) extra[key] = value;
    out.extra = extra;
  }
  return out;
}

export function unmaskVariable(masked: VariableFields, secrets: SecretValues | null): VariableFields {
  if (!secrets || secrets.value === undefined) return masked;
  return { ...masked, value: secrets.value };
}

/**
 * Applies a connection update: absent fields are kept, `null` clears, `extra` when present replaces the whole map,
 * and a masked value sent back for a secret field keeps the stored value.
 */
export function applyConnectionUpdate(stored: ConnectionFields, update: ConnectionFields): ConnectionFields {
  const out: ConnectionFields = { ...stored };
  for (const field of ['type', 'host', 'login', 'password', 'schema', 'port'] as const) {
    if (!(field in update)) continue;
    const value = update[field];
    if (value === null) delete out[field];
    else if (field === 'password' && value === MASK && holdsValue(stored.password)) out.password = stored.password;
    else (out as Record<string, unknown>)[field] = value;
  }
  if ('extra' in update) {
    if (update.extra === null || update.extra === undefined) delete out.extra;
    else out.extra = keepMaskedMembers(stored.extra ?? undefined, update.extra);
  }
  return out;
}

function keepMaskedMembers(stored: JsonObject | undefined, incoming: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(incoming)) {
    const previous = stored?.[key];
    out[key] = value === MASK && isSensitiveExtraKey(key) && previous !== undefined && holdsValue(previous) ? previous : value;
  }
  return out;
}

export function applyVariableUpdate(stored: VariableFields, update: VariableFields): VariableFields {
  const out: VariableFields = { ...stored };
  if (update.isSecret !== undefined) out.isSecret = update.isSecret;
  if (update.value !== undefined) {
    out.value = update.value === MASK && stored.isSecret && holdsValue(stored.value) ? stored.value : update.value;
  }
  return out;
}

/**
 * The secret fields of an incoming connection (`field` is where it sits in the request) that hold the mask
 * `"****"` where nothing is stored to keep: the mask would otherwise be stored as the value itself (and handed to
 * Airflow as the password), which is never what a client that sends back what it read means.
 */
export function masksWithNothingStored(incoming: ConnectionFields | undefined, stored: ConnectionFields | undefined, field: string): Array<{ field: string; message: string }> {
  if (!incoming) return [];
  const out: Array<{ field: string; message: string }> = [];
  const message = `is "${MASK}", the mask of a stored secret, but no value is stored there to keep; send the value itself`;
  if (incoming.password === MASK && !holdsValue(stored?.password)) out.push({ field: `${field}.password`, message });
  for (const [key, value] of Object.entries(incoming.extra ?? {})) {
    if (value === MASK && isSensitiveExtraKey(key) && !holdsValue(stored?.extra?.[key])) out.push({ field: `${field}.extra.${key}`, message });
  }
  return out;
}

/** A link override sent back masked keeps the value stored on the previous link to the same deployment. */
export function keepMaskedOverride(stored: ConnectionFields | undefined, incoming: ConnectionFields): ConnectionFields {
  const out: ConnectionFields = { ...incoming };
  if (incoming.password === MASK && stored && holdsValue(stored.password)) out.password = stored.password;
  if (incoming.extra) out.extra = keepMaskedMembers(stored?.extra ?? undefined, incoming.extra);
  return out;
}

/**
 * Lays a link's overrides over the base fields; `extra` is merged member by member, a member set to null in the
 * override removing the base's member for that deployment (as `--extra '{"k": null}'` removes one on update).
 */
export function overlayConnection(base: ConnectionFields, override: ConnectionFields | null | undefined): ConnectionFields {
  if (!override) return base;
  const out: ConnectionFields = { ...base };
  for (const [field, value] of Object.entries(override) as Array<[keyof ConnectionFields, unknown]>) {
    if (value === undefined || value === null) continue;
    if (field === 'extra') {
      const merged: JsonObject = { ...(base.extra ?? {}), ...(value as JsonObject) };
      for (const [key, member] of Object.entries(value as JsonObject)) if (member === null) delete merged[key];
      out.extra = merged;
    } else (out as Record<string, unknown>)[field] = value;
  }
  return out;
}

export function overlayVariable(base: VariableFields, override: VariableFields | null | undefined): VariableFields {
  if (!override || override.value === undefined || override.value === null) return base;
  return { ...base, value: override.value };
}

export function connectionSetFields(conn: ConnectionFields): string[] {
  const fields: string[] = [];
  for (const field of ['type', 'host', 'login', 'password', 'schema', 'port'] as const) {
    if (holdsValue(conn[field])) fields.push(field);
  }
  if (conn.extra) for (const [key, value] of Object.entries(conn.extra)) if (holdsValue(value)) fields.push(`extra.${key}`);
  return fields;
}

export function variableSetFields(variable: VariableFields): string[] {
  return holdsValue(variable.value) ? ['value'] : [];
}
