import type pg from 'pg';
import { AirflowDbError } from './connect.js';

/**
 * What kind of Airflow schema a metadata database holds: the columns envmgr reads and writes (which vary with the
 * Airflow version, FACTS.md §1) and the Airflow version they came from (alembic_version, else the columns).
 */

export type UriVariant = '2' | '3.1' | '3.1.6';

export interface AirflowSchemaInfo {
  /** The Postgres schema holding Airflow's tables. */
  readonly schema: string;
  /** Quoted, schema-qualified table names for SQL. */
  readonly tables: { readonly connection: string; readonly variable: string; readonly pool: string; readonly syncState: string };
  /** alembic_version's row (null when the table or row is missing). */
  readonly revision: string | null;
  /** Airflow release whose head revision this is (e.g. `3.1.0`), null when the revision is not in the map. */
  readonly airflowVersion: string | null;
  /** A human label such as `Airflow 3.2.0 (revision 658517c60c7f)` or `Airflow >= 3.2 (from its columns)`. */
  readonly label: string;
  readonly columns: { readonly connection: ReadonlySet<string>; readonly variable: ReadonlySet<string>; readonly pool: ReadonlySet<string> };
  /**
   * The width of each column that has one (`varchar(n)`, `char(n)`: at most n characters), by table: which vary
   * with the Airflow version (FACTS.md §1.1: before 2.8, `login varchar(500)` and `password varchar(5000)`).
   */
  readonly widths: ColumnWidths;
  readonly has: {
    readonly connectionDescription: boolean;
    readonly variableDescription: boolean;
    readonly poolDescription: boolean;
    readonly includeDeferred: boolean;
    readonly teamId: boolean;
    readonly teamName: boolean;
  };
  /** Which of Airflow's URI dialects this installation parses (FACTS.md §3.3). */
  readonly uriVariant: UriVariant;
}

/**
 * Head revisions per release (`_REVISION_HEADS_MAP` in airflow/utils/db.py on v2-10-stable and in
 * airflow-core/src/airflow/utils/db.py), plus 3.1.8's (82dbd68e6171, revises cc92b33c6709). Patch releases without
 * migrations keep the previous head.
 */
export const AIRFLOW_REVISIONS: Readonly<Record<string, string>> = {
  e959f08ac86c: '2.0.0',
  '2e42bb497a22': '2.0.2',
  a13f7613ad25: '2.1.0',
  '7b2661a43ba3': '2.2.0',
  b1b348e02d07: '2.3.0',
  ecb43d2a1842: '2.4.0',
  '290244fb8b83': '2.5.0',
  '98ae134e6fff': '2.6.0',
  c804e5c76e3e: '2.6.2',
  '4bc4d934e2bc': '2.6.2',
  '405de8318b3a': '2.7.0',
  '10b52ebd31f7': '2.8.0',
  '88344c1d9134': '2.8.1',
  '1949afb29106': '2.9.0',
  '686269002441': '2.9.2',
  '22ed7efa9da2': '2.10.0',
  '5f2621c13b39': '2.10.3',
  '29ce7909c52b': '3.0.0',
  fe199e1abd77: '3.0.3',
  cc92b33c6709: '3.1.0',
  '82dbd68e6171': '3.1.8',
  '658517c60c7f': '3.2.0',
};

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * URI dialect of a release. 3.1.0 to 3.1.7 share one head revision, so a database at cc92b33c6709 may be 3.1.6+
 * (which JSON-decodes query values); we cannot tell and answer '3.1'.
 */
