import { createHash } from 'node:crypto';
import type pg from 'pg';
import { fernetDecrypt, InvalidTokenError, type FernetKeys } from '../airflow/fernet.js';
import { parseJsonExact } from '../airflow/pyjson.js';
import { AirflowDbError } from './connect.js';
import { fernetDecryptMany } from './fernet-batch.js';
import { detectAirflowSchema, type AirflowSchemaInfo } from './schema.js';
import { rowFingerprint } from './sync-state.js';

/**
 * Reading Airflow's connection / variable / slot_pool rows, decrypted the way Airflow reads them: a value is
 * decrypted only when its row's flag is true (NULL counts as false), with any key of a MultiFernet.
 */

/** A connection as stored: every column present, NULLs kept. */
export interface DbConnection {
  conn_id: string;
  conn_type: string;
  description: string | null;
  host: string | null;
  login: string | null;
  password: string | null;
  schema: string | null;
  port: number | null;
  /** The decrypted `extra` parsed, when it is a JSON object (null otherwise; see `extraText`). */
  extra: Record<string, unknown> | null;
  /** The decrypted `extra` text as stored (2.x rows may hold text that is not a JSON object). */
  extraText: string | null;
  /** Fingerprint of the stored row version (see SyncStateEntry.rowHash). */
  rowHash?: string;
  /**
   * Set only by a read with `known`: the row is still exactly as envmgr wrote it and its content hash is this; its
   * columns were not read (conn_type is '', every other column null).
   */
  contentHash?: string;
  /** True when the database has a Fernet key but the row keeps a password or extra unencrypted. */
  inClear?: boolean;
}

export interface DbVariable {
  key: string;
  /** NULL `val` stays null. */
  value: string | null;
  description: string | null;
  rowHash?: string;
  /** As DbConnection.contentHash (value is then null). */
  contentHash?: string;
  /** True when the database has a Fernet key but the value is stored unencrypted. */
  inClear?: boolean;
}

export interface DbPool {
  name: string;
  slots: number | null;
  description: string | null;
  include_deferred: boolean;
  rowHash?: string;
}

/** Each map iterates in bytewise key order (`COLLATE "C"`: the same on every database), unless read `unordered`. */
export interface AirflowDbState {
  readonly connections: Map<string, DbConnection>;
  readonly variables: Map<string, DbVariable>;
  readonly pools: Map<string, DbPool>;
}

/** An encrypted value that cannot be decrypted: no key, or a key that does not match. */
export class FernetMismatchError extends AirflowDbError {
  override name = 'FernetMismatchError';
}

function noKey(what: string): FernetMismatchError {
  return new FernetMismatchError(
    `${what} is encrypted in the Airflow database but no Fernet key was given; pass the key Airflow uses ` +
      `(--fernet-key, AIRFLOW__CORE__FERNET_KEY or dev.fernet_key_file)`,
  );
}

function wrongKey(what: string, keys: FernetKeys): FernetMismatchError {
  return new FernetMismatchError(
    `the Fernet key${keys.source ? ` from ${keys.source}` : ''} does not decrypt ${what} in the Airflow database; use the key this Airflow ` +
      `was configured with (a comma-separated list may hold the old key after the new one)`,
  );
}

/** A value the key does not open although it opens others: the value, not the key, is at fault. */
function damagedValue(what: string, keys: FernetKeys): FernetMismatchError {
  return new FernetMismatchError(
    `${what} in the Airflow database does not decrypt with the Fernet key${keys.source ? ` from ${keys.source}` : ''}, which decrypts the ` +
      `other encrypted values: that value is damaged or was encrypted with another key; fix or delete the row, then run again`,
  );
}

/** Whether any of `tokens` but the one at `except` opens with `keys` (only asked once a token did not open). */
function anotherOpens(keys: FernetKeys, tokens: readonly string[], except: number): boolean {
  return tokens.some((token, i) => {
    if (i === except) return false;
    try {
      fernetDecrypt(keys, token);
      return true;
    } catch {
      return false;
    }
  });
}

function decryptValue(value: string, keys: FernetKeys | null, what: string): string {
  if (!keys) throw noKey(what);
  try {
    return fernetDecrypt(keys, value);
  } catch (err) {
    if (err instanceof InvalidTokenError) throw wrongKey(what, keys);
    throw err;
  }
}

/**
 * Decrypts the values `pick` selects (null: not encrypted, leave as stored) in one batch. The result has an entry
 * per row: the plaintext, or undefined where nothing was to decrypt. A value the key does not open is a wrong key,
 * unless the key opens another value (of this batch or, `keyVerified`, the one verifyFernetKey checked): then it is
 * a damaged value.
 */
