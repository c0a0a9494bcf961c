/**
 * The Airflow objects envmgr moves around, in one shape whatever their source (Environment Manager, settings file,
 * `.env`, metadata DB). Field names follow Airflow's columns so that the mapping to rows stays obvious.
 */

export interface AirflowConnection {
  conn_id: string;
  conn_type: string;
  description?: string | null;
  host?: string | null;
  login?: string | null;
  password?: string | null;
  schema?: string | null;
  port?: number | null;
  /**
   * Airflow stores extra as JSON-object text; envmgr keeps the parsed object. An integer too large for a JS number to
   * hold exactly (beyond 2^53) is a bigint, as every reader of text gives it, so that no digit is lost (Python's int
   * keeps them all); the writers put a bigint down as its digits.
   */
  extra?: Record<string, unknown> | null;
}

export interface AirflowVariable {
  key: string;
  value: string;
  description?: string | null;
}

export interface AirflowPool {
  name: string;
  /** `-1` means unlimited. */
  slots: number;
  description?: string | null;
  include_deferred?: boolean;
}

export type AirflowObjectKind = 'connection' | 'variable' | 'pool';

/** Where a problem was found, so that an error can name the file, line and field. */
export interface SourceLocation {
  file?: string;
  line?: number;
}

export interface ValidationProblem extends SourceLocation {
  /** The kind of object the problem is in; null for a problem of the file itself (its syntax or its shape). */
  kind: AirflowObjectKind | null;
  key: string;
  field: string;
  message: string;
}

/** '' and undefined become null (see normalizeConnection); anything else is kept, for validation to judge. */
export const emptyToNull = (v: string | null | undefined): string | null => (v === undefined || v === null || v === '' ? null : v);

/** Whether an object (an `extra`) has any key: `{}` counts as no extra. Without building a key array, as syncs ask this per row. */
export function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/**
 * envmgr's one spelling of "no value": Airflow treats `''` and NULL alike for these fields (hooks test them for
 * truthiness, and its URI parser turns an absent host or schema into `''`), so every reader maps `''` to null and
 * an empty extra to null. Rows then compare equal whichever file or API they came from.
 */
export function normalizeConnection(c: AirflowConnection): AirflowConnection {
  return {
    ...c,
    ...(c.description !== undefined ? { description: emptyToNull(c.description) } : {}),
    host: emptyToNull(c.host),
    login: emptyToNull(c.login),
    password: emptyToNull(c.password),
    schema: emptyToNull(c.schema),
    port: c.port ? c.port : null,
    extra: c.extra && Object.keys(c.extra).length > 0 ? c.extra : null,
  };
}
