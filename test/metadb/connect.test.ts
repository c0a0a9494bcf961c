import { describe, expect, it } from 'vitest';
import { freePort } from '../../src/pg/embedded.js';
import { parseFernetKeys } from '../../src/airflow/fernet.js';
import { syncAirflowDb } from '../../src/metadb/apply.js';
import { AirflowDbError, connectAirflowDb, parseAirflowDbUrl, waitForAirflowDb } from '../../src/metadb/connect.js';
import { loadSchemaFixture } from '../../src/metadb/fixtures.js';
import { readAirflowObjects } from '../../src/metadb/read.js';
import { detectAirflowSchema } from '../../src/metadb/schema.js';
import { createTestDatabase } from '../support/pg.js';

describe('parseAirflowDbUrl', () => {
  it('reads a SQLAlchemy URL with a driver, an escaped password and sslmode', () => {
    const t = parseAirflowDbUrl('postgresql+psycopg2://airflow:p%40ss%3Aw%2Frd@db.local:6543/airflow_db?sslmode=require');
    expect(t.config).toMatchObject({ host: 'db.local', port: 6543, user: 'airflow', password: 'p@ss:w/rd', database: 'airflow_db' });
    expect(t.config.ssl).toEqual({ rejectUnauthorized: false });
    expect(t.display).toBe('db.local:6543/airflow_db');
    expect(t.display).not.toContain('p@ss');
  });

  it.each([
    'postgres://u:pw@localhost/airflow',
    'postgresql://u:pw@localhost/airflow',
    'postgresql+psycopg://u:pw@localhost/airflow',
    'postgresql+asyncpg://u:pw@localhost/airflow',
    'postgresql+pg8000://u:pw@localhost/airflow',
    'POSTGRESQL+PSYCOPG2://u:pw@localhost/airflow',
  ])('accepts %s with libpq defaults', (url) => {
    const t = parseAirflowDbUrl(url);
    expect(t.config).toMatchObject({ host: 'localhost', port: 5432, user: 'u', password: 'pw', database: 'airflow', ssl: false });
  });

  it("reads an unescaped '/', '?', ':' or '#' in the password as SQLAlchemy's make_url does (up to the '@')", () => {
    for (const password of ['/Xsecretpart', '?Xs', '18490/Xs', 'a#b', 'p:q']) {
      const t = parseAirflowDbUrl(`postgresql+psycopg2://postgres:${password}@127.0.0.1:18490/airflow?sslmode=disable`);
      expect(t.config, password).toMatchObject({ user: 'postgres', password, host: '127.0.0.1', port: 18490, database: 'airflow' });
      expect(t.display).toBe('127.0.0.1:18490/airflow');
    }
    // Escaped, as before; and no password at all.
    expect(parseAirflowDbUrl('postgresql://u:a%2Fb%40c@h/db').config.password).toBe('a/b@c');
    expect(parseAirflowDbUrl('postgresql://u@h/db').config.password).toBeUndefined();
  });

  it('handles IPv6 hosts, socket directories, sslmode variants and connect_timeout', () => {
    expect(parseAirflowDbUrl('postgresql://u@[::1]:5433/db').display).toBe('[::1]:5433/db');
    expect(parseAirflowDbUrl('postgresql://u@/db?host=/var/run/postgresql').config.host).toBe('/var/run/postgresql');
    expect(parseAirflowDbUrl('postgresql://h/db?sslmode=disable').config.ssl).toBe(false);
    expect(parseAirflowDbUrl('postgresql://h/db?sslmode=verify-full').config.ssl).toEqual({ rejectUnauthorized: true });
    expect(parseAirflowDbUrl('postgresql://h/db?connect_timeout=7').config.connectionTimeoutMillis).toBe(7000);
    // No database in the URL: libpq uses the user name.
    expect(parseAirflowDbUrl('postgresql://airflow@h').config.database).toBe('airflow');
    expect(parseAirflowDbUrl('postgresql://h/db', { schema: ' airflow_meta ' }).schema).toBe('airflow_meta');
    expect(parseAirflowDbUrl('postgresql://h/db', { schema: '' }).schema).toBeUndefined();
  });

  it.each([
    ['sqlite:////usr/local/airflow/airflow.db', /'sqlite:\/\/'.*only writes a Postgres.*SQLite and MySQL/],
    ['mysql+mysqldb://u:pw@h/airflow', /'mysql\+mysqldb:\/\/'/],
    ['mssql+pyodbc://u:pw@h/airflow', /only writes a Postgres/],
    ['localhost:5432/airflow', /must look like postgresql:\/\//],
    ['postgresql://h/db?sslmode=sometimes', /unknown sslmode 'sometimes'/],
    ['postgresql://h/db?colour=blue', /unsupported parameter 'colour'/],
    ['postgresql://h:0/db', /invalid port '0'/],
  ])('refuses %s', (url, message) => {
    expect(() => parseAirflowDbUrl(url)).toThrow(AirflowDbError);
    expect(() => parseAirflowDbUrl(url)).toThrow(message);
  });
});

describe('waitForAirflowDb', () => {
  it('gives up after the timeout naming host:port, never the password', async () => {
    const port = await freePort();
    const progress: string[] = [];
    const err = await waitForAirflowDb(`postgresql://airflow:hunter2-secret@127.0.0.1:${port}/airflow`, {
      timeoutMs: 300,
      intervalMs: 50,
      onProgress: (m) => progress.push(m),
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(AirflowDbError);
    expect((err as Error).message).toContain(`127.0.0.1:${port}/airflow`);
    expect((err as Error).message).toMatch(/gave up waiting.*not accepting connections/);
    expect((err as Error).message).not.toContain('hunter2');
    expect(progress.join('\n')).not.toContain('hunter2');
  });

  it('waits until the database has Airflow tables, then returns a connected client', async () => {
    const url = await createTestDatabase('wait');
    const progress: string[] = [];
    let loading: Promise<void> | undefined;
    const client = await waitForAirflowDb(url, {
      timeoutMs: 60_000,
      intervalMs: 20,
      onProgress: (m) => {
        progress.push(m);
        // Airflow's migration "happens" once we have seen the database without its tables.
        loading ??= loadSchemaFixture(url, '3.0');
      },
    });
    try {
      expect(progress[0]).toMatch(/no Airflow 'connection' table/);
      const { rows } = await client.query('SELECT count(*)::int AS n FROM connection');
      expect(rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('uses [database] sql_alchemy_schema for every table, its own included', async () => {
    const url = await createTestDatabase('schema');
    await loadSchemaFixture(url, '3.2', { schema: 'airflow meta' });
    // Without the schema the tables are not found.
    await expect(waitForAirflowDb(url, { timeoutMs: 100, intervalMs: 20 })).rejects.toThrow(/no Airflow 'connection' table/);
    const client = await waitForAirflowDb(parseAirflowDbUrl(url, { schema: 'airflow meta' }), { timeoutMs: 10_000 });
    try {
      // The client's session already looks in that schema first.
      expect((await detectAirflowSchema(client)).schema).toBe('airflow meta');
      const info = await detectAirflowSchema(client, { schema: 'airflow meta' });
      expect(info.tables.connection).toBe('"airflow meta"."connection"');
      const keys = parseFernetKeys('1NdcG3zgY2-okvDIhnqOTfHatmZ1dQW4y-Nv77K74XU=', 'test');
      await syncAirflowDb(client, [{ kind: 'connection', key: 'c', source: 's', object: { conn_id: 'c', conn_type: 'http', password: 'pw' } }], {
        keys,
        schema: 'airflow meta',
      });
      const back = await readAirflowObjects(client, info, keys);
      expect(back.connections.get('c')?.password).toBe('pw');
      const { rows } = await client.query(
        `SELECT table_schema, table_name FROM information_schema.tables WHERE table_name IN ('connection', 'envmgr_sync_state') ORDER BY 2`,
      );
      expect(rows).toEqual([
        { table_schema: 'airflow meta', table_name: 'connection' },
        { table_schema: 'airflow meta', table_name: 'envmgr_sync_state' },
      ]);
    } finally {
      await client.end();
    }
  });

  it('fails at once on a wrong password or database name instead of waiting', async () => {
    const url = new URL(await createTestDatabase('auth'));
    url.password = 'wrong-password-xyz';
    const err = (await waitForAirflowDb(url.toString(), { timeoutMs: 600_000 }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(AirflowDbError);
    expect(err.message).toMatch(/refused the connection: .*password authentication failed.*check the database URL/);
    expect(err.message).not.toContain('wrong-password-xyz');
    const noDb = new URL(await createTestDatabase('auth'));
    noDb.pathname = '/no_such_database';
    await expect(waitForAirflowDb(noDb.toString(), { timeoutMs: 600_000 })).rejects.toThrow(/no_such_database.*does not exist/);
  });

  it('connectAirflowDb reports an unreachable database with its address', async () => {
    const port = await freePort();
    const err = (await connectAirflowDb(`postgresql://u:topsecret@127.0.0.1:${port}/x`).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(`cannot connect to the Airflow database at 127.0.0.1:${port}/x`);
    expect(err.message).not.toContain('topsecret');
  });
});
