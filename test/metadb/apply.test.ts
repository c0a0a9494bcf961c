import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fernetRotate, parseFernetKeys } from '../../src/airflow/fernet.js';
import { syncAirflowDb } from '../../src/metadb/apply.js';
import { legacyContentHash } from '../../src/metadb/digests.js';
import { loadSchemaFixture } from '../../src/metadb/fixtures.js';
import type { DesiredObject } from '../../src/metadb/plan.js';
import { readAirflowObjects } from '../../src/metadb/read.js';
import { detectAirflowSchema } from '../../src/metadb/schema.js';
import { canonicalText, canonicalVariable, connectionCanonicalText } from '../../src/metadb/sync-state.js';
import { createTestDatabase } from '../support/pg.js';
import { desiredSet, dumpTables, openClient, trackInFlight } from './helpers.js';

const A = '1NdcG3zgY2-okvDIhnqOTfHatmZ1dQW4y-Nv77K74XU=';
const B = 'Z2Fh1EulxLzv8bK-Cgfk8LYaSQFhHt0HZsC_qlfg0Qs=';
const keyA = parseFernetKeys(A, 'key A');

const pg1: DesiredObject = {
  kind: 'connection', key: 'pg1', source: 'deployment:d1',
  object: { conn_id: 'pg1', conn_type: 'postgres', host: 'db', login: 'u', password: 'pw1', port: 5432, extra: { sslmode: 'require' } },
};
const var1: DesiredObject = { kind: 'variable', key: 'v1', source: 'deployment:d1', object: { key: 'v1', value: 'one' } };

