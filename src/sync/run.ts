import type { ValidationProblem } from '../airflow/model.js';
import { settingsFieldOf } from '../airflow/settings-fields.js';
import { validateConnection, validatePool, validateVariable } from '../airflow/validate.js';
import type { Context } from '../cli/context.js';
import { invalidObjectCount, keptRows, printProblems, printSyncReport, reportRows, SyncError, type SyncReport } from './report.js';
import { ENV_FILE_SOURCE, parseFileSource, SETTINGS_SOURCE, type DesiredObject, type RuntimeShadow, type ShadowedObject } from './sources.js';
import type { OpenTarget } from './target.js';

/** Validates objects that did not come through a file reader (the Environment Manager's), naming their origin. */
export function validateDesired(list: readonly DesiredObject[]): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  for (const d of list) {
    const loc = { file: d.origin };
    if (d.kind === 'connection') problems.push(...validateConnection(d.object, loc));
    else if (d.kind === 'variable') problems.push(...validateVariable(d.object, loc));
    else problems.push(...validatePool(d.object, loc));
  }
  return problems;
}

/**
 * The sources without the objects that hold a value wider than its column in this database (a problem each, with
 * the object's file and line and the field as its source names it): Postgres would refuse the whole transaction.
 */
function withinWidths(sources: SyncSources, target: OpenTarget, widths: typeof import('../metadb/widths.js'), unprunable: Set<string>): SyncSources {
  const found = widths.storedWidthProblems(sources.desired, target.info, target.keys);
  if (found.length === 0) return sources;
  const bad = new Set<number>();
  const problems: ValidationProblem[] = found.map(({ index, field, message }) => {
    bad.add(index);
    const d = sources.desired[index]!;
    // Left out of the objects, it must not look gone from its source: that source is not pruned on this run.
    unprunable.add(d.source);
    const family = parseFileSource(d.source)?.family;
    const named = family === SETTINGS_SOURCE ? settingsFieldOf(field, d.fieldLines) : family === ENV_FILE_SOURCE ? 'value' : field;
    const at = d.location ?? { file: d.origin };
    const line = d.fieldLines?.[named] ?? at.line;
    return { kind: d.kind, key: d.key, field: named, message, ...(at.file !== undefined ? { file: at.file } : {}), ...(line !== undefined ? { line } : {}) };
  });
  return { ...sources, desired: sources.desired.filter((_, i) => !bad.has(i)), problems: [...sources.problems, ...problems] };
}

/** The problems by file (in the order the files first appear) and line, as a reader goes through them. */
function inFileOrder(sources: SyncSources): SyncSources {
  if (sources.problems.length < 2) return sources;
  const fileRank = new Map<string, number>();
  for (const p of sources.problems) if (!fileRank.has(p.file ?? '')) fileRank.set(p.file ?? '', fileRank.size);
  const problems = sources.problems
    .map((p, i) => [p, i] as const)
    .sort(([a, i], [b, j]) => fileRank.get(a.file ?? '')! - fileRank.get(b.file ?? '')! || (a.line ?? 0) - (b.line ?? 0) || i - j)
    .map(([p]) => p);
  return { ...sources, problems };
}

/** What a sync writes: the objects, and what the report says about how they were chosen. */
export interface SyncSources {
  desired: DesiredObject[];
  shadowed: ShadowedObject[];
  runtimeShadows: RuntimeShadow[];
  /** Problems found in the sources; objects with a problem must already be left out of `desired`. */
  problems: ValidationProblem[];
}

export interface SyncFlags {
  skipInvalid: boolean;
  dryRun: boolean;
  prune: boolean;
  overwrite: boolean;
  pruneSources: string[];
  /** `object import --on-conflict fail`: any conflict stops the command before writing. */
  failOnConflict?: boolean;
  /** What to say about a conflict that was left alone. */
  conflictHint?: string;
  /** Conflicts that were left on purpose (`--on-conflict skip`) do not make the command fail. */
  conflictsAreExpected?: boolean;
  /** Called once the sync is done, just before its report is printed (dev start stops treating signals as a cancel). */
  beforeReport?: () => void;
  /** Whether the report names rows kept that this run's objects do not name (dev start; an import is additive). */
  reportKept?: boolean;
}

export type SyncRequest = SyncSources & SyncFlags;

/**
 * Steps 5–7 of the main job: refuse invalid input unless told to skip it, plan and apply in one transaction
 * (metadb), print the report, and fail when anything was invalid or conflicted. The sources may still be on their
 * way (`dev start` fetching): the transaction starts meanwhile and waits for them before reading what it compares.
 */
