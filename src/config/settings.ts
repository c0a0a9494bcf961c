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
  /** Told about what a config file holds that envmgr does not know (an unknown key): ignored, but said. */
  warn?: (message: string) => void;
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
  /** The line of each key (dotted path) in `text`, for messages about a value. */
  lines: Record<string, number>;
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
    if (opts.warn) {
      for (const message of unknownKeys(global, true)) opts.warn(message);
      if (project) for (const message of unknownKeys(project, false)) opts.warn(message);
    }
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

  /**
   * Resolves a key for a command that uses its value, checked against the registry (`allowed`, booleans,
   * durations): a value outside them, from the environment or a file edited by hand, is an error naming the key,
   * the value, where it came from (the variable, or the file and line) and the valid values. `resolve` alone does
   * not check, so that `config list|set|unset` still work, and can repair, with a bad value in place.
   */
  checked(key: string, flag?: string | boolean | null): ResolvedSetting {
    const resolved = this.resolve(key, flag);
    const problem = this.problemOf(resolved);
    // A bad flag value is a usage error (exit 2); a bad value in a file or the environment is not.
    if (problem) throw resolved.source === 'flag' ? new UsageError(problem) : new UserError(problem);
    return resolved;
  }

  /**
   * What is wrong with a resolved value (as `checked` would say it, naming where it came from), or undefined when it
   * is fine: for commands that show a value rather than use it (`config get|list`).
   */
  problemOf(resolved: ResolvedSetting): string | undefined {
    if (resolved.value === undefined || resolved.source === 'default') return undefined;
    return checkValue(this.definition(resolved.key), resolved.value, this.whence(resolved));
  }

  /** A boolean key: exactly `true` or `false` (as `config set` accepts), else an error naming where it came from. */
  bool(key: string, flag?: boolean): boolean {
    return this.checked(key, flag).value === 'true';
  }

  /** A duration key in milliseconds. */
  durationMs(key: string, flag?: string): number {
    const resolved = this.resolve(key, flag);
    try {
      return parseDuration(resolved.value ?? '0s');
    } catch {
      // A bad flag value is a usage error (exit 2); a bad value in a file or the environment is not.
      const Failure = resolved.source === 'flag' ? UsageError : UserError;
      throw new Failure(`invalid duration "${resolved.value}" for ${key} (from ${this.whence(resolved)}); use e.g. 30s or 5m`);
    }
  }

  /** Where a resolved value was read, for messages: the variable, the file with the key's line, or the flag. */
  whence(resolved: ResolvedSetting): string {
    const file = resolved.source === 'project' ? this.project : resolved.source === 'global' ? this.global : undefined;
    const line = file?.lines[resolved.key];
    if (file) return line ? `${file.path}:${line}` : file.path;
    return resolved.origin ?? resolved.source;
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
      this.project = { path: this.projectFile, text: '', data: {}, lines: {} };
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
    await this.edit(file, (doc) => deleteAndPrune(doc, key.split('.')));
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
      deleteAndPrune(doc, ['contexts', domain]);
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
    file.doc ??= parseDocument(yaml, file.path, file.text).doc;
    change(file.doc);
    file.text = file.doc.toString();
    file.data = plainOf(file.doc);
    // The written text's own lines (the document keeps the positions of the text it was parsed from).
    file.lines = parseDocument(yaml, file.path, file.text).lines;
    await writeFileAtomic(file.path, file.text);
    this.cache.put(file.path, file.text, file.data, file.lines);
    await this.cache.save();
  }
}

/**
 * Deletes a key, then every map above it that it leaves empty: `dev: {}` would stay behind otherwise, and an empty
 * map read back from the file is a flow map, which keeps what is added to it later in `{ … }` style.
 */
function deleteAndPrune(doc: Document, path: string[]): void {
  doc.deleteIn(path);
  for (let depth = path.length - 1; depth > 0; depth--) {
    const parent = doc.getIn(path.slice(0, depth), true) as { items?: unknown[] } | undefined;
    if (!parent || !Array.isArray(parent.items) || parent.items.length > 0) return;
    doc.deleteIn(path.slice(0, depth));
  }
}

async function loadFile(path: string, cache: ParsedConfigCache): Promise<ConfigFile> {
  const text = (await readOptional(path)) ?? '';
  if (text.trim() === '') return { path, text, data: {}, lines: {} };
  const cached = cache.get(path, text);
  if (cached) return { path, text, data: cached.data, lines: cached.lines };
  const { doc, lines } = parseDocument(await import('yaml'), path, text);
  const data = plainOf(doc);
  cache.put(path, text, data, lines);
  return { path, text, data, lines, doc };
}

function parseDocument(yaml: Yaml, path: string, text: string): { doc: Document; lines: Record<string, number> } {
  const lineCounter = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new UserError(`cannot read ${path}${line ? ` (line ${line})` : ''}: ${first.message.split('\n')[0]}; fix or remove the file`);
  }
  if (doc.contents === null) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
  const lines: Record<string, number> = {};
  const walk = (node: unknown, prefix: string) => {
    if (!yaml.isMap(node)) return;
    for (const pair of node.items) {
      const name = yaml.isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (name === undefined) continue;
      const key = prefix + name;
      const start = yaml.isNode(pair.key) ? pair.key.range?.[0] : undefined;
      if (start !== undefined && !(key in lines)) lines[key] = lineCounter.linePos(start).line;
      walk(pair.value, key + '.');
    }
  };
  walk(doc.contents, '');
  return { doc, lines };
}

/** The groups registry keys are in (`dev` for `dev.db_url`): a mapping there is walked, not an unknown key. */
const GROUPS = new Set(SETTINGS.flatMap((s) => s.key.split('.').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('.'))));

/**
 * Warnings for what a config file holds that no command reads: an unknown key (a typo such as `dev.perfer`), or a
 * key whose value has the wrong shape (a list for `dev.prefer`, a single value where `dev:` holds keys). The global
 * file also holds the login contexts (`context`, `contexts`), which are envmgr's own.
 */
function unknownKeys(file: ConfigFile, isGlobal: boolean): string[] {
  const warnings: string[] = [];
  const at = (key: string) => `${file.path}${file.lines[key] ? `:${file.lines[key]}` : ''}`;
  const walk = (value: Plain, prefix: string) => {
    for (const [name, child] of Object.entries(value)) {
      const key = prefix + name;
      const isObject = child !== null && typeof child === 'object';
      if (findSetting(key)) {
        if (isObject) warnings.push(`${at(key)}: ${key} must be a single value, not ${Array.isArray(child) ? 'a list' : 'a mapping'}; it is ignored`);
      } else if (GROUPS.has(key)) {
        if (isObject && !Array.isArray(child)) walk(child as Plain, key + '.');
        else if (child !== null) warnings.push(`${at(key)}: ${key} holds keys (such as ${SETTINGS.find((s) => s.key.startsWith(key + '.'))!.key}), not a value; it is ignored`);
      } else if (!(isGlobal && prefix === '' && (name === 'context' || name === 'contexts'))) {
        warnings.push(`${at(key)}: unknown config key "${key}" is ignored; envmgr config list shows the valid keys`);
      }
    }
  };
  walk(file.data, '');
  return warnings;
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
