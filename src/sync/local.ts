import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import type { ValidationProblem } from '../airflow/model.js';
import { UserError } from '../cli/errors.js';
import type { AirflowVariant } from '../airflow/uri.js';
import { ENV_FILE_SOURCE, fileSource, SETTINGS_SOURCE, type DesiredObject } from './sources.js';

export interface LocalSource {
  /** The file as named in messages (relative to the working directory when inside it). */
  file: string;
  /** The label its objects are recorded with in the sync state (see fileSource): what `--prune` may delete. */
  source: string;
  exists: boolean;
  desired: DesiredObject[];
  problems: ValidationProblem[];
  warnings: ValidationProblem[];
}

/** A path as the user would write it: relative to `cwd` when it is inside it. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') ? rel : path;
}

async function readText(path: string, required: boolean, what: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !required) return undefined;
    throw new UserError(`cannot read ${what} ${path}: ${fileErrorReason(err)}`);
  }
}

/** Fails early, before any database is waited for, when a file the user named cannot be read. */
export async function assertReadable(path: string, what: string): Promise<void> {
  await readText(path, true, what);
}

/** Why a file could not be read, in words (a user error, not an unexpected one). */
export function fileErrorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOENT: 'no such file', EISDIR: 'it is a directory', EACCES: 'permission denied', EPERM: 'permission denied', ENOTDIR: 'a parent is not a directory',
  };
  return (code && words[code]) ?? code ?? (err as Error).message;
}

/**
 * The settings file's connections, variables and pools as desired objects, validated, each with its line. A
 * missing file is an empty source unless the user named it explicitly (`required`). With `kinds`, only entries of
 * those kinds are read and judged; problems of the file itself (its syntax, its shape) count whatever the kinds.
 */
export async function readSettingsSource(
  path: string,
  opts: { cwd: string; required: boolean; airflow?: AirflowVariant; kinds?: ReadonlySet<DesiredObject['kind']> },
): Promise<LocalSource> {
  const file = displayPath(path, opts.cwd);
  const source = fileSource(SETTINGS_SOURCE, resolve(opts.cwd, path));
  const text = await readText(path, opts.required, 'settings file');
  if (text === undefined) return { file, source, exists: false, desired: [], problems: [], warnings: [] };
  const { readSettingsFile } = await import('../airflow/settings.js');
  const parsed = readSettingsFile(text, { file, ...(opts.airflow ? { airflow: opts.airflow } : {}) });
  const want = (kind: DesiredObject['kind']) => !opts.kinds || opts.kinds.has(kind);
  const desired: DesiredObject[] = [];
  const origin = (line: number) => `${file}:${line}`;
  if (want('connection')) {
    for (const c of parsed.connections) {
      desired.push({ kind: 'connection', key: c.connection.conn_id, source, origin: origin(c.line), location: { file, line: c.line }, fieldLines: c.fieldLines, object: c.connection });
    }
  }
  if (want('variable')) {
    for (const v of parsed.variables) {
      desired.push({ kind: 'variable', key: v.variable.key, source, origin: origin(v.line), location: { file, line: v.line }, fieldLines: v.fieldLines, object: v.variable });
    }
  }
  if (want('pool')) {
    for (const p of parsed.pools) {
      desired.push({ kind: 'pool', key: p.pool.name, source, origin: origin(p.line), location: { file, line: p.line }, fieldLines: p.fieldLines, object: p.pool });
    }
  }
  // Problems in entries of a kind that is not read (object import -c/-v/-p) are not this command's; the file's own are.
  const problems = parsed.problems.filter((p) => p.kind === null || want(p.kind));
  return { file, source, exists: true, desired: dedupe(desired, problems), problems, warnings: parsed.warnings };
}

/** The same key twice in one file is a problem (Airflow's own importers would silently keep one of them). */
function dedupe(desired: DesiredObject[], problems: ValidationProblem[]): DesiredObject[] {
  const seen = new Map<string, DesiredObject>();
  for (const d of desired) {
    const id = `${d.kind}\0${d.key}`;
    const first = seen.get(id);
    if (first) {
      problems.push({
        kind: d.kind, key: d.key, field: d.kind === 'connection' ? 'conn_id' : d.kind === 'variable' ? 'variable_name' : 'pool_name',
        message: `duplicate ${d.kind} '${d.key}' (first defined at ${first.origin})`, ...d.location,
      });
    } else seen.set(id, d);
  }
  return [...seen.values()];
}

/** `AIRFLOW_CONN_*` and `AIRFLOW_VAR_*` of a `.env` file as desired objects. */
export async function readEnvFileSource(
  path: string,
  opts: { cwd: string; airflow?: AirflowVariant; kinds?: ReadonlySet<DesiredObject['kind']> },
): Promise<LocalSource> {
  const file = displayPath(path, opts.cwd);
  const source = fileSource(ENV_FILE_SOURCE, resolve(opts.cwd, path));
  const text = await readText(path, true, '.env file');
  const { readAirflowEnvFile } = await import('../airflow/envfile.js');
  const parsed = readAirflowEnvFile(text ?? '', { file, ...(opts.airflow ? { airflow: opts.airflow } : {}) });
  const want = (kind: DesiredObject['kind']) => !opts.kinds || opts.kinds.has(kind);
  const desired: DesiredObject[] = [];
  const problems = parsed.problems.filter((p) => p.kind === null || want(p.kind));
  if (want('connection')) {
    for (const c of parsed.connections) {
      desired.push({ kind: 'connection', key: c.connection.conn_id, source, origin: `${file}:${c.line}`, location: { file, line: c.line }, object: c.connection });
    }
  }
  if (want('variable')) {
    for (const v of parsed.variables) {
      desired.push({ kind: 'variable', key: v.variable.key, source, origin: `${file}:${v.line}`, location: { file, line: v.line }, object: v.variable });
    }
  }
  const warnings = parsed.warnings.filter((p) => p.kind === null || want(p.kind));
  return { file, source, exists: true, desired: dedupe(desired, problems), problems, warnings };
}

/**
 * Reads a project `.env` as docker compose would hand it to the containers (for the Fernet key and shadow checks),
 * with the lines that are not assignments dotenv reads (which it skips without a word) as problems.
 */
export async function readDotenv(path: string, required = false): Promise<{ values: Record<string, string>; problems: Array<{ line: number; message: string }> }> {
  const text = await readText(path, required, '.env file');
  if (text === undefined) return { values: {}, problems: [] };
  const [{ parse }, { parseEnvFile }] = await Promise.all([import('dotenv'), import('../airflow/envfile.js')]);
  // The values are dotenv's own reading, whatever envmgr's line finder makes of the file.
  return { values: parse(text), problems: parseEnvFile(text).problems };
}
