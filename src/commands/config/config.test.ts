import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Context } from '../../cli/context.js';
import { testIO } from '../../cli/io.js';
import { runProgram } from '../../cli/program.js';
import { runConfigGet } from './get.js';
import { runConfigList } from './list.js';
import { runConfigSet } from './set.js';
import { runConfigUnset } from './unset.js';

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'envmgr-config-cmd-'));
  const cwd = join(root, 'project');
  await mkdir(join(cwd, '.envmgr'), { recursive: true });
  const io = testIO();
  const ctx = new Context({ io, env: {}, cwd, homeDir: root, version: '0.0.0' });
  return { ctx, io, cwd, root };
}

describe('config commands', () => {
  it('set then get through run… functions', async () => {
    const { ctx, io } = await setup();
    await runConfigSet(ctx, { key: 'dev.settings_file', value: 'airflow/settings.yaml', global: false });
    await runConfigGet(ctx, { key: 'dev.settings_file', global: false });
    expect(io.stdout()).toBe('airflow/settings.yaml\n');
    expect(io.stderr()).toMatch(/Set dev\.settings_file = airflow\/settings\.yaml in .*project\/\.envmgr\/config\.yaml/);
  });

  it('unset removes a project value, so the global one (or the default) shows through again', async () => {
    const { ctx, io } = await setup();
    await runConfigSet(ctx, { key: 'dev.prefer', value: 'remote', global: true });
    await runConfigSet(ctx, { key: 'dev.prefer', value: 'local', global: false });
    await runConfigUnset(ctx, { key: 'dev.prefer', global: false });
    expect(io.stderr()).toMatch(/^Removed dev\.prefer from the project file$/m);
    await runConfigGet(ctx, { key: 'dev.prefer', global: false });
    expect(io.stdout()).toBe('remote\n');
    await runConfigUnset(ctx, { key: 'dev.prefer', global: false });
    expect(io.stderr()).toMatch(/^dev\.prefer was not set in the project file$/m);
    await runConfigUnset(ctx, { key: 'dev.prefer', global: true });
    await runConfigGet(ctx, { key: 'dev.prefer', global: false });
    expect(io.stdout()).toBe('remote\nlocal\n');
    await expect(runConfigUnset(ctx, { key: 'dev.nope', global: false })).rejects.toThrow(/unknown config key "dev\.nope"/);
  });

  it('list off a terminal is tab-separated key, value, source, description', async () => {
    const { ctx, io } = await setup();
    await runConfigList(ctx, { global: false });
    const rows = io.stdout().trim().split('\n').map((l) => l.split('\t'));
    expect(rows.find((r) => r[0] === 'dev.prefer')!.slice(0, 3)).toEqual(['dev.prefer', 'local', 'default']);
    expect(rows.find((r) => r[0] === 'dev.db_url')!.slice(0, 3)).toEqual(['dev.db_url', '', '']);
  });

  it('flags map to options: -g writes the global file', async () => {
    const { ctx, io, root } = await setup();
    expect(await runProgram(ctx, ['config', 'set', '-g', 'output.color', 'never'])).toBe(0);
    expect(io.stderr()).toContain(join(root, '.envmgr', 'config.yaml'));
    expect(await runProgram(ctx, ['config', 'get', 'output.color', '--json'])).toBe(0);
    expect(JSON.parse(io.stdout())).toMatchObject({ key: 'output.color', value: 'never', source: 'global' });
  });
});
