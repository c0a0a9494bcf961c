import { describe, expect, it, vi } from 'vitest';
import { readAirflowEnvFile, connectionEnvEntry } from '../../src/airflow/envfile.js';
import { connectionToJson, parseConnectionJson } from '../../src/airflow/json.js';
import { loadLocalFilesystemConnections } from '../../src/airflow/airflow-files.js';
import { exactInt, jsToPy, longestLongInt, parseJsonExact, pythonJsonDumps } from '../../src/airflow/pyjson.js';
import { stringifyJsonExact, writeWithBigInts } from '../../src/airflow/exact-json.js';
import { readSettingsFile, writeSettingsFile } from '../../src/airflow/settings.js';
import { connectionFromUri, connectionToUri, extraToText } from '../../src/airflow/uri.js';
import { validateConnection } from '../../src/airflow/validate.js';
import { findPython, runPython } from './python.js';

// Integers beyond 2^53 in a connection's extra: Python's json keeps every digit, JS numbers would round them
// (123456789012345678901 would become 123456789012345680000). envmgr keeps them exact from every text it reads to every
// text it writes.
const BIG = '123456789012345678901';
const JUST_ABOVE = '9007199254740993'; // 2^53 + 1: the first integer a double cannot hold

describe('exactInt', () => {
  it('keeps a number when its own text is the digits, else a bigint', () => {
    expect(exactInt('42')).toBe(42);
    expect(exactInt('-9007199254740991')).toBe(-9007199254740991);
    // 2^53 is a double exactly, and JS writes it with these digits.
    expect(exactInt('9007199254740992')).toBe(2 ** 53);
    expect(exactInt(JUST_ABOVE)).toBe(9007199254740993n);
    expect(exactInt(BIG)).toBe(123456789012345678901n);
    expect(exactInt(`-${BIG}`)).toBe(-123456789012345678901n);
    // 1e21 and up: JS writes an exponent, Python the digits.
    expect(exactInt('1000000000000000000000')).toBe(10n ** 21n);
    expect(exactInt('+0017')).toBe(17);
  });
});

describe('parseJsonExact', () => {
  it('reads integers beyond 2^53 with every digit, everything else as JSON.parse does', () => {
    const text = `{"big": ${BIG}, "neg": -${JUST_ABOVE}, "small": 7, "f": 0.5, "e": 1e25, "s": "${BIG}", "nested": {"a": [${BIG}0, true, null]}}`;
    const value = parseJsonExact(text) as Record<string, unknown>;
    expect(value.big).toBe(123456789012345678901n);
    expect(value.neg).toBe(-9007199254740993n);
    expect(value.small).toBe(7);
    expect(value.f).toBe(0.5);
    expect(value.e).toBe(1e25); // a float stays a float
    expect(value.s).toBe(BIG);
    expect(value.nested).toEqual({ a: [1234567890123456789010n, true, null] });
    expect(pythonJsonDumps(value)).toBe(
      `{"big": ${BIG}, "neg": -${JUST_ABOVE}, "small": 7, "f": 0.5, "e": 1e+25, "s": "${BIG}", "nested": {"a": [${BIG}0, true, null]}}`,
    );
  });

  it('takes its slower exact reading only for a long integer outside strings', () => {
    const yes: Array<[string, number]> = [
      [BIG, 21], [` -${BIG} `, 21], [`[1,${BIG}]`, 21], [`{"a":"\\\\","b":${BIG}}`, 21], [`{"a": ${JUST_ABOVE}}`, 16],
      [`{"a":\n\t${BIG}, "b": [-${BIG}0, 12]}`, 22], [`[${'9'.repeat(5000)}]`, 5000],
    ];
    for (const [text, digits] of yes) expect([text, longestLongInt(text)]).toEqual([text, digits]);
    // Long digits in a secret, in JSON kept as a string (a variable's value), after an escaped quote; and numbers
    // that are floats or have fewer digits: JSON.parse's reading is the exact one.
    const notInts = [`{"a":"x:${BIG}"}`, `{"a":"\\"${BIG}"}`, `{"v":"{\\"n\\": ${BIG}}"}`, '[1234567890123456.5]', `[${'1'.repeat(2000)}.5]`, `[-${BIG}e3]`, '[123456789012345]', `"${BIG}"`];
    for (const text of notInts) {
      expect([text, longestLongInt(text)]).toEqual([text, 0]);
      expect(parseJsonExact(text)).toEqual(JSON.parse(text));
    }
  });

  it('reads what JSON.parse reads however deep it nests (past its own stack, as JSON.parse reads it)', () => {
    const innermost = (levels: number) => {
      let value = parseJsonExact(`${'['.repeat(levels)}${BIG}${']'.repeat(levels)}`);
      for (let i = 0; i < levels; i++) value = (value as unknown[])[0];
      return value;
    };
    expect(innermost(50)).toBe(123456789012345678901n);
    expect(innermost(20_000)).toBe(Number(BIG));
  });

  it('refuses what JSON.parse refuses, long digits or not', () => {
    expect(() => parseJsonExact(`{"a": ${BIG}`)).toThrow(SyntaxError);
    expect(() => parseJsonExact(`[NaN, ${BIG}]`)).toThrow(SyntaxError);
    expect(parseJsonExact('{"a": 1}')).toEqual({ a: 1 });
  });
});

