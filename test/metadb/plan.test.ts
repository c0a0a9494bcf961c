import { describe, expect, it } from 'vitest';
import { parseFernetKeys } from '../../src/airflow/fernet.js';
import type { AirflowConnection } from '../../src/airflow/model.js';
import { contentFields, digestsFor, legacyContentHash } from '../../src/metadb/digests.js';
import { planSync, planWrites, type DesiredObject } from '../../src/metadb/plan.js';
import type { AirflowDbState, DbConnection, DbPool, DbVariable } from '../../src/metadb/read.js';
import { canonicalConnection, canonicalPool, canonicalText, canonicalVariable, contentDigest, parseSyncState, serializeSyncState, stateKey, type SyncStateEntry } from '../../src/metadb/sync-state.js';

const A = `${Buffer.alloc(32, 0xa1).toString('base64url')}=`;
const B = `${Buffer.alloc(32, 0xb2).toString('base64url')}=`;
const ALL = { connectionDescription: true, variableDescription: true, poolDescription: true, includeDeferred: true };

function row(c: Partial<DbConnection> & { conn_id: string }): DbConnection {
  return {
    conn_type: 'postgres', description: null, host: null, login: null, password: null, schema: null, port: null,
    extra: null, extraText: null, ...c,
  };
}

function dbState(connections: DbConnection[] = [], variables: DbVariable[] = [], pools: DbPool[] = []): AirflowDbState {
  return {
    connections: new Map(connections.map((c) => [c.conn_id, c])),
    variables: new Map(variables.map((v) => [v.key, v])),
    pools: new Map(pools.map((p) => [p.name, p])),
  };
}

function conn(c: AirflowConnection, source = 'deployment:d1'): DesiredObject {
  return { kind: 'connection', key: c.conn_id, source, object: c };
}

/** A sync-state record as envmgr would have left it after writing `written`. */
function recorded(written: AirflowConnection, source = 'deployment:d1'): [string, SyncStateEntry] {
  return [
    stateKey('connection', written.conn_id),
    { kind: 'connection', key: written.conn_id, source, hash: contentDigest('connection', (written)), rowHash: null, writtenAt: '1970-01-01T00:00:00.000000Z' },
  ];
}

const pg1: AirflowConnection = { conn_id: 'pg1', conn_type: 'postgres', host: 'db', login: 'u', password: 'secret-pw', port: 5432, extra: { sslmode: 'require' } };
const pg1Row = row({ conn_id: 'pg1', host: 'db', login: 'u', password: 'secret-pw', port: 5432, extra: { sslmode: 'require' }, extraText: '{"sslmode": "require"}' });

