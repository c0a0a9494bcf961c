import type pg from 'pg';
import { fernetEncrypt, type FernetKeys } from '../airflow/fernet.js';
import type { AirflowConnection, AirflowPool, AirflowVariable } from '../airflow/model.js';
import { pythonJsonDumps } from '../airflow/pyjson.js';
import { AirflowDbError } from './connect.js';
import { planSync, planWrites, type DesiredObject, type PlanOptions, type SyncPlan } from './plan.js';
import { readAirflowObjects, verifyFernetKey } from './read.js';
import { detectAirflowSchema, type AirflowSchemaInfo } from './schema.js';
import { ensureSyncStateTable, readSyncState, writeSyncState } from './sync-state.js';

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

function encrypt(keys: FernetKeys | null, value: string): string {
  return keys ? fernetEncrypt(keys, value) : value;
}

async function upsertConnections(client: pg.ClientBase, info: AirflowSchemaInfo, keys: FernetKeys | null, rows: readonly AirflowConnection[]): Promise<void> {
  if (rows.length === 0) return;
  const col = {
    conn_id: [] as string[], conn_type: [] as string[], description: [] as Array<string | null>, host: [] as Array<string | null>,
    schema: [] as Array<string | null>, login: [] as Array<string | null>, password: [] as Array<string | null>, port: [] as Array<number | null>,
    is_encrypted: [] as boolean[], is_extra_encrypted: [] as boolean[], extra: [] as Array<string | null>,
  };
  for (const c of rows) {
    // Connection.set_password / set_extra: only a non-empty value is stored (and encrypted); '' or None stays NULL.
    const password = c.password ? c.password : null;
    const extraText = c.extra && Object.keys(c.extra).length > 0 ? pythonJsonDumps(c.extra) : null;
    col.conn_id.push(c.conn_id);
    col.conn_type.push(c.conn_type);
    col.description.push(c.description ?? null);
    col.host.push(c.host ?? null);
    col.schema.push(c.schema ?? null);
    col.login.push(c.login ?? null);
    col.password.push(password === null ? null : encrypt(keys, password));
    col.port.push(c.port ?? null);
    col.is_encrypted.push(keys !== null && password !== null);
    col.is_extra_encrypted.push(keys !== null && extraText !== null);
    col.extra.push(extraText === null ? null : encrypt(keys, extraText));
  }
  const columns: Array<[string, string, unknown[]]> = [
    ['conn_id', 'text', col.conn_id],
    ['conn_type', 'text', col.conn_type],
    ...(info.has.connectionDescription ? [['description', 'text', col.description] as [string, string, unknown[]]] : []),
    ['host', 'text', col.host],
    ['schema', 'text', col.schema],
    ['login', 'text', col.login],
    ['password', 'text', col.password],
    ['port', 'int4', col.port],
    ['is_encrypted', 'bool', col.is_encrypted],
    ['is_extra_encrypted', 'bool', col.is_extra_encrypted],
    ['extra', 'text', col.extra],
  ];
  await client.query(upsertSql(info.tables.connection, 'conn_id', columns), columns.map(([, , v]) => v));
}

async function upsertVariables(client: pg.ClientBase, info: AirflowSchemaInfo, keys: FernetKeys | null, rows: readonly AirflowVariable[]): Promise<void> {
  if (rows.length === 0) return;
  const columns: Array<[string, string, unknown[]]> = [
    ['key', 'text', rows.map((v) => v.key)],
    // Variable.set_val encrypts any non-None value, '' included.
    ['val', 'text', rows.map((v) => encrypt(keys, v.value))],
    ...(info.has.variableDescription ? [['description', 'text', rows.map((v) => v.description ?? null)] as [string, string, unknown[]]] : []),
    ['is_encrypted', 'bool', rows.map(() => keys !== null)],
  ];
  await client.query(upsertSql(info.tables.variable, 'key', columns), columns.map(([, , v]) => v));
}

