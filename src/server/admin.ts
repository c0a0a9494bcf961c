import type pg from 'pg';
import { hashToken, newApiToken } from './crypto.js';
import { createPool, withTransaction, type Queryable } from './db.js';
import { formatTime, newId } from './ids.js';
import { migrate } from './migrations.js';
import { deploymentToApi, organizationToApi, workspaceToApi } from './presenters.js';
import { insertDeployment, listAllDeployments } from './repo/deployments.js';
import { getUser, insertToken, insertUser, listTokens, listUsers } from './repo/identities.js';
import { bumpRevision, getOrganization, insertOrganization, listOrganizations, updateOrganization } from './repo/organizations.js';
import { getWorkspace, insertWorkspace, listAllWorkspaces } from './repo/workspaces.js';
import { ALL_ROLES, ORGANIZATION_ROLES, WORKSPACE_ROLES, type OrganizationRole, type Role, type RoleGrant } from './roles.js';
import { getDeployment } from './repo/deployments.js';

/** A bad admin input (unknown id, invalid role…): the CLI shows the message as a user error. */
export class ServerAdminError extends Error {
  override name = 'ServerAdminError';
}

export interface CreateOrganizationInput {
  name: string;
  environmentSecretsFetchingEnabled?: boolean;
  /** Fixes the id (the dev seed uses stable ids); default: a new random id. */
  id?: string;
}
export interface CreateWorkspaceInput {
  organizationId: string;
  name: string;
  description?: string;
  id?: string;
}
export interface CreateDeploymentInput {
  workspaceId: string;
  name: string;
  description?: string;
  namespace?: string;
  runtimeVersion?: string;
  airflowVersion?: string;
  status?: string;
  type?: string;
  region?: string;
  cloudProvider?: string;
  clusterName?: string;
  isDagDeployEnabled?: boolean;
  isCicdEnforced?: boolean;
  isDevelopmentMode?: boolean;
  webServerUrl?: string;
  id?: string;
}
export interface CreateUserInput {
  organizationId: string;
  username: string;
  fullName?: string;
  organizationRole?: OrganizationRole;
  id?: string;
}
export interface CreateTokenInput {
  organizationId: string;
  name: string;
  userId?: string;
  roles: Array<{ role: Role | string; entityId?: string }>;
  expiresAt?: Date | string;
  /** A caller-chosen token value (the dev server's `--dev-token`); default: a new random token. */
  token?: string;
}
export interface SetOrganizationInput {
  organizationId: string;
  environmentSecretsFetchingEnabled?: boolean;
  name?: string;
}
export type AdminListKind = 'organizations' | 'workspaces' | 'deployments' | 'tokens' | 'users';
export interface AdminListFilter {
  organizationId?: string;
  workspaceId?: string;
}

function requireName(value: string | undefined, what: string): string {
  const name = value?.trim() ?? '';
  if (name === '' || name.length > 200 || name.includes('\u0000')) throw new ServerAdminError(`${what} must be 1-200 characters`);
  return name;
}

async function requireOrganizationRow(q: Queryable, id: string) {
  const org = await getOrganization(q, id);
  if (!org) throw new ServerAdminError(`no organization with id ${id}: list them with \`envmgr server admin list organizations\``);
  return org;
}

export async function createOrganizationIn(q: Queryable, input: CreateOrganizationInput): Promise<{ id: string }> {
  const id = input.id ?? newId();
  await insertOrganization(q, { id, name: requireName(input.name, 'the organization name'), environmentSecretsFetchingEnabled: input.environmentSecretsFetchingEnabled ?? false });
  return { id };
}

export async function createWorkspaceIn(q: Queryable, input: CreateWorkspaceInput): Promise<{ id: string }> {
  await requireOrganizationRow(q, input.organizationId);
  const id = input.id ?? newId();
  await insertWorkspace(q, { id, organizationId: input.organizationId, name: requireName(input.name, 'the workspace name'), description: input.description });
  await bumpRevision(q, input.organizationId);
  return { id };
}

