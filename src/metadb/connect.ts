import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { Client } from '../pg/driver.js';

/**
 * Connecting to a local Airflow's Postgres metadata database from the URL forms people actually have at hand:
 * libpq URLs (`postgres://`, `postgresql://`) and Airflow's own SQLAlchemy URLs (`postgresql+psycopg2://…?sslmode=…`).
 */

export class AirflowDbError extends Error {
  override name = 'AirflowDbError';
}

export interface AirflowDbTarget {
  /** Ready for `new Client(config)`. */
  readonly config: pg.ClientConfig;
  /** `[database] sql_alchemy_schema`: the Postgres schema holding Airflow's tables; undefined = the search_path's. */
  readonly schema?: string;
  /** `host:port/database`, safe to print (never the password). */
  readonly display: string;
}

export interface TargetOptions {
  /** `[database] sql_alchemy_schema`; empty means the default schema, as in Airflow. */
  schema?: string;
  /** Passed to Postgres as `application_name` unless the URL sets one. */
  applicationName?: string;
}

const NO_HOST = 'envmgr-no-host.invalid';

const POSTGRES_SCHEMES = new Set(['postgres', 'postgresql']);

/** Query parameters understood from libpq / psycopg URLs; anything else is refused so that a typo is not ignored. */
const KNOWN_PARAMS = new Set([
  'sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'host', 'port', 'user', 'password', 'dbname',
  'connect_timeout', 'application_name', 'options', 'target_session_attrs', 'client_encoding',
  'keepalives', 'keepalives_idle', 'gssencmode', 'sslcompression', 'channel_binding',
]);

function schemeOf(url: string): string | undefined {
  return /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
}

