import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionEnvEntry } from '../../src/airflow/envfile.js';
import { fernetDecrypt, fernetEncrypt, parseFernetKeys } from '../../src/airflow/fernet.js';
import type { AirflowConnection } from '../../src/airflow/model.js';
import { syncAirflowDb } from '../../src/metadb/apply.js';
import { loadSchemaFixture } from '../../src/metadb/fixtures.js';
import { readAirflowObjects } from '../../src/metadb/read.js';
import { detectAirflowSchema } from '../../src/metadb/schema.js';
import { createTestDatabase } from '../support/pg.js';
import { openClient } from './helpers.js';

// An int beyond 2^53 in an extra survives the metadata database both ways: envmgr writes every digit, reads every digit
// of a row Airflow wrote, and tells two such ints apart that a JS number could not (…901 and …902 are one double).
const KEY = parseFernetKeys('Z2Fh1EulxLzv8bK-Cgfk8LYaSQFhHt0HZsC_qlfg0Qs=', 'test');

describe('integers beyond 2^53 in extras, through the metadata database', () => {
  let client: pg.Client;
  beforeAll(async () => {
    const url = await createTestDatabase('ints');
    await loadSchemaFixture(url, '3.1');
    client = await openClient(url);
  });
  afterAll(async () => {
    await client?.end();
  });

  const conn = (account: bigint): AirflowConnection => ({ conn_id: 'big', conn_type: 'http', host: 'h', extra: { account, limit: 9007199254740993n, n: 1 } });
  const desired = (c: AirflowConnection) => [{ kind: 'connection' as const, key: c.conn_id, source: 'test', object: c }];
  const storedExtra = async (connId: string) => {
    const { rows } = await client.query<{ extra: string }>('SELECT extra FROM connection WHERE conn_id = $1', [connId]);
    return fernetDecrypt(KEY, rows[0]!.extra);
  };

  it('are written with every digit, read back exact, and compared exactly', async () => {
    const first = await syncAirflowDb(client, desired(conn(123456789012345678901n)), { keys: KEY });
    expect(first.plan.counts.create).toBe(1);
    expect(await storedExtra('big')).toBe('{"account": 123456789012345678901, "limit": 9007199254740993, "n": 1}');

    const info = await detectAirflowSchema(client);
    const read = await readAirflowObjects(client, info, KEY);
    expect(read.connections.get('big')!.extra).toEqual({ account: 123456789012345678901n, limit: 9007199254740993n, n: 1 });

    const again = await syncAirflowDb(client, desired(conn(123456789012345678901n)), { keys: KEY });
    expect([again.plan.counts.unchanged, again.result.wrote]).toEqual([1, false]);

    // The last digit differs: a JS number would round both to 123456789012345680000 and see no change.
    const changed = await syncAirflowDb(client, desired(conn(123456789012345678902n)), { keys: KEY });
    expect(changed.plan.entries.map((e) => [e.action, e.changedFields])).toEqual([['update', ['extra']]]);
    expect(await storedExtra('big')).toBe('{"account": 123456789012345678902, "limit": 9007199254740993, "n": 1}');
  });

  it('in a row Airflow wrote are exported with every digit', async () => {
    const text = '{"project_number": 98765432109876543210, "nested": {"ids": [18446744073709551617]}}';
    await client.query(
      `INSERT INTO connection (conn_id, conn_type, host, extra, is_encrypted, is_extra_encrypted) VALUES ('airflow_wrote', 'http', 'h', $1, false, true)`,
      [fernetEncrypt(KEY, text)],
    );
    const info = await detectAirflowSchema(client);
    const c = (await readAirflowObjects(client, info, KEY)).connections.get('airflow_wrote')!;
    expect(c.extra).toEqual({ project_number: 98765432109876543210n, nested: { ids: [18446744073709551617n] } });
    const json = connectionEnvEntry(c, { serialization: 'json' }).value;
    expect(json).toContain('"project_number": 98765432109876543210');
    expect(json).toContain('[18446744073709551617]');
    const uri = connectionEnvEntry(c, { serialization: 'uri' }).value;
    expect(decodeURIComponent(uri.replace(/\+/g, ' '))).toContain(text);
  });
});
