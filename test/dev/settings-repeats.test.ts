import { describe, expect, it } from 'vitest';
import { airflowDb, developer, dump, FERNET_KEY, sql } from './support.js';

// A YAML map may hold a key once. A settings file that writes one twice (a second `connections:` block, a field
// given twice) is refused as a whole, with both lines, before anything is written.
describe('a settings file with a key written twice', () => {
  const target = (db: string) => ['--db-url', db, '--fernet-key', FERNET_KEY, '--wait', '10s'];
  const twoBlocks = [
    'airflow:',
    '  connections:',
    '    - conn_id: a1',
    '      conn_type: http',
    '  variables:',
    '    - variable_name: v1',
    '      variable_value: x',
    '  connections:',
    '    - conn_id: a2',
    '      conn_type: http',
    '',
  ].join('\n');

  it('dev start and object import exit 1 naming file and line, and the database is unchanged', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.1');
    await sql(db, "INSERT INTO variable (key, val, is_encrypted) VALUES ('kept', 'as-is', false)");
    const file = await dev.writeProjectFile('airflow_settings.yaml', twoBlocks);
    const before = await dump(db);
    for (const args of [['dev', 'start', '-s', file], ['object', 'import', '-s', file]]) {
      const run = await dev.cli([...args, ...target(db)]);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toContain('airflow_settings.yaml:8: "connections" is written twice (first on line 2)');
      expect(run.stderr).toMatch(/nothing was written/);
      expect(await dump(db)).toBe(before);
    }
  });

  it('a field given twice in one entry is refused the same way', async () => {
    const dev = await developer(undefined);
    const db = await airflowDb('3.2');
    const file = await dev.writeProjectFile('airflow_settings.yaml', 'airflow:\n  connections:\n    - conn_id: c\n      conn_type: http\n      conn_type: ftp\n');
    const before = await dump(db);
    const run = await dev.cli(['object', 'import', '-s', file, ...target(db)]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('airflow_settings.yaml:5: connection c: "conn_type" is written twice (first on line 4)');
    expect(await dump(db)).toBe(before);
  });
});
