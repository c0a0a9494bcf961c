import { describe, expect, it } from 'vitest';
import { AirflowFileError, loadLocalFilesystemConnections, localFilesystemFormat, parseLocalFilesystemSecrets } from '../../src/airflow/airflow-files.js';
import { envSafeJson } from '../../src/airflow/envfile.js';
import { parseFernetKeys } from '../../src/airflow/fernet.js';
import { parseConnectionJson, parseConnectionValue } from '../../src/airflow/json.js';
import { pythonFloatRepr, pythonJsonDumps, pythonJsonLoads } from '../../src/airflow/pyjson.js';
import { AIRFLOW_VARIANTS, formatConnectionUri, parseConnectionUri, uriRoundTripIssues } from '../../src/airflow/uri.js';
import { airflowValidateKey, envVarNameFor, formatProblem, sanitizeConnId, validateConnection, validatePool, validateVariable } from '../../src/airflow/validate.js';

// Expected values below are worked out by hand from FACTS.md and Python's documented behaviour.

describe('formatConnectionUri: the cross-version-safe URI envmgr writes', () => {
  it('percent-encodes a host with a protocol whole, so every variant reads it back (and keeps its case)', () => {
    const c = { conn_type: 'http', host: 'https://Api.Example.com', login: 'u', password: 'p', port: 8443, schema: 'v1' };
    const uri = formatConnectionUri(c);
    expect(uri).toBe('http://u:p@https%3A%2F%2FApi.Example.com:8443/v1');
    for (const airflow of AIRFLOW_VARIANTS) {
      expect(parseConnectionUri(uri, { airflow })).toEqual({ conn_type: 'http', host: 'https://Api.Example.com', login: 'u', password: 'p', schema: 'v1', port: 8443, extra: null });
    }
    // protocol equal to conn_type: 2.x's own get_uri would lose the host here
    expect(formatConnectionUri({ conn_type: 'http', host: 'http://host/' })).toBe('http://http%3A%2F%2Fhost%2F');
  });

  it('uses a flat query only for string values that 3.1.6 would not JSON-decode', () => {
    expect(formatConnectionUri({ conn_type: 'http', host: 'h', extra: { a: 'x y', b: '007', c: 'tru' } })).toBe('http://h/?a=x+y&b=007&c=tru');
    for (const v of ['123', 'true', 'null', '"x"', '1e5', 'NaN', '-Infinity', '[1]', ' 1', '{}']) {
      const uri = formatConnectionUri({ conn_type: 'http', host: 'h', extra: { k: v } });
      expect(uri, v).toMatch(/^http:\/\/h\/\?__extra__=/);
      for (const airflow of AIRFLOW_VARIANTS) expect(JSON.parse(parseConnectionUri(uri, { airflow }).extra!), `${v} ${airflow}`).toEqual({ k: v });
    }
    expect(formatConnectionUri({ conn_type: 'http', host: 'h', extra: { n: '123' } })).toBe('http://h/?__extra__=%7B%22n%22%3A+%22123%22%7D');
    expect(formatConnectionUri({ conn_type: 'http', host: 'h', extra: { __extra__: 'x' } })).toBe('http://h/?__extra__=%7B%22__extra__%22%3A+%22x%22%7D');
    expect(formatConnectionUri({ conn_type: 'x', extra: { n: 1, b: true } })).toBe('x:///?__extra__=%7B%22n%22%3A+1%2C+%22b%22%3A+true%7D');
  });

  it("drops one code point, as Python's path[1:] does, when the path starts with an astral character", () => {
    for (const airflow of AIRFLOW_VARIANTS) {
      expect(parseConnectionUri('aws://\u{1F600}x://y', { airflow }).schema, airflow).toBe('x://y');
      expect(parseConnectionUri('aws://\u{1F600}ab://h/s', { airflow }).schema, airflow).toBe('ab://h/s');
    }
  });

  it('names the fields Airflow itself cannot carry through a URI', () => {
    expect(uriRoundTripIssues({ conn_type: 'postgres', host: 'DB.example.com', login: null, password: 'pw', port: 0 })).toEqual(['login']);
    expect(uriRoundTripIssues({ conn_type: 'my-type', host: 'h' })).toEqual(['conn_type']);
    expect(uriRoundTripIssues({ conn_type: 'postgres', host: 'db', login: 'u', password: 'p', schema: 's', port: 5432, extra: { a: '1' } })).toEqual([]);
  });

  it('rejects an extra that is not a JSON object under 3.x, as Airflow does', () => {
    expect(() => formatConnectionUri({ conn_type: 'x', extra: 'not json' }, { airflow: '3.1' })).toThrow("ValueError: Encountered non-JSON in `extra` field for connection 'test_conn'.");
    expect(formatConnectionUri({ conn_type: 'x', extra: 'not json' }, { airflow: '2' })).toBe('x:///?__extra__=not+json');
  });
});

