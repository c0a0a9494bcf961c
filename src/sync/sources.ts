import { emptyToNull, hasKeys, type AirflowConnection, type AirflowObjectKind, type AirflowPool, type AirflowVariable, type SourceLocation } from '../airflow/model.js';

/**
 * One object a sync wants in the metadata database, with where it came from. `source` is the stable label kept in
 * the sync state (and so what `--prune` compares); `origin` is the human description shown in the report;
 * `fieldLines`, for an object from a settings file, the line of each of its keys (`conn_login` → 12).
 */
export type DesiredObject =
  | { kind: 'connection'; key: string; source: string; origin: string; location?: SourceLocation; fieldLines?: Readonly<Record<string, number>>; object: AirflowConnection }
  | { kind: 'variable'; key: string; source: string; origin: string; location?: SourceLocation; fieldLines?: Readonly<Record<string, number>>; object: AirflowVariable }
  | { kind: 'pool'; key: string; source: string; origin: string; location?: SourceLocation; fieldLines?: Readonly<Record<string, number>>; object: AirflowPool };

/**
 * The sync state's source labels. A settings file and an imported .env file are each their own source, named by
 * their absolute path (`settings:/home/me/project/airflow_settings.yaml`), so that `--prune` from one file never
 * deletes what another file wrote (another project's settings file on the same database, `object import -s other.yaml`).
 * The bare labels are what envmgr recorded before (any settings file, any .env file): such entries are never pruned,
 * as the file they came from is not known.
 */
export const SETTINGS_SOURCE = 'settings';
export const ENV_FILE_SOURCE = 'env-file';
export const REMOTE_SOURCE = 'remote';

/** The source label of a settings file (or, with `ENV_FILE_SOURCE`, an imported .env file) at this absolute path. */
export function fileSource(family: typeof SETTINGS_SOURCE | typeof ENV_FILE_SOURCE, absolutePath: string): string {
  return `${family}:${absolutePath}`;
}

/** A file source label's family and path; undefined for other labels (the bare legacy ones included). */
export function parseFileSource(label: string): { family: typeof SETTINGS_SOURCE | typeof ENV_FILE_SOURCE; path: string } | undefined {
  for (const family of [SETTINGS_SOURCE, ENV_FILE_SOURCE] as const) {
    if (label.startsWith(`${family}:`) && label.length > family.length + 1) return { family, path: label.slice(family.length + 1) };
  }
  return undefined;
}

/** The environment-object fields envmgr reads (API.md §Environment objects, wire names). */
export interface RemoteEnvironmentObject {
  id?: string;
  objectKey: string;
  objectType: 'CONNECTION' | 'AIRFLOW_VARIABLE' | string;
  scope: 'WORKSPACE' | 'DEPLOYMENT' | string;
  scopeEntityId: string;
  sourceScope?: string;
  sourceScopeEntityId?: string;
  description?: string | null;
  connection?: {
    type: string;
    host?: string | null;
    login?: string | null;
    password?: string | null;
    schema?: string | null;
    port?: number | null;
    extra?: Record<string, unknown> | null;
  } | null;
  airflowVariable?: { value: string; isSecret?: boolean } | null;
}

function remoteOrigin(obj: RemoteEnvironmentObject): string {
  if (obj.sourceScope === 'WORKSPACE') return `workspace link (${obj.sourceScopeEntityId ?? '?'})`;
  return obj.scope === 'DEPLOYMENT' ? `deployment (${obj.scopeEntityId})` : `workspace (${obj.scopeEntityId})`;
}

/** Environment objects → desired objects; objects of other types are ignored (the API may grow new ones). */
export function desiredFromRemote(objects: readonly RemoteEnvironmentObject[]): DesiredObject[] {
  const out: DesiredObject[] = [];
  for (const obj of objects) {
    const origin = remoteOrigin(obj);
    if (obj.objectType === 'CONNECTION' && obj.connection) {
      const c = obj.connection;
      // normalizeConnection's result, built in one step (this runs for every object of a deployment).
      out.push({
        kind: 'connection', key: obj.objectKey, source: REMOTE_SOURCE, origin,
        object: {
          conn_id: obj.objectKey,
          conn_type: c.type,
          description: emptyToNull(obj.description),
          host: emptyToNull(c.host),
          login: emptyToNull(c.login),
          password: emptyToNull(c.password),
          schema: emptyToNull(c.schema),
          port: c.port ? c.port : null,
          extra: c.extra && hasKeys(c.extra) ? c.extra : null,
        },
      });
    } else if (obj.objectType === 'AIRFLOW_VARIABLE' && obj.airflowVariable) {
      out.push({
        kind: 'variable', key: obj.objectKey, source: REMOTE_SOURCE, origin,
        object: { key: obj.objectKey, value: obj.airflowVariable.value, description: obj.description ?? null },
      });
    }
  }
  return out;
}