export function uriVariantForVersion(version: string): UriVariant {
  if (compareVersions(version, '3.1.6') >= 0) return '3.1.6';
  if (compareVersions(version, '3.1.0') >= 0) return '3.1';
  return '2';
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export const SYNC_STATE_TABLE = 'envmgr_sync_state';

/**
 * envmgr's own table in that schema: absent, as this version keeps it (one row holding the whole state as a JSON
 * document), or as envmgr 0.1 kept it (a row per object: kind, key, source, content_hash, row_hash, written_at),
 * which is read as it is and replaced by the current form at the next write.
 */
export type SyncStateTable = 'absent' | 'current' | 'rows';

export type ColumnWidths = { readonly connection: ReadonlyMap<string, number>; readonly variable: ReadonlyMap<string, number>; readonly pool: ReadonlyMap<string, number> };

/**
 * The first half of detection, from one catalog query: the schema, its tables, the columns of Airflow's tables and
 * whether envmgr's own table is there (an answer valid inside the transaction that asked). `revisionQuery` reads
 * alembic_version (null when there is none); `schemaInfoOf` finishes with its rows.
 */
export interface SchemaCatalog {
  readonly schema: string;
  readonly tables: AirflowSchemaInfo['tables'];
  readonly columns: AirflowSchemaInfo['columns'];
  readonly widths: ColumnWidths;
  readonly syncStateTable: SyncStateTable;
  readonly revisionQuery: string | null;
}

export async function readSchemaCatalog(client: pg.ClientBase, options: { schema?: string } = {}): Promise<SchemaCatalog> {
  // The schema (the configured one, or the first of the search_path), its Airflow tables' columns and envmgr's
  // table in one query, from the catalogs directly: information_schema.columns costs several milliseconds more for
  // the same answer. envmgr's table counts whatever kind of relation holds the name (as to_regclass would).
  // A column's width: varchar(n) and char(n) (type oids 1043, 1042) keep n + 4 in atttypmod, -1 when unbounded.
  const { rows } = await client.query<{ schema_name: string | null; table_name: string | null; column_name: string | null; width: number | null }>(
    `SELECT s.name AS schema_name, c.relname AS table_name, a.attname AS column_name,
            CASE WHEN a.atttypid IN (1042, 1043) AND a.atttypmod > 4 THEN a.atttypmod - 4 END AS width
       FROM (SELECT COALESCE($1::text, current_schema()) AS name) s
       LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = s.name
       LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND (
            c.relname IN ('connection', 'variable', 'slot_pool', 'alembic_version') AND c.relkind IN ('r', 'p', 'v', 'f', 'm')
         OR c.relname = '${SYNC_STATE_TABLE}')
       LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped`,
    [options.schema ? options.schema : null],
  );
  const schema = rows[0]?.schema_name;
  if (!schema) throw new AirflowDbError('the database has no current schema (empty search_path); set [database] sql_alchemy_schema');
  const columns = { connection: new Set<string>(), variable: new Set<string>(), pool: new Set<string>(), alembic: new Set<string>() };
  const widths = { connection: new Map<string, number>(), variable: new Map<string, number>(), pool: new Map<string, number>() };
  let syncStateTable: SyncStateTable = 'absent';
  for (const row of rows) {
    if (row.table_name === null) continue;
    if (row.table_name === SYNC_STATE_TABLE) {
      if (row.column_name === 'state') syncStateTable = 'current';
      else if (syncStateTable === 'absent') syncStateTable = 'rows';
      continue;
    }
    if (row.column_name === null) continue;
    const table = row.table_name === 'connection' ? 'connection' : row.table_name === 'variable' ? 'variable' : row.table_name === 'slot_pool' ? 'pool' : 'alembic';
    columns[table].add(row.column_name);
    if (table !== 'alembic' && row.width !== null) widths[table].set(row.column_name, row.width);
  }
  const missing = (['connection', 'variable', 'pool'] as const).filter((t) => columns[t].size === 0);
  if (missing.length > 0) {
    throw new AirflowDbError(
      `schema ${schema} does not hold Airflow's ${missing.map((t) => (t === 'pool' ? 'slot_pool' : t)).join(', ')} ` +
        `table${missing.length > 1 ? 's' : ''}; is this an Airflow metadata database (and is [database] sql_alchemy_schema right)?`,
    );
  }
  const need: Array<[string, ReadonlySet<string>, string[]]> = [
    ['connection', columns.connection, ['conn_id', 'conn_type', 'host', 'schema', 'login', 'password', 'port', 'extra', 'is_encrypted', 'is_extra_encrypted']],
    ['variable', columns.variable, ['key', 'val', 'is_encrypted']],
    ['slot_pool', columns.pool, ['pool', 'slots']],
  ];
  for (const [table, have, cols] of need) {
    const absent = cols.filter((c) => !have.has(c));
    if (absent.length > 0) {
      throw new AirflowDbError(`Airflow's ${table} table in schema ${schema} lacks column(s) ${absent.join(', ')}; this Airflow is too old for envmgr`);
    }
  }
  const q = quoteIdent(schema);
  return {
    schema,
    tables: {
      connection: `${q}.${quoteIdent('connection')}`,
      variable: `${q}.${quoteIdent('variable')}`,
      pool: `${q}.${quoteIdent('slot_pool')}`,
      syncState: `${q}.${quoteIdent(SYNC_STATE_TABLE)}`,
    },
    columns: { connection: columns.connection, variable: columns.variable, pool: columns.pool },
    widths,
    syncStateTable,
    revisionQuery: columns.alembic.has('version_num') ? `SELECT version_num AS v FROM ${q}.alembic_version LIMIT 2` : null,
  };
}

/** The schema's description from its catalog and the rows of its revisionQuery (null when it has none). */
export function schemaInfoOf(catalog: SchemaCatalog, revisionRows: ReadonlyArray<{ v: string | null }> | null): AirflowSchemaInfo {
  const { columns, widths } = catalog;
  // A database in the middle of a branch merge can have two rows; the version is then unknown.
  const revision = revisionRows && revisionRows.length === 1 ? (revisionRows[0]?.v ?? null) : null;
  const has = {
    connectionDescription: columns.connection.has('description'),
    variableDescription: columns.variable.has('description'),
    poolDescription: columns.pool.has('description'),
    includeDeferred: columns.pool.has('include_deferred'),
    teamId: columns.connection.has('team_id'),
    teamName: columns.connection.has('team_name'),
  };
  const airflowVersion = revision ? (AIRFLOW_REVISIONS[revision] ?? null) : null;
  let label: string;
  let uriVariant: UriVariant;
  if (airflowVersion) {
    label = `Airflow ${airflowVersion} (revision ${revision})`;
    uriVariant = uriVariantForVersion(airflowVersion);
  } else {
    const floor = has.teamName ? '3.2' : has.teamId ? '3.1' : has.includeDeferred ? '2.7' : '2.1';
    uriVariant = has.teamName ? '3.1.6' : has.teamId ? '3.1' : '2';
    label = `Airflow >= ${floor} (${revision ? `unknown revision ${revision}` : 'no alembic_version'}; judged from its columns)`;
  }
  return { schema: catalog.schema, tables: catalog.tables, revision, airflowVersion, label, columns, widths, has, uriVariant };
}

export async function detectAirflowSchema(client: pg.ClientBase, options: { schema?: string } = {}): Promise<AirflowSchemaInfo> {
  const catalog = await readSchemaCatalog(client, options);
  const revision = catalog.revisionQuery ? (await client.query<{ v: string }>(catalog.revisionQuery)).rows : null;
  return schemaInfoOf(catalog, revision);
}
