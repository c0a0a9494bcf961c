import type { AirflowConnection, AirflowObjectKind, AirflowPool, AirflowVariable } from '../airflow/model.js';
import type { FernetKeys } from '../airflow/fernet.js';
import { digestsFor, type ContentDigests } from './digests.js';
import type { AirflowDbState, DbConnection } from './read.js';
import {
  canonicalConnection,
  canonicalPool,
  canonicalVariable,
  canonicalText,
  connectionCanonicalText,
  type FieldSupport,
  type StateUpsert,
  type SyncState,
  type SyncStateEntry,
} from './sync-state.js';

/**
 * The sync planner: desired objects + what the database holds + what envmgr wrote before → one action per object.
 * Pure: it reads nothing and writes nothing. The plan's enumerable content holds names and field names only, never
 * values, so that it can be printed or serialized as JSON; the values to write travel beside it, out of sight
 * (see `planWrites`).
 */

export type DesiredObject =
  | { kind: 'connection'; key: string; source: string; object: AirflowConnection }
  | { kind: 'variable'; key: string; source: string; object: AirflowVariable }
  | { kind: 'pool'; key: string; source: string; object: AirflowPool };

export type PlanAction = 'create' | 'update' | 'unchanged' | 'conflict' | 'delete';

/**
 * `unmanaged`: a row envmgr did not write. `modified`: a row envmgr wrote whose content changed since.
 */
export type ConflictReason = 'unmanaged' | 'modified';

export interface PlanEntry {
  readonly kind: AirflowObjectKind;
  readonly key: string;
  /** The desired object's source, or for `delete` the source envmgr recorded when it wrote the row. */
  readonly source: string;
  readonly action: PlanAction;
  /** For `update`, and for a `conflict` that would change a row: the fields that differ (names only). */
  readonly changedFields?: readonly string[];
  /** Why a row is in conflict; on an `update`/`delete` it means the conflict is overwritten (`overwrite`). */
  readonly conflict?: ConflictReason;
  /**
   * A sentence for the report, without values: for a `conflict`, why the row conflicts (what becomes of it is the
   * command's to say: its options differ); for an overwritten conflict, what the overwrite did.
   */
  readonly note?: string;
}

export interface PlanOptions {
  /** Overwrite (or, with prune, delete) conflicting rows instead of leaving them. */
  overwrite?: boolean;
  /** Delete rows envmgr wrote whose source no longer has them. */
  prune?: boolean;
  /** With prune: only rows recorded from these sources (e.g. the sources fully fetched this run). Default: any. */
  pruneSources?: readonly string[];
  /** Rows there that the reader did not read (nothing looks at them): they count as present for `kept`. */
  skippedRows?: { readonly connection: ReadonlySet<string>; readonly variable: ReadonlySet<string> };
  /** Columns the target schema has (from AirflowSchemaInfo.has); fields it lacks are not compared. Default: all. */
  fields?: FieldSupport;
  /**
   * The Fernet key(s) the sync writes with: the sync state's digests are keyed with it (digests.ts), so a plan must
   * be made with the key of the database's rows. Default: none (Airflow without a Fernet key).
   */
  keys?: FernetKeys | null;
}

export type PlanCounts = Record<PlanAction, number>;

export interface SyncPlan {
  readonly entries: readonly PlanEntry[];
  readonly counts: PlanCounts;
  /**
   * Rows envmgr wrote that no desired object names and this plan does not delete (no --prune, or their source is
   * not pruned on this run): another deployment's objects, or ones deleted at their source. The report says so.
   */
  readonly kept?: ReadonlyArray<{ readonly kind: AirflowObjectKind; readonly key: string; readonly source: string }>;
  /** Whether applying writes anything (rows or envmgr's sync state). */
  readonly hasWrites: boolean;
}

/**
 * Rows of one table to write. `upsert` holds every row to write, in the plan's order; of those, `created` had no row
 * when the plan was made (apply may bulk-load them with COPY, and falls back to the upsert if one appeared
 * meanwhile) and `existing` had one.
 */
