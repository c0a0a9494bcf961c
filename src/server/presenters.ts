import { formatTime } from './ids.js';
import type { DeploymentRow } from './repo/deployments.js';
import type { OrganizationRow } from './repo/organizations.js';
import type { WorkspaceRow } from './repo/workspaces.js';

/** Drops null members: optional API fields are absent rather than null. */
function compact<T extends Record<string, unknown>>(o: T): T {
  for (const key of Object.keys(o)) if (o[key] === null || o[key] === undefined) delete o[key];
  return o;
}

export function organizationToApi(row: OrganizationRow, withSettings: boolean) {
  return compact({
    id: row.id,
    name: row.name,
    createdAt: formatTime(row.created_at),
    updatedAt: formatTime(row.updated_at),
    ...(withSettings ? { environmentSecretsFetchingEnabled: row.environment_secrets_fetching_enabled } : {}),
  });
}

export function workspaceToApi(row: WorkspaceRow) {
  return compact({
    id: row.id,
    name: row.name,
    description: row.description,
    organizationId: row.organization_id,
    organizationName: row.organization_name,
    createdAt: formatTime(row.created_at),
    updatedAt: formatTime(row.updated_at),
  });
}

export function deploymentToApi(row: DeploymentRow) {
  return compact({
    id: row.id,
    name: row.name,
    description: row.description,
    organizationId: row.organization_id,
    workspaceId: row.workspace_id,
    workspaceName: row.workspace_name,
    namespace: row.namespace,
    runtimeVersion: row.runtime_version,
    airflowVersion: row.airflow_version,
    status: row.status,
    type: row.type,
    region: row.region,
    cloudProvider: row.cloud_provider,
    clusterName: row.cluster_name,
    isDagDeployEnabled: row.is_dag_deploy_enabled,
    isCicdEnforced: row.is_cicd_enforced,
    isDevelopmentMode: row.is_development_mode,
    webServerUrl: row.web_server_url,
    createdAt: formatTime(row.created_at),
    updatedAt: formatTime(row.updated_at),
  });
}
