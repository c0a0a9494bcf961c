import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { loadSchemaFixture, type AirflowSchemaVersion } from '../../src/metadb/fixtures.js';
import { detectAirflowSchema, readSchemaCatalog, uriVariantForVersion } from '../../src/metadb/schema.js';
import { syncStateTableStatus } from '../../src/metadb/sync-state.js';
import { createTestDatabase } from '../support/pg.js';
import { openClient } from './helpers.js';

// Expected values from FACTS.md §1 (tables, types, constraint names) and §1.4 (head revisions), written out by hand.
const EXPECTED: Record<AirflowSchemaVersion, {
  revision: string; version: string; uri: '2' | '3.1' | '3.1.6'; login: string; password: string; team: null | 'team_id' | 'team_name';
}> = {
  '2.7': { revision: '405de8318b3a', version: '2.7.0', uri: '2', login: 'character varying(500)', password: 'character varying(5000)', team: null },
  '2.10': { revision: '5f2621c13b39', version: '2.10.3', uri: '2', login: 'text', password: 'text', team: null },
  '3.0': { revision: 'fe199e1abd77', version: '3.0.3', uri: '2', login: 'text', password: 'text', team: null },
  '3.1': { revision: 'cc92b33c6709', version: '3.1.0', uri: '3.1', login: 'text', password: 'text', team: 'team_id' },
  '3.2': { revision: '658517c60c7f', version: '3.2.0', uri: '3.1.6', login: 'text', password: 'text', team: 'team_name' },
};

