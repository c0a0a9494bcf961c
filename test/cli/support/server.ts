import { randomBytes } from 'node:crypto';
import { createTestDatabase } from '../../support/pg.js';
import {
  adminCreateDeployment,
  adminCreateOrganization,
  adminCreateToken,
  adminCreateUser,
  adminCreateWorkspace,
  generateMasterKey,
  startServer,
} from '../../../src/server/index.js';

/** A real Environment Manager on 127.0.0.1 with a small organization, for the CLI's end-to-end tests. */
export interface TestEnvironmentManager {
  url: string;
  databaseUrl: string;
  organizationId: string;
  /** Owner token of the organization; starts with a recognisable marker for the leak test. */
  token: string;
  /** Organization with Environment Secrets Fetching off, and its owner token. */
  lockedOrganizationId: string;
  lockedToken: string;
  workspaces: { alpha: string; beta: string };
  deployments: { alpha1: string; alpha2: string; beta1: string };
  close(): Promise<void>;
}

export async function startTestEnvironmentManager(opts: { logStream?: NodeJS.WritableStream } = {}): Promise<TestEnvironmentManager> {
  const databaseUrl = await createTestDatabase('cli');
  const { id: organizationId } = await adminCreateOrganization(databaseUrl, { name: 'E2E Org', environmentSecretsFetchingEnabled: true });
  const { id: userId } = await adminCreateUser(databaseUrl, { organizationId, username: 'e2e-owner', organizationRole: 'ORGANIZATION_OWNER' });
  const alpha = (await adminCreateWorkspace(databaseUrl, { organizationId, name: 'alpha' })).id;
  const beta = (await adminCreateWorkspace(databaseUrl, { organizationId, name: 'beta' })).id;
  const alpha1 = (await adminCreateDeployment(databaseUrl, { workspaceId: alpha, name: 'alpha-one' })).id;
  const alpha2 = (await adminCreateDeployment(databaseUrl, { workspaceId: alpha, name: 'alpha-two' })).id;
  const beta1 = (await adminCreateDeployment(databaseUrl, { workspaceId: beta, name: 'beta-one' })).id;
  const token = `PLANTEDTOKEN${randomBytes(12).toString('hex')}`;
  await adminCreateToken(databaseUrl, { organizationId, name: 'e2e', userId, roles: [{ role: 'ORGANIZATION_OWNER' }], token });

  const { id: lockedOrganizationId } = await adminCreateOrganization(databaseUrl, { name: 'Locked Org' });
  const { id: lockedUser } = await adminCreateUser(databaseUrl, { organizationId: lockedOrganizationId, username: 'locked-owner', organizationRole: 'ORGANIZATION_OWNER' });
  await adminCreateWorkspace(databaseUrl, { organizationId: lockedOrganizationId, name: 'only' });
  const lockedToken = `LOCKEDTOKEN${randomBytes(12).toString('hex')}`;
  await adminCreateToken(databaseUrl, { organizationId: lockedOrganizationId, name: 'e2e', userId: lockedUser, roles: [{ role: 'ORGANIZATION_OWNER' }], token: lockedToken });

  const server = await startServer({ host: '127.0.0.1', port: 0, databaseUrl, masterKey: generateMasterKey(), logStream: opts.logStream });
  return {
    url: server.url,
    databaseUrl,
    organizationId,
    token,
    lockedOrganizationId,
    lockedToken,
    workspaces: { alpha, beta },
    deployments: { alpha1, alpha2, beta1 },
    close: () => server.close(),
  };
}
