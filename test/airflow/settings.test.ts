import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSettingsFile, writeSettingsFile } from '../../src/airflow/settings.js';
import { formatProblem } from '../../src/airflow/validate.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/settings/${name}`, import.meta.url), 'utf8');

describe('airflow_settings.yaml reader', () => {
  it('skips the empty entries of the Astro template', () => {
    const r = readSettingsFile(fixture('astro-template.yaml'));
    expect(r.problems).toEqual([]);
    expect(r.connections).toEqual([]);
    expect(r.pools).toEqual([]);
    expect(r.variables).toEqual([]);
  });

  it('reads fields, URIs, extra as map and JSON text, pools and variables with their lines', () => {
    const r = readSettingsFile(fixture('full.yaml'), { file: 'full.yaml' });
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([]);
    const byId = Object.fromEntries(r.connections.map((c) => [c.connection.conn_id, c]));
    expect(byId.warehouse).toEqual({
      line: 4,
      fieldLines: { conn_id: 4, conn_type: 5, conn_host: 6, conn_schema: 7, conn_login: 8, conn_password: 9, conn_port: 10, conn_extra: 11 },
      connection: {
        conn_id: 'warehouse',
        conn_type: 'postgres',
        host: 'db.example.com',
        schema: 'analytics',
        login: 'etl',
        password: 's3cr3t#pa$$',
        port: 5432,
        extra: { sslmode: 'require', connect_timeout: 10 },
      },
    });
    // The URI goes through Airflow's parser: host lower-cased, %40 decoded, flat query values stay strings.
    expect(byId.api_uri).toMatchObject({
      line: 14,
      connection: {
        conn_id: 'api_uri',
        conn_type: 'http',
        host: 'api.example.com',
        login: 'user',
        password: 'p@ss',
        schema: 'v1',
        port: 8443,
        extra: { timeout: '30', verify: 'false' },
      },
    });
    expect(byId.aws_default!.connection.extra).toEqual({ region_name: 'eu-central-1', config_kwargs: { retries: { mode: 'standard' } } });
    // conn_extra replaces the URI's extra, as `connections add --conn-uri --conn-extra` does.
    expect(byId.uri_with_extra_override!.connection).toMatchObject({ conn_type: 'mysql', host: 'mysql', login: 'root', port: 3306, schema: 'app', extra: { charset: 'utf8mb4' } });
    expect(r.pools).toEqual([
      { line: 24, fieldLines: { pool_name: 24, pool_slot: 25, pool_description: 26 }, pool: { name: 'etl_pool', slots: 5, description: 'Pool for ETL tasks' } },
      { line: 27, fieldLines: { pool_name: 27, pool_slot: 28 }, pool: { name: 'unlimited', slots: -1, description: null } },
    ]);
    expect(r.variables.map((v) => [v.line, v.variable])).toEqual([
      [30, { key: 'environment', value: 'dev' }],
      [32, { key: 'retries', value: '3' }],
      [34, { key: 'config_json', value: '{"a": [1, 2], "b": null}' }],
    ]);
  });

  it('takes an empty conn_extra ({} or "") as none: a conn_uri keeps its query extras, as with the Astro CLI', () => {
    const text = [
      'airflow:', '  connections:',
      '    - {conn_id: a, conn_uri: "http://h?timeout=30", conn_extra: {}}',
      '    - {conn_id: b, conn_uri: "http://h?timeout=30", conn_extra: ""}',
      '    - {conn_id: c, conn_uri: "http://h?timeout=30", conn_extra: {retries: 2}}',
      '',
    ].join('\n');
    const r = readSettingsFile(text, { file: 's.yaml' });
    expect(r.problems).toEqual([]);
    expect(r.connections.map((c) => [c.connection.conn_id, c.connection.extra])).toEqual([
      ['a', { timeout: '30' }], ['b', { timeout: '30' }], ['c', { retries: 2 }],
    ]);
  });

  it('uses the fields and warns when conn_uri comes with conn_* fields (Astro precedence)', () => {
    const r = readSettingsFile(fixture('uri-and-fields.yaml'));
    expect(r.problems).toEqual([]);
    expect(r.connections[0]!.connection).toMatchObject({ conn_type: 'postgres', host: 'fields-win.example.com' });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatchObject({ key: 'mixed', field: 'conn_uri', line: 7 });
  });

  it('reports every problem with line and field, and keeps no invalid object', () => {
    const r = readSettingsFile(fixture('invalid.yaml'), { file: 'invalid.yaml' });
    expect(r.connections).toEqual([]);
    expect(r.pools).toEqual([]);
    expect(r.variables).toEqual([]);
    const brief = r.problems.map((p) => [p.line, p.key, p.field]);
    expect(brief).toEqual(
      expect.arrayContaining([
        [4, 'bad port', 'conn_id'],
        [6, 'bad port', 'conn_port'],
        [7, 'no_type', 'conn_type'],
        [11, 'typo', 'conn_hots'],
        [14, 'bad_extra', 'conn_extra'],
        [16, 'bad_uri', 'conn_uri'],
        [19, 'p', 'pool_slot'],
        [22, 'flag', 'variable_value'],
        [23, '', 'dags'],
      ]),
    );
    expect(r.problems.every((p) => p.file === 'invalid.yaml')).toBe(true);
    expect(r.problems.find((p) => p.field === 'conn_uri')!.message).toContain('Port out of range 0-65535');
    expect(r.problems.find((p) => p.field === 'conn_hots')!.message).toContain('unknown key');
  });

  it('lists every problem of an entry at once, a missing conn_type with the others', () => {
    const text = ['airflow:', '  connections:', '    - conn_id: ok_one', '      conn_type: ""', '      conn_port: 70000', '      conn_host: ' + 'h'.repeat(501), ''].join('\n');
    const r = readSettingsFile(text, { file: 's.yaml' });
    expect(r.problems.map((p) => [p.line, p.field])).toEqual([[3, 'conn_type'], [6, 'conn_host'], [5, 'conn_port']]);
    expect(r.connections).toEqual([]);
  });

  it('says what is wrong with an extra once, whatever the conn_id holds', () => {
    for (const id of ['plain', 'with space', 'a:b']) {
      const r = readSettingsFile(`airflow:\n  connections:\n    - conn_id: "${id}"\n      conn_type: http\n      conn_extra: "not json"\n`);
      const problem = r.problems.find((p) => p.field === 'conn_extra')!;
      expect(problem.message).toBe('conn_extra: extra is not valid JSON (Expecting value: line 1 column 1 (char 0))');
      expect(problem.line).toBe(5);
    }
  });

  it('reports a repeated variable name', () => {
    const r = readSettingsFile(fixture('duplicates.yaml'));
    expect(r.variables).toHaveLength(1);
    expect(r.problems).toEqual([expect.objectContaining({ line: 5, key: 'a', field: 'variable_name' })]);
  });

  it("masks the password in Airflow's messages about a conn_uri that does not parse", () => {
    const r = readSettingsFile("airflow:\n  connections:\n    - conn_id: u\n      conn_uri: 'http://user:SECRETPW_uri2/more@host/x'\n");
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ field: 'conn_uri', line: 4 });
    expect(r.problems[0]!.message).not.toContain('SECRETPW');
    expect(r.problems[0]!.message).toMatch(/Port could not be cast to integer value as '\*\*\*\*'/);
  });

  it('reports YAML syntax errors with a line', () => {
    const r = readSettingsFile('airflow:\n  connections:\n    - conn_id: [unclosed\n');
    expect(r.problems.length).toBeGreaterThan(0);
    expect(r.problems[0]!.field).toBe('yaml');
    // A problem of the file itself belongs to no kind of object (--json shows it so).
    expect(r.problems[0]!.kind).toBeNull();
    // One line ending in the place, not in the colon that introduced the yaml library's excerpt.
    expect(r.problems[0]!.message).toMatch(/^YAML syntax error: .*line \d+, column \d+$/);
    const pool = readSettingsFile('airflow:\n  pools:\n    - pool_name: big\n      pool_slot: 99999999999\n');
    expect(pool.problems.map((p) => p.message)).toEqual(['slots must be an integer from -1 (unlimited) to 2147483647, got 99999999999']);
  });

  it('gives problems of the file\'s shape no kind, and problems of entries their kind', () => {
    const r = readSettingsFile('airflow:\n  connection: []\n  variables:\n    - variable_name: v\n  pools: nope\nother: 1\n');
    expect(r.problems.map((p) => [p.kind, p.field, p.line])).toEqual([
      [null, 'other', 6],
      [null, 'connection', 2],
      ['pool', 'pools', 5],
      ['variable', 'variable_value', 4],
    ]);
  });
});

