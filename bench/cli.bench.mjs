// Start-up cost of the CLI: `envmgr --version` and `envmgr config get disable_env_objects` against `node -e 0`,
// interleaved in the same run so machine noise hits all three alike; medians of many runs.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 31);

function time(args, env, cwd) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
  return seconds;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function run() {
  const home = mkdtempSync(join(tmpdir(), 'envmgr-bench-'));
  const env = { PATH: process.env.PATH, HOME: home, ENVMGR_HOME: join(home, '.envmgr') };
  // As after a login, inside a project: a global file with a context and a project file, both read.
  const project = join(home, 'project');
  mkdirSync(join(home, '.envmgr'), { recursive: true });
  mkdirSync(join(project, '.envmgr'), { recursive: true });
  writeFileSync(
    join(home, '.envmgr', 'config.yaml'),
    'context: localhost:8080\ncontexts:\n  localhost:8080:\n    apiUrl: http://localhost:8080\n    organizationId: cabcdefghijklmnopqrstuvwx\n    workspaceId: cbcdefghijklmnopqrstuvwxy\n    user: demo\ndev:\n  prefer: local\n',
  );
  writeFileSync(join(project, '.envmgr', 'config.yaml'), '# project settings\ndisable_env_objects: true\n');
  const samples = { node: [], version: [], config: [] };
  try {
    for (let i = 0; i < 3; i++) {
      time([cli, '--version'], env, project); // warm the file cache
      time([cli, 'config', 'get', 'disable_env_objects'], env, project);
    }
    for (let i = 0; i < RUNS; i++) {
      samples.node.push(time(['-e', '0'], env, project));
      samples.version.push(time([cli, '--version'], env, project));
      samples.config.push(time([cli, 'config', 'get', 'disable_env_objects'], env, project));
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  const baseline = median(samples.node);
  const note = `median of ${RUNS} runs each, interleaved; baseline node -e 0`;
  return {
    'cli.startup.version': { value: median(samples.version), baseline, unit: 's', target: 2.0, note },
    'cli.startup.config_get': { value: median(samples.config), baseline, unit: 's', target: 3.0, note: `${note}; global and project config files present (parsed form cached after the first run)` },
  };
}