describe('the airflow variant option', () => {
  it('refuses one it does not know, naming the valid ones, instead of mixing the behaviours of several', () => {
    const bad = { airflow: '3.0' as never };
    for (const call of [
      () => parseConnectionUri('x://h?a=1', bad),
      () => formatConnectionUri({ conn_type: 'x', host: 'h' }, bad),
      () => parseConnectionJson('{"conn_type": "x"}', bad),
    ]) expect(call).toThrow(new TypeError(`unknown airflow variant "3.0"; use one of '2', '3.1', '3.1.6' (2.6.3-3.0.x, 3.1.0-3.1.5, 3.1.6+)`));
    expect(parseConnectionUri('x://h?a=1', { airflow: '2' }).extra).toBe('{"a": "1"}');
  });

  it('says what it takes when a JavaScript caller hands in something else', async () => {
    const { fernetEncrypt, fernetDecrypt } = await import('../../src/airflow/fernet.js');
    expect(() => parseConnectionUri(123 as never)).toThrow(new TypeError('the connection URI must be a string, not number'));
    for (const key of [undefined, ['k'], { key: 'k' }]) {
      expect(() => fernetEncrypt(key as never, 'x')).toThrow(/the Fernet key must be a key string \(comma-separated for several\) or what parseFernetKeys returns/);
    }
    // Without a source, messages do not say "from the Fernet key" about the Fernet key.
    expect(() => fernetEncrypt('short', 'x')).toThrow(/^invalid Fernet key: a Fernet key must be 32 url-safe base64-encoded bytes/);
    const token = fernetEncrypt('Z2Fh1EulxLzv8bK-Cgfk8LYaSQFhHt0HZsC_qlfg0Qs=', 'x');
    expect(() => fernetDecrypt('ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=', token)).toThrow(/^the Fernet key does not decrypt this value \(InvalidToken\)$/);
  });
});

describe('parseConnectionJson: Connection.from_json', () => {
  const json = (t: string, airflow: '2' | '3.1' = '2') => parseConnectionJson(t, { airflow });
  it('coerces the port like int()', () => {
    expect(json('{"conn_type": "x", "port": "5_432"}').port).toBe(5432);
    expect(json('{"conn_type": "x", "port": " 42 "}').port).toBe(42);
    expect(json('{"conn_type": "x", "port": 1.9}').port).toBe(1);
    expect(json('{"conn_type": "x", "port": true}').port).toBe(1);
    expect(() => json('{"port": "1.5"}')).toThrow("ValueError: Expected integer value for `port`, but got '1.5' instead.");
    expect(() => json('{"port": [1]}')).toThrow("TypeError: int() argument must be a string, a bytes-like object or a real number, not 'list'");
  });
  it('rejects unknown keys, a non-object, and uri mixed with fields', () => {
    expect(() => json('{"conn_type": "x", "foo": 1}')).toThrow("TypeError: Connection.__init__() got an unexpected keyword argument 'foo'");
    expect(() => json('[1]')).toThrow("AttributeError: 'list' object has no attribute 'pop'");
    expect(() => json('{"uri": "postgres://h", "host": "x"}')).toThrow(/^AirflowException: You must create an object using the URI or individual values/);
    expect(json('{"uri": "postgresql://u@H/db", "description": "d"}')).toEqual({ conn_type: 'postgres', host: 'h', login: 'u', password: null, schema: 'db', port: null, extra: null, description: 'd' });
    expect(() => json('{"conn_type": "x",')).toThrow('JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 19 (char 18)');
  });
  it('keeps a non-object extra in 2.x and rejects it in 3.x', () => {
    expect(json('{"conn_type": "x", "extra": [1]}').extra).toBe('[1]');
    expect(() => json('{"conn_type": "x", "extra": [1]}', '3.1')).toThrow(
      "ValueError: Encountered JSON value in `extra` which does not parse as a dictionary in connection 'test_conn'. The `extra` field must contain a JSON representation of a Python dict.",
    );
    expect(json('{"conn_type": "x", "extra": {"a": 1.0, "b": 10000000000000000.0}}').extra).toBe('{"a": 1.0, "b": 1e+16}');
  });
  it('AIRFLOW_CONN_* values: stripped, JSON only when they start with {', () => {
    expect(parseConnectionValue('\u3000 http://h \n').host).toBe('h');
    expect(() => parseConnectionValue('  ')).toThrow('IndexError');
  });
  it('writes JSON for .env with $ # and \' escaped, decoding to the same text', () => {
    const j = pythonJsonDumps({ password: "a$b#c'd" });
    expect(envSafeJson(j)).toBe('{"password": "a\\u0024b\\u0023c\\u0027d"}');
    expect(pythonJsonDumps(pythonJsonLoads(envSafeJson(j)))).toBe(j);
  });
});

