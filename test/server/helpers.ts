import type { AuthFailureLimit } from '../../src/server/auth-limit.js';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { createDeploymentIn, createOrganizationIn, createTokenIn, createUserIn, createWorkspaceIn } from '../../src/server/admin.js';
import { buildApp } from '../../src/server/app.js';
import { parseMasterKeys } from '../../src/server/crypto.js';
import { createPool } from '../../src/server/db.js';
import type { LogEntry } from '../../src/server/logging.js';
import { migrate } from '../../src/server/migrations.js';
import { createTestDatabase } from '../support/pg.js';

// A fixed test key (32 bytes of 0x01..0x20), so tests never depend on the environment.
export const TEST_MASTER_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1)).toString('base64');

export interface World {
  databaseUrl: string;
  pool: pg.Pool;
  app: FastifyInstance;
  logs: LogEntry[];
  org: string;
  otherOrg: string;
  ws1: string;
  ws2: string;
  dep1a: string;
  dep1b: string;
  dep2a: string;
  otherOrgWs: string;
  otherOrgDep: string;
  tokens: Record<TokenName, string>;
  close(): Promise<void>;
}

export type TokenName =
  | 'ORGANIZATION_OWNER'
  | 'ORGANIZATION_MEMBER'
  | 'WORKSPACE_OWNER'
  | 'WORKSPACE_OPERATOR'
  | 'WORKSPACE_AUTHOR'
  | 'WORKSPACE_MEMBER'
  | 'DEPLOYMENT_ADMIN'
  | 'OTHER_ORG_OWNER'
  | 'EXPIRED';

/** A fresh database with two organizations, two workspaces, three deployments and one token per role. */
export async function makeWorld(options: { secretsFetching?: boolean; bodyLimit?: number; authFailureLimit?: AuthFailureLimit | false } = {}): Promise<World> {
  const databaseUrl = await createTestDatabase('srv');
  const pool = createPool(databaseUrl, 5);
  await migrate(pool);
  const { id: org } = await createOrganizationIn(pool, { name: 'Acme', environmentSecretsFetchingEnabled: options.secretsFetching ?? true });
  const { id: otherOrg } = await createOrganizationIn(pool, { name: 'Other Co', environmentSecretsFetchingEnabled: true });
  const { id: ws1 } = await createWorkspaceIn(pool, { organizationId: org, name: 'alpha', description: 'first' });
  const { id: ws2 } = await createWorkspaceIn(pool, { organizationId: org, name: 'beta' });
  const { id: otherOrgWs } = await createWorkspaceIn(pool, { organizationId: otherOrg, name: 'gamma' });
  const { id: dep1a } = await createDeploymentIn(pool, { workspaceId: ws1, name: 'alpha-prod' });
  const { id: dep1b } = await createDeploymentIn(pool, { workspaceId: ws1, name: 'alpha-dev' });
  const { id: dep2a } = await createDeploymentIn(pool, { workspaceId: ws2, name: 'beta-prod' });
  const { id: otherOrgDep } = await createDeploymentIn(pool, { workspaceId: otherOrgWs, name: 'gamma-prod' });
  const { id: user } = await createUserIn(pool, { organizationId: org, username: 'ada', fullName: 'Ada L', organizationRole: 'ORGANIZATION_OWNER' });
  const token = async (name: string, roles: Array<{ role: string; entityId?: string }>, extra: { userId?: string; organizationId?: string; expiresAt?: Date } = {}) =>
    (await createTokenIn(pool, { organizationId: extra.organizationId ?? org, name, roles, userId: extra.userId, expiresAt: extra.expiresAt })).token;
  const tokens: Record<TokenName, string> = {
    ORGANIZATION_OWNER: await token('owner', [], { userId: user }),
    ORGANIZATION_MEMBER: await token('member', [{ role: 'ORGANIZATION_MEMBER' }]),
    WORKSPACE_OWNER: await token('ws-owner', [{ role: 'ORGANIZATION_MEMBER' }, { role: 'WORKSPACE_OWNER', entityId: ws1 }]),
    WORKSPACE_OPERATOR: await token('ws-operator', [{ role: 'WORKSPACE_OPERATOR', entityId: ws1 }]),
    WORKSPACE_AUTHOR: await token('ws-author', [{ role: 'WORKSPACE_AUTHOR', entityId: ws1 }]),
    WORKSPACE_MEMBER: await token('ws-member', [{ role: 'WORKSPACE_MEMBER', entityId: ws1 }]),
    DEPLOYMENT_ADMIN: await token('dep-admin', [{ role: 'DEPLOYMENT_ADMIN', entityId: dep1a }]),
    OTHER_ORG_OWNER: await token('other-owner', [{ role: 'ORGANIZATION_OWNER' }], { organizationId: otherOrg }),
    EXPIRED: await token('expired', [{ role: 'ORGANIZATION_OWNER' }], { expiresAt: new Date(Date.now() - 60_000) }),
  };
  const logs: LogEntry[] = [];
  const app = await buildApp({
    pool,
    config: { keyring: parseMasterKeys(TEST_MASTER_KEY, 'test key'), bodyLimit: options.bodyLimit, authFailureLimit: options.authFailureLimit },
    logger: (e) => logs.push(e),
  });
  await app.ready();
  return {
    databaseUrl, pool, app, logs, org, otherOrg, ws1, ws2, dep1a, dep1b, dep2a, otherOrgWs, otherOrgDep, tokens,
    async close() {
      await app.close();
      await pool.end();
    },
  };
}

export interface Call {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Record<string, unknown>;
}

/** One request through `inject`, with a bearer token. */
export async function call(
  app: FastifyInstance,
  token: string | undefined,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  payload?: unknown,
): Promise<Call> {
  const res = await app.inject({
    method,
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined, headers: res.headers };
}