export interface TableWrites<T> {
  upsert: T[];
  created: T[];
  existing: T[];
  delete: string[];
}

/** What apply writes; kept out of the plan's printable content because it holds secrets. */
export interface PlanWrites {
  readonly connections: TableWrites<AirflowConnection>;
  readonly variables: TableWrites<AirflowVariable>;
  readonly pools: TableWrites<AirflowPool>;
  readonly state: { upsert: StateUpsert[]; delete: Array<{ kind: AirflowObjectKind; key: string }> };
  /** How the plan digests content, for the digests it leaves to apply (see fillStateHashes). */
  readonly digests: ContentDigests;
  readonly fields: FieldSupport;
}

const writesOf = new WeakMap<SyncPlan, PlanWrites>();

/** The writes behind a plan made by `planSync` (undefined for any other object, e.g. a copy). */
export function planWrites(plan: SyncPlan): PlanWrites | undefined {
  return writesOf.get(plan);
}

/** Default pool cannot be deleted in Airflow (`Pool.DEFAULT_POOL_NAME`). */
const UNDELETABLE_POOL = 'default_pool';

function changed(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return Object.keys(a).filter((k) => a[k] !== b[k]);
}

type Canonical = Record<string, unknown>;

function canonicalOf(kind: AirflowObjectKind, obj: unknown, fields: FieldSupport): Canonical {
  switch (kind) {
    case 'connection':
      return canonicalConnection(obj as AirflowConnection, fields);
    case 'variable':
      return canonicalVariable(obj as AirflowVariable, fields);
    case 'pool':
      return canonicalPool(obj as AirflowPool, fields);
  }
}

function currentOf(state: AirflowDbState, kind: AirflowObjectKind, key: string): unknown {
  return kind === 'connection' ? state.connections.get(key) : kind === 'variable' ? state.variables.get(key) : state.pools.get(key);
}

interface Content {
  fields: FieldSupport;
  digests: ContentDigests;
  /** The canonical text, made when a row is compared in full (a connection's digest does not need it). */
  text?: string;
  hash: string;
}

let contentCache = new WeakMap<DesiredObject, Content>();

/** Forgets the contents remembered (a sync starts so: its caller may have changed an object since the last one). */
export function forgetDesiredContents(): void {
  contentCache = new WeakMap();
}

/** The canonical text of a desired object (connections in one step: a sync does this for every object). */
function desiredText(d: DesiredObject, fields: FieldSupport): string {
  return d.kind === 'connection' ? connectionCanonicalText(d.object, fields) : canonicalText(canonicalOf(d.kind, d.object, fields));
}

/**
 * The digest (as recorded in the sync state) of each desired object, per kind in one batch, with the canonical text
 * of variables and pools (which their digest is made from); remembered per object unless `remember` is false.
 */
export function desiredContents(ds: readonly DesiredObject[], fields: FieldSupport, digests: ContentDigests, remember = true): Content[] {
  const out = new Array<Content>(ds.length);
  const missing: Record<AirflowObjectKind, number[]> = { connection: [], variable: [], pool: [] };
  ds.forEach((d, i) => {
    const cached = contentCache.get(d);
    if (cached && cached.fields === fields && cached.digests === digests) out[i] = cached;
    else missing[d.kind].push(i);
  });
  for (const kind of ['connection', 'variable', 'pool'] as const) {
    const at = missing[kind];
    if (at.length === 0) continue;
    // Connections (the many) are digested from the text they are stored as, not from a canonical text.
    const texts = kind === 'connection' ? null : at.map((i) => desiredText(ds[i]!, fields));
    const hashes = texts
      ? digests.many(kind, fields, texts, at.map((i) => ds[i]!.key))
      : digests.connections(at.map((i) => ds[i]!.object as AirflowConnection), fields);
    at.forEach((i, j) => {
      const content: Content = texts ? { fields, digests, text: texts[j]!, hash: hashes[j]! } : { fields, digests, hash: hashes[j]! };
      if (remember) contentCache.set(ds[i]!, content);
      out[i] = content;
    });
  }
  return out;
}

const byKind = new WeakMap<SyncState, Record<AirflowObjectKind, Map<string, SyncStateEntry>>>();

