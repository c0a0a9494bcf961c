import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fernetDecrypt, fernetEncrypt, fernetRotate } from '../../src/airflow/fernet.js';
import { formatConnectionJson, parseConnectionJson, parseConnectionValue } from '../../src/airflow/json.js';
import { airflowGetUri, parseConnectionUri } from '../../src/airflow/uri.js';
import type { AirflowVariant } from '../../src/airflow/uri.js';
import { airflowValidateKey, envVarNameFor, sanitizeConnId } from '../../src/airflow/validate.js';
import {
  exportConnectionsEnv,
  exportConnectionsJson,
  exportConnectionsYaml,
  exportPoolsJson,
  exportVariablesJson,
  parseLocalFilesystemSecrets,
} from '../../src/airflow/airflow-files.js';

// Every case of every section of the shared vectors becomes a test. A missing file fails loudly: a skipped
// vector suite would look green while proving nothing.
const vectorsUrl = new URL('../../../shared/airflow/vectors.json', import.meta.url);
const vectorsPath = fileURLToPath(vectorsUrl);
if (!existsSync(vectorsPath)) {
  throw new Error(`Airflow test vectors not found at ${vectorsPath} (expected ../shared/airflow/vectors.json beside the repo)`);
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const V: any = JSON.parse(readFileSync(vectorsPath, 'utf8'));

const VARIANTS: [string, AirflowVariant][] = [
  ['v2', '2'],
  ['v3_1', '3.1'],
  ['v3_1_6', '3.1.6'],
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function fieldsOf(parsed: any) {
  return {
    conn_type: parsed.conn_type,
    host: parsed.host,
    login: parsed.login,
    password: parsed.password,
    schema: parsed.schema,
    port: parsed.port,
    extra: parsed.extra,
  };
}

/** The vectors write errors as `Type: message`; our PythonError messages use the same form. */
function expectThrows(fn: () => unknown, error: string): void {
  expect(fn).toThrow(error);
}

describe('vectors file', () => {
  it('has every section', () => {
    for (const s of ['connection_field_cases', 'handwritten_uri_cases', 'json_env_cases', 'conn_id_checks', 'local_filesystem_cases', 'cli_export_samples', 'db_row_examples', 'fernet']) {
      expect(V, s).toHaveProperty(s);
    }
  });
});

describe('connection_field_cases', () => {
  for (const c of V.connection_field_cases) {
    for (const [vk, variant] of VARIANTS) {
      const r = c.results[vk];
      describe(`${c.name} [${vk}]`, () => {
        if (r.error) {
          it('get_uri raises', () => expectThrows(() => airflowGetUri(c.fields, variant), r.error));
          it('as_json raises', () => expectThrows(() => formatConnectionJson(c.fields, { airflow: variant }), r.error));
          return;
        }
        it('get_uri', () => expect(airflowGetUri(c.fields, variant)).toBe(r.uri));
        if (r.parsed.error) {
          it('parse raises', () => expectThrows(() => parseConnectionUri(r.uri, { airflow: variant }), r.parsed.error));
        } else {
          it('parse', () => expect(parseConnectionUri(r.uri, { airflow: variant })).toEqual(fieldsOf(r.parsed)));
        }
        it('as_json', () => expect(formatConnectionJson(c.fields, { airflow: variant })).toBe(r.as_json));
        it('from_json', () => {
          const parsed = parseConnectionJson(r.as_json, { airflow: variant });
          const description = c.fields.description ?? null;
          expect(parsed).toEqual({ ...fieldsOf(r.json_parsed), ...(description !== null ? { description } : {}) });
        });
      });
    }
  }
});

describe('handwritten_uri_cases', () => {
  for (const c of V.handwritten_uri_cases) {
    for (const [vk, variant] of VARIANTS) {
      const r = c.results[vk];
      if (r.error) {
        it(`${c.uri} [${vk}] raises`, () => expectThrows(() => parseConnectionUri(c.uri, { airflow: variant }), r.error));
        continue;
      }
      it(`${c.uri} [${vk}] parses`, () => expect(parseConnectionUri(c.uri, { airflow: variant })).toEqual(fieldsOf(r.parsed)));
      it(`${c.uri} [${vk}] re-serializes`, () => expect(airflowGetUri(fieldsOf(r.parsed), variant)).toBe(r.reserialized_uri));
    }
  }
});

describe('json_env_cases', () => {
  for (const c of V.json_env_cases) {
    for (const [vk, variant] of VARIANTS) {
      const r = c.results[vk];
      if (r.error) {
        it(`${c.name} [${vk}] raises`, () => expectThrows(() => parseConnectionValue(c.value, { airflow: variant }), r.error));
        continue;
      }
      it(`${c.name} [${vk}]`, () => {
        const parsed = parseConnectionValue(c.value, { airflow: variant });
        expect(parsed).toEqual({ ...fieldsOf(r.parsed), ...(r.description !== null ? { description: r.description } : {}) });
        expect(formatConnectionJson(parsed, { airflow: variant })).toBe(r.as_json);
        expect(airflowGetUri(parsed, variant)).toBe(r.get_uri);
      });
    }
  }
});

describe('conn_id_checks', () => {
  for (const c of V.conn_id_checks.cases) {
    // Ids written as Python expressions ("'x' * 200") are expanded here.
    const m = /^'(.)' \* (\d+)$/.exec(c.conn_id);
    const id: string = m ? m[1]!.repeat(Number(m[2])) : c.conn_id;
    it(`${c.conn_id}`, () => {
      expect(sanitizeConnId(id)).toBe(c.model_sanitize_conn_id);
      const err = airflowValidateKey(id, 200);
      expect(err === null ? 'ok' : `rejected: ${err}`).toBe(c.cli_validate_key_200);
      if (c.env_var_name !== null) expect(envVarNameFor('connection', id)).toBe(c.env_var_name);
    });
  }
  it('2.x (re2, ASCII \\w) rejects non-ASCII ids', () => {
    expect(sanitizeConnId('\u00fc', 250, false)).toBeNull();
    expect(sanitizeConnId('\u00fc', 250, true)).toBe('\u00fc');
  });
});

describe('local_filesystem_cases', () => {
  for (const [i, c] of (V.local_filesystem_cases.cases as typeof V[]).entries()) {
    for (const major of ['v2', 'v3'] as const) {
      const r = c[major];
      it(`#${i} ${c.format} ${c.kind} [${major}]`, () => {
        const path = `/tmp/secrets.${c.format}`;
        const run = () => parseLocalFilesystemSecrets(c.content, { format: c.format, kind: c.kind, airflow: major === 'v2' ? '2' : '3', path });
        if (r.error) {
          let caught: unknown;
          try {
            run();
          } catch (e) {
            caught = e;
          }
          expect(caught, 'expected an error').toBeInstanceOf(Error);
          const e = caught as Error & { parseErrors?: [number, string][] };
          const expected: string = r.error.replace('<file>', path);
          // Airflow puts the path in front of this message; the vectors leave it out.
          expect(e.message.endsWith(expected.replace(/^[A-Za-z]+: /, '')) || e.message === expected).toBe(true);
          expect(e.message.startsWith(expected.split(':')[0]!)).toBe(true);
          if (r.parse_errors) expect(e.parseErrors).toEqual(r.parse_errors);
        } else {
          expect(run()).toEqual(c.kind === 'connections' ? { connections: r.connections } : { variables: r.variables });
        }
      });
    }
  }
});

describe('cli_export_samples', () => {
  const S = V.cli_export_samples;
  // The rows behind the samples, as the metadata DB holds them (extra is the stored text).
  const rows = [
    { conn_id: 'my_postgres', conn_type: 'postgres', description: 'main db', login: 'u', password: 'p@ss', host: 'db', port: 5432, schema: 'airflow', extra: null },
    { conn_id: 'my_http', conn_type: 'http', description: null, login: null, password: null, host: 'https://api.example.com', port: null, schema: null, extra: '{"timeout": 30, "verify": false}' },
    { conn_id: 'gcp', conn_type: 'google_cloud_platform', description: null, login: null, password: null, host: null, port: null, schema: null, extra: '{"project": "p1"}' },
  ];
  it('json', () => expect(exportConnectionsJson(rows)).toBe(S.json));
  it('yaml', () => expect(exportConnectionsYaml(rows)).toBe(S.yaml));
  it('env uri', () => expect(exportConnectionsEnv(rows, 'uri')).toBe(S.env_uri));
  it('env json', () => expect(exportConnectionsEnv(rows, 'json')).toBe(S.env_json));
  it('variables 2.x', () =>
    expect(exportVariablesJson([{ key: 'b_str', value: 'hello' }, { key: 'a_num', value: '123' }, { key: 'c_json', value: '{"x": [1, 2]}' }], '2')).toBe(
      S.variables_export_2x,
    ));
  it('variables 3.x with description', () =>
    expect(exportVariablesJson([{ key: 'a_num', value: '123' }, { key: 'b_str', value: 'hello', description: 'greeting' }], '3')).toBe(
      S.variables_export_3x_with_description,
    ));
  it('pools', () =>
    expect(
      exportPoolsJson([
        { name: 'p1', slots: 5, description: '', include_deferred: true },
        { name: 'default_pool', slots: 128, description: 'Default pool', include_deferred: false },
      ]),
    ).toBe(S.pools_export));
});

describe('fernet', () => {
  for (const [i, v] of (V.fernet.vectors as typeof V[]).entries()) {
    it(`vector ${i}: encrypt from parts`, () => {
      expect(fernetEncrypt(v.key, v.plaintext, { timestamp: v.timestamp, iv: Buffer.from(v.iv_hex, 'hex') })).toBe(v.token);
    });
    it(`vector ${i}: decrypt`, () => expect(fernetDecrypt(v.key, v.token)).toBe(v.plaintext));
  }
  const rot = V.fernet.multifernet_rotation;
  it('MultiFernet decrypts a token of the old key', () => expect(fernetDecrypt(rot.fernet_key_setting, rot.token_under_old_key)).toBe(rot.plaintext));
  it('MultiFernet encrypts with the first key only', () => {
    const t = fernetEncrypt(rot.fernet_key_setting, rot.plaintext);
    expect(fernetDecrypt(rot.new_key, t)).toBe(rot.plaintext);
    expect(() => fernetDecrypt(rot.old_key, t)).toThrow();
  });
  it('rotate keeps the timestamp, uses the new key and a new IV', () => {
    const rotated = fernetRotate(rot.fernet_key_setting, rot.token_under_old_key);
    expect(fernetDecrypt(rot.new_key, rotated)).toBe(rot.plaintext);
    expect(() => fernetDecrypt(rot.old_key, rotated)).toThrow();
    const raw = Buffer.from(rotated.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    expect(Number(raw.readBigUInt64BE(1))).toBe(rot.rotated_token_timestamp);
    expect(raw.subarray(9, 25).toString('hex')).not.toBe(rot.token_under_old_key_iv_hex);
  });
  it('the example rotated token decrypts with the new key', () => expect(fernetDecrypt(rot.new_key, rot.rotated_token_example)).toBe(rot.plaintext));
  it('future-timestamp token decrypts (no TTL)', () => {
    const m = V.fernet.misc;
    expect(() => fernetDecrypt(m.future_timestamp_key, m.future_timestamp_token)).not.toThrow();
  });
  it('wrong key raises', () => {
    const v = V.fernet.vectors[1];
    expect(() => fernetDecrypt(V.fernet.vectors[2].key, v.token)).toThrow(/InvalidToken/);
  });
});

describe('db_row_examples', () => {
  const D = V.db_row_examples;
  it('encrypted connection row decrypts to its plaintext', () => {
    const row = D.connection_encrypted;
    expect(fernetDecrypt(D.fernet_key, row.password)).toBe(row._plaintext.password);
    expect(fernetDecrypt(D.fernet_key, row.extra)).toBe(row._plaintext.extra);
    expect(row.is_encrypted && row.is_extra_encrypted).toBe(true);
  });
  it('plaintext row equals the decrypted encrypted row', () => {
    const enc = D.connection_encrypted;
    const plain = D.connection_plaintext_no_fernet_key;
    expect(plain.password).toBe(enc._plaintext.password);
    expect(plain.extra).toBe(enc._plaintext.extra);
    expect(plain.is_encrypted || plain.is_extra_encrypted).toBe(false);
  });
  it('encrypted empty variable decrypts to the empty string', () => {
    const row = D.variable_encrypted_empty_string;
    expect(fernetDecrypt(D.fernet_key, row.val)).toBe(row._plaintext);
  });
});
