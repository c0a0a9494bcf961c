import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fernetEncrypt, parseFernetKeys } from '../../src/airflow/fernet.js';
import { loadSchemaFixture } from '../../src/metadb/fixtures.js';
import { FernetMismatchError, keyCheckOf, readAirflowObjects, verifyFernetKey } from '../../src/metadb/read.js';
import { detectAirflowSchema, type AirflowSchemaInfo } from '../../src/metadb/schema.js';
import { createTestDatabase } from '../support/pg.js';
import { openClient } from './helpers.js';

interface RowExample {
  conn_id: string; conn_type: string; description?: string | null; host: string; schema: string; login: string;
  password: string; port: number; is_encrypted: boolean; is_extra_encrypted: boolean; extra: string;
  _plaintext?: { password: string; extra: string };
}
// `db_row_examples` of shared/airflow/vectors.json (generated with Airflow's own code and cryptography 48).
const ex = {
  "fernet_key": "1NdcG3zgY2-okvDIhnqOTfHatmZ1dQW4y-Nv77K74XU=",
  "connection_encrypted": {
    "conn_id": "pg_main",
    "conn_type": "postgres",
    "description": null,
    "host": "db.example.com",
    "schema": "airflow",
    "login": "airflow",
    "password": "gAAAAABlU_EAAAECAwQFBgcICQoLDA0OD2TXXdpnkqhnuxvS0vQHq3XkCqsprFWXYutxFgD79k1DZrCHFaSuMCoqRHHzI7GqTg==",
    "port": 5432,
    "is_encrypted": true,
    "is_extra_encrypted": true,
    "extra": "gAAAAABlU_EAEBESExQVFhcYGRobHB0eHxKDgB_1tFL_3G7TaS3QzqAuvNrppkHHMhViOledPOwfeRivjsJIMJifTojes0VFR_FzMuaqqsUw9esmvhvrTMU=",
    "_plaintext": {
      "password": "s3cr3t/p@ss",
      "extra": "{\"sslmode\": \"require\"}"
    }
  },
  "connection_plaintext_no_fernet_key": {
    "conn_id": "pg_main",
    "conn_type": "postgres",
    "host": "db.example.com",
    "schema": "airflow",
    "login": "airflow",
    "password": "s3cr3t/p@ss",
    "port": 5432,
    "is_encrypted": false,
    "is_extra_encrypted": false,
    "extra": "{\"sslmode\": \"require\"}"
  },
  "variable_encrypted_empty_string": {
    "key": "empty_var",
    "val": "gAAAAABlU_EAAAAAAAAAAAAAAAAAAAAAAHPbM3R4W5VZ9U_UhymU8yKin4LXx0mH3ykit85n6IFfa63Q04CTNcpn6DUT0SLwng==",
    "is_encrypted": true,
    "description": null,
    "_plaintext": ""
  }
} as const;

