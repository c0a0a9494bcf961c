import { execFileSync } from 'node:child_process';

/**
 * Runs an ES module script in a fresh Node process that may call V8's test intrinsics (`--allow-natives-syntax`:
 * which compiler a function's code comes from), and answers what it printed on stdout, parsed as JSON.
 */
export function runInFreshNode(script: string): unknown {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out);
}
