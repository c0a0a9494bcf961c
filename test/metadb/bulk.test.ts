import fc from 'fast-check';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fernetDecrypt, parseFernetKeys } from '../../src/airflow/fernet.js';
import type { AirflowConnection } from '../../src/airflow/model.js';
import { applySyncPlan, syncAirflowDb } from '../../src/metadb/apply.js';
import { copyFrom } from '../../src/metadb/copy.js';
import { loadSchemaFixture } from '../../src/metadb/fixtures.js';
import { planSync, type DesiredObject } from '../../src/metadb/plan.js';
import { readAirflowObjects, type DbConnection } from '../../src/metadb/read.js';
import { CopyRows } from '../../src/metadb/rows.js';
import { detectAirflowSchema } from '../../src/metadb/schema.js';
import { canonicalConnection, canonicalText, connectionCanonicalText, readSyncState, stateKey } from '../../src/metadb/sync-state.js';
import { createTestDatabase } from '../support/pg.js';
import { desiredSet, makeConnection, openClient, recordStatements, WRITE_SQL } from './helpers.js';

const KEY = parseFernetKeys('1NdcG3zgY2-okvDIhnqOTfHatmZ1dQW4y-Nv77K74XU=', 'test key');

const conn = (id: string, host: string): DesiredObject => ({
  kind: 'connection', key: id, source: 'deployment:d1', object: { conn_id: id, conn_type: 'postgres', host, password: `pw-${id}`, extra: { a: 1 } },
});

/** COPY's text format for one cell, written out independently of CopyRows (which builds it in WebAssembly). */
const copyCell = (v: string | null) => (v === null ? '\\N' : v.replace(/[\\\n\r\t]/g, (c) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!));

