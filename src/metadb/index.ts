// The local Airflow metadata database: connect, detect the schema, read (decrypting), plan a sync, apply it.
//
// A sync (`dev start`, `object import`):
//   const client = await waitForAirflowDb(parseAirflowDbUrl(url, { schema }), { timeoutMs, onProgress });
//   const info = await detectAirflowSchema(client);            // info.label: "Airflow 3.1.0 (revision cc92b33c6709)"
//   const { plan, result } = await syncAirflowDb(client, desired, { keys, info, overwrite, prune, pruneSources,
//                                                               dryRun, lockTimeoutMs, onLockWait, beforeWrite });
//   // Writes: COPY for new rows, upserts through a temporary table, the sync state in the same transaction.
//   // plan.entries: kind, key, source, action, changedFields, conflict, note (never a value); plan.counts
// An export: readAirflowObjects(client, info, keys) -> decrypted connections / variables / pools.
// `keys` is a FernetKeys from parseFernetKeys(spec, sourceLabel), or null for plaintext (Airflow without a key).
export {
  AirflowDbError,
  parseAirflowDbUrl,
  connectAirflowDb,
  waitForAirflowDb,
  type AirflowDbTarget,
  type TargetOptions,
  type WaitOptions,
} from './connect.js';
export {
  detectAirflowSchema,
  uriVariantForVersion,
  AIRFLOW_REVISIONS,
  SYNC_STATE_TABLE,
  type AirflowSchemaInfo,
  type UriVariant,
} from './schema.js';
export {
  readAirflowObjects,
  readConnections,
  readVariables,
  readPools,
  verifyFernetKey,
  FernetMismatchError,
  type AirflowDbState,
  type DbConnection,
  type DbVariable,
  type DbPool,
  type KeyCheck,
  type ReadOptions,
  type KnownRows,
} from './read.js';
export {
  readSyncState,
  canonicalConnection,
  canonicalVariable,
  canonicalPool,
  contentDigest,
  stateKey,
  type SyncState,
  type SyncStateEntry,
  type FieldSupport,
} from './sync-state.js';
export {
  planSync,
  type DesiredObject,
  type PlanAction,
  type PlanEntry,
  type PlanOptions,
  type PlanCounts,
  type SyncPlan,
  type ConflictReason,
} from './plan.js';
export {
  applySyncPlan,
  syncAirflowDb,
  acquireSyncLock,
  SYNC_LOCK_KEY,
  type ApplyOptions,
  type ApplyResult,
  type LockOptions,
  type SyncOptions,
  type SyncOutcome,
} from './apply.js';
export { loadSchemaFixture, schemaFixturePath, AIRFLOW_SCHEMA_VERSIONS, type AirflowSchemaVersion } from './fixtures.js';
