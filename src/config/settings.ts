import { join, resolve } from 'node:path';
import type { Document } from 'yaml';
import { UserError, UsageError } from '../cli/errors.js';
import { envmgrHome, findProjectDir, readOptional, writeFileAtomic } from './files.js';
import { ParsedConfigCache } from './cache.js';
import { SETTINGS, checkValue, envVarFor, findSetting, parseDuration, type SettingDefinition } from './registry.js';

export type SettingSource = 'flag' | 'env' | 'project' | 'global' | 'default' | 'unset';

export interface ResolvedSetting {
  key: string;
  value: string | undefined;
  source: SettingSource;
  /** The file or environment variable the value came from. */
  origin?: string;
}

/** What the global file remembers about one Environment Manager (`contexts.<domain>`). Never a secret. */
export interface ContextEntry {
  apiUrl: string;
  organizationId?: string;
  workspaceId?: string;
  user?: string;
}

export interface SettingsOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  homeDir: string;
}

type Yaml = typeof import('yaml');
type Plain = Record<string, unknown>;

/**
 * One config file. Reads use `data` (plain values); the YAML `Document`, which keeps the user's comments and
 * layout, is built only to write, so a command that only reads never loads the YAML library when the parsed
 * form is cached (see ParsedConfigCache).
 */
interface ConfigFile {
  path: string;
  text: string;
  data: Plain;
  doc?: Document;
}

/**
 * The merged configuration: registry keys resolved flag > environment > project file > global file > default,
 * and the global file's login contexts. Built once per command by `ctx.config()`.
 */
export class Settings {
  private constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly home: string,
    readonly cwd: string,
    readonly projectDir: string | undefined,
    private readonly cache: ParsedConfigCache,
    private global: ConfigFile,
    private project: ConfigFile | undefined,
  ) {}

  static async load(opts: SettingsOptions): Promise<Settings> {
    const home = envmgrHome(opts.env, opts.homeDir);
    const projectDir = findProjectDir(opts.cwd, home);
    const cache = new ParsedConfigCache(home);
    const global = await loadFile(join(home, 'config.yaml'), cache);
    const project = projectDir ? await loadFile(join(projectDir, '.envmgr', 'config.yaml'), cache) : undefined;
    await cache.save();
    return new Settings(opts.env, home, opts.cwd, projectDir, cache, global, project);
  }

  get globalFile(): string {
    return this.global.path;
  }

  /** The project file that `config set` (without -g) writes: in the project root, else the current directory. */
  get projectFile(): string {
    return this.project?.path ?? join(this.projectDir ?? this.cwd, '.envmgr', 'config.yaml');
  }

  /** Resolves one registry key. `flag` is the value of the command-line flag that overrides it, if any. */
  resolve(key: string, flag?: string | boolean | null): ResolvedSetting {
    const def = this.definition(key);
    if (flag !== undefined && flag !== null) return { key, value: String(flag), source: 'flag' };
    const envName = envVarFor(key);
    const fromEnv = this.env[envName];
    if (fromEnv !== undefined && fromEnv !== '') return { key, value: fromEnv, source: 'env', origin: envName };
    const fromProject = this.project ? readKey(this.project.data, key) : undefined;
    if (fromProject !== undefined) return { key, value: fromProject, source: 'project', origin: this.project!.path };
    const fromGlobal = readKey(this.global.data, key);
    if (fromGlobal !== undefined) return { key, value: fromGlobal, source: 'global', origin: this.global.path };
    if (def.default !== undefined) return { key, value: def.default, source: 'default' };
    return { key, value: undefined, source: 'unset' };
  }

  /** A boolean key; a value outside true/false (e.g. from the environment) is an error naming where it came from. */
  bool(key: string, flag?: boolean): boolean {
    const resolved = this.resolve(key, flag);
    if (resolved.value === undefined) return false;
    const text = resolved.value.toLowerCase();
    if (['true', '1', 'yes'].includes(text)) return true;
    if (['false', '0', 'no'].includes(text)) return false;
    throw new UserError(`invalid value "${resolved.value}" for ${key} (from ${resolved.origin ?? resolved.source}); use true or false`);
  }

  /** A duration key in milliseconds. */
  durationMs(key: string, flag?: string): number {
    const resolved = this.resolve(key, flag);
    try {
      return parseDuration(resolved.value ?? '0s');
    } catch {
      // A bad flag value is a usage error (exit 2); a bad value in a file or the environment is not.
      const Failure = resolved.source === 'flag' ? UsageError : UserError;
      throw new Failure(`invalid duration "${resolved.value}" for ${key} (from ${resolved.origin ?? resolved.source}); use e.g. 30s or 5m`);
    }
  }

  list(): ResolvedSetting[] {
    return SETTINGS.map((s) => this.resolve(s.key));
  }

  /** The value stored in one file only (for `config get -g`). */
  stored(key: string, where: 'global' | 'project'): string | undefined {
    this.definition(key);
    const file = where === 'global' ? this.global : this.project;
    return file ? readKey(file.data, key) : undefined;
  }

  /** Validates and writes one key; returns the file written. */
  async set(key: string, value: string, where: 'global' | 'project'): Promise<string> {
    const def = this.definition(key);
    const problem = checkValue(def, value);
    if (problem) throw new UsageError(problem);
    if (def.scope !== 'any' && def.scope !== where) {
      throw new UsageError(`${key} can only be set in the ${def.scope} file${def.scope === 'global' ? ' (use -g)' : ' (drop -g)'}`);
    }
    const typed = def.type === 'boolean' ? value === 'true' : value;
    if (where === 'project' && !this.project) {
      if (resolve(this.projectFile) === resolve(this.global.path)) {
        throw new UsageError(`no project here: ${this.projectFile} is the global file; run this in your project's directory, or pass -g`);
      }
      this.project = { path: this.projectFile, text: '', data: {} };
    }
    const file = where === 'global' ? this.global : this.project!;
    await this.edit(file, (doc) => doc.setIn(key.split('.'), typed));
    return file.path;
  }

  /** Removes a key from one file; returns whether it was there. */
  async unset(key: string, where: 'global' | 'project'): Promise<boolean> {
    this.definition(key);
    const file = where === 'global' ? this.global : this.project;
    if (!file || readKey(file.data, key) === undefined) return false;
    await this.edit(file, (doc) => doc.deleteIn(key.split('.')));
    return true;
  }

  /** The domain of the current login (`context` in the global file). */
  currentDomain(): string | undefined {
    const value = this.global.data.context;
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  context(domain: string): ContextEntry | undefined {
    const entry = (this.global.data.contexts as Record<string, Partial<ContextEntry>> | undefined)?.[domain];
    return entry && typeof entry === 'object' && typeof entry.apiUrl === 'string' ? ({ ...entry } as ContextEntry) : undefined;
  }

  contextDomains(): string[] {
    const contexts = this.global.data.contexts;
    return contexts && typeof contexts === 'object' ? Object.keys(contexts) : [];
  }

  async saveContext(domain: string, entry: ContextEntry, makeCurrent: boolean): Promise<void> {
    const clean = Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined && v !== ''));
    await this.edit(this.global, (doc) => {
      doc.setIn(['contexts', domain], doc.createNode(clean));
      if (makeCurrent) doc.set('context', domain);
    });
  }

  async removeContext(domain: string): Promise<void> {
    await this.edit(this.global, (doc) => {
      doc.deleteIn(['contexts', domain]);
      if (doc.get('context') === domain) {
        const remaining = doc.get('contexts') as { toJSON(): Plain } | undefined;
        const next = remaining ? Object.keys(remaining.toJSON() ?? {})[0] : undefined;
        if (next) doc.set('context', next);
        else doc.delete('context');
      }
    });
  }

  private definition(key: string): SettingDefinition {
    const def = findSetting(key);
    if (!def) throw new UsageError(`unknown config key "${key}"; valid keys: ${SETTINGS.map((s) => s.key).join(', ')}`);
    return def;
  }

  /** Applies a change to the file's YAML document (comments kept) and writes it atomically, 0600. */
  private async edit(file: ConfigFile, change: (doc: Document) => void): Promise<void> {
    const yaml = await import('yaml');
    file.doc ??= parseDocument(yaml, file.path, file.text);
    change(file.doc);
    file.text = file.doc.toString();
    file.data = plainOf(file.doc);
    await writeFileAtomic(file.path, file.text);
    this.cache.put(file.path, file.text, file.data);
    await this.cache.save();
  }
}

