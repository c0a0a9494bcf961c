import { setFlagsFromString } from 'node:v8';

/**
 * When V8 optimizes the CLI's JavaScript. V8 runs a function from its interpreter and baseline code and recompiles
 * it with its optimizing compiler (TurboFan, on background threads) once it has used up an interrupt budget
 * (`--interrupt-budget`, roughly bytes of bytecode executed), which V8 gives each function when its feedback is reset,
 * so a budget set at run time applies from then on. Only speed depends on it, never results.
 *
 * A sync moves thousands of rows through a few dozen functions once each (plan, digests, COPY text), in a process
 * that lives for a fraction of a second on a machine where Postgres wants a core at the same time. With V8's default
 * budget TurboFan compiles most of them, and on two cores that compiling costs the sync more than the optimized code
 * saves: measured on 10,000 connections (`npm run bench`'s metadb child), 15% less wall time and a sixth less CPU with
 * `SHORT_RUN`, and the same time at 100,000 connections, where the hottest functions still get optimized. (No
 * optimizing at all was as fast at 10,000 and 10% slower at 100,000.) The CLI sets it when it opens the metadata
 * database (sync/target.ts); the long-running server keeps V8's default.
 */

/** V8's own default (Node 20's V8 11.3). */
export const V8_DEFAULT = 67_584;
/** About fifteen times V8's: only functions that run for tens of milliseconds are optimized. */
export const SHORT_RUN = 1_000_000;

/** The budget of JavaScript functions from now on. */
export function setJsTieringBudget(budget: number): void {
  if (!Number.isInteger(budget) || budget < 1 || budget > 2 ** 31 - 1) throw new RangeError(`bad JavaScript tiering budget ${budget}`);
  setFlagsFromString(`--interrupt-budget=${budget}`);
}

/**
 * How V8 collects the old generation from now on. V8 marks it incrementally by default: once the old generation
 * nears a soft limit it marks in small steps between pieces of JavaScript (and on helper threads), so that no single
 * pause is long, then finishes with a short atomic pause. A short batch process wants throughput, not short pauses:
 * the steps and the bookkeeping that lets marking run beside JavaScript cost more in all, and marking starts well
 * before the heap is full. Without incremental marking V8 collects the old generation in one pause (its parallel
 * helpers still help), at the hard limit only. Measured on the 10,000-connection sync of `npm run bench`'s metadb
 * child: a first sync into an empty database needed no old-generation collection at all and took about a tenth
 * less wall time; the second (half differ) still needed one and took the same time. Only speed and peak memory
 * depend on it, never results.
 */
export function setIncrementalMarking(on: boolean): void {
  setFlagsFromString(on ? '--incremental-marking' : '--no-incremental-marking');
}

/** V8 as a sync wants it in a short-lived process: `SHORT_RUN` tiering, no incremental marking. */
export function tuneV8ForShortRun(): void {
  setJsTieringBudget(SHORT_RUN);
  setIncrementalMarking(false);
}
