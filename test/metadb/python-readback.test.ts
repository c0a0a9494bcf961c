import { spawnSync } from 'node:child_process';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFernetKeys } from '../../src/airflow/fernet.js';
import { syncAirflowDb } from '../../src/metadb/apply.js';
import { loadSchemaFixture } from '../../src/metadb/fixtures.js';
import { createTestDatabase } from '../support/pg.js';
import { desiredSet, makeConnection, makeVariable, openClient } from './helpers.js';

/** The first Python with the `cryptography` package (Debian's python3-cryptography, or a pip install). */
function findPython(): { python?: string; why: string } {
  const tried: string[] = [];
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import cryptography.fernet'], { encoding: 'utf8' });
    if (r.status === 0) return { python, why: '' };
    tried.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return { why: `no Python with the cryptography package (${tried.join('; ')}); install python3-cryptography to run it` };
}

// Decrypts with cryptography's MultiFernet (as Airflow's get_fernet builds it) and, for each extra, also computes
// Python's own json.dumps of the object envmgr was given, to compare with what envmgr stored.
const SCRIPT = `
import json, sys
from cryptography.fernet import Fernet, MultiFernet
req = json.load(sys.stdin)
f = MultiFernet([Fernet(k.encode("utf-8")) for k in req["key"].split(",")])
out = []
for item in req["items"]:
    text = f.decrypt(item["token"].encode("ascii")).decode("utf-8")
    dumped = json.dumps(json.loads(item["extra_json"])) if item.get("extra_json") else None
    out.append({"text": text, "python_dumps": dumped})
json.dump(out, sys.stdout)
`;

const found = findPython();
const KEY_TEXT = 'Z2Fh1EulxLzv8bK-Cgfk8LYaSQFhHt0HZsC_qlfg0Qs=';

describe('rows envmgr writes, read by Python cryptography', () => {
  let client: pg.Client;
  beforeAll(async () => {
    const url = await createTestDatabase('py');
    await loadSchemaFixture(url, '3.1');
    client = await openClient(url);
  });
  afterAll(async () => {
    await client?.end();
  });

  if (!found.python) {
    it.skip(`skipped: ${found.why}`, () => undefined);
    return;
  }
  const python = found.python;

  it(`decrypt to the values written (${python})`, async () => {
    await syncAirflowDb(client, desiredSet(70, 20, 0), { keys: parseFernetKeys(KEY_TEXT, 'test') });
    const conns = await client.query<{ conn_id: string; password: string | null; extra: string | null; is_encrypted: boolean; is_extra_encrypted: boolean }>(
      'SELECT conn_id, password, extra, is_encrypted, is_extra_encrypted FROM connection ORDER BY conn_id',
    );
    const vars = await client.query<{ key: string; val: string; is_encrypted: boolean }>('SELECT key, val, is_encrypted FROM variable ORDER BY key');

    const items: Array<{ token: string; extra_json?: string; expected?: string }> = [];
    for (const [i, row] of conns.rows.entries()) {
      const c = makeConnection(i);
      expect(row.conn_id).toBe(c.conn_id);
      if (c.password) {
        expect(row.is_encrypted).toBe(true);
        items.push({ token: row.password!, expected: c.password });
      } else {
        expect([row.password, row.is_encrypted]).toEqual([null, false]);
      }
      if (c.extra && Object.keys(c.extra).length > 0) {
        expect(row.is_extra_encrypted).toBe(true);
        items.push({ token: row.extra!, extra_json: JSON.stringify(c.extra) });
      } else {
        expect([row.extra, row.is_extra_encrypted]).toEqual([null, false]);
      }
    }
    for (const [i, row] of vars.rows.entries()) {
      expect(row.is_encrypted).toBe(true);
      items.push({ token: row.val, expected: makeVariable(i).value });
    }
    const r = spawnSync(python, ['-c', SCRIPT], { input: JSON.stringify({ key: KEY_TEXT, items }), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Array<{ text: string; python_dumps: string | null }>;
    expect(out).toHaveLength(items.length);
    expect(items.length).toBe(80); // 30 passwords + 30 extras over 70 connections, 20 variables
    for (const [i, item] of items.entries()) {
      // Extras are stored exactly as Python's json.dumps writes them, so Airflow-written and envmgr-written rows match.
      expect(out[i]!.text).toBe(item.extra_json ? out[i]!.python_dumps : item.expected);
    }
  });
});
