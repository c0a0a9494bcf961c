/**
 * Python's `json` module as Airflow uses it: `json.dumps` with default options (separators `", "` and `": "`,
 * `ensure_ascii=True`), and `json.loads` with its exact acceptance rules (NaN/Infinity, int vs float, duplicate keys
 * keeping the first position and the last value) and its error messages (`e.msg`, line and column).
 *
 * Writing the same text as Airflow keeps rows envmgr writes indistinguishable from rows Airflow writes, and decoding
 * like Python is what Airflow 3.1.6+ does to every URI query value.
 */

/** A Python `int` decoded from JSON (arbitrary precision, kept as its canonical decimal text). */
export class PyInt {
  constructor(readonly digits: string) {}
}

/** A Python `float` decoded from JSON (`1.0` stays a float and is written back as `1.0`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A Python `dict`: insertion-ordered, string keys (JS objects would move integer-like keys to the front). */
export type PyDict = Map<string, PyValue>;
export type PyValue = string | boolean | null | PyInt | PyFloat | PyValue[] | PyDict;

/** `json.JSONDecodeError`: `msg` is the bare message, `message` the full Python text. */
export class PyJsonDecodeError extends Error {
  override name = 'JSONDecodeError';
  readonly lineno: number;
  readonly colno: number;
  constructor(
    readonly msg: string,
    readonly doc: string,
    readonly pos: number,
  ) {
    const before = doc.slice(0, pos);
    const lineno = (before.match(/\n/g)?.length ?? 0) + 1;
    const colno = pos - before.lastIndexOf('\n');
    super(`${msg}: line ${lineno} column ${colno} (char ${pos})`);
    this.lineno = lineno;
    this.colno = colno;
  }
}

/**
 * Python's `json.dumps` default output. Accepts plain JS values (objects, arrays, numbers) as well as the `PyValue`
 * forms `pythonJsonLoads` returns, so decoded text is written back exactly as Python would.
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof PyInt) return value.digits;
  if (value instanceof PyFloat) return pythonFloatRepr(value.value, true);
  if (value instanceof Map) {
    return `{${[...value.entries()].map(([k, v]) => `${asciiString(String(k))}: ${pythonJsonDumps(v)}`).join(', ')}}`;
  }
  switch (typeof value) {
    case 'string':
      return asciiString(value);
    case 'number':
      return numberDumps(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object':
      if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
      return objectDumps(value as Record<string, unknown>);
    default:
      throw new TypeError(`cannot serialize ${typeof value} as JSON`);
  }
}

/**
 * A JS number as `json.dumps` writes what Python decodes from the number's JSON text: an integral value (JSON.stringify
 * writes it without a fraction or, from 1e21, as `1e+21`) the way Python writes that int or float, anything else as
 * Python's float repr (`1e-05` where JS writes `0.00001`, `1.5e-07` for `1.5e-7`).
 */
function numberDumps(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  return Number.isInteger(value) ? JSON.stringify(value) : pythonFloatRepr(value, true);
}

function objectDumps(record: Record<string, unknown>): string {
  let out = '{';
  for (const k of Object.keys(record)) {
    const v = record[k];
    if (v === undefined) continue;
    out += `${out.length > 1 ? ', ' : ''}${asciiString(k)}: ${pythonJsonDumps(v)}`;
  }
  return `${out}}`;
}

/** Text that `json.dumps` writes between quotes as it is: printable ASCII other than `"` and `\`. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * `pythonJsonDumps(record)` for the usual connection extra: a flat object of strings, finite numbers, booleans and
 * nulls whose keys and strings need no escaping. Anything else answers undefined (use pythonJsonDumps). A sync runs
 * this for every connection, and this small function costs far less to run and to optimize than the general one.
 */
export function flatObjectDumps(record: Record<string, unknown>): string | undefined {
  const keys = Object.keys(record);
  let out = '';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = record[k];
    let text: string;
    if (typeof v === 'string') {
      if (!PLAIN.test(v)) return undefined;
      text = `"${v}"`;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return undefined;
      text = numberDumps(v);
    } else if (typeof v === 'boolean') text = v ? 'true' : 'false';
    else if (v === null) text = 'null';
    else if (v === undefined) continue;
    else return undefined;
    if (!PLAIN.test(k)) return undefined;
    out += out.length > 0 ? `, "${k}": ${text}` : `"${k}": ${text}`;
  }
  return `{${out}}`;
}

