import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, makeWorld, type World } from './helpers.js';

let w: World;
let owner: string;
const base = () => `/v1/organizations/${w.org}/environment-objects`;
const post = (body: unknown, token = owner) => call(w.app, token, 'POST', base(), body);
const list = (query: string, token = owner) => call(w.app, token, 'GET', `${base()}?${query}`);
const byKey = (items: Array<{ objectKey: string }>, key: string) => items.find((i) => i.objectKey === key) as any; // eslint-disable-line @typescript-eslint/no-explicit-any

async function create(body: Record<string, unknown>): Promise<string> {
  const res = await post(body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.id).toMatch(/^[a-z0-9]{25}$/);
  return res.body.id as string;
}

beforeAll(async () => {
  w = await makeWorld();
  owner = w.tokens.ORGANIZATION_OWNER;
});
afterAll(async () => {
  await w?.close();
});

describe('environment objects: create, read, update, delete', () => {
  it('creates a connection and reads it back masked, then with showSecrets', async () => {
    const id = await create({
      objectKey: 'crud_pg', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1, description: 'the db',
      connection: { type: 'postgres', host: 'db.local', login: 'u', password: 'crud-pass', schema: 's', port: 5432, extra: { sslmode: 'require', Api_Key: 'crud-key', nested_secret: { a: 1 } } },
    });
    const masked = await call(w.app, owner, 'GET', `${base()}/${id}`);
    expect(masked.status).toBe(200);
    expect(masked.body).toMatchObject({
      id, objectKey: 'crud_pg', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1, description: 'the db',
      autoLinkDeployments: false, links: [], excludeLinks: [],
      connection: { type: 'postgres', host: 'db.local', login: 'u', password: '****', schema: 's', port: 5432, extra: { sslmode: 'require', Api_Key: '****', nested_secret: '****' } },
      createdBy: { subjectType: 'USER', username: 'ada' },
    });
    expect(masked.body.setFields).toEqual(['type', 'host', 'login', 'password', 'schema', 'port', 'extra.sslmode', 'extra.Api_Key', 'extra.nested_secret']);
    expect(masked.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const clear = await call(w.app, owner, 'GET', `${base()}/${id}?showSecrets=true`);
    expect(clear.body.connection).toEqual({ type: 'postgres', host: 'db.local', login: 'u', password: 'crud-pass', schema: 's', port: 5432, extra: { sslmode: 'require', Api_Key: 'crud-key', nested_secret: { a: 1 } } });
  });

  it('answers 409 for a duplicate key in the same scope, but allows it in another scope or type', async () => {
    const body = { objectKey: 'dup_key', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: w.ws1, airflowVariable: { value: 'a' } };
    await create(body);
    const again = await post(body);
    expect(again.status).toBe(409);
    expect(again.body.message).toContain('dup_key');
    await create({ ...body, scopeEntityId: w.ws2 });
    await create({ ...body, scope: 'DEPLOYMENT', scopeEntityId: w.dep1a });
    await create({ ...body, objectType: 'CONNECTION', airflowVariable: undefined, connection: { type: 'http' } });
  });

  it('updates: absent fields kept, null clears, masked secrets keep the stored value, links replaced whole', async () => {
    const id = await create({
      objectKey: 'upd_conn', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1, description: 'keep me',
      connection: { type: 'mysql', host: 'h1', login: 'l1', password: 'upd-pass-1', port: 3306, extra: { token: 'upd-token-1', x: 'y' } },
      links: [
        { scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, overrides: { connection: { password: 'upd-link-pass', host: 'h-a' } } },
        { scope: 'DEPLOYMENT', scopeEntityId: w.dep1b },
      ],
    });
    // A client sends back what it read (masked), changing only the host.
    const read = (await call(w.app, owner, 'GET', `${base()}/${id}`)).body;
    const updated = await call(w.app, owner, 'POST', `${base()}/${id}`, {
      connection: { ...read.connection, host: 'h2', login: null },
      links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, connectionOverrides: read.links[0].connectionOverrides }],
    });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body.connection).toEqual({ type: 'mysql', host: 'h2', password: '****', port: 3306, extra: { token: '****', x: 'y' } });
    expect(updated.body.description).toBe('keep me');
    expect(updated.body.links).toEqual([{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, connectionOverrides: { password: '****', host: 'h-a' } }]);
    const clear = (await call(w.app, owner, 'GET', `${base()}/${id}?showSecrets=true`)).body;
    expect(clear.connection.password).toBe('upd-pass-1');
    expect(clear.connection.extra.token).toBe('upd-token-1');
    expect(clear.links[0].connectionOverrides.password).toBe('upd-link-pass');
    // dep1b's link is gone: the object no longer reaches it.
    const resolvedB = (await list(`deploymentId=${w.dep1b}&resolveLinked=true&objectKey=upd_conn`)).body;
    expect(resolvedB.environmentObjects).toEqual([]);
    // A new value replaces; an absent connection leaves the connection alone; description null clears it.
    const second = await call(w.app, owner, 'POST', `${base()}/${id}`, { connection: { password: 'upd-pass-2' }, description: null });
    expect(second.status).toBe(200);
    expect(second.body.description).toBeUndefined();
    const third = await call(w.app, owner, 'POST', `${base()}/${id}`, { autoLinkDeployments: true });
    expect(third.body.autoLinkDeployments).toBe(true);
    expect(third.body.links).toHaveLength(1);
    const after = (await call(w.app, owner, 'GET', `${base()}/${id}?showSecrets=true`)).body;
    expect(after.connection).toEqual({ type: 'mysql', host: 'h2', password: 'upd-pass-2', port: 3306, extra: { token: 'upd-token-1', x: 'y' } });
    expect(after.updatedBy).toEqual({ id: expect.any(String), subjectType: 'USER', username: 'ada' });
  });

  it('updates a secret variable: masked value kept, new value sealed, isSecret can be turned off', async () => {
    const id = await create({ objectKey: 'upd_var', objectType: 'AIRFLOW_VARIABLE', scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, airflowVariable: { value: 'var-secret-1', isSecret: true } });
    const masked = await call(w.app, owner, 'POST', `${base()}/${id}`, { airflowVariable: { value: '****' } });
    expect(masked.body.airflowVariable).toEqual({ value: '****', isSecret: true });
    expect((await call(w.app, owner, 'GET', `${base()}/${id}?showSecrets=true`)).body.airflowVariable).toEqual({ value: 'var-secret-1', isSecret: true });
    const plain = await call(w.app, owner, 'POST', `${base()}/${id}`, { airflowVariable: { isSecret: false } });
    expect(plain.body.airflowVariable).toEqual({ value: 'var-secret-1', isSecret: false });
    expect(plain.body.setFields).toEqual(['value']);
  });

  it('variable overrides: masked when the base is secret, kept when sent back masked, shown when the base is not', async () => {
    const id = await create({
      objectKey: 'var_links', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: w.ws1,
      airflowVariable: { value: 'base-secret', isSecret: true },
      links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, overrides: { airflowVariable: { value: 'override-secret' } } }],
    });
    const read = (await call(w.app, owner, 'GET', `${base()}/${id}`)).body;
    expect(read.links).toEqual([{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, airflowVariableOverrides: { value: '****' } }]);
    const sentBack = await call(w.app, owner, 'POST', `${base()}/${id}`, {
      links: [...read.links.map((l: any) => ({ scope: l.scope, scopeEntityId: l.scopeEntityId, overrides: { airflowVariable: { ...l.airflowVariableOverrides, isSecret: true } } })), { scope: 'DEPLOYMENT', scopeEntityId: w.dep1b }], // eslint-disable-line @typescript-eslint/no-explicit-any
    });
    expect(sentBack.status, JSON.stringify(sentBack.body)).toBe(200);
    const resolvedA = (await list(`deploymentId=${w.dep1a}&resolveLinked=true&showSecrets=true&objectKey=var_links`)).body.environmentObjects;
    expect(resolvedA[0].airflowVariable).toEqual({ value: 'override-secret', isSecret: true });
    const maskedA = (await list(`deploymentId=${w.dep1a}&resolveLinked=true&objectKey=var_links`)).body.environmentObjects;
    expect(maskedA[0].airflowVariable).toEqual({ value: '****', isSecret: true });
    await call(w.app, owner, 'POST', `${base()}/${id}`, { airflowVariable: { isSecret: false } });
    const plain = (await call(w.app, owner, 'GET', `${base()}/${id}`)).body;
    expect(plain.links[0].airflowVariableOverrides).toEqual({ value: 'override-secret' });
    expect((await list(`deploymentId=${w.dep1a}&resolveLinked=true&objectKey=var_links`)).body.environmentObjects[0].airflowVariable).toEqual({ value: 'override-secret', isSecret: false });
  });

  it("refuses an override isSecret that differs from its variable's (it would be shown in clear), naming the field; the same value is accepted", async () => {
    const body = (isSecret: boolean, overrideSecret: boolean) => ({
      objectKey: `ovr_secret_${isSecret}_${overrideSecret}`, objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: w.ws1,
      airflowVariable: { value: 'plain', isSecret },
      links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, overrides: { airflowVariable: { value: 'OVR-SECRET-VALUE', isSecret: overrideSecret } } }],
    });
    const refused = await post(body(false, true));
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/links\[0\]\.overrides\.airflowVariable\.isSecret is true but the variable's isSecret is false/);
    expect(JSON.stringify(refused.body)).not.toContain('OVR-SECRET-VALUE');
    expect((await list(`workspaceId=${w.ws1}&objectKey=ovr_secret_false_true`)).body.totalCount).toBe(0);
    expect((await post(body(false, false))).status).toBe(200);
    expect((await post(body(true, true))).status).toBe(200);

    // On update too, against the variable's isSecret as the update leaves it, in either spelling of the override.
    const id = await create({ objectKey: 'ovr_secret_upd', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: w.ws1, airflowVariable: { value: 'v' } });
    const link = (isSecret: boolean) => [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, airflowVariableOverrides: { value: 'OVR', isSecret } }];
    const upd = await call(w.app, owner, 'POST', `${base()}/${id}`, { links: link(true) });
    expect(upd.status).toBe(400);
    expect(upd.body.message).toMatch(/links\[0\]\.airflowVariableOverrides\.isSecret is true/);
    expect((await call(w.app, owner, 'POST', `${base()}/${id}`, { airflowVariable: { isSecret: true }, links: link(true) })).status).toBe(200);
    const read = (await call(w.app, owner, 'GET', `${base()}/${id}`)).body;
    expect(read.links[0].airflowVariableOverrides).toEqual({ value: '****' });
  });

  it('refuses the mask "****" for a secret field that holds nothing to keep (it would be stored as the value), naming the field', async () => {
    const created = await post({
      objectKey: 'mask_create', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1,
      connection: { type: 'postgres', password: '****', extra: { api_token: '****', region: '****' } },
    });
    expect(created.status).toBe(400);
    expect(created.body.message).toMatch(/connection\.password is "\*\*\*\*", the mask of a stored secret, but no value is stored there to keep/);
    expect(created.body.message).toMatch(/connection\.extra\.api_token is/);
    // A member that is not secret is shown in clear, so "****" there is its value.
    expect(created.body.message).not.toMatch(/extra\.region/);

    const id = await create({ objectKey: 'mask_update', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1, connection: { type: 'postgres', password: 'pw-1', extra: { api_token: 'tok-1' } } });
    const masked = (await call(w.app, owner, 'GET', `${base()}/${id}`)).body;
    // Sending back what was read keeps the stored secrets...
    expect((await call(w.app, owner, 'POST', `${base()}/${id}`, { connection: masked.connection })).status).toBe(200);
    // ...but a masked member that was never stored is refused, and nothing changes.
    const added = await call(w.app, owner, 'POST', `${base()}/${id}`, { connection: { ...masked.connection, extra: { ...masked.connection.extra, new_password: '****' } } });
    expect(added.status).toBe(400);
    expect(added.body.message).toMatch(/connection\.extra\.new_password is "\*\*\*\*"/);
    const link = await call(w.app, owner, 'POST', `${base()}/${id}`, { links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, overrides: { connection: { password: '****' } } }] });
    expect(link.status).toBe(400);
    expect(link.body.message).toMatch(/links\[0\]\.overrides\.connection\.password is/);
    const shown = (await call(w.app, owner, 'GET', `${base()}/${id}?showSecrets=true`)).body;
    expect(shown.connection).toMatchObject({ password: 'pw-1', extra: { api_token: 'tok-1' } });
    expect(shown.links ?? []).toEqual([]);
  });

  it('refuses, in an update that keeps the links, an exclusion of a deployment linked explicitly (as exclude-linking does)', async () => {
    const id = await create({
      objectKey: 'excl_linked', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: w.ws1, airflowVariable: { value: 'v' },
      links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a }],
    });
    const res = await call(w.app, owner, 'POST', `${base()}/${id}`, { excludeLinks: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a }] });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/excludeLinks\[0\]\.scopeEntityId is linked explicitly/);
    expect((await call(w.app, owner, 'GET', `${base()}/${id}`)).body.excludeLinks ?? []).toEqual([]);
    const endpoint = await call(w.app, owner, 'POST', `${base()}/${id}/exclude-linking`, { scope: 'DEPLOYMENT', scopeEntityId: w.dep1a });
    expect(endpoint.status).toBe(409);
  });

  it('a link override that sets an extra member to null removes that member for the deployment', async () => {
    await create({
      objectKey: 'ovr_null_member', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: w.ws1,
      connection: { type: 'http', extra: { region: 'eu', timeout: 30 } },
      links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a, overrides: { connection: { extra: { region: null, retries: 2 } } } }],
    });
    const resolved = (await list(`deploymentId=${w.dep1a}&resolveLinked=true&objectKey=ovr_null_member`)).body.environmentObjects[0];
    expect(resolved.connection.extra).toEqual({ timeout: 30, retries: 2 });
    expect(resolved.setFields).toEqual(['type', 'extra.timeout', 'extra.retries']);
  });

  it('deletes with 204, then 404; a missing id is 404 everywhere', async () => {
    const id = await create({ objectKey: 'del_me', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: w.ws1, airflowVariable: { value: 'x' } });
    const del = await call(w.app, owner, 'DELETE', `${base()}/${id}`);
    expect(del.status).toBe(204);
    expect(del.body).toBeUndefined();
    for (const [method, url, body] of [
      ['GET', `${base()}/${id}`],
      ['POST', `${base()}/${id}`, { description: 'x' }],
      ['DELETE', `${base()}/${id}`],
      ['POST', `${base()}/${id}/exclude-linking`, { scope: 'DEPLOYMENT', scopeEntityId: w.dep1a }],
    ] as const) {
      const res = await call(w.app, owner, method, url, body);
      expect(res.status, `${method} ${url}`).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, requestId: res.headers['x-request-id'] });
    }
  });
});

