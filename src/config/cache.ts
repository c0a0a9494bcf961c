import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { holdsUrlPassword } from '../sync/db-url.js';
import { writeFileAtomic } from './files.js';

interface Entry {
  /** The text the entry was parsed from: the entry is valid for that text only. */
  text: string;
  data: Record<string, unknown>;
  /** The line of each key in `text`. */
  lines: Record<string, number>;
  /** When the entry was last stored or read (ms since the epoch; a read refreshes it at most once per USE_STEP_MS). */
  used: number;
}

export interface CachedConfig {
  data: Record<string, unknown>;
  lines: Record<string, number>;
}

/** The format this version writes; a cache of another one is replaced (an older one may hold a password). */
const VERSION = 3;

/** How many files the cache remembers: the most recently used ones (a project visited once is forgotten in time). */
export const MAX_ENTRIES = 64;

/** A read marks its entry used again only when that is older than this, so that a read seldom costs a write. */
const USE_STEP_MS = 3_600_000;

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

  get(file: string, text: string): CachedConfig | undefined {
    const entry = this.load()[file];
    if (!entry || entry.text !== text) return undefined;
    const now = Date.now();
    if (!(now - entry.used < USE_STEP_MS)) {
      entry.used = now;
      this.dirty = true;
    }
    return { data: structuredClone(entry.data), lines: { ...entry.lines } };
  }

  put(file: string, text: string, data: Record<string, unknown>, lines: Record<string, number> = {}): void {
    const entries = this.load();
    if (holdsPassword(data)) {
      if (file in entries) {
        delete entries[file];
        this.dirty = true;
      }
      return;
    }
    entries[file] = { text, data: structuredClone(data), lines: { ...lines }, used: Date.now() };
    this.dirty = true;
  }

  /**
   * Writes the cache when anything changed. Entries of files that no longer exist are dropped then (a deleted
   * project's config text is not kept), and only the MAX_ENTRIES most recently used are kept.
   */
  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const kept = Object.entries(this.load())
      .filter(([file]) => existsSync(file))
      .sort(([, a], [, b]) => (b.used || 0) - (a.used || 0))
      .slice(0, MAX_ENTRIES);
    this.entries = Object.fromEntries(kept);
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
