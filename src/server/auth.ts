import type { FastifyRequest } from 'fastify';
import type pg from 'pg';
import { Client, DatabaseError } from '../pg/driver.js';
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
 * in the database holds for every later request, in every process. What is shared: the requests read in the same
 * turn of the event loop, and those arriving while `maxInFlight` lookups are on their way, go together in the next
 * one (`token_hash = ANY(...)`). Under load that is one round trip for several requests, which spares the database
 * and this process most of the per-query work.
 */
export class TokenLookups {
  private waiting: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly q: Queryable,
    private readonly maxInFlight = 1,
    private readonly maxBatch = 100,
  ) {}

  find(hash: Buffer): Promise<TokenLookup | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ hash, resolve, reject });
      // Sent from the check phase, once every request the current poll phase read has joined the batch (no timer:
      // it goes out in the same turn of the event loop).
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    this.pump();
  };

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const all = this.waiting;
      const batch = all.length <= this.maxBatch ? all : all.slice(0, this.maxBatch);
      this.waiting = all.length <= this.maxBatch ? [] : all.slice(this.maxBatch);
      this.inFlight += 1;
      const unique = new Map<string, Buffer>();
      for (const w of batch) unique.set(w.hash.toString('latin1'), w.hash);
      findTokensByHashes(this.q, [...unique.values()])
        .then(
          (rows) => {
            const byHash = new Map<string, TokenLookup>();
            for (const r of rows) byHash.set(r.token_hash.toString('latin1'), r);
            for (const w of batch) w.resolve(byHash.get(w.hash.toString('latin1')));
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

export const LOOKUP_APPLICATION_NAME = 'envmgr token lookups';

/**
 * The connection token lookups go through: one of their own, outside the pool, so a lookup never waits behind
 * other queries for a pooled connection nor pays the pool's checkout on every request. Its session uses a generic
 * plan for prepared statements: left to choose, Postgres re-plans the lookup (a three-table join) with every
 * execution, and planning cost the database about twice what running it does. A failed connection is dropped and
 * the next query opens a new one; a lookup that failed because its connection was lost is sent once more on a new
 * connection (it only reads, and it is still sent after its requests arrived).
 */
export class LookupConnection implements Queryable {
  private current: { client: pg.Client; ready: Promise<pg.Client> } | undefined;
  private closed = false;

  private readonly config: pg.ClientConfig;

  constructor(config: pg.ClientConfig) {
    // Named, so an operator can tell these sessions from the pool's (a connection string's own name still wins).
    this.config = { ...config, application_name: LOOKUP_APPLICATION_NAME };
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const attempt = async (): Promise<pg.QueryResult<R>> => {
      const client = await this.connection();
      try {
        return await (typeof text === 'string' ? client.query<R>(text, values) : client.query<R>(text));
      } catch (err) {
        if (connectionLost(err)) this.drop(client);
        throw err;
      }
    };
    return attempt().catch((err: unknown) => {
      if (!connectionLost(err) || this.closed) throw err;
      return attempt();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const current = this.current;
    this.current = undefined;
    if (current) await current.ready.then((c) => c.end()).catch(() => undefined);
  }

  private connection(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new Error('the server is closing'));
    if (this.current) return this.current.ready;
    const client = new Client(this.config);
    // A connection lost while idle must not crash the process; the next query opens a new one.
    client.on('error', () => this.drop(client));
    const ready = (async () => {
      try {
        await client.connect();
        await client.query('SET plan_cache_mode = force_generic_plan').catch((err: unknown) => {
          // Postgres before 12 has no such setting: it plans as it always did, which is slower but right.
          if (!(err instanceof DatabaseError && err.code === '42704')) throw err;
        });
        return client;
      } catch (err) {
        this.drop(client);
        throw err;
      }
    })();
    this.current = { client, ready };
    return ready;
  }

  private drop(client: pg.Client): void {
    if (this.current?.client === client) this.current = undefined;
    client.end().catch(() => undefined);
  }
}

/**
 * Several lookup connections as one Queryable: each query goes to the connection with the fewest queries on their
 * way, so `TokenLookups` with as many lookups in flight as connections never queues one behind another.
 */
export class LookupConnections implements Queryable {
  private readonly connections: LookupConnection[];
  private readonly busy: number[];

  constructor(config: pg.ClientConfig, count: number) {
    this.connections = Array.from({ length: count }, () => new LookupConnection(config));
    this.busy = this.connections.map(() => 0);
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult<R>> {
    let index = 0;
    for (let i = 1; i < this.busy.length; i++) if (this.busy[i]! < this.busy[index]!) index = i;
    this.busy[index]! += 1;
    return this.connections[index]!.query<R>(text, values).finally(() => {
      this.busy[index]! -= 1;
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.close()));
  }
}

/** Anything but an SQL error reported by the server on a live session: a network failure, a terminated backend. */
function connectionLost(err: unknown): boolean {
  if (!(err instanceof DatabaseError)) return true;
  // Class 08: connection exception; class 57: operator intervention (terminated, shutting down).
  return typeof err.code === 'string' && (err.code.startsWith('08') || err.code.startsWith('57'));
}

// Requests answered by the same lookup row (the same token in one batch) share one principal; it is never modified.
const principals = new WeakMap<TokenLookup, Principal>();

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
  const known = principals.get(row);
  if (known) return known;
  const principal = principalFromGrants(
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
  principals.set(row, principal);
  return principal;
}
