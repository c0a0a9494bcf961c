import type pg from 'pg';
import type { FernetKeys } from '../airflow/fernet.js';
import type { AirflowObjectKind } from '../airflow/model.js';
import { AirflowDbError } from './connect.js';
import { copyFrom } from './copy.js';
import { digestsFor } from './digests.js';
import { desiredContents, fillStateHashes, forgetDesiredContents, planSync, planWrites, stateByKind, type DesiredObject, type PlanOptions, type SyncPlan, type TableWrites } from './plan.js';
import { keyCheckOf, keyCheckQuery, readAirflowObjects, verifyFernetKey, type KeyCheck, type KnownRows, type RecordedVersions } from './read.js';
import { connectionSpec, poolSpec, variableSpec, type RowsSpec } from './rows.js';
import { readSchemaCatalog, schemaInfoOf, type AirflowSchemaInfo } from './schema.js';
import {
  ensureSyncStateTable,
  readSyncState,
  rowFingerprint,
  serializeSyncState,
  stateKey,
  syncStateOfRows,
  syncStateQuery,
  syncStateTableStatus,
  writeSyncState,
  xminOf,
  type SyncStateTable,
  type SyncState,
  type StateUpsert,
  type SyncStateEntry,
} from './sync-state.js';

/**
 * Writing a plan: one transaction under an advisory lock, batched statements per table (never a round trip per row),
 * every column set explicitly because Airflow's tables have no server defaults, values encrypted exactly as
 * Airflow's models encrypt them (FACTS.md §2).
 *
 * Rows the plan found absent are bulk-loaded with `COPY … FROM STDIN`, streamed in batches so that Node encrypts the
 * next batch while Postgres ingests the last. Every other row is upserted by `INSERT … SELECT … ON CONFLICT (key) DO
 * UPDATE` from a temporary table filled the same way. If a row appeared since the plan was made (Airflow does not
 * take envmgr's lock), the COPY fails on the unique key, the transaction is rolled back, and the sync is read and
 * planned again (applySyncPlan, whose plan was made outside the lock, upserts instead): correctness never depends on
 * the fast path.
 */

/**
 * The advisory lock every envmgr sync takes (transaction-scoped, per database): the bytes of "envmgr" read as a
 * big-endian integer. Anything else that wants to keep envmgr out can take `pg_advisory_lock(111542261049202)`.
 */
export const SYNC_LOCK_KEY = 111542261049202n;

export interface LockOptions {
  /** How long to wait for another sync to finish (default 60 s). */
  lockTimeoutMs?: number;
  /** Told once when another sync holds the lock and this one starts waiting. */
  onLockWait?: (message: string) => void;
}

/**
 * Takes the sync lock inside the current transaction, waiting (and saying so) if another sync holds it. With `begin`,
 * starts that transaction too, in the same round trip as the first try for the lock.
 */
export async function acquireSyncLock(client: pg.ClientBase, options: LockOptions = {}, begin = false): Promise<void> {
  const timeoutMs = Math.max(1, Math.round(options.lockTimeoutMs ?? 60_000));
  const tryLock = `SELECT pg_try_advisory_xact_lock(${SYNC_LOCK_KEY}) AS ok`;
  // Two statements in one simple query answer two results.
  const answer = begin
    ? ((await client.query(`BEGIN; ${tryLock}`)) as unknown as Array<pg.QueryResult<{ ok: boolean }>>)[1]!
    : await client.query<{ ok: boolean }>(tryLock);
  if (answer.rows[0]?.ok) return;
  options.onLockWait?.(`another sync is running on this database, waiting up to ${Math.ceil(timeoutMs / 1000)}s for it to finish…`);
  await client.query(`SET LOCAL lock_timeout = ${timeoutMs}`);
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SYNC_LOCK_KEY.toString()]);
  } catch (err) {
    if ((err as { code?: string }).code === '55P03') {
      throw new AirflowDbError(
        `another sync still holds envmgr's lock on this database after ${Math.ceil(timeoutMs / 1000)}s; ` +
          `wait for it to finish and try again (lock: pg_advisory_xact_lock(${SYNC_LOCK_KEY}))`,
      );
    }
    throw err;
  }
  await client.query('SET LOCAL lock_timeout TO DEFAULT');
}