function decryptColumn<R>(
  rows: readonly R[],
  pick: (row: R) => string | null,
  keys: FernetKeys | null,
  what: (row: R) => string,
  keyVerified = false,
): Array<string | undefined> {
  const at: number[] = [];
  const tokens: string[] = [];
  rows.forEach((row, i) => {
    const token = pick(row);
    if (token === null) return;
    if (!keys) throw noKey(what(row));
    at.push(i);
    tokens.push(token);
  });
  const out = new Array<string | undefined>(rows.length);
  if (!keys || tokens.length === 0) return out;
  let plain: string[];
  try {
    plain = fernetDecryptMany(keys, tokens);
  } catch (err) {
    const bad = (err as { badIndex?: number }).badIndex;
    if (err instanceof InvalidTokenError && bad !== undefined) {
      const name = what(rows[at[bad]!]!);
      throw keyVerified || anotherOpens(keys, tokens, bad) ? damagedValue(name, keys) : wrongKey(name, keys);
    }
    throw err;
  }
  plain.forEach((text, j) => (out[at[j]!] = text));
  return out;
}

function parseExtra(text: string | null): Record<string, unknown> | null {
  if (text === null || text === '') return null;
  try {
    const value = parseJsonExact(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

interface ConnectionRow {
  conn_id: string;
  row_xmin: string;
  conn_type: string | null;
  description: string | null;
  host: string | null;
  login: string | null;
  password: string | null;
  schema: string | null;
  port: number | null;
  is_encrypted: boolean | null;
  is_extra_encrypted: boolean | null;
  extra: string | null;
}

/**
 * For a sync, which rows need decrypting. Given a row's kind, key and stored fingerprint: `undefined` to read it
 * normally, a content hash to return it undecrypted with that `contentHash` (it is known to be unchanged since
 * envmgr wrote it), or `'skip'` to leave it out (nothing will look at it).
 */
export type KnownRows = (kind: 'connection' | 'variable', key: string, rowHash: string) => string | 'skip' | undefined;

/**
 * The row versions envmgr recorded writing, per xmin: the keys recorded with that xmin (sync state). A sync's read
 * checks each such version as a whole (Postgres answers how many rows carry that xmin and a digest of their keys)
 * instead of fetching every row's key and xmin: when the keys are the ones recorded, every one of those rows is still
 * the version envmgr wrote, and only the other rows cross the wire.
 */
export type RecordedVersions = ReadonlyMap<string, readonly string[]>;

export interface ReadOptions {
  /** Read only these kinds (default: all three). */
  kinds?: ReadonlyArray<'connection' | 'variable' | 'pool'>;
  known?: KnownRows;
  /** With `known`: the connection row versions envmgr recorded (see RecordedVersions). */
  recordedConnections?: RecordedVersions;
  /** Maps in whatever order the database returns (a sync does not need the sorted order, which costs a sort). */
  unordered?: boolean;
  /**
   * With `known`: work to do while Postgres answers the first query of the read (the connection row versions, the
   * longest wait of a sync's read), run once that query is on its way. Its errors are the caller's.
   */
  whileWaiting?: () => void;
  /**
   * The keys have just been checked against a value they open (verifyFernetKey answered a value, not null): a value
   * they do not open is then reported as damaged, not as a wrong key.
   */
  keyVerified?: boolean;
}

/**
 * MD5 (hex) of the keys in bytewise order, each followed by a zero byte, as the read's query computes it for the
 * rows of one xmin; null when a key holds a UTF-16 surrogate (JavaScript's order then differs from the bytes').
 */
function keysDigest(keys: readonly string[]): string | null {
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1]! < keys[i]!;
  const inOrder = sorted ? keys : [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const joined = inOrder.join('\u0000');
  if (/[\ud800-\udfff]/.test(joined)) return null;
  return createHash('md5').update(joined, 'utf8').update('\u0000').digest('hex');
}

/** Awaits `pending` after running `work` (if any) while it is on its way; an error of `work` wins, after the query. */
async function meanwhile<T>(pending: Promise<T>, work: (() => void) | undefined): Promise<T> {
  if (work) {
    try {
      work();
    } catch (err) {
      await pending.catch(() => undefined);
      throw err;
    }
  }
  return pending;
}

/**
 * Every connection row's key and fingerprint, for a read with `known`, as runs of keys sharing a row version (xmin).
 * With recorded versions, each one that Postgres finds whole (the same keys carry that xmin) is answered from the
 * record, and only the other rows are fetched.
 */
async function connectionVersions(
  client: pg.ClientBase,
  table: string,
  recorded: RecordedVersions | undefined,
  whileWaiting?: () => void,
): Promise<{ runs: Array<{ xmin: string; keys: readonly string[] }>; total: number }> {
  const runsOf = (rows: ReadonlyArray<{ conn_id: string; row_xmin: string }>) => rows.map((r) => ({ xmin: r.row_xmin, keys: [r.conn_id] }));
  if (!recorded || recorded.size === 0) {
    const { rows } = await meanwhile(client.query<{ conn_id: string; row_xmin: string }>(`SELECT conn_id, xmin::text AS row_xmin FROM ${table} WHERE conn_id IS NOT NULL`), whileWaiting);
    return { runs: runsOf(rows), total: rows.length };
  }
  const xmins = [...recorded.keys()];
  const { rows } = await meanwhile(client.query<{ conn_id: string | null; row_xmin: string; n: number | null; keys: string | null }>(
    `SELECT NULL::text AS conn_id, xmin::text AS row_xmin, count(*)::int AS n,
            md5(string_agg(convert_to(conn_id, 'UTF8') || '\\x00'::bytea, ''::bytea ORDER BY conn_id COLLATE "C")) AS keys
       FROM ${table} WHERE conn_id IS NOT NULL AND xmin::text = ANY($1::text[]) GROUP BY xmin::text
     UNION ALL
     SELECT conn_id, xmin::text, NULL, NULL FROM ${table} WHERE conn_id IS NOT NULL AND NOT (xmin::text = ANY($1::text[]))`,
    [xmins],
  ), whileWaiting);
  const runs: Array<{ xmin: string; keys: readonly string[] }> = [];
  const recheck: string[] = [];
  let total = 0;
  for (const row of rows) {
    if (row.conn_id !== null) {
      runs.push({ xmin: row.row_xmin, keys: [row.conn_id] });
      total++;
      continue;
    }
    const keys = recorded.get(row.row_xmin) ?? [];
    total += row.n ?? 0;
    if (row.n !== keys.length || keysDigest(keys) !== row.keys) recheck.push(row.row_xmin);
    else runs.push({ xmin: row.row_xmin, keys });
  }
  if (recheck.length > 0) {
    // Not the rows recorded (some deleted, say): those versions row by row.
    const again = await client.query<{ conn_id: string; row_xmin: string }>(
      `SELECT conn_id, xmin::text AS row_xmin FROM ${table} WHERE conn_id IS NOT NULL AND xmin::text = ANY($1::text[])`,
      [recheck],
    );
    runs.push(...runsOf(again.rows));
  }
  return { runs, total };
}

export async function readConnections(
  client: pg.ClientBase,
  info: AirflowSchemaInfo,
  keys: FernetKeys | null,
  known?: KnownRows,
  unordered = false,
  recorded?: RecordedVersions,
  whileWaiting?: () => void,
  keyVerified = false,
): Promise<Map<string, DbConnection>> {
  const list = (c: string) =>
    `${c}conn_id, ${c}xmin::text AS row_xmin, ${c}conn_type, ${info.has.connectionDescription ? `${c}description` : 'NULL::text AS description'}, ` +
    `${c}host, ${c}login, ${c}password, ${c}schema, ${c}port, ${c}is_encrypted, ${c}is_extra_encrypted, ${c}extra`;
  const columns = list('');
  const table = info.tables.connection;
  const out = new Map<string, DbConnection>();
  let result: { rows: ConnectionRow[] };
  if (known) {
    // Two steps: every row's key and fingerprint (small), then the full rows only of those that must be decrypted.
    // Rows still as envmgr wrote them, and rows nothing looks at, never cross the wire in full.
    const ids = await connectionVersions(client, table, recorded, whileWaiting);
    const wanted: string[] = [];
    for (const run of ids.runs) {
      const rowHash = rowFingerprint(run.xmin);
      for (const key of run.keys) {
        const knownHash = known('connection', key, rowHash);
        if (knownHash === 'skip') continue;
        if (knownHash === undefined) wanted.push(key);
        else {
          out.set(key, {
            conn_id: key, conn_type: '', description: null, host: null, login: null, password: null, schema: null, port: null,
            extra: null, extraText: null, rowHash, contentHash: knownHash,
          });
        }
      }
    }
    if (wanted.length === 0) result = { rows: [] };
    else if (wanted.length === ids.total) result = await client.query<ConnectionRow>(`SELECT ${columns} FROM ${table} WHERE conn_id IS NOT NULL`);
    else {
      result = await client.query<ConnectionRow>(
        `SELECT ${list('c.')} FROM ${table} c JOIN unnest($1::text[]) AS w(id) ON c.conn_id = w.id`,
        [wanted],
      );
    }
  } else {
    result = await client.query<ConnectionRow>(`SELECT ${columns} FROM ${table} WHERE conn_id IS NOT NULL${unordered ? '' : ' ORDER BY conn_id COLLATE "C"'}`);
  }
  const rows = result.rows;
  const rowHashes = rows.map((row) => rowFingerprint(row.row_xmin));
  const passwords = decryptColumn(rows, (r) => (r.password && r.is_encrypted === true ? r.password : null), keys, (r) => `connection '${r.conn_id}' (password)`, keyVerified);
  const extras = decryptColumn(rows, (r) => (r.extra && r.is_extra_encrypted === true ? r.extra : null), keys, (r) => `connection '${r.conn_id}' (extra)`, keyVerified);
  rows.forEach((row, i) => {
    const extraText = extras[i] ?? row.extra;
    out.set(row.conn_id, {
      conn_id: row.conn_id,
      conn_type: row.conn_type ?? '',
      description: row.description,
      host: row.host,
      login: row.login,
      password: passwords[i] ?? row.password,
      schema: row.schema,
      port: row.port,
      extra: parseExtra(extraText),
      extraText,
      rowHash: rowHashes[i]!,
      ...(keys !== null && ((row.password && row.is_encrypted !== true) || (row.extra && row.is_extra_encrypted !== true)) ? { inClear: true } : {}),
    });
  });
  return out;
}

type VariableRow = { key: string; row_xmin: string; val: string | null; description: string | null; is_encrypted: boolean | null };
type PoolRow = { pool: string; row_xmin: string; slots: number | null; description: string | null; include_deferred: boolean | null };

function variablesQuery(info: AirflowSchemaInfo, unordered: boolean): string {
  const description = info.has.variableDescription ? 'description' : 'NULL::text AS description';
  return `SELECT key, xmin::text AS row_xmin, val, ${description}, is_encrypted FROM ${info.tables.variable} WHERE key IS NOT NULL${unordered ? '' : ' ORDER BY key COLLATE "C"'}`;
}

function poolsQuery(info: AirflowSchemaInfo): string {
  const description = info.has.poolDescription ? 'description' : 'NULL::text AS description';
  const deferred = info.has.includeDeferred ? 'include_deferred' : 'false AS include_deferred';
  return `SELECT pool, xmin::text AS row_xmin, slots, ${description}, ${deferred} FROM ${info.tables.pool} WHERE pool IS NOT NULL ORDER BY pool COLLATE "C"`;
}

export async function readVariables(
  client: pg.ClientBase,
  info: AirflowSchemaInfo,
  keys: FernetKeys | null,
  known?: KnownRows,
  unordered = false,
  keyVerified = false,
): Promise<Map<string, DbVariable>> {
  return variablesOf((await client.query<VariableRow>(variablesQuery(info, unordered))).rows, keys, known, keyVerified);
}

function variablesOf(all: readonly VariableRow[], keys: FernetKeys | null, known?: KnownRows, keyVerified = false): Map<string, DbVariable> {
  const out = new Map<string, DbVariable>();
  const rows: VariableRow[] = [];
  const rowHashes: string[] = [];
  for (const row of all) {
    const rowHash = rowFingerprint(row.row_xmin);
    const knownHash = known?.('variable', row.key, rowHash);
    if (knownHash === 'skip') continue;
    if (knownHash !== undefined) {
      out.set(row.key, { key: row.key, value: null, description: row.description, rowHash, contentHash: knownHash });
      continue;
    }
    rows.push(row);
    rowHashes.push(rowHash);
  }
  // '' is encrypted too (Variable.set_val encrypts any non-None value), so test for null, not truthiness.
  const values = decryptColumn(rows, (r) => (r.val !== null && r.is_encrypted === true ? r.val : null), keys, (r) => `variable '${r.key}'`, keyVerified);
  rows.forEach((row, i) => out.set(row.key, {
    key: row.key, value: values[i] ?? row.val, description: row.description, rowHash: rowHashes[i]!,
    ...(keys !== null && row.val !== null && row.is_encrypted !== true ? { inClear: true } : {}),
  }));
  return out;
}

export async function readPools(client: pg.ClientBase, info: AirflowSchemaInfo): Promise<Map<string, DbPool>> {
  return poolsOf((await client.query<PoolRow>(poolsQuery(info))).rows);
}

function poolsOf(rows: readonly PoolRow[]): Map<string, DbPool> {
  const out = new Map<string, DbPool>();
  for (const row of rows) {
    const deferred = row.include_deferred === true;
    out.set(row.pool, {
      name: row.pool, slots: row.slots, description: row.description, include_deferred: deferred, rowHash: rowFingerprint(row.row_xmin),
    });
  }
  return out;
}

/**
 * Every connection, variable and pool, decrypted (except rows `known` says need not be). Throws
 * FernetMismatchError naming the key's source.
 */
export async function readAirflowObjects(
  client: pg.ClientBase,
  info: AirflowSchemaInfo,
  keys: FernetKeys | null,
  options: ReadOptions = {},
): Promise<AirflowDbState> {
  const kinds = new Set(options.kinds ?? ['connection', 'variable', 'pool']);
  // One query at a time: node-postgres deprecates queueing queries on a busy client.
  const unordered = options.unordered === true;
  const connections = kinds.has('connection')
    ? await readConnections(client, info, keys, options.known, unordered, options.recordedConnections, options.whileWaiting, options.keyVerified)
    : new Map<string, DbConnection>();
  if (kinds.has('variable') && kinds.has('pool')) {
    // Both in one round trip: two statements in one simple query answer two results.
    const [variables, pools] = (await client.query(`${variablesQuery(info, unordered)}; ${poolsQuery(info)}`)) as unknown as [pg.QueryResult<VariableRow>, pg.QueryResult<PoolRow>];
    return { connections, variables: variablesOf(variables.rows, keys, options.known, options.keyVerified), pools: poolsOf(pools.rows) };
  }
  const variables = kinds.has('variable') ? await readVariables(client, info, keys, options.known, unordered, options.keyVerified) : new Map<string, DbVariable>();
  const pools = kinds.has('pool') ? await readPools(client, info) : new Map<string, DbPool>();
  return { connections, variables, pools };
}

export interface KeyCheck {
  /** What was decrypted to check the key (`connection 'x' (password)`), or null when nothing is encrypted. */
  checked: string | null;
}

/**
 * Decrypts one existing encrypted value (a connection's password or extra, else a variable) so that a wrong key
 * is refused before anything is written; Airflow would otherwise fail later with InvalidToken on rows envmgr did
 * not write. With `keys` null, refuses when encrypted rows exist (they could not be read back to plan).
 */
export async function verifyFernetKey(
  client: pg.ClientBase,
  keys: FernetKeys | null,
  options: { info?: AirflowSchemaInfo; schema?: string } = {},
): Promise<KeyCheck> {
  const info = options.info ?? (await detectAirflowSchema(client, options));
  return keyCheckOf((await client.query<KeyCheckRow>(keyCheckQuery(info))).rows, keys);
}

export type KeyCheckRow = { what: string; value: string };

/**
 * The query verifyFernetKey runs: an existing encrypted value of each kind (a password, an extra, a variable), if
 * any; keyCheckOf checks its rows.
 */
export function keyCheckQuery(info: Pick<AirflowSchemaInfo, 'tables'>): string {
  return `(SELECT format('connection %L (password)', conn_id) AS what, password AS value FROM ${info.tables.connection}
        WHERE is_encrypted AND password IS NOT NULL AND password <> '' LIMIT 1)
     UNION ALL
     (SELECT format('connection %L (extra)', conn_id), extra FROM ${info.tables.connection}
        WHERE is_extra_encrypted AND extra IS NOT NULL AND extra <> '' LIMIT 1)
     UNION ALL
     (SELECT format('variable %L', key), val FROM ${info.tables.variable}
        WHERE is_encrypted AND val IS NOT NULL AND key IS NOT NULL LIMIT 1)`;
}

/**
 * Checks the key against the values keyCheckQuery found: refused (before anything is written) when encrypted values
 * exist and there is no key, or when the key opens none of them. A key that opens one is the database's key; a value
 * it does not open is then reported as damaged by the read that meets it, not as a wrong key.
 */
export function keyCheckOf(rows: readonly KeyCheckRow[], keys: FernetKeys | null): KeyCheck {
  const first = rows[0];
  if (!first) return { checked: null };
  let refusal: unknown;
  for (const row of rows) {
    try {
      decryptValue(row.value, keys, row.what);
      return { checked: row.what };
    } catch (err) {
      if (!(err instanceof FernetMismatchError)) throw err;
      refusal ??= err;
      if (!keys) break;
    }
  }
  throw refusal;
}
