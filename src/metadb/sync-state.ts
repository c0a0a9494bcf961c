import type pg from 'pg';
import { hasKeys, type AirflowConnection, type AirflowObjectKind, type AirflowPool, type AirflowVariable } from '../airflow/model.js';
import type { FernetKeys } from '../airflow/fernet.js';
import { copyFrom } from './copy.js';
import { digestsFor } from './digests.js';
import { fernetCore, HEAP } from './fernet-core.js';
import type { DbConnection, DbPool, DbVariable } from './read.js';
import type { AirflowSchemaInfo, SyncStateTable } from './schema.js';

/**
 * envmgr's memory of what it wrote, kept in the metadata database itself (table `envmgr_sync_state`) so that it is
 * shared by everyone using that database and survives a fresh clone of the project. Per (kind, key): the source
 * label, keyed digests of the decrypted content written (digests.ts), and when. Digesting plaintext (not the stored
 * token) means that Airflow re-encrypting a value (`airflow rotate-fernet-key`, new IV) is not mistaken for a
 * change.
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
  // An integer beyond 2^53 (a bigint: see exactInt) is written with all its digits.
  if (typeof value === 'bigint') return value.toString();
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
    if (v === undefined || typeof v === 'bigint' || (v !== null && typeof v === 'object')) flat = false;
  }
  // The common case, a flat extra, is written natively: as it is when its keys are in order, else through a replacer
  // list of its sorted keys (which JSON.stringify follows in order; at a deeper level it would drop keys, hence flat).
  if (flat) return sorted ? JSON.stringify(record) : JSON.stringify(record, keys.sort());
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
 * The values of `canonicalConnection(c, fields)` in their order, as an array: `connectionCanonicalText` and the
 * planner's batches (one JSON.stringify for many connections) build the canonical text from it.
 */
export function connectionCanonicalValues(c: AirflowConnection | DbConnection, fields: FieldSupport): unknown[] {
  const extra = canonicalExtra(c);
  return fields.connectionDescription
    ? [c.conn_type, c.description ?? null, c.host ?? null, c.login ?? null, c.password ? c.password : null, c.schema ?? null, c.port ?? null, extra]
    : [c.conn_type, c.host ?? null, c.login ?? null, c.password ? c.password : null, c.schema ?? null, c.port ?? null, extra];
}

/**
 * The canonical extras of many connections (canonicalConnection's `extra`: keys sorted at every level; null for none),
 * as a sync needs them for every connection. Flat extras of desired connections (scalar values only, plain
 * prototype) go through one JSON.stringify whose property list is every key they use, sorted: JSON.stringify then
 * writes each object's keys in that order and skips the ones it lacks, which is exactly stableJson's text, so that
 * element j of `json` is the canonical text of the j-th connection marked `inJson`. Every other extra (nested, a
 * bigint, a key `__proto__`, a row read back) is in `texts`.
 */
export interface ExtrasBatch {
  /** A JSON array of flat objects (null: no extra is in it). */
  json: string | null;
  /** 1 where the connection's extra is an element of `json`, in order. */
  inJson: Uint8Array;
  /** The canonical text of the other extras (null: no extra), undefined where the extra is in `json`. */
  texts: Array<string | null | undefined>;
  /** How many extras `json` holds. */
  count: number;
}

export function canonicalExtrasBatch(cs: ReadonlyArray<AirflowConnection | DbConnection>): ExtrasBatch {
  const texts = new Array<string | null | undefined>(cs.length);
  const inJson = new Uint8Array(cs.length);
  const flat: Array<Record<string, unknown>> = [];
  const union = new Set<string>();
  let last: string[] | null = null;
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i]!;
    if (isDbConnection(c) || !c.extra || !hasKeys(c.extra)) {
      texts[i] = canonicalExtra(c);
      continue;
    }
    const record = c.extra;
    const proto: unknown = Object.getPrototypeOf(record);
    const keys = Object.keys(record);
    let ok = proto === Object.prototype || proto === null;
    for (let k = 0; k < keys.length && ok; k++) {
      const v = record[keys[k]!];
      ok = v === null || (typeof v !== 'object' && typeof v !== 'bigint');
    }
    if (!ok) {
      texts[i] = stableJson(record);
      continue;
    }
    // Objects of one source usually share their keys, in the same order: their keys are added once.
    let same = last !== null && last.length === keys.length;
    for (let k = 0; same && k < keys.length; k++) same = keys[k] === last![k];
    if (!same) for (const key of (last = keys)) union.add(key);
    flat.push(record);
    inJson[i] = 1;
  }
  if (flat.length > 0 && union.has('__proto__')) {
    // JSON.stringify's property list would not tell the own key from the prototype: each on its own.
    for (let i = 0; i < cs.length; i++) if (inJson[i]) texts[i] = stableJson(cs[i]!.extra as Record<string, unknown>);
    return { json: null, inJson: new Uint8Array(cs.length), texts, count: 0 };
  }
  return { json: flat.length > 0 ? JSON.stringify(flat, [...union].sort()) : null, inJson, texts, count: flat.length };
}

