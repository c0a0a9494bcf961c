import type { AirflowObjectKind, ValidationProblem } from '../airflow/model.js';
import { formatProblem } from '../airflow/validate.js';
import type { Context } from '../cli/context.js';
import { UserError } from '../cli/errors.js';
import { printTable } from '../cli/table.js';
import type { PlanEntry, SyncPlan } from '../metadb/plan.js';
import { displayPath } from './local.js';
import { ENV_FILE_SOURCE, parseFileSource, REMOTE_SOURCE, SETTINGS_SOURCE, type DesiredObject, type RuntimeShadow, type ShadowedObject } from './sources.js';

export interface ReportRow {
  key: string;
  type: AirflowObjectKind;
  source: string;
  action: PlanEntry['action'];
  fields?: readonly string[];
  note?: string;
}

export interface SyncReport {
  dryRun: boolean;
  rows: ReportRow[];
  counts: Record<PlanEntry['action'], number>;
  shadowed: ShadowedObject[];
  runtimeShadows: RuntimeShadow[];
  invalid: ValidationProblem[];
  database: string;
  schema: string;
  fernetKeySource: string;
  /** Rows envmgr wrote that this run's objects do not name, kept (no --prune, or their source not pruned). */
  kept: Array<{ kind: AirflowObjectKind; key: string; source: string }>;
  /** Whether --prune was given (the kept rows are then those of a source not pruned on this run). */
  prune: boolean;
}

/** plan.kept in the report's words. */
export function keptRows(plan: SyncPlan, cwd: string, ofSources: ReadonlySet<string>): SyncReport['kept'] {
  return (plan.kept ?? []).filter((k) => ofSources.has(k.source)).map((k) => ({ kind: k.kind, key: k.key, source: sourceWords(k.source, cwd) }));
}

/** Joins the plan (keys and actions, never values) with the origins of the desired objects. */
export function reportRows(plan: SyncPlan, desired: readonly DesiredObject[], cwd = process.cwd()): ReportRow[] {
  // Maps per kind keyed by the plain key, rows built field by field: this runs for every object of a sync.
  const origins: Record<AirflowObjectKind, Map<string, string>> = { connection: new Map(), variable: new Map(), pool: new Map() };
  for (const d of desired) origins[d.kind].set(d.key, d.origin);
  const rows = new Array<ReportRow>(plan.entries.length);
  for (let i = 0; i < rows.length; i++) {
    const e = plan.entries[i]!;
    const row: ReportRow = {
      key: e.key,
      type: e.kind,
      // The Environment Manager gives what a deployment (or workspace) gets: a row of another one is "not in" it.
      source: origins[e.kind].get(e.key) ?? (e.action === 'delete'
        ? e.source === REMOTE_SOURCE ? 'not in what the Environment Manager gave this run' : `no longer in ${sourceWords(e.source, cwd)}`
        : sourceWords(e.source, cwd)),
      action: e.action,
    };
    if (e.changedFields && e.changedFields.length > 0) row.fields = e.changedFields;
    if (e.note) row.note = e.note;
    rows[i] = row;
  }
  return rows;
}

const SOURCE_WORDS: ReadonlyMap<string, string> = new Map([
  [SETTINGS_SOURCE, 'the settings file'],
  [REMOTE_SOURCE, 'the Environment Manager'],
  [ENV_FILE_SOURCE, 'an imported .env file'],
]);

/** The sync state's source labels in the report's words (a pruned row has no origin of its own to show). */
function sourceWords(source: string, cwd: string): string {
  const file = parseFileSource(source);
  if (file) return `${file.family === SETTINGS_SOURCE ? 'the settings file' : 'the imported .env file'} ${displayPath(file.path, cwd)}`;
  return SOURCE_WORDS.get(source) ?? source;
}

const ACTION_ORDER: PlanEntry['action'][] = ['create', 'update', 'delete', 'conflict', 'unchanged'];

