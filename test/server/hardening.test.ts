// Requests an audit of the API found mishandled: secrets revealed through isSecret, nulls on create, user tokens
// wider than their roles, list filters, body values JSON.parse lets through, exclude-linking, error texts, the
// organization update.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenIn, createUserIn, createWorkspaceIn } from '../../src/server/admin.js';
import { call, makeWorld, type Call, type World } from './helpers.js';

const objects = (w: World) => `/v1/organizations/${w.org}/environment-objects`;

async function create(w: World, token: string, body: Record<string, unknown>): Promise<string> {
  const res = await call(w.app, token, 'POST', objects(w), body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.id as string;
}

async function rawPost(w: World, token: string, url: string, text: string): Promise<Call> {
  const res = await w.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: text });
  return { status: res.statusCode, body: JSON.parse(res.body), headers: res.headers };
}

describe('turning a secret variable into a plain one', () => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld({ secretsFetching: false });
  });
  afterAll(async () => {
    await w?.close();
  });

  const secretVariable = (key: string, links: unknown[] = []) => create(w, w.tokens.WORKSPACE_OPERATOR, {
    objectKey: key, objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: w.ws1,
    airflowVariable: { value: `${key}-BASE-SECRET`, isSecret: true }, links,
  });

  it('needs the new value from a caller who may not read secrets, and keeps the secret hidden when refused', async () => {
    const id = await secretVariable('flip_plain');
    for (const airflowVariable of [{ isSecret: false }, { isSecret: false, value: '****' }]) {
      const refused = await call(w.app, w.tokens.WORKSPACE_OPERATOR, 'POST', `${objects(w)}/${id}`, { airflowVariable });
      expect(refused.status).toBe(400);
      expect(refused.body.fieldErrors).toEqual([{ field: 'airflowVariable.value', message: expect.stringMatching(/would show the stored secret value.*give the new value/) }]);
    }
    const read = await call(w.app, w.tokens.WORKSPACE_MEMBER, 'GET', `${objects(w)}/${id}`);
    expect(read.body.airflowVariable).toEqual({ value: '****', isSecret: true });
    const changed = await call(w.app, w.tokens.WORKSPACE_OPERATOR, 'POST', `${objects(w)}/${id}`, { airflowVariable: { isSecret: false, value: 'now-public' } });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body.airflowVariable).toEqual({ value: 'now-public', isSecret: false });
    expect(JSON.stringify((await call(w.app, w.tokens.WORKSPACE_MEMBER, 'GET', `${objects(w)}/${id}`)).body)).not.toContain('BASE-SECRET');
  });

  it('needs the links given again when they hold override values, and refuses a masked override value', async () => {
    const id = await secretVariable('flip_links', [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, overrides: { airflowVariable: { value: 'OVERRIDE-SECRET' } } }]);
    const withoutLinks = await call(w.app, w.tokens.WORKSPACE_OPERATOR, 'POST', `${objects(w)}/${id}`, { airflowVariable: { isSecret: false, value: 'v' } });
    expect(withoutLinks.status).toBe(400);
    expect(withoutLinks.body.fieldErrors).toEqual([{ field: 'links', message: expect.stringMatching(/override values/) }]);
    const maskedLink = await call(w.app, w.tokens.WORKSPACE_OPERATOR, 'POST', `${objects(w)}/${id}`, {
      airflowVariable: { isSecret: false, value: 'v' },
      links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, airflowVariableOverrides: { value: '****' } }],
    });
    expect(maskedLink.status).toBe(400);
    expect(maskedLink.body.fieldErrors[0].field).toBe('links[0].overrides.airflowVariable.value');
    const resolved = await call(w.app, w.tokens.WORKSPACE_MEMBER, 'GET', `${objects(w)}?deploymentId=${w.dep1a}&resolveLinked=true&objectKey=flip_links`);
    expect(JSON.stringify(resolved.body)).not.toContain('SECRET');
    const ok = await call(w.app, w.tokens.WORKSPACE_OPERATOR, 'POST', `${objects(w)}/${id}`, {
      airflowVariable: { isSecret: false, value: 'v' },
      links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, airflowVariableOverrides: { value: 'v-prod' } }],
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.links[0].airflowVariableOverrides).toEqual({ value: 'v-prod' });
  });

  it('keeps the stored value when the caller may read secrets', async () => {
    const open = await makeWorld({ secretsFetching: true });
    try {
      const id = await create(open, open.tokens.WORKSPACE_OPERATOR, {
        objectKey: 'flip_allowed', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: open.ws1, airflowVariable: { value: 'kept-value', isSecret: true },
      });
      const res = await call(open.app, open.tokens.WORKSPACE_OPERATOR, 'POST', `${objects(open)}/${id}`, { airflowVariable: { isSecret: false } });
      expect(res.status).toBe(200);
      expect(res.body.airflowVariable).toEqual({ value: 'kept-value', isSecret: false });
    } finally {
      await open.close();
    }
  });
});

