import { parseDocument, visit } from 'yaml';
import type { Tags } from 'yaml';
import { constructConnection } from './json.js';
import type { ParsedConnection } from './json.js';
import type { AirflowPool, AirflowVariable } from './model.js';
import { PyJsonDecodeError, comparePyStr, exactInt, setOwn, jsToPy, pyReprStr, pyToJs, pythonJsonDumps, pythonJsonDumpsIndent, pythonJsonLoads } from './pyjson.js';
import type { PyDict, PyValue } from './pyjson.js';
import { PY_WHITESPACE, PythonError } from './pyurl.js';
import { airflowGetUri, parseConnectionUri } from './uri.js';
import type { AirflowVariant } from './uri.js';

/**
 * Airflow's own file forms: `airflow connections|variables|pools export` output, and the LocalFilesystemBackend
 * (`airflow/secrets/local_filesystem.py`) parsing of `.env`, `.json` and `.yaml` secret files, 2.x and 3.x.
 */

/** A connection row as Airflow's export reads it: decrypted, `extra` as the stored text. */
export interface ConnectionRow {
  conn_id: string;
  conn_type: string | null;
  description?: string | null;
  host?: string | null;
  login?: string | null;
  password?: string | null;
  schema?: string | null;
  port?: number | null;
  extra?: string | null;
}

function sortedRows<T extends { conn_id: string }>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => comparePyStr(a.conn_id, b.conn_id));
}

/** `_connection_to_dict`: the export's field order, extra kept as text. */
function exportDict(row: ConnectionRow): PyDict {
  const m: PyDict = new Map();
  m.set('conn_type', row.conn_type ?? null);
  m.set('description', row.description ?? null);
  m.set('login', row.login ?? null);
  m.set('password', row.password ? row.password : null);
  m.set('host', row.host ?? null);
  m.set('port', row.port === undefined || row.port === null ? null : jsToPy(row.port));
  m.set('schema', row.schema ?? null);
  m.set('extra', row.extra ?? null);
  return m;
}

/** `airflow connections export x.json`: `json.dumps({...}, indent=2)`, rows ordered by conn_id. */
export function exportConnectionsJson(rows: readonly ConnectionRow[]): string {
  const all: PyDict = new Map();
  for (const row of sortedRows(rows)) all.set(row.conn_id, exportDict(row));
  return pythonJsonDumpsIndent(all, 2);
}

/** `airflow connections export x.yaml`: PyYAML `yaml.dump` (keys sorted, block style). */
export function exportConnectionsYaml(rows: readonly ConnectionRow[]): string {
  const all: PyDict = new Map();
  for (const row of sortedRows(rows)) all.set(row.conn_id, exportDict(row));
  return pyYamlDump(all);
}

/** `airflow connections export x.env [--serialization-format uri|json]`. */
export function exportConnectionsEnv(rows: readonly ConnectionRow[], serialization: 'uri' | 'json' = 'uri', variant: AirflowVariant = '2'): string {
  return sortedRows(rows)
    .map((row) => `${row.conn_id}=${serialization === 'json' ? pythonJsonDumps(exportDict(row)) : airflowGetUri(row, variant, row.conn_id)}\n`)
    .join('');
}

function decodedOrRaw(value: string): PyValue {
  try {
    return pythonJsonLoads(value);
  } catch {
    return value;
  }
}

/**
 * `airflow variables export`: `json.dump(sort_keys=True, indent=4)` of each value JSON-decoded when it decodes;
 * 3.x writes `{"value", "description"}` for variables that have a description.
 */
export function exportVariablesJson(variables: readonly AirflowVariable[], major: '2' | '3' = '3'): string {
  const all: PyDict = new Map();
  for (const v of variables) {
    const value = decodedOrRaw(v.value);
    if (major === '3' && v.description) {
      all.set(v.key, new Map<string, PyValue>([['value', value], ['description', v.description]]));
    } else all.set(v.key, value);
  }
  return pythonJsonDumpsIndent(all, 4, true);
}

