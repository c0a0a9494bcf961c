import type pg from 'pg';
import type { AirflowConnection } from '../../src/airflow/model.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fernetRotate, parseFernetKeys } from '../../src/airflow/fernet.js';
import { syncAirflowDb } from '../../src/metadb/apply.js';
import { digestsFor, legacyContentHash } from '../../src/metadb/digests.js';
import { loadSchemaFixture } from '../../src/metadb/fixtures.js';
import type { DesiredObject } from '../../src/metadb/plan.js';
import { readAirflowObjects } from '../../src/metadb/read.js';
import { detectAirflowSchema } from '../../src/metadb/schema.js';
import { canonicalText, canonicalVariable, connectionCanonicalText, parseSyncState, readSyncState, serializeSyncState, stateKey } from '../../src/metadb/sync-state.js';
import { createTestDatabase } from '../support/pg.js';
import { desiredSet, dumpTables, openClient, recordStatements, trackInFlight } from './helpers.js';

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
    // A later sync with a key reads those plaintext rows fine, and writes them again encrypted (their content the
    // same: an update of their encryption alone); the one after finds them unchanged.
    const again = await syncAirflowDb(client, [pg1, var1], { keys: keyA });
    expect(again.plan.entries.map((e) => [e.key, e.action, e.changedFields])).toEqual([['pg1', 'update', ['encryption']], ['v1', 'update', ['encryption']]]);
    expect(again.keyCheckedAgainst).toBeNull();
    const encrypted = await client.query('SELECT is_encrypted, is_extra_encrypted FROM connection');
    expect(encrypted.rows).toEqual([{ is_encrypted: true, is_extra_encrypted: true }]);
    expect((await client.query('SELECT is_encrypted FROM variable')).rows).toEqual([{ is_encrypted: true }]);
    expect((await syncAirflowDb(client, [pg1, var1], { keys: keyA })).plan.counts.unchanged).toBe(2);
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
    const state = await readSyncState(client, info);
    expect([...state.values()].map(({ kind, key, source }) => ({ kind, key, source }))).toEqual([{ kind: 'connection', key: 'local_only', source: 'deployment:d1' }]);
  });

  it("tells envmgr's row versions from rows deleted, edited or added since, without listing rows still as written", async () => {
    const conns = ['a', 'b', 'c', 'd'].map((id): DesiredObject => ({
      kind: 'connection', key: id, source: 'deployment:d1', object: { conn_id: id, conn_type: 'http', host: `h-${id}`, password: `pw-${id}` },
    }));
    await syncAirflowDb(client, conns, { keys: keyA });
    // As written: a digest of each recorded version's keys answers for them; no statement lists every row.
    const log = recordStatements(client);
    expect((await syncAirflowDb(client, conns, { keys: keyA })).plan.counts).toMatchObject({ unchanged: 4 });
    expect(log.some((q) => /^SELECT conn_id, xmin::text AS row_xmin FROM/.test(q))).toBe(false);
    expect(log.some((q) => /md5\(string_agg/.test(q))).toBe(true);
    // In Airflow since: b deleted, c edited (a new row version), e added.
    await client.query(`DELETE FROM connection WHERE conn_id = 'b'`);
    await client.query(`UPDATE connection SET host = 'elsewhere' WHERE conn_id = 'c'`);
    await client.query(`INSERT INTO connection (conn_id, conn_type, host, is_encrypted, is_extra_encrypted) VALUES ('e', 'http', 'h', false, false)`);
    const e: DesiredObject = { kind: 'connection', key: 'e', source: 'deployment:d1', object: { conn_id: 'e', conn_type: 'http', host: 'h' } };
    const again = await syncAirflowDb(client, [...conns, e], { keys: keyA });
    expect(again.plan.entries.map((x) => [x.key, x.action, x.conflict])).toEqual([
      ['a', 'unchanged', undefined],
      ['b', 'create', undefined],
      ['c', 'conflict', 'modified'],
      ['d', 'unchanged', undefined],
      ['e', 'unchanged', undefined],
    ]);
    const info = await detectAirflowSchema(client);
    expect((await readAirflowObjects(client, info, keyA)).connections.get('b')?.password).toBe('pw-b');
  });

  it('checks the keys of a recorded row version, not only how many rows carry it', async () => {
    await syncAirflowDb(client, [pg1, { ...pg1, key: 'pg2', object: { ...pg1.object, conn_id: 'pg2' } } as DesiredObject], { keys: keyA });
    const info = await detectAirflowSchema(client);
    const { rows } = await client.query<{ x: string }>(`SELECT DISTINCT xmin::text AS x FROM connection`);
    expect(rows).toHaveLength(1);
    // A record that names two keys for that version, one of them not the row's: as many rows, other keys.
    const seen: string[] = [];
    const read = await readAirflowObjects(client, info, keyA, {
      kinds: ['connection'],
      known: (_kind, key) => (seen.push(key), 'recorded-digest'),
      recordedConnections: new Map([[rows[0]!.x, ['pg1', 'pg9']]]),
    });
    expect([...read.connections.keys()].sort()).toEqual(['pg1', 'pg2']);
    expect(seen.sort()).toEqual(['pg1', 'pg2']);
  });

  it('runs whileWaiting once the row-version query is on its way, and its error ends the read after that query', async () => {
    await syncAirflowDb(client, [pg1], { keys: keyA });
    const info = await detectAirflowSchema(client);
    const { rows } = await client.query<{ x: string }>(`SELECT DISTINCT xmin::text AS x FROM connection`);
    const recordedConnections = new Map([[rows[0]!.x, ['pg1']]]);
    const log = recordStatements(client);
    const sentBefore: number[] = [];
    const read = await readAirflowObjects(client, info, keyA, {
      known: () => 'recorded-digest',
      recordedConnections,
      whileWaiting: () => sentBefore.push(log.length),
    });
    expect(sentBefore).toEqual([1]);
    expect(log[0]).toMatch(/md5\(string_agg/);
    expect(read.connections.get('pg1')?.contentHash).toBe('recorded-digest');
    // A failing hook: the read fails with its error, and the client is left idle and usable (no query in flight).
    const before = log.length;
    await expect(
      readAirflowObjects(client, info, keyA, {
        known: () => 'recorded-digest',
        recordedConnections,
        whileWaiting: () => {
          throw new Error('hook failed');
        },
      }),
    ).rejects.toThrow('hook failed');
    expect(log.length).toBe(before + 1);
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it("keeps envmgr's table in its current shape: one row, the state document uncompressed, written_at the writing transaction's time", async () => {
    await syncAirflowDb(client, [pg1, var1], { keys: keyA });
    const columns = await client.query(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attstorage AS storage, pg_get_expr(d.adbin, d.adrelid) AS "default"
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = 'envmgr_sync_state'::regclass AND a.attnum > 0 ORDER BY a.attnum`,
    );
    expect(columns.rows).toEqual([
      { name: 'id', type: 'smallint', storage: 'p', default: '1' },
      { name: 'format', type: 'integer', storage: 'p', default: null },
      { name: 'state', type: 'text', storage: 'e', default: null },
      { name: 'written_at', type: 'timestamp with time zone', storage: 'p', default: 'now()' },
    ]);
    const doc = await client.query('SELECT id, format, state::jsonb AS state, written_at FROM envmgr_sync_state');
    expect(doc.rows).toHaveLength(1);
    expect(doc.rows[0].format).toBe(2);
    const { groups } = doc.rows[0].state as { groups: Array<{ kind: string; source: string; kid: string; rows: unknown[][] }> };
    expect(groups.map((g) => [g.kind, g.source, g.rows.map((r) => r[0])])).toEqual([['connection', 'deployment:d1', ['pg1']], ['variable', 'deployment:d1', ['v1']]]);
    // Nothing of the values in it: key, row version and digests only.
    expect(JSON.stringify(groups)).not.toMatch(/pw1|one|require/);
    expect(Math.abs((doc.rows[0].written_at as Date).getTime() - Date.now())).toBeLessThan(60_000);

    // Each write stamps it with its own transaction's time; a sync that writes nothing leaves it.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const changedPg1 = { ...pg1, object: { ...pg1.object, password: 'pw2' } } as DesiredObject;
    await syncAirflowDb(client, [changedPg1, var1], { keys: keyA });
    const second = await client.query('SELECT written_at FROM envmgr_sync_state');
    expect((second.rows[0].written_at as Date).getTime()).toBeGreaterThan((doc.rows[0].written_at as Date).getTime());
    await syncAirflowDb(client, [changedPg1, var1], { keys: keyA });
    expect((await client.query('SELECT written_at FROM envmgr_sync_state')).rows).toEqual(second.rows);
  });

  it("takes over envmgr_sync_state as envmgr 0.1 kept it (a row per object), replacing it at the first write", async () => {
    await client.query(
      `CREATE TABLE envmgr_sync_state (kind text NOT NULL CHECK (kind IN ('connection', 'variable', 'pool')), key text NOT NULL,
         source text NOT NULL, content_hash text NOT NULL, row_hash text, written_at timestamptz NOT NULL, PRIMARY KEY (kind, key))`,
    );
    await client.query(`INSERT INTO envmgr_sync_state VALUES ('variable', 'old', 'deployment:d1', 'x', NULL, '2020-01-01T00:00:00Z')`);
    const dry = await syncAirflowDb(client, [pg1, var1], { keys: keyA, dryRun: true });
    expect(dry.plan.counts.create).toBe(2);
    // A dry run changes nothing, not even the table.
    const columns = () => client.query(`SELECT string_agg(attname, ',' ORDER BY attnum) AS c FROM pg_attribute WHERE attrelid = 'envmgr_sync_state'::regclass AND attnum > 0`);
    expect((await columns()).rows).toEqual([{ c: 'kind,key,source,content_hash,row_hash,written_at' }]);

    const outcome = await syncAirflowDb(client, [pg1, var1], { keys: keyA });
    expect(outcome.result).toMatchObject({ created: 2, wrote: true });
    expect((await columns()).rows).toEqual([{ c: 'id,format,state,written_at' }]);
    // Its entries are carried over (here one for a variable the database no longer has).
    const state = await readSyncState(client, await detectAirflowSchema(client));
    expect([...state.values()].map((e) => [e.kind, e.key, e.hash === 'x'])).toEqual([['connection', 'pg1', false], ['variable', 'old', true], ['variable', 'v1', false]]);
    // And it goes on working: an update, then nothing to do.
    const changedPg1 = { ...pg1, object: { ...pg1.object, password: 'pw2' } } as DesiredObject;
    expect((await syncAirflowDb(client, [changedPg1, var1], { keys: keyA })).plan.counts).toMatchObject({ update: 1, unchanged: 1 });
    expect((await syncAirflowDb(client, [changedPg1, var1], { keys: keyA })).result.wrote).toBe(false);
  });

  it('refuses a state document it cannot read, saying what to do, and writes nothing', async () => {
    await syncAirflowDb(client, [pg1], { keys: keyA });
    for (const [state, why] of [['{"format": 3, "groups": []}', /format 3, this envmgr reads 2; is a newer envmgr/], ['not json', /not JSON/], ['{"format": 2, "groups": [{"kind": "dag"}]}', /malformed group/]] as const) {
      await client.query('UPDATE envmgr_sync_state SET state = $1', [state]);
      const before = await dumpTables(client);
      await expect(syncAirflowDb(client, [pg1, var1], { keys: keyA })).rejects.toThrow(why);
      await expect(syncAirflowDb(client, [pg1, var1], { keys: keyA })).rejects.toThrow(/drop the table and sync again/);
      expect(await dumpTables(client)).toEqual(before);
    }
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
    const kids = (dump: Record<string, unknown>) =>
      [...parseSyncState((dump.envmgr_sync_state as Array<{ r: { state: string } }>)[0]!.r.state, 'state').values()].map((e) => [e.key, e.hash.split('.')[0]]);
    expect(kids(after).map(([key]) => key)).toEqual(['pg1', 'v1']);
    // Made under another key: every digest's key id changed.
    for (const [key, kid] of kids(after)) expect(kid, key).not.toBe(kids(before).find(([k]) => k === key)![1]);
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
    const rowHashes = await readSyncState(client, info);
    await client.query('DROP TABLE envmgr_sync_state');
    await client.query(
      `CREATE TABLE envmgr_sync_state (kind text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, source text NOT NULL,
         content_hash text NOT NULL, row_hash text, written_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (kind, key))`,
    );
    for (const e of rowHashes.values()) {
      await client.query('INSERT INTO envmgr_sync_state (kind, key, source, content_hash, row_hash) VALUES ($1, $2, $3, $4, $5)', [e.kind, e.key, e.source, legacy[e.key as keyof typeof legacy], e.rowHash]);
    }
    // A row Airflow rewrote since (rotate-fernet-key: another row version), and one that changed at the source.
    const c = (await client.query('SELECT password FROM connection')).rows[0];
    await client.query('UPDATE connection SET password = $1', [fernetRotate(keyA, c.password)]);
    const changed = { ...var1, object: { key: 'v1', value: 'two' } } as DesiredObject;
    const outcome = await syncAirflowDb(client, [{ ...pg1, object: { ...pg1.object, port: 5433 } } as DesiredObject, changed], { keys: keyA });
    expect(outcome.plan.entries.map((e) => [e.key, e.action, e.changedFields])).toEqual([['pg1', 'update', ['port']], ['v1', 'update', ['value']]]);
    const after = [...(await readSyncState(client, info)).values()];
    expect(after.map((e) => e.key)).toEqual(['pg1', 'v1']);
    for (const e of after) expect(e.hash).toMatch(/^[\w-]{8}\./);
  });

  it('keeps a state whose connection digests are of the canonical text (layout v2): its rows are still its own, then re-recorded', async () => {
    const pg2 = { ...pg1, key: 'pg2', object: { ...pg1.object, conn_id: 'pg2' } } as DesiredObject;
    await syncAirflowDb(client, [pg1, pg2, var1], { keys: keyA });
    const info = await detectAirflowSchema(client);
    const written = await readSyncState(client, info);
    // The state as the layout-v2 digests had it: each connection's canonical text, digested element by element.
    const v2 = new Map([...written].map(([k, e]) => {
      if (e.kind !== 'connection') return [k, e];
      const object = (e.key === 'pg1' ? pg1 : pg2).object as AirflowConnection;
      return [k, { ...e, hash: digestsFor(keyA).many('connection', info.has, [connectionCanonicalText(object, info.has)], null)[0]! }];
    }));
    await client.query('UPDATE envmgr_sync_state SET state = $1', [serializeSyncState(v2.values())]);
    expect(digestsFor(keyA).current('connection', info.has, v2.get(stateKey('connection', 'pg1'))!.hash)).toBe(false);
    // pg2 edited in Airflow since (another row version, other content).
    await client.query(`UPDATE connection SET host = 'elsewhere' WHERE conn_id = 'pg2'`);
    const outcome = await syncAirflowDb(client, [pg1, pg2, var1], { keys: keyA });
    expect(outcome.plan.entries.map((e) => [e.key, e.action, e.conflict])).toEqual([
      ['pg1', 'unchanged', undefined],
      ['pg2', 'conflict', 'modified'],
      ['v1', 'unchanged', undefined],
    ]);
    // pg1 is re-recorded in the stored form (now compared by its digests); pg2 keeps its record until resolved.
    const after = await readSyncState(client, info);
    expect(after.get(stateKey('connection', 'pg1'))!.hash).toBe(written.get(stateKey('connection', 'pg1'))!.hash);
    expect(after.get(stateKey('connection', 'pg2'))!.hash).toBe(v2.get(stateKey('connection', 'pg2'))!.hash);
    expect((await syncAirflowDb(client, [pg1, var1], { keys: keyA })).result.wrote).toBe(false);
  });

  it('sees an object changed in place since the last sync of the same process (nothing remembered of it is trusted)', async () => {
    const object: AirflowConnection = { conn_id: 'm1', conn_type: 'http', host: 'h', password: 'p1', extra: { a: 1 } };
    const desired: DesiredObject[] = [{ kind: 'connection', key: 'm1', source: 'deployment:d1', object }];
    await syncAirflowDb(client, desired, { keys: keyA });
    object.extra!.a = 2;
    object.password = 'p2';
    const again = await syncAirflowDb(client, desired, { keys: keyA });
    expect(again.plan.entries.map((e) => [e.action, e.changedFields])).toEqual([['update', ['password', 'extra']]]);
    const info = await detectAirflowSchema(client);
    const row = (await readAirflowObjects(client, info, keyA)).connections.get('m1')!;
    expect([row.password, row.extraText]).toEqual(['p2', '{"a": 2}']);
    expect((await syncAirflowDb(client, desired, { keys: keyA })).result.wrote).toBe(false);
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

  it('opens a sync in few round trips, with or without alembic_version, and still refuses a wrong key with a state recorded', async () => {
    await syncAirflowDb(client, [pg1, var1], { keys: keyA });
    for (const withRevision of [true, false]) {
      if (!withRevision) await client.query('DROP TABLE alembic_version');
      const log = recordStatements(client);
      const again = await syncAirflowDb(client, [pg1, var1], { keys: keyA });
      expect(again.plan.counts.unchanged).toBe(2);
      expect(again.info.label).toMatch(withRevision ? /^Airflow 3\.2\.0 \(revision/ : /no alembic_version/);
      // Lock, catalog, then key check + alembic_version (when there is one) + state document in one query.
      expect(log.length).toBeLessThanOrEqual(6);
      const opening = log.find((q) => q.includes('SELECT state FROM'));
      expect(opening).toMatch(/format\('connection %L \(password\)'/);
      expect(opening?.includes('alembic_version')).toBe(withRevision);
    }
    const before = await dumpTables(client);
    await expect(syncAirflowDb(client, [{ ...pg1, object: { ...pg1.object, host: 'other' } as AirflowConnection }], { keys: parseFernetKeys(B, 'key B') }))
      .rejects.toThrow(/the Fernet key from key B does not decrypt connection 'pg1'/);
    expect(await dumpTables(client)).toEqual(before);
  });

  it('calls a value the verified key does not open damaged, not the key wrong, and writes nothing', async () => {
    await syncAirflowDb(client, [pg1, var1], { keys: keyA });
    // Edited by hand: still flagged encrypted, no longer a token. The next sync decrypts that row alone (the other is
    // as envmgr wrote it), after the key check opened the connection's password.
    await client.query(`UPDATE variable SET val = 'hand-edited' WHERE key = 'v1'`);
    const before = await dumpTables(client);
    const err = (await syncAirflowDb(client, [pg1, { ...var1, object: { key: 'v1', value: 'two' } }], { keys: keyA }).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(
      "variable 'v1' in the Airflow database does not decrypt with the Fernet key from key A, which decrypts the other encrypted " +
        'values: that value is damaged or was encrypted with another key; fix or delete the row, then run again',
    );
    expect(await dumpTables(client)).toEqual(before);
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
