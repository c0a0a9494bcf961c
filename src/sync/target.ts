import { isAbsolute, resolve } from 'node:path';
import type pg from 'pg';
import type { FernetKeys } from '../airflow/fernet.js';
import type { Context } from '../cli/context.js';
import { UsageError, UserError } from '../cli/errors.js';
import type { AirflowSchemaInfo } from '../metadb/schema.js';
import { resolveDbUrl } from './db-url.js';
import { resolveFernetKey } from './fernet-source.js';
import { displayPath, readDotenv } from './local.js';

/** The flags shared by every command that opens the local metadata database. */
export interface TargetFlags {
  dbUrl?: string;
  fernetKey?: string;
  wait?: string;
  /** The project `.env` (`--env`, else `dev.env_file`). */
  envFile?: string;
}

export interface Project {
  root: string;
  /** The project `.env` path and its content as docker compose reads it (empty when absent). */
  envFile: string;
  dotenv: Record<string, string>;
}

export interface OpenTarget {
  client: pg.Client;
  info: AirflowSchemaInfo;
  keys: FernetKeys | null;
  keySource: string;
  display: string;
}

/** Resolves a path from the config or a flag against the project root. */
export function projectPath(root: string, path: string): string {
  return isAbsolute(path) ? path : resolve(root, path);
}

/** `quietAbout`: a file whose problems the caller reports itself (no warnings when it is the project .env). */
export async function loadProject(ctx: Context, envFileFlag?: string, quietAbout?: string): Promise<Project> {
  const settings = await ctx.config();
  const root = settings.projectDir ?? ctx.cwd;
  const envFile = envFileFlag ? resolve(ctx.cwd, envFileFlag) : projectPath(root, settings.resolve('dev.env_file').value ?? '.env');
  // A .env named with --env must exist: a mistyped name would otherwise drop its Fernet key without a word.
  const { values, problems } = await readDotenv(envFile, envFileFlag !== undefined);
  // dotenv skips what it cannot read, docker compose may refuse the file: either way the user should hear of it.
  if (envFile !== quietAbout) for (const p of problems) ctx.io.err(`warning: ${displayPath(envFile, ctx.cwd)}:${p.line}: ${p.message}\n`);
  return { root, envFile, dotenv: values };
}

export interface OpenTargetOptions {
  /** What the command does with the database (default `write`): it decides what a missing key means to the user. */
  purpose?: 'write' | 'read';
  /** True once the command has already failed elsewhere (dev start's fetch): the opening then goes on silently. */
  abandoned?: () => boolean;
}

/** What opening the database needs, checked: the URL parsed, the Fernet key read, the wait. */
export interface PreparedTarget {
  db: ReturnType<typeof resolveDbUrl>;
  /** Read here from --fernet-key or the environment; from a file (which dev.start_command may make) only on opening. */
  key: ReturnType<typeof resolveFernetKey> | undefined;
  target: ReturnType<typeof import('../metadb/index.js')['parseAirflowDbUrl']>;
  timeoutMs: number;
}

/** The Fernet key and where it came from (a bad --fernet-key is a usage error; a bad one elsewhere is not). */
function fernetKeyOf(ctx: Context, project: Project, flags: TargetFlags, keyFile: string | undefined): ReturnType<typeof resolveFernetKey> {
  try {
    return resolveFernetKey({
      flag: flags.fernetKey,
      env: ctx.env,
      keyFile: keyFile ? projectPath(project.root, keyFile) : undefined,
      projectRoot: project.root,
      dotenv: project.dotenv,
    });
  } catch (err) {
    throw flags.fernetKey !== undefined ? new UsageError((err as Error).message) : new UserError((err as Error).message);
  }
}

/**
 * The checks of openTarget that need no database: a bad --db-url, --fernet-key or --wait (or the same from the
 * environment or config) is refused here, before a command does anything else (dev start runs dev.start_command).
 */