/** `airflow pools export`: `json.dumps({name: {slots, description, include_deferred}}, sort_keys=True, indent=4)`. */
export function exportPoolsJson(pools: readonly AirflowPool[]): string {
  const all: PyDict = new Map();
  for (const p of pools) {
    all.set(
      p.name,
      new Map<string, PyValue>([
        ['slots', jsToPy(p.slots)],
        ['description', p.description ?? null],
        ['include_deferred', p.include_deferred ?? false],
      ]),
    );
  }
  return pythonJsonDumpsIndent(all, 4, true);
}

// ---------------------------------------------------------------------------------------------------------------
// PyYAML's emitter (yaml.dump with the safe dumper: block style, width 80, no unicode), for mappings of mappings of
// str / int / None / bool scalars, which is what the connections export contains.

/** PyYAML's implicit float and int patterns (yaml/resolver.py), shared by its emitter here and its loader below. */
const PY_FLOAT_RE =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const PY_INT_RE = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;

const YAML11_IMPLICIT: [RegExp, string][] = [
  [/^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/, 'bool'],
  [
    PY_FLOAT_RE,
    'float',
  ],
  [PY_INT_RE, 'int'],
  [/^(?:<<)$/, 'merge'],
  [/^(?:~|null|Null|NULL|)$/, 'null'],
  [
    // A date alone has a two-digit month and day; with a time, one digit will do.
    /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
    'timestamp',
  ],
  [/^(?:=)$/, 'value'],
];

function resolvesToStr(s: string): boolean {
  return !YAML11_IMPLICIT.some(([re]) => re.test(s));
}

const BREAKS = '\n\u0085\u2028\u2029';
const WS0 = '\0 \t\r\n\u0085\u2028\u2029';

interface Analysis {
  empty: boolean;
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingle: boolean;
}

function analyzeScalar(s: string): Analysis {
  if (!s) return { empty: true, multiline: false, allowBlockPlain: true, allowSingle: true };
  const chars = [...s];
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  if (s.startsWith('---') || s.startsWith('...')) blockIndicators = true;
  let precededByWs = true;
  let followedByWs = chars.length === 1 || WS0.includes(chars[1]!);
  let prevSpace = false;
  let prevBreak = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      if ('?:'.includes(ch) && followedByWs) blockIndicators = true;
      if (ch === '-' && followedByWs) blockIndicators = true;
    } else {
      if (ch === ':' && followedByWs) blockIndicators = true;
      if (ch === '#' && precededByWs) blockIndicators = true;
    }
    if (BREAKS.includes(ch)) lineBreaks = true;
    const cp = ch.codePointAt(0)!;
    if (!(ch === '\n' || (cp >= 0x20 && cp <= 0x7e))) special = true; // allow_unicode is off: any non-ASCII is special
    if (ch === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true;
      prevBreak = false;
    } else if (BREAKS.includes(ch)) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (prevSpace) spaceBreak = true;
      prevSpace = false;
      prevBreak = true;
    } else {
      prevSpace = false;
      prevBreak = false;
    }
    precededByWs = WS0.includes(ch);
    followedByWs = i + 2 >= chars.length || WS0.includes(chars[i + 2]!);
  }
  let allowBlockPlain = true;
  let allowSingle = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) allowBlockPlain = false;
  if (breakSpace) allowBlockPlain = allowSingle = false;
  if (spaceBreak || special) allowBlockPlain = allowSingle = false;
  if (lineBreaks) allowBlockPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return { empty: false, multiline: lineBreaks, allowBlockPlain, allowSingle };
}

const ESCAPES: Record<string, string> = {
  '\0': '0', '\u0007': 'a', '\b': 'b', '\t': 't', '\n': 'n', '\u000b': 'v', '\f': 'f', '\r': 'r', '\u001b': 'e',
  '"': '"', '\\': '\\', '\u0085': 'N', '\u00a0': '_', '\u2028': 'L', '\u2029': 'P',
};

const WIDTH = 80;

/** The emitter state PyYAML keeps (column, and whether the last output was white space / indentation). */
class YamlWriter {
  out = '';
  column = 0;
  whitespace = true;
  indention = true;
  private raw(s: string): void {
    this.out += s;
    this.column += [...s].length;
  }
  text(s: string): void {
    this.raw(s);
  }
  indicator(ind: string, needWhitespace: boolean, whitespace = false, indention = false): void {
    this.raw(this.whitespace || !needWhitespace ? ind : ` ${ind}`);
    this.whitespace = whitespace;
    this.indention = this.indention && indention;
  }
  lineBreak(data = '\n'): void {
    this.out += data;
    this.whitespace = true;
    this.indention = true;
    this.column = 0;
  }
  writeIndent(indent: number): void {
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.lineBreak();
    if (this.column < indent) {
      this.whitespace = true;
      this.raw(' '.repeat(indent - this.column));
    }
  }
}

