import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthFailureLimiter } from '../../src/server/auth-limit.js';
import { call, makeWorld, type World } from './helpers.js';

/** A world of its own per describe (a lockout lasts the window), its limit 3 refused tokens a minute. */
function limitedWorld(): () => World {
  let world: World | undefined;
  beforeAll(async () => {
    world = await makeWorld({ authFailureLimit: { max: 3, windowMs: 60_000 } });
  });
  afterAll(async () => {
    await world?.close();
  });
  // Called when a test runs, after beforeAll.
  return () => world!;
}

describe('rate limiting of failed authentication', () => {
  const world = limitedWorld();

  it('answers 429 with Retry-After after too many refused tokens from one client, whatever the next token', async () => {
    // Requests without a token are not guesses and never count.
    for (let i = 0; i < 5; i++) expect((await call(world().app, undefined, 'GET', '/v1/users/self')).status).toBe(401);
    expect((await call(world().app, world().tokens.ORGANIZATION_OWNER, 'GET', '/v1/users/self')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await call(world().app, `guess-${i}`, 'GET', '/v1/users/self')).status).toBe(401);
    const blocked = await call(world().app, 'guess-3', 'GET', '/v1/users/self');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.body).toMatchObject({ statusCode: 429, message: expect.stringMatching(/too many failed authentications/) });
    expect(typeof blocked.body.requestId).toBe('string');
    // The client is held off entirely until the window ends, valid token or not.
    expect((await call(world().app, world().tokens.ORGANIZATION_OWNER, 'GET', '/v1/users/self')).status).toBe(429);
    // Health stays open.
    expect((await call(world().app, undefined, 'GET', '/v1/health')).status).toBe(200);
  });
});

describe('rate limiting of concurrent guesses', () => {
  const world = limitedWorld();

  it('holds a burst of concurrent guesses to the limit too, while many requests with one valid token all pass', async () => {
    const valid = await Promise.all(Array.from({ length: 30 }, () => call(world().app, world().tokens.ORGANIZATION_OWNER, 'GET', '/v1/users/self')));
    expect(valid.map((r) => r.status)).toEqual(Array(30).fill(200));
    // Sent together: each passes the plain failure count before any is counted; the lookups under way count too.
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => call(world().app, `envmgr_guess_${i}`, 'GET', '/v1/users/self')));
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(37);
  });
});

describe('AuthFailureLimiter', () => {
  it('counts per client within a window and forgets when it ends', () => {
    let now = 1_000;
    const limiter = new AuthFailureLimiter({ max: 2, windowMs: 10_000 }, () => now);
    limiter.failed('a');
    limiter.failed('a');
    expect(() => limiter.check('a')).toThrow(/try again in 10s/);
    expect(() => limiter.check('b')).not.toThrow();
    now += 4_000;
    expect(() => limiter.check('a')).toThrow(/try again in 6s/);
    now += 6_000;
    expect(() => limiter.check('a')).not.toThrow();
    limiter.failed('a');
    expect(() => limiter.check('a')).not.toThrow();
  });

  it('counts lookups under way for distinct unverified tokens, not those of a token seen valid', () => {
    const limiter = new AuthFailureLimiter({ max: 2, windowMs: 10_000 }, () => 1_000);
    const first = limiter.admit('a', 'guess-1');
    limiter.admit('a', 'guess-2');
    expect(() => limiter.admit('a', 'guess-3')).toThrow(/too many failed authentications/);
    // The same token again is one lookup more, not one guess more.
    expect(() => limiter.admit('a', 'guess-2')).not.toThrow();
    first('valid');
    for (let i = 0; i < 10; i++) expect(() => limiter.admit('a', 'guess-1')).not.toThrow();
    expect(() => limiter.admit('b', 'other')).not.toThrow();
  });
});
