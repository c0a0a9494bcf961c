import type pg from 'pg';
import { hasKeys, type AirflowConnection, type AirflowObjectKind, type AirflowPool, type AirflowVariable } from '../airflow/model.js';
import type { FernetKeys } from '../airflow/fernet.js';
import { digestsFor } from './digests.js';
import type { DbConnection, DbPool, DbVariable } from './read.js';
import type { AirflowSchemaInfo } from './schema.js';

/**
 * envmgr's memory of what it wrote, kept in the metadata database itself (table `envmgr_sync_state`) so that it is
 * shared by everyone using that database and survives a fresh clone of the project. Per (kind, key): the source
 * label, keyed digests of the decrypted canonical content written (digests.ts), and when. Digesting plaintext (not
 * the stored token) means that Airflow re-encrypting a value (`airflow rotate-fernet-key`, new IV) is not mistaken
 * for a change.
 */

export interface SyncStateEntry {
  kind: AirflowObjectKind;
  key: string;
  source: string;
  /** Digests of the decrypted canonical content envmgr wrote (digests.ts; envmgr 0.1: its SHA-256). */
  hash: string;
  /**
   * Fingerprint of the row version envmgr wrote (`rowFingerprint`). While the row still has this fingerprint its
   * content is known to be `hash` without decrypting it; any change to the row (an edit, a re-encryption) changes
   * the fingerprint and the row is decrypted and compared instead.
   */
  rowHash: string | null;
  /** When envmgr wrote it (ISO 8601, UTC). readSyncState leaves it out: the column is for people reading the table. */
  writtenAt?: string;
}

/** Keyed by `stateKey(kind, key)`. */
export type SyncState = ReadonlyMap<string, SyncStateEntry>;

export function stateKey(kind: AirflowObjectKind, key: string): string {
  return `${kind}\u0000${key}`;
}

export type FieldSupport = Pick<AirflowSchemaInfo['has'], 'connectionDescription' | 'variableDescription' | 'poolDescription' | 'includeDeferred'>;

const ALL_FIELDS: FieldSupport = { connectionDescription: true, variableDescription: true, poolDescription: true, includeDeferred: true };

