// The list cache (src/server/cache.ts): pages sliced from one resolved set per organization revision and view, for
// masked and showSecrets requests. These tests check that it changes nothing a caller can observe: the same bytes as
// the server without a cache, every write visible at once, and every authorization decision taken afresh.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/server/app.js';
import { parseMasterKeys } from '../../src/server/crypto.js';
import { call, makeWorld, TEST_MASTER_KEY, type World } from './helpers.js';

let w: World;
let uncached: FastifyInstance;
let second: FastifyInstance; // another "process": its own cache, same database
const ids: Record<string, string> = {};

beforeAll(async () => {
  w = await makeWorld();
  const config = { keyring: parseMasterKeys(TEST_MASTER_KEY, 'test key') };
  uncached = await buildApp({ pool: w.pool, config: { ...config, responseCache: false } });
  second = await buildApp({ pool: w.pool, config });
  const owner = w.tokens.ORGANIZATION_OWNER;
  const create = async (body: Record<string, unknown>) => {
    const res = await call(w.app, owner, 'POST', `/v1/organizations/${w.org}/environment-objects`, body);
    expect(res.status).toBe(200);
    ids[body.objectKey as string] = res.body.id;
  };
  const onDep = { scope: 'DEPLOYMENT', scopeEntityId: w.dep1a };
  await create({
    objectKey: 'api', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1, autoLinkDeployments: true,
    connection: { type: 'http', host: 'api.example.com', password: 'pw-ws' },
    links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, overrides: { connection: { password: 'pw-override' } } }],
  });
  await create({ objectKey: 'db', objectType: 'CONNECTION', ...onDep, connection: { type: 'postgres', host: 'db', password: 'pw-dep-1', extra: { api_key: 'k-1', sslmode: 'require' } } });
  await create({ objectKey: 'flag', objectType: 'AIRFLOW_VARIABLE', ...onDep, airflowVariable: { value: 's3cr3t', isSecret: true } });
  await create({ objectKey: 'plain', objectType: 'AIRFLOW_VARIABLE', ...onDep, airflowVariable: { value: 'visible' } });
  for (const k of ['v1', 'v2', 'v3']) await create({ objectKey: k, objectType: 'AIRFLOW_VARIABLE', ...onDep, airflowVariable: { value: `value-${k}` } });
}, 60_000);

afterAll(async () => {
  await uncached?.close();
  await second?.close();
  await w?.close();
});

const listUrl = (query: string) => `/v1/organizations/${w.org}/environment-objects?deploymentId=${w.dep1a}&resolveLinked=true&${query}`;
const raw = async (app: FastifyInstance, token: string, url: string) => {
  const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, text: res.body };
};
/** objectKey → the secret-bearing value of each object, as the caller sees it. */
const secretsOf = (body: { environmentObjects: Array<Record<string, any>> }) => // eslint-disable-line @typescript-eslint/no-explicit-any
  Object.fromEntries(body.environmentObjects.map((o) => [o.objectKey, o.connection ? o.connection.password : o.airflowVariable.value]));

