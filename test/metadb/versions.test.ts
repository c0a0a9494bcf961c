import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFernetKeys } from '../../src/airflow/fernet.js';
import { applySyncPlan, knownRowsFor, syncAirflowDb, SYNC_LOCK_KEY } from '../../src/metadb/apply.js';
import { AIRFLOW_SCHEMA_VERSIONS, loadSchemaFixture } from '../../src/metadb/fixtures.js';
import { planSync, type DesiredObject } from '../../src/metadb/plan.js';
import { FernetMismatchError, readAirflowObjects } from '../../src/metadb/read.js';
import { detectAirflowSchema } from '../../src/metadb/schema.js';
import { readSyncState } from '../../src/metadb/sync-state.js';
import { createTestDatabase } from '../support/pg.js';
import { desiredSet, dumpTables, makeConnection, makePool, makeVariable, openClient, recordStatements, WRITE_SQL } from './helpers.js';

// Keys from FACTS.md's vectors and a second, unrelated one.
const KEY = parseFernetKeys('1NdcG3zgY2-okvDIhnqOTfHatmZ1dQW4y-Nv77K74XU=', 'AIRFLOW__CORE__FERNET_KEY in .env');
const OTHER_KEY = parseFernetKeys('Z2Fh1EulxLzv8bK-Cgfk8LYaSQFhHt0HZsC_qlfg0Qs=', '--fernet-key');

/** What reading back must give for a connection written from `makeConnection(i)`, worked out from FACTS.md §2. */
function expectedConnection(i: number) {
  const c = makeConnection(i);
  const extra = c.extra && Object.keys(c.extra).length > 0 ? c.extra : null;
  return {
    conn_id: c.conn_id,
    conn_type: c.conn_type,
    description: c.description ?? null,
    host: c.host ?? null,
    login: c.login ?? null,
    password: c.password ? c.password : null, // '' is stored as NULL
    schema: c.schema ?? null,
    port: c.port ?? null,
    extra,
  };
}