async function loadFile(path: string, cache: ParsedConfigCache): Promise<ConfigFile> {
  const text = (await readOptional(path)) ?? '';
  if (text.trim() === '') return { path, text, data: {} };
  const cached = cache.get(path, text);
  if (cached) return { path, text, data: cached };
  const doc = parseDocument(await import('yaml'), path, text);
  const data = plainOf(doc);
  cache.put(path, text, data);
  return { path, text, data, doc };
}

function parseDocument(yaml: Yaml, path: string, text: string): Document {
  const doc = yaml.parseDocument(text);
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new UserError(`cannot read ${path}${line ? ` (line ${line})` : ''}: ${first.message.split('\n')[0]}; fix or remove the file`);
  }
  if (doc.contents === null) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
  return doc;
}

function plainOf(doc: Document): Plain {
  const value = doc.toJS() as unknown;
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new UserError('a config file must hold a mapping of keys to values; fix or remove it');
  return value as Plain;
}

function readKey(data: Plain, key: string): string | undefined {
  let value: unknown = data;
  for (const part of key.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Plain)[part];
  }
  if (value === undefined || value === null || typeof value === 'object') return undefined;
  return String(value);
}

/**
 * Resolves one setting through a command's context: the API `dev start` and other commands use, e.g.
 * `await resolveSetting(ctx, 'dev.db_url', opts.dbUrl)`.
 */
export async function resolveSetting(
  ctx: { config(): Promise<Settings> },
  key: string,
  flag?: string | boolean | null,
): Promise<ResolvedSetting> {
  return (await ctx.config()).resolve(key, flag);
}