describe('COPY text', () => {
  it('escapes backslash, newline, carriage return and tab, and writes NULL as \\N, flags as t and f', () => {
    const out = new CopyRows(null, 5);
    out.value('a\\b\nc\rd\te\ff');
    out.value(null);
    out.flag(true);
    out.flag(false);
    out.value(5432);
    out.value('');
    out.value(undefined);
    out.flag(false);
    out.secret('plain without a key');
    out.secret(null);
    expect(out.take().toString('utf8')).toBe('a\\\\b\\nc\\rd\\te\ff\t\\N\tt\tf\t5432\n\t\\N\tf\tplain without a key\t\\N\n');
    // The next batch starts afresh.
    out.value('x');
    out.value('ü');
    out.flag(true);
    out.value(1);
    out.value(2);
    expect(out.take().toString('utf8')).toBe('x\tü\tt\t1\t2\n');
  });

  it('refuses a batch that does not end on a row boundary', () => {
    const out = new CopyRows(null, 2);
    out.value('only one');
    expect(() => out.take()).toThrow(/2 cells were given 1/);
  });

  it('writes each secret as its Fernet token, in place, whatever text surrounds it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: 'binary' }), fc.option(fc.string({ unit: 'binary' })), fc.option(fc.string({ unit: 'grapheme' }))), { maxLength: 40 }),
        (rows) => {
          const out = new CopyRows(KEY, 3);
          for (const [a, secret, b] of rows) {
            out.value(a);
            out.secret(secret);
            out.value(b);
          }
          const lines = out.take().toString('utf8').split('\n');
          expect(lines.pop()).toBe('');
          expect(lines).toHaveLength(rows.length);
          lines.forEach((line, i) => {
            const [a, secret, b] = rows[i]!;
            const [ca, token, cb, ...more] = line.split('\t');
            expect(more).toEqual([]);
            // Lone surrogates go out as UTF-8's replacement character, as Buffer and Postgres' text take them.
            expect(ca).toBe(copyCell(Buffer.from(a, 'utf8').toString('utf8')));
            expect(cb).toBe(copyCell(b === null ? null : Buffer.from(b, 'utf8').toString('utf8')));
            if (secret === null) expect(token).toBe('\\N');
            else expect(fernetDecrypt(KEY, token!)).toBe(Buffer.from(secret, 'utf8').toString('utf8'));
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('round-trips awkward text through a real COPY', async () => {
    const client = await openClient(await createTestDatabase('copytext'));
    try {
      await client.query('CREATE TABLE t (a text, b text, c text)');
      const values = ['tab\there', 'line\nbreak', 'cr\rx', 'back\\slash', '\\N', '\\.', 'ünïcödé 🚀', '', 'form\ffeed'];
      const out = new CopyRows(KEY, 3);
      for (const v of values) {
        out.value(v);
        out.value(null);
        out.secret(v);
      }
      expect(await copyFrom(client, 'COPY t (a, b, c) FROM STDIN', [out.take()])).toBe(values.length);
      const { rows } = await client.query('SELECT a, b, c FROM t');
      expect(rows.map((r) => ({ ...r, c: fernetDecrypt(KEY, r.c) }))).toEqual(values.map((a) => ({ a, b: null, c: a })));
      // A refused COPY rejects and leaves the connection usable.
      await expect(copyFrom(client, 'COPY t (a, b) FROM STDIN', ['only-one-column\n'])).rejects.toThrow(/missing data/);
      expect((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(values.length);
    } finally {
      await client.end();
    }
  });

  it('tells onSent once the last rows are on the socket, before the COPY completes, and not when producing fails', async () => {
    const client = await openClient(await createTestDatabase('copysent'));
    try {
      await client.query('CREATE TABLE t (a text)');
      const events: string[] = [];
      // Several megabytes, more than the socket takes at once, so that some chunks wait for a drain.
      const line = `${'x'.repeat(1000)}\n`;
      function* chunks() {
        for (let i = 0; i < 8; i++) {
          events.push(`chunk ${i}`);
          yield Buffer.from(line.repeat(1000));
        }
      }
      const copied = copyFrom(client, 'COPY t (a) FROM STDIN', chunks(), {
        onSent: () => {
          events.push('sent');
          // Holding the event loop here no longer holds back the end of the data (it is on the socket already).
          const until = Date.now() + 50;
          while (Date.now() < until);
        },
      }).then((n) => (events.push('done'), n));
      expect(await copied).toBe(8000);
      expect(events).toEqual([...Array.from({ length: 8 }, (_, i) => `chunk ${i}`), 'sent', 'done']);

      const failing = copyFrom(client, 'COPY t (a) FROM STDIN', (function* () {
        yield 'one\n';
        throw new Error('cannot encrypt');
      })(), { onSent: () => events.push('sent again') });
      await expect(failing).rejects.toThrow(/cannot encrypt/);
      expect(events).not.toContain('sent again');
      expect((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(8000);
    } finally {
      await client.end();
    }
  });
});

describe('canonical text of a connection', () => {
  it('is the same built in one step as through canonicalConnection', () => {
    for (let i = 0; i < 70; i++) {
      const c = makeConnection(i);
      for (const connectionDescription of [true, false]) {
        const fields = { connectionDescription, variableDescription: true, poolDescription: true, includeDeferred: true };
        expect(connectionCanonicalText(c, fields)).toBe(canonicalText(canonicalConnection(c, fields)));
      }
    }
    // Rows as read from the database: extra parsed, raw text that is not a JSON object, empty text, '{}'.
    const row = (extraText: string | null, extra: Record<string, unknown> | null): DbConnection => ({
      conn_id: 'x', conn_type: 'http', description: null, host: 'h', login: null, password: '', schema: '', port: 1, extra, extraText,
    });
    for (const r of [row('{"b": 1, "a": [2]}', { b: 1, a: [2] }), row('not json', null), row('', null), row(null, null), row('{}', {})]) {
      const fields = { connectionDescription: true, variableDescription: true, poolDescription: true, includeDeferred: true };
      expect(connectionCanonicalText(r, fields)).toBe(canonicalText(canonicalConnection(r, fields)));
    }
  });
});

describe('canonical text of a connection, for any values', () => {
  const text = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('', 'a"b', 'back\\slash', 'tab\there', '\u2028', '\ud800'));
  const plain = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined));
  const extra = fc.oneof(
    fc.constant(null),
    fc.dictionary(text, plain),
    fc.dictionary(fc.constantFrom('b', 'a', '10', '2', 'a"', 'é'), fc.oneof(plain, fc.array(plain), fc.dictionary(text, plain))),
  );
  const connection = fc.record({
    conn_id: fc.constant('c'),
    conn_type: text,
    description: fc.oneof(text, fc.constant(null), fc.constant(undefined)),
    host: fc.oneof(text, fc.constant(null)),
    login: fc.oneof(text, fc.constant(null)),
    password: fc.oneof(text, fc.constant(null)),
    schema: fc.oneof(text, fc.constant(null)),
    port: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constant(null)),
    extra,
  });

  it('built in one step is exactly the text of canonicalConnection, for desired objects and rows read back', () => {
    fc.assert(
      fc.property(connection, fc.boolean(), (c, connectionDescription) => {
        const fields = { connectionDescription, variableDescription: true, poolDescription: true, includeDeferred: true };
        expect(connectionCanonicalText(c as AirflowConnection, fields)).toBe(canonicalText(canonicalConnection(c as AirflowConnection, fields)));
        const extraText = c.extra === null ? null : JSON.stringify(c.extra);
        const row = { ...c, description: c.description ?? null, extraText, extra: extraText === null ? null : (JSON.parse(extraText) as Record<string, unknown>) } as DbConnection;
        expect(connectionCanonicalText(row, fields)).toBe(canonicalText(canonicalConnection(row, fields)));
      }),
      { numRuns: 2000 },
    );
  });

  /** JSON with every object's keys sorted (undefined members left out), written plainly: what the extra's text is. */
  function sortedJson(value: unknown): string {
    if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
    if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : sortedJson(v))).join(',')}]`;
    const record = value as Record<string, unknown>;
    const members = Object.keys(record).sort().filter((k) => record[k] !== undefined);
    return `{${members.map((k) => `${JSON.stringify(k)}:${sortedJson(record[k])}`).join(',')}}`;
  }

  it("writes the extra as JSON with its keys sorted at every level (the digests recorded depend on that text)", () => {
    fc.assert(
      fc.property(extra, (e) => {
        fc.pre(e !== null && Object.values(e).some((v) => v !== undefined));
        const fields = { connectionDescription: true, variableDescription: true, poolDescription: true, includeDeferred: true };
        const elements = JSON.parse(connectionCanonicalText({ conn_id: 'c', conn_type: 't', extra: e } as AirflowConnection, fields)) as unknown[];
        expect(elements[7]).toBe(sortedJson(e));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('bulk load of new rows', () => {
  let client: pg.Client;
  let url: string;
  beforeEach(async () => {
    url = await createTestDatabase('bulk');
    await loadSchemaFixture(url, '3.2');
    client = await openClient(url);
  });
  afterEach(async () => {
    await client.end();
  });

  it('records the xmin of the rows it wrote, so that an unchanged re-run decrypts nothing', async () => {
    const desired = desiredSet(1500, 20, 3);
    const log = recordStatements(client);
    await syncAirflowDb(client, desired, { keys: KEY });
    // New rows go in by COPY (what WRITE_SQL, used to check that a no-op sync writes nothing, must recognise); the
    // state last, worked out while Postgres takes in the connections, in one statement.
    expect(log.filter((sql) => /^COPY /.test(sql)).map((sql) => /^COPY (\S+)/.exec(sql)![1])).toEqual([
      '"public"."slot_pool"', '"public"."variable"', '"public"."connection"',
    ]);
    expect(log.filter((sql) => /envmgr_sync_state/.test(sql) && WRITE_SQL.test(sql))).toHaveLength(2);
    expect(log.filter((sql) => WRITE_SQL.test(sql)).length).toBeGreaterThan(4);
    const info = await detectAirflowSchema(client);
    const state = await readSyncState(client, info);
    const { rows } = await client.query<{ conn_id: string; x: string }>('SELECT conn_id, xmin::text AS x FROM connection');
    expect(rows).toHaveLength(1500);
    for (const r of rows) expect(state.get(stateKey('connection', r.conn_id))?.rowHash).toBe(`xmin:${r.x}`);
    const again = await syncAirflowDb(client, desired, { keys: KEY });
    expect(again.result.wrote).toBe(false);
    expect(again.plan.counts.unchanged).toBe(1523);
  });

  it('writes values with tabs, newlines, backslashes and a literal \\N unchanged, with and without a key', async () => {
    const awkward = {
      conn_id: 'tab\tnew\nline\\id', conn_type: 'http', description: '\\N', host: 'h\r\n\t', login: '\\', schema: 'ü 🚀',
      password: 'p\tw\\d\n', port: 1, extra: { 'k\t': 'v\n\\' },
    };
    const variable = { key: 'v\tk', value: '\\N', description: 'd\n' };
    for (const keys of [null, KEY]) {
      const url2 = await createTestDatabase('bulk_awkward');
      await loadSchemaFixture(url2, '3.2');
      const c2 = await openClient(url2);
      try {
        await syncAirflowDb(c2, [
          { kind: 'connection', key: awkward.conn_id, source: 's', object: awkward },
          { kind: 'variable', key: variable.key, source: 's', object: variable },
        ], { keys });
        const back = await readAirflowObjects(c2, await detectAirflowSchema(c2), keys);
        expect(back.connections.get(awkward.conn_id)).toMatchObject({ ...awkward, extra: awkward.extra });
        expect(back.variables.get(variable.key)).toMatchObject({ key: variable.key, value: '\\N', description: 'd\n' });
      } finally {
        await c2.end();
      }
    }
  });

  it('re-plans when a row it was about to create appears meanwhile: the newcomer is a conflict, not overwritten', async () => {
    const other = await openClient(url);
    try {
      const desired = [conn('a', 'mine-a'), conn('b', 'mine-b'), conn('c', 'mine-c')];
      let calls = 0;
      const outcome = await syncAirflowDb(client, desired, {
        keys: KEY,
        beforeWrite: async () => {
          // Airflow (which does not take envmgr's lock) inserts 'b' after envmgr read the table.
          if (calls++ === 0) await other.query(`INSERT INTO connection (conn_id, conn_type, host) VALUES ('b', 'http', 'airflow-b')`);
        },
      });
      expect(calls).toBe(2);
      expect(outcome.plan.counts).toMatchObject({ create: 2, conflict: 1 });
      expect(outcome.plan.entries.find((e) => e.key === 'b')).toMatchObject({ action: 'conflict', conflict: 'unmanaged' });
      const { rows } = await client.query('SELECT conn_id, host FROM connection ORDER BY conn_id');
      expect(rows).toEqual([{ conn_id: 'a', host: 'mine-a' }, { conn_id: 'b', host: 'airflow-b' }, { conn_id: 'c', host: 'mine-c' }]);
      const state = await readSyncState(client, await detectAirflowSchema(client));
      expect([...state.keys()].sort()).toEqual([stateKey('connection', 'a'), stateKey('connection', 'c')]);
    } finally {
      await other.end();
    }
  });

  it('writes back a row it is about to update that is deleted meanwhile, and records it', async () => {
    await syncAirflowDb(client, [conn('a', 'old-a'), conn('b', 'old-b'), conn('c', 'old-c')], { keys: KEY });
    const other = await openClient(url);
    try {
      const outcome = await syncAirflowDb(client, [conn('a', 'new-a'), conn('b', 'new-b'), conn('c', 'old-c')], {
        keys: KEY,
        beforeWrite: async () => {
          // Airflow (which does not take envmgr's lock) deletes 'b' after envmgr read the table.
          await other.query(`DELETE FROM connection WHERE conn_id = 'b'`);
        },
      });
      expect(outcome.plan.counts).toMatchObject({ update: 2, unchanged: 1 });
      const { rows } = await client.query('SELECT conn_id, host, password FROM connection ORDER BY conn_id');
      expect(rows.map((r) => [r.conn_id, r.host, fernetDecrypt(KEY, r.password)])).toEqual([
        ['a', 'new-a', 'pw-a'], ['b', 'new-b', 'pw-b'], ['c', 'old-c', 'pw-c'],
      ]);
      // Recorded as written: the next sync reads nothing in full and plans all unchanged.
      const again = await syncAirflowDb(client, [conn('a', 'new-a'), conn('b', 'new-b'), conn('c', 'old-c')], { keys: KEY });
      expect(again.plan.counts).toMatchObject({ unchanged: 3 });
      expect(again.result.wrote).toBe(false);
    } finally {
      await other.end();
    }
  });

  it('writes over a row it is about to update that Airflow replaces meanwhile (deleted and inserted again, committed while envmgr waits)', async () => {
    await syncAirflowDb(client, [conn('a', 'old-a'), conn('b', 'old-b')], { keys: KEY });
    const other = await openClient(url);
    try {
      let committed: Promise<unknown> | undefined;
      const outcome = await syncAirflowDb(client, [conn('a', 'new-a'), conn('b', 'new-b')], {
        keys: KEY,
        beforeWrite: async () => {
          // Airflow replaces 'b' in a transaction that commits only once envmgr's update is waiting on its row.
          await other.query(`BEGIN; DELETE FROM connection WHERE conn_id = 'b'; INSERT INTO connection (conn_id, conn_type, host) VALUES ('b', 'http', 'airflow-b')`);
          committed = new Promise((resolve) => setTimeout(resolve, 700)).then(() => other.query('COMMIT'));
        },
      });
      await committed;
      expect(outcome.plan.counts).toMatchObject({ update: 2 });
      const { rows } = await client.query('SELECT conn_id, host, password FROM connection ORDER BY conn_id');
      expect(rows.map((r) => [r.conn_id, r.host, fernetDecrypt(KEY, r.password)])).toEqual([['a', 'new-a', 'pw-a'], ['b', 'new-b', 'pw-b']]);
      // Recorded as written: the next sync plans all unchanged.
      const again = await syncAirflowDb(client, [conn('a', 'new-a'), conn('b', 'new-b')], { keys: KEY });
      expect(again.plan.counts).toMatchObject({ unchanged: 2 });
    } finally {
      await other.end();
    }
  });

  it('applySyncPlan falls back to upserting every row of its plan when a row it took for new exists by then', async () => {
    const info = await detectAirflowSchema(client);
    const desired = [conn('a', 'mine-a'), conn('b', 'mine-b')];
    const plan = planSync(desired, await readAirflowObjects(client, info, KEY), new Map(), { fields: info.has });
    expect(plan.counts.create).toBe(2);
    await client.query(`INSERT INTO connection (conn_id, conn_type, host) VALUES ('b', 'http', 'airflow-b')`);
    const result = await applySyncPlan(client, plan, { info, keys: KEY });
    expect(result).toMatchObject({ created: 2, wrote: true });
    const { rows } = await client.query('SELECT conn_id, host, password, is_encrypted FROM connection ORDER BY conn_id');
    expect(rows.map((r) => [r.conn_id, r.host, fernetDecrypt(KEY, r.password), r.is_encrypted])).toEqual([
      ['a', 'mine-a', 'pw-a', true],
      ['b', 'mine-b', 'pw-b', true],
    ]);
    // The state records the rows as written by the upsert (same xmin), so the next sync needs no decryption.
    const state = await readSyncState(client, info);
    const xmins = await client.query<{ conn_id: string; x: string }>('SELECT conn_id, xmin::text AS x FROM connection');
    for (const r of xmins.rows) expect(state.get(stateKey('connection', r.conn_id))?.rowHash).toBe(`xmin:${r.x}`);
  });

  it('a failure while producing the second batch of updates, the first one written meanwhile, leaves the rows as they were', async () => {
    const before = desiredSet(2500, 0, 0);
    await syncAirflowDb(client, before, { keys: KEY });
    const snapshot = async () => (await client.query('SELECT conn_id, host, password, extra, xmin::text AS x FROM connection ORDER BY conn_id')).rows;
    const was = await snapshot();
    // Every row changes; row 1,500 (in the second batch of 1,000) carries a value Python's json.dumps cannot write.
    const after = before.map((d, i): DesiredObject => {
      const object = { ...(d.object as AirflowConnection), host: `moved-${i}` };
      if (i === 1500) object.extra = { f: () => 1 } as unknown as Record<string, unknown>;
      return { ...d, object } as DesiredObject;
    });
    await expect(syncAirflowDb(client, after, { keys: KEY })).rejects.toThrow(/cannot serialize/);
    expect(await snapshot()).toEqual(was);
    // The client is still usable, and the rows are still envmgr's own: the next sync updates them all.
    const ok = await syncAirflowDb(client, after.filter((_, i) => i !== 1500), { keys: KEY });
    expect(ok.plan.counts.update).toBe(2499);
  });

  it('a failure while producing rows aborts the COPY and leaves nothing behind', async () => {
    const bad: DesiredObject = {
      kind: 'connection', key: 'bad', source: 's',
      // A value Python's json.dumps cannot write: the serializer throws in the middle of the COPY.
      object: { conn_id: 'bad', conn_type: 'http', extra: { f: () => 1 } as unknown as Record<string, unknown> },
    };
    await expect(syncAirflowDb(client, [...desiredSet(1200, 0, 0), bad], { keys: KEY })).rejects.toThrow(/cannot serialize/);
    expect((await client.query('SELECT count(*)::int AS n FROM connection')).rows[0].n).toBe(0);
    expect((await client.query(`SELECT to_regclass('envmgr_sync_state') AS t`)).rows[0].t).toBeNull();
    // The client is still usable afterwards.
    const ok = await syncAirflowDb(client, desiredSet(3, 0, 0), { keys: KEY });
    expect(ok.plan.counts.create).toBe(3);
  });
});
