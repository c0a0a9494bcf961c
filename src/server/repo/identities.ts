import type { Queryable } from '../db.js';
import type { OrganizationRole, RoleGrant } from '../roles.js';

export interface UserRow {
  id: string;
  organization_id: string;
  username: string;
  full_name: string | null;
  organization_role: OrganizationRole | null;
  created_at: Date;
}

export interface TokenRow {
  id: string;
  organization_id: string;
  user_id: string | null;
  name: string;
  token_hash: Buffer;
  roles: RoleGrant[];
  expires_at: Date | null;
  created_at: Date;
}

export async function insertUser(
  q: Queryable,
  u: { id: string; organizationId: string; username: string; fullName?: string; organizationRole?: OrganizationRole },
): Promise<void> {
  await q.query('INSERT INTO users (id, organization_id, username, full_name, organization_role) VALUES ($1, $2, $3, $4, $5)', [
    u.id,
    u.organizationId,
    u.username,
    u.fullName ?? null,
    u.organizationRole ?? null,
  ]);
}

export async function getUser(q: Queryable, id: string): Promise<UserRow | undefined> {
  const { rows } = await q.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
  return rows[0];
}

export async function insertToken(
  q: Queryable,
  t: { id: string; organizationId: string; userId?: string; name: string; tokenHash: Buffer; roles: RoleGrant[]; expiresAt?: Date },
): Promise<void> {
  await q.query(
    'INSERT INTO api_tokens (id, organization_id, user_id, name, token_hash, roles, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [t.id, t.organizationId, t.userId ?? null, t.name, t.tokenHash, JSON.stringify(t.roles), t.expiresAt ?? null],
  );
}

export interface TokenLookup {
  id: string;
  organization_id: string;
  user_id: string | null;
  name: string;
  token_hash: Buffer;
  roles: RoleGrant[];
  expired: boolean;
  username: string | null;
  full_name: string | null;
  user_organization_role: OrganizationRole | null;
  secrets_fetching_enabled: boolean;
  revision: string;
}

/** One query per request: the token, its user and the organization facts the request needs, nothing more. */
export async function findTokenByHash(q: Queryable, hash: Buffer): Promise<TokenLookup | undefined> {
  // Named, so each pooled connection prepares it once: it runs on every request.
  const { rows } = await q.query<TokenLookup>({
    name: 'envmgr-find-token',
    text: `SELECT t.id, t.organization_id, t.user_id, t.name, t.token_hash, t.roles,
                  (t.expires_at IS NOT NULL AND t.expires_at <= now()) AS expired,
                  u.username, u.full_name, u.organization_role AS user_organization_role,
                  o.environment_secrets_fetching_enabled AS secrets_fetching_enabled, o.revision::text AS revision
             FROM api_tokens t
             JOIN organizations o ON o.id = t.organization_id
             LEFT JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = $1`,
    values: [hash],
  });
  return rows[0];
}

/**
 * The same lookup for several hashes in one round trip (API requests arriving together, see TokenLookups); rows
 * come back in no particular order, at most one per hash.
 */
export async function findTokensByHashes(q: Queryable, hashes: Buffer[]): Promise<TokenLookup[]> {
  const { rows } = await q.query<TokenLookup>({
    name: 'envmgr-find-tokens',
    text: `SELECT t.id, t.organization_id, t.user_id, t.name, t.token_hash, t.roles,
                  (t.expires_at IS NOT NULL AND t.expires_at <= now()) AS expired,
                  u.username, u.full_name, u.organization_role AS user_organization_role,
                  o.environment_secrets_fetching_enabled AS secrets_fetching_enabled, o.revision::text AS revision
             FROM api_tokens t
             JOIN organizations o ON o.id = t.organization_id
             LEFT JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = ANY($1::bytea[])`,
    values: [hashes],
  });
  return rows;
}

export async function listUsers(q: Queryable, organizationId?: string): Promise<UserRow[]> {
  const { rows } = await q.query<UserRow>(
    'SELECT * FROM users WHERE ($1::text IS NULL OR organization_id = $1) ORDER BY username, id',
    [organizationId ?? null],
  );
  return rows;
}

export async function listTokens(q: Queryable, organizationId?: string): Promise<Omit<TokenRow, 'token_hash'>[]> {
  const { rows } = await q.query<Omit<TokenRow, 'token_hash'>>(
    `SELECT id, organization_id, user_id, name, roles, expires_at, created_at FROM api_tokens
      WHERE ($1::text IS NULL OR organization_id = $1) ORDER BY created_at, id`,
    [organizationId ?? null],
  );
  return rows;
}
