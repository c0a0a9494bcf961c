import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { holdsUrlPassword } from '../sync/db-url.js';
import { writeFileAtomic } from './files.js';

interface Entry {
  /** The text the entry was parsed from: the entry is valid for that text only. */
  text: string;
  data: Record<string, unknown>;
}

/** The format this version writes; a cache of another one is replaced (an older one may hold a password). */
const VERSION = 2;

/** Whether any string in a parsed config file holds a URL with a password (as dev.db_url may). */
function holdsPassword(value: unknown): boolean {
  if (typeof value === 'string') return holdsUrlPassword(value);
  if (value !== null && typeof value === 'object') return Object.values(value).some(holdsPassword);
  return false;
}

/**
 * The parsed form of each config file, keyed by its path and valid only for the exact text it was parsed from (so
 * an edit by hand, whatever its timestamp, is seen). It lets a command that only reads the configuration
 * skip loading the YAML library, which is most of `envmgr config get`'s start-up time. Best effort: a missing or
 * unreadable cache only means parsing again. A file holding a password (a dev.db_url with one) is never cached, so
 * that the cache holds no secret: the file the user wrote stays the only place it is.
 */
export class ParsedConfigCache {
  private readonly path: string;
  private entries: Record<string, Entry> | undefined;
  private dirty = false;

  constructor(home: string) {
    this.path = join(home, 'cache', 'config-parsed.json');
  }

  get(file: string, text: string): Record<string, unknown> | undefined {
    const entry = this.load()[file];
    return entry && entry.text === text ? structuredClone(entry.data) : undefined;
  }

  put(file: string, text: string, data: Record<string, unknown>): void {
    const entries = this.load();
    if (holdsPassword(data)) {
      if (file in entries) {
        delete entries[file];
        this.dirty = true;
      }
      return;
    }
    entries[file] = { text, data: structuredClone(data) };
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      await writeFileAtomic(this.path, JSON.stringify({ version: VERSION, entries: this.entries }));
    } catch {
      // Read-only home or full disk: the cache is an optimisation only.
    }
  }

  private load(): Record<string, Entry> {
    if (!this.entries) {
      let parsed: { version?: number; entries?: Record<string, Entry> } | undefined;
      try {
        parsed = JSON.parse(readFileSync(this.path, 'utf8')) as typeof parsed;
      } catch {
        parsed = undefined;
      }
      if (parsed?.version === VERSION && parsed.entries) this.entries = parsed.entries;
      else {
        this.entries = {};
        // A cache of another format (or a damaged one) is rewritten at the next save, whatever is put meanwhile.
        if (parsed !== undefined) this.dirty = true;
      }
    }
    return this.entries;
  }
}
