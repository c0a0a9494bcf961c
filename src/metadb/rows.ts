import type { FernetKeys } from '../airflow/fernet.js';
import { hasKeys, type AirflowConnection, type AirflowPool, type AirflowVariable } from '../airflow/model.js';
import { flatObjectDumps, pythonJsonDumps } from '../airflow/pyjson.js';
import { copyValue, CopyText } from './copy.js';
import { fernetEncryptTexts, type TokenTexts } from './fernet-batch.js';
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

/**
 * The values of a batch that are stored encrypted when there is a key (every secret column of the batch together:
 * one encryption pass), as plaintext without one. `add` answers the value's index, -1 for NULL.
 */
class Secrets {
  private readonly plain: string[] = [];
  private tokens: TokenTexts | null = null;

  add(value: string | null): number {
    if (value === null) return -1;
    this.plain.push(value);
    return this.plain.length - 1;
  }

  encrypt(keys: FernetKeys | null): void {
    if (keys) this.tokens = fernetEncryptTexts(keys, this.plain);
  }

  /** Valid only right after encrypt (the tokens are in the encryption module's memory). */
  write(out: CopyText, j: number): void {
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
      const secrets = new Secrets();
      const password = new Int32Array(n);
      const extra = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const c = rows[i]!;
        // Connection.set_password / set_extra: only a non-empty value is stored (and encrypted); '' or None stays NULL.
        password[i] = secrets.add(c.password ? c.password : null);
        extra[i] = secrets.add(c.extra && hasKeys(c.extra) ? (flatObjectDumps(c.extra) ?? pythonJsonDumps(c.extra)) : null);
      }
      secrets.encrypt(keys);
      for (let i = 0; i < n; i++) {
        const c = rows[i]!;
        out.text(
          `${copyValue(c.conn_id)}\t${copyValue(c.conn_type)}\t${withDescription ? `${copyValue(c.description)}\t` : ''}` +
            `${copyValue(c.host)}\t${copyValue(c.schema)}\t${copyValue(c.login)}\t`,
        );
        secrets.write(out, password[i]!);
        // The flags say whether the stored value is a token (FACTS.md §2): never for NULL, never without a key.
        out.text(`\t${copyValue(c.port)}\t${keys !== null && password[i]! >= 0 ? 't' : 'f'}\t${keys !== null && extra[i]! >= 0 ? 't' : 'f'}\t`);
        secrets.write(out, extra[i]!);
        out.text('\n');
      }
      return out.take();
    },
  };
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
      const vals = new Secrets();
      const at = rows.map((v) => vals.add(v.value));
      vals.encrypt(keys);
      rows.forEach((v, i) => {
        out.text(`${copyValue(v.key)}\t`);
        vals.write(out, at[i]!);
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