describe('Python json', () => {
  it('repr of floats', () => {
    expect([1e16, 1.5e-7, 0.0001, 123, 1e22, 0.1 + 0.2, -0, 1e-5, 123456789012345.6].map((x) => pythonFloatRepr(x))).toEqual([
      '1e+16', '1.5e-07', '0.0001', '123.0', '1e+22', '0.30000000000000004', '-0.0', '1e-05', '123456789012345.6',
    ]);
  });
  it('keeps ints exact, floats as floats, the first position of a repeated key with its last value', () => {
    expect(pythonJsonDumps(pythonJsonLoads('{"b": 1, "a": 12345678901234567890123, "b": 2.50, "c": -0, "d": NaN}'))).toBe(
      '{"b": 2.5, "a": 12345678901234567890123, "c": 0, "d": NaN}',
    );
    expect(pythonJsonDumps({ s: 'é\u007f\u2028😀' })).toBe('{"s": "\\u00e9\\u007f\\u2028\\ud83d\\ude00"}');
  });
  it('gives json.loads messages', () => {
    const msg = (t: string) => {
      try {
        pythonJsonLoads(t);
        return 'ok';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(msg('')).toBe('Expecting value: line 1 column 1 (char 0)');
    expect(msg('{"a" 1}')).toBe("Expecting ':' delimiter: line 1 column 6 (char 5)");
    expect(msg('[1 2]')).toBe("Expecting ',' delimiter: line 1 column 4 (char 3)");
    expect(msg('{}\n x')).toBe('Extra data: line 2 column 2 (char 4)');
    expect(msg('"abc')).toBe('Unterminated string starting at: line 1 column 1 (char 0)');
    expect(msg('"a\\qb"')).toBe('Invalid \\escape: line 1 column 3 (char 2)');
  });
});

describe('validation', () => {
  const ok = { conn_id: 'my_db-1.x', conn_type: 'postgres', host: 'h', port: 5432, extra: { a: 1 } };
  it('accepts a valid connection, variable and pool', () => {
    expect(validateConnection(ok)).toEqual([]);
    expect(validateVariable({ key: 'k.1-x', value: '' })).toEqual([]);
    expect(validatePool({ name: 'p', slots: -1 })).toEqual([]);
  });
  it('names the field and what is allowed, with the location', () => {
    const problems = validateConnection(
      { conn_id: 'bad id!', conn_type: ' ', host: 'h'.repeat(501), schema: 's'.repeat(501), port: 70000, extra: [1] as unknown as Record<string, unknown> },
      { file: 'a.yaml', line: 3 },
    );
    expect(problems.map((p) => p.field)).toEqual(['conn_id', 'conn_type', 'host', 'schema', 'port', 'extra']);
    expect(problems[0]!.message).toBe('conn_id contains " ", "!"; only A-Z a-z 0-9 _ . - are allowed');
    expect(problems[4]!.message).toBe('port must be an integer from 1 to 65535, got 70000');
    expect(formatProblem(problems[4]!)).toBe('a.yaml:3: connection bad id!: port must be an integer from 1 to 65535, got 70000');
    expect(validateConnection({ ...ok, conn_id: 'x'.repeat(201) })[0]!.message).toBe('conn_id is 201 characters long; at most 200 are allowed');
    expect(validateConnection({ ...ok, port: 0 })[0]!.field).toBe('port');
    expect(validateConnection({ ...ok, port: 1.5 })[0]!.field).toBe('port');
    expect(validateVariable({ key: 'ü', value: 'x' })[0]!.field).toBe('key');
    expect(validatePool({ name: ' ', slots: 1 })[0]!.message).toBe('pool name must not be blank');
    expect(validatePool({ name: 'p'.repeat(257), slots: 1 })[0]!.field).toBe('name');
    expect(validatePool({ name: 'p', slots: -2 })[0]!.field).toBe('slots');
  });
  it('refuses text no Airflow can store: a lone surrogate anywhere, a NUL in a column kept in clear', () => {
    const fields = (c: object) => validateConnection({ ...ok, ...c }).map((p) => [p.field, p.message]);
    expect(fields({ password: 'a\ud800b' })).toEqual([['password', 'password holds a lone UTF-16 surrogate, which is not Unicode text (Airflow cannot encode it)']]);
    expect(fields({ host: 'h\u0000' })).toEqual([['host', "host holds a NUL character, which Airflow's metadata database cannot store"]]);
    expect(fields({ extra: { k: ['\udc00'] } })).toEqual([['extra', expect.stringMatching(/^extra holds a lone UTF-16 surrogate/)]]);
    expect(fields({ extra: { ['\ud83d']: 1 } })).toEqual([['extra', expect.stringMatching(/^extra holds a lone UTF-16 surrogate/)]]);
    // Encrypted (password), or written as a JSON escape (extra): a NUL is stored fine. A surrogate pair is Unicode.
    expect(fields({ password: 'p\u0000', extra: { k: 'v\u0000' }, description: '\u{1F600}' })).toEqual([]);
    expect(validateVariable({ key: 'v', value: 'x\udfff' }).map((p) => p.field)).toEqual(['value']);
    expect(validateVariable({ key: 'v', value: 'x', description: 'd\u0000' }).map((p) => p.field)).toEqual(['description']);
    expect(validatePool({ name: 'p\u0000', slots: 1 }).map((p) => p.field)).toEqual(['name']);
  });
  it("Airflow's own id rules", () => {
    expect(airflowValidateKey('abc\n', 200)).toBeNull(); // Python's $ matches before a final newline
    expect(sanitizeConnId('abc\n')).toBe('abc');
    expect(sanitizeConnId('a(b)#!:/\\c')).toBe('a(b)#!:/\\c');
    expect(envVarNameFor('variable', 'my.var-1')).toBe('AIRFLOW_VAR_MY.VAR-1');
    expect(envVarNameFor('connection', 'straße')).toBe('AIRFLOW_CONN_STRASSE');
  });
});

describe('LocalFilesystemBackend', () => {
  it('decides the format from the path like 2.x and 3.x', () => {
    expect(localFilesystemFormat('/a/b.ENV', '3')).toBe('env');
    expect(localFilesystemFormat('x.tar.yml', '2')).toBe('yml');
    expect(localFilesystemFormat('.env', '2')).toBe('env');
    expect(() => localFilesystemFormat('.env', '3')).toThrow('AirflowUnsupportedFileTypeException: Unsupported file format');
    expect(() => localFilesystemFormat('conns.txt', '2')).toThrow(/^AirflowException: Unsupported file format/);
  });
  it('builds connections from strings and mappings, with Airflow\'s checks', () => {
    const yaml = 'c1: postgres://u:p@H/db\nc2:\n  conn_type: http\n  host: h\n  extra:\n    a: 1\nc3:\n  conn_type: x\n  extra_dejson: {b: yes}\nc4: ["mysql://m"]\n';
    const conns = loadLocalFilesystemConnections(yaml, { format: 'yaml', airflow: '3' });
    expect(conns.c1).toMatchObject({ conn_type: 'postgres', host: 'h', login: 'u', password: 'p', schema: 'db' });
    expect(conns.c2).toMatchObject({ conn_type: 'http', host: 'h', extra: '{"a": 1}' });
    expect(conns.c3!.extra).toBe('{"b": true}'); // PyYAML reads yes as a boolean
    expect(conns.c4!.conn_type).toBe('mysql');
    expect(() => loadLocalFilesystemConnections('c:\n  foo: 1\n', { format: 'yaml' })).toThrow(/^AirflowException: The object have illegal keys: foo\./);
    // A value that contains itself (PyYAML builds it; Airflow cannot serialize it): a parse error at the alias's line,
    // not a stack overflow while walking it.
    for (const [text, line] of [['c:\n  conn_type: http\n  extra: &e {a: *e}\n', 3], ['c: &c {conn_type: http, extra: *c}\n', 1]] as const) {
      let error: unknown;
      try {
        loadLocalFilesystemConnections(text, { format: 'yaml' });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(AirflowFileError);
      expect(String(error)).toMatch(/AirflowFileParseException: Failed to load the secret file/);
      expect((error as AirflowFileError).parseErrors).toEqual([[line, expect.stringMatching(/^The alias \*[ec] is inside the value &[ec] names, which then contains itself\.$/)]]);
    }
    // Ids are plain dict keys in Python, __proto__ included.
    const odd = loadLocalFilesystemConnections('{"__proto__": "postgres://u@h/db", "constructor": {"conn_type": "http"}}', { format: 'json' });
    expect(Object.keys(odd)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(odd)).toBe(Object.prototype);
    expect(odd['__proto__']).toMatchObject({ conn_type: 'postgres', host: 'h' });
    expect(() => loadLocalFilesystemConnections('{"c": {"extra": "{}", "extra_dejson": {}}}', { format: 'json' })).toThrow(/mutually exclusive/);
    expect(() => loadLocalFilesystemConnections('{"c": {"conn_id": "d", "conn_type": "x"}}', { format: 'json' })).toThrow(
      'AirflowException: Mismatch conn_id. The dictionary key has the value: d. The item has the value: c.',
    );
    expect(() => parseLocalFilesystemSecrets('{"c": 5}', { format: 'json', kind: 'connections' })).toThrow(
      "AirflowException: Unexpected value type: <class 'int'>. The connection can only be defined using a string or object.",
    );
  });
  it('takes a falsy extra ({}, [], 0, false, "") in a mapping as no extra, as Connection(**value) does', () => {
    const conns = loadLocalFilesystemConnections('a: {conn_type: http, extra: {}}\nb: {conn_type: http, extra: []}\nc: {conn_type: http, extra: 0}\nd: {conn_type: http, extra: ""}\n', { format: 'yaml', airflow: '3' });
    expect(Object.values(conns).map((c) => c.extra)).toEqual([null, null, null, null]);
  });

  it('3.x .env: a line "=" is one error (Key is empty), as Airflow moves on to the next line', () => {
    const errors = (airflow: '2' | '3') => {
      try {
        parseLocalFilesystemSecrets('=\n', { format: 'env', kind: 'connections', airflow });
      } catch (err) {
        return (err as AirflowFileError).parseErrors;
      }
      return [];
    };
    expect(errors('3')).toEqual([[1, 'Invalid line format. Key is empty.']]);
    expect(errors('2')).toEqual([[1, 'Invalid line format. Key is empty.']]);
  });

  it(".env comments are recognised with Python's \\s: U+001F before '#' is blank, a byte-order mark is not", () => {
    // re.match(r"\s*#.*", line): "\x1f# c" is a comment; "\ufeff# c" is a line without "=", and "\ufeffA=x" a key.
    expect(parseLocalFilesystemSecrets('\u001f# note\nA=x\n', { format: 'env', kind: 'variables' })).toEqual({ variables: { A: 'x' } });
    expect(() => parseLocalFilesystemSecrets('\ufeff# note\nA=x\n', { format: 'env', kind: 'variables' })).toThrow('Failed to load the secret file.');
    expect(parseLocalFilesystemSecrets('\ufeffA=x\n', { format: 'env', kind: 'variables' })).toEqual({ variables: { '\ufeffA': 'x' } });
  });
  it('reports .env lines that only contain blanks (Airflow skips only empty lines)', () => {
    expect(() => parseLocalFilesystemSecrets('A=x\n   \n', { format: 'env', kind: 'variables' })).toThrow('Failed to load the secret file.');
  });
});

describe('Fernet key settings', () => {
  const K = 'Z2Fh1EulxLzv8bK-Cgfk8LYaSQFhHt0HZsC_qlfg0Qs=';
  it("accepts what Airflow's MultiFernet accepts (checked against cryptography: blanks around a key, the standard alphabet)", () => {
    for (const spec of [K, ` ${K}`, `${K}\n`, `${K}, ${K}`, K.replace(/-/g, '+').replace(/_/g, '/')]) {
      expect(parseFernetKeys(spec, 'test').keys.length, JSON.stringify(spec)).toBe(spec.includes(',') ? 2 : 1);
    }
  });
  it('names the source, and which entry of a list is wrong', () => {
    expect(() => parseFernetKeys('abc', 'AIRFLOW__CORE__FERNET_KEY in the environment')).toThrow(
      /^invalid Fernet key from AIRFLOW__CORE__FERNET_KEY in the environment: a Fernet key must be 32 url-safe base64-encoded bytes \(generate/,
    );
    expect(() => parseFernetKeys(`${K},abc`, 'dev.fernet_key_file')).toThrow(
      /^invalid Fernet key \(entry 2 of 2 in the comma-separated list\) from dev\.fernet_key_file: a Fernet key must be 32/,
    );
    expect(() => parseFernetKeys(`${K},`, 'dev.fernet_key_file')).toThrow(
      /^invalid Fernet key \(entry 2 of 2 in the comma-separated list\) from dev\.fernet_key_file: the entry is empty; remove the extra comma/,
    );
  });
});
