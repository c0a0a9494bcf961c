import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFernetKeys } from '../../src/airflow/fernet.js';
import type { AirflowConnection } from '../../src/airflow/model.js';
import { syncAirflowDb } from '../../src/metadb/apply.js';
import { contentFields, digestsFor } from '../../src/metadb/digests.js';
import { loadSchemaFixture } from '../../src/metadb/fixtures.js';
import type { DesiredObject } from '../../src/metadb/plan.js';
import { readAirflowObjects, type DbConnection } from '../../src/metadb/read.js';
import { detectAirflowSchema } from '../../src/metadb/schema.js';
import { canonicalConnection, canonicalExtras, contentDigest, readSyncState, stateKey } from '../../src/metadb/sync-state.js';
import { createTestDatabase } from '../support/pg.js';
import { openClient, sipHash } from './helpers.js';

const KEY = parseFernetKeys('1NdcG3zgY2-okvDIhnqOTfHatmZ1dQW4y-Nv77K74XU=', 'test key');
const ALL = { connectionDescription: true, variableDescription: true, poolDescription: true, includeDeferred: true };

/**
 * The digest of stored columns as digests.ts documents it, worked out here step by step: each cell is the conn_id,
 * NUL and the value, or the conn_id and U+0001 for NULL. `perField` is the form recorded before (no conn_id; NULL as
 * the byte 0xff), which a sync still recognises.
 */
function documentedDigest(cells: Array<string | null>, fields = ALL, connId = 'c', perField = false): string {
  const names = contentFields('connection', fields);
  const secret = Buffer.concat([KEY.keys[0]!.signing, KEY.keys[0]!.encryption]);
  const version = perField ? 'v3 columns' : 'v4 columns per object';
  const derive = (label: string) =>
    createHmac('sha256', secret).update(`envmgr sync-state digests ${version}\u0000connection\u0000${names.join(',')}\u0000${label}`).digest();
  const kid = derive('kid').toString('base64url').slice(0, 8);
  const cellBytes = (cell: string | null) =>
    perField ? (cell === null ? Buffer.from([0xff]) : Buffer.from(cell, 'utf8')) : Buffer.from(cell === null ? `${connId}\u0001` : `${connId}\u0000${cell}`, 'utf8');
  const fieldDigests = cells.map((cell, j) => sipHash(derive(`field ${j}`).subarray(0, 16), cellBytes(cell)).subarray(0, 6));
  return `${kid}.${Buffer.concat(fieldDigests).toString('base64url')}`;
}

describe('connection digests (the stored form)', () => {
  it('digest each column as stored (the extra as its canonical JSON) with the conn_id, under its own key derived from the Fernet key', () => {
    const c: AirflowConnection = { conn_id: 'c', conn_type: 'postgres', description: '', host: 'hé\tx', login: null, password: '', schema: 'a"b', port: 5432, extra: { b: 1, a: 'x, y: z' } };
    // conn_type, description, host, login, password ('' is stored as NULL), schema, port, extra (canonical: keys sorted).
    const cells = ['postgres', '', 'hé\tx', null, null, 'a"b', '5432', '{"a":"x, y: z","b":1}'];
    expect(digestsFor(KEY).connections([c], ALL)).toEqual([documentedDigest(cells)]);
    expect(contentDigest('connection', c, ALL, KEY)).toBe(documentedDigest(cells));
    // Without the description column (Airflow 2.x schemas before it): seven columns, another layout and so another kid.
    const noDescription = { ...ALL, connectionDescription: false };
    const seven = digestsFor(KEY).connections([c], noDescription)[0]!;
    expect(seven).toBe(documentedDigest(cells.filter((_, j) => j !== 1), noDescription));
    expect(seven.slice(0, 8)).not.toBe(documentedDigest(cells).slice(0, 8));
    // The form recorded before each digest covered the conn_id: still what connections(..., perObject false) makes.
    expect(digestsFor(KEY).connections([c], ALL, 0, false)).toEqual([documentedDigest(cells, ALL, 'c', true)]);
  });

  it('tell NULL from the empty text where Airflow stores both, and not where it stores neither', () => {
    const base: AirflowConnection = { conn_id: 'c', conn_type: 'http', host: 'h' };
    const digest = (c: AirflowConnection) => digestsFor(KEY).connections([c], ALL)[0]!;
    const changed = (a: AirflowConnection, b: AirflowConnection) => digestsFor(KEY).changedFields('connection', ALL, digest(a), digest(b));
    expect(changed(base, { ...base, description: '' })).toEqual(['description']);
    expect(changed(base, { ...base, schema: '' })).toEqual(['schema']);
    // An empty password and an empty extra are stored as NULL (Connection.set_password / set_extra).
    expect(changed(base, { ...base, password: '' })).toEqual([]);
    expect(changed(base, { ...base, extra: {} })).toEqual([]);
    expect(changed(base, { ...base, port: 1, login: 'u' })).toEqual(['login', 'port']);
  });

  it('of a batch are those of each connection alone, whatever their extras', () => {
    const text = fc.oneof(fc.string({ unit: 'grapheme' }), fc.constantFrom('', 'a"b', 'back\\slash', 'x, y: z', '\u2028', 'é'));
    const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.bigInt({ min: 2n ** 60n, max: 2n ** 70n }));
    const extra = fc.oneof(
      fc.constant(undefined),
      fc.dictionary(fc.constantFrom('sslmode', 'b', 'a', '10', '9', '__proto__', 'a:b', 'c,d'), scalar),
      fc.dictionary(text, fc.oneof(scalar, fc.array(scalar), fc.dictionary(text, scalar))),
    );
    const connection = fc.record({ conn_id: fc.constant('c'), conn_type: text, host: fc.oneof(text, fc.constant(null)), port: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constant(null)), extra });
    fc.assert(
      fc.property(fc.array(connection, { maxLength: 12 }), (cs) => {
        const digests = digestsFor(KEY);
        const batch = digests.connections(cs as AirflowConnection[], ALL);
        // Fresh copies, so that nothing remembered from the batch answers for them.
        const alone = cs.map((c) => digests.connections([structuredClone(c) as AirflowConnection], ALL)[0]);
        expect(batch).toEqual(alone);
      }),
      { numRuns: 300 },
    );
  });
});

