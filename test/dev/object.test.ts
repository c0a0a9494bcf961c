import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ROOT, runCommand } from '../cli/support/cli.js';
import { airflowDb, developer, dump, FERNET_KEY, readBack, sql } from './support.js';

const fixture = (name: string) => join(ROOT, 'fixtures', name);

function target(db: string, key = FERNET_KEY): string[] {
  return ['--db-url', db, '--fernet-key', key, '--wait', '10s'];
}

/** Plain objects of a database's decrypted state, for equality between two databases. */
async function snapshot(db: string, key = FERNET_KEY) {
  const s = await readBack(db, key);
  // rowHash covers the stored (encrypted, random-IV) text, which differs between two writes of the same value.
  const sorted = <T extends object>(m: Map<string, T>) =>
    [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, { ...v, rowHash: undefined }]);
  return { connections: sorted(s.connections), variables: sorted(s.variables), pools: sorted(s.pools) };
}

describe('object import', () => {
  it("imports Astro's settings format as Astro documents it: fields, conn_uri, conn_extra as map and JSON text, pools, variables", async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    const run = await dev.cli(['object', 'import', '-s', fixture('settings/full.yaml'), ...target(db)]);
    expect(run.code, run.stderr).toBe(0);
    const s = await readBack(db);
    expect(s.connections.get('warehouse')).toMatchObject({
      conn_type: 'postgres', host: 'db.example.com', schema: 'analytics', login: 'etl', password: 's3cr3t#pa$$', port: 5432,
      extra: { sslmode: 'require', connect_timeout: 10 },
    });
    // Parsed the way Airflow parses the URI: %40 decoded, query values as strings.
    expect(s.connections.get('api_uri')).toMatchObject({
      conn_type: 'http', host: 'api.example.com', login: 'user', password: 'p@ss', port: 8443, schema: 'v1', extra: { timeout: '30', verify: 'false' },
    });
    expect(s.connections.get('aws_default')!.extra).toEqual({ region_name: 'eu-central-1', config_kwargs: { retries: { mode: 'standard' } } });
    // conn_extra replaces the URI's query, as `airflow connections add --conn-uri … --conn-extra …` does.
    expect(s.connections.get('uri_with_extra_override')).toMatchObject({ conn_type: 'mysql', host: 'mysql', login: 'root', port: 3306, schema: 'app', extra: { charset: 'utf8mb4' } });
    expect(s.pools.get('etl_pool')).toMatchObject({ slots: 5, description: 'Pool for ETL tasks', include_deferred: false });
    expect(s.pools.get('unlimited')!.slots).toBe(-1);
    expect(s.variables.get('retries')!.value).toBe('3');
    expect(s.variables.get('config_json')!.value).toBe('{"a": [1, 2], "b": null}');
  });

  it("loads nothing from the template `astro dev init` writes, and reports it", async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('2.10');
    const run = await dev.cli(['object', 'import', '-s', fixture('settings/astro-template.yaml'), ...target(db)]);
    expect(run.code, run.stderr).toBe(0);
    expect(await sql(db, 'SELECT 1 FROM connection')).toEqual([]);
  });

  it('is also reachable as envmgr dev object, with the same flags and outcome', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    const run = await dev.cli(['dev', 'object', 'import', '-s', fixture('settings/full.yaml'), '-v', ...target(db)]);
    expect(run.code, run.stderr).toBe(0);
    const s = await readBack(db);
    expect(s.connections.size).toBe(0);
    expect(s.variables.get('retries')!.value).toBe('3');
    const exported = await dev.cli(['dev', 'object', 'export', '--env-export', '-v', '-e', 'vars.env', ...target(db)]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(dotenv.parse(await readFile(join(dev.home, 'project', 'vars.env'), 'utf8')).AIRFLOW_VAR_RETRIES).toBe('3');
    // The summary counts the kinds asked for only.
    expect(exported.stderr).toMatch(/^Exported 3 variables to vars\.env \(mode 0600\)$/m);
    // Pools alone have no .env form: refused before anything is opened or written.
    const poolsOnly = await dev.cli(['dev', 'object', 'export', '--env-export', '-p', '-e', 'pools.env', ...target(db)]);
    expect(poolsOnly.code).toBe(2);
    expect(poolsOnly.stderr).toMatch(/a \.env file has no form for pools/);
    await expect(readFile(join(dev.home, 'project', 'pools.env'), 'utf8')).rejects.toThrow();
  });

  it('imports only the kinds asked for with -c / -v / -p', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.2');
    expect((await dev.cli(['object', 'import', '-s', fixture('settings/full.yaml'), '-v', '-p', ...target(db)])).code).toBe(0);
    const s = await readBack(db);
    expect(s.connections.size).toBe(0);
    expect(s.variables.size).toBe(3);
    expect([...s.pools.keys()].sort()).toEqual(['default_pool', 'etl_pool', 'unlimited']);
  });

  it('with -c / -v / -p, judges only the entries of those kinds; a problem of the file itself still stops everything', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.2');
    const file = await dev.writeProjectFile('mixed.yaml', [
      'airflow:',
      '  connections:',
      '    - conn_id: good_conn',
      '      conn_type: http',
      '  variables:',
      '    - variable_name: bad_var', // line 6: no variable_value
    ].join('\n'));
    const before = await dump(db);
    // The variable is what -v asks for: it is invalid, so nothing is written.
    const vars = await dev.cli(['object', 'import', '-s', file, '-v', ...target(db)]);
    expect(vars.code).toBe(1);
    expect(vars.stderr).toMatch(/^invalid: mixed\.yaml:6: variable bad_var: variable_value is required/m);
    expect(await dump(db)).toBe(before);
    // -c does not read the variables: the connection goes in, and the variable's problem is not this command's.
    const conns = await dev.cli(['object', 'import', '-s', file, '-c', ...target(db)]);
    expect(conns.code, conns.stderr).toBe(0);
    expect(conns.stderr).not.toMatch(/bad_var/);
    const s = await readBack(db);
    expect([...s.connections.keys()]).toEqual(['good_conn']);
    expect(s.variables.size).toBe(0);

    // A key the file must not have is the file's problem, whichever kinds are asked for.
    const shapeless = await dev.writeProjectFile('shapeless.yaml', 'airflow:\n  connections:\n    - conn_id: other_conn\n      conn_type: http\n  pool: []\n');
    const afterFirst = await dump(db);
    const run = await dev.cli(['object', 'import', '-s', shapeless, '-c', ...target(db)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^invalid: shapeless\.yaml:5: unknown key "pool" under airflow/m);
    expect(await dump(db)).toBe(afterFirst);
  });

  it('honours --on-conflict fail and skip for rows envmgr did not write', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    await sql(db, "INSERT INTO connection (conn_id, conn_type, host, is_encrypted, is_extra_encrypted) VALUES ('warehouse', 'http', 'mine', false, false)");
    const before = await dump(db);
    const failed = await dev.cli(['object', 'import', '-s', fixture('settings/full.yaml'), '--on-conflict', 'fail', ...target(db)]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/1 object already exists \(connection warehouse\)/);
    expect(await dump(db)).toBe(before);

    const skipped = await dev.cli(['object', 'import', '-s', fixture('settings/full.yaml'), '--on-conflict', 'skip', ...target(db)]);
    expect(skipped.code, skipped.stderr).toBe(0);
    // The line says what this command did (skipped), not also the planner's "left as is (overwrite to replace it)".
    expect(skipped.stderr).toMatch(/^conflict: connection warehouse: a local row envmgr did not write; skipped \(--on-conflict skip\)$/m);
    expect(skipped.stderr).not.toMatch(/overwrite to replace/);
    // --json carries the same reason, without another command's option for replacing the row.
    const skippedJson = await dev.cli(['--json', 'object', 'import', '-s', fixture('settings/full.yaml'), '--on-conflict', 'skip', ...target(db)]);
    expect(skippedJson.code, skippedJson.stderr).toBe(0);
    const report = JSON.parse(skippedJson.stdout) as { rows: Array<{ key: string; action: string; note?: string }> };
    expect(report.rows.find((r) => r.key === 'warehouse')).toMatchObject({ action: 'conflict', note: 'a local row envmgr did not write' });
    let s = await readBack(db);
    expect(s.connections.get('warehouse')!.host).toBe('mine');
    expect(s.connections.has('api_uri')).toBe(true);

    const overwritten = await dev.cli(['object', 'import', '-s', fixture('settings/full.yaml'), ...target(db)]);
    expect(overwritten.code, overwritten.stderr).toBe(0);
    s = await readBack(db);
    expect(s.connections.get('warehouse')!.host).toBe('db.example.com');
  });
});

