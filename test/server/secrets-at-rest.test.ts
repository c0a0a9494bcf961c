import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, makeWorld, type World } from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await makeWorld();
});
afterAll(async () => {
  await w?.close();
});

// Distinctive values: any of them appearing in a dump means a secret was stored in clear.
const SECRETS = {
  password: 'S3cret-Pa55word-AAAA',
  apiKey: 'S3cret-ApiKey-BBBB',
  privateKey: 'S3cret-PrivateKey-CCCC',
  serviceAccount: 'S3cret-ServiceAccount-DDDD',
  variable: 'S3cret-Variable-EEEE',
  overridePassword: 'S3cret-OverridePass-FFFF',
  overrideToken: 'S3cret-OverrideToken-GGGG',
  variableOverride: 'S3cret-VariableOverride-HHHH',
  updatedPassword: 'S3cret-UpdatedPass-IIII',
};

async function dumpDatabase(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    );
    let dump = '';
    for (const { table_name } of tables) {
      // A whole row cast to text: every column, bytea as hex, json as written.
      const { rows } = await client.query<{ row: string }>(`SELECT t::text AS row FROM ${client.escapeIdentifier(table_name)} t`);
      dump += `== ${table_name}\n${rows.map((r) => r.row).join('\n')}\n`;
    }
    return dump;
  } finally {
    await client.end();
  }
}

describe('secrets at rest', () => {
  it('a dump of every table holds no secret and no token in clear', async () => {
    const owner = w.tokens.ORGANIZATION_OWNER;
    const base = `/v1/organizations/${w.org}/environment-objects`;
    const conn = await call(w.app, owner, 'POST', base, {
      objectKey: 'secretive', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1,
      connection: {
        type: 'postgres', host: 'visible-host.example', password: SECRETS.password,
        extra: { API_KEY: SECRETS.apiKey, private_key: SECRETS.privateKey, service_account_json: { inner: SECRETS.serviceAccount }, visible_member: 'visible-extra' },
      },
      links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, overrides: { connection: { password: SECRETS.overridePassword, extra: { auth_token: SECRETS.overrideToken } } } }],
    });
    expect(conn.status).toBe(200);
    const variable = await call(w.app, owner, 'POST', base, {
      objectKey: 'secret_var', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: w.ws1,
      airflowVariable: { value: SECRETS.variable, isSecret: true },
      links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1b, overrides: { airflowVariable: { value: SECRETS.variableOverride } } }],
    });
    expect(variable.status).toBe(200);
    const update = await call(w.app, owner, 'POST', `${base}/${conn.body.id}`, { connection: { password: SECRETS.updatedPassword } });
    expect(update.status).toBe(200);

    // The values are really there, readable through the API.
    const clear = await call(w.app, owner, 'GET', `${base}?deploymentId=${w.dep1a}&resolveLinked=true&showSecrets=true`);
    const row = clear.body.environmentObjects.find((o: { objectKey: string }) => o.objectKey === 'secretive');
    expect(row.connection.password).toBe(SECRETS.overridePassword);
    expect(row.connection.extra.auth_token).toBe(SECRETS.overrideToken);

    const dump = await dumpDatabase(w.databaseUrl);
    expect(dump).toContain('visible-host.example');
    expect(dump).toContain('visible-extra');
    for (const [name, secret] of Object.entries(SECRETS)) {
      expect(dump.includes(secret), `${name} in clear`).toBe(false);
      expect(dump.includes(Buffer.from(secret).toString('base64')), `${name} as base64`).toBe(false);
      expect(dump.includes(Buffer.from(secret).toString('hex')), `${name} as hex`).toBe(false);
    }
    for (const [who, token] of Object.entries(w.tokens)) {
      expect(dump.includes(token), `token of ${who}`).toBe(false);
      expect(dump.includes(token.replace(/^envmgr_/, '')), `token body of ${who}`).toBe(false);
    }
  });
});

describe('a process without the key a secret was sealed with', () => {
  it('answers 500 saying the processes need the same master keys, not an anonymous internal server error', async () => {
    const { buildApp } = await import('../../src/server/app.js');
    const { generateMasterKey, parseMasterKeys } = await import('../../src/server/crypto.js');
    const { TEST_MASTER_KEY } = await import('./helpers.js');
    // A second process given a newer key first: what it seals, the world's process (old key only) cannot open.
    const newer = await buildApp({ pool: w.pool, config: { keyring: parseMasterKeys(`${generateMasterKey()},${TEST_MASTER_KEY}`, 'test keys') } });
    await newer.ready();
    try {
      const base = `/v1/organizations/${w.org}/environment-objects`;
      const created = await call(newer, w.tokens.ORGANIZATION_OWNER, 'POST', base, {
        objectKey: 'sealed_elsewhere', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1, connection: { type: 'http', password: 'pw-new-key' },
      });
      expect(created.status).toBe(200);
      const read = await call(w.app, w.tokens.ORGANIZATION_OWNER, 'GET', `${base}/${created.body.id}?showSecrets=true`);
      expect(read.status).toBe(500);
      expect(read.body.message).toMatch(/sealed with a master key this process was not given; start every server process with the same ENVMGR_SERVER_MASTER_KEY list/);
      expect(JSON.stringify(read.body)).not.toContain('pw-new-key');
    } finally {
      await newer.close();
    }
  });
});
