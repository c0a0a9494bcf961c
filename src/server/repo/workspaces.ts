import type { Queryable } from '../db.js';
import { withTotal, type Page, type PageResult } from './listing.js';

export interface WorkspaceRow {
  id: string;
  organization_id: string;
  organization_name: string;
  name: string;
  description: string | null;
  created_at: Date;
  updated_at: Date;
}

export async function insertWorkspace(q: Queryable, ws: { id: string; organizationId: string; name: string; description?: string }): Promise<void> {
  await q.query('INSERT INTO workspaces (id, organization_id, name, description) VALUES ($1, $2, $3, $4)', [
    ws.id,
    ws.organizationId,
    ws.name,
    ws.description ?? null,
  ]);
}

const SELECT = `SELECT w.*, o.name AS organization_name FROM workspaces w JOIN organizations o ON o.id = w.organization_id`;

export async function getWorkspace(q: Queryable, organizationId: string, id: string): Promise<WorkspaceRow | undefined> {
  const { rows } = await q.query<WorkspaceRow>(`${SELECT} WHERE w.organization_id = $1 AND w.id = $2`, [organizationId, id]);
  return rows[0];
}

export interface WorkspaceFilter {
  organizationId: string;
  workspaceIds?: string[];
  names?: string[];
  /** Only these workspaces are visible to the caller (undefined: all). */
  visibleIds?: string[];
}

export async function listWorkspaces(q: Queryable, filter: WorkspaceFilter, page: Page): Promise<PageResult<WorkspaceRow>> {
  const where = ['w.organization_id = $1'];
  const values: unknown[] = [filter.organizationId];
  const add = (sql: string, value: unknown) => {
    values.push(value);
    where.push(sql.replace('?', `$${values.length}`));
  };
  if (filter.workspaceIds) add('w.id = ANY(?)', filter.workspaceIds);
  if (filter.names) add('w.name = ANY(?)', filter.names);
  if (filter.visibleIds) add('w.id = ANY(?)', filter.visibleIds);
  const whereSql = where.join(' AND ');
  const { rows } = await q.query<WorkspaceRow & { total_count: string }>(
    `SELECT w.*, o.name AS organization_name, count(*) OVER () AS total_count
       FROM workspaces w JOIN organizations o ON o.id = w.organization_id
      WHERE ${whereSql} ORDER BY ${page.orderBy} LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
    [...values, page.limit, page.offset],
  );
  return withTotal(rows, page.offset, async () => {
    const r = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM workspaces w WHERE ${whereSql}`, values);
    return r.rows[0]?.n ?? 0;
  });
}

export async function listAllWorkspaces(q: Queryable, organizationId?: string): Promise<WorkspaceRow[]> {
  const { rows } = await q.query<WorkspaceRow>(
    `${SELECT} WHERE ($1::text IS NULL OR w.organization_id = $1) ORDER BY o.name, w.name, w.id`,
    [organizationId ?? null],
  );
  return rows;
}
