import { describe, expect, it } from 'vitest';
import { crashSuite } from '../../scripts/reliability/suites.mjs';
import { harness } from './harness.js';

describe('crash safety (small): kill -9 during dev start', () => {
  it('after each kill the database holds the old or the new state, and a re-run converges', async () => {
    const r = await crashSuite(harness, { connections: 150, kills: 3 });
    expect(r.problems).toEqual([]);
    expect(r.partialStates).toBe(0);
    expect(r.failures).toBe(0);
    // Every kill was classified: old, new, or the run finished before the kill landed.
    expect(Number(r.figures.killsFoundOld) + Number(r.figures.killsFoundNew) + Number(r.figures.finishedBeforeKill)).toBe(3);
    expect(r.runs).toBe(6);
  }, 120_000);
});
