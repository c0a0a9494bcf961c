import { readFileSync } from 'node:fs';
import { parse as dotenvParse } from 'dotenv';
import { describe, expect, it } from 'vitest';
import { EnvValueError, envNameCollisions, envQuotingFor, formatEnvLine, mergeEnvFile, parseEnvFile, readAirflowEnvFile } from '../../src/airflow/envfile.js';
import { composeDotenvParse } from './compose-dotenv.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/env/${name}`, import.meta.url), 'utf8');

describe('.env writer: one dialect for dotenv, docker compose and Airflow', () => {
  // [value, expected line] written by hand from the rules in envfile.ts.
  const cases: [string, string][] = [
    ['postgres://u:p%40ss@h:5432/db?sslmode=require', 'K=postgres://u:p%40ss@h:5432/db?sslmode=require'],
    ['{"conn_type": "http", "host": "h"}', 'K={"conn_type": "http", "host": "h"}'],
    ['with space inside', 'K=with space inside'],
    ['C:\\path\\to', 'K=C:\\path\\to'],
    ['', "K=''"],
    [' leading', "K=' leading'"],
    ['hash # here', "K='hash # here'"],
    ['$HOME', "K='$HOME'"],
    ['line1\nline2', "K='line1\nline2'"],
    ['"quoted"', "K='\"quoted\"'"],
    ["it's", "K=it's"],
    ["it's # here", 'K="it\'s # here"'],
    ["it's\r\nwindows", 'K="it\'s\\r\\nwindows"'],
    ['ends with \\', 'K=ends with \\'],
  ];
  for (const [value, line] of cases) {
    it(`writes ${JSON.stringify(value)}`, () => {
      expect(formatEnvLine('K', value)).toBe(line);
      expect(dotenvParse(line).K).toBe(value);
      expect(composeDotenvParse(line).K).toBe(value);
    });
  }

  it('throws, naming the key, for values no spelling can carry', () => {
    // each needs quotes, cannot be single-quoted (' / CR / trailing \) and cannot be double-quoted (" / \ / $)
    for (const v of ["it's $5", 'a\'b"c#', "x'\\y\n", "tab\t'\"", "cr\r'\\", 'ends with #\\']) {
      expect(envQuotingFor(v), JSON.stringify(v)).toBeUndefined();
      expect(() => formatEnvLine('AIRFLOW_VAR_X', v)).toThrow(EnvValueError);
      expect(() => formatEnvLine('AIRFLOW_VAR_X', v)).toThrow(/AIRFLOW_VAR_X/);
    }
  });

  it('writes URIs bare so that LocalFilesystemBackend (no quoting) reads them too', () => {
    expect(envQuotingFor('google-cloud-platform:///?__extra__=%7B%22a%22%3A+1%7D')).toBe('bare');
  });
});

