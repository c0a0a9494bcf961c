import type { FastifyRequest } from 'fastify';
import type { Queryable } from './db.js';
import { hashToken, sameHash } from './crypto.js';
import { unauthorized } from './errors.js';
import { findTokensByHashes, type TokenLookup } from './repo/identities.js';
import { principalFromGrants, type Principal } from './roles.js';

interface Waiting {
  hash: Buffer;
  resolve: (row: TokenLookup | undefined) => void;
  reject: (err: unknown) => void;
}

/**
 * Token lookups for API requests, several per round trip. A request's lookup is always a query sent AFTER the
 * request arrived (nothing about tokens, roles, expiry or the organization is kept between requests), so a change
 * in the database holds for every later request, in every process. What is shared: while `maxInFlight` lookups are
 * on their way to the database, requests arriving meanwhile wait and then go together in the next one
 * (`token_hash = ANY(...)`), which under load spares the database most of its per-query work.
 */
export class TokenLookups {
  private waiting: Waiting[] = [];
  private inFlight = 0;

  constructor(
    private readonly q: Queryable,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 100,
  ) {}

  find(hash: Buffer): Promise<TokenLookup | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ hash, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.inFlight += 1;
      const unique = new Map(batch.map((w) => [w.hash.toString('hex'), w.hash]));
      findTokensByHashes(this.q, [...unique.values()])
        .then(
          (rows) => {
            const byHash = new Map(rows.map((r) => [r.token_hash.toString('hex'), r]));
            for (const w of batch) w.resolve(byHash.get(w.hash.toString('hex')));
          },
          (err: unknown) => {
            for (const w of batch) w.reject(err);
          },
        )
        .finally(() => {
          this.inFlight -= 1;
          this.pump();
        });
    }
  }
}

/** Resolves the bearer token to a principal; 401 when it is missing, unknown or expired. */
export async function authenticate(lookups: TokenLookups, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
  if (!match?.[1]) throw unauthorized();
  const hash = hashToken(match[1]);
  const row = await lookups.find(hash);
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
