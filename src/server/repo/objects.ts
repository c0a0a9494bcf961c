import { stringifyJsonExact } from '../../airflow/exact-json.js';
import type { Queryable } from '../db.js';
import type { ConnectionFields, VariableFields } from '../secrets.js';
import { withTotal, type Page, type PageResult } from './listing.js';

export type ObjectType = 'CONNECTION' | 'AIRFLOW_VARIABLE';
export type Scope = 'WORKSPACE' | 'DEPLOYMENT';

export interface Actor {
  id: string;
  subjectType: 'USER' | 'SERVICEKEY';
  username?: string;
  apiTokenName?: string;
}

export interface ObjectRow {
  id: string;
  organization_id: string;
  workspace_id: string;
  deployment_id: string | null;
  scope: Scope;
  scope_entity_id: string;
  object_key: string;
  object_type: ObjectType;
  description: string | null;
  auto_link_deployments: boolean;
  body: ConnectionFields | VariableFields;
  secrets: string | null;
  secrets_key_id: string | null;
  /** A Date, or already the API's text form in list rows. */
  created_at: Date | string;
  updated_at: Date | string;
  created_by: Actor;
  updated_by: Actor;
}

/** A row of the resolved list: an object, plus the overrides of the link that brought it to the deployment. */
export interface ResolvedRow extends ObjectRow {
  via_workspace: boolean;
  connection_overrides: ConnectionFields | null;
  airflow_variable_overrides: VariableFields | null;
  link_secrets: string | null;
  link_secrets_key_id: string | null;
}

export interface LinkRow {
  object_id: string;
  deployment_id: string;
  position: number;
  connection_overrides: ConnectionFields | null;
  airflow_variable_overrides: VariableFields | null;
  secrets: string | null;
  secrets_key_id: string | null;
}

export interface StoredObject {
  id: string;
  organizationId: string;
  workspaceId: string;
  deploymentId: string | null;
  scope: Scope;
  scopeEntityId: string;
  objectKey: string;
  objectType: ObjectType;
  description: string | null;
  autoLinkDeployments: boolean;
  body: ConnectionFields | VariableFields;
  secrets: string | null;
  secretsKeyId: string | null;
  actor: Actor;
}

export async function insertObject(q: Queryable, o: StoredObject): Promise<void> {
  await q.query(
    `INSERT INTO environment_objects (id, organization_id, workspace_id, deployment_id, scope, scope_entity_id, object_key,
        object_type, description, auto_link_deployments, body, secrets, secrets_key_id, created_by, updated_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`,
    [
      o.id, o.organizationId, o.workspaceId, o.deploymentId, o.scope, o.scopeEntityId, o.objectKey, o.objectType,
      o.description, o.autoLinkDeployments, stringifyJsonExact(o.body), o.secrets, o.secretsKeyId, JSON.stringify(o.actor),
    ],
  );
}

export async function updateObject(
  q: Queryable,
  o: Pick<StoredObject, 'id' | 'description' | 'autoLinkDeployments' | 'body' | 'secrets' | 'secretsKeyId' | 'actor'>,
): Promise<void> {
  await q.query(
    `UPDATE environment_objects
        SET description = $2, auto_link_deployments = $3, body = $4, secrets = $5, secrets_key_id = $6,
            updated_by = $7, updated_at = now()
      WHERE id = $1`,
    [o.id, o.description, o.autoLinkDeployments, stringifyJsonExact(o.body), o.secrets, o.secretsKeyId, JSON.stringify(o.actor)],
  );
}

export async function touchObject(q: Queryable, id: string, actor: Actor): Promise<void> {
  await q.query('UPDATE environment_objects SET updated_by = $2, updated_at = now() WHERE id = $1', [id, JSON.stringify(actor)]);
}