describe('.env reader', () => {
  it('reads connections (URI and JSON) and variables with their lines', () => {
    const r = readAirflowEnvFile(fixture('airflow.env'), { file: 'airflow.env' });
    expect(r.problems).toEqual([]);
    expect(r.connections.map((c) => [c.line, c.connection.conn_id])).toEqual([
      [2, 'warehouse'],
      [3, 'api'],
    ]);
    expect(r.connections[0]!.connection).toMatchObject({ conn_type: 'postgres', host: 'db.example.com', login: 'etl', password: 's3cr3t#pa$$', port: 5432, schema: 'analytics' });
    expect(r.connections[1]!.connection).toMatchObject({ conn_type: 'http', host: 'api.example.com', extra: { timeout: 30 } });
    expect(r.variables.map((v) => [v.line, v.variable.key, v.variable.value])).toEqual([
      [5, 'environment', 'dev'],
      [6, 'greeting', 'hello # not a comment'],
      [7, 'multiline', 'line one\nline two'],
      [9, 'exported', 'yes'],
    ]);
    expect(r.other).toEqual([{ name: 'OTHER_SETTING', value: 'kept', line: 10 }]);
  });

  it('reports bad values, junk lines and repeated names with their lines', () => {
    const r = readAirflowEnvFile(fixture('invalid.env'), { file: 'invalid.env' });
    const brief = r.problems.map((p) => [p.line, p.field]);
    expect(brief).toEqual(
      expect.arrayContaining([
        [1, 'value'],
        [2, 'line'],
        [3, 'value'],
        [5, 'line'],
        [6, 'conn_type'],
      ]),
    );
    expect(r.problems.find((p) => p.line === 1)!.message).toContain('Port out of range 0-65535');
    expect(r.problems.find((p) => p.line === 3)!.message).toContain('JSONDecodeError');
    // A name set twice is read from neither line: which one the user meant is theirs to say.
    expect(r.variables).toEqual([]);
    // A line that is no assignment is the file's problem; a repeated AIRFLOW_VAR_ name is that variable's.
    expect(r.problems.find((p) => p.line === 2)!.kind).toBeNull();
    expect(r.problems.find((p) => p.line === 5)).toMatchObject({ kind: 'variable', key: 'twice' });
    expect(r.problems.find((p) => p.line === 1)!.kind).toBe('connection');
  });

  it("masks the password in Airflow's messages about a URI that does not parse (they quote it)", () => {
    const text = [
      'AIRFLOW_CONN_U1=http://user:SECRETA/tail@host:80/x',
      'AIRFLOW_CONN_U3=a://user:SECRETC@b://c://d',
      'AIRFLOW_CONN_U4=http://user:SECRETD@ho\uff03st/x',
      'AIRFLOW_CONN_U5=http://user:S%45CRETE/x@host/x',
      // Quoted whole by "Invalid connection string": sensitive query members and __extra__ too.
      'AIRFLOW_CONN_U6=aws://a://b://?aws_secret_access_key=XYZSECRET&region=eu',
      'AIRFLOW_CONN_U7=a://b://c://d:e@f?password=QSECRET&__extra__=%7B%22k%22%3A%22SECRETX%22%7D',
      '',
    ].join('\n');
    const r = readAirflowEnvFile(text, { file: 'bad.env' });
    expect(r.problems.map((p) => p.line)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.problems[4]!.message).toContain('region=eu');
    for (const p of r.problems) expect(p.message, p.message).not.toMatch(/SECRET|S%45CRET/);
    // The message still says what is wrong.
    expect(r.problems[0]!.message).toMatch(/^AIRFLOW_CONN_U1: ValueError: Port could not be cast to integer value as '\*\*\*\*'$/);
  });

  it('skips an empty AIRFLOW_CONN_* as Airflow does, and keeps an empty AIRFLOW_VAR_* as an empty variable', () => {
    const r = readAirflowEnvFile("AIRFLOW_CONN_EMPTY=\nAIRFLOW_CONN_QUOTED=''\nAIRFLOW_VAR_EMPTY=\nAIRFLOW_CONN_SPACE=' '\n");
    expect(r.connections).toEqual([]);
    expect(r.variables.map((v) => v.variable)).toEqual([{ key: 'empty', value: '' }]);
    // A blank but not empty value is read (and refused) by Airflow, so it is a problem here too.
    expect(r.problems.map((p) => [p.line, p.key])).toEqual([[4, 'space']]);
  });

  it('locates multi-line quoted values and an unterminated quote', () => {
    const r = parseEnvFile("A='x\ny'\nB=1\nC='open\nD=2\n");
    expect(r.entries).toEqual([
      { name: 'A', value: 'x\ny', line: 1 },
      { name: 'B', value: '1', line: 3 },
      { name: 'C', value: "'open", line: 4 },
      { name: 'D', value: '2', line: 5 },
    ]);
    expect(r.problems).toEqual([{ line: 4, name: 'C', message: expect.stringContaining('unterminated') }]);
  });
});

