import type { FernetKeys } from '../airflow/fernet.js';
import { hasKeys, type AirflowConnection, type AirflowPool, type AirflowVariable } from '../airflow/model.js';
import { flatObjectDumps, pythonJsonDumps } from '../airflow/pyjson.js';
import { fernetEncryptTexts } from './fernet-batch.js';
import { fernetCore, HEAP } from './fernet-core.js';
import type { AirflowSchemaInfo } from './schema.js';

/**
 * Airflow rows as COPY text, a batch at a time, values encrypted exactly as Airflow's models encrypt them (FACTS.md
 * §2). No database access here.
 */

/** A table being written: its columns (in COPY order), its unique key, and how a batch of rows becomes COPY text. */
export interface RowsSpec<T> {
  table: string;
  conflict: readonly string[];
  columns: readonly string[];
  /** COPY text lines (each ending in "\n") for a batch of rows. */
  chunk(rows: readonly T[]): Buffer;
}

/** Cell codes of CopyRows (see copyRows in fernet-core.wat); a code >= 0 is a text cell of that many bytes. */
const NULL = -1;
const TOKEN = -2;
const TRUE = -3;
const FALSE = -4;

/**
 * A batch of rows as COPY text, assembled in the Fernet module's memory: the cells' text goes there as one string,
 * the values stored encrypted are encrypted there together (one pass for every secret of the batch), and the module
 * writes the rows, escaping the text and putting each token's text in its place. Without a Fernet key a secret is
 * plain text, as Airflow stores it then. Rows are given cell by cell, `width` cells each.
 */
export class CopyRows {
  private parts: string[] = [];
  private cells = new Int32Array(4096);
  private count = 0;
  private secrets: string[] = [];

  constructor(
    private readonly keys: FernetKeys | null,
    private readonly width: number,
  ) {}

  private push(code: number): void {
    if (this.count === this.cells.length) {
      const next = new Int32Array(this.cells.length * 2);
      next.set(this.cells);
      this.cells = next;
    }
    this.cells[this.count++] = code;
  }

  /** A text cell; null or undefined is NULL, a number its decimal text. */
  value(v: string | number | null | undefined): void {
    if (v === null || v === undefined) return this.push(NULL);
    const text = typeof v === 'string' ? v : String(v);
    this.parts.push(text);
    this.push(text.length);
  }

  flag(b: boolean): void {
    this.push(b ? TRUE : FALSE);
  }

  /** A value Airflow stores encrypted when it has a key (as a plain text cell without one); null is NULL. */
  secret(v: string | null): void {
    if (v === null) return this.push(NULL);
    if (this.keys === null) return this.value(v);
    this.secrets.push(v);
    this.push(TOKEN);
  }

  /** The COPY text of the rows given since the last call. */
  take(): Buffer {
    const { parts, secrets, count, width } = this;
    if (count % width !== 0) throw new Error(`COPY rows of ${width} cells were given ${count} cells`);
    this.parts = [];
    this.secrets = [];
    this.count = 0;
    const core = fernetCore();
    // Tokens first (they fill the module's memory from HEAP), then the cells, token ends, text and output after them.
    let tokensAt = HEAP;
    let tokenText = 0;
    let tokenEnds: Int32Array | null = null;
    if (secrets.length > 0) {
      const tokens = fernetEncryptTexts(this.keys!, secrets);
      tokensAt = tokens.data.byteOffset;
      tokenText = tokens.data.byteLength;
      tokenEnds = tokens.ends;
    }
    const joined = parts.join('');
    const bytes = Buffer.byteLength(joined, 'utf8');
    const cells = this.cells.subarray(0, count);
    if (bytes !== joined.length) {
      // Not all ASCII: text cells are measured in bytes one by one.
      for (let i = 0, p = 0; i < count; i++) if (cells[i]! >= 0) cells[i] = Buffer.byteLength(parts[p++]!, 'utf8');
    }
    const cellsAt = (tokensAt + tokenText + 15) & ~15;
    const endsAt = cellsAt + 4 * count;
    const textAt = endsAt + 4 * secrets.length;
    const outAt = textAt + bytes;
    // Escaping at most doubles the text; a NULL takes two bytes, and every cell a separator.
    const mem = core.reserve(outAt + 2 * bytes + tokenText + 3 * count);
    new Int32Array(mem.buffer, cellsAt, count).set(cells);
    if (tokenEnds) new Int32Array(mem.buffer, endsAt, secrets.length).set(tokenEnds);
    mem.write(joined, textAt, bytes === joined.length ? 'latin1' : 'utf8');
    const end = core.fn.copyRows(count, width, cellsAt, textAt, tokensAt, endsAt, outAt);
    const out = Buffer.allocUnsafe(end - outAt);
    mem.copy(out, 0, outAt, end);
    // The text may hold plaintext secrets (no Fernet key): the module's memory keeps no copy of it.
    mem.fill(0, textAt, outAt);
    return out;
  }
}