function writePlain(w: YamlWriter, text: string, indent: number): void {
  if (!text) return;
  if (!w.whitespace) w.text(' ');
  w.whitespace = false;
  w.indention = false;
  const t = [...text];
  let start = 0;
  let spaces = false;
  for (let end = 0; end <= t.length; end++) {
    const ch = end < t.length ? t[end]! : null;
    if (spaces) {
      if (ch !== ' ') {
        if (start + 1 === end && w.column > WIDTH) {
          w.writeIndent(indent);
          w.whitespace = false;
          w.indention = false;
        } else w.text(t.slice(start, end).join(''));
        start = end;
      }
    } else if (ch === null || ch === ' ') {
      w.text(t.slice(start, end).join(''));
      start = end;
    }
    if (ch !== null) spaces = ch === ' ';
  }
}

function writeSingleQuoted(w: YamlWriter, text: string, indent: number): void {
  const t = [...text];
  w.indicator("'", true);
  let start = 0;
  let spaces = false;
  let breaks = false;
  for (let end = 0; end <= t.length; end++) {
    const ch = end < t.length ? t[end]! : null;
    if (spaces) {
      if (ch === null || ch !== ' ') {
        if (start + 1 === end && w.column > WIDTH && start !== 0 && end !== t.length) w.writeIndent(indent);
        else w.text(t.slice(start, end).join(''));
        start = end;
      }
    } else if (breaks) {
      if (ch === null || !BREAKS.includes(ch)) {
        if (t[start] === '\n') w.lineBreak();
        for (const br of t.slice(start, end)) w.lineBreak(br === '\n' ? '\n' : br);
        w.writeIndent(indent);
        start = end;
      }
    } else if (ch === null || ' \n\u0085\u2028\u2029'.includes(ch) || ch === "'") {
      if (start < end) {
        w.text(t.slice(start, end).join(''));
        start = end;
      }
    }
    if (ch === "'") {
      w.text("''");
      start = end + 1;
    }
    if (ch !== null) {
      spaces = ch === ' ';
      breaks = BREAKS.includes(ch);
    }
  }
  w.indicator("'", false);
}