/** Python `json.dumps(obj, indent=n, sort_keys=...)` (the CLI export form: `", "` becomes `","` at line ends). */
export function pythonJsonDumpsIndent(value: unknown, indent: number, sortKeys = false, level = 0): string {
  const pad = ' '.repeat(indent * (level + 1));
  const end = ' '.repeat(indent * level);
  if (value instanceof Map || (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof PyInt) && !(value instanceof PyFloat))) {
    let entries: [string, unknown][] =
      value instanceof Map ? [...value.entries()] : Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    if (sortKeys) entries = [...entries].sort(([a], [b]) => comparePyStr(a, b));
    return `{\n${entries.map(([k, v]) => `${pad}${asciiString(k)}: ${pythonJsonDumpsIndent(v, indent, sortKeys, level + 1)}`).join(',\n')}\n${end}}`;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${pad}${pythonJsonDumpsIndent(v, indent, sortKeys, level + 1)}`).join(',\n')}\n${end}]`;
  }
  return pythonJsonDumps(value);
}

/** Python compares str by code point; JS `<` compares UTF-16 units (differs only for astral vs. U+E000..U+FFFF). */
export function comparePyStr(a: string, b: string): number {
  const ca = [...a];
  const cb = [...b];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i]!.codePointAt(0)!;
    const y = cb[i]!.codePointAt(0)!;
    if (x !== y) return x - y;
  }
  return ca.length - cb.length;
}