/** Connection.set_password: only a non-empty password is stored (and encrypted); '' or None stays NULL. */
export function storedPassword(c: { password?: string | null }): string | null {
  return c.password ? c.password : null;
}

/**
 * The text of each extra object, as its connection's digest or COPY row made it: a sync needs it twice (digests and
 * rows, in either order) for every connection it writes. Held no longer than the object.
 */
let extraTexts = new WeakMap<object, string>();

/** Forgets the texts remembered (a sync starts so: its caller may have changed an object since the last one). */
export function forgetStoredExtras(): void {
  extraTexts = new WeakMap();
}

/** Connection.set_extra of a desired connection: json.dumps of a non-empty object, else NULL. */
function storedExtra(c: AirflowConnection): string | null {
  const extra = c.extra;
  if (!extra || !hasKeys(extra)) return null;
  let text = extraTexts.get(extra);
  if (text === undefined) extraTexts.set(extra, (text = flatObjectDumps(extra) ?? pythonJsonDumps(extra)));
  return text;
}

/**
 * Whether JSON.stringify writes this extra as json.dumps does but for the separators: a plain object of strings,
 * integers, booleans, nulls (and undefined, which both leave out). Its strings and keys are checked afterwards, in
 * the whole text at once (see storedExtras).
 */
function stringifiesLikePython(record: Record<string, unknown>): boolean {
  const proto: unknown = Object.getPrototypeOf(record);
  if (proto !== Object.prototype && proto !== null) return false;
  // Own keys only: a plain object inherits none that enumerate.
  for (const key in record) {
    const v = record[key];
    const type = typeof v;
    if (!(type === 'string' || type === 'boolean' || type === 'undefined' || v === null || (type === 'number' && Number.isInteger(v)))) return false;
  }
  return true;
}

/** Printable ASCII: JSON.stringify's text without a backslash holds no string json.dumps would escape. */
const UNESCAPED = /^[\x20-\x5b\x5d-\x7e]*$/;

/**
 * `storedExtra` of many connections (a sync's): the usual flat extras are written by one JSON.stringify, split in
 * the Fernet module, which also puts in json.dumps' blanks after "," and ":"; the rest one by one.
 */
export function storedExtras(cs: readonly AirflowConnection[]): Array<string | null> {
  const out = new Array<string | null>(cs.length);
  const flat: Array<Record<string, unknown>> = [];
  const at: number[] = [];
  for (let i = 0; i < cs.length; i++) {
    const extra = cs[i]!.extra;
    const known = extra ? extraTexts.get(extra) : undefined;
    if (known !== undefined) out[i] = known;
    else if (!extra || !hasKeys(extra) || !stringifiesLikePython(extra)) out[i] = storedExtra(cs[i]!);
    else {
      flat.push(extra);
      at.push(i);
    }
  }
  if (flat.length === 0) return out;
  const texts = dumpsOfFlat(flat);
  for (let j = 0; j < flat.length; j++) {
    const text = texts ? texts[j]! : (flatObjectDumps(flat[j]!) ?? pythonJsonDumps(flat[j]!));
    extraTexts.set(flat[j]!, text);
    out[at[j]!] = text;
  }
  return out;
}

