import type { FernetKeys } from '../airflow/fernet.js';
import type { AirflowConnection, AirflowObjectKind, AirflowPool, AirflowVariable } from '../airflow/model.js';
import { codePoints } from '../airflow/validate.js';
import { storedExtra, storedPassword } from './rows.js';
import type { AirflowSchemaInfo } from './schema.js';

/**
 * Values wider than the column they go to. Postgres refuses such a row (`value too long for type character
 * varying(n)`) and the whole transaction with it; this finds them before anything is written, per object and field.
 * The widths are the database's own (schema.ts reads them): they differ between Airflow versions (FACTS.md §1.1:
 * before 2.8, `login varchar(500)` and `password varchar(5000)`, and the password is stored as its Fernet token).
 * Lengths are in characters, as Postgres counts them for varchar(n).
 */

export type WidthObject =
  | { kind: 'connection'; object: AirflowConnection }
  | { kind: 'variable'; object: AirflowVariable }
  | { kind: 'pool'; object: AirflowPool };

export interface WidthProblem {
  /** Index of the object in the list given. */
  index: number;
  /** The model field (`login`, `password`, `value`, `name`, …). */
  field: string;
  message: string;
}

/** Characters of the Fernet token of a text of `bytes` UTF-8 bytes: version, time, IV, padded blocks, HMAC; base64. */
export function fernetTokenLength(bytes: number): number {
  const raw = 1 + 8 + 16 + 16 * (Math.floor(bytes / 16) + 1) + 32;
  return 4 * Math.ceil(raw / 3);
}

/** A column, the model field it holds, and whether Airflow encrypts it when there is a key. */
type Column<T> = readonly [column: string, field: string, value: (o: T) => string | null | undefined, secret: boolean];

const CONNECTION: ReadonlyArray<Column<AirflowConnection>> = [
  ['conn_id', 'conn_id', (c) => c.conn_id, false],
  ['conn_type', 'conn_type', (c) => c.conn_type, false],
  ['description', 'description', (c) => c.description, false],
  ['host', 'host', (c) => c.host, false],
  ['schema', 'schema', (c) => c.schema, false],
  ['login', 'login', (c) => c.login, false],
  ['password', 'password', storedPassword, true],
  ['extra', 'extra', storedExtra, true],
];
const VARIABLE: ReadonlyArray<Column<AirflowVariable>> = [
  ['key', 'key', (v) => v.key, false],
  ['val', 'value', (v) => v.value, true],
  ['description', 'description', (v) => v.description, false],
];
const POOL: ReadonlyArray<Column<AirflowPool>> = [
  ['pool', 'name', (p) => p.name, false],
  ['description', 'description', (p) => p.description, false],
];

const TABLE: Record<AirflowObjectKind, { table: string; widths: (info: AirflowSchemaInfo) => ReadonlyMap<string, number> }> = {
  connection: { table: 'connection', widths: (info) => info.widths.connection },
  variable: { table: 'variable', widths: (info) => info.widths.variable },
  pool: { table: 'slot_pool', widths: (info) => info.widths.pool },
};

/** Why Airflow's newer releases do not meet this limit, where they do not. */
function laterNote(kind: AirflowObjectKind, column: string): string {
  if (kind === 'connection' && (column === 'login' || column === 'password')) return ' (Airflow 2.8 and later store it as text, without a limit)';
  return '';
}

export function storedWidthProblems(objects: readonly WidthObject[], info: AirflowSchemaInfo, keys: FernetKeys | null): WidthProblem[] {
  const out: WidthProblem[] = [];
  const check = <T>(kind: AirflowObjectKind, columns: ReadonlyArray<Column<T>>, wanted: (o: WidthObject) => T | undefined) => {
    const widths = TABLE[kind].widths(info);
    const bounded = columns.filter(([column]) => widths.has(column) && info.columns[kind].has(column));
    if (bounded.length === 0) return;
    objects.forEach((o, index) => {
      const object = wanted(o);
      if (object === undefined) return;
      for (const [column, field, value, secret] of bounded) {
        const text = value(object);
        if (typeof text !== 'string') continue;
        const max = widths.get(column)!;
        const encrypted = secret && keys !== null;
        // UTF-16 units are never fewer than characters, nor UTF-8 bytes fewer than characters: most texts need no count.
        if (!encrypted && text.length <= max) continue;
        const stored = encrypted ? fernetTokenLength(Buffer.byteLength(text, 'utf8')) : codePoints(text);
        if (stored <= max) continue;
        const length = encrypted ? codePoints(text) : stored;
        const what = encrypted
          ? `${field} is ${length} characters long and ${stored} once encrypted (Airflow stores its Fernet token)`
          : `${field} is ${length} characters long`;
        out.push({
          index, field,
          message: `${what}; this database's ${TABLE[kind].table}.${column} column holds at most ${max}${laterNote(kind, column)}`,
        });
      }
    });
  };
  check<AirflowConnection>('connection', CONNECTION, (o) => (o.kind === 'connection' ? o.object : undefined));
  check<AirflowVariable>('variable', VARIABLE, (o) => (o.kind === 'variable' ? o.object : undefined));
  check<AirflowPool>('pool', POOL, (o) => (o.kind === 'pool' ? o.object : undefined));
  return out.sort((a, b) => a.index - b.index);
}
