import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
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

  it('unset leaves no empty section behind, and later keys are written in block style', async () => {
    const { ctx, cwd } = await setup();
    await runConfigSet(ctx, { key: 'dev.prefer', value: 'remote', global: false });
    await runConfigSet(ctx, { key: 'project.workspace', value: 'w1', global: false });
    await runConfigUnset(ctx, { key: 'dev.prefer', global: false });
    const file = join(cwd, '.envmgr', 'config.yaml');
    expect(await readFile(file, 'utf8')).toBe('project:\n  workspace: w1\n');
    // A new command reads the file (a flow `dev: {}` left behind would have kept dev.wait in braces).
    const again = new Context({ io: testIO(), env: {}, cwd, homeDir: join(cwd, '..'), version: '0.0.0' });
    await runConfigSet(again, { key: 'dev.wait', value: '2m', global: false });
    expect(await readFile(file, 'utf8')).toBe('project:\n  workspace: w1\ndev:\n  wait: 2m\n');
  });

  it('list off a terminal is tab-separated key, value, source, description', async () => {
    const { ctx, io } = await setup();
    await runConfigList(ctx, { global: false });
    const rows = io.stdout().trim().split('\n').map((l) => l.split('\t'));
    expect(rows.find((r) => r[0] === 'dev.prefer')!.slice(0, 3)).toEqual(['dev.prefer', 'local', 'default']);
    expect(rows.find((r) => r[0] === 'dev.db_url')!.slice(0, 3)).toEqual(['dev.db_url', '', 'unset']);
  });

  it('flags map to options: -g writes the global file', async () => {
    const { ctx, io, root } = await setup();
    expect(await runProgram(ctx, ['config', 'set', '-g', 'output.color', 'never'])).toBe(0);
    expect(io.stderr()).toContain(join(root, '.envmgr', 'config.yaml'));
    expect(await runProgram(ctx, ['config', 'get', 'output.color', '--json'])).toBe(0);
    expect(JSON.parse(io.stdout())).toMatchObject({ key: 'output.color', value: 'never', source: 'global' });
  });

  it('get and list show a bad value as it is and say what is wrong with it, naming the file and line', async () => {
    const { ctx, io, cwd } = await setup();
    const file = join(cwd, '.envmgr', 'config.yaml');
    await writeFile(file, 'dev:\n  prefer: remotely\n  wait: soon\n');
    const complaint = [
      `warning: invalid value "remotely" for dev.prefer (from ${file}:2); valid values: local, remote`,
      `warning: invalid value "soon" for dev.wait (from ${file}:3); use a number with a unit: 500ms, 30s, 5m, 1h`,
    ];
    expect(await runProgram(ctx, ['config', 'get', 'dev.prefer'])).toBe(0);
    expect(io.stdout()).toBe('remotely\n');
    expect(io.stderr()).toBe(complaint[0] + '\n');
    expect(await runProgram(ctx, ['config', 'get', 'dev.prefer', '--json'])).toBe(0);
    expect(JSON.parse(io.stdout().slice('remotely\n'.length))).toMatchObject({ value: 'remotely', problem: complaint[0]!.slice('warning: '.length) });

    const listed = testIO();
    const again = new Context({ io: listed, env: {}, cwd, homeDir: ctx.homeDir, version: '0.0.0' });
    expect(await runProgram(again, ['config', 'list'])).toBe(0);
    expect(listed.stdout()).toMatch(/^dev\.prefer\tremotely\tproject\t/m);
    expect(listed.stderr()).toBe([complaint[1], complaint[0]].join('\n') + '\n');
  });

  it('a bad output.color is a warning on every other command, and colour stays automatic', async () => {
    const { ctx, io, root } = await setup();
    await mkdir(join(root, '.envmgr'), { recursive: true });
    await writeFile(join(root, '.envmgr', 'config.yaml'), 'output:\n  color: purple\n');
    await runProgram(ctx, ['auth', 'status']);
    expect(io.stderr()).toContain(
      `warning: invalid value "purple" for output.color (from ${join(root, '.envmgr', 'config.yaml')}:2); valid values: auto, always, never; ` +
        'colour stays automatic (envmgr config set output.color auto|always|never)\n',
    );
    expect(ctx.globals.forceColor).not.toBe(true);
    // Mending it says nothing about the value it replaces.
    const mend = testIO();
    const again = new Context({ io: mend, env: {}, cwd: ctx.cwd, homeDir: root, version: '0.0.0' });
    expect(await runProgram(again, ['config', 'set', '-g', 'output.color', 'never'])).toBe(0);
    expect(mend.stderr()).not.toContain('warning');
  });

  it('masks the password of dev.db_url wherever it is shown, unless --show-secrets; the cache never holds it', async () => {
    const { ctx, io, root, cwd } = await setup();
    const url = 'postgresql://airflow:s3cr3t-pw@db.local:5432/airflow';
    expect(await runProgram(ctx, ['config', 'set', 'dev.db_url', url])).toBe(0);
    expect(await runProgram(ctx, ['config', 'set', '-g', 'output.color', 'never'])).toBe(0);
    expect(await runProgram(ctx, ['config', 'get', 'dev.db_url'])).toBe(0);
    expect(await runProgram(ctx, ['config', 'list'])).toBe(0);
    expect(await runProgram(ctx, ['config', 'list', '--json'])).toBe(0);
    expect(await runProgram(ctx, ['config', 'get', 'dev.db_url', '--json'])).toBe(0);
    expect(await runProgram(ctx, ['config', 'set', 'dev.db_url', url, '--json'])).toBe(0);
    expect(io.stdout() + io.stderr()).not.toContain('s3cr3t-pw');
    expect(io.stdout().split('\n')[0]).toBe('postgresql://airflow:****@db.local:5432/airflow');
    expect(io.stderr()).toContain('Set dev.db_url = postgresql://airflow:****@db.local:5432/airflow in ');
    expect(io.stderr()).toContain('(password masked; --show-secrets prints it)');

    const shown = testIO();
    const again = new Context({ io: shown, env: {}, cwd, homeDir: root, version: '0.0.0' });
    expect(await runProgram(again, ['config', 'get', 'dev.db_url', '--show-secrets'])).toBe(0);
    expect(await runProgram(again, ['config', 'list', '--show-secrets'])).toBe(0);
    const lines = shown.stdout().split('\n');
    expect(lines[0]).toBe(url);
    expect(lines.find((l) => l.startsWith('dev.db_url\t'))).toBe(`dev.db_url\t${url}\tproject\tURL of the local Airflow metadata database`);
    expect(shown.stderr()).toBe('');

    // The file the user asked for holds the URL; the parsed-config cache beside the global config does not.
    expect(await readFile(join(cwd, '.envmgr', 'config.yaml'), 'utf8')).toContain(url);
    const cache = JSON.parse(await readFile(join(root, '.envmgr', 'cache', 'config-parsed.json'), 'utf8')) as { entries: Record<string, { data: unknown }> };
    expect(Object.keys(cache.entries)).toEqual([join(root, '.envmgr', 'config.yaml')]);
    expect(JSON.stringify(cache)).not.toContain('s3cr3t');
  });

  it('rewrites a cache left by an older envmgr, which kept files holding a password', async () => {
    const { ctx, io, root, cwd } = await setup();
    const project = join(cwd, '.envmgr', 'config.yaml');
    await writeFile(project, 'dev:\n  db_url: postgresql://a:old-pw@h/db\n');
    await mkdir(join(root, '.envmgr', 'cache'), { recursive: true });
    const cacheFile = join(root, '.envmgr', 'cache', 'config-parsed.json');
    await writeFile(cacheFile, JSON.stringify({ version: 1, entries: { [project]: { text: 'dev:\n  db_url: postgresql://a:old-pw@h/db\n', data: { dev: { db_url: 'postgresql://a:old-pw@h/db' } } } } }));
    expect(await runProgram(ctx, ['config', 'get', 'dev.prefer'])).toBe(0);
    expect(io.stdout()).toBe('local\n');
    expect(await readFile(cacheFile, 'utf8')).not.toContain('old-pw');
  });
});