describe('canonicalExtras', () => {
  const text = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('', 'a"b', 'back\\slash', 'x, "y": z}', '\u007f', '\ud800'));
  const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined));
  const extra = fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.dictionary(fc.constantFrom('sslmode', 'b', 'a', '10', '9', 'é', '__proto__', 'constructor', 'k:v', 'x,y'), scalar),
    fc.dictionary(text, fc.oneof(scalar, fc.array(scalar), fc.dictionary(text, scalar))),
  );

  it("is each extra's canonicalConnection text, for any extras together", () => {
    fc.assert(
      fc.property(fc.array(extra, { maxLength: 20 }), (extras) => {
        const cs = extras.map((e) => ({ conn_id: 'c', conn_type: 't', extra: e }) as AirflowConnection);
        expect(canonicalExtras(cs)).toEqual(cs.map((c) => canonicalConnection(c).extra));
      }),
      { numRuns: 1000 },
    );
    const own = JSON.parse('{"__proto__": 1, "a": 2}') as Record<string, unknown>;
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { z: 1, a: 'x' });
    const inheriting = Object.assign(Object.create({ inherited: 'x' }) as Record<string, unknown>, { a: 1 });
    const records = [own, { a: 1 }, bare, { inherited: 2 }, inheriting, { b: [1], a: { c: 2 } }, { y: 'ü', a: 1 }, { big: 2n ** 70n }];
    const cs = records.map((extra) => ({ conn_id: 'c', conn_type: 't', extra }) as AirflowConnection);
    expect(canonicalExtras(cs)).toEqual(cs.map((c) => canonicalConnection(c).extra));
    expect(canonicalExtras([{ conn_id: 'c', conn_type: 't', extra: { b: 1, a: 'x,"}' } }])).toEqual(['{"a":"x,\\"}","b":1}']);
  });
});