export async function getObject(q: Queryable, organizationId: string, id: string, forUpdate = false): Promise<ObjectRow | undefined> {
  const { rows } = await q.query<ObjectRow>(
    `SELECT * FROM environment_objects WHERE organization_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [organizationId, id],
  );
  return rows[0];
}

export async function deleteObject(q: Queryable, id: string): Promise<void> {
  await q.query('DELETE FROM environment_objects WHERE id = $1', [id]);
}

/**
 * The columns of an object row for lists: every column, with the two times already in API form (UTC, whole
 * seconds, like formatTime), so thousands of rows are not parsed into Dates only to be formatted back.
 */
const LIST_COLUMNS = `o.id, o.organization_id, o.workspace_id, o.deployment_id, o.scope, o.scope_entity_id, o.object_key,
  o.object_type, o.description, o.auto_link_deployments, o.body, o.secrets, o.secrets_key_id, o.created_by, o.updated_by,
  to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
  to_char(o.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS updated_at`;

export interface ObjectFilter {
  objectType?: ObjectType;
  objectKey?: string;
}

function filterSql(alias: string, filter: ObjectFilter, values: unknown[]): string {
  let sql = '';
  if (filter.objectType) {
    values.push(filter.objectType);
    sql += ` AND ${alias}.object_type = $${values.length}`;
  }
  if (filter.objectKey) {
    values.push(filter.objectKey);
    sql += ` AND ${alias}.object_key = $${values.length}`;
  }
  return sql;
}

/** Objects owned by one scope (a workspace or a deployment). */
export async function listOwnedObjects(
  q: Queryable,
  organizationId: string,
  scopeEntityId: string,
  filter: ObjectFilter,
  page: Page,
): Promise<PageResult<ObjectRow>> {
  const values: unknown[] = [organizationId, scopeEntityId];
  const where = `o.organization_id = $1 AND o.scope_entity_id = $2${filterSql('o', filter, values)}`;
  const { rows } = await q.query<ObjectRow & { total_count: string }>(
    `SELECT ${LIST_COLUMNS}, count(*) OVER () AS total_count FROM environment_objects o
      WHERE ${where} ORDER BY ${page.orderBy} LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
    [...values, page.limit, page.offset],
  );
  return withTotal(rows, page.offset, async () => {
    const r = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM environment_objects o WHERE ${where}`, values);
    return r.rows[0]?.n ?? 0;
  });
}

/**
 * API.md §Resolution in one statement: the deployment's own objects, plus the workspace's objects that reach it
 * (explicit link, or auto-link minus exclusions) and are not shadowed by a deployment object with the same key.
 */
export async function listResolvedObjects(
  q: Queryable,
  deployment: { id: string; workspaceId: string },
  filter: ObjectFilter,
  page: Page,
): Promise<PageResult<ResolvedRow>> {
  const values: unknown[] = [deployment.id, deployment.workspaceId];
  const own = filterSql('o', filter, values);
  // Narrow rows (id, sort keys) are resolved, counted, sorted and paged first; only the page's rows are then
  // joined to their full columns and link overrides, so sorting never carries the wide columns.
  const narrow = `
      SELECT o.id, o.object_key, o.object_type, o.created_at, o.updated_at, false AS via_workspace
        FROM environment_objects o
       WHERE o.scope_entity_id = $1 AND o.deployment_id = $1${own}
      UNION ALL
      SELECT o.id, o.object_key, o.object_type, o.created_at, o.updated_at, true
        FROM environment_objects o
       WHERE o.workspace_id = $2 AND o.scope = 'WORKSPACE'${own}
         AND (EXISTS (SELECT 1 FROM environment_object_links l WHERE l.object_id = o.id AND l.deployment_id = $1)
              OR (o.auto_link_deployments
                  AND NOT EXISTS (SELECT 1 FROM environment_object_exclusions e WHERE e.object_id = o.id AND e.deployment_id = $1)))
         AND NOT EXISTS (SELECT 1 FROM environment_objects d
                          WHERE d.scope_entity_id = $1 AND d.object_type = o.object_type AND d.object_key = o.object_key)`;
  const { rows } = await q.query<ResolvedRow & { total_count: string }>(
    `SELECT ${LIST_COLUMNS}, p.via_workspace, p.total_count,
            l.connection_overrides, l.airflow_variable_overrides, l.secrets AS link_secrets, l.secrets_key_id AS link_secrets_key_id
       FROM (SELECT o.id, o.via_workspace, count(*) OVER () AS total_count, row_number() OVER (ORDER BY ${page.orderBy}) AS rn
               FROM (${narrow}) o
              ORDER BY ${page.orderBy} LIMIT $${values.length + 1} OFFSET $${values.length + 2}) p
       JOIN environment_objects o ON o.id = p.id
       LEFT JOIN environment_object_links l ON p.via_workspace AND l.object_id = p.id AND l.deployment_id = $1
      ORDER BY p.rn`,
    [...values, page.limit, page.offset],
  );
  return withTotal(rows, page.offset, async () => {
    const r = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${narrow}) o`, values);
    return r.rows[0]?.n ?? 0;
  });
}

