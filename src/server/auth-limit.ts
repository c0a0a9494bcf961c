import { HttpError } from './errors.js';

export interface AuthFailureLimit {
  /** Failed authentications (an unknown or expired token) a client may make per window. */
  max: number;
  windowMs: number;
}

export const DEFAULT_AUTH_FAILURE_LIMIT: AuthFailureLimit = { max: 100, windowMs: 60_000 };

const MAX_TRACKED_CLIENTS = 10_000;

/**
 * Slows token guessing: a client (by address) that presented `max` tokens that did not authenticate within a window
 * gets 429 with Retry-After for every request until the window ends, before any token lookup is made. Counting only
 * presented-but-rejected tokens keeps a client that forgot the header (one 401) from ever being locked out. Kept per
 * process: several server processes each enforce it, which bounds the rate at N × max per window.
 */
export class AuthFailureLimiter {
  private readonly clients = new Map<string, { windowStart: number; failures: number }>();

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
      this.clients.delete(client);
      return;
    }
    if (entry.failures >= this.limit.max) {
      const error = new HttpError(429, `too many failed authentications from this client; try again in ${Math.ceil((ends - now) / 1000)}s`);
      (error as HttpError & { retryAfterSeconds?: number }).retryAfterSeconds = Math.ceil((ends - now) / 1000);
      throw error;
    }
  }

  failed(client: string): void {
    const now = this.now();
    let entry = this.clients.get(client);
    if (!entry || now >= entry.windowStart + this.limit.windowMs) {
      if (!entry && this.clients.size >= MAX_TRACKED_CLIENTS) this.prune(now);
      entry = { windowStart: now, failures: 0 };
      this.clients.set(client, entry);
    }
    entry.failures++;
  }

  private prune(now: number): void {
    for (const [client, entry] of this.clients) if (now >= entry.windowStart + this.limit.windowMs) this.clients.delete(client);
    // Still full of live windows: forget the oldest rather than grow without bound.
    if (this.clients.size >= MAX_TRACKED_CLIENTS) this.clients.delete(this.clients.keys().next().value as string);
  }
}
