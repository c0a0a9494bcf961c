import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, makeWorld, type TokenName, type World } from './helpers.js';

/**
 * The authorization matrix of API.md §Roles: every caller × every endpoint × own / other target → status.
 * "own" is workspace ws1 (or its deployment dep1a, the DEPLOYMENT_ADMIN's deployment); "other" is ws2 / dep2a,
 * a workspace no workspace-scoped token holds a role in. Endpoints without a target use the same status twice.
 */
type Who = TokenName | 'NO_TOKEN';
const WHO: Who[] = [
  'ORGANIZATION_OWNER', 'ORGANIZATION_MEMBER', 'WORKSPACE_OWNER', 'WORKSPACE_OPERATOR', 'WORKSPACE_AUTHOR', 'WORKSPACE_MEMBER',
  'DEPLOYMENT_ADMIN', 'OTHER_ORG_OWNER', 'EXPIRED', 'NO_TOKEN',
];

type Pair = readonly [own: number, other: number];
const ALL = (s: number): Pair => [s, s];

// Rows shared by many endpoints.
const open200: Record<Who, Pair> = {
  ORGANIZATION_OWNER: ALL(200), ORGANIZATION_MEMBER: ALL(200), WORKSPACE_OWNER: ALL(200), WORKSPACE_OPERATOR: ALL(200),
  WORKSPACE_AUTHOR: ALL(200), WORKSPACE_MEMBER: ALL(200), DEPLOYMENT_ADMIN: ALL(200), OTHER_ORG_OWNER: ALL(200), EXPIRED: ALL(401), NO_TOKEN: ALL(401),
};
const orgScoped200: Record<Who, Pair> = { ...open200, OTHER_ORG_OWNER: ALL(403) };
const readWorkspace: Record<Who, Pair> = {
  ORGANIZATION_OWNER: ALL(200), ORGANIZATION_MEMBER: ALL(403), WORKSPACE_OWNER: [200, 403], WORKSPACE_OPERATOR: [200, 403],
  WORKSPACE_AUTHOR: [200, 403], WORKSPACE_MEMBER: [200, 403], DEPLOYMENT_ADMIN: ALL(403), OTHER_ORG_OWNER: ALL(403), EXPIRED: ALL(401), NO_TOKEN: ALL(401),
};
const readDeployment: Record<Who, Pair> = { ...readWorkspace, DEPLOYMENT_ADMIN: [200, 403] };
const secretsWorkspace: Record<Who, Pair> = { ...readWorkspace, WORKSPACE_MEMBER: ALL(403) };
const secretsDeployment: Record<Who, Pair> = { ...secretsWorkspace, DEPLOYMENT_ADMIN: [200, 403] };
const write = (ok: number): Record<Who, Pair> => ({
  ORGANIZATION_OWNER: ALL(ok), ORGANIZATION_MEMBER: ALL(403), WORKSPACE_OWNER: [ok, 403], WORKSPACE_OPERATOR: [ok, 403],
  WORKSPACE_AUTHOR: ALL(403), WORKSPACE_MEMBER: ALL(403), DEPLOYMENT_ADMIN: ALL(403), OTHER_ORG_OWNER: ALL(403), EXPIRED: ALL(401), NO_TOKEN: ALL(401),
});

interface Target {
  ws: string;
  dep: string;
  wsObject: string;
  depObject: string;
}

interface Endpoint {
  name: string;
  expect: Record<Who, Pair>;
  request(w: World, t: Target, n: number): [method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown];
}