/** The `n` elements of a JSON array of flat objects as JSON.stringify writes it; null when it is not all ASCII. */
function splitObjects(json: string, n: number): string[] | null {
  if (Buffer.byteLength(json, 'utf8') !== json.length) return null;
  const core = fernetCore();
  const startsAt = HEAP;
  const endsAt = startsAt + 4 * n;
  const textAt = endsAt + 4 * n;
  const mem = core.reserve(textAt + json.length);
  mem.write(json, textAt, 'latin1');
  const found = core.fn.splitRows(textAt, textAt + json.length, startsAt, endsAt, 0x7b, 0x7d);
  if (found !== n) throw new Error(`expected a JSON array of ${n} flat objects, found ${found}`);
  const words = new Int32Array(mem.buffer, 0, textAt >>> 2);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = json.slice(words[(startsAt >>> 2) + i]! - textAt, words[(endsAt >>> 2) + i]! - textAt);
  // The text may hold secrets (extras): the module's memory keeps no copy of it.
  mem.fill(0, textAt, textAt + json.length);
  return out;
}

/** The canonical text of each connection's extra (canonicalConnection's `extra`), from canonicalExtrasBatch. */
export function canonicalExtras(cs: ReadonlyArray<AirflowConnection | DbConnection>): Array<string | null> {
  const batch = canonicalExtrasBatch(cs);
  const parts = batch.json === null ? null : splitObjects(batch.json, batch.count);
  const out = new Array<string | null>(cs.length);
  for (let i = 0, j = 0; i < cs.length; i++) {
    out[i] = batch.inJson[i] ? (parts ? parts[j++]! : stableJson(cs[i]!.extra as Record<string, unknown>)) : batch.texts[i]!;
  }
  return out;
}

/** `canonicalText(canonicalConnection(c, fields))` without the intermediate object. */
export function connectionCanonicalText(c: AirflowConnection | DbConnection, fields: FieldSupport): string {
  return JSON.stringify(connectionCanonicalValues(c, fields));
}

/** The canonical content as one string (field order is fixed per kind), which is what gets hashed. */
export function canonicalText(canonical: Record<string, unknown>): string {
  return JSON.stringify(Object.values(canonical));
}

/**
 * The digest envmgr_sync_state records for an object (desired, or a row as read) written by a sync with these
 * Fernet keys (default: none) into a schema with these fields: see digests.ts.
 */