describe.each(AIRFLOW_SCHEMA_VERSIONS)('Airflow %s schema', (version) => {
  let url: string;
  let client: pg.Client;

  beforeAll(async () => {
    url = await createTestDatabase('mdb');
    await loadSchemaFixture(url, version);
    client = await openClient(url);
  });
  afterAll(async () => {
    await client?.end();
  });

  it('writes 1,000 connections, 100 variables and 10 pools and reads them back equal', async () => {
    const desired = desiredSet(1000, 100, 10);
    const outcome = await syncAirflowDb(client, desired, { keys: KEY });
    expect(outcome.plan.counts).toEqual({ create: 1110, update: 0, unchanged: 0, conflict: 0, delete: 0 });
    expect(outcome.result.wrote).toBe(true);

    const info = await detectAirflowSchema(client);
    const back = await readAirflowObjects(client, info, KEY);
    expect(back.connections.size).toBe(1000);
    for (let i = 0; i < 1000; i++) {
      const { extraText: _t, rowHash: _r, ...got } = back.connections.get(makeConnection(i).conn_id)!;
      expect(got).toEqual(expectedConnection(i));
    }
    expect(back.variables.size).toBe(100);
    for (let i = 0; i < 100; i++) {
      const v = makeVariable(i);
      expect(back.variables.get(v.key)).toEqual({ key: v.key, value: v.value, description: v.description ?? null, rowHash: expect.any(String) });
    }
    // default_pool is the fixture's own.
    expect(back.pools.size).toBe(11);
    expect(back.pools.get('default_pool')).toEqual({ name: 'default_pool', slots: 128, description: 'Default pool', include_deferred: false, rowHash: expect.any(String) });
    for (let i = 0; i < 10; i++) {
      const p = makePool(i);
      expect(back.pools.get(p.name)).toEqual({
        name: p.name, slots: p.slots, description: p.description ?? null, include_deferred: p.include_deferred, rowHash: expect.any(String),
      });
    }

    // Raw columns: flags set explicitly, secrets encrypted, team columns NULL.
    const raw = await client.query(`SELECT * FROM connection WHERE conn_id IN ('conn_00001', 'conn_00003', 'conn_00000') ORDER BY conn_id`);
    const [c0, c1, c3] = raw.rows;
    expect([c0.is_encrypted, c0.is_extra_encrypted, c0.password, c0.extra]).toEqual([false, false, null, null]);
    expect(c1.is_encrypted).toBe(true);
    expect(c1.is_extra_encrypted).toBe(true);
    expect(c1.password).toMatch(/^gAAAAA/);
    expect(c1.extra).toMatch(/^gAAAAA/);
    expect([c3.is_encrypted, c3.is_extra_encrypted, c3.password, c3.extra, c3.login, c3.host]).toEqual([false, false, null, null, '', '']);
    for (const row of raw.rows) {
      if ('team_id' in row) expect(row.team_id).toBeNull();
      if ('team_name' in row) expect(row.team_name).toBeNull();
    }
    const vars = await client.query(`SELECT key, val, is_encrypted FROM variable WHERE key = 'var_0000'`);
    // An empty value is encrypted too (Variable.set_val).
    expect(vars.rows[0].is_encrypted).toBe(true);
    expect(vars.rows[0].val).toMatch(/^gAAAAA/);
  });

  it('plans everything unchanged on a second sync and writes nothing', async () => {
    const before = await dumpTables(client);
    await client.query('SELECT pg_stat_force_next_flush()');
    const stats = async () => {
      await client.query('SELECT pg_stat_force_next_flush()');
      const { rows } = await client.query(
        `SELECT relname, n_tup_ins + n_tup_upd + n_tup_del + n_tup_hot_upd AS writes FROM pg_stat_user_tables ORDER BY relname`,
      );
      return rows;
    };
    const statsBefore = await stats();
    const log = recordStatements(client);
    const outcome = await syncAirflowDb(client, desiredSet(1000, 100, 10), { keys: KEY });
    expect(outcome.plan.counts).toEqual({ create: 0, update: 0, unchanged: 1110, conflict: 0, delete: 0 });
    expect(outcome.plan.hasWrites).toBe(false);
    expect(outcome.result.wrote).toBe(false);
    expect(log.filter((sql) => WRITE_SQL.test(sql))).toEqual([]);
    // Same rows with the same xmin: not one row rewritten, not even with identical values.
    expect(await dumpTables(client)).toEqual(before);
    expect(await stats()).toEqual(statsBefore);

    // Rows still as envmgr wrote them are not even decrypted: their recorded content hash stands in.
    const infoForKnown = await detectAirflowSchema(client);
    const state = await readSyncState(client, infoForKnown);
    const known = knownRowsFor(desiredSet(1000, 100, 10), state, infoForKnown, { keys: KEY });
    const shallow = await readAirflowObjects(client, infoForKnown, KEY, { known });
    expect([...shallow.connections.values()].every((c) => c.contentHash !== undefined && c.password === null)).toBe(true);
    expect([...shallow.variables.values()].every((v) => v.contentHash !== undefined && v.value === null)).toBe(true);
    // A row edited by hand no longer matches its fingerprint and is read in full.
    await client.query(`UPDATE connection SET host = 'edited' WHERE conn_id = 'conn_00001'`);
    const edited = await readAirflowObjects(client, infoForKnown, KEY, { known });
    expect(edited.connections.get('conn_00001')).toMatchObject({ host: 'edited', password: makeConnection(1).password });
    expect(edited.connections.get('conn_00001')?.contentHash).toBeUndefined();
    await client.query(`UPDATE connection SET host = $1 WHERE conn_id = 'conn_00001'`, [makeConnection(1).host]);

    // applySyncPlan of an all-unchanged plan sends no statement at all.
    const info = await detectAirflowSchema(client);
    const plan = planSync(desiredSet(1000, 100, 10), await readAirflowObjects(client, info, KEY), await readSyncState(client, info), { keys: KEY });
    const count = log.length;
    const result = await applySyncPlan(client, plan, { info, keys: KEY });
    expect(result.wrote).toBe(false);
    expect(log.length).toBe(count);
  });

  it('leaves the database exactly as it was when an apply fails midway', async () => {
    const before = await dumpTables(client);
    // Connections and variables are written first; the pool name (varchar(256)) then fails.
    const desired: DesiredObject[] = [
      ...desiredSet(1000, 100, 0, 'deployment:d1').map((d) =>
        d.kind === 'connection' ? { ...d, object: { ...d.object, description: 'changed' } } : d,
      ),
      { kind: 'connection', key: 'brand_new', source: 'deployment:d1', object: { conn_id: 'brand_new', conn_type: 'http' } },
      { kind: 'pool', key: 'p'.repeat(300), source: 'deployment:d1', object: { name: 'p'.repeat(300), slots: 1 } },
    ];
    await expect(syncAirflowDb(client, desired, { keys: KEY, overwrite: true })).rejects.toThrow(/too long/);
    // Table contents are restored (serial sequences advance on a rolled-back insert, as in Postgres generally).
    expect(await dumpTables(client)).toEqual(before);

    // A conn_type over varchar(500) fed straight to apply, on a plan made without checks.
    const info = await detectAirflowSchema(client);
    const bad: DesiredObject = { kind: 'connection', key: 'too_long_type', source: 's', object: { conn_id: 'too_long_type', conn_type: 't'.repeat(501) } };
    const plan = planSync([...desiredSet(3, 0, 0, 'other'), bad], { connections: new Map(), variables: new Map(), pools: new Map() }, new Map());
    await expect(applySyncPlan(client, plan, { info, keys: KEY })).rejects.toThrow(/too long/);
    expect(await dumpTables(client)).toEqual(before);
  });

  it('refuses a wrong Fernet key against existing encrypted rows before writing', async () => {
    const before = await dumpTables(client);
    const desired = desiredSet(1000, 100, 10).concat([{ kind: 'variable', key: 'new_var', source: 'x', object: { key: 'new_var', value: 'v' } }]);
    const err = await syncAirflowDb(client, desired, { keys: OTHER_KEY, overwrite: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FernetMismatchError);
    expect((err as Error).message).toContain('--fernet-key');
    expect(await dumpTables(client)).toEqual(before);

    // No key at all, with encrypted rows present: refused too.
    await expect(syncAirflowDb(client, desired, { keys: null })).rejects.toThrow(/no Fernet key/);

    // Straight to apply with a plan made elsewhere: the key is still checked first.
    const info = await detectAirflowSchema(client);
    const plan = planSync(desired, { connections: new Map(), variables: new Map(), pools: new Map() }, new Map());
    await expect(applySyncPlan(client, plan, { info, keys: OTHER_KEY })).rejects.toThrow(/from --fernet-key does not decrypt/);
    expect(await dumpTables(client)).toEqual(before);

    // A MultiFernet with the right key second decrypts; it would encrypt with the first.
    const multi = parseFernetKeys(`${'Z2Fh1EulxLzv8bK-Cgfk8LYaSQFhHt0HZsC_qlfg0Qs='},${'1NdcG3zgY2-okvDIhnqOTfHatmZ1dQW4y-Nv77K74XU='}`, 'rotation');
    const dry = await syncAirflowDb(client, desiredSet(1000, 100, 10), { keys: multi, dryRun: true });
    expect(dry.plan.counts.unchanged).toBe(1110);
  });

  it('serializes two syncs on the advisory lock', async () => {
    const holder = await openClient(url);
    const other = await openClient(url);
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1)', [SYNC_LOCK_KEY.toString()]);
      const desired = [{ kind: 'variable' as const, key: 'locked_var', source: 'lock-test', object: { key: 'locked_var', value: 'after the lock' } }];
      let waited!: () => void;
      const waiting = new Promise<void>((resolve) => (waited = resolve));
      const messages: string[] = [];
      const sync = syncAirflowDb(other, desired, {
        keys: KEY,
        lockTimeoutMs: 120_000,
        onLockWait: (m) => {
          messages.push(m);
          waited();
        },
      });
      await waiting;
      expect(messages[0]).toMatch(/another sync is running.*waiting/);
      // It then blocks in Postgres on the advisory lock (seen in pg_locks as an ungranted request by its backend).
      for (;;) {
        const { rows } = await client.query(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = current_database()`,
        );
        if (rows[0].n >= 1) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await client.query(`SELECT count(*)::int AS n FROM variable WHERE key = 'locked_var'`)).rows[0].n).toBe(0);
      await holder.query('COMMIT');
      const outcome = await sync;
      expect(outcome.plan.counts.create).toBe(1);
      expect((await client.query(`SELECT count(*)::int AS n FROM variable WHERE key = 'locked_var'`)).rows[0].n).toBe(1);

      // And a sync that cannot get the lock in time gives up with a clear message.
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1)', [SYNC_LOCK_KEY.toString()]);
      await expect(syncAirflowDb(other, desired, { keys: KEY, lockTimeoutMs: 200 })).rejects.toThrow(/another sync still holds envmgr's lock/);
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
      await other.end();
    }
  });
});