export interface ShadowedObject {
  kind: AirflowObjectKind;
  key: string;
  /** The origin that lost. */
  hidden: string;
  /** The origin that won. */
  winner: string;
}

export interface MergeResult {
  desired: DesiredObject[];
  shadowed: ShadowedObject[];
}

/**
 * Merges the settings file's objects with the remote ones per (kind, key). With `prefer: 'local'` (the default) the
 * settings file wins; either way every object that lost is listed, so the report can say what it hid.
 */
export function mergeSources(
  local: readonly DesiredObject[],
  remote: readonly DesiredObject[],
  prefer: 'local' | 'remote' = 'local',
): MergeResult {
  const [first, second] = prefer === 'local' ? [local, remote] : [remote, local];
  // Where each (kind, key) sits in `desired`, per kind keyed by the plain key (this runs for every object).
  const at: Record<AirflowObjectKind, Map<string, number>> = { connection: new Map(), variable: new Map(), pool: new Map() };
  const desired: DesiredObject[] = [];
  const shadowed: ShadowedObject[] = [];
  for (const obj of first) {
    const i = at[obj.kind].get(obj.key);
    if (i === undefined) {
      at[obj.kind].set(obj.key, desired.length);
      desired.push(obj);
    } else desired[i] = obj;
  }
  for (const obj of second) {
    const i = at[obj.kind].get(obj.key);
    if (i !== undefined) shadowed.push({ kind: obj.kind, key: obj.key, hidden: obj.origin, winner: desired[i]!.origin });
    else {
      at[obj.kind].set(obj.key, desired.length);
      desired.push(obj);
    }
  }
  return { desired, shadowed };
}

export interface RuntimeShadow {
  kind: 'connection' | 'variable';
  key: string;
  variable: string;
  where: string;
}

/**
 * Airflow reads `AIRFLOW_CONN_<ID>` / `AIRFLOW_VAR_<KEY>` (upper-cased) before the metadata database, so such a
 * variable in the process environment or in the `.env` handed to the containers hides the row envmgr writes.
 */
export function findRuntimeShadows(
  desired: readonly DesiredObject[],
  env: Readonly<Record<string, string | undefined>>,
  dotenv: Readonly<Record<string, string>> = {},
  dotenvName = '.env',
): RuntimeShadow[] {
  const out: RuntimeShadow[] = [];
  // The names that could shadow anything, gathered once: a lookup in process.env costs a getenv() each time.
  const names = (vars: Readonly<Record<string, string | undefined>>) =>
    new Set(Object.keys(vars).filter((n) =>
      // An empty AIRFLOW_CONN_* is "not defined" to Airflow (an empty AIRFLOW_VAR_* is an empty variable).
      (n.startsWith('AIRFLOW_CONN_') ? vars[n] !== undefined && vars[n] !== '' : n.startsWith('AIRFLOW_VAR_') && vars[n] !== undefined)));
  const inEnv = names(env);
  const inDotenv = names(dotenv);
  if (inEnv.size === 0 && inDotenv.size === 0) return out;
  for (const obj of desired) {
    if (obj.kind === 'pool') continue;
    const variable = `${obj.kind === 'connection' ? 'AIRFLOW_CONN_' : 'AIRFLOW_VAR_'}${obj.key.toUpperCase()}`;
    if (inEnv.has(variable)) out.push({ kind: obj.kind, key: obj.key, variable, where: 'the environment' });
    else if (inDotenv.has(variable)) out.push({ kind: obj.kind, key: obj.key, variable, where: dotenvName });
  }
  return out;
}

export type { AirflowConnection, AirflowPool, AirflowVariable };
