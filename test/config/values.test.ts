import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/cli/errors.js';
import { Settings } from '../../src/config/settings.js';
import { airflowDb, developer, dump, FERNET_KEY } from '../dev/support.js';

// DESIGN: the registry has `allowed?`, and `config set` refuses a value outside it. A value that reaches a command
// another way (ENVMGR_<KEY>, a config file edited by hand) is checked too, where the command reads it: a clear error
// naming the key, the value, where it came from and the valid values, exit 1 (as a bad dev.wait). Unknown keys in a
// config file are a warning naming the file, line and key.

let homeDir: string;
let project: string;

beforeEach(async () => {
  const root = await mkdtemp(join(tmpdir(), 'envmgr-values-'));
  homeDir = join(root, 'home');
  project = join(root, 'proj');
  await mkdir(join(project, '.envmgr'), { recursive: true });
  await mkdir(join(homeDir, '.envmgr'), { recursive: true });
});

function load(env: NodeJS.ProcessEnv = {}) {
  const warnings: string[] = [];
  return Settings.load({ env, cwd: project, homeDir, warn: (m) => warnings.push(m) }).then((settings) => ({ settings, warnings }));
}

function errorOf(run: () => unknown): UserError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return err as UserError;
  }
  throw new Error('expected an error');
}

describe('values from the environment are checked against the registry', () => {
  it('ENVMGR_DEV_PREFER outside local|remote is an error naming the variable and the valid values', async () => {
    for (const bad of ['bogus', 'REMOTE', 'Local']) {
      const { settings } = await load({ ENVMGR_DEV_PREFER: bad });
      const err = errorOf(() => settings.checked('dev.prefer'));
      expect(err.message).toBe(`invalid value "${bad}" for dev.prefer (from ENVMGR_DEV_PREFER); valid values: local, remote`);
      expect(err.exitCode).toBe(1);
      // resolve() alone does not judge: config list can still show it.
      expect(settings.resolve('dev.prefer').value).toBe(bad);
    }
    expect((await load({ ENVMGR_DEV_PREFER: 'remote' })).settings.checked('dev.prefer').value).toBe('remote');
    expect((await load()).settings.checked('dev.prefer')).toMatchObject({ value: 'local', source: 'default' });
  });

  it('a boolean is true or false: yes, no, 1, 0, FALSE are errors, not guesses', async () => {
    for (const bad of ['yes', 'no', '1', '0', 'FALSE', 'True']) {
      const { settings } = await load({ ENVMGR_DISABLE_ENV_OBJECTS: bad });
      const err = errorOf(() => settings.bool('disable_env_objects'));
      expect(err.message).toBe(`invalid value "${bad}" for disable_env_objects (from ENVMGR_DISABLE_ENV_OBJECTS); valid values: true, false`);
      expect(err.exitCode).toBe(1);
    }
    expect((await load({ ENVMGR_DISABLE_ENV_OBJECTS: 'true' })).settings.bool('disable_env_objects')).toBe(true);
    expect((await load({ ENVMGR_DISABLE_ENV_OBJECTS: 'false' })).settings.bool('disable_env_objects')).toBe(false);
    expect((await load()).settings.bool('disable_env_objects')).toBe(false);
  });
});

describe('values from a config file edited by hand', () => {
  it('a bad value names the file and its line; YAML booleans are fine', async () => {
    const file = join(project, '.envmgr', 'config.yaml');
    await writeFile(file, '# mine\ndev:\n  wait: 30s\n  prefer: bogus\ndisable_env_objects: yes\n');
    const { settings } = await load();
    expect(errorOf(() => settings.checked('dev.prefer')).message).toBe(`invalid value "bogus" for dev.prefer (from ${file}:4); valid values: local, remote`);
    expect(errorOf(() => settings.bool('disable_env_objects')).message).toBe(`invalid value "yes" for disable_env_objects (from ${file}:5); valid values: true, false`);
    // The same from the cache (the second load does not parse the YAML again).
    const again = await load();
    expect(errorOf(() => again.settings.checked('dev.prefer')).message).toContain(`(from ${file}:4)`);

    await writeFile(file, 'disable_env_objects: true\ndev:\n  prefer: remote\n');
    const fixed = (await load()).settings;
    expect(fixed.bool('disable_env_objects')).toBe(true);
    expect(fixed.checked('dev.prefer').value).toBe('remote');
  });

  it('the global file too; an env var overrides a bad file value, and a bad dev.wait there names its line', async () => {
    const file = join(homeDir, '.envmgr', 'config.yaml');
    await writeFile(file, 'context: x\ncontexts:\n  x:\n    apiUrl: http://127.0.0.1:1\noutput:\n  color: never\ndev:\n  prefer: nope\n  wait: forever\n');
    const { settings, warnings } = await load();
    expect(warnings).toEqual([]);
    expect(errorOf(() => settings.checked('dev.prefer')).message).toContain(`(from ${file}:8)`);
    expect(errorOf(() => settings.durationMs('dev.wait')).message).toBe(`invalid duration "forever" for dev.wait (from ${file}:9); use e.g. 30s or 5m`);
    expect((await load({ ENVMGR_DEV_PREFER: 'local' })).settings.checked('dev.prefer').value).toBe('local');
  });

  it('set and unset still work on a file holding a bad value (they are how it is repaired)', async () => {
    const file = join(project, '.envmgr', 'config.yaml');
    await writeFile(file, 'dev:\n  prefer: bogus\ndisable_env_objects: yes\n');
    const { settings } = await load();
    await settings.set('dev.prefer', 'remote', 'project');
    expect(await settings.unset('disable_env_objects', 'project')).toBe(true);
    const fixed = (await load()).settings;
    expect(fixed.checked('dev.prefer').value).toBe('remote');
    expect(fixed.bool('disable_env_objects')).toBe(false);
    expect(await readFile(file, 'utf8')).toBe('dev:\n  prefer: remote\n');
  });
});