describe('listing', () => {
  let ws: string;
  beforeAll(async () => {
    // A workspace of its own keeps these counts independent of the other tests.
    const { createWorkspaceIn } = await import('../../src/server/admin.js');
    ws = (await createWorkspaceIn(w.pool, { organizationId: w.org, name: 'listing' })).id;
    for (const key of ['k_c', 'k_a', 'k_e', 'k_b', 'k_d']) {
      await create({ objectKey: key, objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws, airflowVariable: { value: key } });
    }
    await create({ objectKey: 'k_a', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: ws, connection: { type: 'http' } });
  });

  it('pages with offset and limit (default 20) and counts the total', async () => {
    const all = (await list(`workspaceId=${ws}`)).body;
    expect(all).toMatchObject({ limit: 20, offset: 0, totalCount: 6 });
    expect(all.environmentObjects.map((o: any) => `${o.objectKey}/${o.objectType}`)).toEqual([ // eslint-disable-line @typescript-eslint/no-explicit-any
      'k_a/AIRFLOW_VARIABLE', 'k_a/CONNECTION', 'k_b/AIRFLOW_VARIABLE', 'k_c/AIRFLOW_VARIABLE', 'k_d/AIRFLOW_VARIABLE', 'k_e/AIRFLOW_VARIABLE',
    ]);
    const page = (await list(`workspaceId=${ws}&offset=2&limit=2`)).body;
    expect(page).toMatchObject({ limit: 2, offset: 2, totalCount: 6 });
    expect(page.environmentObjects.map((o: any) => o.objectKey)).toEqual(['k_b', 'k_c']); // eslint-disable-line @typescript-eslint/no-explicit-any
    const past = (await list(`workspaceId=${ws}&offset=50`)).body;
    expect(past).toMatchObject({ environmentObjects: [], totalCount: 6, offset: 50 });
  });

  it('filters by objectType and objectKey, sorts by the allowed fields', async () => {
    const vars = (await list(`workspaceId=${ws}&objectType=CONNECTION`)).body;
    expect(vars.environmentObjects.map((o: any) => o.objectKey)).toEqual(['k_a']); // eslint-disable-line @typescript-eslint/no-explicit-any
    const key = (await list(`workspaceId=${ws}&objectKey=k_a`)).body;
    expect(key.totalCount).toBe(2);
    const desc = (await list(`workspaceId=${ws}&objectType=AIRFLOW_VARIABLE&sorts=objectKey:desc`)).body;
    expect(desc.environmentObjects.map((o: any) => o.objectKey)).toEqual(['k_e', 'k_d', 'k_c', 'k_b', 'k_a']); // eslint-disable-line @typescript-eslint/no-explicit-any
    const created = (await list(`workspaceId=${ws}&sorts=createdAt:asc&sorts=objectType:desc&limit=1`)).body;
    expect(created.environmentObjects[0].objectKey).toBe('k_c');
  });

  it('rejects bad list queries with 400 and fieldErrors', async () => {
    const cases: Array<[string, string]> = [
      [`workspaceId=${ws}&deploymentId=${w.dep1a}`, 'deploymentId'],
      ['', 'workspaceId'],
      [`workspaceId=${ws}&limit=0`, 'limit'],
      [`workspaceId=${ws}&limit=1001`, 'limit'],
      [`workspaceId=${ws}&limit=ten`, 'limit'],
      [`workspaceId=${ws}&offset=-1`, 'offset'],
      [`workspaceId=${ws}&sorts=host:asc`, 'sorts'],
      [`workspaceId=${ws}&sorts=objectKey:sideways`, 'sorts'],
      [`workspaceId=${ws}&objectType=POOL`, 'objectType'],
      [`workspaceId=${ws}&showSecrets=yes`, 'showSecrets'],
    ];
    for (const [query, field] of cases) {
      const res = await list(query);
      expect(res.status, query).toBe(400);
      expect(res.body.fieldErrors.map((e: any) => e.field), query).toContain(field); // eslint-disable-line @typescript-eslint/no-explicit-any
    }
    const both = await list(`workspaceId=${ws}&deploymentId=${w.dep1a}`);
    // Each field error reads as a sentence after its field's name, as the message joins them.
    expect(both.body.message).toBe('invalid query: deploymentId must not be given with workspaceId (the two are mutually exclusive: give one of them)');
    const sideways = await list(`workspaceId=${ws}&sorts=objectKey:sideways`);
    expect(sideways.body.message).toBe('invalid query: sorts must be <field>:asc|desc with field one of objectKey, objectType, createdAt, updatedAt (got "objectKey:sideways")');
    const neither = await list('limit=5');
    expect(neither.status).toBe(400);
    expect(neither.body.message).toBe('invalid query: workspaceId is required unless deploymentId is given (give one of them)');
    const unknown = await list(`workspaceId=${ws}&whatever=1`);
    expect(unknown.status).toBe(200);
  });

  it('answers 404 for an unknown workspace or deployment', async () => {
    expect((await list('workspaceId=cnosuchworkspace000000000')).status).toBe(404);
    expect((await list('deploymentId=cnosuchdeployment00000000')).status).toBe(404);
  });
});