/** Prints the report: the table and the counts at its end on stdout (or JSON with --json), warnings (always) on stderr. */
export function printSyncReport(ctx: Context, report: SyncReport, conflictHint = 'left as it is (use --overwrite to replace it)'): void {
  const { io } = ctx;
  for (const s of report.shadowed) {
    io.err(`note: ${s.kind} ${s.key} from ${s.hidden} is shadowed by ${s.winner}\n`);
  }
  for (const s of report.runtimeShadows) {
    io.err(`warning: ${s.variable} in ${s.where} will shadow ${s.kind} ${s.key} at runtime (Airflow reads environment variables before the database)\n`);
  }
  // Rows of another deployment, or deleted at their source, stay unless pruned: said, as nothing else shows them.
  const keptBySource = new Map<string, string[]>();
  for (const k of report.kept) {
    let keys = keptBySource.get(k.source);
    if (!keys) keptBySource.set(k.source, (keys = []));
    keys.push(k.key);
  }
  for (const [source, keys] of keptBySource) {
    const shown = keys.slice(0, 8).join(', ') + (keys.length > 8 ? `, and ${keys.length - 8} more` : '');
    const why = source === sourceWords(REMOTE_SOURCE, '') ? "another deployment's or workspace's, or deleted there" : 'removed from it, or invalid there';
    const hint = report.prune ? 'its source is not pruned on this run' : `--prune deletes ${keys.length === 1 ? 'it' : 'them'} if envmgr's write is unchanged`;
    io.err(`note: ${keys.length} row${keys.length === 1 ? '' : 's'} envmgr wrote from ${source} ${keys.length === 1 ? 'is' : 'are'} not among the objects of this run ` +
      `(${why}): ${shown}; kept (${hint})\n`);
  }
  for (const r of report.rows) {
    // The planner's note is the reason; what happens to the row is this command's to say (e.g. --on-conflict skip).
    if (r.action === 'conflict') io.err(`conflict: ${r.type} ${r.key}: ${r.note ?? 'a local row envmgr did not write'}; ${conflictHint}\n`);
  }
  if (ctx.globals.json) {
    io.out(JSON.stringify(report, null, 2) + '\n');
    return;
  }
  if (report.rows.length === 0) io.err('Nothing to sync: no connections, variables or pools in the sources.\n');
  else {
    printTable(io, [
      { header: 'KEY', value: (r: ReportRow) => r.key, truncate: true },
      { header: 'TYPE', value: (r) => r.type },
      { header: 'SOURCE', value: (r) => r.source, truncate: true },
      { header: 'ACTION', value: (r) => (r.fields ? `${r.action} (${r.fields.join(', ')})` : r.action) },
    ], report.rows);
  }
  // A dry run says what a run would do ("1 to create"), not what it did.
  const counts = ACTION_ORDER.filter((a) => report.counts[a] > 0).map((a) => {
    const n = report.counts[a];
    if (a === 'unchanged') return `${n} unchanged`;
    if (a === 'conflict') return `${n} ${n === 1 ? 'conflict' : 'conflicts'}`;
    return report.dryRun ? `${n} to ${a}` : `${n} ${verbPast(a)}`;
  });
  const invalid = report.invalid.length > 0 ? `, ${invalidObjectCount(report.invalid)} invalid ${report.dryRun ? 'to skip' : 'skipped'}` : '';
  // The counts are the result (DESIGN §7 "counts at the end"): on stdout with the table, for a script capturing it.
  io.out(`${report.dryRun ? 'Dry run (nothing written): ' : ''}${counts.join(', ') || 'nothing to do'}${invalid}\n`);
}

/**
 * A sync that stopped: `invalid` holds the problems found in the sources (none when it stopped for another reason,
 * a wrong Fernet key say), and `reported` says whether the report was printed before it stopped (conflicts left,
 * objects skipped with --skip-invalid): then --json has printed its document already.
 */
export class SyncError extends UserError {
  constructor(
    message: string,
    readonly invalid: readonly ValidationProblem[],
    readonly reported = false,
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

/** What `--json` prints when a sync stops before its report: the error, the problems, and that nothing was written. */
export interface SyncFailureReport {
  error: string;
  written: false;
  dryRun: boolean;
  invalid: ValidationProblem[];
}

/**
 * Runs a sync command (dev start, object import) so that with `--json` it prints one JSON document on stdout however
 * it ends: its report, or, when it stops before one (invalid sources, a bad Fernet key, a database that cannot be
 * reached), a SyncFailureReport. The error itself still goes to stderr and sets the exit code, as without --json.
 * Nothing is written before the report: the sync is one transaction, rolled back on any failure.
 */
export async function withJsonFailureReport<T>(ctx: Context, dryRun: boolean, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (ctx.globals.json && !(err instanceof SyncError && err.reported)) {
      const failure: SyncFailureReport = {
        error: err instanceof Error ? err.message : String(err),
        written: false,
        dryRun,
        invalid: err instanceof SyncError ? [...err.invalid] : [],
      };
      // The messages name files, lines, keys and fields, never a value; redact() also drops any registered secret.
      ctx.io.out(ctx.log.redact(JSON.stringify(failure, null, 2)) + '\n');
    }
    throw err;
  }
}

function verbPast(action: 'create' | 'update' | 'delete'): string {
  return action === 'create' ? 'created' : action === 'update' ? 'updated' : 'deleted';
}

/** How many objects the problems are about (an object with two problems is one skipped object). */
export function invalidObjectCount(problems: readonly ValidationProblem[]): number {
  const objects = new Set<string>();
  let others = 0;
  for (const p of problems) {
    if (p.kind && p.key) objects.add(`${p.kind}\0${p.key}`);
    else others++;
  }
  return objects.size + others;
}

/** Every problem on stderr, one per line with file, line, key and field. */
export function printProblems(ctx: Context, problems: readonly ValidationProblem[]): void {
  for (const p of problems) ctx.io.err(`invalid: ${formatProblem(p)} (field ${p.field})\n`);
}