export async function getLinks(q: Queryable, objectIds: string[]): Promise<LinkRow[]> {
  if (objectIds.length === 0) return [];
  const { rows } = await q.query<LinkRow>(
    'SELECT * FROM environment_object_links WHERE object_id = ANY($1) ORDER BY object_id, position',
    [objectIds],
  );
  return rows;
}

export async function getExclusions(q: Queryable, objectIds: string[]): Promise<Array<{ object_id: string; deployment_id: string }>> {
  if (objectIds.length === 0) return [];
  const { rows } = await q.query<{ object_id: string; deployment_id: string }>(
    'SELECT object_id, deployment_id FROM environment_object_exclusions WHERE object_id = ANY($1) ORDER BY object_id, position',
    [objectIds],
  );
  return rows;
}

export interface NewLink {
  deploymentId: string;
  connectionOverrides: ConnectionFields | null;
  airflowVariableOverrides: VariableFields | null;
  secrets: string | null;
  secretsKeyId: string | null;
}

/** Replaces the object's links with these, in one batched statement. */
export async function replaceLinks(q: Queryable, objectId: string, links: NewLink[]): Promise<void> {
  await q.query('DELETE FROM environment_object_links WHERE object_id = $1', [objectId]);
  if (links.length === 0) return;
  await q.query(
    `INSERT INTO environment_object_links
       (object_id, deployment_id, position, connection_overrides, airflow_variable_overrides, secrets, secrets_key_id)
     SELECT $1, t.deployment_id, t.position, t.conn::json, t.var::json, t.secrets, t.key_id
       FROM unnest($2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
            AS t(deployment_id, position, conn, var, secrets, key_id)`,
    [
      objectId,
      links.map((l) => l.deploymentId),
      links.map((_, i) => i),
      links.map((l) => (l.connectionOverrides ? stringifyJsonExact(l.connectionOverrides) : null)),
      links.map((l) => (l.airflowVariableOverrides ? stringifyJsonExact(l.airflowVariableOverrides) : null)),
      links.map((l) => l.secrets),
      links.map((l) => l.secretsKeyId),
    ],
  );
}

export async function replaceExclusions(q: Queryable, objectId: string, deploymentIds: string[]): Promise<void> {
  await q.query('DELETE FROM environment_object_exclusions WHERE object_id = $1', [objectId]);
  if (deploymentIds.length === 0) return;
  await q.query(
    `INSERT INTO environment_object_exclusions (object_id, deployment_id, position)
     SELECT $1, t.deployment_id, t.position FROM unnest($2::text[], $3::int[]) AS t(deployment_id, position)`,
    [objectId, deploymentIds, deploymentIds.map((_, i) => i)],
  );
}

export async function addExclusion(q: Queryable, objectId: string, deploymentId: string): Promise<void> {
  await q.query(
    `INSERT INTO environment_object_exclusions (object_id, deployment_id, position)
     SELECT $1, $2, COALESCE(max(position) + 1, 0) FROM environment_object_exclusions WHERE object_id = $1
     ON CONFLICT (object_id, deployment_id) DO NOTHING`,
    [objectId, deploymentId],
  );
}
