import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportConnectionsJson, exportConnectionsYaml, parseLocalFilesystemSecrets } from '../../src/airflow/airflow-files.js';
import type { ConnectionRow } from '../../src/airflow/airflow-files.js';
import { flatObjectDumps, pyReprStr, pythonJsonDumps, pythonJsonDumpsIndent, pythonJsonLoads } from '../../src/airflow/pyjson.js';
import { AIRFLOW_VARIANTS, airflowGetUri, parseConnectionUri } from '../../src/airflow/uri.js';
import type { ConnectionFields } from '../../src/airflow/uri.js';
import { findPython, runPython } from './python.js';
import { writeSettingsFile } from '../../src/airflow/settings.js';

/**
 * Differential tests: envmgr's re-implementations of Python's urllib.parse / json / PyYAML, and of Airflow's URI
 * algorithms on top of them, against the real Python modules. The Airflow side is transcribed from FACTS.md §3
 * (get_uri / _parse_from_uri of each variant) into Python; what is compared is the Python library behaviour
 * underneath (urlsplit, hostname/port rules, quote, unquote, parse_qsl, urlencode, json.loads/dumps, yaml.dump).
 */
const python = findPython(['yaml']);

const AIRFLOW_PY = `
import json, sys, yaml
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

class AirflowException(Exception):
    pass

def norm(t):
    if t == 'postgresql':
        return 'postgres'
    return t.replace('-', '_') if '-' in t else t

def validate(extra, cid):
    try:
        v = json.loads(extra)
    except json.JSONDecodeError:
        raise ValueError(f"Encountered non-JSON in \`extra\` field for connection {cid!r}.")
    if not isinstance(v, dict):
        raise ValueError("Encountered JSON value in \`extra\` which does not parse as a dictionary in "
                         f"connection {cid!r}. The \`extra\` field must contain a JSON representation of a Python dict.")

def parse(uri, variant, cid='test_conn'):
    n = uri.count('://')
    if n > 2:
        raise AirflowException(f"Invalid connection string: {uri}.")
    hwp = n == 2
    scheme = urlsplit(uri).scheme
    rest = uri.replace(f"{scheme}://", "" if hwp else "//")
    if hwp:
        first = rest.split("://", 1)[0]
        if "@" in first or ":" in first:
            raise AirflowException(f"Invalid connection string: {uri}.")
    p = urlsplit(rest)
    proto = p.scheme if hwp else None
    host = unquote(p.hostname or "")
    if "/" in host:
        host = p.netloc
        if "@" in host:
            host = host.rsplit("@", 1)[1]
        if ":" in host:
            host = host.split(":", 1)[0]
        host = unquote(host)
    if host and proto:
        host = f"{proto}://{host}"
    qs = p.path[1:]
    schema = unquote(qs) if qs else qs
    login = unquote(p.username) if p.username else p.username
    pw = unquote(p.password) if p.password else p.password
    port = p.port
    extra = None
    if p.query:
        q = dict(parse_qsl(p.query, keep_blank_values=True))
        if '__extra__' in q:
            extra = q['__extra__']
        else:
            if variant == '3.1.6':
                for k, v in q.items():
                    try:
                        q[k] = json.loads(v)
                    except (json.JSONDecodeError, TypeError):
                        pass
            extra = json.dumps(q)
        if extra and variant != '2':
            validate(extra, cid)
    return dict(conn_type=norm(scheme), host=host, login=login, password=pw or None, schema=schema, port=port, extra=extra)

def get_uri(f, variant):
    ct, host, login, pw, schema, port, extra = f['conn_type'], f['host'], f['login'], f['password'] or None, f['schema'], f['port'], f['extra']
    if extra and variant != '2':
        validate(extra, 'test_conn')
    uri = f"{ct.lower().replace('_', '-')}://" if ct else "//"
    host_to_use, proto = host, None
    if host and "://" in host:
        pr, h = host.split("://", 1)
        if variant != '2' and pr == ct:
            host_to_use = host
        else:
            host_to_use, proto = h, pr
    if proto:
        uri += f"{proto}://"
    auth = ""
    if login is not None:
        auth += quote(login, safe="")
    if pw is not None:
        auth += ":" + quote(pw, safe="")
    if auth > "":
        auth += "@"
        uri += auth
    hb = ""
    if host_to_use:
        hb += quote(host_to_use, safe="")
    if port:
        hb += f"@:{port}" if hb == "" and auth == "" else f":{port}"
    if schema:
        hb += f"/{quote(schema, safe='')}"
    uri += hb
    if extra:
        try:
            d = json.loads(extra)
        except json.JSONDecodeError:
            d = {}
        flat = isinstance(d, dict) and all(isinstance(v, str) for v in d.values())
        try:
            query = urlencode(d)
        except TypeError:
            query = None
        if (variant != '3.1.6' or flat) and query and d == dict(parse_qsl(query, keep_blank_values=True)):
            uri += ("?" if schema else "/?") + query
        else:
            uri += ("?" if schema else "/?") + urlencode({"__extra__": extra})
    return uri

def attempt(fn, *a):
    try:
        return {'ok': fn(*a)}
    except Exception as e:
        return {'error': f"{type(e).__name__}: {e}"}

def yaml_scalar(text):
    import datetime
    try:
        v = yaml.safe_load('k: ' + text + '\\n')['k']
    except Exception:
        return ['error']
    if isinstance(v, bool):
        return ['bool', v]
    if isinstance(v, (int, float)):
        f = float(v)
        return ['number', f if f == f and abs(f) != float('inf') else repr(f)]
    if v is None:
        return ['null']
    if isinstance(v, (datetime.date, datetime.datetime)):
        return ['timestamp']
    if isinstance(v, str):
        return ['str', v]
    return [type(v).__name__]

def loads(text):
    try:
        return {'ok': json.dumps(json.loads(text))}
    except json.JSONDecodeError as e:
        return {'error': [e.msg, e.lineno, e.colno]}

req = json.load(sys.stdin)
print(json.dumps({
    'parse': [attempt(parse, u, v) for u, v in req['parse']],
    'get_uri': [attempt(get_uri, f, v) for f, v in req['get_uri']],
    'loads': [loads(t) for t in req['loads']],
    'yaml': [yaml.dump(dict(d)) for d in req['yaml']],
    'json2': [json.dumps(dict(d), indent=2) for d in req['yaml']],
    'json4': [json.dumps(json.loads(t), sort_keys=True, indent=4) for t in req['json4']],
    'repr': [repr(t) for t in req['repr']],
    'numbers': [json.dumps(json.loads(t)) for t in req['numbers']],
    'yaml_scalars': [yaml_scalar(t) for t in req['yaml_scalars']],
    'settings': [[v['variable_value'] if isinstance(v['variable_value'], str) else ['not a string', repr(v['variable_value'])]
                  for v in yaml.safe_load(t)['airflow']['variables']] for t in req['settings']],
}))
`;