/** JSON with object keys sorted, so that two extras equal as objects compare equal as text. */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + stableJson(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let sorted = true;
  let flat = true;
  for (let i = 0; i < keys.length; i++) {
    const v = record[keys[i]!];
    if (i > 0 && keys[i - 1]! > keys[i]!) sorted = false;
    if (v === undefined || (v !== null && typeof v === 'object')) flat = false;
  }
  // The common case (a flat extra already in key order) needs no rebuilding.
  if (sorted && flat) return JSON.stringify(record);
  if (!sorted) keys.sort();
  let out = '{';
  for (const k of keys) {
    const v = record[k];
    if (v === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${stableJson(v)}`;
  }
  return `${out}}`;
}

function isDbConnection(c: AirflowConnection | DbConnection): c is DbConnection {
  return 'extraText' in c;
}

/** `extra` as it would read back from Airflow: absent, '' and {} all mean "no extra". */
function canonicalExtra(c: AirflowConnection | DbConnection): string | null {
  if (isDbConnection(c)) {
    if (c.extraText === null || c.extraText === '') return null;
    if (c.extra === null) return `raw:${c.extraText}`;
    return Object.keys(c.extra).length === 0 ? null : stableJson(c.extra);
  }
  if (!c.extra || !hasKeys(c.extra)) return null;
  return stableJson(c.extra);
}

/**
 * The content that decides "changed or not": what Airflow would read back after envmgr writes the object
 * (FACTS.md §2: an empty password is stored as NULL). Fields a schema lacks are left out.
 */
export function canonicalConnection(c: AirflowConnection | DbConnection, fields: FieldSupport = ALL_FIELDS): Record<string, unknown> {
  const out: Record<string, unknown> = { conn_type: c.conn_type };
  if (fields.connectionDescription) out.description = c.description ?? null;
  out.host = c.host ?? null;
  out.login = c.login ?? null;
  out.password = c.password ? c.password : null;
  out.schema = c.schema ?? null;
  out.port = c.port ?? null;
  out.extra = canonicalExtra(c);
  return out;
}

export function canonicalVariable(v: AirflowVariable | DbVariable, fields: FieldSupport = ALL_FIELDS): Record<string, unknown> {
  return fields.variableDescription ? { value: v.value ?? null, description: v.description ?? null } : { value: v.value ?? null };
}

export function canonicalPool(p: AirflowPool | DbPool, fields: FieldSupport = ALL_FIELDS): Record<string, unknown> {
  const out: Record<string, unknown> = { slots: p.slots ?? null };
  if (fields.poolDescription) out.description = p.description ?? null;
  if (fields.includeDeferred) out.include_deferred = p.include_deferred ?? false;
  return out;
}

/**
 * `canonicalText(canonicalConnection(c, fields))` without the intermediate object (a sync builds this for every
 * connection it compares or records; this is the same text, built in one step).
 */
export function connectionCanonicalText(c: AirflowConnection | DbConnection, fields: FieldSupport): string {
  const extra = canonicalExtra(c);
  return fields.connectionDescription
    ? JSON.stringify([c.conn_type, c.description ?? null, c.host ?? null, c.login ?? null, c.password ? c.password : null, c.schema ?? null, c.port ?? null, extra])
    : JSON.stringify([c.conn_type, c.host ?? null, c.login ?? null, c.password ? c.password : null, c.schema ?? null, c.port ?? null, extra]);
}

/** The canonical content as one string (field order is fixed per kind), which is what gets hashed. */
export function canonicalText(canonical: Record<string, unknown>): string {
  return JSON.stringify(Object.values(canonical));
}

/**
 * The digest envmgr_sync_state records for canonical content (built with the same `fields`) by a sync with these
 * Fernet keys (default: none): see digests.ts.
 */
export function contentDigest(
  kind: AirflowObjectKind,
  canonical: Record<string, unknown>,
  fields: FieldSupport = ALL_FIELDS,
  keys: FernetKeys | null = null,
): string {
  return digestsFor(keys).one(kind, fields, canonicalText(canonical));
}

/**
 * The fingerprint of a stored row version: its `xmin`, the id of the transaction that wrote it. Any later change
 * to the row (an edit, `airflow rotate-fernet-key`, a dump and restore) writes a new version with another xmin, so
 * a row still carrying the xmin envmgr recorded is exactly what envmgr wrote. (A 32-bit xid only repeats after ~4
 * billion transactions, and a repeat would also need that very transaction to rewrite this very row; freezing keeps
 * the raw xmin.) Anything else (an older envmgr's content fingerprint) never matches, which only costs decrypting.
 */
export function rowFingerprint(xmin: string | number | bigint): string {
  return `xmin:${String(xmin)}`;
}

/**
 * envmgr's table: absent, as this version creates it, as an earlier version created it (`written_at` without a
 * default), or created by this very transaction and not given its primary key yet (`unkeyed`: its first rows are
 * copied in before the key is built, which Postgres does in one pass instead of an index insertion per row).
 */
export type SyncStateTable = 'absent' | 'current' | 'no-default' | 'unkeyed';

export async function syncStateTableStatus(client: pg.ClientBase, info: AirflowSchemaInfo): Promise<SyncStateTable> {
  const { rows } = await client.query<{ t: string | null; d: boolean }>(
    `SELECT c.oid::text AS t, EXISTS (
         SELECT 1 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = c.oid AND a.attname = 'written_at') AS d
       FROM (SELECT to_regclass($1) AS oid) c`,
    [info.tables.syncState],
  );
  const row = rows[0];
  return row?.t == null ? 'absent' : row.d ? 'current' : 'no-default';
}

export async function syncStateTableExists(client: pg.ClientBase, info: AirflowSchemaInfo): Promise<boolean> {
  return (await syncStateTableStatus(client, info)) !== 'absent';
}

/**
 * Reads the sync state; an absent table (nothing written yet) is an empty state. `tableExists`, when the caller
 * has just checked, spares the check.
 */
export async function readSyncState(client: pg.ClientBase, info: AirflowSchemaInfo, tableExists?: boolean): Promise<Map<string, SyncStateEntry>> {
  const out = new Map<string, SyncStateEntry>();
  if (!(tableExists ?? (await syncStateTableExists(client, info)))) return out;
  // No written_at: formatting thousands of timestamps costs more than the rest of the rows, and planning ignores it.
  const { rows } = await client.query<{ kind: AirflowObjectKind; key: string; source: string; content_hash: string; row_hash: string | null }>(
    `SELECT kind, key, source, content_hash, row_hash FROM ${info.tables.syncState}`,
  );
  for (const r of rows) {
    out.set(stateKey(r.kind, r.key), { kind: r.kind, key: r.key, source: r.source, hash: r.content_hash, rowHash: r.row_hash });
  }
  return out;
}

/**
 * Makes envmgr's table ready for writing and answers its state: created (`unkeyed`: see keySyncStateTable) if
 * absent, given `written_at`'s default if an earlier envmgr created it. Only ever called inside a writing transaction.
 */
export async function ensureSyncStateTable(client: pg.ClientBase, info: AirflowSchemaInfo, status?: SyncStateTable): Promise<'current' | 'unkeyed'> {
  const found = status ?? (await syncStateTableStatus(client, info));
  if (found === 'absent') {
    await createSyncStateTable(client, info, { key: false });
    return 'unkeyed';
  }
  if (found === 'no-default') await client.query(`ALTER TABLE ${info.tables.syncState} ALTER COLUMN written_at SET DEFAULT now()`);
  return found === 'unkeyed' ? 'unkeyed' : 'current';
}

/**
 * Creates envmgr's table (absent: see syncStateTableStatus). Only ever called inside a writing transaction. Keys
 * compare byte for byte (collation "C": they are identifiers matched exactly, and Postgres checks the primary key
 * faster that way), and `written_at` is the writing transaction's time by default (rows are copied without it).
 * With `key: false` the primary key is left for keySyncStateTable, before the transaction ends.
 */
export async function createSyncStateTable(client: pg.ClientBase, info: AirflowSchemaInfo, options: { key?: boolean } = {}): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${info.tables.syncState} (
       kind text COLLATE "C" NOT NULL CHECK (kind IN ('connection', 'variable', 'pool')),
       key text COLLATE "C" NOT NULL,
       source text NOT NULL,
       content_hash text NOT NULL,
       row_hash text,
       written_at timestamptz NOT NULL DEFAULT now()${options.key === false ? '' : ',\n       PRIMARY KEY (kind, key)'}
     );
     COMMENT ON TABLE ${info.tables.syncState} IS 'envmgr: which Airflow objects envmgr wrote, from which source, and keyed digests of the content written'`,
  );
}

