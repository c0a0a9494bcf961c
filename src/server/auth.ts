import type { FastifyRequest } from 'fastify';
import type { Queryable } from './db.js';
import { hashToken, sameHash } from './crypto.js';
import { unauthorized } from './errors.js';
import { findTokenByHash } from './repo/identities.js';
import { principalFromGrants, type Principal } from './roles.js';

/** Resolves the bearer token to a principal; 401 when it is missing, unknown or expired. */
export async function authenticate(q: Queryable, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
  if (!match?.[1]) throw unauthorized();
  const hash = hashToken(match[1]);
  const row = await findTokenByHash(q, hash);
  // The lookup is by hash already; the constant-time comparison keeps the final check free of timing leaks.
  if (!row || !sameHash(row.token_hash, hash)) throw unauthorized('the API token is not valid: log in again or ask for a new token');
  if (row.expired) {
    throw unauthorized('the API token has expired: ask for a new token');
  }
  return principalFromGrants(
    {
      tokenId: row.id,
      tokenName: row.name,
      organizationId: row.organization_id,
      userId: row.user_id ?? undefined,
      username: row.username ?? undefined,
      fullName: row.full_name ?? undefined,
      subjectType: row.user_id ? 'USER' : 'SERVICEKEY',
      secretsFetchingEnabled: row.secrets_fetching_enabled,
      organizationRevision: String(row.revision),
    },
    row.roles,
    row.user_organization_role,
  );
}