export async function prepareTarget(ctx: Context, project: Project, flags: TargetFlags): Promise<PreparedTarget> {
  const settings = await ctx.config();
  const db = resolveDbUrl({ flag: flags.dbUrl, env: ctx.env, configured: settings.resolve('dev.db_url').value });
  const keyFile = settings.resolve('dev.fernet_key_file').value;
  const key = flags.fernetKey !== undefined || ctx.env.AIRFLOW__CORE__FERNET_KEY !== undefined ? fernetKeyOf(ctx, project, flags, keyFile) : undefined;
  const { parseAirflowDbUrl } = await import('../metadb/index.js');
  let target;
  try {
    target = parseAirflowDbUrl(db.url, { applicationName: 'envmgr' });
  } catch (err) {
    const message = `${(err as Error).message} (database URL from ${db.source})`;
    throw flags.dbUrl ? new UsageError(message) : new UserError(message);
  }
  const timeoutMs = settings.durationMs('dev.wait', flags.wait);
  return { db, key, target, timeoutMs };
}

/**
 * DESIGN.md §The main job steps 2 and 3: find the database, wait for Airflow's tables, say which schema it is;
 * find the Fernet key and say where it came from. The key is checked against the database inside the sync's
 * transaction (metadb `syncAirflowDb`), before anything is written.
 */
export async function openTarget(
  ctx: Context,
  project: Project,
  flags: TargetFlags,
  options: OpenTargetOptions = {},
  prepared?: PreparedTarget,
): Promise<OpenTarget> {
  const { purpose = 'write', abandoned } = options;
  const say = (text: string) => {
    if (!abandoned?.()) ctx.io.err(text);
  };
  const { db, key: preparedKey, target, timeoutMs } = prepared ?? (await prepareTarget(ctx, project, flags));
  const key = preparedKey ?? fernetKeyOf(ctx, project, flags, (await ctx.config()).resolve('dev.fernet_key_file').value);
  const [{ waitForAirflowDb, detectAirflowSchema, AirflowDbError }, { tuneV8ForShortRun }] = await Promise.all([
    import('../metadb/index.js'),
    import('../js-tiering.js'),
  ]);
  // From here on this short-lived process moves thousands of rows through a few functions: V8 optimizes only those
  // that run long enough to earn it, and collects for throughput rather than short pauses (js-tiering.ts).
  tuneV8ForShortRun();
  ctx.log.debug(`metadata database ${target.display} (from ${db.source})`);
  let lastProgress = 0;
  let client: pg.Client;
  try {
    client = await waitForAirflowDb(target, {
      timeoutMs,
      onProgress: (message, elapsed) => {
        // One line every 5 s is enough to show it is alive without flooding a CI log.
        if (elapsed - lastProgress >= 5000 || lastProgress === 0) {
          lastProgress = elapsed || 1;
          say(`${message} (${Math.round(elapsed / 1000)}s of ${Math.round(timeoutMs / 1000)}s)\n`);
        }
      },
    });
  } catch (err) {
    if (err instanceof AirflowDbError) {
      throw new UserError(`${err.message}; start the local Airflow (e.g. astro dev start) or point --db-url / dev.db_url at its database`);
    }
    throw err;
  }
  const info = await detectAirflowSchema(client, target.schema ? { schema: target.schema } : {});
  say(`Metadata database ${target.display} (${db.source}): ${info.label}\n`);
  // An export stores nothing: without a key what matters is that encrypted rows cannot be read.
  const consequence = purpose === 'read' ? 'only values stored unencrypted can be read' : 'values are stored unencrypted, as Airflow does without a key';
  if (key.keys) say(`Fernet key from ${key.source}\n`);
  else if (key.source === '--fernet-key') say(`Fernet key set empty with --fernet-key: ${consequence}\n`);
  // A source that is set but empty (an empty key file, AIRFLOW__CORE__FERNET_KEY=) is named: "none found" would send
  // the user looking for a key that is there.
  else if (key.source !== 'none') say(`warning: the Fernet key from ${key.source} is empty: ${consequence}\n`);
  else say(`warning: no Fernet key found (--fernet-key, AIRFLOW__CORE__FERNET_KEY, dev.fernet_key_file, the project .env): ${consequence}\n`);
  return { client, info, keys: key.keys, keySource: key.source, display: target.display };
}

export function defaultSettingsFile(root: string, configured: string | undefined): string {
  return projectPath(root, configured ?? 'airflow_settings.yaml');
}