describe('stringifyJsonExact', () => {
  it('writes a bigint as its digits and everything else as JSON.stringify does, indented or not', () => {
    const value = { big: 123456789012345678901n, neg: [-9007199254740993n, 1], s: BIG, nested: { d: new Date(0), u: undefined, n: null } };
    const compact = stringifyJsonExact(value);
    expect(compact).toBe(`{"big":${BIG},"neg":[-${JUST_ABOVE},1],"s":"${BIG}","nested":{"d":"1970-01-01T00:00:00.000Z","n":null}}`);
    expect(parseJsonExact(compact)).toEqual({ ...value, nested: { d: '1970-01-01T00:00:00.000Z', n: null } });
    expect(stringifyJsonExact({ a: [1n << 70n] }, 2)).toBe('{\n  "a": [\n    1180591620717411303424\n  ]\n}');
    const plain = { a: 'x', b: [1, 2.5, true], c: { '__proto__': 1 } };
    expect(stringifyJsonExact(plain, 2)).toBe(JSON.stringify(plain, null, 2));
  });

  it('leaves strings that look like its marker alone, and passes on errors other than a bigint refusal', () => {
    const value = { mark: 'bigint:00000000-0000-0000-0000-000000000000:12', big: 12345678901234567890n };
    expect(parseJsonExact(stringifyJsonExact(value))).toEqual(value);
    const cyclic: Record<string, unknown> = { big: 1n };
    cyclic.self = cyclic;
    expect(() => stringifyJsonExact(cyclic)).toThrow(TypeError); // as JSON.stringify refuses it (no endless copying)
    expect(() => writeWithBigInts({}, () => { throw new RangeError('other'); })).toThrow('other');
  });

  it('never uses a marker that a string of the value holds', () => {
    // The marker is random; fixing the draws makes the first one equal to what the value holds.
    const random = vi.spyOn(Math, 'random').mockReturnValueOnce(0.5).mockReturnValueOnce(0.25);
    const now = vi.spyOn(Date, 'now').mockReturnValue(1);
    try {
      const value = { s: 'bigint:i1:5', [`bigint:i1:6`]: 'key', big: 7n ** 30n };
      expect(stringifyJsonExact(value)).toBe(`{"s":"bigint:i1:5","bigint:i1:6":"key","big":${7n ** 30n}}`);
      expect(random).toHaveBeenCalledTimes(2);
    } finally {
      random.mockRestore();
      now.mockRestore();
    }
  });
});

