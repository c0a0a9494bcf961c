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
    const ascii = Buffer.byteLength(joined, 'utf8') === joined.length;
    const cells = this.cells.subarray(0, count);
    // Not all ASCII: each text cell is written (and measured) on its own; joined, a lone surrogate ending one cell
    // would pair with one starting the next.
    const bytes = ascii ? joined.length : parts.reduce((sum, part) => sum + Buffer.byteLength(part, 'utf8'), 0);
    const cellsAt = (tokensAt + tokenText + 15) & ~15;
    const endsAt = cellsAt + 4 * count;
    const textAt = endsAt + 4 * secrets.length;
    const outAt = textAt + bytes;
    // Escaping at most doubles the text; a NULL takes two bytes, and every cell a separator.
    const mem = core.reserve(outAt + 2 * bytes + tokenText + 3 * count);
    if (ascii) mem.write(joined, textAt, 'latin1');
    else {
      for (let i = 0, p = 0, at = textAt; i < count; i++) if (cells[i]! >= 0) at += cells[i] = mem.write(parts[p++]!, at, 'utf8');
    }
    new Int32Array(mem.buffer, cellsAt, count).set(cells);
    if (tokenEnds) new Int32Array(mem.buffer, endsAt, secrets.length).set(tokenEnds);
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

/** Connection.set_extra of a desired connection: json.dumps of a non-empty object, else NULL. */
export function storedExtra(c: AirflowConnection): string | null {
  const extra = c.extra;
  return extra && hasKeys(extra) ? (flatObjectDumps(extra) ?? pythonJsonDumps(extra)) : null;
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
      for (let i = 0; i < rows.length; i++) {
        const c = rows[i]!;
        const password = storedPassword(c);
        const extra = storedExtra(c);
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