export interface ApplyOptions extends LockOptions {
  info: AirflowSchemaInfo;
  /** Called inside the transaction, after the lock and the key check, just before the first write. */
  beforeWrite?: (plan: SyncPlan) => void | Promise<void>;
  /** The Fernet key(s) Airflow uses; null writes plaintext with the flags false, as Airflow does without a key. */
  keys: FernetKeys | null;
}

/** What was written (a dry run writes nothing: see the plan's counts for what it would do). */
export interface ApplyResult {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  conflicts: number;
  /** Rows written to envmgr_sync_state (upserts + deletes). */
  stateChanges: number;
  /** Whether anything was written (false: not a single write statement was sent). */
  wrote: boolean;
}

/**
 * Rows are written as COPY text, a batch at a time: while Postgres ingests one batch, the next is encrypted and
 * serialized (node-postgres' array parameters would cost more to encode than the whole COPY).
 */
const BATCH = 1000;

/** A COPY that hit a unique violation on rows the plan took for new (something inserted them since it read). */
export class CopyConflictError extends AirflowDbError {
  override name = 'CopyConflictError';
}

const quoted = (columns: readonly string[]) => columns.map((c) => `"${c}"`).join(', ');

/** Batches of COPY text, produced one at a time as the COPY asks for them. */
function* batches<T>(rows: readonly T[], spec: RowsSpec<T>): Generator<Buffer> {
  for (let i = 0; i < rows.length; i += BATCH) yield spec.chunk(rows.slice(i, i + BATCH));
}

/** Bulk-loads rows that should not exist yet; a unique violation becomes CopyConflictError (nothing is kept). */
async function copyNew<T>(client: pg.ClientBase, spec: RowsSpec<T>, chunks: Iterable<Buffer>, sent?: () => void): Promise<void> {
  try {
    await copyFrom(client, `COPY ${spec.table} (${quoted(spec.columns)}) FROM STDIN`, chunks, sent ? { onSent: sent } : {});
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new CopyConflictError(`a row appeared in ${spec.table} while envmgr was writing (${(err as Error).message})`);
    }
    throw err;
  }
}

let stages = 0;

/**
 * Writes rows through a temporary table, in one simple query: the table is created, filled by COPY, and written from.
 * Rows the plan found (`existing`) are written by `UPDATE … FROM` the stage, which Postgres runs as one join (an
 * `INSERT … ON CONFLICT` tries an insert per row first and costs it a fifth more); should one have gone since (Airflow
 * does not take envmgr's lock), the rows the update missed are inserted afterwards. Otherwise every row is upserted by
 * `INSERT … SELECT … ON CONFLICT (key) DO UPDATE`. Every given column is set. The temporary table goes with the
 * transaction.
 */
async function writeThroughStage<T>(
  client: pg.ClientBase, spec: RowsSpec<T>, rows: readonly T[], existing: boolean, sent?: () => void,
): Promise<void> {
  const stage = `pg_temp.envmgr_stage_${++stages}`;
  const cols = quoted(spec.columns);
  const others = spec.columns.filter((c) => !spec.conflict.includes(c));
  const upsert = (where: string) =>
    `INSERT INTO ${spec.table} (${cols}) SELECT ${cols} FROM ${stage} s${where}
      ON CONFLICT (${quoted(spec.conflict)}) DO UPDATE SET ${others.map((c) => `"${c}" = EXCLUDED."${c}"`).join(', ')}`;
  const same = spec.conflict.map((c) => `t."${c}" = s."${c}"`).join(' AND ');
  const write = existing
    ? `UPDATE ${spec.table} AS t SET ${others.map((c) => `"${c}" = s."${c}"`).join(', ')} FROM ${stage} s WHERE ${same}`
    : upsert('');
  // Once the last row is on its way, whatever comes next is worked out while Postgres runs the write (sent does not
  // throw). The count is the last statement's: the rows written.
  const written = await copyFrom(
    client,
    `CREATE TEMPORARY TABLE ${stage} ON COMMIT DROP AS SELECT ${cols} FROM ${spec.table} WITH NO DATA;
     COPY ${stage} (${cols}) FROM STDIN;
     ${write}`,
    batches(rows, spec),
    sent ? { onSent: sent } : {},
  );
  if (existing && written < rows.length) {
    // Rows the update missed: gone since the plan, or replaced (deleted and inserted again, by a transaction the
    // update waited for, which then skips the version it was waiting on). Every staged row this transaction has not
    // written goes through the upsert, which writes over a replacement too (it waits for it if it must). This
    // transaction's rows carry its id as xmin (no savepoints: see writePlan).
    await client.query(upsert(` WHERE NOT EXISTS (SELECT 1 FROM ${spec.table} t WHERE ${same} AND t.xmin = (txid_current() % 4294967296)::text::xid)`));
  }
}