/** Gives a table created with `key: false` its primary key (its rows must be unique per kind and key by then). */
export async function keySyncStateTable(client: pg.ClientBase, info: AirflowSchemaInfo): Promise<void> {
  await client.query(`ALTER TABLE ${info.tables.syncState} ADD PRIMARY KEY (kind, key)`);
}

export interface StateUpsert {
  kind: AirflowObjectKind;
  key: string;
  source: string;
  /** The content hash; null when the plan left it to be computed from `desired` as the row is written. */
  hash: string | null;
  /** The stored row's fingerprint; null until the row is written (apply fills it in). */
  rowHash: string | null;
  /** Whether envmgr_sync_state already has an entry for this key (else apply inserts one). */
  recorded: boolean;
  /** The desired object (a plan.ts DesiredObject), when `hash` is left for later. */
  desired?: unknown;
}

/**
 * The columns of envmgr_sync_state, in the order apply writes them. `written_at` is left to its default (the
 * transaction's time): Postgres parses thousands of timestamps more slowly than it evaluates now().
 */
export const SYNC_STATE_COLUMNS = ['kind', 'key', 'source', 'content_hash', 'row_hash'] as const;

/** The statement that forgets deleted keys. */
export function syncStateDeleteStatement(
  info: AirflowSchemaInfo,
  deletes: ReadonlyArray<{ kind: AirflowObjectKind; key: string }>,
): { text: string; values: unknown[] } {
  return {
    text: `DELETE FROM ${info.tables.syncState} s USING unnest($1::text[], $2::text[]) AS d(kind, key)
      WHERE s.kind = d.kind AND s.key = d.key`,
    values: [deletes.map((d) => d.kind), deletes.map((d) => d.key)],
  };
}
