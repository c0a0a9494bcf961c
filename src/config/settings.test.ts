import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../cli/errors.js';
import { Settings } from './settings.js';
import { findProjectDir } from './files.js';
import { SETTINGS, envVarFor, parseDuration } from './registry.js';

let root: string;
let homeDir: string;
let project: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'envmgr-settings-'));
  homeDir = join(root, 'home');
  project = join(homeDir, 'work', 'proj');
  await mkdir(join(project, 'sub', 'deeper'), { recursive: true });
});

const load = (env: NodeJS.ProcessEnv = {}, cwd = join(project, 'sub', 'deeper')) => Settings.load({ env, cwd, homeDir });

describe('registry', () => {
  it('holds every key DESIGN.md names, with the documented defaults', () => {
    const byKey = Object.fromEntries(SETTINGS.map((s) => [s.key, s]));
    for (const key of ['disable_env_objects', 'dev.db_url', 'dev.settings_file', 'dev.env_file', 'dev.fernet_key_file', 'dev.start_command', 'dev.wait', 'dev.prefer', 'project.workspace', 'project.deployment', 'output.color']) {
      expect(byKey[key], key).toBeDefined();
    }
    expect(byKey['disable_env_objects']!.default).toBe('false');
    expect(byKey['dev.settings_file']!.default).toBe('airflow_settings.yaml');
    expect(byKey['dev.env_file']!.default).toBe('.env');
    expect(byKey['dev.wait']!.default).toBe('5m');
    expect(byKey['dev.prefer']!.default).toBe('local');
    expect(byKey['dev.prefer']!.allowed).toEqual(['local', 'remote']);
  });

  it('maps keys to environment variables and durations to milliseconds', () => {
    expect(envVarFor('dev.db_url')).toBe('ENVMGR_DEV_DB_URL');
    expect(envVarFor('disable_env_objects')).toBe('ENVMGR_DISABLE_ENV_OBJECTS');
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('250ms')).toBe(250);
  });
});

