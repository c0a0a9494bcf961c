import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthFailureLimiter } from '../../src/server/auth-limit.js';
import { call, makeWorld, type World } from './helpers.js';

describe('rate limiting of failed authentication', () => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld({ authFailureLimit: { max: 3, windowMs: 60_000 } });
  });
  afterAll(async () => {
    await w?.close();
  });

  it('answers 429 with Retry-After after too many refused tokens from one client, whatever the next token', async () => {
    // Requests without a token are not guesses and never count.
    for (let i = 0; i < 5; i++) expect((await call(w.app, undefined, 'GET', '/v1/users/self')).status).toBe(401);
    expect((await call(w.app, w.tokens.ORGANIZATION_OWNER, 'GET', '/v1/users/self')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await call(w.app, `guess-${i}`, 'GET', '/v1/users/self')).status).toBe(401);
    const blocked = await call(w.app, 'guess-3', 'GET', '/v1/users/self');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.body).toMatchObject({ statusCode: 429, message: expect.stringMatching(/too many failed authentications/) });
    expect(typeof blocked.body.requestId).toBe('string');
    // The client is held off entirely until the window ends, valid token or not.
    expect((await call(w.app, w.tokens.ORGANIZATION_OWNER, 'GET', '/v1/users/self')).status).toBe(429);
    // Health stays open.
    expect((await call(w.app, undefined, 'GET', '/v1/health')).status).toBe(200);
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
});
