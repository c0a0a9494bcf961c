import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWorld, type World } from './helpers.js';

let w: World;
const LIMIT = 64 * 1024;
beforeAll(async () => {
  w = await makeWorld({ bodyLimit: LIMIT });
});
afterAll(async () => {
  await w?.close();
});

const count = async () => Number((await w.pool.query('SELECT (SELECT count(*) FROM environment_objects) + (SELECT count(*) FROM environment_object_links) AS n')).rows[0].n);

async function send(method: 'POST' | 'GET', url: string, payload: string | undefined, contentType = 'application/json') {
  const res = await w.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${w.tokens.ORGANIZATION_OWNER}`, ...(payload !== undefined ? { 'content-type': contentType } : {}) },
    ...(payload !== undefined ? { payload } : {}),
  });
  return { status: res.statusCode, body: JSON.parse(res.body), requestId: res.headers['x-request-id'] };
}

const validConnection = () => ({
  objectKey: 'ok_key', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1,
  connection: { type: 'postgres', host: 'h', port: 5432, extra: { a: 1 } },
});

function mutate(path: string, value: unknown): Record<string, unknown> {
  const body = validConnection() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const keys = path.split('.');
  let target = body;
  for (const k of keys.slice(0, -1)) target = target[k];
  target[keys.at(-1) as string] = value;
  return body;
}

describe('bad input', () => {
  const objects = () => `/v1/organizations/${w.org}/environment-objects`;

  it('each bad body → 400 with fieldErrors naming the field, nothing stored', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['wrong type: port as text', mutate('connection.port', '5432'), 'connection.port'],
      ['port 0', mutate('connection.port', 0), 'connection.port'],
      ['port 65536', mutate('connection.port', 65536), 'connection.port'],
      ['port not an integer', mutate('connection.port', 54.5), 'connection.port'],
      ['extra as text', mutate('connection.extra', '{"a":1}'), 'connection.extra'],
      ['extra as array', mutate('connection.extra', [1, 2]), 'connection.extra'],
      ['extra as number', mutate('connection.extra', 7), 'connection.extra'],
      ['objectKey with a space', mutate('objectKey', 'bad key'), 'objectKey'],
      ['objectKey with SQL', mutate('objectKey', "x'; DROP TABLE environment_objects; --"), 'objectKey'],
      ['objectKey empty', mutate('objectKey', ''), 'objectKey'],
      ['objectKey too long', mutate('objectKey', 'k'.repeat(201)), 'objectKey'],
      ['objectKey as number', mutate('objectKey', 42), 'objectKey'],
      ['objectType unknown', mutate('objectType', 'POOL'), 'objectType'],
      ['scope unknown', mutate('scope', "WORKSPACE' OR '1'='1"), 'scope'],
      ['scopeEntityId with SQL', mutate('scopeEntityId', "1' OR '1'='1"), 'scopeEntityId'],
      ['host too long', mutate('connection.host', 'h'.repeat(501)), 'connection.host'],
      ['schema too long', mutate('connection.schema', 's'.repeat(501)), 'connection.schema'],
      ['connection.type empty', mutate('connection.type', ''), 'connection.type'],
      ['connection.type missing', { ...validConnection(), connection: { host: 'h' } }, 'connection.type'],
      ['unknown top-level field', { ...validConnection(), color: 'red' }, 'color'],
      ['unknown connection field', mutate('connection.uri', 'postgres://x'), 'connection.uri'],
      ['unknown link field', { ...validConnection(), links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, weight: 1 }] }, 'links[0].weight'],
      ['link override port out of range', { ...validConnection(), links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, overrides: { connection: { port: 70000 } } }] }, 'links[0].overrides.connection.port'],
      ['link override extra not an object', { ...validConnection(), links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, overrides: { connection: { extra: 'x' } } }] }, 'links[0].overrides.connection.extra'],
      ['autoLinkDeployments as text', mutate('autoLinkDeployments', 'yes'), 'autoLinkDeployments'],
      ['description as object', mutate('description', { a: 1 }), 'description'],
      ['NUL in description', mutate('description', 'a\u0000b'), 'description'],
      ['NUL in host', mutate('connection.host', 'a\u0000b'), 'connection.host'],
      ['missing objectKey', (() => { const b = validConnection() as Record<string, unknown>; delete b.objectKey; return b; })(), 'objectKey'],
      ['connection for a variable', { ...validConnection(), objectType: 'AIRFLOW_VARIABLE' }, 'airflowVariable'],
      ['variable value as number', { objectKey: 'v', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: w.ws1, airflowVariable: { value: 5 } }, 'airflowVariable.value'],
      ['body is an array', [validConnection()], 'body'],
      ['body is a string', 'hello', 'body'],
    ];
    const before = await count();
    for (const [name, body] of cases.map(([n, b]) => [n, b] as const)) {
      const field = cases.find((c) => c[0] === name)?.[2];
      const res = await send('POST', objects(), JSON.stringify(body));
      expect(res.status, name).toBe(400);
      expect(res.body.statusCode, name).toBe(400);
      expect(res.body.requestId, name).toBe(res.requestId);
      expect(res.body.fieldErrors?.map((e: { field: string }) => e.field), `${name}: ${JSON.stringify(res.body)}`).toContain(field);
    }
    expect(await count()).toBe(before);
  });

  it('malformed JSON, an empty body, and a body over the limit → 400 naming the body, nothing stored', async () => {
    const before = await count();
    for (const [name, payload] of [
      ['truncated', '{"objectKey": "x", '],
      ['trailing comma', '{"objectKey": "x",}'],
      ['single quotes', "{'objectKey': 'x'}"],
      ['prototype pollution', `{"__proto__": {"admin": true}, "objectKey": "x"}`],
      ['empty', ''],
      ['over the limit', JSON.stringify({ ...validConnection(), description: 'd'.repeat(LIMIT) })],
    ] as const) {
      const res = await send('POST', objects(), payload);
      expect(res.status, name).toBe(400);
      expect(res.body.fieldErrors, name).toEqual([{ field: 'body', message: expect.any(String) }]);
    }
    const big = await send('POST', objects(), JSON.stringify({ ...validConnection(), description: 'd'.repeat(LIMIT) }));
    expect(big.body.message).toContain(String(LIMIT));
    const notJson = await send('POST', objects(), 'objectKey=x', 'application/x-www-form-urlencoded');
    expect(notJson.status).toBe(415);
    expect(await count()).toBe(before);
  });

  it('a body nested deeper than the limit → 400 naming the body (not a 500), nothing stored; a deep but sane extra is fine', async () => {
    const nest = (levels: number): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < levels; i++) v = i % 2 ? { a: v } : [v];
      return v;
    };
    // Deep bodies as text: JSON.stringify itself overflows the stack on them.
    const deepText = (levels: number) => '{"a":['.repeat(levels / 2) + '1' + ']}'.repeat(levels / 2);
    const withExtra = (text: string) => JSON.stringify(mutate('connection.extra', { deep: '@' })).replace('"@"', text);
    const before = await count();
    for (const levels of [100, 5000]) {
      const res = await send('POST', objects(), withExtra(deepText(levels)));
      expect(res.status, String(levels)).toBe(400);
      expect(JSON.stringify(res.body.fieldErrors)).toContain("64 levels");
      expect(res.body.fieldErrors.map((e: { field: string }) => e.field)).toEqual(["body"]);
      expect(res.body.requestId).toBe(res.requestId);
    }
    expect(await count()).toBe(before);
    const created = await send('POST', objects(), JSON.stringify({ ...mutate('connection.extra', { deep: nest(40) }), objectKey: 'deep_ok' }));
    expect(created.status).toBe(200);
    const update = await send('POST', `${objects()}/${created.body.id}`, `{"connection":{"type":"postgres","extra":{"deep":${deepText(5000)}}}}`);
    expect(update.status).toBe(400);
    const read = await send('GET', `${objects()}/${created.body.id}`, undefined);
    expect(read.body.connection.extra).toEqual({ deep: nest(40) });
  });

  it('SQL metacharacters in free-text fields are stored and read back verbatim, never a 500', async () => {
    const nasty = `'; DROP TABLE environment_objects; -- " \\ $1 %s \u2603 ) OR 1=1`;
    const body = {
      objectKey: 'sql_meta', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1, description: nasty,
      connection: { type: nasty, host: nasty, login: nasty, password: nasty, schema: nasty, port: 1, extra: { [nasty]: nasty, token: nasty } },
      links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, overrides: { connection: { host: nasty, login: nasty } } }],
    };
    const res = await send('POST', objects(), JSON.stringify(body));
    expect(res.status).toBe(200);
    const read = await send('GET', `${objects()}/${res.body.id}?showSecrets=true`, undefined);
    expect(read.body.description).toBe(nasty);
    expect(read.body.connection).toEqual(body.connection);
    expect(read.body.links[0].connectionOverrides).toEqual({ host: nasty, login: nasty });
    const variable = await send('POST', objects(), JSON.stringify({ objectKey: 'sql_meta', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: w.ws1, airflowVariable: { value: nasty } }));
    expect(variable.status).toBe(200);
    // In query strings and path ids they are just values that match nothing.
    const q = encodeURIComponent(nasty);
    expect((await send('GET', `${objects()}?workspaceId=${w.ws1}&objectKey=${q}`, undefined)).body.totalCount).toBe(0);
    expect((await send('GET', `${objects()}?workspaceId=${q}`, undefined)).status).toBe(404);
    expect((await send('GET', `${objects()}/${q}`, undefined)).status).toBe(404);
    expect((await send('GET', `${objects()}?workspaceId=${w.ws1}&sorts=${q}`, undefined)).status).toBe(400);
    expect((await send('GET', `/v1/organizations/${w.org}/workspaces?names=${q}`, undefined)).body.totalCount).toBe(0);
    const tables = await w.pool.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'environment_objects'");
    expect(tables.rows[0].n).toBe(1);
  });

  it('bad update bodies → 400, the object unchanged', async () => {
    const created = await send('POST', objects(), JSON.stringify({ ...validConnection(), objectKey: 'upd_target' }));
    const url = `${objects()}/${created.body.id}`;
    for (const [body, field] of [
      [{ objectKey: 'renamed' }, 'objectKey'],
      [{ scope: 'DEPLOYMENT' }, 'scope'],
      [{ connection: { port: -1 } }, 'connection.port'],
      [{ connection: { extra: [] } }, 'connection.extra'],
      [{ connection: { type: null } }, 'connection.type'],
      [{ airflowVariable: { value: 'x' } }, 'airflowVariable'],
      [{ links: [{ scope: 'WORKSPACE', scopeEntityId: w.dep1a }] }, 'links[0].scope'],
      [{ links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep2a }] }, 'links[0].scopeEntityId'],
    ] as const) {
      const res = await send('POST', url, JSON.stringify(body));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.fieldErrors.map((e: { field: string }) => e.field)).toContain(field);
    }
    const read = await send('GET', url, undefined);
    expect(read.body.connection).toEqual({ type: 'postgres', host: 'h', port: 5432, extra: { a: 1 } });
    expect(read.body.links).toEqual([]);
  });
});