describe('airflow_settings.yaml reader: anchors, aliases and merge keys', () => {
  it('uses aliased values, whole aliased entries and merged maps as the Astro CLI and PyYAML do', () => {
    const r = readSettingsFile([
      'airflow_defaults: &defaults',
      '  conn_type: postgres',
      '  conn_host: db.internal',
      '  conn_port: 5432',
      'airflow:',
      '  connections:',
      '    - &c1',
      '      conn_id: first',
      '      conn_type: http',
      '      conn_extra: &e {k: v, nested: {a: 1}}',
      '    - conn_id: second',
      '      conn_type: http',
      '      conn_extra: *e',
      '    - conn_id: merged',
      '      <<: *defaults',
      '      conn_port: 6432',
      '  variables:',
      '    - variable_name: one',
      '      variable_value: &vv "shared value"',
      '    - variable_name: two',
      '      variable_value: *vv',
      '',
    ].join('\n'));
    // The top-level anchor holder is an unknown key (reported); everything else reads.
    expect(r.problems.map((p) => p.message)).toEqual([expect.stringContaining('unknown key "airflow_defaults"')]);
    const byId = Object.fromEntries(r.connections.map((c) => [c.connection.conn_id, c.connection]));
    expect(byId.first!.extra).toEqual({ k: 'v', nested: { a: 1 } });
    expect(byId.second!.extra).toEqual({ k: 'v', nested: { a: 1 } });
    expect(byId.merged).toMatchObject({ conn_type: 'postgres', host: 'db.internal', port: 6432 });
    expect(r.variables.map((v) => v.variable)).toEqual([{ key: 'one', value: 'shared value' }, { key: 'two', value: 'shared value' }]);
  });

  it('takes an aliased whole entry, and merges a list of maps with the earlier one winning', () => {
    const r = readSettingsFile([
      'airflow:',
      '  pools:',
      '    - &p {pool_name: a, pool_slot: 1, pool_description: d}',
      '  connections:',
      '    - &base1 {conn_id: b1, conn_type: mysql, conn_host: one}',
      '    - &base2 {conn_id: b2, conn_type: sqlite, conn_host: two, conn_schema: s2}',
      '    - {conn_id: both, <<: [*base1, *base2]}',
      '  variables: []',
      '',
    ].join('\n'));
    expect(r.problems).toEqual([]);
    expect(r.connections.find((c) => c.connection.conn_id === 'both')!.connection).toMatchObject({ conn_type: 'mysql', host: 'one', schema: 's2' });
    expect(r.pools.map((p) => p.pool.name)).toEqual(['a']);
  });

  it('reports an alias to no anchor, and refuses an alias bomb instead of expanding it', () => {
    const dangling = readSettingsFile('airflow:\n  variables:\n    - {variable_name: a, variable_value: *nowhere}\n');
    expect(dangling.problems.map((p) => [p.line, p.message])).toEqual([[3, 'the alias *nowhere names no anchor &nowhere defined before it']]);
    expect(dangling.variables).toEqual([]);
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const bomb = readSettingsFile(`${levels.join('\n')}\nairflow: {}\n`);
    expect(bomb.problems.map((p) => p.message)).toEqual([expect.stringContaining('copy more than 100000 values')]);
  });

  it('reports an alias inside the value it names (found by the fuzz suite: it recursed for 20 s, then threw)', () => {
    const cases: Array<[string, number]> = [
      ['&a [null,*a]', 1],
      ['airflow:\n  variables: &v\n    - {variable_name: a, variable_value: *v}\n', 3],
      ['airflow:\n  pools: &p [ {pool_name: x, pool_slot: 1, nested: [[*p]]} ]\n', 2],
    ];
    for (const [text, line] of cases) {
      const started = Date.now();
      const r = readSettingsFile(text, { file: 'airflow_settings.yaml' });
      expect(r.problems.map((p) => [p.file, p.line, p.field, p.message]), text).toEqual([
        ['airflow_settings.yaml', line, 'yaml', `the alias *${text.includes('*v') ? 'v' : text.includes('*p') ? 'p' : 'a'} is inside the value &${text.includes('*v') ? 'v' : text.includes('*p') ? 'p' : 'a'} names, which would then contain itself`],
      ]);
      expect([r.connections, r.variables, r.pools]).toEqual([[], [], []]);
      // Not a timing assertion on the reader's speed: a guard that it did not expand the value over and over.
      expect(Date.now() - started).toBeLessThan(5000);
    }
    // An alias after its anchor's value, even inside another anchored value, is an ordinary copy.
    const fine = readSettingsFile('airflow:\n  variables: &vars\n    - {variable_name: a, variable_value: &val x}\n    - {variable_name: b, variable_value: *val}\n');
    expect(fine.problems).toEqual([]);
    expect(fine.variables.map((v) => [v.variable.key, v.variable.value])).toEqual([['a', 'x'], ['b', 'x']]);
  });
});

