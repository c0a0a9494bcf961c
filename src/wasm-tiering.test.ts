import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runInFreshNode } from '../test/support/fresh-node.js';
import { EAGER, instantiateWasm, NEVER, setDefaultWasmTieringBudget, V8_DEFAULT } from './wasm-tiering.js';

/**
 * (module (func (export "<name>") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))), with a
 * three-letter export name so that each module's bytes differ (V8 shares one compiled module between identical bytes).
 */
function addModule(name: string): string {
  return `0061736d0100000001070160027f7f017f0302010007070103${Buffer.from(name).toString('hex')}00000a09010700200020016a0b`;
}

/**
 * Runs `body` in a fresh Node process that can ask V8 which compiler a WebAssembly function's code comes from
 * (`%IsTurboFanFunction`, a V8 test intrinsic), with `tiering` being the built wasm-tiering module.
 */
function inFreshProcess(body: string): unknown {
  const script = `
    const tiering = await import(${JSON.stringify(new URL('../dist/wasm-tiering.js', import.meta.url).href)});
    const fn = (instance) => Object.values(instance.exports)[0];
    const compile = (hex) => fn(new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(hex, 'hex'))));
    const optimized = (f) => %IsTurboFanFunction(f);
    const call = (f, times) => { let s = 0; for (let i = 0; i < times; i++) s = f(s, 1) | 0; return s; };
    // Optimization runs on a background thread: wait for it (bounded), without calling the function again.
    const settle = async (f) => { for (let i = 0; i < 500 && !optimized(f); i++) await new Promise((r) => setTimeout(r, 10)); };
    ${body}
  `;
  return runInFreshNode(script);
}

describe('WebAssembly tiering budgets', () => {
  it('EAGER gets a module optimized after a few calls, where the default budget does not', () => {
    const result = inFreshProcess(`
      const eager = fn(tiering.instantiateWasm(Buffer.from(${JSON.stringify(addModule('eag'))}, 'hex'), tiering.EAGER));
      const usual = compile(${JSON.stringify(addModule('usu'))});
      const sums = [call(eager, 1000), call(usual, 1000)];
      await settle(eager);
      process.stdout.write(JSON.stringify({ sums, eager: optimized(eager), usual: optimized(usual) }));
    `);
    expect(result).toEqual({ sums: [1000, 1000], eager: true, usual: false });
  });

  it('NEVER as the default keeps other modules on baseline code, even after what the default budget optimizes', () => {
    const result = inFreshProcess(`
      tiering.setDefaultWasmTieringBudget(tiering.NEVER);
      const never = compile(${JSON.stringify(addModule('nev'))});
      // A module compiled through instantiateWasm in between does not reset the default to V8's.
      fn(tiering.instantiateWasm(Buffer.from(${JSON.stringify(addModule('mid'))}, 'hex'), tiering.EAGER));
      const after = compile(${JSON.stringify(addModule('aft'))});
      tiering.setDefaultWasmTieringBudget(tiering.V8_DEFAULT);
      const usual = compile(${JSON.stringify(addModule('usu'))});
      const sums = [call(never, 300000), call(after, 300000), call(usual, 300000)];
      await settle(usual);
      process.stdout.write(JSON.stringify({ sums, never: optimized(never), after: optimized(after), usual: optimized(usual) }));
    `);
    expect(result).toEqual({ sums: [300000, 300000, 300000], never: false, after: false, usual: true });
  });

  it('sets V8 flags without a word on stderr, and refuses budgets V8 would not take', () => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', `
      const t = await import(${JSON.stringify(new URL('../dist/wasm-tiering.js', import.meta.url).href)});
      t.setDefaultWasmTieringBudget(t.NEVER);
      const add = Object.values(t.instantiateWasm(Buffer.from(${JSON.stringify(addModule('err'))}, 'hex'), t.EAGER).exports)[0];
      if (add(2, 3) !== 5) process.exit(3);
      t.setDefaultWasmTieringBudget(t.V8_DEFAULT);
    `], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(() => setDefaultWasmTieringBudget(0)).toThrow(RangeError);
    expect(() => setDefaultWasmTieringBudget(2 ** 31)).toThrow(RangeError);
    expect(() => instantiateWasm(Buffer.from(addModule('bad'), 'hex'), 1.5)).toThrow(RangeError);
    expect([EAGER, V8_DEFAULT, NEVER].every((b) => Number.isInteger(b) && b > 0 && b < 2 ** 31)).toBe(true);
  });
});