async function insertConnection(client: pg.Client, r: Omit<RowExample, 'is_encrypted' | 'is_extra_encrypted'> & { is_encrypted: boolean | null; is_extra_encrypted: boolean | null }) {
  await client.query(
    `INSERT INTO connection (conn_id, conn_type, host, schema, login, password, port, is_encrypted, is_extra_encrypted, extra)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [r.conn_id, r.conn_type, r.host, r.schema, r.login, r.password, r.port, r.is_encrypted, r.is_extra_encrypted, r.extra],
  );
}

describe('reading rows Airflow wrote', () => {
  let client: pg.Client;
  let info: AirflowSchemaInfo;
  const key = parseFernetKeys(ex.fernet_key, 'AIRFLOW__CORE__FERNET_KEY');
  const wrong = parseFernetKeys('Z2Fh1EulxLzv8bK-Cgfk8LYaSQFhHt0HZsC_qlfg0Qs=', 'dev.fernet_key_file (/tmp/key)');

  beforeAll(async () => {
    const url = await createTestDatabase('read');
    await loadSchemaFixture(url, '2.10');
    client = await openClient(url);
    info = await detectAirflowSchema(client);
  });
  afterAll(async () => {
    await client?.end();
  });

  it('has nothing to verify a key against in an empty database', async () => {
    expect(await verifyFernetKey(client, wrong, { info })).toEqual({ checked: null });
    expect(await verifyFernetKey(client, null)).toEqual({ checked: null });
  });

  it('decrypts the vectors rows and reads plaintext rows whatever the key', async () => {
    await insertConnection(client, ex.connection_encrypted);
    await insertConnection(client, { ...ex.connection_plaintext_no_fernet_key, conn_id: 'pg_plain' });
    // A flag left NULL counts as false (Airflow: `if self._password and self.is_encrypted`).
    await insertConnection(client, { ...ex.connection_plaintext_no_fernet_key, conn_id: 'pg_null_flags', is_encrypted: null, is_extra_encrypted: null });
    const v = ex.variable_encrypted_empty_string;
    await client.query(`INSERT INTO variable (key, val, is_encrypted) VALUES ($1, $2, true), ('plain', 'text', false), ('nullval', NULL, NULL)`, [v.key, v.val]);
    await client.query(`INSERT INTO connection (conn_id, conn_type, extra, is_encrypted, is_extra_encrypted) VALUES ('legacy', 'http', 'not json at all', false, false)`);

    const back = await readAirflowObjects(client, info, key);
    expect(back.connections.get('pg_main')).toEqual({
      conn_id: 'pg_main', conn_type: 'postgres', description: null, host: 'db.example.com', schema: 'airflow', login: 'airflow',
      password: 's3cr3t/p@ss', port: 5432, extra: { sslmode: 'require' }, extraText: '{"sslmode": "require"}', rowHash: expect.any(String),
    });
    for (const id of ['pg_plain', 'pg_null_flags']) {
      expect(back.connections.get(id)).toMatchObject({ password: 's3cr3t/p@ss', extra: { sslmode: 'require' } });
    }
    expect(back.connections.get('legacy')).toMatchObject({ extra: null, extraText: 'not json at all', password: null, port: null });
    expect(back.variables.get('empty_var')).toEqual({ key: 'empty_var', value: '', description: null, rowHash: expect.any(String) });
    expect(back.variables.get('plain')?.value).toBe('text');
    expect(back.variables.get('nullval')?.value).toBeNull();

    expect(await verifyFernetKey(client, key, { info })).toEqual({ checked: "connection 'pg_main' (password)" });
  });

  it('names the key source when the key does not decrypt, and says when there is no key', async () => {
    const err = (await readAirflowObjects(client, info, wrong).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(FernetMismatchError);
    expect(err.message).toContain("the Fernet key from dev.fernet_key_file (/tmp/key) does not decrypt connection 'pg_main' (password)");
    await expect(verifyFernetKey(client, wrong, { info })).rejects.toThrow(/dev\.fernet_key_file \(\/tmp\/key\)/);
    await expect(readAirflowObjects(client, info, null)).rejects.toThrow(/connection 'pg_main' \(password\) is encrypted .* no Fernet key/);
    // Reading only pools needs no key.
    expect((await readAirflowObjects(client, info, null, { kinds: ['pool'] })).pools.size).toBe(1);
    // A MultiFernet decrypts with any of its keys.
    const multi = parseFernetKeys(`Z2Fh1EulxLzv8bK-Cgfk8LYaSQFhHt0HZsC_qlfg0Qs=,${ex.fernet_key}`, 'rotation');
    expect((await readAirflowObjects(client, info, multi)).variables.get('empty_var')?.value).toBe('');
  });

  it('tells a damaged value from a wrong key: the key that opens the other values is not blamed', async () => {
    // A value hand-edited in SQL (or written with another key) among values the key opens.
    await client.query(`INSERT INTO variable (key, val, is_encrypted) VALUES ('damaged', 'gAAAAABnot-a-fernet-token', true)`);
    try {
      expect(await verifyFernetKey(client, key, { info })).toEqual({ checked: "connection 'pg_main' (password)" });
      const err = (await readAirflowObjects(client, info, key).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(FernetMismatchError);
      expect(err.message).toBe(
        "variable 'damaged' in the Airflow database does not decrypt with the Fernet key from AIRFLOW__CORE__FERNET_KEY, which decrypts the " +
          'other encrypted values: that value is damaged or was encrypted with another key; fix or delete the row, then run again',
      );
      // A wrong key opens none of them, and is still called one.
      await expect(readAirflowObjects(client, info, wrong)).rejects.toThrow(/the Fernet key from dev\.fernet_key_file \(\/tmp\/key\) does not decrypt .*; use the key this Airflow/);
    } finally {
      await client.query(`DELETE FROM variable WHERE key = 'damaged'`);
    }
  });

  it('checks the key against a value of each kind: one it opens is enough, none is a wrong key', () => {
    const token = fernetEncrypt(key, 'pw');
    const damaged = { what: "connection 'a' (password)", value: 'gAAAAABnot-a-fernet-token' };
    const good = { what: "variable 'b'", value: token };
    expect(keyCheckOf([damaged, good], key)).toEqual({ checked: "variable 'b'" });
    expect(keyCheckOf([good, damaged], key)).toEqual({ checked: "variable 'b'" });
    expect(() => keyCheckOf([damaged, good], wrong)).toThrow(/dev\.fernet_key_file \(\/tmp\/key\) does not decrypt connection 'a' \(password\)/);
    expect(() => keyCheckOf([damaged, good], null)).toThrow(/connection 'a' \(password\) is encrypted .* no Fernet key/);
    expect(keyCheckOf([], wrong)).toEqual({ checked: null });
  });
});