describe('airflow_settings.yaml writer', () => {
  const conn = {
    conn_id: 'warehouse',
    conn_type: 'postgres',
    host: 'new-db',
    login: 'etl',
    password: "p'a\"s:s #1",
    schema: 'analytics',
    port: 5433,
    extra: { sslmode: 'verify-full', n: 1 },
  };

  it('replaces entries with the same id in place and keeps other entries and comments', () => {
    const existing = fixture('full.yaml');
    const out = writeSettingsFile(existing, { connections: [conn], variables: [{ key: 'retries', value: '5' }, { key: 'new_var', value: '123' }] });
    expect(out).toContain('# Connections given by fields');
    const r = readSettingsFile(out);
    expect(r.problems).toEqual([]);
    expect(r.connections.map((c) => c.connection.conn_id)).toEqual(['warehouse', 'api_uri', 'aws_default', 'uri_with_extra_override']);
    expect(r.connections[0]!.connection).toEqual(conn);
    expect(r.variables.map((v) => v.variable)).toEqual([
      { key: 'environment', value: 'dev' },
      { key: 'retries', value: '5' },
      { key: 'config_json', value: '{"a": [1, 2], "b": null}' },
      { key: 'new_var', value: '123' },
    ]);
    expect(r.pools).toHaveLength(2);
  });

  it('creates a file from nothing that reads back equal', () => {
    const pools = [{ name: 'p', slots: -1, description: 'unlimited' }];
    const variables = [{ key: 'v', value: 'yes' }, { key: 'empty', value: '' }, { key: 'ml', value: 'a\nb\n' }];
    const out = writeSettingsFile(undefined, { connections: [conn], pools, variables });
    const r = readSettingsFile(out);
    expect(r.problems).toEqual([]);
    expect(r.connections.map((c) => c.connection)).toEqual([conn]);
    expect(r.pools.map((p) => p.pool)).toEqual(pools);
    expect(r.variables.map((v) => v.variable)).toEqual(variables);
  });

  it('writes back every string of up to 5 blanks, tabs, line breaks and letters exactly (blank-only lines included)', () => {
    // Every string up to 5 characters over this alphabet; " \n" is one the yaml library alone writes lossily.
    const strings = [''];
    for (let i = 0, from = 0; i < 5; i++) {
      const to = strings.length;
      for (let j = from; j < to; j++) for (const ch of [' ', '\t', '\n', 'x']) strings.push(strings[j] + ch);
      from = to;
    }
    const variables = strings.map((value, i) => ({ key: `v${i}`, value }));
    const connections = strings.filter((s) => s !== '').map((s, i) => ({ ...conn, conn_id: `c${i}`, schema: s, password: s, extra: null }));
    const r = readSettingsFile(writeSettingsFile(undefined, { connections, variables }));
    expect(r.problems).toEqual([]);
    expect(r.variables.map((v) => v.variable)).toEqual(variables);
    expect(r.connections.map((c) => [c.connection.schema, c.connection.password])).toEqual(connections.map((c) => [c.schema, c.password]));
  });

  it('writing twice gives the same text', () => {
    const once = writeSettingsFile(undefined, { connections: [conn] });
    expect(writeSettingsFile(once, { connections: [conn] })).toBe(once);
  });
});