const o = (w: World) => `/v1/organizations/${w.org}`;
const ENDPOINTS: Endpoint[] = [
  { name: 'GET /v1/health', expect: { ...open200, EXPIRED: ALL(200), NO_TOKEN: ALL(200) }, request: () => ['GET', '/v1/health'] },
  { name: 'GET /v1/users/self', expect: open200, request: () => ['GET', '/v1/users/self'] },
  { name: 'GET /v1/organizations', expect: open200, request: () => ['GET', '/v1/organizations'] },
  { name: 'GET organization', expect: orgScoped200, request: (w) => ['GET', o(w)] },
  {
    name: 'POST organization',
    expect: { ...write(200), WORKSPACE_OWNER: ALL(403), WORKSPACE_OPERATOR: ALL(403) },
    request: (w) => ['POST', o(w), { name: 'Acme' }],
  },
  { name: 'GET workspaces', expect: orgScoped200, request: (w) => ['GET', `${o(w)}/workspaces`] },
  { name: 'GET workspace', expect: readWorkspace, request: (w, t) => ['GET', `${o(w)}/workspaces/${t.ws}`] },
  { name: 'GET deployments', expect: orgScoped200, request: (w) => ['GET', `${o(w)}/deployments`] },
  { name: 'GET deployment', expect: readDeployment, request: (w, t) => ['GET', `${o(w)}/deployments/${t.dep}`] },
  { name: 'list objects of workspace', expect: readWorkspace, request: (w, t) => ['GET', `${o(w)}/environment-objects?workspaceId=${t.ws}`] },
  { name: 'list objects of deployment', expect: readDeployment, request: (w, t) => ['GET', `${o(w)}/environment-objects?deploymentId=${t.dep}`] },
  { name: 'list resolved objects', expect: readDeployment, request: (w, t) => ['GET', `${o(w)}/environment-objects?deploymentId=${t.dep}&resolveLinked=true`] },
  { name: 'list workspace objects with secrets', expect: secretsWorkspace, request: (w, t) => ['GET', `${o(w)}/environment-objects?workspaceId=${t.ws}&showSecrets=true`] },
  { name: 'list resolved objects with secrets', expect: secretsDeployment, request: (w, t) => ['GET', `${o(w)}/environment-objects?deploymentId=${t.dep}&resolveLinked=true&showSecrets=true`] },
  { name: 'GET workspace object', expect: readWorkspace, request: (w, t) => ['GET', `${o(w)}/environment-objects/${t.wsObject}`] },
  { name: 'GET deployment object', expect: readDeployment, request: (w, t) => ['GET', `${o(w)}/environment-objects/${t.depObject}`] },
  { name: 'GET workspace object with secrets', expect: secretsWorkspace, request: (w, t) => ['GET', `${o(w)}/environment-objects/${t.wsObject}?showSecrets=true`] },
  { name: 'GET deployment object with secrets', expect: secretsDeployment, request: (w, t) => ['GET', `${o(w)}/environment-objects/${t.depObject}?showSecrets=true`] },
  {
    name: 'create workspace object',
    expect: write(200),
    request: (w, t, n) => ['POST', `${o(w)}/environment-objects`, { objectKey: `new_${n}`, objectType: 'AIRFLOW_VARIABLE', scope: 'WORKSPACE', scopeEntityId: t.ws, airflowVariable: { value: 'v' } }],
  },
  {
    name: 'create deployment object',
    expect: write(200),
    request: (w, t, n) => ['POST', `${o(w)}/environment-objects`, { objectKey: `new_${n}`, objectType: 'AIRFLOW_VARIABLE', scope: 'DEPLOYMENT', scopeEntityId: t.dep, airflowVariable: { value: 'v' } }],
  },
  { name: 'update workspace object', expect: write(200), request: (w, t) => ['POST', `${o(w)}/environment-objects/${t.wsObject}`, { description: 'changed' }] },
  { name: 'update deployment object', expect: write(200), request: (w, t) => ['POST', `${o(w)}/environment-objects/${t.depObject}`, { description: 'changed' }] },
  {
    name: 'link and override',
    expect: write(200),
    request: (w, t) => ['POST', `${o(w)}/environment-objects/${t.wsObject}`, { links: [{ scope: 'DEPLOYMENT', scopeEntityId: t.dep, overrides: { airflowVariable: { value: 'o' } } }] }],
  },
  { name: 'exclude-linking', expect: write(204), request: (w, t) => ['POST', `${o(w)}/environment-objects/${t.wsObject}/exclude-linking`, { scope: 'DEPLOYMENT', scopeEntityId: t.dep }] },
  { name: 'delete workspace object', expect: write(204), request: (w, t) => ['DELETE', `${o(w)}/environment-objects/${t.wsObject}`] },
  { name: 'delete deployment object', expect: write(204), request: (w, t) => ['DELETE', `${o(w)}/environment-objects/${t.depObject}`] },
];

let w: World;
beforeAll(async () => {
  w = await makeWorld();
});
afterAll(async () => {
  await w?.close();
});