describe('resolution (resolveLinked=true)', () => {
  let ws: string;
  let d1: string;
  let d2: string;
  let d3: string;
  let autoId: string;
  const resolved = async (dep: string, extra = '') => {
    const res = await list(`deploymentId=${dep}&resolveLinked=true&showSecrets=true&limit=1000${extra}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.environmentObjects as any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  beforeAll(async () => {
    const { createWorkspaceIn, createDeploymentIn } = await import('../../src/server/admin.js');
    ws = (await createWorkspaceIn(w.pool, { organizationId: w.org, name: 'resolution' })).id;
    d1 = (await createDeploymentIn(w.pool, { workspaceId: ws, name: 'r1' })).id;
    d2 = (await createDeploymentIn(w.pool, { workspaceId: ws, name: 'r2' })).id;
    await create({
      objectKey: 'shared_db', objectType: 'CONNECTION', scope: 'WORKSPACE', scopeEntityId: ws,
      connection: { type: 'postgres', host: 'base-host', login: 'base-login', password: 'base-pass', port: 5432, extra: { sslmode: 'disable', region: 'eu', secret_key: 'base-secret' } },
      links: [
        { scope: 'DEPLOYMENT', scopeEntityId: d1, overrides: { connection: { host: 'd1-host', password: 'd1-pass', extra: { sslmode: 'require', new_member: 'n' } } } },
        { scope: 'DEPLOYMENT', scopeEntityId: d2 },
      ],
    });
    await create({ objectKey: 'beaten', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws, airflowVariable: { value: 'from-workspace' }, links: [{ scope: 'DEPLOYMENT', scopeEntityId: d1 }, { scope: 'DEPLOYMENT', scopeEntityId: d2 }] });
    await create({ objectKey: 'beaten', objectType: 'AIRFLOW_VARIABLE', scope: 'DEPLOYMENT', scopeEntityId: d1, airflowVariable: { value: 'from-deployment' } });
    await create({ objectKey: 'var_override', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws, airflowVariable: { value: 'base' }, links: [{ scope: 'DEPLOYMENT', scopeEntityId: d2, overrides: { airflowVariable: { value: 'for-d2' } } }] });
    autoId = await create({ objectKey: 'everywhere', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws, airflowVariable: { value: 'auto' }, autoLinkDeployments: true, excludeLinks: [{ scope: 'DEPLOYMENT', scopeEntityId: d2 }] });
    await create({ objectKey: 'not_linked', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws, airflowVariable: { value: 'nowhere' } });
    d3 = (await createDeploymentIn(w.pool, { workspaceId: ws, name: 'r3-created-later' })).id;
  });

  it('a deployment object beats a workspace object with the same key and type', async () => {
    const rows = await resolved(d1);
    const beaten = rows.filter((r) => r.objectKey === 'beaten');
    expect(beaten).toHaveLength(1);
    expect(beaten[0]).toMatchObject({ scope: 'DEPLOYMENT', scopeEntityId: d1, airflowVariable: { value: 'from-deployment', isSecret: false } });
    expect(beaten[0].id).toMatch(/^[a-z0-9]{25}$/);
    expect(beaten[0].sourceScope).toBeUndefined();
    expect(byKey(await resolved(d2), 'beaten').airflowVariable.value).toBe('from-workspace');
  });

  it('overrides replace fields and merge extra member by member; rows carry the source and no id', async () => {
    const row = byKey(await resolved(d1), 'shared_db');
    expect(row.id).toBeUndefined();
    expect(row).toMatchObject({ scope: 'DEPLOYMENT', scopeEntityId: d1, sourceScope: 'WORKSPACE', sourceScopeEntityId: ws });
    expect(row.links).toBeUndefined();
    expect(row.connection).toEqual({
      type: 'postgres', host: 'd1-host', login: 'base-login', password: 'd1-pass', port: 5432,
      extra: { sslmode: 'require', region: 'eu', secret_key: 'base-secret', new_member: 'n' },
    });
    expect(row.setFields).toEqual(['type', 'host', 'login', 'password', 'port', 'extra.sslmode', 'extra.region', 'extra.secret_key', 'extra.new_member']);
    const plain = byKey(await resolved(d2), 'shared_db');
    expect(plain.connection).toEqual({ type: 'postgres', host: 'base-host', login: 'base-login', password: 'base-pass', port: 5432, extra: { sslmode: 'disable', region: 'eu', secret_key: 'base-secret' } });
    expect(byKey(await resolved(d2), 'var_override').airflowVariable.value).toBe('for-d2');
  });

  it('masks secrets in resolved rows, including values from overrides', async () => {
    const res = await list(`deploymentId=${d1}&resolveLinked=true&objectKey=shared_db`);
    const row = res.body.environmentObjects[0];
    expect(row.connection).toEqual({ type: 'postgres', host: 'd1-host', login: 'base-login', password: '****', port: 5432, extra: { sslmode: 'require', region: 'eu', secret_key: '****', new_member: 'n' } });
  });

  it('auto-link reaches current and future deployments, except excluded ones; explicit links reach only their deployment', async () => {
    expect(byKey(await resolved(d1), 'everywhere').airflowVariable.value).toBe('auto');
    expect(byKey(await resolved(d2), 'everywhere')).toBeUndefined();
    expect(byKey(await resolved(d3), 'everywhere').airflowVariable.value).toBe('auto');
    expect(byKey(await resolved(d3), 'shared_db')).toBeUndefined();
    expect(byKey(await resolved(d1), 'not_linked')).toBeUndefined();
    expect(byKey(await resolved(d1), 'var_override')).toBeUndefined();
    expect((await resolved(d3)).map((r) => r.objectKey)).toEqual(['everywhere']);
  });

  it('exclude-linking stops an auto-linked object reaching a deployment (204) and shows in excludeLinks', async () => {
    const res = await call(w.app, owner, 'POST', `${base()}/${autoId}/exclude-linking`, { scope: 'DEPLOYMENT', scopeEntityId: d3 });
    expect(res.status).toBe(204);
    expect(byKey(await resolved(d3), 'everywhere')).toBeUndefined();
    const obj = (await call(w.app, owner, 'GET', `${base()}/${autoId}`)).body;
    expect(obj.excludeLinks).toEqual([{ scope: 'DEPLOYMENT', scopeEntityId: d2 }, { scope: 'DEPLOYMENT', scopeEntityId: d3 }]);
    // Replacing excludeLinks through update brings d2 back.
    await call(w.app, owner, 'POST', `${base()}/${autoId}`, { excludeLinks: [{ scope: 'DEPLOYMENT', scopeEntityId: d3 }] });
    expect(byKey(await resolved(d2), 'everywhere').airflowVariable.value).toBe('auto');
    const wrong = await call(w.app, owner, 'POST', `${base()}/${autoId}/exclude-linking`, { scope: 'DEPLOYMENT', scopeEntityId: w.dep2a });
    expect(wrong.status).toBe(400);
    expect(wrong.body.fieldErrors[0].field).toBe('scopeEntityId');
  });

  it('without resolveLinked a deployment lists only its own objects; for a workspace resolveLinked changes nothing', async () => {
    const own = (await list(`deploymentId=${d1}`)).body.environmentObjects;
    expect(own.map((o: any) => o.objectKey)).toEqual(['beaten']); // eslint-disable-line @typescript-eslint/no-explicit-any
    const a = (await list(`workspaceId=${ws}&resolveLinked=true`)).body;
    const b = (await list(`workspaceId=${ws}`)).body;
    expect(a).toEqual(b);
    expect(a.totalCount).toBe(5);
  });

  it('pages and counts resolved rows, filters them by type and key', async () => {
    const all = await resolved(d1);
    expect(all.map((r) => r.objectKey)).toEqual(['beaten', 'everywhere', 'shared_db']);
    const page = (await list(`deploymentId=${d1}&resolveLinked=true&limit=1&offset=1`)).body;
    expect(page).toMatchObject({ totalCount: 3, limit: 1, offset: 1 });
    expect(page.environmentObjects[0].objectKey).toBe('everywhere');
    const conns = (await list(`deploymentId=${d1}&resolveLinked=true&objectType=CONNECTION`)).body;
    expect(conns.environmentObjects.map((r: any) => r.objectKey)).toEqual(['shared_db']); // eslint-disable-line @typescript-eslint/no-explicit-any
  });

  it('rejects links to deployments outside the workspace and links on deployment objects', async () => {
    const outside = await post({ objectKey: 'bad_link', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws, airflowVariable: { value: 'v' }, links: [{ scope: 'DEPLOYMENT', scopeEntityId: w.dep1a }] });
    expect(outside.status).toBe(400);
    expect(outside.body.fieldErrors).toEqual([{ field: 'links[0].scopeEntityId', message: expect.stringContaining(ws) }]);
    const onDep = await post({ objectKey: 'bad_link', objectType: 'AIRFLOW_VARIABLE', scope: 'DEPLOYMENT', scopeEntityId: d1, airflowVariable: { value: 'v' }, autoLinkDeployments: true });
    expect(onDep.status).toBe(400);
    expect(onDep.body.fieldErrors[0].field).toBe('autoLinkDeployments');
    const wrongOverride = await post({ objectKey: 'bad_link', objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: ws, airflowVariable: { value: 'v' }, links: [{ scope: 'DEPLOYMENT', scopeEntityId: d1, overrides: { connection: { host: 'x' } } }] });
    expect(wrongOverride.status).toBe(400);
    expect((await list(`workspaceId=${ws}&objectKey=bad_link`)).body.totalCount).toBe(0);
  });
});

describe('showSecrets policy', () => {
  it('answers 403 with the exact text when the organization does not allow it', async () => {
    const off = await makeWorld({ secretsFetching: false });
    try {
      const res = await call(off.app, off.tokens.ORGANIZATION_OWNER, 'GET', `/v1/organizations/${off.org}/environment-objects?workspaceId=${off.ws1}&showSecrets=true`);
      expect(res.status).toBe(403);
      expect(res.body.message).toBe(`showSecrets on organization with id ${off.org} is not allowed`);
      const masked = await call(off.app, off.tokens.ORGANIZATION_OWNER, 'GET', `/v1/organizations/${off.org}/environment-objects?workspaceId=${off.ws1}`);
      expect(masked.status).toBe(200);
      // Turning the setting on through the API (owner only) allows it.
      const set = await call(off.app, off.tokens.ORGANIZATION_OWNER, 'POST', `/v1/organizations/${off.org}`, { environmentSecretsFetchingEnabled: true });
      expect(set.body.environmentSecretsFetchingEnabled).toBe(true);
      const now = await call(off.app, off.tokens.ORGANIZATION_OWNER, 'GET', `/v1/organizations/${off.org}/environment-objects?workspaceId=${off.ws1}&showSecrets=true`);
      expect(now.status).toBe(200);
    } finally {
      await off.close();
    }
  });

  it('needs WORKSPACE_AUTHOR or the deployment token; a member gets 403 naming the role', async () => {
    const res = await list(`workspaceId=${w.ws1}&showSecrets=true`, w.tokens.WORKSPACE_MEMBER);
    expect(res.status).toBe(403);
    expect(res.body.message).toContain('WORKSPACE_AUTHOR');
    expect((await list(`workspaceId=${w.ws1}&showSecrets=true`, w.tokens.WORKSPACE_AUTHOR)).status).toBe(200);
    expect((await list(`deploymentId=${w.dep1a}&resolveLinked=true&showSecrets=true`, w.tokens.DEPLOYMENT_ADMIN)).status).toBe(200);
  });
});

describe('integers beyond 2^53 in extras', () => {
  // Raw JSON text both ways: a JS number would round each of these (…901 becomes …680000).
  const raw = async (method: 'GET' | 'POST', url: string, text?: string) => {
    const res = await w.app.inject({
      method, url, headers: { authorization: `Bearer ${owner}`, ...(text !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(text !== undefined ? { payload: text } : {}),
    });
    return { status: res.statusCode, text: res.body };
  };

  it('are stored, sealed when secret, kept through a masked update and served with every digit', async () => {
    const created = await raw('POST', base(), `{"objectKey": "big_ints", "objectType": "CONNECTION", "scope": "WORKSPACE", "scopeEntityId": "${w.ws1}",
      "connection": {"type": "http", "extra": {"account": 123456789012345678901, "token": 18446744073709551617, "n": 1}},
      "links": [{"scope": "DEPLOYMENT", "scopeEntityId": "${w.dep1a}", "overrides": {"connection": {"extra": {"shard": -36893488147419103233}}}}]}`);
    expect(created.status, created.text).toBe(200);
    const id = (JSON.parse(created.text) as { id: string }).id;

    const masked = await raw('GET', `${base()}/${id}`);
    expect(masked.text).toContain('"extra":{"account":123456789012345678901,"token":"****","n":1}');
    expect(masked.text).toContain('"connectionOverrides":{"extra":{"shard":-36893488147419103233}}');
    // A client sends back the masked secret and changes a public member: the sealed int is kept, digit for digit.
    const updated = await raw('POST', `${base()}/${id}`, '{"connection": {"extra": {"account": 123456789012345678902, "token": "****", "n": 1}}}');
    expect(updated.status, updated.text).toBe(200);
    expect(updated.text).toContain('"account":123456789012345678902');
    const clear = await raw('GET', `${base()}/${id}?showSecrets=true`);
    expect(clear.text).toContain('"extra":{"account":123456789012345678902,"token":18446744073709551617,"n":1}');

    // The resolved list, computed and then from the cache, merges the link's member in.
    for (let i = 0; i < 2; i++) {
      const resolved = await raw('GET', `${base()}?deploymentId=${w.dep1a}&resolveLinked=true&objectKey=big_ints&showSecrets=true`);
      expect(resolved.text).toContain('"extra":{"account":123456789012345678902,"token":18446744073709551617,"n":1,"shard":-36893488147419103233}');
    }
  });

  it('are refused where Python could not read them or a field wants no number; the parser refuses what it did', async () => {
    expect((await raw('POST', base(), `{"__proto__": {"x": 123456789012345678901}, "objectKey": "p"}`)).status).toBe(400);
    expect((await raw('POST', base(), '')).status).toBe(400);
    expect((await raw('POST', base(), '{"objectKey": 123456789012345678901')).status).toBe(400);
    // A big int where the schema wants a string or a port is a 400 naming the field, not a server error.
    const port = await raw('POST', base(), `{"objectKey": "p", "objectType": "CONNECTION", "scope": "WORKSPACE", "scopeEntityId": "${w.ws1}", "connection": {"type": "http", "port": 123456789012345678901}}`);
    expect([port.status, port.text]).toEqual([400, expect.stringContaining('port')]);
    const key = await raw('POST', base(), `{"objectKey": 123456789012345678901, "objectType": "CONNECTION", "scope": "WORKSPACE", "scopeEntityId": "${w.ws1}", "connection": {"type": "http"}}`);
    expect([key.status, key.text]).toEqual([400, expect.stringContaining('objectKey')]);
    // An int longer than Python's json.loads reads: refused before anything is stored; 4300 digits are taken.
    const body = (digits: number) => `{"objectKey": "long_${digits}", "objectType": "CONNECTION", "scope": "WORKSPACE", "scopeEntityId": "${w.ws1}", "connection": {"type": "http", "extra": {"n": [1${'0'.repeat(digits - 1)}]}}}`;
    const refused = await raw('POST', base(), body(4301));
    expect([refused.status, refused.text]).toEqual([400, expect.stringContaining('more than 4300 digits')]);
    expect((await raw('GET', `${base()}?workspaceId=${w.ws1}&objectKey=long_4301`)).text).toContain('"totalCount":0');
    const taken = await raw('POST', base(), body(4300));
    expect(taken.status, taken.text).toBe(200);
    const id = (JSON.parse(taken.text) as { id: string }).id;
    expect((await raw('GET', `${base()}/${id}`)).text).toContain(`"n":[1${'0'.repeat(4299)}]`);
    // Too deep is named as such, long int or not; a byte order mark is read past, as Fastify's own parser does.
    const deep = await raw('POST', base(), `{"objectKey": "deep", "x": ${'['.repeat(3000)}12345678901234567890${']'.repeat(3000)}}`);
    expect([deep.status, deep.text]).toEqual([400, expect.stringContaining('more than 64 levels deep')]);
    const bom = await raw('POST', base(), `\ufeff{"objectKey": "bom_big", "objectType": "CONNECTION", "scope": "WORKSPACE", "scopeEntityId": "${w.ws1}", "connection": {"type": "http", "extra": {"n": ${'1'.repeat(21)}}}}`);
    expect(bom.status, bom.text).toBe(200);
    expect((await raw('GET', `${base()}/${(JSON.parse(bom.text) as { id: string }).id}`)).text).toContain(`"n":${'1'.repeat(21)}`);
    // The exact reader serves the authenticated routes only: elsewhere Fastify's own parser reads the body (and the
    // route's answer stands), and without a token the request is refused before its body is read.
    const stranger = await w.app.inject({ method: 'POST', url: base(), headers: { 'content-type': 'application/json' }, payload: body(4301) });
    expect(stranger.statusCode).toBe(401);
    const nowhere = await w.app.inject({ method: 'POST', url: '/v1/nowhere', headers: { 'content-type': 'application/json' }, payload: body(4301) });
    expect(nowhere.statusCode).toBe(404);
  });
});