describe('planSync', () => {
  it('creates what the database lacks and records it', () => {
    const plan = planSync([conn(pg1)], dbState(), new Map());
    expect(plan.entries).toEqual([{ kind: 'connection', key: 'pg1', source: 'deployment:d1', action: 'create' }]);
    expect(plan.counts).toEqual({ create: 1, update: 0, unchanged: 0, conflict: 0, delete: 0 });
    expect(plan.hasWrites).toBe(true);
    const writes = planWrites(plan)!;
    expect(writes.connections.upsert).toEqual([pg1]);
    expect(writes.state.upsert.map((s) => [s.kind, s.key, s.source])).toEqual([['connection', 'pg1', 'deployment:d1']]);
  });

  it('is unchanged when the row equals the desired object, and writes nothing when envmgr already recorded it', () => {
    const plan = planSync([conn(pg1)], dbState([pg1Row]), new Map([recorded(pg1)]));
    expect(plan.entries.map((e) => e.action)).toEqual(['unchanged']);
    expect(plan.hasWrites).toBe(false);
  });

  it('treats extra key order, JSON formatting, empty password and {} extra as no change', () => {
    const desired: AirflowConnection = { conn_id: 'x', conn_type: 'http', password: '', extra: { b: 1, a: { d: 2, c: [1] } } };
    const stored = row({ conn_id: 'x', conn_type: 'http', password: null, extra: { a: { c: [1], d: 2 }, b: 1 }, extraText: '{"a":{"c":[1],"d":2},"b":1}' });
    const empty = row({ conn_id: 'y', conn_type: 'http', extra: {}, extraText: '{}' });
    const plan = planSync([conn(desired), conn({ conn_id: 'y', conn_type: 'http' })], dbState([stored, empty]), new Map());
    expect(plan.entries.map((e) => [e.key, e.action])).toEqual([['x', 'unchanged'], ['y', 'unchanged']]);
    // Identical rows envmgr did not write are adopted (recorded), so later source changes become plain updates.
    expect(planWrites(plan)!.state.upsert.map((s) => s.key)).toEqual(['x', 'y']);
    expect(planWrites(plan)!.connections.upsert).toEqual([]);
  });

  it('updates a row envmgr wrote, naming only the changed fields and no values', () => {
    const next = { ...pg1, password: 'new-secret', port: 6543 };
    const plan = planSync([conn(next)], dbState([pg1Row]), new Map([recorded(pg1)]));
    expect(plan.entries).toEqual([{ kind: 'connection', key: 'pg1', source: 'deployment:d1', action: 'update', changedFields: ['password', 'port'] }]);
    expect(JSON.stringify(plan)).not.toContain('secret');
    expect(planWrites(plan)!.connections.upsert).toEqual([next]);
  });

  it('reports a row envmgr did not write as a conflict and leaves it', () => {
    const plan = planSync([conn({ ...pg1, host: 'other' })], dbState([pg1Row]), new Map());
    expect(plan.entries).toHaveLength(1);
    expect(plan.entries[0]).toMatchObject({ action: 'conflict', conflict: 'unmanaged', changedFields: ['host'] });
    expect(plan.hasWrites).toBe(false);
  });

  it('reports a row changed locally since envmgr wrote it as a conflict', () => {
    const edited = { ...pg1Row, login: 'edited-by-hand' };
    const plan = planSync([conn({ ...pg1, host: 'new-host' })], dbState([edited]), new Map([recorded(pg1)]));
    expect(plan.entries[0]).toMatchObject({ action: 'conflict', conflict: 'modified' });
    expect(plan.entries[0]!.changedFields).toEqual(['host', 'login']);
    expect(plan.hasWrites).toBe(false);
  });

  it('overwrites conflicts only with overwrite, saying so', () => {
    const plan = planSync([conn({ ...pg1, host: 'other' })], dbState([pg1Row]), new Map(), { overwrite: true });
    expect(plan.entries[0]).toMatchObject({ action: 'update', conflict: 'unmanaged', changedFields: ['host'] });
    expect(planWrites(plan)!.connections.upsert).toHaveLength(1);
    expect(plan.counts.conflict).toBe(0);
  });

  it('prunes only rows envmgr wrote whose source no longer has them', () => {
    const mine = { conn_id: 'mine', conn_type: 'http' };
    const theirs = row({ conn_id: 'theirs', conn_type: 'http' });
    const otherSource = { conn_id: 'from_ws', conn_type: 'http' };
    const state = new Map([recorded(mine), recorded(otherSource, 'workspace:w1')]);
    const current = dbState([row(mine), theirs, row(otherSource)]);
    // Without prune nothing is deleted.
    expect(planSync([], current, state).entries).toEqual([]);
    const plan = planSync([], current, state, { prune: true, pruneSources: ['deployment:d1'] });
    expect(plan.entries).toEqual([{ kind: 'connection', key: 'mine', source: 'deployment:d1', action: 'delete' }]);
    expect(planWrites(plan)!.connections.delete).toEqual(['mine']);
    expect(planWrites(plan)!.state.delete).toEqual([{ kind: 'connection', key: 'mine' }]);
    // Without pruneSources, any recorded source counts; a row envmgr never wrote is never deleted.
    const all = planSync([], current, state, { prune: true });
    expect(all.entries.map((e) => [e.key, e.action])).toEqual([['from_ws', 'delete'], ['mine', 'delete']]);
  });

  it('keeps a pruned row that was changed locally unless overwrite, and forgets records of rows already gone', () => {
    const mine = { conn_id: 'mine', conn_type: 'http' };
    const gone = { conn_id: 'gone', conn_type: 'http' };
    const state = new Map([recorded(mine), recorded(gone)]);
    const current = dbState([row({ conn_id: 'mine', conn_type: 'http', host: 'edited' })]);
    const plan = planSync([], current, state, { prune: true });
    expect(plan.entries).toEqual([
      expect.objectContaining({ key: 'mine', action: 'conflict', conflict: 'modified' }),
    ]);
    expect(planWrites(plan)!.state.delete).toEqual([{ kind: 'connection', key: 'gone' }]);
    const forced = planSync([], current, state, { prune: true, overwrite: true });
    expect(forced.entries[0]).toMatchObject({ key: 'mine', action: 'delete', conflict: 'modified' });
  });

  it('never deletes default_pool', () => {
    const state = new Map([[stateKey('pool', 'default_pool'), { kind: 'pool' as const, key: 'default_pool', source: 's', hash: 'h', rowHash: null, writtenAt: '1970-01-01T00:00:00.000000Z' }]]);
    const plan = planSync([], dbState([], [], [{ name: 'default_pool', slots: 128, description: 'Default pool', include_deferred: false }]), state, { prune: true, overwrite: true });
    expect(planWrites(plan)!.pools.delete).toEqual([]);
    expect(plan.counts.delete).toBe(0);
  });

  it('plans variables and pools, including an empty-string variable and a NULL value', () => {
    const desired: DesiredObject[] = [
      { kind: 'variable', key: 'empty', source: 's', object: { key: 'empty', value: '' } },
      { kind: 'variable', key: 'was_null', source: 's', object: { key: 'was_null', value: '' } },
      { kind: 'pool', key: 'p', source: 's', object: { name: 'p', slots: -1 } },
    ];
    const current = dbState([], [{ key: 'empty', value: '', description: null }, { key: 'was_null', value: null, description: null }], [
      { name: 'p', slots: -1, description: null, include_deferred: true },
    ]);
    const plan = planSync(desired, current, new Map());
    expect(plan.entries.map((e) => [e.kind, e.key, e.action, e.changedFields])).toEqual([
      ['variable', 'empty', 'unchanged', undefined],
      ['variable', 'was_null', 'conflict', ['value']],
      ['pool', 'p', 'conflict', ['include_deferred']],
    ]);
  });

  it('ignores fields the schema lacks', () => {
    const desired = conn({ conn_id: 'd', conn_type: 'http', description: 'not storable here' });
    const current = dbState([row({ conn_id: 'd', conn_type: 'http' })]);
    const fields = { connectionDescription: false, variableDescription: true, poolDescription: true, includeDeferred: true };
    expect(planSync([desired], current, new Map(), { fields }).entries[0]!.action).toBe('unchanged');
    expect(planSync([desired], current, new Map()).entries[0]!.action).toBe('conflict');
  });

  it('compares rows known only by their content hash (not decrypted) by hash', () => {
    const hash = contentDigest('connection', (pg1));
    const knownRow = row({ conn_id: 'pg1', host: 'db', login: 'u', port: 5432, contentHash: hash, rowHash: 'fingerprint' });
    const plan = planSync([conn(pg1)], dbState([knownRow]), new Map([recorded(pg1)]));
    expect(plan.entries.map((e) => e.action)).toEqual(['unchanged']);
    expect(plan.hasWrites).toBe(false);
    // With a new source label the record is refreshed, keeping the row's fingerprint.
    const relabelled = planSync([conn(pg1, 'workspace:w9')], dbState([knownRow]), new Map([recorded(pg1)]));
    expect(planWrites(relabelled)!.state.upsert).toEqual([{ kind: 'connection', key: 'pg1', source: 'workspace:w9', hash, rowHash: 'fingerprint', recorded: true }]);
    // Prune deletes it without needing its content.
    expect(planSync([], dbState([knownRow]), new Map([recorded(pg1)]), { prune: true }).entries[0]!.action).toBe('delete');
    // A differing desired object is an update of envmgr's own row, its changed fields named from the digests.
    const moved = planSync([conn({ ...pg1, port: 1, password: 'other' })], dbState([knownRow]), new Map([recorded(pg1)]));
    expect(moved.entries).toEqual([{ kind: 'connection', key: 'pg1', source: 'deployment:d1', action: 'update', changedFields: ['password', 'port'] }]);
  });

  it('keys the digests it records with the Fernet key, so that they say nothing of the secrets without it', () => {
    const keyA = parseFernetKeys(A, 'test');
    const keyB = parseFernetKeys(B, 'test');
    const plain = contentDigest('connection', (pg1));
    const underA = contentDigest('connection', (pg1), undefined, keyA);
    const underB = contentDigest('connection', (pg1), undefined, keyB);
    expect(new Set([plain, underA, underB]).size).toBe(3);
    // Not the unkeyed SHA-256 of the content (envmgr 0.1's), nor any part of it.
    const legacy = legacyContentHash('connection', canonicalText(canonicalConnection(pg1)));
    for (const d of [plain, underA, underB]) {
      expect(d).toMatch(/^[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]{64}$/);
      expect(d).not.toContain(legacy.slice(0, 8));
    }
    // Equal values in two fields do not give equal digests (a password equal to the login would show).
    const same = contentDigest('connection', ({ ...pg1, login: 'x', password: 'x' }), undefined, keyA);
    const fieldsOf = (d: string) => d.slice(9).match(/.{8}/g)!;
    const [, , , login, password] = fieldsOf(same);
    expect(login).not.toBe(password);
    // Nor do equal values in one field of two objects (the table would show which connections share a password),
    // for variables and pools too.
    const other = contentDigest('connection', { ...pg1, conn_id: 'pg_other' }, undefined, keyA);
    expect(fieldsOf(other).filter((f, j) => f === fieldsOf(underA)[j])).toEqual([]);
    const variableFields = (key: string) => contentDigest('variable', { key, value: 'shared-secret' }, undefined, keyA).slice(9);
    expect(variableFields('v1')).not.toBe(variableFields('v2'));
    expect(contentDigest('pool', { name: 'p1', slots: 3 }, undefined, keyA).slice(9)).not.toBe(contentDigest('pool', { name: 'p2', slots: 3 }, undefined, keyA).slice(9));
    // The digests recorded before (one key per field, not per object) are still recognised, so an upgrade sees
    // its own rows as its own, though not as the current form.
    const perField = digestsFor(keyA).connections([pg1], ALL, 0, false)[0]!;
    expect(perField).not.toBe(underA);
    expect(digestsFor(keyA).current('connection', ALL, perField)).toBe(false);
    expect(digestsFor(keyA).matches('connection', ALL, perField, pg1.conn_id, () => canonicalText(canonicalConnection(pg1)), pg1)).toBe(true);
    expect(digestsFor(keyA).matches('connection', ALL, perField, pg1.conn_id, () => '', { ...pg1, port: 2 })).toBe(false);
    const variableText = canonicalText(canonicalVariable({ key: 'v1', value: 'x' }, ALL));
    const oldVariable = digestsFor(keyA).many('variable', ALL, [variableText], null)[0]!;
    expect(digestsFor(keyA).matches('variable', ALL, oldVariable, 'v1', () => variableText)).toBe(true);
    expect(digestsFor(keyA).matches('variable', ALL, contentDigest('variable', { key: 'v1', value: 'x' }, undefined, keyA), 'v1', () => variableText)).toBe(true);
    expect(digestsFor(keyA).matches('variable', ALL, contentDigest('variable', { key: 'v1', value: 'x' }, undefined, keyA), 'v2', () => variableText)).toBe(false);
    // Under a MultiFernet, a digest made with an older key is still recognised.
    const rotated = parseFernetKeys(`${B},${A}`, 'test');
    const digests = digestsFor(rotated);
    const text = () => canonicalText(canonicalConnection(pg1));
    expect(digests.matches('connection', ALL, underA, pg1.conn_id, text, pg1)).toBe(true);
    expect(digests.current('connection', ALL, underA)).toBe(false);
    expect(digests.matches('connection', ALL, underB, pg1.conn_id, text, pg1)).toBe(true);
    const moved = { ...pg1, port: 2 };
    expect(digests.matches('connection', ALL, underB, pg1.conn_id, () => canonicalText(canonicalConnection(moved)), moved)).toBe(false);
    expect(digestsFor(keyB).matches('connection', ALL, underA, pg1.conn_id, text, pg1)).toBe(false);
    // And envmgr 0.1's unkeyed hash, so that the first sync after an upgrade still knows its own rows.
    expect(digests.matches('connection', ALL, legacy, pg1.conn_id, text, pg1)).toBe(true);
    // And envmgr 0.2's digests of the canonical text, which are not the current form (rows are then compared in full).
    const canonicalUnderB = digestsFor(keyB).many('connection', ALL, [text()], null)[0]!;
    expect(canonicalUnderB).not.toBe(underB);
    expect(digests.current('connection', ALL, canonicalUnderB)).toBe(false);
    expect(digestsFor(keyB).current('connection', ALL, canonicalUnderB)).toBe(false);
    expect(digests.matches('connection', ALL, canonicalUnderB, pg1.conn_id, text, pg1)).toBe(true);
    expect(digests.matches('connection', ALL, canonicalUnderB, pg1.conn_id, () => canonicalText(canonicalConnection(moved)), moved)).toBe(false);
  });

  it('names digest fields in the order of the canonical content, for every kind and schema', () => {
    for (const connectionDescription of [true, false]) {
      for (const poolDescription of [true, false]) {
        for (const includeDeferred of [true, false]) {
          const fields = { connectionDescription, variableDescription: connectionDescription, poolDescription, includeDeferred };
          expect(contentFields('connection', fields)).toEqual(Object.keys(canonicalConnection(pg1, fields)));
          expect(contentFields('variable', fields)).toEqual(Object.keys(canonicalVariable({ key: 'v', value: 'x' }, fields)));
          expect(contentFields('pool', fields)).toEqual(Object.keys(canonicalPool({ name: 'p', slots: 1 }, fields)));
        }
      }
    }
  });

  it("plans an update of envmgr's own row (same row version) whose recorded digest was made under another key", () => {
    const underOld = contentDigest('connection', (pg1), undefined, parseFernetKeys(A, 'test'));
    const state = new Map([[stateKey('connection', 'pg1'), { kind: 'connection' as const, key: 'pg1', source: 'deployment:d1', hash: underOld, rowHash: 'xmin:7' }]]);
    const plan = planSync([conn({ ...pg1, host: 'db2' })], dbState([{ ...pg1Row, rowHash: 'xmin:7' }]), state, { keys: parseFernetKeys(B, 'test') });
    expect(plan.entries).toEqual([{ kind: 'connection', key: 'pg1', source: 'deployment:d1', action: 'update', changedFields: ['host'] }]);
    // The same content in a row someone else rewrote since (another row version) is a conflict.
    const edited = planSync([conn({ ...pg1, host: 'db2' })], dbState([{ ...pg1Row, host: 'db3', rowHash: 'xmin:8' }]), state, { keys: parseFernetKeys(B, 'test') });
    expect(edited.entries[0]).toMatchObject({ action: 'conflict', conflict: 'modified' });
  });

  it('refuses the same object twice and a key that does not match the object', () => {
    expect(() => planSync([conn(pg1), conn(pg1)], dbState(), new Map())).toThrow(/desired twice/);
    expect(() => planSync([{ kind: 'connection', key: 'a', source: 's', object: pg1 }], dbState(), new Map())).toThrow(/named 'pg1'/);
  });

  it('finds a repeated key wherever it is, and lists the entries in order whatever the order of the sources', () => {
    const c = (id: string) => conn({ ...pg1, conn_id: id });
    const v = (key: string): DesiredObject => ({ kind: 'variable', key, source: 'deployment:d1', object: { key, value: 'x' } });
    for (const twice of [[c('a'), c('b'), c('a')], [c('b'), c('a'), c('c'), c('a')], [c('a'), v('x'), c('b'), v('x')], [v('x'), c('a'), v('x')]]) {
      expect(() => planSync(twice, dbState(), new Map()), twice.map((d) => d.key).join(',')).toThrow(/desired twice/);
    }
    // The same key in two kinds is two objects.
    expect(planSync([c('a'), v('a')], dbState(), new Map()).counts.create).toBe(2);
    const listed = (ds: DesiredObject[]) => planSync(ds, dbState(), new Map()).entries.map((e) => `${e.kind} ${e.key}`);
    const sorted = ['connection a', 'connection b', 'connection c', 'variable a', 'variable x'];
    expect(listed([c('a'), c('b'), c('c'), v('a'), v('x')])).toEqual(sorted);
    expect(listed([v('x'), c('b'), v('a'), c('c'), c('a')])).toEqual(sorted);
    expect(listed([c('a'), c('c'), c('b'), v('a'), v('x')])).toEqual(sorted);
  });

  it('prunes only what no source has any more, sources in order or not', () => {
    const c = (id: string) => conn({ ...pg1, conn_id: id });
    const state = new Map([recorded({ ...pg1, conn_id: 'a' }), recorded({ ...pg1, conn_id: 'b' }), recorded({ ...pg1, conn_id: 'z' })]);
    const rows = dbState(['a', 'b', 'z'].map((id) => ({ ...pg1Row, conn_id: id })));
    for (const ds of [[c('a'), c('b')], [c('b'), c('a')]]) {
      const plan = planSync(ds, rows, state, { prune: true });
      expect(plan.entries.map((e) => [e.key, e.action])).toEqual([['a', 'unchanged'], ['b', 'unchanged'], ['z', 'delete']]);
    }
  });

  it('keeps secrets out of everything the plan prints', () => {
    const plan = planSync([conn(pg1), conn({ ...pg1, conn_id: 'pg2' })], dbState([pg1Row]), new Map(), { overwrite: true });
    const text = `${JSON.stringify(plan)} ${String(plan)}`;
    expect(text).not.toContain('secret-pw');
    expect(text).not.toContain('require');
  });
});