/** The sync state as one map per kind, keyed by the plain key (built once per state: a sync looks twice). */
export function stateByKind(state: SyncState): Record<AirflowObjectKind, Map<string, SyncStateEntry>> {
  let out = byKind.get(state);
  if (!out) {
    out = { connection: new Map<string, SyncStateEntry>(), variable: new Map<string, SyncStateEntry>(), pool: new Map<string, SyncStateEntry>() };
    for (const entry of state.values()) out[entry.kind].set(entry.key, entry);
    byKind.set(state, out);
  }
  return out;
}

function addRow<T>(table: TableWrites<T>, row: T, created: boolean): void {
  table.upsert.push(row);
  (created ? table.created : table.existing).push(row);
}

/**
 * Fills in the content digests a plan left for apply to compute (those of new rows), per kind in one batch. Not
 * remembered: they are needed once, and keeping thousands of canonical texts alive only makes garbage collection
 * slower.
 */
export function fillStateHashes(entries: readonly StateUpsert[], fields: FieldSupport, digests: ContentDigests): void {
  const open = entries.filter((u) => u.hash === null);
  const objects = open.map((u) => {
    const d = u.desired as DesiredObject | undefined;
    if (!d) throw new Error(`no content digest for ${u.kind} '${u.key}'`);
    return d;
  });
  desiredContents(objects, fields, digests, false).forEach((c, i) => (open[i]!.hash = c.hash));
}

/**
 * Whether a row is envmgr's own and unchanged since it wrote it: read as known (its recorded digests stand in for it),
 * the very row version envmgr recorded, or (after Airflow re-encrypted it, say) the content recorded.
 */
function isOwnRow(recorded: SyncStateEntry, cur: unknown, fields: FieldSupport, digests: ContentDigests, text: () => string): boolean {
  const row = cur as { contentHash?: string; rowHash?: string };
  if (row.contentHash !== undefined) return true;
  if (recorded.rowHash !== null && recorded.rowHash === row.rowHash) return true;
  return digests.matches(recorded.kind, fields, recorded.hash, recorded.key, text, recorded.kind === 'connection' ? (cur as DbConnection) : undefined);
}

const KIND_ORDER: Record<AirflowObjectKind, number> = { connection: 0, variable: 1, pool: 2 };