describe('object import: what the database cannot hold, and invalid .env lines', () => {
  it("refuses values wider than this database's columns before writing (Airflow 2.7: login varchar(500), password token varchar(5000)), naming file, line and field", async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('2.7');
    const file = join(dev.home, 'project', 'wide.yaml');
    // 3,700 characters encrypt to a token of more than 5,000; 3,600 to one of less (Fernet pads to 16 bytes, then base64).
    await writeFile(file, [
      'airflow:', '  connections:',
      '    - conn_id: long_password', '      conn_type: http', `      conn_password: "${'p'.repeat(3700)}"`,
      '    - conn_id: long_login', '      conn_type: http', `      conn_login: ${'l'.repeat(501)}`,
      '    - conn_id: long_type', `      conn_type: ${'t'.repeat(501)}`,
      '    - conn_id: fits', '      conn_type: http', `      conn_login: ${'l'.repeat(500)}`, `      conn_password: "${'p'.repeat(3600)}"`,
      '',
    ].join('\n'));
    const before = await dump(db);
    const run = await dev.cli(['object', 'import', '-s', file, ...target(db)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^invalid: wide\.yaml:5: connection long_password: password is 3700 characters long and 5028 once encrypted .*connection\.password column holds at most 5000 .*\(field conn_password\)$/m);
    expect(run.stderr).toMatch(/^invalid: wide\.yaml:8: connection long_login: login is 501 characters long; .*connection\.login column holds at most 500 .*\(field conn_login\)$/m);
    expect(run.stderr).toMatch(/^invalid: wide\.yaml:10: connection long_type: conn_type is 501 characters long; at most 500 are allowed \(field conn_type\)$/m);
    expect(run.stderr).not.toMatch(/value too long|unexpected/);
    expect(await dump(db)).toBe(before);

    const skipped = await dev.cli(['object', 'import', '-s', file, '--skip-invalid', ...target(db)]);
    expect(skipped.code).toBe(1);
    expect(skipped.stderr).toMatch(/3 invalid objects skipped/);
    const s = await readBack(db);
    expect([...s.connections.keys()]).toEqual(['fits']);
    expect(s.connections.get('fits')!.password).toBe('p'.repeat(3600));

    // Airflow 2.8+ stores login and password as text: the same file is fine there but for conn_type.
    const newer = await airflowDb('3.2');
    const wide = await dev.cli(['object', 'import', '-s', file, '--skip-invalid', ...target(newer)]);
    expect(wide.stderr).not.toMatch(/long_password|long_login/);
    expect([...(await readBack(newer)).connections.keys()].sort()).toEqual(['fits', 'long_login', 'long_password']);
  });

  it('with --skip-invalid, writes nothing of an id any of whose .env lines was reported (set twice, unterminated quote); warns of an empty AIRFLOW_CONN_*', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.2');
    await writeFile(join(dev.home, 'project', 'bad.env'), [
      'AIRFLOW_CONN_DUP=http://a', 'AIRFLOW_CONN_DUP=ftp://b', 'AIRFLOW_CONN_dup=sftp://c',
      'AIRFLOW_VAR_UNTERM="abc', 'AIRFLOW_CONN_EMPTY=', 'AIRFLOW_VAR_FINE=1', '',
    ].join('\n'));
    const run = await dev.cli(['--json', 'object', 'import', '--env-file', 'bad.env', '--skip-invalid', ...target(db)]);
    expect(run.code).toBe(1);
    const s = await readBack(db);
    expect([...s.connections.keys()]).toEqual([]);
    expect([...s.variables.keys()]).toEqual(['fine']);
    expect(run.stderr).toMatch(/^warning: bad\.env:5: AIRFLOW_CONN_EMPTY is empty, which Airflow takes for "not set": not read$/m);
    const report = JSON.parse(run.stdout) as { invalid: Array<{ line: number; kind: string; key: string }> };
    // In file order, each naming the object it is about.
    expect(report.invalid.map((p) => [p.line, p.kind, p.key])).toEqual([[2, 'connection', 'dup'], [3, 'connection', 'dup'], [4, 'variable', 'unterm']]);
  });
});