describe('the sync-state document', () => {
  const entry = (kind: SyncStateEntry['kind'], key: string, source: string, hash: string, rowHash: string | null): SyncStateEntry => ({ kind, key, source, hash, rowHash });
  const entries = [
    entry('connection', 'b', 'deployment:d1', 'kidA1234.AAAAAAAABBBBBBBB', 'xmin:7'),
    entry('connection', 'a', 'deployment:d1', 'kidA1234.CCCCCCCCDDDDDDDD', 'xmin:7'),
    entry('variable', 'v', 'deployment:d1', 'kidB5678.EEEEEEEE', null),
    entry('connection', 'c', 'workspace:w', 'kidA1234.FFFFFFFFGGGGGGGG', 'xmin:9'),
    entry('connection', 'd', 'deployment:d1', 'f'.repeat(64), 'sha:legacy'),
    entry('connection', 'e', 'deployment:d1', 'kidZ0000.HHHHHHHHIIIIIIII', 'xmin:7'),
    entry('connection', 'á', 'deployment:d1', 'kidA1234.JJJJJJJJKKKKKKKK', 'xmin:7'),
  ];

  it('groups entries by kind, source and key id, sorted, whatever order they come in', () => {
    const text = serializeSyncState(entries);
    expect(JSON.parse(text)).toEqual({
      format: 2,
      groups: [
        { kind: 'connection', source: 'deployment:d1', kid: null, rows: [['d', null, 'f'.repeat(64)]] },
        { kind: 'connection', source: 'deployment:d1', kid: 'kidA1234', rows: [['a', '7', 'CCCCCCCCDDDDDDDD'], ['b', '7', 'AAAAAAAABBBBBBBB'], ['á', '7', 'JJJJJJJJKKKKKKKK']] },
        { kind: 'connection', source: 'deployment:d1', kid: 'kidZ0000', rows: [['e', '7', 'HHHHHHHHIIIIIIII']] },
        { kind: 'connection', source: 'workspace:w', kid: 'kidA1234', rows: [['c', '9', 'FFFFFFFFGGGGGGGG']] },
        { kind: 'variable', source: 'deployment:d1', kid: 'kidB5678', rows: [['v', null, 'EEEEEEEE']] },
      ],
    });
    for (let i = 0; i < 20; i++) {
      const shuffled = [...entries].sort(() => Math.random() - 0.5);
      expect(serializeSyncState(shuffled)).toBe(text);
    }
  });

  it('reads back what it writes (fingerprints other than xmin are not kept)', () => {
    const back = parseSyncState(serializeSyncState(entries), 'envmgr_sync_state');
    expect([...back.values()].sort((x, y) => (x.key < y.key ? -1 : 1))).toEqual(
      entries.map((e) => ({ ...e, rowHash: e.rowHash?.startsWith('xmin:') ? e.rowHash : null })).sort((x, y) => (x.key < y.key ? -1 : 1)),
    );
  });
});
