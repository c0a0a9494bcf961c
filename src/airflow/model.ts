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
  /** Airflow stores extra as JSON-object text; envmgr keeps the parsed object. */
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
  kind: AirflowObjectKind;
  key: string;
  field: string;
  message: string;
}
