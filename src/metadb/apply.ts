import type pg from 'pg';
import type { FernetKeys } from '../airflow/fernet.js';
import type { AirflowConnection, AirflowObjectKind, AirflowPool, AirflowVariable } from '../airflow/model.js';
import { pythonJsonDumps } from '../airflow/pyjson.js';
import { AirflowDbError } from './connect.js';
import { fernetEncryptMany } from './fernet-batch.js';
import { desiredContent, planSync, planWrites, type DesiredObject, type PlanOptions, type SyncPlan } from './plan.js';
import { readAirflowObjects, verifyFernetKey, type KnownRows } from './read.js';
import { detectAirflowSchema, type AirflowSchemaInfo } from './schema.js';
import {
  connectionRowHash,
  ensureSyncStateTable,
  poolRowHash,
  readSyncState,
  stateKey,
  syncStateStatements,
  variableRowHash,
  type SyncState,
} from './sync-state.js';

/**
 * Writing a plan: one transaction under an advisory lock, one statement per table and operation (arrays through
 * `unnest`), every column set explicitly because Airflow's tables have no server defaults, values encrypted exactly
 * as Airflow's models encrypt them (FACTS.md §2).
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

/** Takes the sync lock inside the current transaction, waiting (and saying so) if another sync holds it. */
export async function acquireSyncLock(client: pg.ClientBase, options: LockOptions = {}): Promise<void> {
  const timeoutMs = Math.max(1, Math.round(options.lockTimeoutMs ?? 60_000));
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [SYNC_LOCK_KEY.toString()]);
  if (rows[0]?.ok) return;
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

/** Replaces every non-null value of a column by its Fernet token, in one batch. */
function encryptInPlace(values: Array<string | null>, keys: FernetKeys): void {
  const at: number[] = [];
  const plain: string[] = [];
  values.forEach((v, i) => {
    if (v !== null) {
      at.push(i);
      plain.push(v);
    }
  });
  fernetEncryptMany(keys, plain).forEach((token, j) => (values[at[j]!] = token));
}

interface Statement {
  text: string;
  values: unknown[];
}

type Column = [name: string, type: string, values: unknown[]];

/** Rows per connection statement: small enough that encrypting the next batch overlaps Postgres inserting this one. */
const CONNECTION_BATCH = 2500;

/** A statement and, per row, the fingerprint of the row as it will be stored (recorded in the sync state). */
interface RowsStatement extends Statement {
  rowHashes: string[];
}

function connectionStatement(info: AirflowSchemaInfo, keys: FernetKeys | null, rows: readonly AirflowConnection[]): RowsStatement {
  const n = rows.length;
  const conn_id = new Array<string>(n), conn_type = new Array<string>(n), description = new Array<string | null>(n);
  const host = new Array<string | null>(n), schema = new Array<string | null>(n), login = new Array<string | null>(n);
  const password = new Array<string | null>(n), port = new Array<number | null>(n), extra = new Array<string | null>(n);
  const isEncrypted = new Array<boolean>(n), isExtraEncrypted = new Array<boolean>(n);
  rows.forEach((c, i) => {
    // Connection.set_password / set_extra: only a non-empty value is stored (and encrypted); '' or None stays NULL.
    const pw = c.password ? c.password : null;
    const extraText = c.extra && Object.keys(c.extra).length > 0 ? pythonJsonDumps(c.extra) : null;
    conn_id[i] = c.conn_id;
    conn_type[i] = c.conn_type;
    description[i] = c.description ?? null;
    host[i] = c.host ?? null;
    schema[i] = c.schema ?? null;
    login[i] = c.login ?? null;
    password[i] = pw;
    port[i] = c.port ?? null;
    extra[i] = extraText;
    isEncrypted[i] = keys !== null && pw !== null;
    isExtraEncrypted[i] = keys !== null && extraText !== null;
  });
  if (keys) {
    encryptInPlace(password, keys);
    encryptInPlace(extra, keys);
  }
  const withDescription = info.has.connectionDescription;
  const rowHashes = conn_id.map((_, i) =>
    connectionRowHash({
      conn_type: conn_type[i]!, description: withDescription ? description[i]! : null, host: host[i]!, login: login[i]!, password: password[i]!,
      schema: schema[i]!, port: port[i]!, is_encrypted: isEncrypted[i]!, is_extra_encrypted: isExtraEncrypted[i]!, extra: extra[i]!,
    }),
  );
  const statement = upsert(info.tables.connection, 'conn_id', [
    ['conn_id', 'text', conn_id],
    ['conn_type', 'text', conn_type],
    ...(info.has.connectionDescription ? [['description', 'text', description] as Column] : []),
    ['host', 'text', host],
    ['schema', 'text', schema],
    ['login', 'text', login],
    ['password', 'text', password],
    ['port', 'int4', port],
    ['is_encrypted', 'bool', isEncrypted],
    ['is_extra_encrypted', 'bool', isExtraEncrypted],
    ['extra', 'text', extra],
  ]);
  return { ...statement, rowHashes };
}

