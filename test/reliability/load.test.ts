import { describe, expect, it } from 'vitest';
import { loadSuite } from '../../scripts/reliability/suites.mjs';
import { harness } from './harness.js';

describe('server under load (small): two server processes, mixed reads and writes', () => {
  it('no 5xx, no network error, every acknowledged write reads back from the other process', async () => {
    const r = await loadSuite(harness, { clients: 20, seconds: 1, seedObjects: 20 });
    expect(r.problems).toEqual([]);
    expect(r.failures).toBe(0);
    expect(r.figures.fiveXX).toBe(0);
    expect(r.figures.lostWrites).toBe(0);
    expect(Number(r.figures.acknowledgedWrites)).toBeGreaterThan(0);
    expect(r.figures.serverProcesses).toBe(2);
  }, 120_000);
});
