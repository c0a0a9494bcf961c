import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  adminCreateDeployment, adminCreateOrganization, adminCreateToken, adminCreateUser, adminCreateWorkspace, adminList,
  adminSetOrganization, ServerAdminError,
} from '../../src/server/admin.js';
import { buildApp } from '../../src/server/app.js';
import { parseMasterKeys } from '../../src/server/crypto.js';
import { createPool } from '../../src/server/db.js';
import { MIGRATIONS, migrate } from '../../src/server/migrations.js';
import { newId } from '../../src/server/ids.js';
import { createTestDatabase } from '../support/pg.js';
import { TEST_MASTER_KEY } from './helpers.js';

describe('server admin (straight on the database)', () => {
  it('creates an organization, workspace, deployment, user and token that the API then accepts', async () => {
    const url = await createTestDatabase('adm');
    const { id: org } = await adminCreateOrganization(url, { name: 'Admin Org' });
    const { id: ws } = await adminCreateWorkspace(url, { organizationId: org, name: 'w', description: 'd' });
    const { id: dep } = await adminCreateDeployment(url, { workspaceId: ws, name: 'Prod EU', runtimeVersion: '13.0.0', isCicdEnforced: true });
    const { id: user } = await adminCreateUser(url, { organizationId: org, username: 'grace', fullName: 'Grace H' });
    const created = await adminCreateToken(url, { organizationId: org, name: 'grace-cli', userId: user, roles: [{ role: 'WORKSPACE_AUTHOR', entityId: ws }] });
    expect(created.token).toMatch(/^envmgr_[A-Za-z0-9_-]{43}$/);
    for (const id of [org, ws, dep, user, created.id]) expect(id).toMatch(/^[a-z0-9]{25}$/);

    expect(await adminList(url, 'organizations')).toEqual([{ id: org, name: 'Admin Org', createdAt: expect.any(String), updatedAt: expect.any(String), environmentSecretsFetchingEnabled: false }]);
    expect(await adminList(url, 'workspaces', { organizationId: org })).toMatchObject([{ id: ws, name: 'w', description: 'd' }]);
    expect(await adminList(url, 'deployments', { workspaceId: ws })).toMatchObject([{ id: dep, name: 'Prod EU', runtimeVersion: '13.0.0', isCicdEnforced: true, namespace: expect.stringMatching(/^prod-eu-/) }]);
    expect(await adminList(url, 'users')).toMatchObject([{ id: user, username: 'grace', fullName: 'Grace H' }]);
    const tokens = await adminList(url, 'tokens', { organizationId: org });
    expect(tokens).toEqual([{ id: created.id, organizationId: org, name: 'grace-cli', userId: user, roles: [{ role: 'WORKSPACE_AUTHOR', entityId: ws }], createdAt: expect.any(String) }]);
    expect(JSON.stringify(tokens)).not.toContain(created.token.slice(7));

    await adminSetOrganization(url, { organizationId: org, environmentSecretsFetchingEnabled: true, name: 'Renamed' });
    expect(await adminList(url, 'organizations')).toMatchObject([{ name: 'Renamed', environmentSecretsFetchingEnabled: true }]);

    const pool = createPool(url, 2);
    const app = await buildApp({ pool, config: { keyring: parseMasterKeys(TEST_MASTER_KEY, 'k') } });
    try {
      const self = await app.inject({ method: 'GET', url: '/v1/users/self', headers: { authorization: `Bearer ${created.token}` } });
      expect(JSON.parse(self.body)).toMatchObject({ id: user, username: 'grace', subjectType: 'USER', workspaceRoles: [{ workspaceId: ws, role: 'WORKSPACE_AUTHOR' }] });
    } finally {
      await app.close();
      await pool.end();
    }
  });

  it('refuses bad input with ServerAdminError messages that say what is wrong', async () => {
    const url = await createTestDatabase('adm');
    const { id: org } = await adminCreateOrganization(url, { name: 'O' });
    const { id: ws } = await adminCreateWorkspace(url, { organizationId: org, name: 'w' });
    const missing = newId();
    await expect(adminCreateWorkspace(url, { organizationId: missing, name: 'w' })).rejects.toThrow(ServerAdminError);
    await expect(adminCreateDeployment(url, { workspaceId: missing, name: 'd' })).rejects.toThrow(/no workspace with id/);
    await expect(adminCreateOrganization(url, { name: '  ' })).rejects.toThrow(/name/);
    await expect(adminCreateToken(url, { organizationId: org, name: 't', roles: [{ role: 'SUPERUSER' }] })).rejects.toThrow(/unknown role SUPERUSER/);
    await expect(adminCreateToken(url, { organizationId: org, name: 't', roles: [{ role: 'WORKSPACE_OWNER' }] })).rejects.toThrow(/needs the id of a workspace/);
    await expect(adminCreateToken(url, { organizationId: org, name: 't', roles: [{ role: 'DEPLOYMENT_ADMIN', entityId: ws }] })).rejects.toThrow(/needs the id of a deployment/);
    await expect(adminCreateToken(url, { organizationId: org, name: 't', roles: [], expiresAt: 'soon' })).rejects.toThrow(/not a date/);
    await adminCreateUser(url, { organizationId: org, username: 'u' });
    await expect(adminCreateUser(url, { organizationId: org, username: 'u' })).rejects.toThrow(/already exists/);
    await expect(adminSetOrganization(url, { organizationId: missing, environmentSecretsFetchingEnabled: true })).rejects.toThrow(/no organization/);
    expect(await adminList(url, 'tokens')).toEqual([]);
  });
});

describe('migrations', () => {
  it('apply once, are tracked, and are safe when several processes migrate at once', async () => {
    const url = await createTestDatabase('mig');
    const pools = [createPool(url, 1), createPool(url, 1), createPool(url, 1)];
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)));
      // Exactly one of them applied each migration; the others found it done.
      expect(results.flat().sort()).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(pools[0] as pg.Pool)).toEqual([]);
      const { rows } = await (pools[0] as pg.Pool).query('SELECT version, name FROM schema_migrations ORDER BY version');
      expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});
