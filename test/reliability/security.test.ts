import { describe, expect, it } from 'vitest';
import { securitySuite } from '../../scripts/reliability/suites.mjs';
import { harness } from './harness.js';

describe('security (small)', () => {
  it('planted secrets only where asked for, 0600/0700 modes, failed authentication never a 5xx and rate-limited past 100 per client', async () => {
    const r = await securitySuite(harness, { failedAuthAttempts: 110 });
    expect(r.problems).toEqual([]);
    expect(r.failures).toBe(0);
    expect(Number(r.figures.filesChecked)).toBeGreaterThanOrEqual(3);
    expect(r.figures.failedAuthStatuses).not.toHaveProperty('500');
    expect(r.figures.failedAuthStatuses).toEqual({ 401: 100, 429: 10 });
  }, 120_000);
});
