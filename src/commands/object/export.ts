import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { AirflowConnection, AirflowPool, AirflowVariable } from '../../airflow/model.js';
import type { Context } from '../../cli/context.js';
import { UsageError, UserError } from '../../cli/errors.js';
import { readOptional, writeFileAtomic } from '../../config/files.js';
import { displayPath, fileErrorReason } from '../../sync/local.js';
import { defaultSettingsFile, loadProject, openTarget, projectPath, type TargetFlags } from '../../sync/target.js';
import { addKindFlags, addTargetFlags, selectedKinds, type KindFlags } from './kinds.js';

export interface ObjectExportOptions extends TargetFlags, KindFlags {
  settingsFile?: string;
  envExport?: boolean;
  /** With `envExport`: the file to write (default `dev.env_file`, `.env`). */
  envExportFile?: string;
  serialization?: 'uri' | 'json';
}

export interface ObjectExportResult {
  file: string;
  format: 'settings' | 'env';
  connections: number;
  variables: number;
  pools: number;
}

export function registerObjectExport(parent: Command, ctx: Context): void {
  const command = parent
    .command('export')
    .description('export connections, variables and pools from the local metadata database to the settings file or a .env file');
  addKindFlags(command);
  command
    .option('-s, --settings-file <file>', 'settings file to write (default: dev.settings_file, airflow_settings.yaml)')
    .option('--env-export', 'write AIRFLOW_CONN_* / AIRFLOW_VAR_* lines to a .env file instead')
    .option('-e, --env-file <file>', 'with --env-export: the file to write (default: dev.env_file, .env)')
    .addOption(new Option('--serialization <format>', 'with --env-export: connection values as Airflow URIs or JSON').choices(['uri', 'json']).default('uri'));
  addTargetFlags(command);
  command.action(async (opts: ObjectExportOptions & { env?: string; envFile?: string }, self: Command) => {
    if (opts.envExport && opts.settingsFile) throw new UsageError('--settings-file and --env-export are mutually exclusive; pass one');
    if (!opts.envExport && opts.envFile) throw new UsageError('--env-file goes with --env-export');
    // --serialization has a default, so only a value given on the command line says it was asked for.
    if (!opts.envExport && self.getOptionValueSource('serialization') === 'cli') {
      throw new UsageError('--serialization goes with --env-export (the settings file has one form)');
    }
    if (opts.envExport && opts.pools && !opts.connections && !opts.variables) {
      throw new UsageError('a .env file has no form for pools; export them to the settings file (drop --env-export)');
    }
    await runObjectExport(ctx, { ...opts, envExportFile: opts.envFile, envFile: opts.env });
  });
}

