import { parse as dotenvParse } from 'dotenv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EnvValueError, connectionEnvEntry, envQuotingFor, formatEnvLine, mergeEnvFile, readAirflowEnvFile } from '../../src/airflow/envfile.js';
import { connectionFromJson, connectionToJson } from '../../src/airflow/json.js';
import type { AirflowConnection } from '../../src/airflow/model.js';
import { exactInt, flatObjectDumps, PyInt, pythonJsonDumps } from '../../src/airflow/pyjson.js';
import { readSettingsFile, writeSettingsFile } from '../../src/airflow/settings.js';
import { AIRFLOW_VARIANTS, connectionFromUri, connectionToUri } from '../../src/airflow/uri.js';
import { composeDotenvParse } from './compose-dotenv.js';

const RUNS = { numRuns: 300 };

// Characters that break naive encoders, plus any Unicode code point (no lone surrogates; see below).
const special = fc.constantFrom(
  "'", '"', '`', '$', '#', '\\', '\n', '\r', '\t', ' ', '@', ':', '/', '?', '%', '+', '&', '=', '{', '}', '[', ']', ',', ';',
  '~', '*', 'é', 'ü', 'ß', '😀', '\u00a0', '\u2028', '\ufeff', '\u0000', 'A', 'Z', '0', '_', '.', '-',
);
const char = fc.oneof({ weight: 3, arbitrary: special }, { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) });
const text = fc.string({ unit: char, maxLength: 24 });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
// The readers of files refuse (as a problem with its line) a NUL in a column Airflow keeps in clear, which its
// Postgres cannot store; the codecs themselves carry it.
const storable = (c: { host?: string | null; login?: string | null; schema?: string | null; description?: string | null }) =>
  ![c.host, c.login, c.schema, c.description].some((v) => typeof v === 'string' && v.includes('\u0000'));

// Real conn types: lower-case, `_`-separated (Airflow maps `-` to `_` and lower-cases the URI scheme, and
// rewrites `postgresql` to `postgres`, so other spellings cannot come back unchanged in any Airflow).
const connType = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/).filter((t) => t !== 'postgresql');
// Integers of any size too: beyond 2^53 the model holds a bigint (exactInt), which every form must carry digit for digit.
const extraValue = fc.oneof(
  text, fc.integer(), fc.boolean(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }),
);
const extra = maybe(
  fc.dictionary(text, fc.oneof({ weight: 4, arbitrary: extraValue }, { weight: 1, arbitrary: fc.array(extraValue, { maxLength: 3 }) }), { maxKeys: 4 }),
);
const connection = fc.record({
  conn_id: fc.stringMatching(/^[a-z0-9_.-]{1,20}$/),
  conn_type: connType,
  description: maybe(text),
  host: maybe(text),
  login: maybe(text),
  password: maybe(text),
  schema: maybe(text),
  port: maybe(fc.integer({ min: 1, max: 65535 })),
  extra,
});

// An int reads back as exactInt gives it: a bigint whose digits a number also has (2n ** 60n) comes back a number.
const exactly = (v: unknown): unknown => (typeof v === 'bigint' ? exactInt(String(v)) : Array.isArray(v) ? v.map(exactly) : v);
const norm = (e: Record<string, unknown> | null | undefined) =>
  e && Object.keys(e).length > 0 ? Object.fromEntries(Object.entries(e).map(([k, v]) => [k, exactly(v)])) : null;

/**
 * The model envmgr reads back from the URI it wrote, under every variant. The only losses are the ones that do not
 * exist for Airflow either: `''` and absent are one value in envmgr's model (Airflow's hooks test these fields for
 * truthiness, and its URI parser turns absent host/schema into `''` and a login-less password into login `''`), an
 * empty extra is absent, and a URI has no description. The host keeps its case (see keepHostCase in uri.ts).
 */
function expectedFromUri(c: AirflowConnection): AirflowConnection {
  return {
    conn_id: c.conn_id,
    conn_type: c.conn_type,
    host: c.host || null,
    login: c.login || null,
    password: c.password || null,
    schema: c.schema || null,
    port: c.port ?? null,
    extra: norm(c.extra),
  };
}