function writeDoubleQuoted(w: YamlWriter, text: string, indent: number): void {
  const t = [...text];
  w.indicator('"', true);
  let start = 0;
  for (let end = 0; end <= t.length; end++) {
    const ch = end < t.length ? t[end]! : null;
    const cp = ch === null ? 0 : ch.codePointAt(0)!;
    if (ch === null || '"\\\u0085\u2028\u2029\ufeff'.includes(ch) || !(cp >= 0x20 && cp <= 0x7e)) {
      if (start < end) {
        w.text(t.slice(start, end).join(''));
        start = end;
      }
      if (ch !== null) {
        let data: string;
        if (ESCAPES[ch] !== undefined) data = `\\${ESCAPES[ch]}`;
        else if (cp <= 0xff) data = `\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`;
        else if (cp <= 0xffff) data = `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
        else data = `\\U${cp.toString(16).toUpperCase().padStart(8, '0')}`;
        w.text(data);
        start = end + 1;
      }
    }
    if (end > 0 && end < t.length - 1 && (ch === ' ' || start >= end) && w.column + (end - start) > WIDTH) {
      const data = t.slice(start, end).join('') + '\\';
      if (start < end) start = end;
      w.text(data);
      w.writeIndent(indent);
      w.whitespace = false;
      w.indention = false;
      if (t[start] === ' ') w.text('\\');
    }
  }
  w.indicator('"', false);
}

function writeScalar(w: YamlWriter, value: PyValue, indent: number, simpleKey: boolean): void {
  if (value === null) return writePlain(w, 'null', indent);
  if (typeof value === 'boolean') return writePlain(w, value ? 'true' : 'false', indent);
  if (typeof value !== 'string') return writePlain(w, pythonJsonDumps(value), indent);
  const a = analyzeScalar(value);
  if (resolvesToStr(value) && !(simpleKey && (a.empty || a.multiline)) && a.allowBlockPlain) return writePlain(w, value, indent);
  if (a.allowSingle && !(simpleKey && a.multiline)) return writeSingleQuoted(w, value, indent);
  return writeDoubleQuoted(w, value, indent);
}

/** PyYAML's check_simple_key for a scalar key: shorter than 128 characters, not empty, on one line. */
function isSimpleKey(key: string): boolean {
  return [...key].length < 128 && key !== '' && !analyzeScalar(key).multiline;
}

/** Emits `key: value` pairs of a block mapping at `indent` (PyYAML's expect_block_mapping_key/value). */
function writeBlockMapping(w: YamlWriter, map: PyDict, indent: number): void {
  for (const key of [...map.keys()].sort(comparePyStr)) {
    w.writeIndent(indent);
    const value = map.get(key)!;
    if (isSimpleKey(key)) {
      writeScalar(w, key, indent + 2, true);
      w.indicator(':', false);
    } else {
      w.indicator('?', true, false, true);
      writeScalar(w, key, indent + 2, false);
      w.writeIndent(indent);
      w.indicator(':', true, false, true);
    }
    if (value instanceof Map && value.size > 0) writeBlockMapping(w, value, indent + 2);
    else if (value instanceof Map) {
      w.indicator('{', true, true);
      w.indicator('}', false);
    } else writeScalar(w, value, indent + 2, false);
  }
}

/** `yaml.dump(obj)` (PyYAML safe dumper: keys sorted, block style, width 80, non-ASCII escaped). */
export function pyYamlDump(data: PyDict): string {
  const w = new YamlWriter();
  if (data.size === 0) return '{}\n';
  writeBlockMapping(w, data, 0);
  w.writeIndent(0);
  return w.out;
}

// ---------------------------------------------------------------------------------------------------------------
// LocalFilesystemBackend

export type LocalFileFormat = 'env' | 'json' | 'yaml' | 'yml';

/** `AirflowFileParseException` (with its `FileSyntaxError`s as `[line, message]`) and the other load errors. */
export class AirflowFileError extends PythonError {
  constructor(
    pyType: string,
    pyMessage: string,
    readonly parseErrors?: [number, string][],
  ) {
    super(pyType, pyMessage);
  }
}

export interface LocalFilesystemOptions {
  format: LocalFileFormat;
  kind: 'connections' | 'variables';
  /** `'2'` for 2.x, `'3'` for 3.x (they differ on empty keys/values and exception classes). */
  airflow?: '2' | '3';
  /** The file path, used in Airflow's messages. */
  path?: string;
}

export type LocalConnectionEntry = { kind: 'uri'; value: string } | { kind: 'object'; value: Record<string, unknown> };

/**
 * The secret file's format from its path, as the backend decides it (2.x: text after the last dot; 3.x: the
 * `Path.suffix`). Throws Airflow's "Unsupported file format" error otherwise.
 */
export function localFilesystemFormat(path: string, major: '2' | '3' = '3'): LocalFileFormat {
  let ext: string;
  if (major === '2') ext = path.split('.').at(-1)!.toLowerCase();
  else {
    const base = path.split('/').at(-1)!;
    const dot = base.lastIndexOf('.');
    ext = dot > 0 && dot < base.length - 1 ? base.slice(dot + 1).toLowerCase() : '';
  }
  if (ext === 'env' || ext === 'json' || ext === 'yaml' || ext === 'yml') return ext;
  throw new AirflowFileError(
    major === '2' ? 'AirflowException' : 'AirflowUnsupportedFileTypeException',
    'Unsupported file format. The file must have one of the following extensions: .env .json .yaml .yml',
  );
}

/** Python `str.splitlines()` line boundaries (after universal-newline reading turned \r\n and \r into \n). */
function pySplitLines(content: string): string[] {
  const text = content.replace(/\r\n?/g, '\n');
  // eslint-disable-next-line no-control-regex
  const lines = text.split(/[\n\u000b\u000c\u001c\u001d\u001e\u0085\u2028\u2029]/);
  if (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}

type RawSecrets = Map<string, unknown>;

/** `COMMENT_PATTERN = re.compile(r"\s*#.*")` with `match`: Python's `\s` (str.isspace), which JS's `\s` is not. */
const ENV_COMMENT = new RegExp(`^[${PY_WHITESPACE}]*#`, 'u');

function parseEnvContent(content: string, major: '2' | '3'): [RawSecrets, [number, string][]] {
  const secrets: RawSecrets = new Map();
  const errors: [number, string][] = [];
  pySplitLines(content).forEach((line, i) => {
    const lineNo = i + 1;
    if (!line) return;
    if (ENV_COMMENT.test(line)) return;
    const eq = line.indexOf('=');
    if (eq < 0) {
      errors.push([lineNo, 'Invalid line format. The line should contain at least one equal sign ("=").']);
      return;
    }
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (major === '3' && !key) {
      // 3.x goes on to the next line after this one error.
      errors.push([lineNo, 'Invalid line format. Key is empty.']);
      return;
    }
    if (!value) errors.push([lineNo, major === '2' ? 'Invalid line format. Key is empty.' : 'Invalid line format. Value is empty.']);
    const list = (secrets.get(key) as string[] | undefined) ?? [];
    list.push(value);
    secrets.set(key, list);
  });
  return [secrets, errors];
}

function parseJsonContent(content: string): [RawSecrets, [number, string][]] {
  if (!content) return [new Map(), [[1, 'The file is empty.']]];
  let value: PyValue;
  try {
    value = pythonJsonLoads(content);
  } catch (e) {
    const err = e as PyJsonDecodeError;
    return [new Map(), [[err.lineno, err.msg]]];
  }
  if (!(value instanceof Map)) return [new Map(), [[1, 'The file should contain the object.']]];
  return [new Map([...value.entries()].map(([k, v]) => [k, pyToJs(v)])), []];
}

/** PyYAML's booleans: YAML 1.1's list without the single letters `y`/`n`. */
const PY_BOOL = {
  identify: (v: unknown) => typeof v === 'boolean',
  default: true,
  tag: 'tag:yaml.org,2002:bool',
  test: /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  resolve: (s: string) => /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/.test(s),
};

/** What PyYAML's number constructors start with: `_` dropped, the sign taken off. */
function pyYamlSigned(text: string): [sign: number, body: string] {
  const s = text.replace(/_/g, '');
  return s.startsWith('-') ? [-1, s.slice(1)] : [1, s.startsWith('+') ? s.slice(1) : s];
}

/** A base-60 number as PyYAML reads it (`1:20:30` is 4830). */
const base60 = (s: string) => s.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);

/**
 * PyYAML's implicit ints (its Resolver and construct_yaml_int): binary, octal (a leading 0), decimal without leading
 * zeros, hex and base 60, `_` ignored. Narrower than the `yaml` package's YAML 1.1 ints: `09` and `0:30` stay strings.
 */
const PY_INT = {
  identify: (v: unknown) => typeof v === 'number' && Number.isInteger(v),
  default: true,
  tag: 'tag:yaml.org,2002:int',
  test: PY_INT_RE,
  resolve: (text: string) => {
    const [sign, s] = pyYamlSigned(text);
    let n: number;
    // The digits as BigInt reads them, so that an int beyond 2^53 keeps them all, as Python's int does (exactInt).
    let exact: string | undefined;
    if (s === '0') return 0;
    if (s.startsWith('0b')) [n, exact] = [parseInt(s.slice(2), 2), s];
    else if (s.startsWith('0x')) [n, exact] = [parseInt(s.slice(2), 16), s];
    else if (s.startsWith('0')) [n, exact] = [parseInt(s, 8), `0o${s.slice(1)}`];
    else if (s.includes(':')) n = base60(s);
    else [n, exact] = [Number(s), s];
    // int('', 2) raises in Python (`0b_`): such a value is not a number here either.
    if (Number.isNaN(n)) throw new Error(`invalid literal for int(): ${JSON.stringify(text)}`);
    if (!Number.isSafeInteger(n) && exact !== undefined) return exactInt((BigInt(sign) * BigInt(exact)).toString());
    return sign * n;
  },
};

/**
 * PyYAML's implicit floats (its Resolver and construct_yaml_float): a dot is required (`1e3` and `1.0e3` stay
 * strings, the exponent needs its sign), a sign only before digits (`-.5` is a string), base 60, .inf and .nan.
 */
const PY_FLOAT = {
  identify: (v: unknown) => typeof v === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:float',
  test: PY_FLOAT_RE,
  resolve: (text: string) => {
    const [sign, s] = pyYamlSigned(text.toLowerCase());
    if (s === '.inf') return sign * Infinity;
    if (s === '.nan') return NaN;
    return sign * (s.includes(':') ? base60(s) : Number(s));
  },
};

/**
 * PyYAML's implicit timestamps: a date alone has two-digit month and day (`2024-1-1` stays a string). (Its rarer
 * forms, a fraction dot without digits or a zone hour above 29, are strings here.)
 */
const PY_TIMESTAMP = /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[ \t]*(?:Z|[-+][012]?[0-9](?::[0-9]{2})?))?)$/;

const PY_REPLACED = new Set(['tag:yaml.org,2002:bool', 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:float']);

/** `yaml` package options that read like PyYAML's `safe_load` (YAML 1.1 types; a repeated key wins). */
export const PYYAML_SAFE_LOAD = {
  version: '1.1' as const,
  uniqueKeys: false,
  customTags: (tags: Tags) => [
    ...tags
      .filter((t) => !PY_REPLACED.has((t as { tag?: string }).tag ?? ''))
      .map((t) => ((t as { tag?: string }).tag === 'tag:yaml.org,2002:timestamp' ? { ...(t as object), test: PY_TIMESTAMP } : t)),
    PY_BOOL,
    PY_FLOAT,
    PY_INT,
  ] as Tags,
};

function parseYamlContent(content: string): [RawSecrets, [number, string][]] {
  if (!content) return [new Map(), [[1, 'The file is empty.']]];
  // PyYAML's safe_load is YAML 1.1 (yes/no booleans, 0777 octal) and lets a repeated key win.
  const doc = parseDocument(content, PYYAML_SAFE_LOAD);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    // PyYAML reports problem_mark.line, which counts from 0.
    return [new Map(), [[(e.linePos?.[0]?.line ?? 0) - 1, e.message]]];
  }
  const value: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [new Map(), [[1, 'The file should contain the object.']]];
  // PyYAML builds a value that contains itself (`&a [*a]`), which Airflow then cannot serialize; refused here, with
  // the alias's line, before anything walks it.
  const recursive = recursiveAlias(doc, content);
  if (recursive !== null) return [new Map(), [[recursive.line, `The alias *${recursive.name} is inside the value &${recursive.name} names, which then contains itself.`]]];
  return [new Map(Object.entries(value as Record<string, unknown>)), []];
}

/** The first alias inside the value it names (its line, from 1), or null. */
function recursiveAlias(doc: ReturnType<typeof parseDocument>, content: string): { name: string; line: number } | null {
  let found: { name: string; line: number } | null = null;
  visit(doc, {
    Alias(_key, alias, path) {
      const target = alias.resolve(doc);
      if (!target || !path.includes(target)) return undefined;
      const offset = alias.range?.[0] ?? 0;
      found = { name: alias.source, line: content.slice(0, offset).split('\n').length };
      return visit.BREAK;
    },
  });
  return found;
}

function parseSecretFile(content: string, opts: LocalFilesystemOptions): RawSecrets {
  const major = opts.airflow ?? '3';
  const [secrets, errors] =
    opts.format === 'env' ? parseEnvContent(content, major) : opts.format === 'json' ? parseJsonContent(content) : parseYamlContent(content);
  if (errors.length > 0) throw new AirflowFileError('AirflowFileParseException', 'Failed to load the secret file.', errors);
  return secrets;
}

function pyTypeOf(value: unknown): string {
  if (value === null) return 'NoneType';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'string' ? 'str' : 'dict';
}

function classify(connId: string, value: unknown): LocalConnectionEntry {
  if (typeof value === 'string') return { kind: 'uri', value };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return { kind: 'object', value: value as Record<string, unknown> };
  throw new AirflowFileError(
    'AirflowException',
    `Unexpected value type: <class '${pyTypeOf(value)}'>. The connection can only be defined using a string or object.`,
  );
}

/**
 * Parses a secret file's text as the backend does, without building the connections: for connections, each id with
 * its value kind (`uri` for any string, even JSON text; `object` for a mapping); for variables, the values as
 * they are (numbers and objects are not stringified). Throws AirflowFileError with Airflow's class and message.
 */
export function parseLocalFilesystemSecrets(
  content: string,
  opts: LocalFilesystemOptions,
): { connections: Record<string, LocalConnectionEntry> } | { variables: Record<string, unknown> } {
  const major = opts.airflow ?? '3';
  const path = opts.path ?? `<file>.${opts.format}`;
  const secrets = parseSecretFile(content, opts);
  if (opts.kind === 'variables') {
    const invalid = [...secrets.entries()].filter(([, v]) => Array.isArray(v) && v.length !== 1).map(([k]) => k);
    if (invalid.length > 0) {
      throw new AirflowFileError(
        major === '2' ? 'AirflowException' : 'VariableNotUnique',
        `The "${path}" file contains multiple values for keys: [${invalid.map(pyReprStr).join(', ')}]`,
      );
    }
    const variables: Record<string, unknown> = {};
    for (const [k, v] of secrets) setOwn(variables, k, Array.isArray(v) ? v[0] : v);
    return { variables };
  }
  const connections: Record<string, LocalConnectionEntry> = {};
  for (const [key, value] of secrets) {
    if (Array.isArray(value)) {
      if (value.length > 1) throw new AirflowFileError('ConnectionNotUnique', `Found multiple values for ${key} in ${path}.`);
      for (const v of value) setOwn(connections, key, classify(key, v));
    } else setOwn(connections, key, classify(key, value));
  }
  return { connections };
}

const CONNECTION_PARAMS = ['conn_id', 'conn_type', 'description', 'host', 'login', 'password', 'schema', 'port', 'extra', 'uri', 'extra_dejson'];

/**
 * `load_connections_dict`: builds every connection of a secret file as Airflow would (`Connection(uri=...)` for
 * strings; Connection kwargs or `extra_dejson` for mappings), so errors surface as they would in Airflow.
 */
export function loadLocalFilesystemConnections(
  content: string,
  opts: Omit<LocalFilesystemOptions, 'kind'> & { variant?: AirflowVariant },
): Record<string, ParsedConnection> {
  const variant: AirflowVariant = opts.variant ?? ((opts.airflow ?? '3') === '2' ? '2' : '3.1');
  const parsed = parseLocalFilesystemSecrets(content, { ...opts, kind: 'connections' });
  const out: Record<string, ParsedConnection> = {};
  for (const [connId, entry] of Object.entries((parsed as { connections: Record<string, LocalConnectionEntry> }).connections)) {
    if (entry.kind === 'uri') {
      setOwn(out, connId, parseConnectionUri(entry.value, { airflow: variant, conn_id: connId }));
      continue;
    }
    const value = entry.value;
    const illegal = Object.keys(value).filter((k) => !CONNECTION_PARAMS.includes(k));
    if (illegal.length > 0) {
      throw new AirflowFileError(
        'AirflowException',
        `The object have illegal keys: ${illegal.join(', ')}. The dictionary can only contain the following keys: ${CONNECTION_PARAMS.join(', ')}`,
      );
    }
    if ('extra' in value && 'extra_dejson' in value) {
      throw new AirflowFileError('AirflowException', 'The extra and extra_dejson parameters are mutually exclusive. Please provide only one parameter.');
    }
    const kwargs = jsToPy(value) as PyDict;
    if (kwargs.has('extra_dejson')) {
      kwargs.set('extra', pythonJsonDumps(kwargs.get('extra_dejson')!));
      kwargs.delete('extra_dejson');
    }
    if (kwargs.has('conn_id') && kwargs.get('conn_id') !== connId) {
      throw new AirflowFileError(
        'AirflowException',
        `Mismatch conn_id. The dictionary key has the value: ${String(value.conn_id)}. The item has the value: ${connId}.`,
      );
    }
    kwargs.delete('conn_id');
    // An own property whatever the id (a conn_id `__proto__` is a key like any other in Python's dict).
    setOwn(out, connId, constructConnection(kwargs, connId, variant));
  }
  return out;
}
