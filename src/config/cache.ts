import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './files.js';

interface Entry {
  text: string;
  data: Record<string, unknown>;
}

/**
 * The parsed form of each config file, keyed by its path and valid only for the exact text it was parsed from
 * (so an edit by hand, whatever its timestamp, is seen). It lets a command that only reads the configuration skip
 * loading the YAML library, which is most of `envmgr config get`'s start-up time. Best effort: a missing or
 * unreadable cache only means parsing again. Config files hold no secret, so neither does this.
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
    this.load()[file] = { text, data: structuredClone(data) };
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      await writeFileAtomic(this.path, JSON.stringify({ version: 1, entries: this.entries }));
    } catch {
      // Read-only home or full disk: the cache is an optimisation only.
    }
  }

  private load(): Record<string, Entry> {
    if (!this.entries) {
      try {
        const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as { version?: number; entries?: Record<string, Entry> };
        this.entries = parsed.version === 1 && parsed.entries ? parsed.entries : {};
      } catch {
        this.entries = {};
      }
    }
    return this.entries;
  }
}