describe('the installed bin', () => {
  it('hands --env-file to envmgr, not to Node (which would exit 9 on a missing file before envmgr starts)', async () => {
    const dev = await developer(undefined);
    // Executed through its shebang, as npm's bin link runs it.
    const run = await runCommand(join(ROOT, 'dist/cli/main.js'), ['object', 'import', '--env-file', 'missing.env', '--db-url', 'postgresql://u@127.0.0.1:1/x', '--wait', '1s'], { env: dev.env, cwd: join(dev.home, 'project') });
    expect(run.stderr).toMatch(/cannot read \.env file .*missing\.env: no such file/);
    expect(run.code).toBe(1);
  });
});

describe('object export', () => {
  it('round-trips through .env: export --env-export, then import --env-file into an empty database gives identical rows', async () => {
    for (const serialization of ['uri', 'json']) {
      const dev = await developer(undefined);
      const source = await airflowDb('3.1');
      expect((await dev.cli(['object', 'import', '-s', fixture('settings/full.yaml'), '-c', '-v', ...target(source)])).code).toBe(0);
      const exported = await dev.cli(['object', 'export', '--env-export', '-e', 'out.env', '--serialization', serialization, ...target(source)]);
      expect(exported.code, exported.stderr).toBe(0);
      const file = join(dev.home, 'project', 'out.env');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const text = await readFile(file, 'utf8');
      // The real dotenv parser reads back the secret exactly (the URI form percent-encodes it).
      const parsed = dotenv.parse(text);
      expect(Object.keys(parsed).sort()).toEqual([
        'AIRFLOW_CONN_API_URI', 'AIRFLOW_CONN_AWS_DEFAULT', 'AIRFLOW_CONN_URI_WITH_EXTRA_OVERRIDE', 'AIRFLOW_CONN_WAREHOUSE',
        'AIRFLOW_VAR_CONFIG_JSON', 'AIRFLOW_VAR_ENVIRONMENT', 'AIRFLOW_VAR_RETRIES',
      ]);
      expect(parsed.AIRFLOW_VAR_CONFIG_JSON).toBe('{"a": [1, 2], "b": null}');

      const target2 = await airflowDb('3.1');
      const imported = await dev.cli(['object', 'import', '--env-file', 'out.env', ...target(target2)]);
      expect(imported.code, imported.stderr).toBe(0);
      expect(await snapshot(target2)).toEqual(await snapshot(source));
    }
  });

  it('round-trips through airflow_settings.yaml, pools included', async () => {
    const dev = await developer(undefined);
    const source = await airflowDb('2.10');
    expect((await dev.cli(['object', 'import', '-s', fixture('settings/full.yaml'), ...target(source)])).code).toBe(0);
    expect((await dev.cli(['object', 'export', '-s', 'exported.yaml', ...target(source)])).code).toBe(0);
    const file = join(dev.home, 'project', 'exported.yaml');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const copy = await airflowDb('2.10');
    const imported = await dev.cli(['object', 'import', '-s', 'exported.yaml', ...target(copy)]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(await snapshot(copy)).toEqual(await snapshot(source));
  });

  it('merges into existing files: same key replaced in place, others kept, nothing duplicated', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    expect((await dev.cli(['object', 'import', '-s', fixture('settings/full.yaml'), ...target(db)])).code).toBe(0);
    await dev.writeProjectFile('.env', '# project settings\nAIRFLOW_VAR_ENVIRONMENT=old\nOTHER_SETTING=kept\n');
    await dev.writeProjectFile('airflow_settings.yaml', [
      'airflow:',
      '  connections:',
      '    - conn_id: warehouse',
      '      conn_type: sqlite',
      '    - conn_id: keep_me',
      '      conn_type: http',
      '  variables:',
      '    - variable_name: untouched',
      '      variable_value: yes',
      '',
    ].join('\n'));
    for (let i = 0; i < 2; i++) {
      expect((await dev.cli(['object', 'export', '--env-export', ...target(db)])).code).toBe(0);
      expect((await dev.cli(['object', 'export', ...target(db)])).code).toBe(0);
    }
    const env = await readFile(join(dev.home, 'project', '.env'), 'utf8');
    const lines = env.split('\n');
    expect(lines[0]).toBe('# project settings');
    expect(lines[1]).toBe('AIRFLOW_VAR_ENVIRONMENT=dev');
    expect(lines[2]).toBe('OTHER_SETTING=kept');
    expect(lines.filter((l) => l.startsWith('AIRFLOW_VAR_ENVIRONMENT=')).length).toBe(1);
    expect(lines.filter((l) => l.startsWith('AIRFLOW_CONN_WAREHOUSE=')).length).toBe(1);

    const yaml = parseYaml(await readFile(join(dev.home, 'project', 'airflow_settings.yaml'), 'utf8')) as {
      airflow: { connections: { conn_id: string; conn_type: string }[]; variables: { variable_name: string }[] };
    };
    const ids = yaml.airflow.connections.map((c) => c.conn_id);
    expect(ids.slice(0, 2)).toEqual(['warehouse', 'keep_me']);
    expect(ids.filter((id) => id === 'warehouse').length).toBe(1);
    expect(yaml.airflow.connections[0]!.conn_type).toBe('postgres');
    expect(yaml.airflow.variables.map((v) => v.variable_name)).toContain('untouched');
    await writeFile(join(dev.home, 'unused'), '');
  });

  it('refuses a .env export of ids that differ only in case (one AIRFLOW_* name for both), naming them, and writes nothing', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    await dev.writeProjectFile('s.yaml', [
      'airflow:',
      '  connections:',
      '    - {conn_id: my-conn.1, conn_type: postgres, conn_host: h}',
      '    - {conn_id: MY-CONN.1, conn_type: mysql, conn_host: h2}',
      '  variables:',
      '    - {variable_name: foo, variable_value: lower}',
      '    - {variable_name: FOO, variable_value: upper}',
      '',
    ].join('\n'));
    expect((await dev.cli(['object', 'import', '-s', 's.yaml', ...target(db)])).code).toBe(0);
    await dev.writeProjectFile('.env', 'KEEP=1\n');
    const run = await dev.cli(['object', 'export', '--env-export', ...target(db)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("connections 'MY-CONN.1' and 'my-conn.1' would both be AIRFLOW_CONN_MY-CONN.1");
    expect(run.stderr).toContain("variables 'FOO' and 'foo' would both be AIRFLOW_VAR_FOO");
    expect(run.stderr).toContain('nothing was written');
    expect(await readFile(join(dev.home, 'project', '.env'), 'utf8')).toBe('KEEP=1\n');
    // The settings file holds them apart.
    expect((await dev.cli(['object', 'export', '-s', 'out.yaml', ...target(db)])).code).toBe(0);
    // With one of each pair gone, the .env export goes ahead and says the upper-case ids come back lower-cased.
    await sql(db, "DELETE FROM connection WHERE conn_id = 'my-conn.1'");
    await sql(db, "DELETE FROM variable WHERE key = 'foo'");
    const cased = await dev.cli(['object', 'export', '--env-export', ...target(db)]);
    expect(cased.code, cased.stderr).toBe(0);
    expect(cased.stderr).toMatch(/^note: MY-CONN\.1, FOO: a \.env name holds no case, so importing this file gives them lower-cased/m);
  });

  it('stores plaintext with the flags false when the key is set empty, and Airflow-readable either way', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    const run = await dev.cli(['object', 'import', '-s', fixture('settings/full.yaml'), '-c', ...target(db, '')]);
    expect(run.code, run.stderr).toBe(0);
    const rows = await sql<{ password: string; is_encrypted: boolean; is_extra_encrypted: boolean }>(db, "SELECT password, is_encrypted, is_extra_encrypted FROM connection WHERE conn_id = 'warehouse'");
    expect(rows[0]).toEqual({ password: 's3cr3t#pa$$', is_encrypted: false, is_extra_encrypted: false });

    // A key added later: the rows envmgr wrote in the clear are written again, encrypted, as an encryption update.
    const keyed = await dev.cli(['--json', 'object', 'import', '-s', fixture('settings/full.yaml'), '-c', ...target(db)]);
    expect(keyed.code, keyed.stderr).toBe(0);
    const report = JSON.parse(keyed.stdout) as { rows: Array<{ key: string; action: string; fields?: string[] }> };
    expect(report.rows.find((r) => r.key === 'warehouse')).toMatchObject({ action: 'update', fields: ['encryption'] });
    const after = await sql<{ password: string; is_encrypted: boolean; is_extra_encrypted: boolean }>(db, "SELECT password, is_encrypted, is_extra_encrypted FROM connection WHERE conn_id = 'warehouse'");
    expect(after[0]).toMatchObject({ is_encrypted: true, is_extra_encrypted: true });
    expect(after[0]!.password).not.toContain('s3cr3t');
    expect((await readBack(db)).connections.get('warehouse')!.password).toBe('s3cr3t#pa$$');
    const again = JSON.parse((await dev.cli(['--json', 'object', 'import', '-s', fixture('settings/full.yaml'), '-c', ...target(db)])).stdout) as typeof report;
    expect(again.rows.every((r) => r.action === 'unchanged')).toBe(true);
  });

  it('says in words, and as a user error, when the file to export to cannot be read or written', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    expect((await dev.cli(['object', 'import', '-s', fixture('settings/full.yaml'), ...target(db)])).code).toBe(0);
    await dev.writeProjectFile('plain-file', 'not a directory\n');
    const underFile = await dev.cli(['object', 'export', '-s', 'plain-file/airflow_settings.yaml', ...target(db)]);
    expect(underFile.code).toBe(1);
    expect(underFile.stderr).toMatch(/cannot read plain-file\/airflow_settings\.yaml: a parent is not a directory; nothing was written/);
    expect(underFile.stderr).not.toMatch(/unexpected|ENOTDIR/);
    // /proc takes no new files (not even as root): the write itself fails.
    const unwritable = await dev.cli(['object', 'export', '-s', '/proc/envmgr-export-test.yaml', ...target(db)]);
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(/cannot write \/proc\/envmgr-export-test\.yaml: .*; nothing was written/);
    expect(unwritable.stderr).not.toMatch(/unexpected/);
    const intoDirectory = await dev.cli(['object', 'export', '--env-export', '-e', '.envmgr', ...target(db)]);
    expect(intoDirectory.code).toBe(1);
    expect(intoDirectory.stderr).toMatch(/cannot read \.envmgr: it is a directory; nothing was written/);
    expect(await readFile(join(dev.home, 'project', 'plain-file'), 'utf8')).toBe('not a directory\n');
  });

  it('does not claim an export stores values unencrypted when no Fernet key is found', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    expect((await dev.cli(['object', 'import', '-s', fixture('settings/full.yaml'), '-v', ...target(db, '')])).code).toBe(0);
    const run = await dev.cli(['object', 'export', '--env-export', '-v', '--db-url', db, '--wait', '10s']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/warning: no Fernet key found .*: only values stored unencrypted can be read/);
    expect(run.stderr).not.toMatch(/values are stored unencrypted/);
  });

  it('names an empty dev.fernet_key_file instead of saying no key was found', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    await dev.writeProjectFile('fernet.key', '\n');
    expect((await dev.cli(['config', 'set', 'dev.fernet_key_file', 'fernet.key'])).code).toBe(0);
    const run = await dev.cli(['object', 'import', '-s', fixture('settings/full.yaml'), '-v', '--db-url', db, '--wait', '10s']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/warning: the Fernet key from dev\.fernet_key_file \(.*fernet\.key\) is empty: values are stored unencrypted/);
    expect(run.stderr).not.toMatch(/no Fernet key found/);
  });
});
