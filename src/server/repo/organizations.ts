import type { Queryable } from '../db.js';

export interface OrganizationRow {
  id: string;
  name: string;
  environment_secrets_fetching_enabled: boolean;
  revision: string;
  created_at: Date;
  updated_at: Date;
}

export async function insertOrganization(q: Queryable, org: { id: string; name: string; environmentSecretsFetchingEnabled: boolean }): Promise<void> {
  await q.query('INSERT INTO organizations (id, name, environment_secrets_fetching_enabled) VALUES ($1, $2, $3)', [
    org.id,
    org.name,
    org.environmentSecretsFetchingEnabled,
  ]);
}

export async function getOrganization(q: Queryable, id: string): Promise<OrganizationRow | undefined> {
  const { rows } = await q.query<OrganizationRow>('SELECT * FROM organizations WHERE id = $1', [id]);
  return rows[0];
}

export async function listOrganizations(q: Queryable): Promise<OrganizationRow[]> {
  const { rows } = await q.query<OrganizationRow>('SELECT * FROM organizations ORDER BY name, id');
  return rows;
}

export async function updateOrganization(
  q: Queryable,
  id: string,
  patch: { name?: string; environmentSecretsFetchingEnabled?: boolean },
): Promise<OrganizationRow | undefined> {
  // An update that changes nothing writes nothing: updatedAt and the revision (every list cache) stay.
  const { rows } = await q.query<OrganizationRow>(
    `UPDATE organizations
        SET name = COALESCE($2, name),
            environment_secrets_fetching_enabled = COALESCE($3, environment_secrets_fetching_enabled),
            revision = revision + 1,
            updated_at = now()
      WHERE id = $1
        AND (name IS DISTINCT FROM COALESCE($2, name)
             OR environment_secrets_fetching_enabled IS DISTINCT FROM COALESCE($3, environment_secrets_fetching_enabled))
      RETURNING *`,
    [id, patch.name ?? null, patch.environmentSecretsFetchingEnabled ?? null],
  );
  return rows[0] ?? getOrganization(q, id);
}

/** Marks the organization's data as changed, for the response caches of every server process. */
export async function bumpRevision(q: Queryable, organizationId: string): Promise<void> {
  await q.query('UPDATE organizations SET revision = revision + 1 WHERE id = $1', [organizationId]);
}
