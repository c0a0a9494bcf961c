import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, tempHome, type CliResult } from './support/cli.js';
import { startTestEnvironmentManager, type TestEnvironmentManager } from './support/server.js';

let em: TestEnvironmentManager;
let serverLog = '';
beforeAll(async () => {
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
  em = await startTestEnvironmentManager({ logStream });
});
afterAll(async () => em?.close());

const SECRET = 'PLANTEDSECRET-7f3a9c';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('secrets never leak', () => {
  it('neither the token nor a secret value appears in any output, config file or log with --verbose', async () => {
    expect(em.token).toMatch(/^PLANTEDTOKEN/);
    const home = await tempHome();
    const project = join(home, 'project');
    const env = baseEnv(home);
    const outputs: [string, CliResult][] = [];
    const cli = async (args: string[], stdin?: string) => {
      const result = await runCli([...args, '--verbose'], { env, cwd: project, stdin });
      outputs.push([args.join(' '), result]);
      return result;
    };
    await mkdir(join(project, '.envmgr'), { recursive: true });
    const { alpha1 } = em.deployments;

    expect((await cli(['login', em.url, '--with-token'], em.token)).code).toBe(0);
    await cli(['login', em.url, '--token-login', em.token, '--workspace-id', 'alpha', '--json']);
    await cli(['auth', 'status']);
    await cli(['auth', 'status', '--json']);
    await cli(['workspace', 'list']);
    await cli(['workspace', 'switch', 'alpha']);
    await cli(['deployment', 'list']);
    await cli(['deployment', 'list', '--all', '--json']);
    await cli(['config', 'set', 'project.workspace', em.workspaces.alpha]);
    await cli(['config', 'set', 'dev.prefer', 'remote', '-g']);
    await cli(['config', 'get', 'dev.prefer']);
    await cli(['config', 'list']);
    await cli(['config', 'list', '--json']);
    expect((await cli(['env', 'connection', 'create', 'leaky', '--type', 'postgres', '--host', 'h', '--password-stdin', '--auto-link'], SECRET)).code).toBe(0);
    await cli(['env', 'connection', 'list']);
    await cli(['env', 'connection', 'list', '--format', 'yaml']);
    await cli(['env', 'connection', 'list', '-d', alpha1, '--resolve-linked']);
    await cli(['env', 'connection', 'get', 'leaky']);
    await cli(['env', 'connection', 'get', 'leaky', '--json']);
    await cli(['env', 'connection', 'update', 'leaky', '--host', 'h2']);
    await cli(['env', 'connection', 'update', 'leaky', '--password-stdin'], SECRET + '-2');
    await cli(['env', 'connection', 'link', 'create', 'leaky', '-d', alpha1, '--password-stdin'], SECRET + '-3');
    await cli(['env', 'connection', 'link', 'delete', 'leaky', '-d', alpha1]);
    await cli(['env', 'connection', 'update', 'leaky', '--exclude', alpha1]);
    expect((await cli(['env', 'airflow-variable', 'create', 'leaky_var', '--secret', '--value-stdin'], SECRET)).code).toBe(0);
    await cli(['env', 'airflow-variable', 'list']);
    await cli(['env', 'airflow-variable', 'get', 'leaky_var', '--format', 'yaml']);
    await cli(['env', 'airflow-variable', 'update', 'leaky_var', '--value-stdin'], SECRET + '-4');
    await cli(['env', 'airflow-variable', 'delete', 'leaky_var', '--yes']);
    await cli(['env', 'connection', 'delete', 'leaky', '--yes']);
    await cli(['env', 'connection', 'get', 'leaky']);
    await cli(['completion', 'bash']);
    await cli(['logout']);
    await cli(['auth', 'status']);
    // A failing call with the token in the environment.
    const failing = await runCli(['workspace', 'list', '--verbose'], { env: baseEnv(home, { ENVMGR_API_TOKEN: em.token, ENVMGR_DOMAIN: 'http://127.0.0.1:1' }), cwd: project });
    outputs.push(['env token, server down', failing]);

    // The runs really happened and --verbose printed debug lines (so the check below is not vacuous).
    expect(outputs.length).toBeGreaterThan(30);
    expect(outputs.some(([, r]) => r.stderr.includes('debug: GET /v1/users/self'))).toBe(true);
    for (const [command, result] of outputs) {
      for (const planted of [em.token, SECRET]) {
        expect(result.stdout, `stdout of ${command}`).not.toContain(planted);
        expect(result.stderr, `stderr of ${command}`).not.toContain(planted);
      }
    }
    const files = [...(await filesUnder(home))].filter((f) => !f.endsWith('credentials.json'));
    expect(files.some((f) => f.endsWith(join('.envmgr', 'config.yaml')))).toBe(true);
    for (const file of files) {
      const text = await readFile(file, 'utf8');
      expect(text, file).not.toContain(em.token);
      expect(text, file).not.toContain(SECRET);
    }
    expect(serverLog).toContain('"status"');
    expect(serverLog).not.toContain(em.token);
    expect(serverLog).not.toContain(SECRET);
  });
});