function asciiString(text: string): string {
  // Most keys and values are printable ASCII without quotes or backslashes: nothing to escape.
  let plain = true;
  for (let i = 0; i < text.length && plain; i++) {
    const c = text.charCodeAt(i);
    plain = c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c;
  }
  if (plain) return `"${text}"`;
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Python's `repr(float)`: the shortest round-tripping digits, positional when the decimal exponent is in [-4, 16),
 * scientific (`1e+16`, `1.5e-07`) otherwise; `addDot0` adds `.0` to integral positional values as repr does.
 */
export function pythonFloatRepr(value: number, json = false): string {
  if (Number.isNaN(value)) return json ? 'NaN' : 'nan';
  if (!Number.isFinite(value)) return json ? (value > 0 ? 'Infinity' : '-Infinity') : value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const [mant, expText] = Math.abs(value).toExponential().split('e') as [string, string];
  const digits = mant.replace('.', '');
  const exp = Number(expText);
  if (exp >= -4 && exp < 16) {
    if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
    const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = digits.slice(exp + 1);
    return `${sign}${intPart}.${frac === '' ? '0' : frac}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp).toString().padStart(2, '0');
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
}

const WS = ' \t\n\r';

function skipWs(s: string, i: number): number {
  while (i < s.length && WS.includes(s[i]!)) i++;
  return i;
}

class StopIteration {
  constructor(readonly pos: number) {}
}

const NUMBER_RE = /(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;

function canonicalInt(text: string): string {
  const neg = text.startsWith('-');
  const body = (neg ? text.slice(1) : text).replace(/^0+(?=\d)/, '');
  return neg && body !== '0' ? `-${body}` : body;
}

function scanString(s: string, end: number): [string, number] {
  // `end` is just after the opening quote.
  const begin = end - 1;
  let out = '';
  for (;;) {
    let j = end;
    while (j < s.length && s[j] !== '"' && s[j] !== '\\' && s.charCodeAt(j) >= 0x20) j++;
    if (j >= s.length) throw new PyJsonDecodeError('Unterminated string starting at', s, begin);
    out += s.slice(end, j);
    const c = s[j]!;
    if (c === '"') return [out, j + 1];
    if (c !== '\\') throw new PyJsonDecodeError('Invalid control character at', s, j);
    if (j + 1 >= s.length) throw new PyJsonDecodeError('Unterminated string starting at', s, begin);
    const esc = s[j + 1]!;
    if (esc === 'u') {
      // CPython reports these at the `u`, and also when the four digits would end the document.
      const hex = s.slice(j + 2, j + 6);
      if (j + 6 >= s.length || !/^[0-9a-fA-F]{4}$/.test(hex)) throw new PyJsonDecodeError('Invalid \\uXXXX escape', s, j + 1);
      out += String.fromCharCode(parseInt(hex, 16));
      end = j + 6;
      continue;
    }
    const map: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
    const rep = map[esc];
    if (rep === undefined) throw new PyJsonDecodeError('Invalid \\escape', s, j);
    out += rep;
    end = j + 2;
  }
}

function scanOnce(s: string, idx: number): [PyValue, number] {
  if (idx >= s.length) throw new StopIteration(idx);
  const c = s[idx]!;
  if (c === '"') return scanString(s, idx + 1);
  if (c === '{') return scanObject(s, idx + 1);
  if (c === '[') return scanArray(s, idx + 1);
  if (c === 'n' && s.startsWith('null', idx)) return [null, idx + 4];
  if (c === 't' && s.startsWith('true', idx)) return [true, idx + 4];
  if (c === 'f' && s.startsWith('false', idx)) return [false, idx + 5];
  if (c === 'N' && s.startsWith('NaN', idx)) return [new PyFloat(NaN), idx + 3];
  if (c === 'I' && s.startsWith('Infinity', idx)) return [new PyFloat(Infinity), idx + 8];
  if (c === '-' && s.startsWith('-Infinity', idx)) return [new PyFloat(-Infinity), idx + 9];
  NUMBER_RE.lastIndex = idx;
  const m = NUMBER_RE.exec(s);
  if (m) {
    const end = idx + m[0].length;
    if (m[2] === undefined && m[3] === undefined) return [new PyInt(canonicalInt(m[1]!)), end];
    return [new PyFloat(Number(m[0])), end];
  }
  throw new StopIteration(idx);
}

function scanObject(s: string, end: number): [PyDict, number] {
  const obj: PyDict = new Map();
  end = skipWs(s, end);
  let next = s[end] ?? '';
  if (next === '}') return [obj, end + 1];
  if (next !== '"') throw new PyJsonDecodeError('Expecting property name enclosed in double quotes', s, end);
  end += 1;
  for (;;) {
    let key: string;
    [key, end] = scanString(s, end);
    end = skipWs(s, end);
    if (s[end] !== ':') throw new PyJsonDecodeError("Expecting ':' delimiter", s, end);
    end = skipWs(s, end + 1);
    let value: PyValue;
    try {
      [value, end] = scanOnce(s, end);
    } catch (e) {
      if (e instanceof StopIteration) throw new PyJsonDecodeError('Expecting value', s, e.pos);
      throw e;
    }
    obj.set(key, value);
    end = skipWs(s, end);
    next = s[end] ?? '';
    end += 1;
    if (next === '}') return [obj, end];
    if (next !== ',') throw new PyJsonDecodeError("Expecting ',' delimiter", s, end - 1);
    end = skipWs(s, end);
    next = s[end] ?? '';
    end += 1;
    if (next !== '"') throw new PyJsonDecodeError('Expecting property name enclosed in double quotes', s, end - 1);
  }
}

function scanArray(s: string, end: number): [PyValue[], number] {
  const arr: PyValue[] = [];
  end = skipWs(s, end);
  if (s[end] === ']') return [arr, end + 1];
  for (;;) {
    let value: PyValue;
    try {
      [value, end] = scanOnce(s, end);
    } catch (e) {
      if (e instanceof StopIteration) throw new PyJsonDecodeError('Expecting value', s, e.pos);
      throw e;
    }
    arr.push(value);
    end = skipWs(s, end);
    const next = s[end] ?? '';
    end += 1;
    if (next === ']') return [arr, end];
    if (next !== ',') throw new PyJsonDecodeError("Expecting ',' delimiter", s, end - 1);
    end = skipWs(s, end);
  }
}

/** Python's `json.loads(text)` (CPython 3.11 scanner rules and messages). Throws PyJsonDecodeError. */
export function pythonJsonLoads(text: string): PyValue {
  if (text.startsWith('\ufeff')) throw new PyJsonDecodeError('Unexpected UTF-8 BOM (decode using utf-8-sig)', text, 0);
  let value: PyValue;
  let end: number;
  try {
    [value, end] = scanOnce(text, skipWs(text, 0));
  } catch (e) {
    if (e instanceof StopIteration) throw new PyJsonDecodeError('Expecting value', text, e.pos);
    throw e;
  }
  end = skipWs(text, end);
  if (end !== text.length) throw new PyJsonDecodeError('Extra data', text, end);
  return value;
}

/**
 * A 16-digit run (the least an integer beyond 2^53, 9007199254740992, takes) where a JSON number may begin: at the
 * start or after `[`, `,` or `:`. A cheap sieve: the same can stand inside a string (`"ids: 1234567890123456"`).
 */
const LONG_NUMBER_START = /(?:^|[[,:])[ \t\n\r]*-?[0-9]{16}/;

/**
 * In valid JSON text, its strings and its number tokens, each matched whole: no part of the pattern can fail after
 * a run of digits and try again inside it, so the scan is linear even for a number of a million digits.
 */
const STRING_OR_NUMBER = /"[^"\\]*(?:\\.[^"\\]*)*"|-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/g;

/** A number token that is an integer of 16 digits or more. */
const LONG_INT = /^-?[0-9]{16,}$/;

/**
 * How many digits the longest integer token of valid JSON text has, outside its strings, when it has 16 or more
 * (else 0). The sieve answers most texts; the scan after it skips whole strings, so long digits in a secret or in
 * JSON kept as a string value (a variable's) cost a scan, not a second, slower parse. No bigint is made here.
 */
export function longestLongInt(text: string): number {
  if (!LONG_NUMBER_START.test(text)) return 0;
  let longest = 0;
  STRING_OR_NUMBER.lastIndex = 0;
  for (let m = STRING_OR_NUMBER.exec(text); m !== null; m = STRING_OR_NUMBER.exec(text)) {
    const token = m[0];
    if (token.length >= 16 && token.charCodeAt(0) !== 0x22 && LONG_INT.test(token)) {
      longest = Math.max(longest, token.charCodeAt(0) === 0x2d ? token.length - 1 : token.length);
    }
  }
  return longest;
}

/**
 * `JSON.parse(text)`, except that an integer beyond 2^53 is a bigint holding every digit (see exactInt) rather than
 * a rounded number: Airflow's `json.loads` keeps such an int exactly, and so must a value envmgr reads and writes on.
 * Accepts and refuses exactly what JSON.parse does (a SyntaxError); text with no integer of 16 digits or more
 * (outside strings), which is nearly all of it, is only read by JSON.parse.
 */
export function parseJsonExact(text: string): unknown {
  return exactJsonValue(text, JSON.parse(text));
}

/**
 * What parseJsonExact(text) answers, given `parsed`, what JSON.parse already made of the same text (a parser that
 * has its own checks, such as the server's body parser, parses once and hands its value over), and `longest`, what
 * longestLongInt(text) is when the caller already knows.
 */
export function exactJsonValue(text: string, parsed: unknown, longest = longestLongInt(text)): unknown {
  if (longest === 0) return parsed;
  try {
    return pyToJs(pythonJsonLoads(text));
  } catch (error) {
    // Nested deeper than the exact reader's stack goes (thousands of levels, which Python's json.loads refuses
    // too): JSON.parse read it, and its reading stands.
    if (error instanceof RangeError) return parsed;
    throw error;
  }
}

/**
 * How many digits Python reads into an int from text (`sys.get_int_max_str_digits()`, 4300 by default since 3.11,
 * 3.10.7 and 3.9.14): `json.loads` refuses a longer integer, so Airflow could not read an extra that holds one.
 */
export const PYTHON_INT_MAX_DIGITS = 4300;
let pythonIntLimit: bigint | undefined;

/** Whether `n` has more digits than Python reads into an int from text. */
function tooLongForPython(n: bigint): boolean {
  return (n < 0n ? -n : n) >= (pythonIntLimit ??= 10n ** BigInt(PYTHON_INT_MAX_DIGITS));
}

/** Whether a value read by parseJsonExact holds, at any depth, an integer longer than Python reads (see above). */
export function holdsIntTooLongForPython(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'bigint' && tooLongForPython(v)) return true;
    if (v !== null && typeof v === 'object') for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push(child);
  }
  return false;
}

/** True when `json.loads(text)` would succeed. */
export function isPythonJson(text: string): boolean {
  try {
    pythonJsonLoads(text);
    return true;
  } catch {
    return false;
  }
}

/** Sets an own enumerable property, also for keys such as `__proto__` that plain assignment would not store. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A decimal integer's text as envmgr's model holds it: a number when the number's own text (which is what every
 * writer of envmgr's puts down for it) is these digits, else a bigint. So an int beyond 2^53 that Python keeps to the
 * last digit (`123456789012345678901`) keeps every digit on its way from one file or row to another, and text →
 * model → text gives the same digits.
 */
export function exactInt(text: string): number | bigint {
  const digits = canonicalInt(text.startsWith('+') ? text.slice(1) : text);
  const n = Number(digits);
  return String(n) === digits ? n : BigInt(digits);
}

/** Plain JS form of a decoded value (ints become numbers or, beyond 2^53, bigints; floats numbers; dicts objects). */
export function pyToJs(value: PyValue): unknown {
  if (value instanceof PyInt) return exactInt(value.digits);
  if (value instanceof PyFloat) return value.value;
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) setOwn(out, k, pyToJs(v));
    return out;
  }
  if (Array.isArray(value)) return value.map(pyToJs);
  return value;
}

/**
 * PyValue form of a plain JS value (numbers that are integers become ints, as Python would have decoded them from
 * the JSON text JS writes for them: `1e20` is the int 100000000000000000000).
 */
export function jsToPy(value: unknown): PyValue {
  if (value === null || value === undefined) return null;
  if (value instanceof PyInt || value instanceof PyFloat || value instanceof Map) return value as PyValue;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isInteger(value) && Math.abs(value) < 1e21 ? new PyInt(canonicalInt(String(value))) : new PyFloat(value);
    case 'bigint':
      return new PyInt(value.toString());
    case 'object': {
      if (Array.isArray(value)) return value.map(jsToPy);
      const m: PyDict = new Map();
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) m.set(k, jsToPy(v));
      return m;
    }
    default:
      throw new TypeError(`cannot represent ${typeof value} as JSON`);
  }
}

/** The Python type name of a decoded value, for messages that quote Python's (`'list' object has no ...`). */
export function pyTypeName(value: PyValue): string {
  if (value === null) return 'NoneType';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (value instanceof PyInt) return 'int';
  if (value instanceof PyFloat) return 'float';
  if (value instanceof Map) return 'dict';
  return 'list';
}

/** Python's `repr()` of a str: single quotes unless the text has `'` and no `"`; escapes as Python does. */
export function pyReprStr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (!isPrintable(ch, cp)) {
      if (cp <= 0xff) out += `\\x${cp.toString(16).padStart(2, '0')}`;
      else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
      else out += `\\U${cp.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

function isPrintable(ch: string, cp: number): boolean {
  if (cp === 0x20) return true;
  // Python's str.isprintable: not in categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (space excepted).
  return !/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u.test(ch);
}

/** Python's `repr()` of a decoded JSON value (for error messages such as `got 'abc' instead`). */
export function pyRepr(value: PyValue): string {
  if (value === null) return 'None';
  if (typeof value === 'string') return pyReprStr(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value instanceof PyInt) return value.digits;
  if (value instanceof PyFloat) return pythonFloatRepr(value.value);
  if (value instanceof Map) return `{${[...value.entries()].map(([k, v]) => `${pyReprStr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  return `[${value.map(pyRepr).join(', ')}]`;
}
