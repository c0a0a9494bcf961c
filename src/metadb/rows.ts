import type { FernetKeys } from '../airflow/fernet.js';
import type { AirflowConnection, AirflowPool, AirflowVariable } from '../airflow/model.js';
import { pythonJsonDumps } from '../airflow/pyjson.js';
import { copyValue, CopyText } from './copy.js';
import { fernetEncryptTexts, type TokenTexts } from './fernet-batch.js';
import type { AirflowSchemaInfo } from './schema.js';

/**
 * Airflow rows as COPY text, a batch at a time, values encrypted exactly as Airflow's models encrypt them (FACTS.md
 * §2). No database access here (rows-worker.ts builds connection rows with it on another thread).
 */

/** A table being written: its columns (in COPY order), its unique key, and how a batch of rows becomes COPY text. */
export interface RowsSpec<T> {
  table: string;
  conflict: readonly string[];
  columns: readonly string[];
  /** COPY text lines (each ending in "\n") for a batch of rows. */
  chunk(rows: readonly T[]): Buffer;
}

/**
 * Values to store, encrypted when there is a key: `at(i)` is where value i's token is in `tokens` (-1 for NULL).
 * Without a key the plaintext is stored.
 */
class SecretColumn {
  private readonly plain: string[] = [];
  private readonly index: Int32Array;
  private tokens: TokenTexts | null = null;

  constructor(n: number) {
    this.index = new Int32Array(n).fill(-1);
  }

  set(i: number, value: string | null): void {
    if (value === null) return;
    this.index[i] = this.plain.length;
    this.plain.push(value);
  }

  isNull(i: number): boolean {
    return this.index[i]! < 0;
  }

  encrypt(keys: FernetKeys | null): void {
    if (keys) this.tokens = fernetEncryptTexts(keys, this.plain);
  }

  write(out: CopyText, i: number): void {
    const j = this.index[i]!;
    if (j < 0) out.text('\\N');
    else if (this.tokens) out.bytes(this.tokens.data, this.tokens.starts[j]!, this.tokens.ends[j]!);
    else out.text(copyValue(this.plain[j]!));
  }
}

export function connectionSpec(info: AirflowSchemaInfo, keys: FernetKeys | null): RowsSpec<AirflowConnection> {
  const withDescription = info.has.connectionDescription;
  const out = new CopyText();
  return {
    table: info.tables.connection,
    conflict: ['conn_id'],
    columns: ['conn_id', 'conn_type', ...(withDescription ? ['description'] : []), 'host', 'schema', 'login', 'password', 'port', 'is_encrypted', 'is_extra_encrypted', 'extra'],
    chunk(rows) {
      const n = rows.length;
      const password = new SecretColumn(n);
      const extra = new SecretColumn(n);
      for (let i = 0; i < n; i++) {
        const c = rows[i]!;
        // Connection.set_password / set_extra: only a non-empty value is stored (and encrypted); '' or None stays NULL.
        password.set(i, c.password ? c.password : null);
        extra.set(i, c.extra && hasKeys(c.extra) ? pythonJsonDumps(c.extra) : null);
      }
      password.encrypt(keys);
      extra.encrypt(keys);
      for (let i = 0; i < n; i++) {
        const c = rows[i]!;
        out.text(
          `${copyValue(c.conn_id)}\t${copyValue(c.conn_type)}\t${withDescription ? `${copyValue(c.description)}\t` : ''}` +
            `${copyValue(c.host)}\t${copyValue(c.schema)}\t${copyValue(c.login)}\t`,
        );
        password.write(out, i);
        // The flags say whether the stored value is a token (FACTS.md §2): never for NULL, never without a key.
        out.text(`\t${copyValue(c.port)}\t${keys !== null && !password.isNull(i) ? 't' : 'f'}\t${keys !== null && !extra.isNull(i) ? 't' : 'f'}\t`);
        extra.write(out, i);
        out.text('\n');
      }
      return out.take();
    },
  };
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

export function variableSpec(info: AirflowSchemaInfo, keys: FernetKeys | null): RowsSpec<AirflowVariable> {
  const withDescription = info.has.variableDescription;
  const out = new CopyText();
  return {
    table: info.tables.variable,
    conflict: ['key'],
    columns: ['key', 'val', ...(withDescription ? ['description'] : []), 'is_encrypted'],
    chunk(rows) {
      // Variable.set_val encrypts any non-None value, '' included.
      const vals = new SecretColumn(rows.length);
      rows.forEach((v, i) => vals.set(i, v.value));
      vals.encrypt(keys);
      rows.forEach((v, i) => {
        out.text(`${copyValue(v.key)}\t`);
        vals.write(out, i);
        out.text(`\t${withDescription ? `${copyValue(v.description)}\t` : ''}${keys !== null ? 't' : 'f'}\n`);
      });
      return out.take();
    },
  };
}

export function poolSpec(info: AirflowSchemaInfo): RowsSpec<AirflowPool> {
  const { poolDescription, includeDeferred } = info.has;
  return {
    table: info.tables.pool,
    conflict: ['pool'],
    columns: ['pool', 'slots', ...(poolDescription ? ['description'] : []), ...(includeDeferred ? ['include_deferred'] : [])],
    chunk(rows) {
      let text = '';
      for (const p of rows) {
        text += `${copyValue(p.name)}\t${copyValue(p.slots)}${poolDescription ? `\t${copyValue(p.description)}` : ''}` +
          `${includeDeferred ? `\t${p.include_deferred === true ? 't' : 'f'}` : ''}\n`;
      }
      return Buffer.from(text, 'utf8');
    },
  };
}
