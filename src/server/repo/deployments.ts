import type { Queryable } from '../db.js';
import { withTotal, type Page, type PageResult } from './listing.js';

export interface DeploymentRow {
  id: string;
  organization_id: string;
  workspace_id: string;
  workspace_name: string;
  name: string;
  description: string | null;
  namespace: string;
  runtime_version: string;
  airflow_version: string;
  status: string;
  type: string;
  region: string | null;
  cloud_provider: string | null;
  cluster_name: string | null;
  is_dag_deploy_enabled: boolean;
  is_cicd_enforced: boolean;
  is_development_mode: boolean;
  web_server_url: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewDeployment {
  id: string;
  organizationId: string;
  workspaceId: string;
  name: string;
  description?: string;
  namespace: string;
  runtimeVersion: string;
  airflowVersion: string;
  status: string;
  type: string;
  region?: string;
  cloudProvider?: string;
  clusterName?: string;
  isDagDeployEnabled: boolean;
  isCicdEnforced: boolean;
  isDevelopmentMode: boolean;
  webServerUrl?: string;
}

export async function insertDeployment(q: Queryable, d: NewDeployment): Promise<void> {
  await q.query(
    `INSERT INTO deployments (id, organization_id, workspace_id, name, description, namespace, runtime_version, airflow_version,
        status, type, region, cloud_provider, cluster_name, is_dag_deploy_enabled, is_cicd_enforced, is_development_mode, web_server_url)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
    [
      d.id, d.organizationId, d.workspaceId, d.name, d.description ?? null, d.namespace, d.runtimeVersion, d.airflowVersion,
      d.status, d.type, d.region ?? null, d.cloudProvider ?? null, d.clusterName ?? null, d.isDagDeployEnabled,
      d.isCicdEnforced, d.isDevelopmentMode, d.webServerUrl ?? null,
    ],
  );
}

const FROM = `FROM deployments d JOIN workspaces w ON w.id = d.workspace_id`;

export async function getDeployment(q: Queryable, organizationId: string, id: string): Promise<DeploymentRow | undefined> {
  const { rows } = await q.query<DeploymentRow>(
    `SELECT d.*, w.name AS workspace_name ${FROM} WHERE d.organization_id = $1 AND d.id = $2`,
    [organizationId, id],
  );
  return rows[0];
}

export async function getDeploymentsByIds(q: Queryable, organizationId: string, ids: string[]): Promise<DeploymentRow[]> {
  const { rows } = await q.query<DeploymentRow>(
    `SELECT d.*, w.name AS workspace_name ${FROM} WHERE d.organization_id = $1 AND d.id = ANY($2)`,
    [organizationId, ids],
  );
  return rows;
}

export interface DeploymentFilter {
  organizationId: string;
  workspaceIds?: string[];
  deploymentIds?: string[];
  names?: string[];
  /** Restricts to what the caller may see: deployments of these workspaces or these deployments. */
  visible?: { workspaceIds: string[]; deploymentIds: string[] };
}

export async function listDeployments(q: Queryable, filter: DeploymentFilter, page: Page): Promise<PageResult<DeploymentRow>> {
  const where = ['d.organization_id = $1'];
  const values: unknown[] = [filter.organizationId];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.workspaceIds) where.push(`d.workspace_id = ANY(${param(filter.workspaceIds)})`);
  if (filter.deploymentIds) where.push(`d.id = ANY(${param(filter.deploymentIds)})`);
  if (filter.names) where.push(`d.name = ANY(${param(filter.names)})`);
  if (filter.visible) {
    where.push(`(d.workspace_id = ANY(${param(filter.visible.workspaceIds)}) OR d.id = ANY(${param(filter.visible.deploymentIds)}))`);
  }
  const whereSql = where.join(' AND ');
  const { rows } = await q.query<DeploymentRow & { total_count: string }>(
    `SELECT d.*, w.name AS workspace_name, count(*) OVER () AS total_count ${FROM}
      WHERE ${whereSql} ORDER BY ${page.orderBy} LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
    [...values, page.limit, page.offset],
  );
  return withTotal(rows, page.offset, async () => {
    const r = await q.query<{ n: number }>(`SELECT count(*)::int AS n ${FROM} WHERE ${whereSql}`, values);
    return r.rows[0]?.n ?? 0;
  });
}

export async function listAllDeployments(q: Queryable, filter: { organizationId?: string; workspaceId?: string }): Promise<DeploymentRow[]> {
  const { rows } = await q.query<DeploymentRow>(
    `SELECT d.*, w.name AS workspace_name ${FROM}
      WHERE ($1::text IS NULL OR d.organization_id = $1) AND ($2::text IS NULL OR d.workspace_id = $2)
      ORDER BY w.name, d.name, d.id`,
    [filter.organizationId ?? null, filter.workspaceId ?? null],
  );
  return rows;
}