/** JSON (as_json/from_json) keeps everything, with `''` read as absent as everywhere in envmgr's model. */
function expectedFromJson(c: AirflowConnection): AirflowConnection {
  return {
    conn_id: c.conn_id,
    conn_type: c.conn_type,
    description: c.description || null,
    host: c.host || null,
    login: c.login || null,
    password: c.password || null,
    schema: c.schema || null,
    port: c.port ?? null,
    extra: norm(c.extra),
  };
}

describe('model → URI → model (every Airflow variant)', () => {
  // Excluded: lone UTF-16 surrogates (Python's quote() cannot UTF-8-encode them: UnicodeEncodeError), which
  // the `binary` unit never produces; port 0 (Airflow drops it) — ports are 1–65535 as envmgr validates.
  for (const airflow of AIRFLOW_VARIANTS) {
    it(`round-trips under ${airflow}`, () => {
      fc.assert(
        fc.property(connection, (c) => {
          const back = connectionFromUri(c.conn_id, connectionToUri(c, { airflow }), { airflow });
          expect(back).toEqual(expectedFromUri(c));
        }),
        RUNS,
      );
    });
  }

  it('a URI written for one variant reads the same in the others', () => {
    fc.assert(
      fc.property(connection, (c) => {
        const uri = connectionToUri(c, { airflow: '3.1.6' });
        const all = AIRFLOW_VARIANTS.map((airflow) => connectionFromUri(c.conn_id, uri, { airflow }));
        expect(all[0]).toEqual(all[1]);
        expect(all[0]).toEqual(all[2]);
      }),
      RUNS,
    );
  });
});

describe('model → JSON → model', () => {
  it('round-trips', () => {
    fc.assert(
      fc.property(connection, (c) => {
        for (const airflow of AIRFLOW_VARIANTS) {
          expect(connectionFromJson(c.conn_id, connectionToJson(c, { airflow }), { airflow })).toEqual(expectedFromJson(c));
        }
      }),
      RUNS,
    );
  });
});

