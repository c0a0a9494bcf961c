import { describe, expect, it } from 'vitest';
import { FUZZ_TARGETS, fuzzSuite } from '../../scripts/reliability/suites.mjs';

describe('parser fuzzing (small)', () => {
  it('URI, JSON form, .env and settings readers: only documented errors, 500 runs each', async () => {
    const r = await fuzzSuite({ createDatabase: () => Promise.reject(new Error('unused')) }, { runs: 500, hangMs: 10_000 });
    expect(r.problems).toEqual([]);
    expect(r.failures).toBe(0);
    expect(r.runs).toBe(500 * FUZZ_TARGETS.length);
    // The generators do reach the parsers' error paths (Airflow's own errors), not only the happy path.
    expect(Number(r.figures['uri documented errors'])).toBeGreaterThan(0);
    expect(Number(r.figures['json documented errors'])).toBeGreaterThan(0);
  }, 120_000);
});
