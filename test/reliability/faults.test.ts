import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, faultSuite } from '../../scripts/reliability/suites.mjs';
import { harness } from './harness.js';

describe('API faults (small): a fault-injecting proxy between the CLI and the server', () => {
  it('one case per fault kind on the first request: retried through or a clean failure, nothing written', async () => {
    const r = await faultSuite(harness, { connections: 20, randomRuns: 0, modes: ['first'] });
    expect(r.problems).toEqual([]);
    expect(r.failures + r.partialStates).toBe(0);
    expect(r.runs).toBe(FAULT_KINDS.length);
    // A reset, a 502/503, a delay past the timeout, a truncated body and an HTML error page on a GET are all retried.
    expect(Number(r.figures.succeededThroughRetries)).toBeGreaterThanOrEqual(6);
  }, 120_000);

  it('every request faulted: exit 1 with a clear message naming the fault, nothing written', async () => {
    const r = await faultSuite(harness, { connections: 10, randomRuns: 0, modes: ['always'], kinds: ['truncated', 'html-error', 'invalid-json'] });
    expect(r.problems).toEqual([]);
    expect(r.failures + r.partialStates).toBe(0);
    expect(r.figures.failedCleanly).toBe(3);
    const messages = (r.figures.failureMessages as string[]).join('\n');
    expect(messages).toMatch(/truncated: error: cannot reach http:\/\/127\.0\.0\.1:\d+: the answer was cut short/);
    expect(messages).toMatch(/html-error: error: an HTML page, not an Environment Manager answer .*\(HTTP 502\)/);
    expect(messages).toMatch(/invalid-json: error: GET .* answered something that is not JSON/);
  }, 120_000);
});