describe('requests the audit found mishandled', () => {
  let w: World;
  let owner: string;
  beforeAll(async () => {
    w = await makeWorld();
    owner = w.tokens.ORGANIZATION_OWNER;
  });
  afterAll(async () => {
    await w?.close();
  });

  it('a null field on create is absent, as after an update, not "" or port 0', async () => {
    const id = await create(w, owner, {
      objectKey: 'nulls_on_create', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1,
      connection: { type: 'http', host: null, login: null, password: null, schema: null, port: null, extra: null },
    });
    for (const query of ['', '?showSecrets=true']) {
      const res = await call(w.app, owner, 'GET', `${objects(w)}/${id}${query}`);
      expect(res.body.connection).toEqual({ type: 'http' });
      expect(res.body.setFields).toEqual(['type']);
    }
  });

  it('a token made for a user is bounded by its roles, not widened to the user\'s organization role', async () => {
    const { id: user } = await createUserIn(w.pool, { organizationId: w.org, username: 'grace', organizationRole: 'ORGANIZATION_OWNER' });
    const { token } = await createTokenIn(w.pool, { organizationId: w.org, name: 'grace-narrow', userId: user, roles: [{ role: 'WORKSPACE_MEMBER', entityId: w.ws2 }] });
    const self = await call(w.app, token, 'GET', '/v1/users/self');
    expect(self.body).toMatchObject({ subjectType: 'USER', username: 'grace', organizationRole: 'ORGANIZATION_MEMBER', workspaceRoles: [{ workspaceId: w.ws2, role: 'WORKSPACE_MEMBER' }] });
    expect((await call(w.app, token, 'GET', `${objects(w)}?workspaceId=${w.ws1}`)).status).toBe(403);
    expect((await call(w.app, token, 'GET', `${objects(w)}?workspaceId=${w.ws2}&showSecrets=true`)).status).toBe(403);
    expect((await call(w.app, token, 'POST', `/v1/organizations/${w.org}`, { name: 'taken over' })).status).toBe(403);
    // A user's token without roles acts as the user.
    const { token: session } = await createTokenIn(w.pool, { organizationId: w.org, name: 'grace-session', userId: user, roles: [] });
    expect((await call(w.app, session, 'GET', '/v1/users/self')).body.organizationRole).toBe('ORGANIZATION_OWNER');
  });

  it('list filters are repeated parameters: a name keeps its commas, and an empty filter filters nothing', async () => {
    await createWorkspaceIn(w.pool, { organizationId: w.org, name: 'sales,eu' });
    const named = await call(w.app, owner, 'GET', `/v1/organizations/${w.org}/workspaces?names=${encodeURIComponent('sales,eu')}`);
    expect(named.body.workspaces.map((x: { name: string }) => x.name)).toEqual(['sales,eu']);
    const all = await call(w.app, owner, 'GET', `/v1/organizations/${w.org}/workspaces`);
    for (const filter of ['names=', 'workspaceIds=']) {
      expect((await call(w.app, owner, 'GET', `/v1/organizations/${w.org}/workspaces?${filter}`)).body.totalCount).toBe(all.body.totalCount);
    }
    // Ids hold no commas: a comma-joined id list still works.
    const ids = await call(w.app, owner, 'GET', `/v1/organizations/${w.org}/workspaces?workspaceIds=${w.ws1},${w.ws2}`);
    expect(ids.body.totalCount).toBe(2);
  });

  it('refuses, naming the field, what JSON.parse would quietly change; nothing is stored', async () => {
    const body = (key: string, extraText: string) =>
      `{"objectKey": "${key}", "objectType": "CONNECTION", "scope": "WORKSPACE", "scopeEntityId": "${w.ws1}", "connection": {"type": "http", "extra": ${extraText}}}`;
    const cases: Array<[string, string, string, RegExp]> = [
      ['dup_member', '{"password": "p1", "password": "p2"}', 'connection.extra.password', /more than once/],
      ['dup_nested', '{"a": {"b": 1, "c": [{"d": 1, "d": 2}]}}', 'connection.extra.a.c[0].d', /more than once/],
      ['big_float', '{"f": 1e400}', 'connection.extra.f', /beyond the range of a double/],
      ['nul_value', '{"k": "a\\u0000b"}', 'connection.extra.k', /NUL/],
      ['nul_key', '{"a\\u0000b": "v"}', 'connection.extra', /member name that must not contain NUL/],
      ['lone_surrogate', '{"k": "\\ud800x"}', 'connection.extra.k', /lone UTF-16 surrogate/],
    ];
    for (const [key, extra, field, message] of cases) {
      const res = await rawPost(w, owner, objects(w), body(key, extra));
      expect(res.status, key).toBe(400);
      expect(res.body.fieldErrors, key).toEqual([{ field, message: expect.stringMatching(message) }]);
      expect((await call(w.app, owner, 'GET', `${objects(w)}?workspaceId=${w.ws1}&objectKey=${key}`)).body.totalCount, key).toBe(0);
    }
    // A top-level member twice, and a description with a lone surrogate.
    const top = await rawPost(w, owner, objects(w), `{"objectKey": "a", "objectKey": "b", "objectType": "AIRFLOW_VARIABLE", "scope": "WORKSPACE", "scopeEntityId": "${w.ws1}", "airflowVariable": {"value": "1"}}`);
    expect(top.body.fieldErrors).toEqual([{ field: 'objectKey', message: expect.stringMatching(/more than once/) }]);
    // The same key in two different objects, an escaped key equal to another once decoded, and big integers are fine.
    const fine = await rawPost(w, owner, objects(w), body('fine_extra', '{"a": {"k": 1}, "b": {"k": 2}, "n": 123456789012345678901234567890, "s": "\\ud83d\\ude00", "x\\u0041": 1, "xB": 2}'));
    expect(fine.status, JSON.stringify(fine.body)).toBe(200);
    const twice = await rawPost(w, owner, objects(w), body('escaped_twice', '{"xA": 1, "x\\u0041": 2}'));
    expect(twice.body.fieldErrors).toEqual([{ field: 'connection.extra.xA', message: expect.stringMatching(/more than once/) }]);
  });

  it('exclude-linking records who changed the object, changes nothing when repeated, and refuses an explicit link', async () => {
    const id = await create(w, owner, {
      objectKey: 'excl_touch', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: w.ws1, autoLinkDeployments: true,
      airflowVariable: { value: 'v' }, links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a }],
    });
    const url = `${objects(w)}/${id}/exclude-linking`;
    expect((await call(w.app, w.tokens.WORKSPACE_OPERATOR, 'POST', url, { scope: 'DEPLOYMENT', scopeEntityId: w.dep1b })).status).toBe(204);
    const after = await call(w.app, owner, 'GET', `${objects(w)}/${id}`);
    expect(after.body.updatedBy).toMatchObject({ subjectType: 'SERVICEKEY', apiTokenName: 'ws-operator' });
    expect(after.body.excludeLinks).toEqual([{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1b }]);
    expect((await call(w.app, owner, 'POST', url, { scope: 'DEPLOYMENT', scopeEntityId: w.dep1b })).status).toBe(204);
    expect((await call(w.app, owner, 'GET', `${objects(w)}/${id}`)).body.updatedBy).toMatchObject({ apiTokenName: 'ws-operator' });
    const linked = await call(w.app, owner, 'POST', url, { scope: 'DEPLOYMENT', scopeEntityId: w.dep1a });
    expect(linked.status).toBe(409);
    expect(linked.body.message).toMatch(/linked to deployment .* explicitly.*remove that link/);
    expect((await call(w.app, owner, 'GET', `${objects(w)}/${id}`)).body.excludeLinks).toHaveLength(1);
    const both = await call(w.app, owner, 'POST', objects(w), {
      objectKey: 'excl_both', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: w.ws1, airflowVariable: { value: 'v' },
      links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a }], excludeLinks: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a }],
    });
    expect(both.status).toBe(400);
    expect(both.body.fieldErrors).toEqual([{ field: 'excludeLinks[0].scopeEntityId', message: expect.stringMatching(/also in links/) }]);
  });

  it('says what is wrong: NUL in the path or query, a __proto__ member, a wrong type', async () => {
    const path = await call(w.app, owner, 'GET', `${objects(w)}/%00`);
    expect(path.status).toBe(400);
    expect(path.body.fieldErrors).toEqual([{ field: 'id', message: 'must not contain NUL characters (in the path)' }]);
    const query = await call(w.app, owner, 'GET', `/v1/organizations/${w.org}/workspaces?names=a%00b`);
    expect(query.body.fieldErrors).toEqual([{ field: 'names', message: 'must not contain NUL characters (in the query)' }]);
    const proto = await rawPost(w, owner, objects(w), `{"objectKey": "p", "connection": {"type": "x", "extra": {"__proto__": {"a": 1}}}}`);
    expect([proto.status, proto.body.message]).toEqual([400, expect.stringMatching(/member named __proto__/)]);
    const port = await call(w.app, owner, 'POST', objects(w), {
      objectKey: 'p', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1, connection: { type: 'x', port: 'eighty' },
    });
    expect(port.body.fieldErrors).toContainEqual({ field: 'connection.port', message: 'must be an integer or null' });
  });

  it('the organization update refuses a blank name and writes nothing when nothing changes', async () => {
    const url = `/v1/organizations/${w.org}`;
    const blank = await call(w.app, owner, 'POST', url, { name: '   ' });
    expect(blank.status).toBe(400);
    expect(blank.body.fieldErrors).toEqual([{ field: 'name', message: 'must not be blank' }]);
    const revision = async () => (await w.pool.query('SELECT revision::text AS r, updated_at FROM organizations WHERE id = $1', [w.org])).rows[0];
    const before = await revision();
    for (const body of [{}, { name: before ? (await call(w.app, owner, 'GET', url)).body.name : '' }]) {
      const res = await call(w.app, owner, 'POST', url, body);
      expect(res.status).toBe(200);
    }
    expect(await revision()).toEqual(before);
    const renamed = await call(w.app, owner, 'POST', url, { name: '  Acme Corp  ' });
    expect(renamed.body.name).toBe('Acme Corp');
    expect((await revision())?.r).not.toBe(before?.r);
  });
});