function variableStatement(info: AirflowSchemaInfo, keys: FernetKeys | null, rows: readonly AirflowVariable[]): RowsStatement {
  // Variable.set_val encrypts any non-None value, '' included.
  const vals = keys ? fernetEncryptMany(keys, rows.map((v) => v.value)) : rows.map((v) => v.value);
  const descriptions = rows.map((v) => v.description ?? null);
  const withDescription = info.has.variableDescription;
  const statement = upsert(info.tables.variable, 'key', [
    ['key', 'text', rows.map((v) => v.key)],
    ['val', 'text', vals],
    ...(withDescription ? [['description', 'text', descriptions] as Column] : []),
    ['is_encrypted', 'bool', rows.map(() => keys !== null)],
  ]);
  return { ...statement, rowHashes: vals.map((val, i) => variableRowHash(val, withDescription ? descriptions[i]! : null, keys !== null)) };
}

function poolStatement(info: AirflowSchemaInfo, rows: readonly AirflowPool[]): RowsStatement {
  const descriptions = rows.map((p) => p.description ?? null);
  const deferred = rows.map((p) => p.include_deferred ?? false);
  const statement = upsert(info.tables.pool, 'pool', [
    ['pool', 'text', rows.map((p) => p.name)],
    ['slots', 'int4', rows.map((p) => p.slots)],
    ...(info.has.poolDescription ? [['description', 'text', descriptions] as Column] : []),
    ...(info.has.includeDeferred ? [['include_deferred', 'bool', deferred] as Column] : []),
  ]);
  const rowHashes = rows.map((p, i) =>
    poolRowHash(p.slots, info.has.poolDescription ? descriptions[i]! : null, info.has.includeDeferred ? deferred[i]! : false),
  );
  return { ...statement, rowHashes };
}

/** `INSERT … SELECT FROM unnest(…) ON CONFLICT (key) DO UPDATE` over every given column (team columns untouched). */
function upsert(table: string, conflictColumn: string, columns: readonly Column[]): Statement {
  const names = columns.map(([name]) => `"${name}"`);
  const arrays = columns.map(([, type], i) => `$${i + 1}::${type}[]`);
  const updates = columns.filter(([name]) => name !== conflictColumn).map(([name]) => `"${name}" = EXCLUDED."${name}"`);
  return {
    text: `INSERT INTO ${table} (${names.join(', ')})
          SELECT * FROM unnest(${arrays.join(', ')})
          ON CONFLICT ("${conflictColumn}") DO UPDATE SET ${updates.join(', ')}`,
    values: columns.map(([, , v]) => v),
  };
}

function deleteStatement(table: string, column: string, keys: readonly string[]): Statement {
  return { text: `DELETE FROM ${table} WHERE "${column}" = ANY($1::text[])`, values: [keys] };
}

/**
 * The writes of a plan, inside a transaction that already holds the sync lock. Statements are queued on the
 * connection without waiting for each other, so that Postgres executes one while the next batch is encrypted; the
 * first failure is the one reported (later statements then fail as "transaction aborted").
 */
async function writePlan(client: pg.ClientBase, plan: SyncPlan, info: AirflowSchemaInfo, keys: FernetKeys | null): Promise<ApplyResult> {
  const writes = planWrites(plan);
  if (!writes) throw new Error('this plan was not made by planSync (or is a copy of one); plan again before applying');
  await ensureSyncStateTable(client, info);
  // Each statement is built (and its values encrypted) while Postgres still runs the previous one; node-postgres
  // takes one query at a time, so the previous one is awaited just before sending.
  let running: Promise<unknown> = Promise.resolve();
  const send = async (statement: Statement) => {
    await running;
    running = client.query(statement.text, statement.values);
    running.catch(() => undefined); // it is awaited before the next statement or at the end
  };
  const written = new Map<string, string>();
  const sendRows = async (kind: AirflowObjectKind, keysOf: readonly string[], statement: RowsStatement) => {
    keysOf.forEach((key, i) => written.set(stateKey(kind, key), statement.rowHashes[i]!));
    await send(statement);
  };
  if (writes.connections.delete.length > 0) await send(deleteStatement(info.tables.connection, 'conn_id', writes.connections.delete));
  if (writes.variables.delete.length > 0) await send(deleteStatement(info.tables.variable, 'key', writes.variables.delete));
  if (writes.pools.delete.length > 0) await send(deleteStatement(info.tables.pool, 'pool', writes.pools.delete));
  if (writes.pools.upsert.length > 0) await sendRows('pool', writes.pools.upsert.map((p) => p.name), poolStatement(info, writes.pools.upsert));
  if (writes.variables.upsert.length > 0) {
    await sendRows('variable', writes.variables.upsert.map((v) => v.key), variableStatement(info, keys, writes.variables.upsert));
  }
  for (let i = 0; i < writes.connections.upsert.length; i += CONNECTION_BATCH) {
    const batch = writes.connections.upsert.slice(i, i + CONNECTION_BATCH);
    await sendRows('connection', batch.map((c) => c.conn_id), connectionStatement(info, keys, batch));
  }
  const upserts = writes.state.upsert.map((u) => (u.rowHash === null ? { ...u, rowHash: written.get(stateKey(u.kind, u.key)) ?? null } : u));
  for (const statement of syncStateStatements(info, upserts, writes.state.delete)) await send(statement);
  await running;
  return resultOf(plan, writes.state.upsert.length + writes.state.delete.length, true);
}

