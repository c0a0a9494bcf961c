import { HttpError } from './errors.js';

export interface AuthFailureLimit {
  /** Failed authentications (an unknown or expired token) a client may make per window. */
  max: number;
  windowMs: number;
}

export const DEFAULT_AUTH_FAILURE_LIMIT: AuthFailureLimit = { max: 100, windowMs: 60_000 };

const MAX_TRACKED_CLIENTS = 10_000;

/** Valid tokens remembered per client, so that its own requests are never held up by the count of lookups. */
const VALID_PER_CLIENT = 32;

interface ClientEntry {
  windowStart: number;
  failures: number;
  /** Lookups under way for tokens not yet seen valid from this client: token digest → requests. */
  pending?: Map<string, number>;
  /** Digests of tokens that authenticated for this client. */
  valid?: Set<string>;
}

export type AuthOutcome = 'valid' | 'refused' | 'other';

/**
 * Slows token guessing: a client (by address) that presented `max` tokens that did not authenticate within a window
 * gets 429 with Retry-After for every request until the window ends, before any token lookup is made. Counting only
 * presented-but-rejected tokens keeps a client that forgot the header (one 401) from ever being locked out. Kept per
 * process: several server processes each enforce it, which bounds the rate at N × max per window.
 */
export class AuthFailureLimiter {
  private readonly clients = new Map<string, ClientEntry>();

  constructor(
    private readonly limit: AuthFailureLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws 429 when the client is over its limit. */
  check(client: string): void {
    const entry = this.clients.get(client);
    if (!entry) return;
    const now = this.now();
    const ends = entry.windowStart + this.limit.windowMs;
    if (now >= ends) {
      // A window that ended: the failures go, what is still under way (and the valid tokens) stays.
      if (!entry.pending?.size && !entry.valid?.size) this.clients.delete(client);
      else {
        entry.windowStart = now;
        entry.failures = 0;
      }
      return;
    }
    if (entry.failures >= this.limit.max) throw this.tooMany(entry);
  }

  /**
   * Admits a request that presents a token (`token`: a digest of it) and answers how to settle it once the lookup is
   * done. Besides `check`, the lookups still under way for distinct tokens not yet seen valid from the client count
   * as failures to come: a burst of concurrent guesses is held to the limit too (they all passed `check` before any
   * of them was counted), while the client's own valid tokens, and many requests with one token, are never held up.
   */
  admit(client: string, token: string): (outcome: AuthOutcome) => void {
    this.check(client);
    const entry = this.entry(client);
    if (entry.valid?.has(token)) return (outcome) => this.settle(client, entry, token, outcome, false);
    const pending = (entry.pending ??= new Map());
    const distinct = pending.size + (pending.has(token) ? 0 : 1);
    if (entry.failures + distinct > this.limit.max) throw this.tooMany(entry);
    pending.set(token, (pending.get(token) ?? 0) + 1);
    return (outcome) => this.settle(client, entry, token, outcome, true);
  }

  private settle(client: string, entry: ClientEntry, token: string, outcome: AuthOutcome, counted: boolean): void {
    if (counted && entry.pending) {
      const left = (entry.pending.get(token) ?? 1) - 1;
      if (left > 0) entry.pending.set(token, left);
      else entry.pending.delete(token);
    }
    if (outcome === 'valid') {
      const valid = (entry.valid ??= new Set());
      valid.add(token);
      if (valid.size > VALID_PER_CLIENT) valid.delete(valid.values().next().value as string);
    } else if (outcome === 'refused') this.failed(client);
  }

  /** The client's entry, its window restarted when the last one ended (lookups under way and valid tokens kept). */
  private entry(client: string): ClientEntry {
    const now = this.now();
    let entry = this.clients.get(client);
    if (!entry) {
      if (this.clients.size >= MAX_TRACKED_CLIENTS) this.prune(now);
      entry = { windowStart: now, failures: 0 };
      this.clients.set(client, entry);
    } else if (now >= entry.windowStart + this.limit.windowMs) {
      entry.windowStart = now;
      entry.failures = 0;
    }
    return entry;
  }

  private tooMany(entry: ClientEntry): HttpError {
    const seconds = Math.max(1, Math.ceil((entry.windowStart + this.limit.windowMs - this.now()) / 1000));
    const error = new HttpError(429, `too many failed authentications from this client; try again in ${seconds}s`);
    (error as HttpError & { retryAfterSeconds?: number }).retryAfterSeconds = seconds;
    return error;
  }

  failed(client: string): void {
    this.entry(client).failures++;
  }

  private prune(now: number): void {
    for (const [client, entry] of this.clients) if (now >= entry.windowStart + this.limit.windowMs) this.clients.delete(client);
    // Still full of live windows: forget the oldest rather than grow without bound.
    if (this.clients.size >= MAX_TRACKED_CLIENTS) this.clients.delete(this.clients.keys().next().value as string);
  }
}
