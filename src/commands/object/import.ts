import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { UsageError } from '../../cli/errors.js';
import { assertReadable, displayPath, readEnvFileSource, readSettingsSource } from '../../sync/local.js';
import { withJsonFailureReport, type SyncReport } from '../../sync/report.js';
import { runSync } from '../../sync/run.js';
import { findRuntimeShadows } from '../../sync/sources.js';
import { defaultSettingsFile, loadProject, openTarget, type TargetFlags } from '../../sync/target.js';
import { addKindFlags, addTargetFlags, selectedKinds, type KindFlags } from './kinds.js';

export type OnConflict = 'overwrite' | 'skip' | 'fail';

export interface ObjectImportOptions extends TargetFlags, KindFlags {
  settingsFile?: string;
  /** A `.env` file of `AIRFLOW_CONN_*` / `AIRFLOW_VAR_*` to import instead of the settings file. */
  envFileSource?: string;
  onConflict?: OnConflict;
  dryRun?: boolean;
  skipInvalid?: boolean;
}

export function registerObjectImport(parent: Command, ctx: Context): void {
  const command = parent
    .command('import')
    .description('import connections, variables and pools from the settings file (or a .env file) into the local metadata database');
  addKindFlags(command);
  command
    .option('-s, --settings-file <file>', 'settings file (default: dev.settings_file, airflow_settings.yaml)')
    .option('--env-file <file>', 'import AIRFLOW_CONN_* / AIRFLOW_VAR_* from this .env file instead')
    .addOption(new Option('--on-conflict <mode>', 'what to do with rows that exist and envmgr did not write').choices(['overwrite', 'skip', 'fail']).default('overwrite'))
    .option('--dry-run', 'print the plan and write nothing')
    .option('--skip-invalid', 'import the valid objects when some are invalid (still exits non-zero)');
  addTargetFlags(command);
  command.action(async (opts: ObjectImportOptions & { env?: string; envFile?: string }) => {
    if (opts.settingsFile && opts.envFile) throw new UsageError('--settings-file and --env-file are mutually exclusive; pass one');
    await runObjectImport(ctx, { ...opts, envFileSource: opts.envFile, envFile: opts.env });
  });
}

/** With --json, a run that stops before its report still prints one JSON document (withJsonFailureReport). */
export function runObjectImport(ctx: Context, opts: ObjectImportOptions): Promise<SyncReport> {
  return withJsonFailureReport(ctx, opts.dryRun === true, () => objectImport(ctx, opts));
}

async function objectImport(ctx: Context, opts: ObjectImportOptions): Promise<SyncReport> {
  const settings = await ctx.config();
  // The .env being imported reports its own problems, as errors; the project's is not warned about a second time.
  const project = await loadProject(ctx, opts.envFile, opts.envFileSource ? resolve(ctx.cwd, opts.envFileSource) : undefined);
  const kinds = selectedKinds(opts);
  const sourcePath = opts.envFileSource
    ? resolve(ctx.cwd, opts.envFileSource)
    : opts.settingsFile ? resolve(ctx.cwd, opts.settingsFile) : defaultSettingsFile(project.root, settings.resolve('dev.settings_file').value);
  await assertReadable(sourcePath, opts.envFileSource ? '.env file' : 'settings file');
  const target = await openTarget(ctx, project, opts);
  try {
    // Parsed once the database is known: how a conn_uri reads depends on its Airflow version.
    const airflow = target.info.uriVariant;
    const source = opts.envFileSource
      ? await readEnvFileSource(sourcePath, { cwd: ctx.cwd, airflow, kinds })
      : await readSettingsSource(sourcePath, { cwd: ctx.cwd, required: true, airflow, kinds });
    for (const w of source.warnings) ctx.io.err(`warning: ${w.file ?? source.file}:${w.line ?? '?'}: ${w.message}\n`);
    const onConflict = opts.onConflict ?? 'overwrite';
    return await runSync(ctx, target, {
      desired: source.desired,
      shadowed: [],
      runtimeShadows: findRuntimeShadows(source.desired, ctx.env, project.dotenv, displayPath(project.envFile, ctx.cwd)),
      problems: source.problems,
      skipInvalid: opts.skipInvalid === true,
      dryRun: opts.dryRun === true,
      prune: false,
      overwrite: onConflict === 'overwrite',
      pruneSources: [source.source],
      failOnConflict: onConflict === 'fail',
      conflictsAreExpected: onConflict === 'skip',
      conflictHint: onConflict === 'skip' ? 'skipped (--on-conflict skip)' : undefined,
    });
  } finally {
    await target.client.end().catch(() => undefined);
  }
}