describe('syncAirflowDb', () => {
  let client: pg.Client;
  beforeEach(async () => {
    const url = await createTestDatabase('apply');
    await loadSchemaFixture(url, '3.2');
    client = await openClient(url);
  });
  afterEach(async () => {
    await client.end();
  });

  it('without a key writes plaintext with the flags false, as Airflow does', async () => {
    await syncAirflowDb(client, [pg1, var1], { keys: null });
    const { rows } = await client.query('SELECT password, extra, is_encrypted, is_extra_encrypted FROM connection');
    expect(rows).toEqual([{ password: 'pw1', extra: '{"sslmode": "require"}', is_encrypted: false, is_extra_encrypted: false }]);
    const vars = await client.query('SELECT val, is_encrypted FROM variable');
    expect(vars.rows).toEqual([{ val: 'one', is_encrypted: false }]);
    // And a later sync with a key reads those plaintext rows fine.
    const again = await syncAirflowDb(client, [pg1, var1], { keys: keyA });
    expect(again.plan.counts.unchanged).toBe(2);
    expect(again.keyCheckedAgainst).toBeNull();
  });

  it('plans without writing on a dry run', async () => {
    const before = await dumpTables(client);
    const outcome = await syncAirflowDb(client, [pg1, var1], { keys: keyA, dryRun: true });
    expect(outcome.plan.counts.create).toBe(2);
    expect(outcome.result).toMatchObject({ created: 0, updated: 0, deleted: 0, wrote: false });
    expect(await dumpTables(client)).toEqual(before);
  });

  it('takes the desired objects as a promise: works on while they arrive, rolls back when they fail', async () => {
    const stateTable = async () => (await client.query("SELECT to_regclass('envmgr_sync_state') IS NOT NULL AS exists")).rows[0] as { exists: boolean };
    // A failed source (say, the API) rejects after the transaction began: nothing is left behind, table included.
    let fail!: (err: Error) => void;
    const failing = new Promise<DesiredObject[]>((_, reject) => (fail = reject));
    const attempt = syncAirflowDb(client, failing, { keys: keyA });
    await new Promise((resolve) => setTimeout(resolve, 50));
    fail(new Error('the API failed mid-pagination'));
    await expect(attempt).rejects.toThrow('the API failed mid-pagination');
    expect(await stateTable()).toEqual({ exists: false });
    expect((await client.query('SELECT 1 FROM connection')).rows).toEqual([]);

    // Nothing to write: rolled back too, so a first sync of nothing leaves no table either.
    const empty = await syncAirflowDb(client, Promise.resolve([]), { keys: keyA });
    expect(empty.result.wrote).toBe(false);
    expect(await stateTable()).toEqual({ exists: false });

    // Objects that arrive later are written like any others.
    const later = new Promise<DesiredObject[]>((resolve) => setTimeout(() => resolve([pg1, var1]), 50));
    const outcome = await syncAirflowDb(client, later, { keys: keyA });
    expect(outcome.plan.counts.create).toBe(2);
    expect(await stateTable()).toEqual({ exists: true });
    const again = await syncAirflowDb(client, Promise.resolve([pg1, var1]), { keys: keyA });
    expect(again.plan.counts.unchanged).toBe(2);
    expect(again.result.wrote).toBe(false);
  });

  it('updates, reports conflicts, overwrites and prunes end to end', async () => {
    await syncAirflowDb(client, [pg1, var1], { keys: keyA });
    // Airflow's own row (say, from the UI): envmgr did not write it.
    await client.query(`INSERT INTO connection (conn_id, conn_type, host, is_encrypted, is_extra_encrypted) VALUES ('local_only', 'http', 'h', false, false)`);
    // The source changes pg1's password, and starts to define local_only too.
    const changedPg1 = { ...pg1, object: { ...pg1.object, password: 'pw2' } } as DesiredObject;
    const localOnly: DesiredObject = { kind: 'connection', key: 'local_only', source: 'deployment:d1', object: { conn_id: 'local_only', conn_type: 'http', host: 'remote' } };
    const second = await syncAirflowDb(client, [changedPg1, var1, localOnly], { keys: keyA });
    expect(second.plan.entries.map((e) => [e.key, e.action, e.changedFields])).toEqual([
      ['local_only', 'conflict', ['host']],
      ['pg1', 'update', ['password']],
      ['v1', 'unchanged', undefined],
    ]);
    const info = await detectAirflowSchema(client);
    let back = await readAirflowObjects(client, info, keyA);
    expect(back.connections.get('pg1')?.password).toBe('pw2');
    expect(back.connections.get('local_only')?.host).toBe('h');

    const third = await syncAirflowDb(client, [changedPg1, var1, localOnly], { keys: keyA, overwrite: true });
    expect(third.plan.entries.find((e) => e.key === 'local_only')).toMatchObject({ action: 'update', conflict: 'unmanaged' });
    back = await readAirflowObjects(client, info, keyA);
    expect(back.connections.get('local_only')?.host).toBe('remote');

    // The source drops pg1 and v1: with prune they go; without, they stay.
    expect((await syncAirflowDb(client, [localOnly], { keys: keyA })).plan.counts.delete).toBe(0);
    const pruned = await syncAirflowDb(client, [localOnly], { keys: keyA, prune: true });
    expect(pruned.plan.entries.filter((e) => e.action === 'delete').map((e) => e.key)).toEqual(['pg1', 'v1']);
    back = await readAirflowObjects(client, info, keyA);
    expect([...back.connections.keys()]).toEqual(['local_only']);
    expect(back.variables.size).toBe(0);
    const state = await client.query('SELECT kind, key, source FROM envmgr_sync_state ORDER BY kind, key');
    expect(state.rows).toEqual([{ kind: 'connection', key: 'local_only', source: 'deployment:d1' }]);
  });

  it("keeps envmgr's table in its current shape: keys compared byte for byte, written_at the writing transaction's time", async () => {
    await syncAirflowDb(client, [pg1, var1], { keys: keyA });
    const columns = await client.query(
      `SELECT a.attname AS name, co.collname AS collation, pg_get_expr(d.adbin, d.adrelid) AS "default"
         FROM pg_attribute a LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = 'envmgr_sync_state'::regclass AND a.attnum > 0 ORDER BY a.attnum`,
    );
    expect(columns.rows).toEqual([
      { name: 'kind', collation: 'C', default: null },
      { name: 'key', collation: 'C', default: null },
      { name: 'source', collation: 'default', default: null },
      { name: 'content_hash', collation: 'default', default: null },
      { name: 'row_hash', collation: 'default', default: null },
      { name: 'written_at', collation: null, default: 'now()' },
    ]);
    const key = await client.query(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'envmgr_sync_state'::regclass AND contype = 'p'`);
    expect(key.rows).toEqual([{ def: 'PRIMARY KEY (kind, key)' }]);

    // Each write stamps its rows with its own transaction's time; rows it leaves alone keep theirs.
    const first = await client.query('SELECT key, written_at FROM envmgr_sync_state ORDER BY key');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const changedPg1 = { ...pg1, object: { ...pg1.object, password: 'pw2' } } as DesiredObject;
    await syncAirflowDb(client, [changedPg1, var1], { keys: keyA });
    const second = await client.query('SELECT key, written_at FROM envmgr_sync_state ORDER BY key');
    const at = (rows: Array<{ key: string; written_at: Date }>, k: string) => rows.find((r) => r.key === k)!.written_at.getTime();
    expect(at(second.rows, 'v1')).toBe(at(first.rows, 'v1'));
    expect(at(second.rows, 'pg1')).toBeGreaterThan(at(first.rows, 'pg1'));
    expect(Math.abs(at(first.rows, 'pg1') - Date.now())).toBeLessThan(60_000);
  });

  it("takes over envmgr's table as an earlier version created it (written_at without a default)", async () => {
    await client.query(
      `CREATE TABLE envmgr_sync_state (kind text NOT NULL CHECK (kind IN ('connection', 'variable', 'pool')), key text NOT NULL,
         source text NOT NULL, content_hash text NOT NULL, row_hash text, written_at timestamptz NOT NULL, PRIMARY KEY (kind, key))`,
    );
    await client.query(`INSERT INTO envmgr_sync_state VALUES ('variable', 'old', 'deployment:d1', 'x', NULL, '2020-01-01T00:00:00Z')`);
    const dry = await syncAirflowDb(client, [pg1, var1], { keys: keyA, dryRun: true });
    expect(dry.plan.counts.create).toBe(2);
    // A dry run changes nothing, not even the table's definition.
    const before = await client.query(`SELECT count(*)::int AS n FROM pg_attrdef WHERE adrelid = 'envmgr_sync_state'::regclass`);
    expect(before.rows).toEqual([{ n: 0 }]);

    const outcome = await syncAirflowDb(client, [pg1, var1], { keys: keyA });
    expect(outcome.result).toMatchObject({ created: 2, wrote: true });
    const rows = await client.query(`SELECT kind, key, written_at > '2021-01-01' AS fresh FROM envmgr_sync_state ORDER BY kind, key`);
    expect(rows.rows).toEqual([
      { kind: 'connection', key: 'pg1', fresh: true },
      { kind: 'variable', key: 'old', fresh: false },
      { kind: 'variable', key: 'v1', fresh: true },
    ]);
    const after = await client.query(`SELECT count(*)::int AS n FROM pg_attrdef WHERE adrelid = 'envmgr_sync_state'::regclass`);
    expect(after.rows).toEqual([{ n: 1 }]);
    // And it goes on working: an update, then nothing to do.
    const changedPg1 = { ...pg1, object: { ...pg1.object, password: 'pw2' } } as DesiredObject;
    expect((await syncAirflowDb(client, [changedPg1, var1], { keys: keyA })).plan.counts).toMatchObject({ update: 1, unchanged: 1 });
    expect((await syncAirflowDb(client, [changedPg1, var1], { keys: keyA })).result.wrote).toBe(false);
  });

  it('does not count re-encryption by `airflow rotate-fernet-key` as a change', async () => {
    await syncAirflowDb(client, [pg1, var1], { keys: keyA });
    // What rotate-fernet-key does with fernet_key = "B,A": every encrypted value re-encrypted with B.
    const rotated = parseFernetKeys(`${B},${A}`, 'AIRFLOW__CORE__FERNET_KEY');
    const c = (await client.query('SELECT password, extra FROM connection')).rows[0];
    await client.query('UPDATE connection SET password = $1, extra = $2', [fernetRotate(rotated, c.password), fernetRotate(rotated, c.extra)]);
    const v = (await client.query('SELECT val FROM variable')).rows[0];
    await client.query('UPDATE variable SET val = $1', [fernetRotate(rotated, v.val)]);
    const before = await dumpTables(client);
    const outcome = await syncAirflowDb(client, [pg1, var1], { keys: rotated });
    expect(outcome.plan.counts).toMatchObject({ unchanged: 2, update: 0, conflict: 0 });
    // Airflow's rows are left exactly as they are; only envmgr's record of them is made again under the new key (its
    // digests are keyed with the first key), so that the next sync need not decrypt them.
    const after = await dumpTables(client);
    expect({ ...after, envmgr_sync_state: null }).toEqual({ ...before, envmgr_sync_state: null });
    const hashes = (dump: Record<string, unknown>) =>
      (dump.envmgr_sync_state as Array<{ r: { key: string; content_hash: string } }>).map(({ r }) => [r.key, r.content_hash.split('.')[0]]);
    expect(hashes(after).map(([key]) => key).sort()).toEqual(['pg1', 'v1']);
    // Made under another key: every digest's key id changed.
    for (const [key, kid] of hashes(after)) expect(kid, key).not.toBe(hashes(before).find(([k]) => k === key)![1]);
    const again = await syncAirflowDb(client, [pg1, var1], { keys: rotated });
    expect(again.result.wrote).toBe(false);
    expect(await dumpTables(client)).toEqual(after);
  });

  it("keeps a state recorded by envmgr 0.1 (unkeyed SHA-256 hashes): its rows are still its own, then re-recorded keyed", async () => {
    await syncAirflowDb(client, [pg1, var1], { keys: keyA });
    // What envmgr 0.1 recorded: the SHA-256 of the kind and the canonical text, in hex.
    const info = await detectAirflowSchema(client);
    const current = await readAirflowObjects(client, info, keyA);
    const legacy = {
      pg1: legacyContentHash('connection', connectionCanonicalText(current.connections.get('pg1')!, info.has)),
      v1: legacyContentHash('variable', canonicalText(canonicalVariable(current.variables.get('v1')!, info.has))),
    };
    for (const [key, hash] of Object.entries(legacy)) await client.query('UPDATE envmgr_sync_state SET content_hash = $1 WHERE key = $2', [hash, key]);
    // A row Airflow rewrote since (rotate-fernet-key: another row version), and one that changed at the source.
    const c = (await client.query('SELECT password FROM connection')).rows[0];
    await client.query('UPDATE connection SET password = $1', [fernetRotate(keyA, c.password)]);
    const changed = { ...var1, object: { key: 'v1', value: 'two' } } as DesiredObject;
    const outcome = await syncAirflowDb(client, [{ ...pg1, object: { ...pg1.object, port: 5433 } } as DesiredObject, changed], { keys: keyA });
    expect(outcome.plan.entries.map((e) => [e.key, e.action, e.changedFields])).toEqual([['pg1', 'update', ['port']], ['v1', 'update', ['value']]]);
    const { rows } = await client.query('SELECT key, content_hash FROM envmgr_sync_state ORDER BY key');
    for (const r of rows) expect(r.content_hash).not.toBe(legacy[r.key as keyof typeof legacy]);
    expect(rows.every((r) => /^[\w-]{8}\./.test(r.content_hash))).toBe(true);
  });

  it('sends one query at a time (node-postgres deprecates queueing) across batched statements', async () => {
    const inFlight = trackInFlight(client);
    {
      const many = desiredSet(6000, 5, 3);
      const first = await syncAirflowDb(client, many, { keys: keyA });
      expect(first.plan.counts.create).toBe(6008);
      const changed = many.map((d) => (d.kind === 'connection' ? ({ ...d, object: { ...d.object, port: 4242 } } as DesiredObject) : d));
      const second = await syncAirflowDb(client, changed, { keys: keyA, prune: true });
      expect(second.plan.counts).toMatchObject({ update: 6000, unchanged: 8 });
      await new Promise((r) => setImmediate(r));
    }
    expect(inFlight.calls).toBeGreaterThan(10);
    expect(inFlight.max).toBe(1);
    const { rows } = await client.query('SELECT count(*)::int AS n FROM connection WHERE port = 4242');
    expect(rows[0].n).toBe(6000);
  });

  it('leaves 3.x team columns alone on update', async () => {
    await syncAirflowDb(client, [pg1], { keys: keyA });
    await client.query(`INSERT INTO team (name) VALUES ('analytics')`);
    await client.query(`UPDATE connection SET team_name = 'analytics'`);
    await syncAirflowDb(client, [{ ...pg1, object: { ...pg1.object, host: 'db2' } } as DesiredObject], { keys: keyA });
    const { rows } = await client.query('SELECT host, team_name FROM connection');
    expect(rows).toEqual([{ host: 'db2', team_name: 'analytics' }]);
  });
});
