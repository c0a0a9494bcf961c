import { forbidden } from './errors.js';

export const ORGANIZATION_ROLES = ['ORGANIZATION_OWNER', 'ORGANIZATION_MEMBER'] as const;
export const WORKSPACE_ROLES = ['WORKSPACE_OWNER', 'WORKSPACE_OPERATOR', 'WORKSPACE_AUTHOR', 'WORKSPACE_MEMBER'] as const;
export const DEPLOYMENT_ROLES = ['DEPLOYMENT_ADMIN'] as const;
export type OrganizationRole = (typeof ORGANIZATION_ROLES)[number];
export type WorkspaceRole = (typeof WORKSPACE_ROLES)[number];
export type DeploymentRole = (typeof DEPLOYMENT_ROLES)[number];
export type Role = OrganizationRole | WorkspaceRole | DeploymentRole;
export const ALL_ROLES: readonly Role[] = [...ORGANIZATION_ROLES, ...WORKSPACE_ROLES, ...DEPLOYMENT_ROLES];

/** A role as stored on a token: organization roles have no entity; the others name a workspace or deployment. */
export interface RoleGrant {
  role: Role;
  entityId?: string;
}

/** Who is calling: resolved from the bearer token on every request (nothing is kept between requests). */
export interface Principal {
  tokenId: string;
  tokenName: string;
  organizationId: string;
  userId?: string;
  username?: string;
  fullName?: string;
  subjectType: 'USER' | 'SERVICEKEY';
  organizationRole?: OrganizationRole;
  workspaceRoles: Map<string, WorkspaceRole>;
  deploymentRoles: Map<string, DeploymentRole>;
  secretsFetchingEnabled: boolean;
  organizationRevision: string;
}

// Higher number = more rights; a workspace role covers the workspace's deployments.
const RANK: Record<WorkspaceRole, number> = {
  WORKSPACE_MEMBER: 1,
  WORKSPACE_AUTHOR: 2,
  WORKSPACE_OPERATOR: 3,
  WORKSPACE_OWNER: 4,
};

export function principalFromGrants(
  base: Omit<Principal, 'organizationRole' | 'workspaceRoles' | 'deploymentRoles'>,
  grants: RoleGrant[],
  userOrganizationRole?: OrganizationRole | null,
): Principal {
  const workspaceRoles = new Map<string, WorkspaceRole>();
  const deploymentRoles = new Map<string, DeploymentRole>();
  // A user's token without roles acts as the user. Roles given to it bound it (least privilege): the user's
  // organization role then only makes the token a member of the organization.
  let organizationRole: OrganizationRole | undefined =
    grants.length === 0 ? (userOrganizationRole ?? undefined) : userOrganizationRole ? 'ORGANIZATION_MEMBER' : undefined;
  for (const grant of grants) {
    if (grant.role === 'ORGANIZATION_OWNER') organizationRole = 'ORGANIZATION_OWNER';
    else if (grant.role === 'ORGANIZATION_MEMBER') organizationRole ??= 'ORGANIZATION_MEMBER';
    else if (grant.role === 'DEPLOYMENT_ADMIN' && grant.entityId) deploymentRoles.set(grant.entityId, 'DEPLOYMENT_ADMIN');
    else if (grant.entityId && grant.role in RANK) {
      const role = grant.role as WorkspaceRole;
      const previous = workspaceRoles.get(grant.entityId);
      if (!previous || RANK[role] > RANK[previous]) workspaceRoles.set(grant.entityId, role);
    }
  }
  return { ...base, organizationRole, workspaceRoles, deploymentRoles };
}

export function isOwner(p: Principal): boolean {
  return p.organizationRole === 'ORGANIZATION_OWNER';
}

export function workspaceRank(p: Principal, workspaceId: string): number {
  if (isOwner(p)) return 99;
  const role = p.workspaceRoles.get(workspaceId);
  return role ? RANK[role] : 0;
}

export function hasWorkspaceRole(p: Principal, workspaceId: string, min: WorkspaceRole): boolean {
  return workspaceRank(p, workspaceId) >= RANK[min];
}

export function requireOrganization(p: Principal, organizationId: string): void {
  if (p.organizationId !== organizationId) {
    throw forbidden(`this action requires ORGANIZATION_MEMBER on organization ${organizationId}; the token belongs to another organization`);
  }
}

export function requireOrganizationOwner(p: Principal, organizationId: string): void {
  requireOrganization(p, organizationId);
  if (!isOwner(p)) throw forbidden(`this action requires ORGANIZATION_OWNER on organization ${organizationId}`);
}

export function requireWorkspaceRole(p: Principal, workspaceId: string, min: WorkspaceRole): void {
  if (!hasWorkspaceRole(p, workspaceId, min)) {
    throw forbidden(`this action requires ${min} (or higher) on workspace ${workspaceId}`);
  }
}

/** Reading a deployment (and its objects): a workspace role on its workspace, or the deployment's own token. */
export function canReadDeployment(p: Principal, deployment: { id: string; workspaceId: string }): boolean {
  return hasWorkspaceRole(p, deployment.workspaceId, 'WORKSPACE_MEMBER') || p.deploymentRoles.has(deployment.id);
}

export function requireReadDeployment(p: Principal, deployment: { id: string; workspaceId: string }): void {
  if (!canReadDeployment(p, deployment)) {
    throw forbidden(
      `this action requires WORKSPACE_MEMBER (or higher) on workspace ${deployment.workspaceId} or DEPLOYMENT_ADMIN on deployment ${deployment.id}`,
    );
  }
}

/** Whether the caller may read the secret values of objects of this workspace (or deployment): API.md §Secrets. */
export function mayShowSecrets(p: Principal, target: { workspaceId: string; deploymentId?: string }): boolean {
  if (!p.secretsFetchingEnabled) return false;
  return hasWorkspaceRole(p, target.workspaceId, 'WORKSPACE_AUTHOR') || (target.deploymentId !== undefined && p.deploymentRoles.has(target.deploymentId));
}

/** API.md §Secrets: the organization setting first (clients recognise its exact text), then the caller's role. */
export function requireShowSecrets(p: Principal, organizationId: string, target: { workspaceId: string; deploymentId?: string }): void {
  if (!p.secretsFetchingEnabled) throw forbidden(`showSecrets on organization with id ${organizationId} is not allowed`);
  if (hasWorkspaceRole(p, target.workspaceId, 'WORKSPACE_AUTHOR')) return;
  if (target.deploymentId && p.deploymentRoles.has(target.deploymentId)) return;
  throw forbidden(
    `showSecrets requires WORKSPACE_AUTHOR (or higher) on workspace ${target.workspaceId}` +
      (target.deploymentId ? ` or DEPLOYMENT_ADMIN on deployment ${target.deploymentId}` : ''),
  );
}
