import { join, resolve } from 'node:path';
import type { Document } from 'yaml';
import { UserError, UsageError } from '../cli/errors.js';
import { envmgrHome, findProjectDir, readOptional, writeFileAtomic } from './files.js';
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

interface LoadedFile {
  path: string;
  doc: Document;
}

/**
 * The merged configuration: registry keys resolved flag > environment > project file > global file > default,
 * and the global file's login contexts. Built once per command by `ctx.config()`.
 */
export class Settings {
  private constructor(
    private readonly yaml: Yaml,
    private readonly env: NodeJS.ProcessEnv,
    readonly home: string,
    readonly cwd: string,
    readonly projectDir: string | undefined,
    private global: LoadedFile,
    private project: LoadedFile | undefined,
  ) {}

  static async load(opts: SettingsOptions): Promise<Settings> {
    const yaml = await import('yaml');
    const home = envmgrHome(opts.env, opts.homeDir);
    const projectDir = findProjectDir(opts.cwd, home);
    const global = await loadFile(yaml, join(home, 'config.yaml'));
    const project = projectDir ? await loadFile(yaml, join(projectDir, '.envmgr', 'config.yaml')) : undefined;
    return new Settings(yaml, opts.env, home, opts.cwd, projectDir, global, project);
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
    const fromProject = this.project ? readKey(this.project.doc, key) : undefined;
    if (fromProject !== undefined) return { key, value: fromProject, source: 'project', origin: this.project!.path };
    const fromGlobal = readKey(this.global.doc, key);
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
      throw new UserError(`invalid duration "${resolved.value}" for ${key} (from ${resolved.origin ?? resolved.source}); use e.g. 30s or 5m`);
    }
  }

  list(): ResolvedSetting[] {
    return SETTINGS.map((s) => this.resolve(s.key));
  }

  /** The value stored in one file only (for `config get -g`). */
  stored(key: string, where: 'global' | 'project'): string | undefined {
    this.definition(key);
    const file = where === 'global' ? this.global : this.project;
    return file ? readKey(file.doc, key) : undefined;
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
    if (where === 'global') {
      this.global.doc.setIn(key.split('.'), typed);
      await this.save(this.global);
      return this.global.path;
    }
    if (!this.project) {
      if (resolve(this.projectFile) === resolve(this.global.path)) {
        throw new UsageError(`no project here: ${this.projectFile} is the global file; run this in your project's directory, or pass -g`);
      }
      this.project = { path: this.projectFile, doc: new this.yaml.Document({}) };
    }
    this.project.doc.setIn(key.split('.'), typed);
    await this.save(this.project);
    return this.project.path;
  }

  /** Removes a key from one file; returns whether it was there. */
  async unset(key: string, where: 'global' | 'project'): Promise<boolean> {
    this.definition(key);
    const file = where === 'global' ? this.global : this.project;
    if (!file || readKey(file.doc, key) === undefined) return false;
    file.doc.deleteIn(key.split('.'));
    await this.save(file);
    return true;
  }

  /** The domain of the current login (`context` in the global file). */
  currentDomain(): string | undefined {
    const value = this.global.doc.get('context');
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  context(domain: string): ContextEntry | undefined {
    const node = this.global.doc.getIn(['contexts', domain]);
    if (!node || typeof node !== 'object') return undefined;
    const entry = (node as { toJSON(): unknown }).toJSON() as Partial<ContextEntry>;
    return typeof entry.apiUrl === 'string' ? (entry as ContextEntry) : undefined;
  }

  contextDomains(): string[] {
    const node = this.global.doc.get('contexts');
    if (!node || typeof node !== 'object') return [];
    return Object.keys((node as { toJSON(): Record<string, unknown> }).toJSON() ?? {});
  }

  async saveContext(domain: string, entry: ContextEntry, makeCurrent: boolean): Promise<void> {
    const clean = Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined && v !== ''));
    this.global.doc.setIn(['contexts', domain], this.global.doc.createNode(clean));
    if (makeCurrent) this.global.doc.set('context', domain);
    await this.save(this.global);
  }

  async removeContext(domain: string): Promise<void> {
    this.global.doc.deleteIn(['contexts', domain]);
    if (this.currentDomain() === domain) {
      const next = this.contextDomains()[0];
      if (next) this.global.doc.set('context', next);
      else this.global.doc.delete('context');
    }
    await this.save(this.global);
  }

  private definition(key: string): SettingDefinition {
    const def = findSetting(key);
    if (!def) throw new UsageError(`unknown config key "${key}"; valid keys: ${SETTINGS.map((s) => s.key).join(', ')}`);
    return def;
  }

  private async save(file: LoadedFile): Promise<void> {
    await writeFileAtomic(file.path, file.doc.toString());
  }
}

async function loadFile(yaml: Yaml, path: string): Promise<LoadedFile> {
  const text = await readOptional(path);
  const doc = yaml.parseDocument(text ?? '');
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    throw new UserError(`cannot read ${path}${line ? ` (line ${line})` : ''}: ${first.message.split('\n')[0]}; fix or remove the file`);
  }
  if (doc.contents === null) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
  return { path, doc };
}

function readKey(doc: Document, key: string): string | undefined {
  const value = doc.getIn(key.split('.'));
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') return undefined;
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
