import { setFlagsFromString } from 'node:v8';

/**
 * When V8 optimizes the functions of a WebAssembly module. V8 runs a new module's code from its baseline compiler
 * (Liftoff) and recompiles a function with its optimizing compiler, on a background thread, once the function has
 * used up a budget (`--wasm-tiering-budget`, roughly bytes of code executed). V8 gives a module's functions the
 * budget in force when the module is compiled (and that in force at each later check), so a process can choose per
 * module by setting the flag around the compilation. Only speed depends on it, never results.
 *
 * The CLI's two kinds of module sit at opposite ends of the default for a short-lived process:
 * - undici's HTTP parser (llhttp) is essentially one very large function. Optimizing it takes ~120 ms of a core,
 *   during the very fetch it would speed up, on a machine where the server and Postgres want that core too; a command's
 *   few requests never earn it back. The CLI leaves it (and any module it does not compile itself) on the baseline
 *   code: `setDefaultWasmTieringBudget(NEVER)` when it creates its API client (cli/context.ts).
 * - envmgr's Fernet core is small (optimized in a few milliseconds) and runs hot from its first call, so it is
 *   compiled with `EAGER`: optimized right after its first calls instead of after whole batches ran on baseline code.
 * Measured with `npm run bench` (dev start, 10,000 connections): together ~6% of the command's time.
 */

/** V8's own default (Node 20's V8 11.3 and later). */
export const V8_DEFAULT = 1_800_000;
/** Optimize a function at its first budget check. */
export const EAGER = 1_000;
/** Never, in practice (about 2 GB of executed code; the flag is a signed 32-bit value). */
export const NEVER = 2_000_000_000;

/** The parts of the WebAssembly global used here (the project's TypeScript libs do not declare it). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
};

let defaultBudget = V8_DEFAULT;

function setBudget(budget: number): void {
  if (!Number.isInteger(budget) || budget < 1 || budget > 2 ** 31 - 1) throw new RangeError(`bad WebAssembly tiering budget ${budget}`);
  setFlagsFromString(`--wasm-tiering-budget=${budget}`);
}

/** The budget of every module compiled from now on other than through `instantiateWasm` (undici's llhttp). */
export function setDefaultWasmTieringBudget(budget: number): void {
  setBudget(budget);
  defaultBudget = budget;
}

/** Compiles and instantiates a module (without imports) with its own tiering budget; the default applies again afterwards. */
export function instantiateWasm(bytes: Uint8Array, budget: number): { exports: unknown } {
  setBudget(budget);
  try {
    return new WebAssembly.Instance(new WebAssembly.Module(bytes));
  } finally {
    setBudget(defaultBudget);
  }
}
