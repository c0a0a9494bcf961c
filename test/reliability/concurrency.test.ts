import { describe, expect, it } from 'vitest';
import { concurrencySuite } from '../../scripts/reliability/suites.mjs';
import { harness } from './harness.js';

describe('concurrency (small): dev start at once against one database', () => {
  it('all succeed (waiting on the lock, saying so) and the final state is right', async () => {
    const r = await concurrencySuite(harness, { clients: 3, connections: 100, rounds: 1 });
    expect(r.problems).toEqual([]);
    expect(r.failures + r.partialStates).toBe(0);
    expect(r.runs).toBe(3);
    expect(r.figures.gaveUpWaitingForLock).toBe(0);
  }, 120_000);
});