/** json.dumps of flat objects that stringify like Python's, in one pass; null when a string or key needs escaping. */
function dumpsOfFlat(records: ReadonlyArray<Record<string, unknown>>): string[] | null {
  const json = JSON.stringify(records);
  if (!UNESCAPED.test(json)) return null;
  const n = records.length;
  const core = fernetCore();
  const startsAt = HEAP;
  const endsAt = startsAt + 4 * n;
  const textAt = endsAt + 4 * n;
  const dst = textAt + json.length;
  // A blank after each separator at most doubles the text.
  const mem = core.reserve(dst + 2 * json.length);
  mem.write(json, textAt, 'latin1');
  const found = core.fn.splitRows(textAt, textAt + json.length, startsAt, endsAt, 0x7b, 0x7d);
  if (found !== n) throw new Error(`expected a JSON array of ${n} flat objects, found ${found}`);
  const end = core.fn.pySeparators(n, startsAt, endsAt, dst);
  const all = mem.toString('latin1', dst, end);
  // The text holds extras, which may be secrets: the module's memory keeps no copy of it.
  mem.fill(0, textAt, end);
  const ends = new Int32Array(mem.buffer, endsAt, n);
  const out = new Array<string>(n);
  for (let i = 0, from = 0; i < n; i++) {
    const to = ends[i]! - dst;
    out[i] = all.slice(from, to);
    from = to;
  }
  return out;
}

export function connectionSpec(info: AirflowSchemaInfo, keys: FernetKeys | null): RowsSpec<AirflowConnection> {
  const withDescription = info.has.connectionDescription;
  const columns = ['conn_id', 'conn_type', ...(withDescription ? ['description'] : []), 'host', 'schema', 'login', 'password', 'port', 'is_encrypted', 'is_extra_encrypted', 'extra'];
  const out = new CopyRows(keys, columns.length);
  return {
    table: info.tables.connection,
    conflict: ['conn_id'],
    columns,
    chunk(rows) {
      const extras = storedExtras(rows);
      for (let i = 0; i < rows.length; i++) {
        const c = rows[i]!;
        const password = storedPassword(c);
        const extra = extras[i]!;
        out.value(c.conn_id);
        out.value(c.conn_type);
        if (withDescription) out.value(c.description);
        out.value(c.host);
        out.value(c.schema);
        out.value(c.login);
        out.secret(password);
        out.value(c.port);
        // The flags say whether the stored value is a token (FACTS.md §2): never for NULL, never without a key.
        out.flag(keys !== null && password !== null);
        out.flag(keys !== null && extra !== null);
        out.secret(extra);
      }
      return out.take();
    },
  };
}

export function variableSpec(info: AirflowSchemaInfo, keys: FernetKeys | null): RowsSpec<AirflowVariable> {
  const withDescription = info.has.variableDescription;
  const columns = ['key', 'val', ...(withDescription ? ['description'] : []), 'is_encrypted'];
  const out = new CopyRows(keys, columns.length);
  return {
    table: info.tables.variable,
    conflict: ['key'],
    columns,
    chunk(rows) {
      for (let i = 0; i < rows.length; i++) {
        const v = rows[i]!;
        out.value(v.key);
        // Variable.set_val encrypts any non-None value, '' included.
        out.secret(v.value);
        if (withDescription) out.value(v.description);
        out.flag(keys !== null);
      }
      return out.take();
    },
  };
}

export function poolSpec(info: AirflowSchemaInfo): RowsSpec<AirflowPool> {
  const { poolDescription, includeDeferred } = info.has;
  const columns = ['pool', 'slots', ...(poolDescription ? ['description'] : []), ...(includeDeferred ? ['include_deferred'] : [])];
  const out = new CopyRows(null, columns.length);
  return {
    table: info.tables.pool,
    conflict: ['pool'],
    columns,
    chunk(rows) {
      for (let i = 0; i < rows.length; i++) {
        const p = rows[i]!;
        out.value(p.name);
        out.value(p.slots);
        if (poolDescription) out.value(p.description);
        if (includeDeferred) out.flag(p.include_deferred === true);
      }
      return out.take();
    },
  };
}
