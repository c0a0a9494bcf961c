import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '../pg/driver.js';
import { quoteIdent } from './schema.js';

/**
 * The Airflow schema fixtures (fixtures/airflow-schema/<version>.sql): the tables envmgr touches, as each Airflow
 * version leaves them on Postgres. For tests, the demo and the benchmarks.
 */

export const AIRFLOW_SCHEMA_VERSIONS = ['2.7', '2.10', '3.0', '3.1', '3.2'] as const;
export type AirflowSchemaVersion = (typeof AIRFLOW_SCHEMA_VERSIONS)[number];

/** src/metadb and dist/metadb are both two levels below the package root. */
export function schemaFixturePath(version: AirflowSchemaVersion): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  return join(root, 'fixtures', 'airflow-schema', `${version}.sql`);
}

/**
 * Creates the fixture's tables in the database at `url` (in `schema` when given, as `[database] sql_alchemy_schema`
 * would put them).
 */
export async function loadSchemaFixture(url: string, version: AirflowSchemaVersion, options: { schema?: string } = {}): Promise<void> {
  if (!AIRFLOW_SCHEMA_VERSIONS.includes(version)) {
    throw new Error(`no Airflow schema fixture for ${String(version)} (have ${AIRFLOW_SCHEMA_VERSIONS.join(', ')})`);
  }
  const sql = await readFile(schemaFixturePath(version), 'utf8');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    if (options.schema) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(options.schema)}`);
      await client.query(`SET LOCAL search_path TO ${quoteIdent(options.schema)}`);
    }
    await client.query(sql);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}
