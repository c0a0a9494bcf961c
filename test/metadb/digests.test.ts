import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFernetKeys } from '../../src/airflow/fernet.js';
import { hasKeys, type AirflowConnection } from '../../src/airflow/model.js';
import { pythonJsonDumps } from '../../src/airflow/pyjson.js';
import { syncAirflowDb } from '../../src/metadb/apply.js';
import { contentFields, digestsFor } from '../../src/metadb/digests.js';
import { loadSchemaFixture } from '../../src/metadb/fixtures.js';
import type { DesiredObject } from '../../src/metadb/plan.js';
import { readAirflowObjects, type DbConnection } from '../../src/metadb/read.js';
import { storedExtras } from '../../src/metadb/rows.js';
import { detectAirflowSchema } from '../../src/metadb/schema.js';
import { contentDigest, readSyncState, stateKey } from '../../src/metadb/sync-state.js';
import { createTestDatabase } from '../support/pg.js';
import { openClient, sipHash } from './helpers.js';

const KEY = parseFernetKeys('1NdcG3zgY2-okvDIhnqOTfHatmZ1dQW4y-Nv77K74XU=', 'test key');
const ALL = { connectionDescription: true, variableDescription: true, poolDescription: true, includeDeferred: true };

/** The digest of stored columns as digests.ts documents it, worked out here step by step. */
function documentedDigest(cells: Array<string | null>, fields = ALL): string {
  const names = contentFields('connection', fields);
  const secret = Buffer.concat([KEY.keys[0]!.signing, KEY.keys[0]!.encryption]);
  const derive = (label: string) =>
    createHmac('sha256', secret).update(`envmgr sync-state digests v3 stored\u0000connection\u0000${names.join(',')}\u0000${label}`).digest();
  const kid = derive('kid').toString('base64url').slice(0, 8);
  const fieldDigests = cells.map((cell, j) => sipHash(derive(`field ${j}`).subarray(0, 16), cell === null ? Buffer.from([0xff]) : Buffer.from(cell, 'utf8')).subarray(0, 6));
  return `${kid}.${Buffer.concat(fieldDigests).toString('base64url')}`;
}

describe('connection digests (the stored form)', () => {
  it('digest each column as stored, with its own key derived from the Fernet key; NULL as the byte 0xff', () => {
    const c: AirflowConnection = { conn_id: 'c', conn_type: 'postgres', description: '', host: 'hé\tx', login: null, password: '', schema: 'a"b', port: 5432, extra: { b: 1, a: 'x, y: z' } };
    // conn_type, description, host, login, password ('' is stored as NULL), schema, port, extra (json.dumps, key order kept).
    const cells = ['postgres', '', 'hé\tx', null, null, 'a"b', '5432', '{"b": 1, "a": "x, y: z"}'];
    expect(digestsFor(KEY).connections([c], ALL)).toEqual([documentedDigest(cells)]);
    expect(contentDigest('connection', c, ALL, KEY)).toBe(documentedDigest(cells));
    // Without the description column (Airflow 2.x schemas before it): seven columns, another layout and so another kid.
    const noDescription = { ...ALL, connectionDescription: false };
    const seven = digestsFor(KEY).connections([c], noDescription)[0]!;
    expect(seven).toBe(documentedDigest(cells.filter((_, j) => j !== 1), noDescription));
    expect(seven.slice(0, 8)).not.toBe(documentedDigest(cells).slice(0, 8));
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

describe('storedExtras', () => {
  const text = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('', 'a"b', 'back\\slash', 'x, "y": z}', '\u007f', '\ud800'));
  const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined));
  const extra = fc.oneof(
    fc.constant(null),
    fc.constant(undefined),
    fc.dictionary(fc.constantFrom('sslmode', 'b', 'a', '10', '9', 'é', '__proto__', 'constructor', 'k:v', 'x,y'), scalar),
    fc.dictionary(text, fc.oneof(scalar, fc.array(scalar), fc.dictionary(text, scalar))),
  );

  it("is json.dumps of each extra as pythonJsonDumps writes it alone (NULL for none), for any extras", () => {
    fc.assert(
      fc.property(fc.array(extra, { maxLength: 20 }), (extras) => {
        const cs = extras.map((e) => ({ conn_id: 'c', conn_type: 't', extra: e }) as AirflowConnection);
        const expected = extras.map((e) => (e && hasKeys(e) ? pythonJsonDumps(e) : null));
        expect(storedExtras(cs)).toEqual(expected);
        // Asked again (the digests and the COPY rows each ask), the same texts.
        expect(storedExtras(cs)).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('writes the usual flat extras with Python\'s separators, and the others one by one', () => {
    const own = JSON.parse('{"__proto__": 1, "a": 2}') as Record<string, unknown>;
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { z: 1, a: 'x' });
    const inheriting = Object.assign(Object.create({ inherited: 'x' }) as Record<string, unknown>, { a: 1 });
    const records: Array<Record<string, unknown>> = [
      { sslmode: 'require', application_name: 'app: 1, 2', connect_timeout: 10, keepalive: true, x: null, gone: undefined },
      own, bare, inheriting, { n: 1.5, e: 1e-7 }, { big: 12345678901234567890n }, { y: 'ü' }, { q: 'say "hi"\\' }, { m: new Map([['a', 1]]) },
    ];
    const out = storedExtras(records.map((extra) => ({ conn_id: 'c', conn_type: 't', extra })));
    expect(out[0]).toBe('{"sslmode": "require", "application_name": "app: 1, 2", "connect_timeout": 10, "keepalive": true, "x": null}');
    expect(out[1]).toBe('{"__proto__": 1, "a": 2}');
    expect(out[2]).toBe('{"z": 1, "a": "x"}');
    expect(out[4]).toBe('{"n": 1.5, "e": 1e-07}');
    expect(out[5]).toBe('{"big": 12345678901234567890}');
    expect(out[6]).toBe('{"y": "\\u00fc"}');
    expect(out[7]).toBe('{"q": "say \\"hi\\"\\\\"}');
    expect(out).toEqual(records.map((r) => pythonJsonDumps(r)));
  });
});

describe('connection digests against Postgres', () => {
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
});