type Outcome<T> = { ok: T } | { error: string };

function attempt<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: fn() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

// URI pieces chosen to hit urlsplit's corners: case, `%` escapes (valid, invalid, non-UTF-8), `+`, brackets, odd ports.
const piece = (options: string[]) => fc.constantFrom(...options);
const chunk = fc.string({
  unit: piece(['a', 'B', 'z', '0', '%2F', '%2f', '%40', '%3A', '%zz', '%', '%C3%A9', '%FF', '+', ' ', '_', '-', '.', '~', 'é', '😀', '"', "'", '#', '%22']),
  maxLength: 6,
});
const uriArb = fc
  .record({
    scheme: piece(['postgres', 'postgresql', 'my-type', 'google_cloud_platform', 'HTTP', 'x+y', '', 'a.b']),
    proto: piece(['', '', 'k8s://', 'https://', 'Http://']),
    user: fc.option(chunk),
    pass: fc.option(chunk),
    host: fc.oneof(chunk, piece(['[::1]', '[2001:db8::1]', '[v1.x]', '[1.2.3.4]', '[bad', 'DB.Example.COM', 'h%2Fpath'])),
    port: fc.option(piece(['5432', '0', '65535', '65536', '99999', 'abc', ' 1', '+1', '٣', '1_0', '-0', ''])),
    path: fc.option(chunk),
    query: fc.option(
      fc.array(
        fc.tuple(piece(['a', 'b', '__extra__', '', 'A+B']), piece(['1', 'true', 'null', '%22x%22', '1e5', 'NaN', '%5B1%2C2%5D', '', 'x+y', '%7B%22k%22%3A1%7D', '007', '-0', '1.0'])),
        { maxLength: 3 },
      ),
    ),
    fragment: fc.option(chunk),
  })
  .map((p) => {
    let uri = p.scheme ? `${p.scheme}://` : '//';
    uri += p.proto;
    if (p.user !== null || p.pass !== null) uri += `${p.user ?? ''}${p.pass !== null ? `:${p.pass}` : ''}@`;
    uri += p.host;
    if (p.port !== null) uri += `:${p.port}`;
    if (p.path !== null) uri += `/${p.path}`;
    if (p.query !== null) uri += `?${p.query.map(([k, v]) => `${k}=${v}`).join('&')}`;
    if (p.fragment !== null) uri += `#${p.fragment}`;
    return uri;
  });