/** Writes one table's rows: new ones by COPY (when allowed), the others through the stage. */
async function writeRows<T>(client: pg.ClientBase, spec: RowsSpec<T>, rows: TableWrites<T>, bulk: boolean, sent?: () => void): Promise<void> {
  if (!bulk) {
    if (rows.upsert.length > 0) await writeThroughStage(client, spec, rows.upsert, false, sent);
    return;
  }
  if (rows.created.length > 0) await copyNew(client, spec, batches(rows.created, spec), rows.existing.length > 0 ? undefined : sent);
  if (rows.existing.length > 0) await writeThroughStage(client, spec, rows.existing, true, sent);
}

function deleteStatement(table: string, column: string, keys: readonly string[]): { text: string; values: unknown[] } {
  return { text: `DELETE FROM ${table} WHERE "${column}" = ANY($1::text[])`, values: [keys] };
}

interface WriteOptions {
  /** Bulk-load rows the plan found absent with COPY (else every row goes through the upsert). */
  bulk: boolean;
  /** What this transaction already knows of envmgr_sync_state (else it is checked). */
  stateTable?: SyncStateTable;
  /** The sync state as this transaction read it (else it is read): the plan's state changes apply to it. */
  state?: SyncState;
}

/**
 * The writes of a plan, inside a transaction that already holds the sync lock. Every row written gets this
 * transaction's id as xmin (no savepoints are used), which is the fingerprint recorded in the sync state.
 */
async function writePlan(client: pg.ClientBase, plan: SyncPlan, info: AirflowSchemaInfo, keys: FernetKeys | null, options: WriteOptions): Promise<ApplyResult> {
  const writes = planWrites(plan);
  if (!writes) throw new Error('this plan was not made by planSync (or is a copy of one); plan again before applying');
  const status = options.stateTable ?? (await syncStateTableStatus(client, info));
  const base = options.state ?? (await readSyncState(client, info, status));
  if (status !== 'current') await ensureSyncStateTable(client, info, status);
  const { rows } = await client.query<{ xid: string }>('SELECT txid_current()::text AS xid');
  // txid_current() carries the epoch above the 32 bits a row's xmin holds.
  const fingerprint = rowFingerprint(BigInt(rows[0]!.xid) & 0xffffffffn);

  // The Airflow rows go first, then the state: its digests (of new rows) and its document are worked out once the
  // last Airflow row has been sent, while Postgres is still taking them in.
  let stateText: string | undefined;
  const serializeState = () => {
    if (stateText !== undefined) return stateText;
    fillStateHashes(writes.state.upsert, writes.fields, writes.digests);
    // Rows adopted unchanged keep the fingerprint they have; rows written now get this transaction's.
    const entryOf = (u: StateUpsert): SyncStateEntry => ({ kind: u.kind, key: u.key, source: u.source, hash: u.hash!, rowHash: u.written ? fingerprint : u.rowHash });
    // A first sync (nothing recorded yet) records exactly its upserts, one per object.
    if (base.size === 0) return (stateText = serializeSyncState(writes.state.upsert.map(entryOf)));
    const next = new Map<string, SyncStateEntry>(base);
    for (const d of writes.state.delete) next.delete(stateKey(d.kind, d.key));
    for (const u of writes.state.upsert) next.set(stateKey(u.kind, u.key), entryOf(u));
    return (stateText = serializeSyncState(next.values()));
  };

  if (writes.connections.delete.length > 0) await client.query(deleteStatement(info.tables.connection, 'conn_id', writes.connections.delete));
  if (writes.variables.delete.length > 0) await client.query(deleteStatement(info.tables.variable, 'key', writes.variables.delete));
  if (writes.pools.delete.length > 0) await client.query(deleteStatement(info.tables.pool, 'pool', writes.pools.delete));
  const { connections, variables, pools } = writes;
  await writeRows(client, poolSpec(info), pools, options.bulk);
  await writeRows(client, variableSpec(info, keys), variables, options.bulk);
  // Serialized once the last connection row and the end of the COPY are on the socket, while Postgres takes them in.
  // A failure there is left to the call below, which then raises it.
  const soon = () => {
    try {
      serializeState();
    } catch {
      // raised again below
    }
  };
  await writeRows(client, connectionSpec(info, keys), connections, options.bulk, soon);
  if (writes.state.upsert.length + writes.state.delete.length > 0) await writeSyncState(client, info, serializeState());
  return resultOf(plan, writes.state.upsert.length + writes.state.delete.length, true);
}