export async function runObjectExport(ctx: Context, opts: ObjectExportOptions): Promise<ObjectExportResult> {
  const settings = await ctx.config();
  const project = await loadProject(ctx, opts.envFile);
  const kinds = selectedKinds(opts);
  const target = await openTarget(ctx, project, opts, { purpose: 'read' });
  let state;
  try {
    const { readAirflowObjects } = await import('../../metadb/index.js');
    state = await readAirflowObjects(target.client, target.info, target.keys, { kinds: [...kinds] });
  } catch (err) {
    const { AirflowDbError } = await import('../../metadb/index.js');
    if (err instanceof AirflowDbError) throw new UserError(`${err.message}; nothing was written`);
    throw err;
  } finally {
    await target.client.end().catch(() => undefined);
  }
  const byKey = <T>(map: Map<string, T>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  const connections: AirflowConnection[] = byKey(state.connections).map(({ extraText, ...c }) => {
    if (extraText && !c.extra) ctx.io.err(`warning: connection ${c.conn_id}: its extra is not a JSON object and is not exported\n`);
    return c;
  });
  const variables: AirflowVariable[] = byKey(state.variables).flatMap((v) => {
    if (v.value === null) {
      ctx.io.err(`warning: variable ${v.key} has no value (NULL) and is not exported\n`);
      return [];
    }
    return [{ key: v.key, value: v.value, description: v.description }];
  });
  // Airflow's ORM default for a NULL slots column is 0.
  const pools: AirflowPool[] = byKey(state.pools).map((p) => ({ ...p, slots: p.slots ?? 0 }));

  let result: ObjectExportResult;
  if (opts.envExport) {
    const file = opts.envExportFile ? resolve(ctx.cwd, opts.envExportFile) : projectPath(project.root, settings.resolve('dev.env_file').value ?? '.env');
    const { connectionEnvEntry, envNameCollisions, variableEnvEntry, mergeEnvFile } = await import('../../airflow/envfile.js');
    const collisions = envNameCollisions(connections.map((c) => c.conn_id), variables.map((v) => v.key));
    if (collisions.length > 0) {
      throw new UserError(`${collisions.join('; ')}; a .env file can hold only one of each: rename one, or export to the settings file (drop --env-export); nothing was written`);
    }
    const entries = [
      ...connections.map((c) => connectionEnvEntry(c, { serialization: opts.serialization ?? 'uri', airflow: target.info.uriVariant })),
      ...variables.map((v) => variableEnvEntry(v)),
    ];
    const existing = await readExisting(file, ctx.cwd);
    let text;
    try {
      text = mergeEnvFile(existing, entries);
    } catch (err) {
      throw new UserError(`${(err as Error).message}; nothing was written`);
    }
    await writeExport(file, text, ctx.cwd);
    if ((opts.serialization ?? 'uri') === 'uri') warnDescriptionsDropped(ctx, connections, 'a connection URI has no description; --serialization json keeps it');
    if (pools.length > 0) ctx.io.err(`note: ${pools.length} pool${pools.length === 1 ? '' : 's'} not exported: a .env file has no form for pools (use the settings file)\n`);
    // AIRFLOW_CONN_* / AIRFLOW_VAR_* names carry no case: Airflow finds them, but a read back gives lower-case ids.
    const cased = [...connections.map((c) => c.conn_id), ...variables.map((v) => v.key)].filter((id) => id !== id.toLowerCase());
    if (cased.length > 0) {
      const shown = cased.slice(0, 5).join(', ') + (cased.length > 5 ? `, and ${cased.length - 5} more` : '');
      ctx.io.err(`note: ${shown}: a .env name holds no case, so importing this file gives ${cased.length === 1 ? 'it' : 'them'} lower-cased (the settings file keeps case)\n`);
    }
    result = { file: displayPath(file, ctx.cwd), format: 'env', connections: connections.length, variables: variables.length, pools: 0 };
  } else {
    const file = opts.settingsFile ? resolve(ctx.cwd, opts.settingsFile) : defaultSettingsFile(project.root, settings.resolve('dev.settings_file').value);
    const { writeSettingsFile } = await import('../../airflow/settings.js');
    const existing = await readExisting(file, ctx.cwd);
    let text;
    try {
      text = writeSettingsFile(existing, { connections, variables, pools });
    } catch (err) {
      throw new UserError(`${(err as Error).message} (${displayPath(file, ctx.cwd)}); nothing was written`);
    }
    await writeExport(file, text, ctx.cwd);
    warnDescriptionsDropped(ctx, connections, 'the settings file has no field for it; --env-export --serialization json keeps it');
    result = { file: displayPath(file, ctx.cwd), format: 'settings', connections: connections.length, variables: variables.length, pools: pools.length };
  }
  if (ctx.globals.json) ctx.io.out(JSON.stringify(result, null, 2) + '\n');
  else {
    // The kinds chosen with -c/-v/-p (all by default); a .env has no form for pools.
    const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
    const parts = [
      ...(kinds.has('connection') ? [count(result.connections, 'connection')] : []),
      ...(kinds.has('variable') ? [count(result.variables, 'variable')] : []),
      ...(kinds.has('pool') && result.format === 'settings' ? [count(result.pools, 'pool')] : []),
    ];
    ctx.io.err(`Exported ${parts.join(', ')} to ${result.file} (mode 0600)\n`);
  }
  return result;
}

/** One warning naming the connections whose description the chosen format could not hold. */
function warnDescriptionsDropped(ctx: Context, connections: AirflowConnection[], why: string): void {
  const dropped = connections.filter((c) => typeof c.description === 'string' && c.description !== '').map((c) => c.conn_id);
  if (dropped.length === 0) return;
  const shown = dropped.length > 10 ? `${dropped.slice(0, 10).join(', ')} and ${dropped.length - 10} more` : dropped.join(', ');
  const n = dropped.length === 1 ? '1 connection' : `${dropped.length} connections`;
  ctx.log.warn(`the description of ${n} was not exported (${shown}): ${why}`);
}

/** The file being merged into, or undefined when it does not exist yet; a path that cannot be read is a user error. */
async function readExisting(file: string, cwd: string): Promise<string | undefined> {
  try {
    return await readOptional(file);
  } catch (err) {
    throw new UserError(`cannot read ${displayPath(file, cwd)}: ${fileErrorReason(err)}; nothing was written`);
  }
}

/** A target that cannot be written (a directory, a missing or read-only parent) is the user's to fix, in words. */
async function writeExport(file: string, text: string, cwd: string): Promise<void> {
  try {
    await writeFileAtomic(file, text);
  } catch (err) {
    throw new UserError(`cannot write ${displayPath(file, cwd)}: ${fileErrorReason(err)}; nothing was written`);
  }
}