describe('list cache', () => {
  it('serves pages sliced from one resolved set, byte for byte what the server without a cache answers', async () => {
    const owner = w.tokens.ORGANIZATION_OWNER;
    const queries = [
      'showSecrets=true&limit=1000', 'showSecrets=true&limit=3&offset=0', 'showSecrets=true&limit=3&offset=3',
      'showSecrets=true&limit=3&offset=6', 'showSecrets=true&limit=3&offset=10', 'limit=3&offset=3', 'limit=1000',
      'showSecrets=true&limit=2&sorts=objectKey:desc', 'showSecrets=true&objectType=CONNECTION', 'objectKey=flag&showSecrets=true',
    ];
    for (const q of queries) {
      // Twice through the cached app: the second answer comes from the cache.
      const first = await raw(w.app, owner, listUrl(q));
      const again = await raw(w.app, owner, listUrl(q));
      const plain = await raw(uncached, owner, listUrl(q));
      expect(first.status, q).toBe(200);
      expect(again.text, q).toBe(first.text);
      expect(first.text, q).toBe(plain.text);
    }
    const page = async (offset: number) => JSON.parse((await raw(w.app, owner, listUrl(`showSecrets=true&limit=3&offset=${offset}`))).text);
    const pages = [await page(0), await page(3), await page(6), await page(10)];
    expect(pages.map((p) => p.environmentObjects.map((o: { objectKey: string }) => o.objectKey))).toEqual([
      ['api', 'db', 'flag'], ['plain', 'v1', 'v2'], ['v3'], [],
    ]);
    expect(pages.map((p) => [p.limit, p.offset, p.totalCount])).toEqual([[3, 0, 7], [3, 3, 7], [3, 6, 7], [3, 10, 7]]);
    expect(secretsOf(pages[0])).toEqual({ api: 'pw-override', db: 'pw-dep-1', flag: 's3cr3t' });
    expect(pages[0].environmentObjects[1].connection.extra).toEqual({ api_key: 'k-1', sslmode: 'require' });
    // Times formatted by the list query are those of the single-object answer (API.md form, whole seconds, UTC).
    const one = await call(w.app, owner, 'GET', `/v1/organizations/${w.org}/environment-objects/${ids.db}`);
    const listed = pages[0].environmentObjects[1];
    expect([listed.createdAt, listed.updatedAt]).toEqual([one.body.createdAt, one.body.updatedAt]);
    expect(listed.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const masked = JSON.parse((await raw(w.app, owner, listUrl('limit=3'))).text);
    expect(secretsOf(masked)).toEqual({ api: '****', db: '****', flag: '****' });
    expect(masked.environmentObjects[1].connection.extra).toEqual({ api_key: '****', sslmode: 'require' });
  });

  it('shows a write at once, through this server and through another one with its own cache', async () => {
    const owner = w.tokens.ORGANIZATION_OWNER;
    const clear = async (app: FastifyInstance) => secretsOf(JSON.parse((await raw(app, owner, listUrl('showSecrets=true&limit=1000'))).text));
    expect((await clear(w.app)).db).toBe('pw-dep-1');
    expect((await clear(second)).db).toBe('pw-dep-1');
    const updated = await call(second, owner, 'POST', `/v1/organizations/${w.org}/environment-objects/${ids.db}`, { connection: { password: 'pw-dep-2' } });
    expect(updated.status).toBe(200);
    expect((await clear(w.app)).db).toBe('pw-dep-2');
    expect((await clear(second)).db).toBe('pw-dep-2');
    // A page other than the one just asked for is fresh too (the set, not only one page, was rebuilt).
    const page = JSON.parse((await raw(w.app, owner, listUrl('showSecrets=true&limit=3&offset=0'))).text);
    expect(secretsOf(page).db).toBe('pw-dep-2');

    const removed = await call(w.app, owner, 'DELETE', `/v1/organizations/${w.org}/environment-objects/${ids.v3}`);
    expect(removed.status).toBe(204);
    const after = JSON.parse((await raw(second, owner, listUrl('showSecrets=true&limit=3&offset=6'))).text);
    expect([after.environmentObjects.length, after.totalCount]).toEqual([0, 6]);
  });

  it('decides showSecrets afresh on every request: the organization setting, even changed behind its revision', async () => {
    const author = w.tokens.WORKSPACE_AUTHOR;
    const url = listUrl('showSecrets=true&limit=1000');
    expect((await raw(w.app, author, url)).status).toBe(200);
    expect((await raw(w.app, author, url)).status).toBe(200);
    // Straight in the database, without bumping the revision: the next request must still be refused.
    await w.pool.query('UPDATE organizations SET environment_secrets_fetching_enabled = false WHERE id = $1', [w.org]);
    try {
      for (const app of [w.app, second]) {
        const refused = await call(app, author, 'GET', url);
        expect(refused.status).toBe(403);
        expect(refused.body.message).toBe(`showSecrets on organization with id ${w.org} is not allowed`);
      }
      // Masked lists are still served.
      expect((await raw(w.app, author, listUrl('limit=1000'))).status).toBe(200);
    } finally {
      await w.pool.query('UPDATE organizations SET environment_secrets_fetching_enabled = true WHERE id = $1', [w.org]);
    }
    expect((await raw(w.app, author, url)).status).toBe(200);
  });

  it('never hands a cached clear answer to a caller without the right to it: roles, expiry, organization', async () => {
    const url = listUrl('showSecrets=true&limit=1000');
    expect((await raw(w.app, w.tokens.ORGANIZATION_OWNER, url)).status).toBe(200); // the clear set is cached now
    const member = await raw(w.app, w.tokens.WORKSPACE_MEMBER, url);
    expect(member.status).toBe(403);
    expect(member.text).not.toContain('pw-override');
    // The member's masked list holds no secret although the clear one is in the cache.
    const maskedText = (await raw(w.app, w.tokens.WORKSPACE_MEMBER, listUrl('limit=1000'))).text;
    for (const secret of ['pw-override', 'pw-dep-2', 'k-1', 's3cr3t']) expect(maskedText).not.toContain(secret);
    expect((await raw(w.app, w.tokens.OTHER_ORG_OWNER, url)).status).toBe(403);
    expect((await raw(w.app, w.tokens.EXPIRED, url)).status).toBe(401);

    // A token's roles changed in the database (no revision bump) take effect on its next request.
    const author = w.tokens.WORKSPACE_AUTHOR;
    expect((await raw(w.app, author, url)).status).toBe(200);
    const { rows } = await w.pool.query<{ roles: unknown }>("SELECT roles FROM api_tokens WHERE name = 'ws-author'");
    await w.pool.query("UPDATE api_tokens SET roles = $1 WHERE name = 'ws-author'", [JSON.stringify([{ role: 'WORKSPACE_MEMBER', entityId: w.ws1 }])]);
    try {
      expect((await raw(w.app, author, url)).status).toBe(403);
      await w.pool.query("UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE name = 'ws-author'");
      expect((await raw(w.app, author, url)).status).toBe(401);
    } finally {
      await w.pool.query("UPDATE api_tokens SET roles = $1, expires_at = NULL WHERE name = 'ws-author'", [JSON.stringify(rows[0]?.roles)]);
    }
    expect((await raw(w.app, author, url)).status).toBe(200);
  });

  it('keeps no secret in its logs', async () => {
    const text = JSON.stringify(w.logs);
    for (const secret of ['pw-override', 'pw-dep-1', 'pw-dep-2', 'k-1', 's3cr3t', w.tokens.ORGANIZATION_OWNER]) expect(text).not.toContain(secret);
    expect(w.logs.length).toBeGreaterThan(10);
  });
});
