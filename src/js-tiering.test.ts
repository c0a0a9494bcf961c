import { describe, expect, it } from 'vitest';
import { runInFreshNode } from '../test/support/fresh-node.js';
import { SHORT_RUN, setJsTieringBudget, V8_DEFAULT } from './js-tiering.js';

/**
 * Runs `body` in a fresh Node process that can ask V8 whether a function runs optimized code (`%GetOptimizationStatus`,
 * a V8 test intrinsic), with `tiering` being the built js-tiering module.
 */
function inFreshProcess(body: string): unknown {
  const script = `
    const tiering = await import(${JSON.stringify(new URL('../dist/js-tiering.js', import.meta.url).href)});
    // A fresh function each time (its own feedback and budget), doing a little work per call.
    const make = () => new Function('a', 'b', 'let s = 0; for (let i = 0; i < 8; i++) s = (s + a * i + b) | 0; return s;');
    const call = (f, times) => { let s = 0; for (let i = 0; i < times; i++) s = f(s & 1023, i) | 0; return s; };
    // %GetOptimizationStatus's bit 6: the function runs TurboFan code.
    const optimized = (f) => (%GetOptimizationStatus(f) & 64) !== 0;
    // Optimization runs on a background thread: wait for it (bounded), without calling the function again.
    const settle = async (f) => { for (let i = 0; i < 200 && !optimized(f); i++) await new Promise((r) => setTimeout(r, 10)); };
    ${body}
  `;
  return runInFreshNode(script);
}

describe('JavaScript tiering budget', () => {
  it("SHORT_RUN, set at run time, leaves a function on unoptimized code after calls that V8's default optimizes, until it runs far longer", () => {
    const result = inFreshProcess(`
      const usual = make();
      call(usual, 1000);
      await settle(usual);
      tiering.setJsTieringBudget(tiering.SHORT_RUN);
      const short = make();
      call(short, 1000);
      await new Promise((r) => setTimeout(r, 300));
      const afterShortCalls = optimized(short);
      call(short, 2000000);
      await settle(short);
      process.stdout.write(JSON.stringify({ usual: optimized(usual), afterShortCalls, afterLongRun: optimized(short) }));
    `);
    expect(result).toEqual({ usual: true, afterShortCalls: false, afterLongRun: true });
  });

  it('refuses budgets V8 would not take', () => {
    expect(() => setJsTieringBudget(0)).toThrow(RangeError);
    expect(() => setJsTieringBudget(2 ** 31)).toThrow(RangeError);
    expect(() => setJsTieringBudget(1.5)).toThrow(RangeError);
    expect(SHORT_RUN).toBeGreaterThan(V8_DEFAULT);
  });
});

describe('old-generation marking', () => {
  /** The kinds of garbage collection (perf_hooks gc entries) while a fresh process keeps ~40 MB of small objects. */
  const collections = (setup: string) =>
    inFreshProcess(`
      const { PerformanceObserver, constants } = await import('node:perf_hooks');
      ${setup}
      const seen = { incremental: 0, major: 0 };
      const observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (e.detail.kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) seen.incremental++;
          if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) seen.major++;
        }
      });
      observer.observe({ entryTypes: ['gc'] });
      const kept = [];
      for (let i = 0; i < 400000; i++) kept.push({ i, text: 'value ' + i, pair: [i, -i] });
      await new Promise((r) => setTimeout(r, 50));
      observer.disconnect();
      process.stdout.write(JSON.stringify({ ...seen, kept: kept.length }));
    `) as { incremental: number; major: number; kept: number };

  it('V8 marks incrementally by default, and not after tuneV8ForShortRun, which still collects the old generation', () => {
    const usual = collections('');
    const tuned = collections('tiering.tuneV8ForShortRun();');
    expect(usual.incremental).toBeGreaterThan(0);
    expect(tuned).toMatchObject({ incremental: 0, kept: 400000 });
    expect(tuned.major).toBeGreaterThan(0);
  });

  it('setIncrementalMarking(true) turns it back on', () => {
    const back = collections('tiering.setIncrementalMarking(false); tiering.setIncrementalMarking(true);');
    expect(back.incremental).toBeGreaterThan(0);
  });
});