export async function createDeploymentIn(q: Queryable, input: CreateDeploymentInput): Promise<{ id: string }> {
  const { rows } = await q.query<{ organization_id: string }>('SELECT organization_id FROM workspaces WHERE id = $1', [input.workspaceId]);
  const organizationId = rows[0]?.organization_id;
  if (!organizationId) throw new ServerAdminError(`no workspace with id ${input.workspaceId}: list them with \`envmgr server admin list workspaces\``);
  const name = requireName(input.name, 'the deployment name');
  const id = input.id ?? newId();
  await insertDeployment(q, {
    id,
    organizationId,
    workspaceId: input.workspaceId,
    name,
    description: input.description,
    namespace: input.namespace ?? `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'deployment'}-${id.slice(-6)}`,
    runtimeVersion: input.runtimeVersion ?? '12.1.0',
    airflowVersion: input.airflowVersion ?? '2.10.3',
    status: input.status ?? 'HEALTHY',
    type: input.type ?? 'STANDARD',
    region: input.region,
    cloudProvider: input.cloudProvider,
    clusterName: input.clusterName,
    isDagDeployEnabled: input.isDagDeployEnabled ?? true,
    isCicdEnforced: input.isCicdEnforced ?? false,
    isDevelopmentMode: input.isDevelopmentMode ?? false,
    webServerUrl: input.webServerUrl,
  });
  await bumpRevision(q, organizationId);
  return { id };
}

export async function createUserIn(q: Queryable, input: CreateUserInput): Promise<{ id: string }> {
  await requireOrganizationRow(q, input.organizationId);
  if (input.organizationRole && !(ORGANIZATION_ROLES as readonly string[]).includes(input.organizationRole)) {
    throw new ServerAdminError(`unknown organization role ${input.organizationRole}: use one of ${ORGANIZATION_ROLES.join(', ')}`);
  }
  const id = input.id ?? newId();
  try {
    await insertUser(q, { id, organizationId: input.organizationId, username: requireName(input.username, 'the username'), fullName: input.fullName, organizationRole: input.organizationRole });
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new ServerAdminError(`a user named ${input.username} already exists in organization ${input.organizationId}`);
    throw err;
  }
  return { id };
}

export async function createTokenIn(q: Queryable, input: CreateTokenInput): Promise<{ id: string; token: string }> {
  await requireOrganizationRow(q, input.organizationId);
  const name = requireName(input.name, 'the token name');
  if (input.userId) {
    const user = await getUser(q, input.userId);
    if (!user || user.organization_id !== input.organizationId) throw new ServerAdminError(`no user with id ${input.userId} in organization ${input.organizationId}`);
  }
  const grants: RoleGrant[] = [];
  for (const { role, entityId } of input.roles) {
    if (!(ALL_ROLES as readonly string[]).includes(role)) throw new ServerAdminError(`unknown role ${role}: use one of ${ALL_ROLES.join(', ')}`);
    if ((ORGANIZATION_ROLES as readonly string[]).includes(role)) {
      if (entityId && entityId !== input.organizationId) throw new ServerAdminError(`${role} applies to the token's own organization; drop the entity id ${entityId}`);
      grants.push({ role: role as Role });
    } else if ((WORKSPACE_ROLES as readonly string[]).includes(role)) {
      if (!entityId || !(await getWorkspace(q, input.organizationId, entityId))) throw new ServerAdminError(`${role} needs the id of a workspace of organization ${input.organizationId}`);
      grants.push({ role: role as Role, entityId });
    } else {
      if (!entityId || !(await getDeployment(q, input.organizationId, entityId))) throw new ServerAdminError(`${role} needs the id of a deployment of organization ${input.organizationId}`);
      grants.push({ role: role as Role, entityId });
    }
  }
  let expiresAt: Date | undefined;
  if (input.expiresAt !== undefined) {
    expiresAt = input.expiresAt instanceof Date ? input.expiresAt : new Date(input.expiresAt);
    if (Number.isNaN(expiresAt.getTime())) throw new ServerAdminError(`the expiry ${String(input.expiresAt)} is not a date such as 2030-01-31T00:00:00Z`);
  }
  if (input.token !== undefined && !/^\S{8,500}$/.test(input.token)) throw new ServerAdminError('a fixed token must be 8-500 characters without spaces');
  const token = input.token ?? newApiToken();
  const id = newId();
  await insertToken(q, { id, organizationId: input.organizationId, userId: input.userId, name, tokenHash: hashToken(token), roles: grants, expiresAt });
  return { id, token };
}