describe('Settings', () => {
  it('resolves flag > env > project > global > default', async () => {
    const global = await load();
    await global.set('dev.prefer', 'remote', 'global');
    expect((await load()).resolve('dev.prefer')).toMatchObject({ value: 'remote', source: 'global' });

    await mkdir(join(project, '.envmgr'));
    const inProject = await load();
    await inProject.set('dev.prefer', 'local', 'project');
    expect(inProject.projectFile).toBe(join(project, '.envmgr', 'config.yaml'));
    expect((await load()).resolve('dev.prefer')).toMatchObject({ value: 'local', source: 'project' });

    const withEnv = await load({ ENVMGR_DEV_PREFER: 'remote' });
    expect(withEnv.resolve('dev.prefer')).toMatchObject({ value: 'remote', source: 'env', origin: 'ENVMGR_DEV_PREFER' });
    expect(withEnv.resolve('dev.prefer', 'local')).toMatchObject({ value: 'local', source: 'flag' });
    expect((await load()).resolve('dev.wait')).toEqual({ key: 'dev.wait', value: '5m', source: 'default' });
    expect((await load()).resolve('dev.db_url')).toEqual({ key: 'dev.db_url', value: undefined, source: 'unset' });
  });

  it('rejects unknown keys and values outside the allowed set, naming the valid ones', async () => {
    const settings = await load();
    await expect(settings.set('dev.colour', 'x', 'global')).rejects.toThrow(/unknown config key "dev.colour".*dev\.db_url/);
    await expect(settings.set('dev.prefer', 'server', 'global')).rejects.toThrow(/valid values: local, remote/);
    await expect(settings.set('disable_env_objects', 'yes', 'global')).rejects.toBeInstanceOf(UsageError);
    await expect(settings.set('dev.wait', 'soon', 'global')).rejects.toThrow(/30s/);
    expect(() => settings.resolve('nope')).toThrow(UsageError);
    expect(await readFile(settings.globalFile, 'utf8').catch(() => 'missing')).toBe('missing');
  });

  it('writes the global file 0600 with booleans as YAML booleans, keeping comments', async () => {
    const settings = await load();
    await settings.set('disable_env_objects', 'true', 'global');
    const file = join(homeDir, '.envmgr', 'config.yaml');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe('disable_env_objects: true\n');
    await writeFile(file, '# mine\ndisable_env_objects: true\n');
    const again = await load();
    expect(again.bool('disable_env_objects')).toBe(true);
    await again.set('dev.db_url', 'postgresql://x@localhost/db', 'global');
    const text = await readFile(file, 'utf8');
    expect(text).toContain('# mine');
    expect(text).toContain('db_url: postgresql://x@localhost/db');
  });

  it('writes the project file in the current directory when no project root exists', async () => {
    const cwd = join(project, 'sub');
    const settings = await load({}, cwd);
    expect(settings.projectDir).toBeUndefined();
    const file = await settings.set('project.workspace', 'ws1', 'project');
    expect(file).toBe(join(cwd, '.envmgr', 'config.yaml'));
    expect((await load({}, join(cwd, 'deeper'))).resolve('project.workspace')).toMatchObject({ value: 'ws1', source: 'project' });
  });

  it('does not take the envmgr home (~/.envmgr) for a project root', async () => {
    await mkdir(join(homeDir, '.envmgr'), { recursive: true });
    expect(findProjectDir(project, join(homeDir, '.envmgr'))).toBeUndefined();
    await mkdir(join(project, '.envmgr'));
    expect(findProjectDir(join(project, 'sub'), join(homeDir, '.envmgr'))).toBe(project);
  });

  it('keeps login contexts per domain and moves the current one on removal', async () => {
    const settings = await load();
    await settings.saveContext('a.example', { apiUrl: 'https://api.a.example', organizationId: 'o1', user: 'u' }, true);
    await settings.saveContext('localhost:8080', { apiUrl: 'http://localhost:8080', organizationId: 'o2', workspaceId: 'w2' }, true);
    const reread = await load();
    expect(reread.currentDomain()).toBe('localhost:8080');
    expect(reread.context('localhost:8080')).toEqual({ apiUrl: 'http://localhost:8080', organizationId: 'o2', workspaceId: 'w2' });
    await reread.removeContext('localhost:8080');
    const after = await load();
    expect(after.currentDomain()).toBe('a.example');
    expect(after.context('localhost:8080')).toBeUndefined();
  });

  it('names the file and line of a broken config file', async () => {
    await mkdir(join(homeDir, '.envmgr'), { recursive: true });
    await writeFile(join(homeDir, '.envmgr', 'config.yaml'), 'context: a\n  bad: [\n');
    await expect(load()).rejects.toThrow(/config\.yaml \(line \d+\)/);
  });

  it('rejects a non-boolean from the environment, naming the variable', async () => {
    const settings = await load({ ENVMGR_DISABLE_ENV_OBJECTS: 'perhaps' });
    expect(() => settings.bool('disable_env_objects')).toThrow(/ENVMGR_DISABLE_ENV_OBJECTS/);
  });

  it('sees a hand edit even when the parsed form is cached, and survives a corrupt cache', async () => {
    await (await load()).set('dev.prefer', 'remote', 'global');
    const file = join(homeDir, '.envmgr', 'config.yaml');
    const cacheFile = join(homeDir, '.envmgr', 'cache', 'config-parsed.json');
    expect((await load()).resolve('dev.prefer').value).toBe('remote');
    expect(JSON.parse(await readFile(cacheFile, 'utf8')).entries[file].data).toEqual({ dev: { prefer: 'remote' } });
    // Same length, other text: the cache is keyed by content, not by size or time.
    await writeFile(file, 'dev:\n  prefer: locale\n'.replace('locale', 'local '));
    expect((await load()).resolve('dev.prefer').value).toBe('local');
    await writeFile(cacheFile, '{not json');
    expect((await load()).resolve('dev.prefer').value).toBe('local');
  });
});