/** `host:port/db` without credentials, for messages. */
function describe(host: string, port: number, database: string): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}/${database}`;
}

function sslFrom(mode: string | undefined, params: URLSearchParams): pg.ClientConfig['ssl'] {
  const read = (name: string) => {
    const path = params.get(name);
    if (!path) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new AirflowDbError(`cannot read ${name} file ${path} from the database URL: ${(err as Error).message}`);
    }
  };
  const files = { ca: read('sslrootcert'), cert: read('sslcert'), key: read('sslkey') };
  switch (mode ?? 'prefer') {
    // node-postgres cannot fall back from TLS to plaintext; local Airflow databases rarely speak TLS, so `prefer`
    // (libpq's default) and `allow` connect in plaintext.
    case 'disable':
    case 'allow':
    case 'prefer':
      return false;
    case 'require':
      // libpq's `require` encrypts but does not verify the server (unless a root certificate is given).
      return files.ca ? { ...files, rejectUnauthorized: true, checkServerIdentity: () => undefined } : { ...files, rejectUnauthorized: false };
    case 'verify-ca':
      return { ...files, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { ...files, rejectUnauthorized: true };
    default:
      throw new AirflowDbError(
        `unknown sslmode '${mode}' in the database URL (use disable, allow, prefer, require, verify-ca or verify-full)`,
      );
  }
}

/**
 * Parses a Postgres or SQLAlchemy URL into a node-postgres config. Refuses other databases with a message that
 * says why (envmgr writes Airflow's Postgres metadata database only).
 */
export function parseAirflowDbUrl(url: string, options: TargetOptions = {}): AirflowDbTarget {
  const trimmed = url.trim();
  const scheme = schemeOf(trimmed);
  if (!scheme) {
    throw new AirflowDbError('the database URL must look like postgresql://user:password@host:5432/airflow');
  }
  const [dialect = '', driver] = scheme.split('+', 2);
  if (!POSTGRES_SCHEMES.has(dialect)) {
    throw new AirflowDbError(
      `the database URL uses '${dialect}${driver ? `+${driver}` : ''}://', but envmgr only writes a Postgres Airflow metadata ` +
        `database (postgresql://… or postgresql+psycopg2://…); SQLite and MySQL metadata databases are not supported`,
    );
  }
  let parsed: URL;
  // The user and password as SQLAlchemy's make_url reads them (Airflow's sql_alchemy_conn is one): the password runs
  // to the next '@', so a '/', '?', ':' or '#' in it (common in generated passwords) needs no escaping; the WHATWG
  // parser would take them for the end of the authority and read part of the password as the host, port or path.
  const afterScheme = trimmed.slice(scheme.length + 3);
  const auth = /^([^:/]*)(?::([^@]*))?@/.exec(afterScheme);
  try {
    // The WHATWG parser only fills in host/port for "special" schemes; any scheme works for the parts we need once
    // it is plain `postgresql`. `user@/db?host=/socket/dir` (libpq's empty host) is not a valid WHATWG authority:
    // stand in a placeholder.
    const rest = (auth ? afterScheme.slice(auth[0].length) : afterScheme).replace(/^(?=[/?#]|$)/, NO_HOST);
    parsed = new URL(`postgresql://${rest}`);
  } catch {
    throw new AirflowDbError(`the database URL is not a valid URL (scheme ${scheme}://); check for unescaped characters in the password`);
  }
  const params = parsed.searchParams;
  for (const name of params.keys()) {
    if (!KNOWN_PARAMS.has(name)) {
      throw new AirflowDbError(`unsupported parameter '${name}' in the database URL`);
    }
  }
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const rawHost = parsed.hostname === NO_HOST ? '' : parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const host = params.get('host') ?? (rawHost === '' ? 'localhost' : decode(rawHost));
  const portText = params.get('port') ?? (parsed.port === '' ? '5432' : parsed.port);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new AirflowDbError(`invalid port '${portText}' in the database URL`);
  }
  const user = params.get('user') ?? (auth?.[1] ? decode(auth[1]) : undefined);
  const password = params.get('password') ?? (auth?.[2] ? decode(auth[2]) : undefined);
  const database = params.get('dbname') ?? (decode(parsed.pathname.replace(/^\//, '')) || user || 'postgres');

  const config: pg.ClientConfig = {
    host,
    port,
    database,
    ssl: sslFrom(params.get('sslmode') ?? undefined, params),
    application_name: params.get('application_name') ?? options.applicationName ?? 'envmgr',
  };
  if (user !== undefined) config.user = user;
  if (password !== undefined) config.password = password;
  const timeout = params.get('connect_timeout');
  if (timeout !== null && Number(timeout) > 0) config.connectionTimeoutMillis = Number(timeout) * 1000;
  const pgOptions = params.get('options');
  if (pgOptions) config.options = pgOptions;

  const schema = options.schema?.trim() ? options.schema.trim() : undefined;
  return { config, display: describe(host, port, database), ...(schema ? { schema } : {}) };
}

function targetOf(target: string | AirflowDbTarget, options?: TargetOptions): AirflowDbTarget {
  return typeof target === 'string' ? parseAirflowDbUrl(target, options) : target;
}

/** The error a client gives without anything secret in it; pg errors never include the password, but be sure. */
function reason(err: unknown, target: AirflowDbTarget): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  const password = target.config.password;
  return typeof password === 'string' && password.length > 0 ? text.split(password).join('****') : text;
}

/**
 * With `[database] sql_alchemy_schema`, make it the session's first schema, so that everything resolving the
 * current schema (detectAirflowSchema without options, ad-hoc queries) finds Airflow's tables.
 */
async function useSchema(client: pg.Client, target: AirflowDbTarget): Promise<void> {
  if (target.schema) await client.query(`SET search_path TO "${target.schema.replace(/"/g, '""')}", public`);
}

/** Connects once (no retry); with a schema in the target, the session's search_path starts with it. */
export async function connectAirflowDb(target: string | AirflowDbTarget, options?: TargetOptions): Promise<pg.Client> {
  const t = targetOf(target, options);
  const client = new Client(t.config);
  try {
    await client.connect();
    await useSchema(client, t);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new AirflowDbError(`cannot connect to the Airflow database at ${t.display}: ${reason(err, t)}`);
  }
  return client;
}

export interface WaitOptions extends TargetOptions {
  /** Give up after this long (default 5 minutes, as `dev.wait`). */
  timeoutMs?: number;
  /** Pause between attempts (default 1 s). */
  intervalMs?: number;
  /** Called after each failed attempt with what is still missing, for a progress line on stderr. */
  onProgress?: (message: string, elapsedMs: number) => void;
}

/** invalid_authorization_specification, invalid_password, invalid_catalog_name (no such database). */
const FATAL_CODES = new Set(['28000', '28P01', '3D000']);

/** Whether Airflow's `connection` table exists in the target schema (or the search_path's first schema). */
async function hasConnectionTable(client: pg.ClientBase, schema: string | undefined): Promise<boolean> {
  const { rows } = await client.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM information_schema.tables
       WHERE table_schema = COALESCE($1, current_schema()) AND table_name = 'connection') AS found`,
    [schema ?? null],
  );
  return rows[0]?.found === true;
}

/**
 * Waits until the database accepts connections and holds Airflow's `connection` table (a fresh Airflow container
 * migrates its database a little after Postgres starts), and returns a connected client. Throws after `timeoutMs`
 * with the host:port and what was last seen.
 */
export async function waitForAirflowDb(target: string | AirflowDbTarget, options: WaitOptions = {}): Promise<pg.Client> {
  const t = targetOf(target, options);
  const timeoutMs = options.timeoutMs ?? 300_000;
  const intervalMs = options.intervalMs ?? 1000;
  const started = Date.now();
  let last = '';
  for (;;) {
    const client = new Client({
      ...t.config,
      connectionTimeoutMillis: Math.min(t.config.connectionTimeoutMillis ?? 10_000, Math.max(timeoutMs, 1000)),
    });
    try {
      await client.connect();
      await useSchema(client, t);
      if (await hasConnectionTable(client, t.schema)) return client;
      last = `connected, but there is no Airflow 'connection' table${t.schema ? ` in schema ${t.schema}` : ''} yet (has \`airflow db migrate\` run?)`;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== undefined && FATAL_CODES.has(code)) {
        await client.end().catch(() => undefined);
        // Waiting will not fix a wrong password or database name.
        throw new AirflowDbError(`the Airflow database at ${t.display} refused the connection: ${reason(err, t)}; check the database URL`);
      }
      last = `not accepting connections: ${reason(err, t)}`;
    }
    await client.end().catch(() => undefined);
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      throw new AirflowDbError(
        `gave up waiting for the Airflow database at ${t.display} after ${Math.round(elapsed / 1000)}s: ${last}`,
      );
    }
    options.onProgress?.(`waiting for the Airflow database at ${t.display}: ${last}`, elapsed);
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, timeoutMs - elapsed))));
  }
}