function resultOf(plan: SyncPlan, stateChanges: number, wrote: boolean): ApplyResult {
  const c = plan.counts;
  return { created: c.create, updated: c.update, deleted: c.delete, unchanged: c.unchanged, conflicts: c.conflict, stateChanges, wrote };
}

async function inTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const value = await fn();
    await client.query('COMMIT');
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
  return inTransaction(client, async () => {
    await acquireSyncLock(client, options);
    await verifyFernetKey(client, options.keys, { info: options.info });
    return writePlan(client, plan, options.info, options.keys);
  });
}

export interface SyncOptions extends LockOptions, Omit<PlanOptions, 'fields'> {
  keys: FernetKeys | null;
  /** Detected if not given. */
  info?: AirflowSchemaInfo;
  /** `[database] sql_alchemy_schema`, when `info` is not given. */
  schema?: string;
  /** Plan only: read and plan under the lock, write nothing. */
  dryRun?: boolean;
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
 * rows still exactly as envmgr wrote them (same stored fingerprint) whose recorded content is what is desired or
 * that are only candidates for pruning. Everything else is decrypted and compared in full.
 */
export function knownRowsFor(
  desired: readonly DesiredObject[],
  state: SyncState,
  info: AirflowSchemaInfo,
  options: Pick<SyncOptions, 'prune' | 'pruneSources'>,
): KnownRows {
  const wanted = new Map<string, string>();
  for (const d of desired) wanted.set(stateKey(d.kind, d.key), desiredContent(d, info.has).hash);
  const pruneSources = options.pruneSources ? new Set(options.pruneSources) : undefined;
  return (kind, key, rowHash) => {
    const sk = stateKey(kind, key);
    const want = wanted.get(sk);
    const recorded = state.get(sk);
    if (want === undefined) {
      const prunable = options.prune === true && recorded !== undefined && (!pruneSources || pruneSources.has(recorded.source));
      if (!prunable) return 'skip';
    }
    if (recorded && recorded.rowHash === rowHash && (want === undefined || want === recorded.hash)) return recorded.hash;
    return undefined;
  };
}

/**
 * The whole sync in one transaction: lock, check the Fernet key against an existing encrypted row, read and
 * decrypt the database and envmgr's sync state, plan, and (unless dry-run) write. A transaction that writes nothing
 * takes no transaction id and leaves every row untouched.
 */
export async function syncAirflowDb(client: pg.ClientBase, desired: readonly DesiredObject[], options: SyncOptions): Promise<SyncOutcome> {
  return inTransaction(client, async () => {
    await acquireSyncLock(client, options);
    const info = options.info ?? (await detectAirflowSchema(client, options.schema ? { schema: options.schema } : {}));
    const check = await verifyFernetKey(client, options.keys, { info });
    const state = await readSyncState(client, info);
    const current = await readAirflowObjects(client, info, options.keys, { known: knownRowsFor(desired, state, info, options) });
    const plan = planSync(desired, current, state, {
      ...(options.overwrite !== undefined ? { overwrite: options.overwrite } : {}),
      ...(options.prune !== undefined ? { prune: options.prune } : {}),
      ...(options.pruneSources ? { pruneSources: options.pruneSources } : {}),
      fields: info.has,
    });
    let result: ApplyResult;
    if (!plan.hasWrites) result = resultOf(plan, 0, false);
    else if (options.dryRun) result = { ...resultOf(plan, 0, false), created: 0, updated: 0, deleted: 0 };
    else result = await writePlan(client, plan, info, options.keys);
    return { info, plan, result, keyCheckedAgainst: check.checked };
  });
}