/** Opens a pool on the database, applies migrations, runs `work` in a transaction, and closes the pool. */
async function onDatabase<T>(databaseUrl: string, work: (q: pg.PoolClient) => Promise<T>): Promise<T> {
  const pool = createPool(databaseUrl, 2);
  try {
    await migrate(pool);
    return await withTransaction(pool, work);
  } finally {
    await pool.end();
  }
}

export function adminCreateOrganization(databaseUrl: string, input: CreateOrganizationInput): Promise<{ id: string }> {
  return onDatabase(databaseUrl, (q) => createOrganizationIn(q, input));
}

export function adminCreateWorkspace(databaseUrl: string, input: CreateWorkspaceInput): Promise<{ id: string }> {
  return onDatabase(databaseUrl, (q) => createWorkspaceIn(q, input));
}

export function adminCreateDeployment(databaseUrl: string, input: CreateDeploymentInput): Promise<{ id: string }> {
  return onDatabase(databaseUrl, (q) => createDeploymentIn(q, input));
}

export function adminCreateUser(databaseUrl: string, input: CreateUserInput): Promise<{ id: string }> {
  return onDatabase(databaseUrl, (q) => createUserIn(q, input));
}

/** The token is returned once, here; only its SHA-256 hash is stored. */
export function adminCreateToken(databaseUrl: string, input: CreateTokenInput): Promise<{ id: string; token: string }> {
  return onDatabase(databaseUrl, (q) => createTokenIn(q, input));
}

export function adminSetOrganization(databaseUrl: string, input: SetOrganizationInput): Promise<void> {
  return onDatabase(databaseUrl, async (q) => {
    await requireOrganizationRow(q, input.organizationId);
    await updateOrganization(q, input.organizationId, {
      name: input.name === undefined ? undefined : requireName(input.name, 'the organization name'),
      environmentSecretsFetchingEnabled: input.environmentSecretsFetchingEnabled,
    });
  });
}

/** Rows in the API's shapes; tokens without any hash or value. */
export function adminList(databaseUrl: string, what: AdminListKind, filter: AdminListFilter = {}): Promise<unknown[]> {
  return onDatabase(databaseUrl, async (q) => {
    switch (what) {
      case 'organizations':
        return (await listOrganizations(q)).filter((o) => !filter.organizationId || o.id === filter.organizationId).map((o) => organizationToApi(o, true));
      case 'workspaces':
        return (await listAllWorkspaces(q, filter.organizationId)).map(workspaceToApi);
      case 'deployments':
        return (await listAllDeployments(q, filter)).map(deploymentToApi);
      case 'users':
        return (await listUsers(q, filter.organizationId)).map((u) => ({
          id: u.id,
          organizationId: u.organization_id,
          username: u.username,
          ...(u.full_name ? { fullName: u.full_name } : {}),
          ...(u.organization_role ? { organizationRole: u.organization_role } : {}),
          createdAt: formatTime(u.created_at),
        }));
      case 'tokens':
        return (await listTokens(q, filter.organizationId)).map((t) => ({
          id: t.id,
          organizationId: t.organization_id,
          name: t.name,
          ...(t.user_id ? { userId: t.user_id } : {}),
          roles: t.roles,
          ...(t.expires_at ? { expiresAt: formatTime(t.expires_at) } : {}),
          createdAt: formatTime(t.created_at),
        }));
      default:
        throw new ServerAdminError(`cannot list ${String(what)}: use organizations, workspaces, deployments, tokens or users`);
    }
  });
}
