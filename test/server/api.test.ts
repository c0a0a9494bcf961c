import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentIn, createTokenIn, createWorkspaceIn } from '../../src/server/admin.js';
import { call, makeWorld, type World } from './helpers.js';

let w: World;
beforeAll(async () => {
  w = await makeWorld();
});
afterAll(async () => {
  await w?.close();
});

describe('identity and organizations', () => {
  it('GET /v1/health needs no token', async () => {
    const res = await call(w.app, undefined, 'GET', '/v1/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toMatch(/^req_/);
  });

  it('GET /v1/users/self describes a user token and a service key', async () => {
    const user = await call(w.app, w.tokens.ORGANIZATION_OWNER, 'GET', '/v1/users/self');
    expect(user.body).toEqual({
      id: expect.stringMatching(/^[a-z0-9]{25}$/), username: 'ada', fullName: 'Ada L', subjectType: 'USER', organizationId: w.org,
      organizationRole: 'ORGANIZATION_OWNER', workspaceRoles: [], deploymentRoles: [],
    });
    const key = await call(w.app, w.tokens.WORKSPACE_OWNER, 'GET', '/v1/users/self');
    expect(key.body).toMatchObject({
      username: 'ws-owner', subjectType: 'SERVICEKEY', organizationId: w.org, organizationRole: 'ORGANIZATION_MEMBER',
      workspaceRoles: [{ workspaceId: w.ws1, role: 'WORKSPACE_OWNER' }], deploymentRoles: [],
    });
    const dep = await call(w.app, w.tokens.DEPLOYMENT_ADMIN, 'GET', '/v1/users/self');
    expect(dep.body.deploymentRoles).toEqual([{ deploymentId: w.dep1a, role: 'DEPLOYMENT_ADMIN' }]);
    expect(dep.body.organizationRole).toBeUndefined();
  });

  it('lists the caller\'s organization and reads it with its setting', async () => {
    const list = await call(w.app, w.tokens.WORKSPACE_MEMBER, 'GET', '/v1/organizations');
    expect(list.body).toEqual({
      organizations: [{ id: w.org, name: 'Acme', createdAt: expect.stringMatching(/Z$/), updatedAt: expect.stringMatching(/Z$/) }],
      limit: 20, offset: 0, totalCount: 1,
    });
    const one = await call(w.app, w.tokens.WORKSPACE_MEMBER, 'GET', `/v1/organizations/${w.org}`);
    expect(one.body).toMatchObject({ id: w.org, name: 'Acme', environmentSecretsFetchingEnabled: true });
    expect((await call(w.app, w.tokens.ORGANIZATION_OWNER, 'GET', '/v1/organizations?offset=1')).body).toMatchObject({ organizations: [], totalCount: 1 });
  });

  it('updates the organization (owner only), validating the body', async () => {
    const res = await call(w.app, w.tokens.ORGANIZATION_OWNER, 'POST', `/v1/organizations/${w.org}`, { name: 'Acme Corp', environmentSecretsFetchingEnabled: false });
    expect(res.body).toMatchObject({ name: 'Acme Corp', environmentSecretsFetchingEnabled: false });
    const back = await call(w.app, w.tokens.ORGANIZATION_OWNER, 'POST', `/v1/organizations/${w.org}`, { name: 'Acme', environmentSecretsFetchingEnabled: true });
    expect(back.status).toBe(200);
    const bad = await call(w.app, w.tokens.ORGANIZATION_OWNER, 'POST', `/v1/organizations/${w.org}`, { environmentSecretsFetchingEnabled: 'yes', plan: 'pro' });
    expect(bad.status).toBe(400);
    expect(bad.body.fieldErrors.map((e: { field: string }) => e.field).sort()).toEqual(['environmentSecretsFetchingEnabled', 'plan']);
  });

  it('answers 401 for a missing, malformed, unknown or expired token, with the error shape', async () => {
    const url = `/v1/organizations/${w.org}`;
    for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer' }, { authorization: 'Bearer envmgr_unknown' }, { authorization: `Bearer ${w.tokens.EXPIRED}` }]) {
      const res = await w.app.inject({ method: 'GET', url, headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      const body = JSON.parse(res.body);
      expect(body).toEqual({ message: expect.any(String), requestId: res.headers['x-request-id'], statusCode: 401 });
    }
    const expired = await w.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${w.tokens.EXPIRED}` } });
    expect(JSON.parse(expired.body).message).toContain('expired');
  });

  it('answers 404 in the error shape for an unknown route; request ids differ per request', async () => {
    const a = await call(w.app, w.tokens.ORGANIZATION_OWNER, 'GET', '/v1/nope');
    const b = await call(w.app, w.tokens.ORGANIZATION_OWNER, 'GET', '/v1/nope');
    expect(a.status).toBe(404);
    expect(a.body).toEqual({ message: expect.stringContaining('/v1/nope'), requestId: a.headers['x-request-id'], statusCode: 404 });
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });
});

describe('workspaces and deployments', () => {
  let extra: { ws: string; deps: string[] };
  beforeAll(async () => {
    const ws = (await createWorkspaceIn(w.pool, { organizationId: w.org, name: 'aardvark', description: 'sorted first' })).id;
    const deps = [];
    for (const name of ['zeta', 'eta', 'theta']) deps.push((await createDeploymentIn(w.pool, { workspaceId: ws, name, region: 'us-east-1', cloudProvider: 'AWS' })).id);
    extra = { ws, deps };
  });

  it('lists workspaces with filters, sorts and pages', async () => {
    const owner = w.tokens.ORGANIZATION_OWNER;
    const base = `/v1/organizations/${w.org}/workspaces`;
    const all = (await call(w.app, owner, 'GET', base)).body;
    expect(all.workspaces.map((x: { name: string }) => x.name)).toEqual(['aardvark', 'alpha', 'beta']);
    expect(all.totalCount).toBe(3);
    expect(all.workspaces[1]).toEqual({
      id: w.ws1, name: 'alpha', description: 'first', organizationId: w.org, organizationName: 'Acme',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), updatedAt: expect.any(String),
    });
    const desc = (await call(w.app, owner, 'GET', `${base}?sorts=name:desc&limit=2`)).body;
    expect(desc).toMatchObject({ limit: 2, totalCount: 3 });
    expect(desc.workspaces.map((x: { name: string }) => x.name)).toEqual(['beta', 'alpha']);
    const byName = (await call(w.app, owner, 'GET', `${base}?names=beta&names=aardvark`)).body;
    expect(byName.workspaces.map((x: { id: string }) => x.id)).toEqual([extra.ws, w.ws2]);
    const byId = (await call(w.app, owner, 'GET', `${base}?workspaceIds=${w.ws1}`)).body;
    expect(byId.workspaces.map((x: { id: string }) => x.id)).toEqual([w.ws1]);
    const one = await call(w.app, owner, 'GET', `${base}/${w.ws2}`);
    expect(one.body).toMatchObject({ id: w.ws2, name: 'beta' });
    expect(one.body.description).toBeUndefined();
    expect((await call(w.app, owner, 'GET', `${base}/cmissing000000000000000000`)).status).toBe(404);
    expect((await call(w.app, owner, 'GET', `${base}?sorts=description:asc`)).status).toBe(400);
  });

  it('lists deployments with filters and reads one with every field', async () => {
    const owner = w.tokens.ORGANIZATION_OWNER;
    const base = `/v1/organizations/${w.org}/deployments`;
    const inWs = (await call(w.app, owner, 'GET', `${base}?workspaceIds=${extra.ws}`)).body;
    expect(inWs.deployments.map((d: { name: string }) => d.name)).toEqual(['eta', 'theta', 'zeta']);
    const byIds = (await call(w.app, owner, 'GET', `${base}?deploymentIds=${w.dep1a}&deploymentIds=${w.dep2a}`)).body;
    expect(byIds.deployments.map((d: { id: string }) => d.id).sort()).toEqual([w.dep1a, w.dep2a].sort());
    const byName = (await call(w.app, owner, 'GET', `${base}?names=zeta`)).body;
    expect(byName.totalCount).toBe(1);
    const paged = (await call(w.app, owner, 'GET', `${base}?limit=2&offset=4`)).body;
    expect(paged).toMatchObject({ limit: 2, offset: 4, totalCount: 6 });
    expect(paged.deployments).toHaveLength(2);
    const one = (await call(w.app, owner, 'GET', `${base}/${extra.deps[0]}`)).body;
    expect(one).toEqual({
      id: extra.deps[0], name: 'zeta', organizationId: w.org, workspaceId: extra.ws, workspaceName: 'aardvark',
      namespace: expect.stringMatching(/^zeta-/), runtimeVersion: expect.any(String), airflowVersion: expect.any(String),
      status: 'HEALTHY', type: 'STANDARD', region: 'us-east-1', cloudProvider: 'AWS', isDagDeployEnabled: true, isCicdEnforced: false,
      isDevelopmentMode: false, createdAt: expect.stringMatching(/Z$/), updatedAt: expect.stringMatching(/Z$/),
    });
    expect((await call(w.app, owner, 'GET', `${base}/cmissing000000000000000000`)).status).toBe(404);
  });

  it('a DEPLOYMENT_ADMIN token reaches only its own deployment', async () => {
    const { token } = await createTokenIn(w.pool, { organizationId: w.org, name: 'narrow', roles: [{ role: 'DEPLOYMENT_ADMIN', entityId: extra.deps[1] as string }] });
    expect((await call(w.app, token, 'GET', `/v1/organizations/${w.org}/deployments/${extra.deps[0]}`)).status).toBe(403);
    expect((await call(w.app, token, 'GET', `/v1/organizations/${w.org}/deployments/${extra.deps[1]}`)).status).toBe(200);
  });
});