export function planSync(
  desired: readonly DesiredObject[],
  current: AirflowDbState,
  state: SyncState,
  options: PlanOptions = {},
): SyncPlan {
  const fields = options.fields ?? { connectionDescription: true, variableDescription: true, poolDescription: true, includeDeferred: true };
  const entries: PlanEntry[] = [];
  const writes: PlanWrites = {
    connections: { upsert: [], created: [], existing: [], delete: [] },
    variables: { upsert: [], created: [], existing: [], delete: [] },
    pools: { upsert: [], created: [], existing: [], delete: [] },
    state: { upsert: [], delete: [] },
    digests: digestsFor(options.keys ?? null),
    fields,
  };
  const remove = (kind: AirflowObjectKind, key: string) => {
    (kind === 'connection' ? writes.connections : kind === 'variable' ? writes.variables : writes.pools).delete.push(key);
  };

  // Per-kind maps keyed by the plain key: building `stateKey` strings for every lookup costs more than the rest.
  const seen = { connection: new Set<string>(), variable: new Set<string>(), pool: new Set<string>() };
  // Sources usually come in order (kind, then key, as the plan lists them): while each object comes strictly after
  // the one before, no key can repeat and no set of the keys seen is needed. The sets are filled from the first
  // object out of order (or for prune, which asks them).
  let ordered = true;
  let fillSeen = (upTo: number) => {
    for (let j = 0; j < upTo; j++) seen[desired[j]!.kind].add(desired[j]!.key);
    fillSeen = () => undefined;
  };
  const recordedByKind = stateByKind(state);
  // Desired objects envmgr has a record of: fewer than the records means some recorded rows are not desired.
  let matched = 0;
  const { digests } = writes;
  // The content of every desired object that has a row to compare with, digested in one batch per kind.
  const existing = desired.filter((d) => currentOf(current, d.kind, d.key) !== undefined);
  const contents = new Map<DesiredObject, Content>();
  desiredContents(existing, fields, digests).forEach((c, i) => contents.set(existing[i]!, c));
  for (let i = 0; i < desired.length; i++) {
    const d = desired[i]!;
    if (ordered && i > 0) {
      const prev = desired[i - 1]!;
      if (prev.kind === d.kind ? !(prev.key < d.key) : KIND_ORDER[prev.kind] > KIND_ORDER[d.kind]) {
        ordered = false;
        fillSeen(i);
      }
    }
    if (!ordered) {
      const seenOfKind = seen[d.kind];
      const seenBefore = seenOfKind.size;
      if (seenOfKind.add(d.key).size === seenBefore) throw new Error(`${d.kind} '${d.key}' is desired twice; merge the sources before planning`);
    }
    const keyField = d.kind === 'connection' ? (d.object as AirflowConnection).conn_id : d.kind === 'variable' ? (d.object as AirflowVariable).key : (d.object as AirflowPool).name;
    if (keyField !== d.key) throw new Error(`${d.kind} '${d.key}' carries an object named '${keyField}'`);

    const recorded = recordedByKind[d.kind].get(d.key);
    if (recorded !== undefined) matched++;
    const cur = currentOf(current, d.kind, d.key);
    // This loop runs for every object of every sync: plain literals, no per-object closures.
    let entry: PlanEntry;
    let write: boolean;
    let remember: boolean;
    let rowHashOf: string | null = null;
    // A new row's content hash is computed only when apply records it (while Postgres ingests the rows before it).
    let wantHash: string | null = null;
    if (cur === undefined) {
      entry = { kind: d.kind, key: d.key, source: d.source, action: 'create' };
      write = remember = true;
    } else {
      const content = contents.get(d)!;
      wantHash = content.hash;
      const known = (cur as { contentHash?: string }).contentHash;
      const rowHash = (cur as { rowHash?: string }).rowHash;
      let same: boolean;
      let changedFields: string[] | undefined;
      let owned: boolean;
      if (known !== undefined) {
        // A row still exactly as envmgr wrote it (not decrypted): its digest is the recorded one.
        same = known === wantHash;
        owned = true;
        if (!same) changedFields = digests.changedFields(d.kind, fields, wantHash, known);
      } else {
        const haveText = d.kind === 'connection' ? connectionCanonicalText(cur as DbConnection, fields) : canonicalText(canonicalOf(d.kind, cur, fields));
        same = haveText === (content.text ??= desiredText(d, fields));
        owned = recorded !== undefined && isOwnRow(recorded, cur, fields, digests, () => haveText);
        // Only a row that differs needs the desired content as fields, to name what changed.
        if (!same) changedFields = changed(canonicalOf(d.kind, d.object, fields), canonicalOf(d.kind, cur, fields));
      }
      const inClear = (cur as { inClear?: boolean }).inClear === true;
      if (same && inClear && owned) {
        // The content is as desired but stored unencrypted although the database now has a key (written before it
        // had one): written again, encrypted, as a change of its encryption alone.
        entry = { kind: d.kind, key: d.key, source: d.source, action: 'update', changedFields: ['encryption'] };
        write = remember = true;
      } else if (same) {
        entry = { kind: d.kind, key: d.key, source: d.source, action: 'unchanged' };
        write = false;
        // Adopt an identical row (or note a new source label) so that later changes at the source are plain updates.
        remember = !recorded || recorded.hash !== wantHash || recorded.source !== d.source;
        rowHashOf = rowHash ?? null;
      } else if (owned) {
        entry = { kind: d.kind, key: d.key, source: d.source, action: 'update', changedFields: changedFields! };
        write = remember = true;
      } else {
        const conflict: ConflictReason = recorded ? 'modified' : 'unmanaged';
        const why = conflict === 'unmanaged' ? 'a local row envmgr did not write' : 'changed locally since envmgr wrote it';
        write = remember = options.overwrite === true;
        entry = write
          ? { kind: d.kind, key: d.key, source: d.source, action: 'update', changedFields: changedFields!, conflict, note: `${why}; overwritten` }
          : { kind: d.kind, key: d.key, source: d.source, action: 'conflict', changedFields: changedFields!, conflict, note: why };
      }
    }
    entries.push(entry);
    const created = cur === undefined;
    if (write) {
      if (d.kind === 'connection') addRow(writes.connections, d.object, created);
      else if (d.kind === 'variable') addRow(writes.variables, d.object, created);
      else addRow(writes.pools, d.object, created);
    }
    if (remember) {
      writes.state.upsert.push({
        kind: d.kind, key: d.key, source: d.source, hash: wantHash, rowHash: rowHashOf, recorded: recorded !== undefined,
        desired: wantHash === null ? d : undefined, written: write || undefined,
      });
    }
  }

  const planned = entries.length;
  if (options.prune) {
    if (ordered) fillSeen(desired.length);
    const sources = options.pruneSources ? new Set(options.pruneSources) : undefined;
    for (const rec of state.values()) {
      if (seen[rec.kind].has(rec.key)) continue;
      if (sources && !sources.has(rec.source)) continue;
      const cur = currentOf(current, rec.kind, rec.key);
      const base = { kind: rec.kind, key: rec.key, source: rec.source };
      if (cur === undefined) {
        // Already gone from the database: only envmgr's record remains.
        writes.state.delete.push({ kind: rec.kind, key: rec.key });
        continue;
      }
      if (rec.kind === 'pool' && rec.key === UNDELETABLE_POOL) {
        writes.state.delete.push({ kind: rec.kind, key: rec.key });
        entries.push({ ...base, action: 'unchanged', note: 'Airflow cannot delete default_pool; envmgr stops managing it' });
        continue;
      }
      const owned = isOwnRow(rec, cur, fields, digests, () => canonicalText(canonicalOf(rec.kind, cur, fields)));
      if (owned || options.overwrite) {
        const overwritten = !owned;
        entries.push({
          ...base,
          action: 'delete',
          ...(overwritten ? { conflict: 'modified' as const, note: 'changed locally since envmgr wrote it; deleted' } : {}),
        });
        remove(rec.kind, rec.key);
        writes.state.delete.push({ kind: rec.kind, key: rec.key });
      } else {
        entries.push({ ...base, action: 'conflict', conflict: 'modified', note: 'no longer in its source, but changed locally since envmgr wrote it' });
      }
    }
  }

  const kept: Array<{ kind: AirflowObjectKind; key: string; source: string }> = [];
  if (matched < state.size) {
    if (ordered) fillSeen(desired.length);
    const sources = options.pruneSources ? new Set(options.pruneSources) : undefined;
    for (const rec of state.values()) {
      if (seen[rec.kind].has(rec.key)) continue;
      if (options.prune && (!sources || sources.has(rec.source))) continue;
      const present = currentOf(current, rec.kind, rec.key) !== undefined || (rec.kind !== 'pool' && options.skippedRows?.[rec.kind].has(rec.key) === true);
      if (present) kept.push({ kind: rec.kind, key: rec.key, source: rec.source });
    }
  }

  const order = (a: PlanEntry, b: PlanEntry) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  // Sources usually arrive sorted already (then so are the entries planned for them); checking is cheaper than sorting.
  if ((!ordered || entries.length > planned) && entries.some((e, i) => i > 0 && order(entries[i - 1]!, e) > 0)) entries.sort(order);
  const counts: PlanCounts = { create: 0, update: 0, unchanged: 0, conflict: 0, delete: 0 };
  for (const e of entries) counts[e.action]++;
  const hasWrites =
    writes.connections.upsert.length + writes.connections.delete.length + writes.variables.upsert.length + writes.variables.delete.length +
      writes.pools.upsert.length + writes.pools.delete.length + writes.state.upsert.length + writes.state.delete.length > 0;
  const plan: SyncPlan = { entries, counts, hasWrites, ...(kept.length > 0 ? { kept } : {}) };
  writesOf.set(plan, writes);
  return plan;
}