describe('airflow_settings.yaml reader: a key written twice in one map', () => {
  it('reports a second connections block instead of dropping one of the two', () => {
    const text = [
      'airflow:', //                      1
      '  connections:', //                2
      '    - conn_id: a1', //             3
      '      conn_type: http', //         4
      '  variables:', //                  5
      '    - variable_name: v1', //       6
      '      variable_value: x', //       7
      '  connections:', //                8
      '    - conn_id: a2', //             9
      '      conn_type: http', //        10
    ].join('\n');
    const r = readSettingsFile(text, { file: 's.yaml' });
    expect(r.problems).toEqual([
      { kind: null, key: '', field: 'connections', file: 's.yaml', line: 8, message: '"connections" is written twice (first on line 2); a key may appear once per map' },
    ]);
    expect(formatProblem(r.problems[0]!)).toBe('s.yaml:8: "connections" is written twice (first on line 2); a key may appear once per map');
  });

  it('reports a key repeated in an entry of an unknown section, whatever the section is called', () => {
    for (const section of ['bogus', 'constructor', 'toString']) {
      const r = readSettingsFile(`airflow:\n  ${section}:\n    - x: 1\n      x: 2\n`);
      expect(r.problems.map((p) => [p.line, p.message]), section).toEqual([
        [4, '"x" is written twice (first on line 3); a key may appear once per map'],
        [2, `unknown key "${section}" under airflow; allowed keys are connections, pools, variables`],
      ]);
    }
  });

  it('reports a repeated top-level airflow key', () => {
    const r = readSettingsFile('airflow:\n  variables: []\nairflow:\n  pools: []\n');
    expect(r.problems.map((p) => [p.line, p.field])).toEqual([[3, 'airflow']]);
  });

  it('reports a field given twice in one entry, and leaves the entry out', () => {
    const text = 'airflow:\n  connections:\n    - conn_id: c\n      conn_type: http\n      conn_host: h\n      conn_type: ftp\n  pools:\n    - pool_name: p\n      pool_slot: 1\n      pool_slot: 2\n';
    const r = readSettingsFile(text);
    expect(r.connections).toEqual([]);
    expect(r.pools).toEqual([]);
    expect(r.problems.map((p) => [p.kind, p.key, p.field, p.line])).toEqual([
      ['connection', 'c', 'conn_type', 6],
      ['pool', 'p', 'pool_slot', 10],
    ]);
    expect(r.problems[0]!.message).toContain('first on line 4');
  });

  it('reports a key repeated inside a conn_extra map under conn_extra', () => {
    const text = 'airflow:\n  connections:\n    - conn_id: x\n      conn_type: http\n      conn_extra:\n        timeout: 1\n        timeout: 2\n';
    const r = readSettingsFile(text);
    expect(r.connections).toEqual([]);
    expect(r.problems).toEqual([
      expect.objectContaining({ kind: 'connection', key: 'x', field: 'conn_extra', line: 7, message: '"timeout" is written twice in conn_extra (first on line 6); a key may appear once per map' }),
    ]);
  });

  it('accepts the same key in different maps', () => {
    const text = 'airflow:\n  connections:\n    - conn_id: a\n      conn_type: http\n      conn_extra: {k: 1}\n    - conn_id: b\n      conn_type: http\n      conn_extra: {k: 2}\n';
    const r = readSettingsFile(text);
    expect(r.problems).toEqual([]);
    expect(r.connections.map((c) => c.connection.extra)).toEqual([{ k: 1 }, { k: 2 }]);
  });

  it('the writer refuses to merge into a file with a repeated key', () => {
    const existing = 'airflow:\n  variables:\n    - variable_name: a\n      variable_value: "1"\n  variables:\n    - variable_name: b\n      variable_value: "2"\n';
    expect(() => writeSettingsFile(existing, { variables: [{ key: 'a', value: 'new' }] })).toThrow(/line 5: "variables" is written twice \(first on line 2\)/);
  });
});