describe('unknown keys in a config file', () => {
  it('are warned about with file, line and key, from the parse and from the cache alike', async () => {
    const file = join(project, '.envmgr', 'config.yaml');
    await writeFile(file, 'dev:\n  unknownkey: 1\n  prefer: remote\nfoo: bar\nproject: p1\noutput:\n  color: [a]\ncontexts: {}\n');
    const expected = [
      `${file}:2: unknown config key "dev.unknownkey" is ignored; envmgr config list shows the valid keys`,
      `${file}:4: unknown config key "foo" is ignored; envmgr config list shows the valid keys`,
      `${file}:5: project holds keys (such as project.workspace), not a value; it is ignored`,
      `${file}:7: output.color must be a single value, not a list; it is ignored`,
      // contexts belong in the global file only.
      `${file}:8: unknown config key "contexts" is ignored; envmgr config list shows the valid keys`,
    ];
    const first = await load();
    expect(first.warnings).toEqual(expected);
    expect(first.settings.checked('dev.prefer').value).toBe('remote');
    expect((await load()).warnings).toEqual(expected);
  });
});

describe('the CLI', () => {
  const target = (db: string) => ['--db-url', db, '--fernet-key', FERNET_KEY, '--wait', '10s'];
  const SETTINGS_FILE = 'airflow:\n  variables:\n    - variable_name: v1\n      variable_value: x\n';

  it('dev start refuses a bad ENVMGR_DEV_PREFER / ENVMGR_DISABLE_ENV_OBJECTS / dev.prefer in the file, exit 1, nothing written', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    await dev.writeProjectFile('airflow_settings.yaml', SETTINGS_FILE);
    const before = await dump(db);

    const envPrefer = await dev.cli(['dev', 'start', ...target(db)], { env: { ENVMGR_DEV_PREFER: 'bogus' } });
    expect(envPrefer.code, envPrefer.stderr).toBe(1);
    expect(envPrefer.stderr).toContain('error: invalid value "bogus" for dev.prefer (from ENVMGR_DEV_PREFER); valid values: local, remote');

    const envBool = await dev.cli(['dev', 'start', ...target(db)], { env: { ENVMGR_DISABLE_ENV_OBJECTS: 'yes' } });
    expect(envBool.code, envBool.stderr).toBe(1);
    expect(envBool.stderr).toContain('error: invalid value "yes" for disable_env_objects (from ENVMGR_DISABLE_ENV_OBJECTS); valid values: true, false');

    const configFile = await dev.writeProjectFile('.envmgr/config.yaml', 'dev:\n  prefer: bogus\n');
    const filePrefer = await dev.cli(['dev', 'start', ...target(db)]);
    expect(filePrefer.code, filePrefer.stderr).toBe(1);
    expect(filePrefer.stderr).toContain(`error: invalid value "bogus" for dev.prefer (from ${configFile}:2); valid values: local, remote`);
    expect(await dump(db)).toBe(before);

    // A command that does not read dev.prefer is not stopped by it; config set repairs the file.
    const get = await dev.cli(['config', 'get', 'dev.wait']);
    expect(get.code, get.stderr).toBe(0);
    expect((await dev.cli(['config', 'set', 'dev.prefer', 'remote'])).code).toBe(0);
    const fixed = await dev.cli(['dev', 'start', ...target(db)]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toMatch(/1 created\n$/);
  });

  it('warns about an unknown key in a config file, naming file, line and key, and goes on', async () => {
    const dev = await developer(undefined);
    const configFile = await dev.writeProjectFile('.envmgr/config.yaml', 'dev:\n  wait: 30s\n  perfer: remote\n');
    const get = await dev.cli(['config', 'get', 'dev.wait']);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toBe('30s\n');
    expect(get.stderr).toBe(`warning: ${configFile}:3: unknown config key "dev.perfer" is ignored; envmgr config list shows the valid keys\n`);
  });
});