describe('mergeEnvFile', () => {
  it('keeps a file written with CRLF throughout CRLF, and writes LF otherwise; dotenv reads the same either way', () => {
    const crlf = mergeEnvFile('# team\r\nA=1\r\nAIRFLOW_VAR_X=old\r\n', [{ name: 'AIRFLOW_VAR_X', value: 'new' }, { name: 'AIRFLOW_VAR_Y', value: 'y' }]);
    expect(crlf).toBe('# team\r\nA=1\r\nAIRFLOW_VAR_X=new\r\nAIRFLOW_VAR_Y=y\r\n');
    expect(dotenvParse(crlf)).toEqual({ A: '1', AIRFLOW_VAR_X: 'new', AIRFLOW_VAR_Y: 'y' });
    expect(mergeEnvFile('A=1\r\nB=2\n', [{ name: 'C', value: '3' }])).toBe('A=1\nB=2\nC=3\n');
    expect(mergeEnvFile(undefined, [{ name: 'C', value: '3' }])).toBe('C=3\n');
  });

  it('refuses two entries of one name instead of keeping one of them', () => {
    expect(() => mergeEnvFile('A=1\n', [{ name: 'AIRFLOW_VAR_X', value: 'a' }, { name: 'AIRFLOW_VAR_X', value: 'b' }])).toThrow(/AIRFLOW_VAR_X is given twice/);
  });

  it('names the ids that would share one AIRFLOW_* name (Airflow upper-cases them), per kind', () => {
    expect(envNameCollisions(['a', 'A', 'b'], ['b', 'x', 'X'])).toEqual([
      "connections 'a' and 'A' would both be AIRFLOW_CONN_A (Airflow upper-cases the id)",
      "variables 'x' and 'X' would both be AIRFLOW_VAR_X (Airflow upper-cases the key)",
    ]);
    expect(envNameCollisions(['a', 'b'], ['a', 'b'])).toEqual([]);
  });

  const existing = "# my settings\nexport AIRFLOW_VAR_A=old\n\nAIRFLOW_CONN_X='multi\nline'\nKEEP=me # comment\nAIRFLOW_VAR_A=dup\n";

  it('replaces in place (all lines of the old value), keeps the rest, removes later duplicates, appends new', () => {
    const out = mergeEnvFile(existing, [
      { name: 'AIRFLOW_CONN_X', value: 'http://h' },
      { name: 'AIRFLOW_VAR_A', value: 'new value' },
      { name: 'AIRFLOW_VAR_NEW', value: 'n' },
    ]);
    expect(out).toBe('# my settings\nexport AIRFLOW_VAR_A=new value\n\nAIRFLOW_CONN_X=http://h\nKEEP=me # comment\nAIRFLOW_VAR_NEW=n\n');
    expect(dotenvParse(out)).toEqual({ AIRFLOW_VAR_A: 'new value', AIRFLOW_CONN_X: 'http://h', KEEP: 'me', AIRFLOW_VAR_NEW: 'n' });
  });

  it('never appends twice', () => {
    const once = mergeEnvFile(undefined, [{ name: 'AIRFLOW_VAR_A', value: '1' }]);
    const twice = mergeEnvFile(once, [{ name: 'AIRFLOW_VAR_A', value: '2' }]);
    expect(twice).toBe('AIRFLOW_VAR_A=2\n');
    expect(mergeEnvFile(twice, [{ name: 'AIRFLOW_VAR_A', value: '2' }])).toBe(twice);
  });

  it('adds a final newline to a file without one, and writes nothing when a value cannot be written', () => {
    expect(mergeEnvFile('KEEP=1', [{ name: 'B', value: '2' }])).toBe('KEEP=1\nB=2\n');
    expect(() => mergeEnvFile('KEEP=1\n', [{ name: 'B', value: 'ok' }, { name: 'C', value: "it's $5" }])).toThrow(/C/);
  });
});
