import { badRequest, type FieldError } from './errors.js';
import type { Page } from './repo/listing.js';

export type RawQuery = Record<string, string | string[] | undefined>;

/** Collects every problem of a query string, so one 400 names them all. */
export class QueryReader {
  readonly errors: FieldError[] = [];
  constructor(private readonly raw: RawQuery) {}

  /**
   * A repeated parameter (API.md: `?workspaceIds=a&workspaceIds=b`); empty values are ignored, and a parameter that
   * holds none filters nothing. With `commas`, each value is also split on commas (ids and sort terms hold none);
   * names are taken whole, commas included.
   */
  list(name: string, { commas = false }: { commas?: boolean } = {}): string[] | undefined {
    const value = this.raw[name];
    if (value === undefined) return undefined;
    const values = Array.isArray(value) ? value : [value];
    const items = (commas ? values.flatMap((v) => v.split(',')) : values).filter((v) => v !== '');
    return items.length > 0 ? items : undefined;
  }

  one(name: string): string | undefined {
    const value = this.raw[name];
    if (Array.isArray(value)) {
      this.errors.push({ field: name, message: 'must be given once' });
      return undefined;
    }
    return value === '' ? undefined : value;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.one(name);
    if (value === undefined) return fallback;
    if (value === 'true') return true;
    if (value === 'false') return false;
    this.errors.push({ field: name, message: 'must be true or false' });
    return fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.one(name);
    if (value === undefined) return fallback;
    const n = /^[0-9]{1,10}$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      this.errors.push({ field: name, message: `must be an integer from ${min} to ${max}` });
      return fallback;
    }
    return n;
  }

  enumOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.one(name);
    if (value === undefined) return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    this.errors.push({ field: name, message: `must be one of ${allowed.join(', ')}` });
    return undefined;
  }

  /**
   * `offset`, `limit` and `sorts=<field>:asc|desc` (repeatable). `columns` maps API field names to SQL columns; the
   * ORDER BY is assembled from that fixed map only, ending with `tieBreak` so pages are stable.
   */
  page(columns: Record<string, string>, defaultOrder: string, tieBreak: string): Page {
    const offset = this.int('offset', 0, 0, 1_000_000_000);
    const limit = this.int('limit', 20, 1, 1000);
    const terms: string[] = [];
    for (const sort of this.list('sorts', { commas: true }) ?? []) {
      const [field, direction = 'asc', rest] = sort.split(':');
      const column = field === undefined ? undefined : columns[field];
      const dir = direction.toLowerCase();
      if (!column || rest !== undefined || (dir !== 'asc' && dir !== 'desc')) {
        this.errors.push({ field: 'sorts', message: `must be <field>:asc|desc with field one of ${Object.keys(columns).join(', ')} (got "${sort.slice(0, 100)}")` });
        continue;
      }
      terms.push(`${column} ${dir.toUpperCase()}`);
    }
    const orderBy = `${terms.length > 0 ? terms.join(', ') : defaultOrder}, ${tieBreak}`;
    return { offset, limit, orderBy };
  }

  done(): void {
    if (this.errors.length > 0) {
      throw badRequest(`invalid query: ${this.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, this.errors);
    }
  }
}