async function columnTypes(client: pg.Client, table: string): Promise<Record<string, string>> {
  const { rows } = await client.query<{ column_name: string; t: string; nullable: boolean; def: string | null }>(
    `SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS t, NOT a.attnotnull AS nullable,
            pg_get_expr(d.adbin, d.adrelid) AS def
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
    [table],
  );
  return Object.fromEntries(rows.map((r) => [r.column_name, `${r.t}${r.nullable ? '' : ' not null'}${r.def ? ` default ${r.def}` : ''}`]));
}

describe.each(Object.keys(EXPECTED) as AirflowSchemaVersion[])('fixture %s', (version) => {
  const want = EXPECTED[version];
  let client: pg.Client;
  beforeAll(async () => {
    const url = await createTestDatabase('schema');
    await loadSchemaFixture(url, version);
    client = await openClient(url);
  });
  afterAll(async () => {
    await client?.end();
  });

  it('has the columns, types and constraints Airflow leaves', async () => {
    const conn = await columnTypes(client, 'connection');
    expect(conn).toMatchObject({
      id: "integer not null default nextval('connection_id_seq'::regclass)",
      conn_id: 'character varying(250) not null',
      conn_type: 'character varying(500) not null',
      description: 'text',
      host: 'character varying(500)',
      schema: 'character varying(500)',
      login: want.login,
      password: want.password,
      port: 'integer',
      // No server defaults on the flags: every insert must set them.
      is_encrypted: 'boolean',
      is_extra_encrypted: 'boolean',
      extra: 'text',
    });
    expect(await columnTypes(client, 'variable')).toMatchObject({
      key: 'character varying(250)', val: 'text', description: 'text', is_encrypted: 'boolean',
    });
    expect(await columnTypes(client, 'slot_pool')).toMatchObject({
      pool: 'character varying(256)', slots: 'integer', description: 'text', include_deferred: 'boolean not null',
    });
    if (want.team === 'team_id') expect(conn.team_id).toBe('uuid');
    if (want.team === 'team_name') expect(conn.team_name).toBe('character varying(50)');
    if (want.team === null) expect(Object.keys(conn).filter((c) => c.startsWith('team'))).toEqual([]);

    const { rows } = await client.query<{ conname: string; def: string }>(
      `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE conrelid IN ('connection'::regclass, 'variable'::regclass, 'slot_pool'::regclass) ORDER BY conname`,
    );
    const names = rows.map((r) => r.conname);
    expect(names).toEqual(expect.arrayContaining([
      'connection_pkey', 'connection_conn_id_uq', 'variable_pkey', 'variable_key_uq', 'slot_pool_pkey', 'slot_pool_pool_uq',
    ]));
    if (want.team === 'team_id') {
      expect(rows.find((r) => r.conname === 'connection_team_id_fkey')?.def).toBe('FOREIGN KEY (team_id) REFERENCES team(id)');
    }
    if (want.team === 'team_name') {
      expect(rows.find((r) => r.conname === 'variable_team_name_fkey')?.def).toBe('FOREIGN KEY (team_name) REFERENCES team(name) ON DELETE SET NULL');
    }
    const pool = await client.query('SELECT pool, slots, description, include_deferred FROM slot_pool');
    expect(pool.rows).toEqual([{ pool: 'default_pool', slots: 128, description: 'Default pool', include_deferred: false }]);
  });

  it('is detected as the right Airflow', async () => {
    const info = await detectAirflowSchema(client);
    expect(info.schema).toBe('public');
    expect(info.revision).toBe(want.revision);
    expect(info.airflowVersion).toBe(want.version);
    expect(info.label).toBe(`Airflow ${want.version} (revision ${want.revision})`);
    expect(info.uriVariant).toBe(want.uri);
    expect(info.has).toEqual({
      connectionDescription: true, variableDescription: true, poolDescription: true, includeDeferred: true,
      teamId: want.team === 'team_id', teamName: want.team === 'team_name',
    });
  });
});

describe('detectAirflowSchema fallbacks', () => {
  it('judges an unknown revision from the columns', async () => {
    const url = await createTestDatabase('schema');
    await loadSchemaFixture(url, '3.2');
    const client = await openClient(url);
    try {
      await client.query(`UPDATE alembic_version SET version_num = 'aaaabbbbcccc'`);
      const info = await detectAirflowSchema(client);
      expect(info.airflowVersion).toBeNull();
      expect(info.uriVariant).toBe('3.1.6');
      expect(info.label).toBe('Airflow >= 3.2 (unknown revision aaaabbbbcccc; judged from its columns)');
      await client.query('DROP TABLE alembic_version');
      await client.query('ALTER TABLE connection DROP COLUMN team_name');
      await client.query('ALTER TABLE variable DROP COLUMN description');
      const older = await detectAirflowSchema(client);
      expect(older.revision).toBeNull();
      expect(older.uriVariant).toBe('2');
      expect(older.has.variableDescription).toBe(false);
      expect(older.label).toBe('Airflow >= 2.7 (no alembic_version; judged from its columns)');
    } finally {
      await client.end();
    }
  });

  it('refuses a database without Airflow tables', async () => {
    const client = await openClient(await createTestDatabase('schema'));
    try {
      await expect(detectAirflowSchema(client)).rejects.toThrow(/does not hold Airflow's connection, variable, slot_pool tables/);
    } finally {
      await client.end();
    }
  });

  it('looks in the first schema of the search_path, or the one it is given, and says when there is none', async () => {
    const url = await createTestDatabase('schema');
    const client = await openClient(url);
    try {
      await loadSchemaFixture(url, '3.2', { schema: 'airflow_meta' });
      await client.query('SET search_path = airflow_meta, public');
      expect((await detectAirflowSchema(client)).tables.connection).toBe('"airflow_meta"."connection"');
      await client.query('SET search_path = public');
      await expect(detectAirflowSchema(client)).rejects.toThrow(/schema public does not hold Airflow's connection/);
      expect((await detectAirflowSchema(client, { schema: 'airflow_meta' })).tables.connection).toBe('"airflow_meta"."connection"');
      await client.query(`SET search_path = ''`);
      await expect(detectAirflowSchema(client)).rejects.toThrow(/no current schema \(empty search_path\); set \[database\] sql_alchemy_schema/);
      await expect(detectAirflowSchema(client, { schema: 'nowhere' })).rejects.toThrow(/schema nowhere does not hold Airflow's/);
    } finally {
      await client.end();
    }
  });

  it("tells from its one catalog query whether envmgr's table is absent, as this version keeps it, or as envmgr 0.1 did, in that schema only", async () => {
    const url = await createTestDatabase('schema');
    const client = await openClient(url);
    try {
      await loadSchemaFixture(url, '3.2');
      await loadSchemaFixture(url, '3.2', { schema: 'other' });
      const both = async (schema?: string) => {
        const catalog = await readSchemaCatalog(client, schema ? { schema } : {});
        const info = await detectAirflowSchema(client, schema ? { schema } : {});
        // The separate check (to_regclass) that a given schema description still uses must agree.
        return [catalog.syncStateTable, await syncStateTableStatus(client, info)];
      };
      expect(await both()).toEqual(['absent', 'absent']);
      await client.query('CREATE TABLE other.envmgr_sync_state (kind text, key text, source text, content_hash text, row_hash text, written_at timestamptz)');
      expect(await both()).toEqual(['absent', 'absent']);
      expect(await both('other')).toEqual(['rows', 'rows']);
      await client.query('CREATE TABLE public.envmgr_sync_state (id smallint, format integer, state text, written_at timestamptz)');
      expect(await both()).toEqual(['current', 'current']);
      // Any relation holding the name counts, a column-less one too (a sync then fails on it rather than overwriting it).
      await client.query('DROP TABLE other.envmgr_sync_state; CREATE SEQUENCE other.envmgr_sync_state');
      expect((await both('other'))[0]).toBe((await both('other'))[1]);
      expect((await both('other'))[0]).toBe('rows');
      // Its columns are not mistaken for Airflow's.
      expect((await detectAirflowSchema(client)).columns.connection.has('state')).toBe(false);
      expect(await readSchemaCatalog(client)).toMatchObject({ revisionQuery: 'SELECT version_num AS v FROM "public".alembic_version LIMIT 2' });
      await client.query('DROP TABLE public.alembic_version');
      expect(await readSchemaCatalog(client)).toMatchObject({ revisionQuery: null });
    } finally {
      await client.end();
    }
  });

  it('maps releases to URI variants', () => {
    expect(['2.6.3', '3.0.6', '3.1.0', '3.1.5', '3.1.6', '3.1.8', '3.2.0', '3.10.0'].map(uriVariantForVersion)).toEqual([
      '2', '2', '3.1', '3.1', '3.1.6', '3.1.6', '3.1.6', '3.1.6',
    ]);
  });
});
