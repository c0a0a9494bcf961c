import { describe, expect, it } from 'vitest';
import { airflowDb, developer, dump, FERNET_KEY, OTHER_KEY, sql } from '../dev/support.js';

// DESIGN: "--json prints only JSON on stdout", the report "with --json the same as JSON". A sync that stops before
// its report (invalid sources without --skip-invalid, a bad or wrong Fernet key) still prints one JSON document there:
// what stopped it, the problems with file, line and field, and that nothing was written. The exit code and the
// human messages on stderr are as without --json. Results (the counts line too) go to stdout, progress to stderr.

const PASSWORD = 'Sekr3t-pw-JSONfail';

const INVALID = [
  'airflow:',
  '  connections:',
  '    - conn_id: good_one',
  '      conn_type: http',
  '    - conn_id: bad_port',
  '      conn_type: postgres',
  `      conn_password: ${PASSWORD}`,
  '      conn_port: 70000',
  '  variables:',
  '    - variable_name: v1',
  '      variable_value: x',
  '',
].join('\n');

const VALID = 'airflow:\n  connections:\n    - conn_id: c1\n      conn_type: postgres\n      conn_password: ' + PASSWORD + '\n  variables:\n    - variable_name: v1\n      variable_value: x\n';

interface Failure {
  error: string;
  written: boolean;
  dryRun: boolean;
  invalid: { file?: string; line?: number; kind: string | null; key: string; field: string; message: string }[];
}

const target = (db: string, key = FERNET_KEY) => ['--db-url', db, '--fernet-key', key, '--wait', '10s'];

/** stdout must be exactly one JSON document. */
function onlyJson<T>(stdout: string): T {
  expect(stdout.trim().startsWith('{')).toBe(true);
  return JSON.parse(stdout) as T;
}

describe('--json when dev start / object import stop before the report', () => {
  for (const command of [['dev', 'start'], ['object', 'import']]) {
    it(`${command.join(' ')}: invalid settings file → one JSON document with the problems (file, line, field), exit 1`, async () => {
      const dev = await developer(undefined);
      const db = await airflowDb('3.1');
      const file = await dev.writeProjectFile('airflow_settings.yaml', INVALID);
      const before = await dump(db);
      const run = await dev.cli([...command, '-s', file, ...target(db), '--json']);
      expect(run.code, run.stderr).toBe(1);
      const doc = onlyJson<Failure>(run.stdout);
      expect(doc.written).toBe(false);
      expect(doc.dryRun).toBe(false);
      expect(doc.error).toMatch(/1 problem in the sources; nothing was written/);
      expect(doc.invalid).toHaveLength(1);
      expect(doc.invalid[0]).toMatchObject({ file: expect.stringContaining('airflow_settings.yaml'), line: 8, kind: 'connection', key: 'bad_port', field: 'conn_port' });
      expect(doc.invalid[0]!.message).toMatch(/port/);
      // No secret in the JSON, nor the key.
      expect(run.stdout).not.toContain(PASSWORD);
      expect(run.stdout).not.toContain(FERNET_KEY);
      // The human messages stay on stderr.
      expect(run.stderr).toMatch(/^invalid: .*airflow_settings\.yaml:8: connection bad_port: .*\(field conn_port\)$/m);
      expect(run.stderr).toMatch(/^error: 1 problem in the sources; nothing was written/m);
      expect(await dump(db)).toBe(before);
    });

    it(`${command.join(' ')}: an invalid --fernet-key → JSON naming the problem, exit 2, the key not in it`, async () => {
      const dev = await developer(undefined);
      const db = await airflowDb('3.1');
      const file = await dev.writeProjectFile('airflow_settings.yaml', VALID);
      const badKey = 'not-a-fernet-key-JSONfail';
      const run = await dev.cli([...command, '-s', file, ...target(db, badKey), '--json']);
      expect(run.code, run.stderr).toBe(2);
      const doc = onlyJson<Failure>(run.stdout);
      expect(doc).toMatchObject({ written: false, invalid: [] });
      expect(doc.error).toMatch(/invalid Fernet key from --fernet-key/);
      expect(run.stdout).not.toContain(badKey);
      expect(run.stderr).toMatch(/^error: invalid Fernet key from --fernet-key/m);
    });
  }

  it('object import: a key that does not decrypt the database → JSON, exit 1, nothing written', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    const file = await dev.writeProjectFile('airflow_settings.yaml', VALID);
    expect((await dev.cli(['object', 'import', '-s', file, ...target(db)])).code).toBe(0);
    await dev.writeProjectFile('airflow_settings.yaml', VALID.replace('variable_value: x', 'variable_value: y'));
    const before = await dump(db);
    const run = await dev.cli(['object', 'import', '-s', file, ...target(db, OTHER_KEY), '--json']);
    expect(run.code, run.stderr).toBe(1);
    const doc = onlyJson<Failure>(run.stdout);
    expect(doc).toMatchObject({ written: false, dryRun: false, invalid: [] });
    expect(doc.error).toMatch(/Fernet key.*nothing was written/);
    expect(run.stdout).not.toContain(PASSWORD);
    expect(run.stdout).not.toContain(OTHER_KEY);
    expect(run.stdout).not.toContain(FERNET_KEY);
    expect(await dump(db)).toBe(before);
  });

  it('--skip-invalid still prints the report once (not a second document), with the problems in invalid[]', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    const file = await dev.writeProjectFile('airflow_settings.yaml', INVALID);
    const run = await dev.cli(['object', 'import', '-s', file, ...target(db), '--skip-invalid', '--json']);
    expect(run.code, run.stderr).toBe(1);
    const report = onlyJson<{ counts: Record<string, number>; invalid: Failure['invalid'] }>(run.stdout);
    expect(report.counts.create).toBe(2);
    expect(report.invalid.map((p) => [p.key, p.field, p.line])).toEqual([['bad_port', 'conn_port', 8]]);
    expect(run.stdout).not.toContain(PASSWORD);
  });
});

describe('the counts line is a result: stdout, at the end of the table', () => {
  it('object import and dev start print it on stdout (run and dry run), not on stderr', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    const file = await dev.writeProjectFile('airflow_settings.yaml', VALID);
    const dry = await dev.cli(['object', 'import', '-s', file, ...target(db), '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/c1\s+connection\s+.*create\n[\s\S]*\nDry run \(nothing written\): 2 to create\n$/);
    expect(dry.stderr).not.toMatch(/to create/);
    const run = await dev.cli(['object', 'import', '-s', file, ...target(db)]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/\n2 created\n$/);
    expect(run.stderr).not.toMatch(/created/);
    // Progress stays on stderr.
    expect(run.stderr).toMatch(/Metadata database .*Fernet key from --fernet-key/s);
    const again = await dev.cli(['dev', 'start', '-s', file, ...target(db)]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/\n2 unchanged\n$/);
    expect(again.stderr).not.toMatch(/unchanged/);
    expect(await sql(db, 'SELECT conn_id FROM connection')).toEqual([{ conn_id: 'c1' }]);
  });
});
