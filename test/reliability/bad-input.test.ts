import { describe, expect, it } from 'vitest';
import { badInputSuite, corpusCases } from '../../scripts/reliability/suites.mjs';
import { harness } from './harness.js';

describe('bad-input corpus', () => {
  it('holds at least 200 cases of every kind', async () => {
    const cases = await corpusCases();
    expect(cases.length).toBeGreaterThanOrEqual(200);
    const kinds = new Set(cases.map((c) => c.kind));
    expect([...kinds].sort()).toEqual(['api', 'cli', 'env', 'settings', 'uri']);
  });

  it('a sample (every 8th case): clear error, right exit code, no stack trace, nothing written', async () => {
    const r = await badInputSuite(harness, { sample: 8, concurrency: 2 });
    expect(r.problems).toEqual([]);
    expect(r.failures + r.partialStates).toBe(0);
    expect(r.runs).toBeGreaterThanOrEqual(25);
  }, 120_000);
});