describe('connection digests against Postgres (rows read back, rows compared in full)', () => {
  let client: pg.Client;
  beforeAll(async () => {
    const url = await createTestDatabase('digests');
    await loadSchemaFixture(url, '3.2');
    client = await openClient(url);
  });
  afterAll(async () => {
    await client.end();
  });

  it('of a row read back are the ones recorded when it was written, for awkward values of every field', async () => {
    const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.constantFrom('', 'tab\there', 'new\nline', 'back\\slash', '\\N', 'é€😀', 'x, y: z'));
    const orNull = fc.oneof(text, fc.constant(null));
    const scalar = fc.oneof(text, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
    const connection = fc.record({
      conn_type: text.filter((t) => t !== ''), description: orNull, host: orNull, login: orNull, password: orNull, schema: orNull,
      port: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constant(null)),
      extra: fc.oneof(fc.constant(null), fc.dictionary(text, fc.oneof(scalar, fc.array(scalar)))),
    });
    const desired: DesiredObject[] = fc.sample(connection, { numRuns: 150, seed: 7 }).map((c, i) => {
      const object = { ...c, conn_id: `c${String(i).padStart(3, '0')}` } as AirflowConnection;
      return { kind: 'connection', key: object.conn_id, source: 'test', object };
    });
    await syncAirflowDb(client, desired, { keys: KEY });
    const info = await detectAirflowSchema(client);
    const state = await readSyncState(client, info);
    // Read in full (not as known rows): decrypted, every column as Airflow holds it.
    const rows = (await readAirflowObjects(client, info, KEY)).connections;
    expect(rows.size).toBe(desired.length);
    const mismatched = desired.filter((d) => contentDigest('connection', rows.get(d.key) as DbConnection, info.has, KEY) !== state.get(stateKey('connection', d.key))?.hash);
    expect(mismatched.map((d) => d.key)).toEqual([]);
    // And the recorded digest is the desired object's.
    expect(desired.every((d) => state.get(stateKey('connection', d.key))?.hash === contentDigest('connection', d.object as AirflowConnection, info.has, KEY))).toBe(true);
  });

  // Rows compared in full (not by digest): their verdicts must agree with the digests'. Keys unlike the ones above.
  const desired = (object: AirflowConnection, source = 'test'): DesiredObject => ({ kind: 'connection', key: object.conn_id, source, object });
  const actions = async (ds: DesiredObject[], options: { prune?: boolean; pruneSources?: string[] } = {}) =>
    (await syncAirflowDb(client, ds, { keys: KEY, ...options })).plan.entries.map((e) => [e.key, e.action, e.conflict]);

  it("keeps a row it adopted its own, though the row's extra has other key order and spacing than the source's", async () => {
    // Written by Airflow (its UI's json.dumps, another key order), equal to the source's object.
    await client.query(
      `INSERT INTO connection (conn_id, conn_type, host, is_encrypted, is_extra_encrypted, extra) VALUES ('adopt', 'http', 'h', false, false, '{"b":1,  "a": 2}')`,
    );
    const source = { conn_id: 'adopt', conn_type: 'http', host: 'h', extra: { a: 2, b: 1 } };
    expect(await actions([desired(source, 'src-adopt')])).toEqual([['adopt', 'unchanged', undefined]]);
    // Rewritten since, content the same (as rotate-fernet-key or a dump and restore do): still envmgr's, and now
    // written again encrypted (the row keeps its extra in the clear although the database has a key).
    await client.query(`UPDATE connection SET host = host WHERE conn_id = 'adopt'`);
    expect(await actions([desired(source, 'src-adopt')])).toEqual([['adopt', 'update', undefined]]);
    await client.query(`UPDATE connection SET host = host WHERE conn_id = 'adopt'`);
    expect(await actions([desired(source, 'src-adopt')])).toEqual([['adopt', 'unchanged', undefined]]);
    await client.query(`UPDATE connection SET host = host WHERE conn_id = 'adopt'`);
    expect(await actions([desired({ ...source, host: 'h2' }, 'src-adopt')])).toEqual([['adopt', 'update', undefined]]);
    await client.query(`UPDATE connection SET login = login WHERE conn_id = 'adopt'`);
    expect(await actions([], { prune: true, pruneSources: ['src-adopt'] })).toEqual([['adopt', 'delete', undefined]]);
  });

  it('gives the same verdict on a reordered extra whether or not the row is still the version envmgr wrote', async () => {
    await actions([desired({ conn_id: 'order', conn_type: 'http', extra: { a: 1, b: 2 } })]);
    const reordered = desired({ conn_id: 'order', conn_type: 'http', extra: { b: 2, a: 1 } });
    // Compared by digest (the row is the version envmgr wrote), then in full (another version, same content).
    expect(await actions([reordered])).toEqual([['order', 'unchanged', undefined]]);
    await client.query(`UPDATE connection SET host = host WHERE conn_id = 'order'`);
    expect(await actions([reordered])).toEqual([['order', 'unchanged', undefined]]);
  });

  it('digests and writes each cell on its own when a lone surrogate ends one column and another starts the next', async () => {
    const split: AirflowConnection = { conn_id: 'sur1', conn_type: 'http', host: 'x\ud83d', login: '\ude00y', port: 1, extra: { k: 'v' } };
    const next: AirflowConnection = { conn_id: 'sur2', conn_type: 'http', host: 'h2', login: 'l2', port: 2 };
    expect(await actions([desired(split), desired(next)])).toEqual([['sur1', 'create', undefined], ['sur2', 'create', undefined]]);
    const info = await detectAirflowSchema(client);
    const rows = (await readAirflowObjects(client, info, KEY)).connections;
    // Each lone surrogate is stored as U+FFFD in its own column; the next row's columns are its own.
    expect([rows.get('sur1')!.host, rows.get('sur1')!.login, rows.get('sur1')!.port]).toEqual(['x\ufffd', '\ufffdy', 1]);
    expect([rows.get('sur2')!.host, rows.get('sur2')!.login, rows.get('sur2')!.port]).toEqual(['h2', 'l2', 2]);
    const state = await readSyncState(client, info);
    for (const key of ['sur1', 'sur2']) expect(contentDigest('connection', rows.get(key)!, info.has, KEY), key).toBe(state.get(stateKey('connection', key))!.hash);
    // The digests of a batch are those of each connection alone.
    expect(digestsFor(KEY).connections([split, next], info.has)).toEqual([split, next].map((c) => digestsFor(KEY).connections([c], info.has)[0]));
  });
});