const str = fc.string({ unit: fc.oneof(piece(['/', ':', '@', '%', '+', ' ', '?', '&', '=', '#', 'A', 'é', '😀', '://', '"', '\n']), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 10 });
const fieldsArb: fc.Arbitrary<ConnectionFields> = fc.record({
  conn_type: fc.option(piece(['http', 'postgres', 'google_cloud_platform', 'MySQL', 'my-type', ''])),
  host: fc.option(fc.oneof(str, piece(['http://h', 'https://Api.Example.com', 'k8s://1.2.3.4', 'DB.COM']))),
  login: fc.option(str),
  password: fc.option(str),
  schema: fc.option(str),
  port: fc.option(fc.integer({ min: 0, max: 65535 })),
  extra: fc.option(
    fc.oneof(
      fc.dictionary(str, fc.oneof(str, fc.integer(), fc.boolean(), fc.constant(null), fc.constant([1, 'a']))).map((d) => pythonJsonDumps(d)),
      piece(['{}', '[]', '[1]', '"s"', '5', 'not json', '{"a": 1.0, "b": 1e16, "c": -0.0}', '{"__extra__": "x"}']),
    ),
  ),
});

// Code points whose Unicode category has not changed between Python 3.11's Unicode 14 and Node's newer tables
// (printability decides repr's escaping, and recent additions would differ).
const stableChar = fc
  .oneof(
    fc.integer({ min: 0x0, max: 0x2ff }),
    fc.integer({ min: 0x370, max: 0x4ff }),
    fc.integer({ min: 0x2000, max: 0x206f }),
    fc.integer({ min: 0x4e00, max: 0x9fff }),
    fc.integer({ min: 0xac00, max: 0xd7a3 }),
    fc.integer({ min: 0xe000, max: 0xf8ff }),
    fc.integer({ min: 0x1f600, max: 0x1f64f }),
  )
  .map((cp) => String.fromCodePoint(cp));

const jsonish = fc.oneof(
  fc.json(),
  fc.string({ unit: piece(['{', '}', '[', ']', '"', ':', ',', ' ', '\n', '1', '-', '.', 'e', 'tru', 'NaN', 'Infinity', '\\', '\\u12', '\t', 'a', '\u0001']), maxLength: 12 }),
);

const rowArb: fc.Arbitrary<ConnectionRow> = fc.record({
  conn_id: fc.string({ unit: piece(['a', 'Z', '_', '-', '.', '1', ' ', ':', 'é', "'", '#', 'yes', 'null', '1']), minLength: 1, maxLength: 12 }),
  conn_type: fc.option(piece(['http', 'postgres', 'yes', '123', '', 'a b'])),
  description: fc.option(fc.oneof(str, fc.string({ maxLength: 120 }), piece(['', 'yes', 'on', '1.5', '0777', '2024-01-01', '2024-1-1', '2024-1-1 1:00:00', '1e3', '09', '-.5', '0:30', '1:20', '.5', '1_0', '~', '- x', 'a: b', '@x', '  lead', 'trail ', 'x #y', "it's", '---', 'line1\nline2', 'a\tb', 'ünï', '=', '<<']))),
  login: fc.option(str),
  password: fc.option(fc.oneof(str, fc.string({ maxLength: 100 }))),
  host: fc.option(str),
  port: fc.option(fc.integer({ min: 1, max: 65535 })),
  schema: fc.option(str),
  extra: fc.option(piece(['{"a": "b"}', '{"timeout": 30, "verify": false}', '{"k": "' + 'word '.repeat(30) + '"}'])),
});

if (!python) {
  describe('Python differential checks', () => {
    it.skip('SKIPPED: no python3 with PyYAML (tried `python3`, `/usr/bin/python3`)', () => {});
  });
} else {
  describe(`Python differential checks (${python})`, () => {
    const uris = fc.sample(uriArb, { numRuns: 400, seed: 42 });
    const fields = fc.sample(fieldsArb, { numRuns: 300, seed: 7 });
    const texts = fc.sample(jsonish, { numRuns: 300, seed: 3 });
    const jsonTexts = fc.sample(fc.json(), { numRuns: 200, seed: 5 });
    const reprTexts = fc.sample(fc.string({ unit: fc.oneof(piece(["'", '"', '\\', '\n', '\t', '\u0000', '\u007f', '\u00a0', '\u2028', 'é', '😀', '\u200b', '\ue000', 'a']), stableChar), maxLength: 8 }), { numRuns: 300, seed: 9 });
    // Extras as the model holds them (numbers from JSON.parse of an API payload or a settings file), as JSON text.
    const numberTexts = fc.sample(
      fc.dictionary(fc.string({ unit: piece(['a', 'b', 'c', 'timeout', 'ratio']), minLength: 1, maxLength: 3 }), fc.oneof(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.double({ min: -1e-3, max: 1e-3, noNaN: true }),
        fc.integer(),
        fc.constantFrom(0.1, 0.00001, 1.5e-7, 1e16, 1.5e16, 123456.789, 1e21, 2 ** 53 + 2, 5e-324, -2.5e-5, 1e100),
      ), { maxKeys: 4 }).map((d) => JSON.stringify(d)),
      { numRuns: 300, seed: 13 },
    );
    // Plain YAML scalars near PyYAML's implicit types (YAML 1.1 ints, floats, booleans, nulls, timestamps).
    const yamlScalars = fc.sample(
      fc.oneof(
        fc.string({ unit: piece(['0', '1', '7', '9', '_', '.', 'e', 'E', '+', '-', ':', 'x', 'b', 'o', 'F', 'a', '5']), minLength: 1, maxLength: 7 }),
        piece(['yes', 'No', 'ON', 'off', 'y', 'n', '~', 'null', 'NULL', '.inf', '-.Inf', '+.INF', '.NaN', '.nan', '1:20', '1:20:30.5', '0:30', '190:20:30',
          '2024-01-01', '2024-1-1', '2024-01-01 10:00:00', '2001-12-14t21:59:43.10-05:00', '0b1_0', '0x_1F', '0777', '0o17', '09', '1e3', '1.0e3', '1.0e+3',
          '-.5', '.5', '1.', '0.', '+1_000', '-0', '6.8523015e+5', '685.230_15e+03']),
      ),
      { numRuns: 400, seed: 17 },
    );
    // Characters YAML 1.1 does not take back as written: DEL and C1 controls, NEL, U+2028/U+2029 (line breaks to
    // 1.1), the byte-order mark, U+FFFE/U+FFFF, tabs; among quotes, backslashes, blanks and line feeds.
    const awkwardStrings = fc.sample(
      fc.string({
        unit: piece(['a', ' ', '\t', '\n', '\r', '"', "'", '\\', '#', ':', '-', '\u007f', '\u0080', '\u0085', '\u0090', '\u009f', '\u00a0', '\u2028', '\u2029', '\ufeff', '\ufffe', '\uffff', '\u0000', '\u001b', 'é']),
        minLength: 1, maxLength: 8,
      }),
      { numRuns: 300, seed: 23 },
    );
    const settingsValues = [...yamlScalars, ...awkwardStrings];
    const rowSets = fc.sample(fc.uniqueArray(rowArb, { selector: (r) => r.conn_id, maxLength: 4 }), { numRuns: 150, seed: 11 });
    // Pairs, not objects: a JS object would move integer-like ids ("11") to the front.
    const dumpable = rowSets.map((rows) =>
      (
        [...rows]
          .sort((a, b) => (a.conn_id < b.conn_id ? -1 : 1))
          .map((r) => [r.conn_id, { conn_type: r.conn_type, description: r.description, login: r.login, password: r.password || null, host: r.host, port: r.port, schema: r.schema, extra: r.extra }])
      ),
    );
    const py = runPython<{
      parse: Outcome<ConnectionFields>[];
      get_uri: Outcome<string>[];
      loads: ({ ok: string } | { error: [string, number, number] })[];
      yaml: string[];
      json2: string[];
      json4: string[];
      repr: string[];
      numbers: string[];
      yaml_scalars: unknown[][];
      settings: unknown[][];
    }>(python, AIRFLOW_PY, {
      parse: uris.flatMap((u) => AIRFLOW_VARIANTS.map((v) => [u, v])),
      get_uri: fields.flatMap((f) => AIRFLOW_VARIANTS.map((v) => [f, v])),
      loads: texts,
      yaml: dumpable,
      json4: jsonTexts,
      repr: reprTexts,
      numbers: numberTexts,
      yaml_scalars: yamlScalars,
      settings: [writeSettingsFile(undefined, { variables: settingsValues.map((value, i) => ({ key: `v${i}`, value })) })],
    });

    it('parseConnectionUri agrees with Python on every generated URI and variant', () => {
      let i = 0;
      for (const u of uris) {
        for (const v of AIRFLOW_VARIANTS) expect(attempt(() => parseConnectionUri(u, { airflow: v })), `${u} [${v}]`).toEqual(py.parse[i++]);
      }
    });

    it('airflowGetUri agrees with Python on every generated field set and variant', () => {
      let i = 0;
      for (const f of fields) {
        for (const v of AIRFLOW_VARIANTS) expect(attempt(() => airflowGetUri(f, v)), `${JSON.stringify(f)} [${v}]`).toEqual(py.get_uri[i++]);
      }
    });

    it('pythonJsonLoads accepts, rejects and re-serializes like json.loads / json.dumps', () => {
      texts.forEach((t, i) => {
        const expected = py.loads[i]!;
        let got: { ok: string } | { error: [string, number, number] };
        try {
          got = { ok: pythonJsonDumps(pythonJsonLoads(t)) };
        } catch (e) {
          const err = e as { msg: string; lineno: number; colno: number };
          got = { error: [err.msg, err.lineno, err.colno] };
        }
        expect(got, JSON.stringify(t)).toEqual(expected);
      });
    });

    it('pythonJsonDumpsIndent matches json.dumps(sort_keys=True, indent=4) (variables and pools export)', () => {
      jsonTexts.forEach((t, i) => expect(pythonJsonDumpsIndent(pythonJsonLoads(t), 4, true), t).toBe(py.json4[i]));
    });

    it('pythonJsonDumps and flatObjectDumps write JS numbers as json.dumps writes what Python decodes from their JSON', () => {
      numberTexts.forEach((t, i) => {
        const record = JSON.parse(t) as Record<string, unknown>;
        expect(pythonJsonDumps(record), t).toBe(py.numbers[i]);
        expect(flatObjectDumps(record), t).toBe(py.numbers[i]);
      });
    });

    it('LocalFilesystemBackend YAML files resolve plain scalars as PyYAML safe_load does', () => {
      const ours = (text: string): unknown[] => {
        let v: unknown;
        try {
          v = (parseLocalFilesystemSecrets(`k: ${text}\n`, { format: 'yaml', kind: 'variables' }) as { variables: Record<string, unknown> }).variables.k;
        } catch {
          return ['error'];
        }
        if (typeof v === 'boolean') return ['bool', v];
        if (typeof v === 'number') return ['number', Number.isFinite(v) ? v : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf'];
        if (v === null) return ['null'];
        if (v instanceof Date) return ['timestamp'];
        if (typeof v === 'string') return ['str', v];
        return [typeof v];
      };
      yamlScalars.forEach((t, i) => expect(ours(t), JSON.stringify(t)).toEqual(py.yaml_scalars[i]));
    });

    it('airflow_settings.yaml as envmgr writes it: PyYAML (YAML 1.1) reads back every string value, numbers and dates look-alikes included', () => {
      settingsValues.forEach((v, i) => expect(py.settings[0]![i], JSON.stringify(v)).toEqual(v));
    });

    it('pyReprStr matches repr() (used in Airflow messages such as port and key errors)', () => {
      reprTexts.forEach((t, i) => expect(pyReprStr(t), JSON.stringify(t)).toBe(py.repr[i]));
    });

    it('connections export (yaml / json) matches PyYAML yaml.dump and json.dumps(indent=2)', () => {
      rowSets.forEach((rows, i) => {
        expect(exportConnectionsYaml(rows), JSON.stringify(rows)).toBe(py.yaml[i]);
        expect(exportConnectionsJson(rows), JSON.stringify(rows)).toBe(py.json2[i]);
      });
    });
  });
}