export function contentDigest(
  kind: AirflowObjectKind,
  object: AirflowConnection | DbConnection | AirflowVariable | DbVariable | AirflowPool | DbPool,
  fields: FieldSupport = ALL_FIELDS,
  keys: FernetKeys | null = null,
): string {
  const digests = digestsFor(keys);
  switch (kind) {
    case 'connection':
      return digests.connections([object as AirflowConnection | DbConnection], fields)[0]!;
    case 'variable':
      return digests.one(kind, fields, (object as AirflowVariable | DbVariable).key, canonicalText(canonicalVariable(object as AirflowVariable | DbVariable, fields)));
    case 'pool':
      return digests.one(kind, fields, (object as AirflowPool | DbPool).name, canonicalText(canonicalPool(object as AirflowPool | DbPool, fields)));
  }
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

/** The xmin a fingerprint made by rowFingerprint names; null for any other fingerprint (or none). */
export function xminOf(rowHash: string | null): string | null {
  return rowHash !== null && rowHash.startsWith('xmin:') ? rowHash.slice(5) : null;
}

export type { SyncStateTable } from './schema.js';

export async function syncStateTableStatus(client: pg.ClientBase, info: AirflowSchemaInfo): Promise<SyncStateTable> {
  const { rows } = await client.query<{ t: string | null; doc: boolean }>(
    `SELECT c.oid::text AS t, EXISTS (
         SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'state' AND NOT a.attisdropped) AS doc
       FROM (SELECT to_regclass($1) AS oid) c`,
    [info.tables.syncState],
  );
  const row = rows[0];
  return row?.t == null ? 'absent' : row.doc ? 'current' : 'rows';
}

/** The `format` of the state document this version writes (and the only one it reads). */
export const SYNC_STATE_FORMAT = 2;

/**
 * The state as its document: `{"format": 2, "groups": [{"kind", "source", "kid", "rows": [[key, xmin, digests]]}]}`,
 * entries grouped by kind, source and digest key id (`<kid>.<digests>` is the entry's hash; a hash of another form,
 * such as envmgr 0.1's, goes in a group with kid null and whole), xmin being the row version's (null: unknown).
 * Sorted, so that the same state is the same text.
 */
export function serializeSyncState(entries: Iterable<SyncStateEntry>): string {
  type Group = { kind: AirflowObjectKind; source: string; kid: string | null; rows: Array<[string, string | null, string]> };
  const groups = new Map<string, Group>();
  // Entries come in runs of one group (a sync's rows share kind, source and key): the last group is tried first.
  let last: Group | undefined;
  let lastPrefix = '';
  for (const e of entries) {
    const hash = e.hash;
    let group: Group;
    if (last !== undefined && e.kind === last.kind && e.source === last.source && (last.kid === null ? hash.indexOf('.') <= 0 : hash.startsWith(lastPrefix))) {
      group = last;
    } else {
      const dot = hash.indexOf('.');
      const kid = dot > 0 ? hash.slice(0, dot) : null;
      const id = `${e.kind}\u0000${e.source}\u0000${kid ?? ''}`;
      let found = groups.get(id);
      if (!found) groups.set(id, (found = { kind: e.kind, source: e.source, kid, rows: [] }));
      group = last = found;
      lastPrefix = kid === null ? '' : `${kid}.`;
    }
    group.rows.push([e.key, xminOf(e.rowHash), group.kid === null ? hash : hash.slice(group.kid.length + 1)]);
  }
  const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...groups.entries()].sort(([a], [b]) => byteOrder(a, b)).map(([, g]) => {
    // Usually in key order already (a sync's desired objects are): checking is cheaper than sorting.
    const rows = g.rows;
    let inOrder = true;
    for (let i = 1; i < rows.length && inOrder; i++) inOrder = rows[i - 1]![0] < rows[i]![0];
    if (!inOrder) rows.sort((a, b) => byteOrder(a[0], b[0]));
    return g;
  });
  return JSON.stringify({ format: SYNC_STATE_FORMAT, groups: sorted });
}

const KINDS: ReadonlySet<string> = new Set(['connection', 'variable', 'pool']);

