import { execFileSync } from 'node:child_process';

/**
 * Test helper: finds a Python interpreter that can import the given modules (`python3` on PATH first, then Debian's
 * `/usr/bin/python3`, which CI gives python3-cryptography) and runs scripts that read JSON on stdin and print JSON.
 */
export function findPython(modules: readonly string[]): string | undefined {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(candidate, ['-c', modules.map((m) => `import ${m}`).join('; ') || 'pass'], { stdio: 'ignore', timeout: 20_000 });
      return candidate;
    } catch {
      // not there, or lacks a module: try the next one
    }
  }
  return undefined;
}

export function runPython<T>(python: string, script: string, input: unknown): T {
  const out = execFileSync(python, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out) as T;
}