function resultOf(plan: SyncPlan, stateChanges: number, wrote: boolean): ApplyResult {
  const c = plan.counts;
  return { created: c.create, updated: c.update, deleted: c.delete, unchanged: c.unchanged, conflicts: c.conflict, stateChanges, wrote };
}

/**
 * Runs `fn` in a transaction, begun by `begin` (default: BEGIN): committed if `keep(value)` (default: always), else
 * rolled back.
 */
async function inTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>, keep: (value: T) => boolean = () => true, begin?: () => Promise<void>): Promise<T> {
  if (!begin) await client.query('BEGIN');
  try {
    if (begin) await begin();
    const value = await fn();
    await client.query(keep(value) ? 'COMMIT' : 'ROLLBACK');
    return value;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Applies a plan made by `planSync`: one transaction under the sync lock, after checking the Fernet key against an
 * existing encrypted row; on any error nothing is written.
 * A plan with nothing to write sends no statement at all. Prefer `syncAirflowDb`, which also reads and plans under
 * the lock, so that a sync running at the same time cannot make the plan stale.
 */
export async function applySyncPlan(client: pg.ClientBase, plan: SyncPlan, options: ApplyOptions): Promise<ApplyResult> {
  if (!plan.hasWrites) return resultOf(plan, 0, false);
  const attempt = (bulk: boolean) =>
    inTransaction(
      client,
      async () => {
        await verifyFernetKey(client, options.keys, { info: options.info });
        await options.beforeWrite?.(plan);
        return writePlan(client, plan, options.info, options.keys, { bulk });
      },
      undefined,
      () => acquireSyncLock(client, options, true),
    );
  try {
    return await attempt(true);
  } catch (err) {
    // A row the plan took for new exists now: write this plan's rows as upserts instead (its caller accepted a plan
    // made outside the lock).
    if (err instanceof CopyConflictError) return attempt(false);
    throw err;
  }
}

export interface SyncOptions extends LockOptions, Omit<PlanOptions, 'fields'> {
  keys: FernetKeys | null;
  /** Detected if not given. */
  info?: AirflowSchemaInfo;
  /** `[database] sql_alchemy_schema`, when `info` is not given. */
  schema?: string;
  /** Plan only: read and plan under the lock, write nothing. */
  dryRun?: boolean;
  /** Called inside the transaction with the plan, just before the first write (not for a dry run). */
  beforeWrite?: (plan: SyncPlan) => void | Promise<void>;
}

export interface SyncOutcome {
  info: AirflowSchemaInfo;
  plan: SyncPlan;
  result: ApplyResult;
  /** What the Fernet key was checked against (null: nothing encrypted in the database yet). */
  keyCheckedAgainst: string | null;
}

/**
 * Which rows the sync need not decrypt: rows nothing will look at (neither desired nor, with prune, recorded), and
 * rows still exactly as envmgr wrote them (same stored fingerprint) whose recorded digests were made under today's
 * key and fields (the planner compares those with the desired content's, and names changed fields from them).
 * Everything else is decrypted and compared in full.
 */
export function knownRowsFor(
  desired: readonly DesiredObject[],
  state: SyncState,
  info: AirflowSchemaInfo,
  options: Pick<SyncOptions, 'prune' | 'pruneSources' | 'keys'>,
  /** Collects the keys of the rows skipped (there, but not read): the plan names those envmgr wrote as kept. */
  skipped?: { connection: Set<string>; variable: Set<string> },
): KnownRows {
  const digests = digestsFor(options.keys);
  // Maps per kind keyed by the plain key: this runs for every row of the database. Made at the first row (an empty
  // database has none).
  let wanted: Record<AirflowObjectKind, Map<string, DesiredObject>> | undefined;
  const recordedByKind = stateByKind(state);
  const pruneSources = options.pruneSources ? new Set(options.pruneSources) : undefined;
  const connectionPrefix = digests.currentPrefix('connection', info.has);
  const variablePrefix = digests.currentPrefix('variable', info.has);
  return (kind, key, rowHash) => {
    if (!wanted) {
      wanted = { connection: new Map(), variable: new Map(), pool: new Map() };
      for (const d of desired) wanted[d.kind].set(d.key, d);
    }
    const want = wanted[kind].get(key);
    const recorded = recordedByKind[kind].get(key);
    if (want === undefined) {
      const prunable = options.prune === true && recorded !== undefined && (!pruneSources || pruneSources.has(recorded.source));
      if (!prunable) {
        if (recorded !== undefined) skipped?.[kind].add(key);
        return 'skip';
      }
    }
    // The very row version envmgr wrote, recorded with digests comparable with today's: its content is known.
    if (recorded && recorded.rowHash === rowHash && recorded.hash.startsWith(kind === 'connection' ? connectionPrefix : variablePrefix)) return recorded.hash;
    return undefined;
  };
}

/** The desired objects the sync state has a record of. */
function recordedOf(desired: readonly DesiredObject[], state: SyncState): DesiredObject[] {
  if (state.size === 0) return [];
  const recorded = stateByKind(state);
  return desired.filter((d) => recorded[d.kind].has(d.key));
}

/** The row versions the sync state records for a kind: xmin → the keys recorded with it (see RecordedVersions). */
export function recordedVersions(state: SyncState, kind: 'connection' | 'variable'): RecordedVersions {
  const out = new Map<string, string[]>();
  for (const entry of stateByKind(state)[kind].values()) {
    const xmin = xminOf(entry.rowHash);
    if (xmin === null) continue;
    const keys = out.get(xmin);
    if (keys) keys.push(entry.key);
    else out.set(xmin, [entry.key]);
  }
  return out;
}

/**
 * The whole sync in one transaction: lock, check the Fernet key against an existing encrypted row, read and
 * decrypt the database and envmgr's sync state, plan, and (unless dry-run) write. A transaction that writes nothing
 * is rolled back and leaves every row untouched (it only takes a transaction id to create envmgr's table, undone).
 * `desired` may be a promise (objects still being fetched): everything that does not need them runs meanwhile.
 */
export async function syncAirflowDb(
  client: pg.ClientBase,
  desired: readonly DesiredObject[] | PromiseLike<readonly DesiredObject[]>,
  options: SyncOptions,
): Promise<SyncOutcome> {
  // Desired objects still on their way (a fetch) are awaited inside the transaction, after the lock, the key check
  // and the sync state: that part overlaps the fetch. A failure of theirs rolls everything back like any other.
  const wanted = Promise.resolve(desired);
  wanted.catch(() => undefined); // awaited below; this only keeps an early database error from leaving it unhandled
  // What earlier syncs of this process remembered of objects (their digests) is not trusted: an object may have been
  // changed in place since.
  forgetDesiredContents();
  try {
    return await syncOnce(client, wanted, options, true);
  } catch (err) {
    // A row the plan took for new was inserted meanwhile (by Airflow: other syncs wait for the lock). Everything was
    // rolled back; read and plan again, so that the row is compared like any other (a conflict unless overwriting),
    // this time without the bulk load so that a second race cannot loop.
    if (err instanceof CopyConflictError) return syncOnce(client, wanted, options, false);
    throw err;
  }
}

/**
 * What a sync reads first: the schema (unless given), the Fernet key checked against an existing encrypted value,
 * and envmgr's table and state. A schema detected here comes with whether envmgr's table is there; the key check,
 * alembic_version and the state document then take one simple query of up to three statements.
 */
async function openSync(client: pg.ClientBase, options: SyncOptions): Promise<{ info: AirflowSchemaInfo; check: KeyCheck; stateTable: SyncStateTable; state: SyncState }> {
  if (options.info) {
    const info = options.info;
    const check = await verifyFernetKey(client, options.keys, { info });
    const stateTable = await syncStateTableStatus(client, info);
    return { info, check, stateTable, state: await readSyncState(client, info, stateTable) };
  }
  const catalog = await readSchemaCatalog(client, options.schema ? { schema: options.schema } : {});
  const readsState = catalog.syncStateTable === 'current';
  const statements = [keyCheckQuery(catalog), catalog.revisionQuery, readsState ? syncStateQuery(catalog) : null].filter((q): q is string => q !== null);
  const answer = (await client.query(statements.join(';\n'))) as unknown as pg.QueryResult | pg.QueryResult[];
  const results = Array.isArray(answer) ? answer : [answer];
  if (results.length !== statements.length) throw new Error(`expected ${statements.length} results from Postgres, got ${results.length}`);
  const check = keyCheckOf(results[0]!.rows, options.keys);
  const info = schemaInfoOf(catalog, catalog.revisionQuery ? results[1]!.rows : null);
  const state = readsState ? syncStateOfRows(results[results.length - 1]!.rows, info) : await readSyncState(client, info, catalog.syncStateTable);
  return { info, check, stateTable: catalog.syncStateTable, state };
}

async function syncOnce(client: pg.ClientBase, wanted: Promise<readonly DesiredObject[]>, options: SyncOptions, bulk: boolean): Promise<SyncOutcome> {
  return inTransaction(client, async () => {
    const { info, check, stateTable, state } = await openSync(client, options);
    // envmgr's table is made ready now rather than at the first write, so that it too overlaps a fetch; a transaction
    // that ends up writing nothing is rolled back, table and all.
    const ready = stateTable !== 'current' && !options.dryRun ? await ensureSyncStateTable(client, info, stateTable) : stateTable;
    const desired = await wanted;
    const skipped = { connection: new Set<string>(), variable: new Set<string>() };
    const current = await readAirflowObjects(client, info, options.keys, {
      known: knownRowsFor(desired, state, info, options, skipped),
      recordedConnections: recordedVersions(state, 'connection'),
      unordered: true,
      keyVerified: check.checked !== null,
      // The plan compares the content of every desired object that has a row; those envmgr recorded most likely do.
      // Their digests are made (and remembered per object) while Postgres checks the row versions.
      whileWaiting: () => desiredContents(recordedOf(desired, state), info.has, digestsFor(options.keys)),
    });
    const plan = planSync(desired, current, state, {
      keys: options.keys,
      ...(options.overwrite !== undefined ? { overwrite: options.overwrite } : {}),
      ...(options.prune !== undefined ? { prune: options.prune } : {}),
      ...(options.pruneSources ? { pruneSources: options.pruneSources } : {}),
      fields: info.has,
      skippedRows: skipped,
    });
    let result: ApplyResult;
    if (!plan.hasWrites) result = resultOf(plan, 0, false);
    else if (options.dryRun) result = { ...resultOf(plan, 0, false), created: 0, updated: 0, deleted: 0 };
    else {
      await options.beforeWrite?.(plan);
      result = await writePlan(client, plan, info, options.keys, { bulk, stateTable: ready, state });
    }
    return { info, plan, result, keyCheckedAgainst: check.checked };
  }, (outcome) => outcome.result.wrote, () => acquireSyncLock(client, options, true));
}