/** Reads a state document (serializeSyncState); anything else is an error naming the table. */
export function parseSyncState(text: string, table: string): Map<string, SyncStateEntry> {
  const bad = (why: string) =>
    new Error(`${table} does not hold a state envmgr can read (${why}); if it was edited by hand, drop the table and sync again (rows envmgr wrote are then adopted where they match)`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const { format, groups } = (doc ?? {}) as { format?: unknown; groups?: unknown };
  if (format !== SYNC_STATE_FORMAT) throw bad(`format ${JSON.stringify(format)}, this envmgr reads ${SYNC_STATE_FORMAT}; is a newer envmgr using this database?`);
  if (!Array.isArray(groups)) throw bad('no groups');
  const out = new Map<string, SyncStateEntry>();
  for (const g of groups as Array<{ kind?: unknown; source?: unknown; kid?: unknown; rows?: unknown }>) {
    if (typeof g?.kind !== 'string' || !KINDS.has(g.kind) || typeof g.source !== 'string' || (g.kid !== null && typeof g.kid !== 'string') || !Array.isArray(g.rows)) {
      throw bad('a malformed group');
    }
    const kind = g.kind as AirflowObjectKind;
    const { source } = g;
    const prefix = g.kid === null ? '' : `${g.kid as string}.`;
    for (const row of g.rows as unknown[]) {
      if (!Array.isArray(row) || typeof row[0] !== 'string' || (row[1] !== null && typeof row[1] !== 'string') || typeof row[2] !== 'string') throw bad('a malformed entry');
      const key = row[0];
      out.set(stateKey(kind, key), { kind, key, source, hash: prefix + row[2], rowHash: row[1] === null ? null : `xmin:${row[1] as string}` });
    }
  }
  return out;
}

/** The query that reads the state document of a table as this version keeps it (syncStateOfRows reads its rows). */
export function syncStateQuery(info: Pick<AirflowSchemaInfo, 'tables'>): string {
  return `SELECT state FROM ${info.tables.syncState}`;
}

/** The sync state from the rows of syncStateQuery: one document (none: an empty state). */
export function syncStateOfRows(rows: ReadonlyArray<{ state: string }>, info: Pick<AirflowSchemaInfo, 'tables'>): Map<string, SyncStateEntry> {
  if (rows.length > 1) throw new Error(`${info.tables.syncState} holds ${rows.length} rows, envmgr keeps one; drop the table and sync again`);
  return rows[0] ? parseSyncState(rows[0].state, info.tables.syncState) : new Map();
}

/**
 * Reads the sync state; an absent table (nothing written yet) is an empty state. `status`, when the caller has just
 * checked, spares the check.
 */
export async function readSyncState(client: pg.ClientBase, info: AirflowSchemaInfo, status?: SyncStateTable): Promise<Map<string, SyncStateEntry>> {
  const found = status ?? (await syncStateTableStatus(client, info));
  if (found === 'absent') return new Map();
  if (found === 'current') return syncStateOfRows((await client.query<{ state: string }>(syncStateQuery(info))).rows, info);
  const out = new Map<string, SyncStateEntry>();
  const { rows } = await client.query<{ kind: AirflowObjectKind; key: string; source: string; content_hash: string; row_hash: string | null }>(
    `SELECT kind, key, source, content_hash, row_hash FROM ${info.tables.syncState}`,
  );
  for (const r of rows) {
    out.set(stateKey(r.kind, r.key), { kind: r.kind, key: r.key, source: r.source, hash: r.content_hash, rowHash: r.row_hash });
  }
  return out;
}

/**
 * Makes envmgr's table ready for writeSyncState: created if absent, or, when envmgr 0.1 left its form (already read
 * by then), replaced. Only ever called inside a writing transaction (a sync that writes nothing rolls it back).
 */
export async function ensureSyncStateTable(client: pg.ClientBase, info: AirflowSchemaInfo, status?: SyncStateTable): Promise<'current'> {
  const found = status ?? (await syncStateTableStatus(client, info));
  if (found === 'current') return 'current';
  if (found === 'rows') await client.query(`DROP TABLE ${info.tables.syncState}`);
  await createSyncStateTable(client, info);
  return 'current';
}

/**
 * Creates envmgr's table (absent: see syncStateTableStatus). Only ever called inside a writing transaction. One row:
 * the state document (serializeSyncState), stored uncompressed (it is mostly digests, which do not compress), and
 * when it was written.
 */
export async function createSyncStateTable(client: pg.ClientBase, info: AirflowSchemaInfo): Promise<void> {
  const t = info.tables.syncState;
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${t} (
       id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
       format integer NOT NULL,
       state text NOT NULL,
       written_at timestamptz NOT NULL DEFAULT now()
     );
     ALTER TABLE ${t} ALTER COLUMN state SET STORAGE EXTERNAL;
     COMMENT ON TABLE ${t} IS 'envmgr: which Airflow objects envmgr wrote, from which source, and keyed digests of the content written (one JSON document; read it with SELECT state::jsonb FROM ${t.replace(/'/g, "''")})'`,
  );
}

/** The signature, flags and (empty) header extension that open COPY's binary format. */
const BINARY_COPY_HEADER = Buffer.from('PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0', 'latin1');

/**
 * Writes the whole state in one simple query, stamped with the transaction's time (the column's default): the row is
 * replaced by `COPY … (FORMAT binary)`, whose text field is the document's UTF-8 bytes as they are. A document runs
 * to about 100 bytes per object; sent as a bind parameter, node-postgres would copy it into its message buffer as it
 * grows, more than once, where this sends one buffer.
 */
export async function writeSyncState(client: pg.ClientBase, info: AirflowSchemaInfo, text: string): Promise<void> {
  const bytes = Buffer.byteLength(text, 'utf8');
  const row = Buffer.allocUnsafe(2 + (4 + 2) + (4 + 4) + 4 + bytes + 2);
  let at = row.writeInt16BE(3, 0); // fields
  at = row.writeInt32BE(2, at);
  at = row.writeInt16BE(1, at); // id
  at = row.writeInt32BE(4, at);
  at = row.writeInt32BE(SYNC_STATE_FORMAT, at); // format
  at = row.writeInt32BE(bytes, at);
  at += row.write(text, at, 'utf8'); // state
  row.writeInt16BE(-1, at); // end of data
  const t = info.tables.syncState;
  await copyFrom(client, `DELETE FROM ${t}; COPY ${t} (id, format, state) FROM STDIN (FORMAT binary)`, [BINARY_COPY_HEADER, row]);
}

export interface StateUpsert {
  kind: AirflowObjectKind;
  key: string;
  source: string;
  /** The content hash; null when the plan left it to be computed from `desired` as the row is written. */
  hash: string | null;
  /** The stored row's fingerprint; null until the row is written (apply fills it in). */
  rowHash: string | null;
  /** Whether the sync state already had an entry for this key. */
  recorded: boolean;
  /** The desired object (a plan.ts DesiredObject), when `hash` is left for later. */
  desired?: unknown;
  /** Whether the plan writes the row: apply records its transaction's fingerprint for it. */
  written?: boolean;
}