describe('big integers in extras, from each text envmgr reads to each text it writes', () => {
  const extraText = `{"account": ${BIG}, "limit": ${JUST_ABOVE}, "timeout": 30}`;

  it('airflow_settings.yaml: conn_extra as a map and as a JSON string', () => {
    const yaml = [
      'airflow:',
      '  connections:',
      '    - conn_id: as_map',
      '      conn_type: http',
      '      conn_extra:',
      `        account: ${BIG}`,
      `        limit: ${JUST_ABOVE}`,
      '        timeout: 30',
      '    - conn_id: as_text',
      '      conn_type: http',
      `      conn_extra: '${extraText}'`,
      '',
    ].join('\n');
    const read = readSettingsFile(yaml);
    expect(read.problems).toEqual([]);
    for (const { connection } of read.connections) {
      expect(connection.extra).toEqual({ account: 123456789012345678901n, limit: 9007199254740993n, timeout: 30 });
      expect(validateConnection(connection)).toEqual([]);
      expect(extraToText(connection.extra)).toBe(extraText);
    }
    // Written back (object export into the settings file), the digits are all there.
    const written = writeSettingsFile(undefined, { connections: read.connections.map((c) => c.connection), variables: [], pools: [] });
    expect(written).toContain(`account: ${BIG}\n`);
    expect(readSettingsFile(written).connections.map((c) => c.connection.extra)).toEqual(read.connections.map((c) => c.connection.extra));
  });

  it('.env values (URI and JSON forms) and the forms export writes', () => {
    const json = `{"conn_type": "http", "host": "h", "extra": ${extraText}}`;
    const uri = `http://h/?__extra__=${encodeURIComponent(extraText)}`;
    const { connections, problems } = readAirflowEnvFile(`AIRFLOW_CONN_A='${json}'\nAIRFLOW_CONN_B=${uri}\n`);
    expect(problems).toEqual([]);
    for (const { connection } of connections) {
      expect(connection.extra).toEqual({ account: 123456789012345678901n, limit: 9007199254740993n, timeout: 30 });
      expect(connectionFromUri('x', connectionToUri(connection)).extra).toEqual(connection.extra);
      expect(parseConnectionJson(connectionToJson(connection)).extra).toBe(extraText);
      for (const serialization of ['uri', 'json'] as const) {
        const entry = connectionEnvEntry(connection, { serialization });
        const back = readAirflowEnvFile(`${entry.name}=${entry.value}\n`).connections[0]!.connection;
        expect(back.extra, serialization).toEqual(connection.extra);
      }
    }
  });

  it("LocalFilesystemBackend files (PyYAML's ints, hex included, and json.loads)", () => {
    const yaml = `c:\n  conn_type: http\n  extra_dejson:\n    account: ${BIG}\n    mask: 0x1fffffffffffffffff\n    small: 0x1f\n`;
    // 0x1fffffffffffffffff is 2^69 - 1.
    expect(loadLocalFilesystemConnections(yaml, { format: 'yaml' }).c!.extra).toBe(`{"account": ${BIG}, "mask": 590295810358705651711, "small": 31}`);
    const json = `{"c": {"conn_type": "http", "extra_dejson": ${extraText}}}`;
    expect(loadLocalFilesystemConnections(json, { format: 'json' }).c!.extra).toBe(extraText);
  });

  it('an unsafe JS number is written with the digits JS gives it, the same in every form', () => {
    // 123456789012345680000 as a JS number (from an API payload): its double is 123456789012345683968 exactly, but
    // every JSON writer (and so the database row) puts down 123456789012345680000; the URI and JSON forms agree.
    const n = 123456789012345680000;
    expect(pythonJsonDumps(jsToPy({ n }))).toBe('{"n": 123456789012345680000}');
    expect(extraToText({ n })).toBe('{"n": 123456789012345680000}');
    expect(pythonJsonDumps({ n })).toBe('{"n": 123456789012345680000}');
  });

  it('a port that is a big integer is refused with its digits', () => {
    const problems = validateConnection({ conn_id: 'a', conn_type: 'http', port: 123456789012345678901n as unknown as number });
    expect(problems.map((p) => p.message)).toEqual([`port must be an integer from 1 to 65535, got ${BIG}`]);
  });

  it("an integer longer than Python's json.loads reads (4300 digits) is refused, with its line; 4300 digits pass", () => {
    const most = 10n ** 4300n - 1n; // 4300 nines
    const ok = (extra: Record<string, unknown>) => validateConnection({ conn_id: 'a', conn_type: 'http', extra }).map((p) => p.message);
    expect(ok({ n: most, m: -most, nested: [{ x: most }] })).toEqual([]);
    const refused = "extra holds an integer of more than 4300 digits, which Python's json.loads (and so Airflow) refuses to read";
    expect(ok({ n: most + 1n })).toEqual([refused]);
    expect(ok({ deep: { list: [1, -(most + 1n)] } })).toEqual([refused]);
    const text = `airflow:\n  connections:\n    - conn_id: huge\n      conn_type: http\n      conn_extra:\n        n: 1${'0'.repeat(4300)}\n`;
    const read = readSettingsFile(text, { file: 'airflow_settings.yaml' });
    expect(read.problems.map((p) => [p.field, p.line, p.message])).toEqual([['conn_extra', 5, refused]]);
    // Past 309 digits a JS number is Infinity: the settings reader keeps such an int exact too.
    const long = readSettingsFile(text.replace(`1${'0'.repeat(4300)}`, `1${'0'.repeat(400)}`));
    expect([long.problems, long.connections[0]!.connection.extra]).toEqual([[], { n: 10n ** 400n }]);
  });
});

const python = findPython(['json']);
if (!python) {
  describe('exact integers against Python', () => {
    it.skip('SKIPPED: no python3 (tried `python3`, `/usr/bin/python3`)', () => {});
  });
} else {
  describe(`exact integers against Python (${python})`, () => {
    it('parseJsonExact then pythonJsonDumps gives json.dumps(json.loads(text))', () => {
      const texts = [
        `{"a": ${BIG}}`,
        `{"a": -${BIG}, "b": [${JUST_ABOVE}, 9007199254740992, 9007199254740991, -9007199254740993]}`,
        '{"a": 123456789012345680000, "b": 1000000000000000000000, "c": 99999999999999999999999999999999999999}',
        '{"b": 1234567890123456789e3, "c": "1234567890123456789"}',
        '{"a": {"b": {"c": [1, 2, 36893488147419103232]}}}',
        '{"a": 1e400, "b": -0, "c": 0.1000000000000000055511151231257827}',
      ];
      const expected = runPython<string[]>(python, 'import json, sys\nprint(json.dumps([json.dumps(json.loads(t)) for t in json.load(sys.stdin)]))', texts);
      texts.forEach((t, i) => expect(pythonJsonDumps(parseJsonExact(t)), t).toBe(expected[i]));
    });
  });
}
