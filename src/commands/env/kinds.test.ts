import { describe, expect, it } from 'vitest';
import { UsageError } from '../../cli/errors.js';
import { AIRFLOW_VARIABLE, CONNECTION, checkKey, collect, fieldInput, parseExtra } from './kinds.js';

describe('env field flags → values', () => {
  it('maps connection flags, port as a number and extra as an object', () => {
    expect(fieldInput(CONNECTION, { type: 'postgres', host: 'h', login: 'l', schema: 's', port: '5432', extra: '{"sslmode":"require"}', passwordStdin: true })).toEqual({
      connection: { type: 'postgres', host: 'h', login: 'l', schema: 's', port: 5432, extra: { sslmode: 'require' } },
      secretFromStdin: true,
    });
    expect(fieldInput(CONNECTION, {})).toEqual({ connection: {}, secretFromStdin: false });
  });

  it('names the flag at fault', () => {
    expect(() => fieldInput(CONNECTION, { port: '0' })).toThrow(/invalid --port "0"/);
    expect(() => fieldInput(CONNECTION, { port: '12x' })).toThrow(UsageError);
    expect(() => fieldInput(CONNECTION, { extra: '{' })).toThrow(/--extra is not valid JSON/);
    // Where it fails, never what is there (Node's own message quotes the text: a key file's secret).
    expect(() => parseExtra('{"api_key": SECRETVALUE_abc123456}')).toThrow('--extra is not valid JSON (Expecting value: line 1 column 13 (char 12)); pass a JSON object');
    expect(() => parseExtra('private_key: MIIEvQIBADANBgkq', '--extra-file k.yaml')).not.toThrow(/MIIEv|private_ke/);
    expect(() => fieldInput(CONNECTION, { extra: '"text"' })).toThrow(/--extra must be a JSON object/);
    expect(() => fieldInput(CONNECTION, { host: 'x'.repeat(501) })).toThrow(/--host is longer than 500/);
    expect(() => fieldInput(AIRFLOW_VARIABLE, { value: 'a', valueStdin: true })).toThrow(/mutually exclusive/);
    expect(() => fieldInput(CONNECTION, { extra: '{}', extraFile: 'x.json' })).toThrow(/--extra and --extra-file are mutually exclusive/);
    expect(() => fieldInput(CONNECTION, { extraFile: '-', passwordStdin: true })).toThrow(/both read stdin/);
    expect(fieldInput(CONNECTION, { extraFile: 'x.json', passwordStdin: true })).toEqual({ connection: {}, secretFromStdin: true, extraFile: 'x.json' });
  });

  it('maps variable flags', () => {
    expect(fieldInput(AIRFLOW_VARIABLE, { value: 'v', secret: true })).toEqual({ variable: { value: 'v', isSecret: true }, secretFromStdin: false });
    expect(fieldInput(AIRFLOW_VARIABLE, { valueStdin: true })).toEqual({ variable: {}, secretFromStdin: true });
  });

  it('checks keys against the API pattern and collects repeatable flags', () => {
    expect(() => checkKey('my_conn.v-2', CONNECTION)).not.toThrow();
    expect(() => checkKey('has space', CONNECTION)).toThrow(/invalid connection key/);
    expect(() => checkKey('x'.repeat(201), AIRFLOW_VARIABLE)).toThrow(UsageError);
    expect(collect('b, c', ['a'])).toEqual(['a', 'b', 'c']);
  });
});