export async function runSync(ctx: Context, target: OpenTarget, req: SyncRequest): Promise<SyncReport>;
export async function runSync(ctx: Context, target: OpenTarget, req: SyncFlags, sources: Promise<SyncSources>): Promise<SyncReport>;
export async function runSync(ctx: Context, target: OpenTarget, req: SyncFlags & Partial<SyncSources>, pending?: Promise<SyncSources>): Promise<SyncReport> {
  const widths = import('../metadb/widths.js');
  // The planner reads the sources to prune only once it has the objects (which wait for `checked`): a source found
  // here to hold an invalid object is taken out of it first, as the readers' own invalid entries are.
  const pruneSources = [...req.pruneSources];
  const checked = (pending ?? Promise.resolve(req as SyncRequest)).then(async (given) => {
    const unprunable = new Set<string>();
    const sources = inFileOrder(withinWidths(given, target, await widths, unprunable));
    for (let i = pruneSources.length - 1; i >= 0; i--) if (unprunable.has(pruneSources[i]!)) pruneSources.splice(i, 1);
    if (sources.problems.length > 0) {
      printProblems(ctx, sources.problems);
      if (!req.skipInvalid) {
        throw new SyncError(
          `${sources.problems.length} problem${sources.problems.length === 1 ? '' : 's'} in the sources; nothing was written. ` +
            'Fix them, or pass --skip-invalid to write the valid objects',
          sources.problems,
        );
      }
    }
    return sources;
  });
  checked.catch(() => undefined); // awaited below, after the sync that also waits for it
  const { syncAirflowDb, FernetMismatchError } = await import('../metadb/index.js');
  const run = (dryRun: boolean) =>
    syncAirflowDb(target.client, checked.then((s) => s.desired), {
      keys: target.keys,
      info: target.info,
      overwrite: req.overwrite,
      prune: req.prune,
      pruneSources,
      dryRun,
      onLockWait: (message) => ctx.io.err(`${message}\n`),
    });
  let outcome;
  try {
    // --on-conflict fail plans first (a dry run writes nothing) and writes in a second transaction only when the
    // plan has no conflict; that write re-plans under the lock, so a row appearing in between is a conflict
    // left alone (reported), never overwritten.
    outcome = await run(req.dryRun || req.failOnConflict === true);
    if (req.failOnConflict && outcome.plan.counts.conflict > 0) {
      const keys = outcome.plan.entries.filter((e) => e.action === 'conflict').map((e) => `${e.kind} ${e.key}`);
      throw new SyncError(
        `${keys.length} object${keys.length === 1 ? ' already exists' : 's already exist'} (${keys.join(', ')}); nothing was written (--on-conflict fail). Use --on-conflict overwrite or skip`,
        (await checked).problems,
      );
    }
    if (req.failOnConflict && !req.dryRun) outcome = await run(false);
  } catch (err) {
    // A source that failed (a fetch, invalid objects) explains more than what the database said meanwhile.
    const { problems } = await checked;
    // The metadb message already says which key to pass; repeating that advice made the line say it twice.
    if (err instanceof FernetMismatchError) throw new SyncError(`${err.message}; nothing was written`, problems);
    throw err;
  }
  const sources = await checked;
  const report: SyncReport = {
    dryRun: req.dryRun,
    rows: reportRows(outcome.plan, sources.desired, ctx.cwd),
    counts: { ...outcome.plan.counts },
    shadowed: sources.shadowed,
    runtimeShadows: sources.runtimeShadows,
    invalid: sources.problems,
    database: target.display,
    schema: target.info.label,
    fernetKeySource: target.keySource,
    // Only of the sources this run read: a row another file (another project's) wrote is not this run's business.
    kept: req.reportKept ? keptRows(outcome.plan, ctx.cwd, new Set([...sources.desired.map((d) => d.source), ...req.pruneSources])) : [],
    prune: req.prune,
  };
  req.beforeReport?.();
  printSyncReport(ctx, report, req.conflictHint);
  const conflicts = req.conflictsAreExpected ? 0 : report.counts.conflict;
  if (conflicts > 0 || sources.problems.length > 0) {
    const parts = [
      ...(conflicts > 0 ? [`${conflicts} conflict${conflicts === 1 ? '' : 's'} left unresolved (use --overwrite to replace local rows that envmgr did not write or that changed since it wrote them)`] : []),
      ...(sources.problems.length > 0 ? [`${invalidObjectCount(sources.problems)} invalid object${invalidObjectCount(sources.problems) === 1 ? '' : 's'} skipped`] : []),
    ];
    throw new SyncError(parts.join('; '), sources.problems, true);
  }
  return report;
}