describe('model → .env → dotenv.parse → model', () => {
  it('any value either reads back identically with dotenv and compose, or is refused with EnvValueError', () => {
    fc.assert(
      fc.property(text, (value) => {
        let line: string;
        try {
          line = formatEnvLine('AIRFLOW_VAR_X', value);
        } catch (e) {
          expect(e).toBeInstanceOf(EnvValueError);
          // Refused exactly when quoting is needed and neither '…' nor "…" can carry the value.
          expect(envQuotingFor(value)).toBeUndefined();
          expect(/['\r]|\\$/.test(value) && /["\\$]/.test(value)).toBe(true);
          return;
        }
        const file = `# header\n${line}\nAIRFLOW_VAR_NEXT=after\n`;
        expect(dotenvParse(file)).toEqual({ AIRFLOW_VAR_X: value, AIRFLOW_VAR_NEXT: 'after' });
        expect(composeDotenvParse(file)).toEqual({ AIRFLOW_VAR_X: value, AIRFLOW_VAR_NEXT: 'after' });
      }),
      { numRuns: 1000 },
    );
  });

  it('connections and variables merged into one file read back equal (URI and JSON serialization)', () => {
    // Excluded: variable values the writer refuses (property above); conn_id case (Airflow upper-cases ids for env
    // names, so ids are generated lower-case, the convention the reader restores).
    const variable = fc.record({ key: fc.stringMatching(/^[a-z0-9_.]{1,12}$/), value: text }).filter((v) => envQuotingFor(v.value) !== undefined);
    fc.assert(
      fc.property(
        fc.uniqueArray(connection.filter(storable), { selector: (c) => c.conn_id, maxLength: 4 }),
        fc.uniqueArray(variable, { selector: (v) => v.key, maxLength: 4 }),
        fc.constantFrom<'uri' | 'json'>('uri', 'json'),
        (conns, vars, serialization) => {
          const entries = [
            ...conns.map((c) => connectionEnvEntry(c, { serialization })),
            ...vars.map((v) => ({ name: `AIRFLOW_VAR_${v.key.toUpperCase()}`, value: v.value })),
          ];
          const file = mergeEnvFile('# existing\nOTHER=1\n', entries);
          const parsed = dotenvParse(file);
          for (const e of entries) expect(parsed[e.name]).toBe(e.value);
          expect(composeDotenvParse(file)).toEqual(parsed);
          const r = readAirflowEnvFile(file);
          expect(r.problems).toEqual([]);
          expect(r.variables.map((v) => v.variable)).toEqual(vars.map((v) => ({ key: v.key, value: v.value })));
          const expected = conns.map((c) => (serialization === 'uri' ? { ...expectedFromUri(c), description: null } : expectedFromJson(c)));
          expect(r.connections.map((c) => c.connection)).toEqual(expected);
          // merging the same entries again changes nothing
          expect(mergeEnvFile(file, entries)).toBe(file);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('model → airflow_settings.yaml → model', () => {
  it('round-trips (description has no Astro field; empty strings are Astro\'s "unset")', () => {
    // Astro treats '' as unset for every conn_* field, so empty strings are generated as null here.
    const nonEmpty = maybe(text.filter((t) => t !== ''));
    const conn = fc.record({
      conn_id: fc.stringMatching(/^[a-z0-9_.-]{1,20}$/),
      conn_type: connType,
      host: nonEmpty,
      login: nonEmpty,
      password: nonEmpty,
      schema: nonEmpty,
      port: maybe(fc.integer({ min: 1, max: 65535 })),
      extra,
    });
    fc.assert(
      fc.property(fc.uniqueArray(conn.filter(storable), { selector: (c) => c.conn_id, maxLength: 3 }), (conns) => {
        const r = readSettingsFile(writeSettingsFile(undefined, { connections: conns }));
        expect(r.problems).toEqual([]);
        expect(r.connections.map((c) => c.connection)).toEqual(conns.map((c) => ({ ...c, extra: norm(c.extra) })));
      }),
      { numRuns: 150 },
    );
  });
});

describe('flatObjectDumps (the fast path for flat extras)', () => {
  const plainText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)).filter((c) => c !== '"' && c !== '\\'), maxLength: 12 });
  const plainValue = fc.oneof(plainText, fc.integer(), fc.boolean(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }));
  const anyValue = fc.oneof(
    { weight: 4, arbitrary: fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.double()) },
    { weight: 1, arbitrary: fc.oneof(fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(text, fc.integer(), { maxKeys: 2 }), fc.constant(new PyInt('12345678901234567890'))) },
  );

  it('gives pythonJsonDumps\'s text whenever it answers, and answers for every flat object of plain keys and values', () => {
    fc.assert(
      fc.property(fc.dictionary(text, anyValue, { maxKeys: 5 }), (record) => {
        const fast = flatObjectDumps(record);
        if (fast !== undefined) expect(fast).toBe(pythonJsonDumps(record));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.dictionary(plainText, plainValue, { maxKeys: 5 }), (record) => {
        expect(flatObjectDumps(record)).toBe(pythonJsonDumps(record));
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves to the general path what needs escaping or is not a flat value', () => {
    for (const record of [{ 'a"b': 1 }, { a: 'x\\y' }, { a: '\u00e9' }, { a: '\n' }, { a: '\u007f' }, { a: NaN }, { a: Infinity }, { a: [1] }, { a: { b: 1 } }, { a: new PyInt('1') }]) {
      expect(flatObjectDumps(record as Record<string, unknown>), JSON.stringify(record)).toBeUndefined();
    }
    expect(flatObjectDumps({ b: 'x: y, z', a: -0, c: 1e21, d: true, e: null, f: undefined })).toBe('{"b": "x: y, z", "a": 0, "c": 1e+21, "d": true, "e": null}');
    expect(flatObjectDumps({ f: undefined, a: 1 })).toBe('{"a": 1}');
    expect(flatObjectDumps({})).toBe('{}');
  });
});