async function freshObjects(ws: string, dep: string, n: number): Promise<{ wsObject: string; depObject: string }> {
  const mk = async (scope: string, id: string) => {
    const res = await call(w.app, w.tokens.ORGANIZATION_OWNER, 'POST', `${o(w)}/environment-objects`, {
      objectKey: `fixture_${scope}_${n}`, objectType: 'AIRFLOW_VARIABLE', scope, scopeEntityId: id, airflowVariable: { value: 's', isSecret: true },
      ...(scope === 'WORKSPACE' ? { autoLinkDeployments: true } : {}),
    });
    expect(res.status).toBe(200);
    return res.body.id as string;
  };
  return { wsObject: await mk('WORKSPACE', ws), depObject: await mk('DEPLOYMENT', dep) };
}

describe('authorization matrix', () => {
  it('the table covers every caller for every endpoint', () => {
    for (const e of ENDPOINTS) expect(Object.keys(e.expect).sort(), e.name).toEqual([...WHO].sort());
  });

  it('answers every caller × endpoint × own/other as the table says', async () => {
    const failures: string[] = [];
    let n = 0;
    for (const endpoint of ENDPOINTS) {
      for (const who of WHO) {
        for (const [side, ws, dep] of [['own', w.ws1, w.dep1a], ['other', w.ws2, w.dep2a]] as const) {
          n += 1;
          const target: Target = { ws, dep, ...(await freshObjects(ws, dep, n)) };
          const [method, url, body] = endpoint.request(w, target, n);
          const token = who === 'NO_TOKEN' ? undefined : w.tokens[who];
          const res = await call(w.app, token, method, url, body);
          const expected = endpoint.expect[who][side === 'own' ? 0 : 1];
          if (res.status !== expected) failures.push(`${endpoint.name} as ${who} on ${side}: ${res.status} (expected ${expected}) ${res.body?.message ?? ''}`);
          if (res.status === 403 && !/ORGANIZATION_|WORKSPACE_|DEPLOYMENT_ADMIN|showSecrets on organization/.test(res.body.message)) {
            failures.push(`${endpoint.name} as ${who} on ${side}: 403 without naming the role: ${res.body.message}`);
          }
          if (res.status >= 400) {
            expect(res.body).toMatchObject({ statusCode: res.status, requestId: res.headers['x-request-id'], message: expect.any(String) });
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('a denied write changes nothing', async () => {
    const target = await freshObjects(w.ws2, w.dep2a, 9999);
    const res = await call(w.app, w.tokens.WORKSPACE_OWNER, 'POST', `${o(w)}/environment-objects/${target.wsObject}`, { description: 'hijacked' });
    expect(res.status).toBe(403);
    const del = await call(w.app, w.tokens.WORKSPACE_AUTHOR, 'DELETE', `${o(w)}/environment-objects/${target.wsObject}`);
    expect(del.status).toBe(403);
    const read = await call(w.app, w.tokens.ORGANIZATION_OWNER, 'GET', `${o(w)}/environment-objects/${target.wsObject}`);
    expect(read.body.description).toBeUndefined();
  });

  it('lists only what the caller may see', async () => {
    const names = async (who: TokenName, what: 'workspaces' | 'deployments') =>
      ((await call(w.app, w.tokens[who], 'GET', `${o(w)}/${what}`)).body[what] as Array<{ id: string }>).map((x) => x.id).sort();
    expect(await names('ORGANIZATION_OWNER', 'workspaces')).toEqual([w.ws1, w.ws2].sort());
    expect(await names('WORKSPACE_MEMBER', 'workspaces')).toEqual([w.ws1]);
    expect(await names('ORGANIZATION_MEMBER', 'workspaces')).toEqual([]);
    expect(await names('DEPLOYMENT_ADMIN', 'workspaces')).toEqual([]);
    expect(await names('WORKSPACE_AUTHOR', 'deployments')).toEqual([w.dep1a, w.dep1b].sort());
    expect(await names('DEPLOYMENT_ADMIN', 'deployments')).toEqual([w.dep1a]);
    expect(await names('ORGANIZATION_OWNER', 'deployments')).toEqual([w.dep1a, w.dep1b, w.dep2a].sort());
  });
});