async function upsertPools(client: pg.ClientBase, info: AirflowSchemaInfo, rows: readonly AirflowPool[]): Promise<void> {
  if (rows.length === 0) return;
  const columns: Array<[string, string, unknown[]]> = [
    ['pool', 'text', rows.map((p) => p.name)],
    ['slots', 'int4', rows.map((p) => p.slots)],
    ...(info.has.poolDescription ? [['description', 'text', rows.map((p) => p.description ?? null)] as [string, string, unknown[]]] : []),
    ...(info.has.includeDeferred ? [['include_deferred', 'bool', rows.map((p) => p.include_deferred ?? false)] as [string, string, unknown[]]] : []),
  ];
  await client.query(upsertSql(info.tables.pool, 'pool', columns), columns.map(([, , v]) => v));
}

/** `INSERT … SELECT FROM unnest(…) ON CONFLICT (key) DO UPDATE` over every given column (team columns untouched). */
function upsertSql(table: string, conflictColumn: string, columns: ReadonlyArray<[string, string, unknown[]]>): string {
  const names = columns.map(([name]) => `"${name}"`);
  const arrays = columns.map(([, type], i) => `$${i + 1}::${type}[]`);
  const updates = columns.filter(([name]) => name !== conflictColumn).map(([name]) => `"${name}" = EXCLUDED."${name}"`);
  return `INSERT INTO ${table} (${names.join(', ')})
          SELECT * FROM unnest(${arrays.join(', ')})
          ON CONFLICT ("${conflictColumn}") DO UPDATE SET ${updates.join(', ')}`;
}

async function deleteKeys(client: pg.ClientBase, table: string, column: string, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await client.query(`DELETE FROM ${table} WHERE "${column}" = ANY($1::text[])`, [keys]);
}

/** The writes of a plan, inside a transaction that already holds the sync lock. */
async function writePlan(client: pg.ClientBase, plan: SyncPlan, info: AirflowSchemaInfo, keys: FernetKeys | null): Promise<ApplyResult> {
  const writes = planWrites(plan);
  if (!writes) throw new Error('this plan was not made by planSync (or is a copy of one); plan again before applying');
  await ensureSyncStateTable(client, info);
  await upsertConnections(client, info, keys, writes.connections.upsert);
  await deleteKeys(client, info.tables.connection, 'conn_id', writes.connections.delete);
  await upsertVariables(client, info, keys, writes.variables.upsert);
  await deleteKeys(client, info.tables.variable, 'key', writes.variables.delete);
  await upsertPools(client, info, writes.pools.upsert);
  await deleteKeys(client, info.tables.pool, 'pool', writes.pools.delete);
  await writeSyncState(client, info, writes.state.upsert, writes.state.delete);
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
 * The whole sync in one transaction: lock, check the Fernet key against an existing encrypted row, read and
 * decrypt the database and envmgr's sync state, plan, and (unless dry-run) write. A transaction that writes nothing
 * takes no transaction id and leaves every row untouched.
 */
export async function syncAirflowDb(client: pg.ClientBase, desired: readonly DesiredObject[], options: SyncOptions): Promise<SyncOutcome> {
  return inTransaction(client, async () => {
    await acquireSyncLock(client, options);
    const info = options.info ?? (await detectAirflowSchema(client, options.schema ? { schema: options.schema } : {}));
    const check = await verifyFernetKey(client, options.keys, { info });
    const current = await readAirflowObjects(client, info, options.keys);
    const state = await readSyncState(client, info);
    const plan = planSync(desired, current, state, {
      ...(options.overwrite !== undefined ? { overwrite: options.overwrite } : {}),
      ...(options.prune !== undefined ? { prune: options.prune } : {}),
      ...(options.pruneSources ? { pruneSources: options.pruneSources } : {}),
      fields: info.has,
    });
    const result = plan.hasWrites && !options.dryRun ? await writePlan(client, plan, info, options.keys) : resultOf(plan, 0, false);
    return { info, plan, result, keyCheckedAgainst: check.checked };
  });
}
