import { isIP } from 'node:net';
import { pyReprStr } from './pyjson.js';

/**
 * The parts of Python's `urllib.parse` (CPython 3.11) that Airflow's URI handling goes through: urlsplit and its
 * username/password/hostname/port properties, quote/quote_plus, unquote/unquote_plus, parse_qsl and urlencode.
 * Reproduced rule by rule because Airflow's behaviour (lower-cased hosts, `+` handling, port errors) comes from them.
 */

/** A Python exception reproduced with its class name and exact message. */
export class PythonError extends Error {
  constructor(
    readonly pyType: string,
    readonly pyMessage: string,
  ) {
    super(`${pyType}: ${pyMessage}`);
    this.name = pyType;
  }
}

// eslint-disable-next-line no-control-regex
const C0_OR_SPACE = /^[\u0000-\u0020]+/;
const SCHEME_CHARS = /^[A-Za-z0-9+\-.]*$/;

export interface SplitResult {
  scheme: string;
  netloc: string;
  path: string;
  query: string;
  fragment: string;
}

/** `urllib.parse.urlsplit(url)` with allow_fragments=True. */
export function urlsplit(input: string): SplitResult {
  let url = input.replace(C0_OR_SPACE, '').replace(/[\t\r\n]/g, '');
  let scheme = '';
  let netloc = '';
  let query = '';
  let fragment = '';
  const i = url.indexOf(':');
  if (i > 0 && /^[A-Za-z]/.test(url) && SCHEME_CHARS.test(url.slice(0, i))) {
    scheme = url.slice(0, i).toLowerCase();
    url = url.slice(i + 1);
  }
  if (url.startsWith('//')) {
    let delim = url.length;
    for (const c of '/?#') {
      const w = url.indexOf(c, 2);
      if (w >= 0) delim = Math.min(delim, w);
    }
    netloc = url.slice(2, delim);
    url = url.slice(delim);
    const open = netloc.includes('[');
    const close = netloc.includes(']');
    if ((open && !close) || (close && !open)) throw new PythonError('ValueError', 'Invalid IPv6 URL');
    if (open && close) {
      const bracketed = netloc.slice(netloc.indexOf('[') + 1).split(']')[0]!;
      checkBracketedHost(bracketed);
    }
  }
  const hash = url.indexOf('#');
  if (hash >= 0) {
    fragment = url.slice(hash + 1);
    url = url.slice(0, hash);
  }
  const q = url.indexOf('?');
  if (q >= 0) {
    query = url.slice(q + 1);
    url = url.slice(0, q);
  }
  checkNetloc(netloc);
  return { scheme, netloc, path: url, query, fragment };
}

function checkBracketedHost(host: string): void {
  if (host.startsWith('v')) {
    if (!/^v[a-fA-F0-9]+\.[^\n]+$/.test(host)) throw new PythonError('ValueError', 'IPvFuture address is invalid');
    return;
  }
  // ipaddress.ip_address: IPv4 or IPv6 (with an optional %scope).
  const kind = isIP(host) || (isIP(host.split('%')[0] ?? '') === 6 && /%[^%]+$/.test(host) ? 6 : 0);
  if (kind === 0) throw new PythonError('ValueError', `${pyReprStr(host)} does not appear to be an IPv4 or IPv6 address`);
  if (kind === 4) throw new PythonError('ValueError', 'An IPv4 address cannot be in brackets');
}

function checkNetloc(netloc: string): void {
  // eslint-disable-next-line no-control-regex
  if (!netloc || /^[\u0000-\u007f]*$/.test(netloc)) return;
  const n = netloc.replace(/[@:#?]/g, '');
  const normalized = n.normalize('NFKC');
  if (n === normalized) return;
  if (/[/?#@:]/.test(normalized)) {
    throw new PythonError('ValueError', `netloc '${netloc}' contains invalid characters under NFKC normalization`);
  }
}

function rpartition(s: string, sep: string): [string, boolean, string] {
  const i = s.lastIndexOf(sep);
  return i < 0 ? ['', false, s] : [s.slice(0, i), true, s.slice(i + sep.length)];
}

function partition(s: string, sep: string): [string, boolean, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, false, ''] : [s.slice(0, i), true, s.slice(i + sep.length)];
}

/** `SplitResult.username` / `.password`. */
export function userinfo(parts: SplitResult): { username: string | null; password: string | null } {
  const [info, have] = rpartition(parts.netloc, '@');
  if (!have) return { username: null, password: null };
  const [username, havePw, password] = partition(info, ':');
  return { username, password: havePw ? password : null };
}

function hostinfo(parts: SplitResult): { hostname: string; port: string | null } {
  const [, , host] = rpartition(parts.netloc, '@');
  const [, haveOpen, bracketed] = partition(host, '[');
  let hostname: string;
  let port: string;
  if (haveOpen) {
    let rest: string;
    [hostname, , rest] = partition(bracketed, ']');
    [, , port] = partition(rest, ':');
  } else {
    [hostname, , port] = partition(host, ':');
  }
  return { hostname, port: port === '' ? null : port };
}

/** `SplitResult.hostname`: lower-cased (except an IPv6 zone), None when empty. */
export function hostname(parts: SplitResult): string | null {
  const { hostname: h } = hostinfo(parts);
  if (!h) return null;
  const [host, havePct, zone] = partition(h, '%');
  return host.toLowerCase() + (havePct ? '%' : '') + zone;
}

/**
 * `SplitResult.port` as in CPython 3.11.4+ (and 3.12+): only ASCII digits (`port.isdigit() and port.isascii()`),
 * then the 0–65535 range check. (Older 3.x used `int(port, 10)`, which also took signs, blanks and `_`.)
 */
export function port(parts: SplitResult): number | null {
  const { port: p } = hostinfo(parts);
  if (p === null) return null;
  const n = /^[0-9]+$/.test(p) ? Number(p) : undefined;
  if (n === undefined) throw new PythonError('ValueError', `Port could not be cast to integer value as ${pyReprStr(p)}`);
  if (!(n >= 0 && n <= 65535)) throw new PythonError('ValueError', 'Port out of range 0-65535');
  return n;
}

/** Python's whitespace (`str.isspace`), used by `str.strip()` and `int()`. */
export const PY_WHITESPACE = '\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

export function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && PY_WHITESPACE.includes(s[a]!)) a++;
  while (b > a && PY_WHITESPACE.includes(s[b - 1]!)) b--;
  return s.slice(a, b);
}

/**
 * Python's `int(text)` for a str: surrounding whitespace, one sign, Unicode decimal digits, single underscores
 * between digits. Returns undefined where Python raises ValueError. (Values beyond 2^53 lose precision, which only
 * matters for out-of-range checks, where they stay out of range.)
 */
export function pythonInt(text: string): number | undefined {
  const s = pyStrip(text);
  const m = /^([+-]?)(\p{Nd}+(?:_\p{Nd}+)*)$/u.exec(s);
  if (!m) return undefined;
  let digits = '';
  for (const ch of m[2]!.replace(/_/g, '')) digits += String(decimalValue(ch));
  const n = Number(digits);
  return m[1] === '-' ? -n : n;
}

function decimalValue(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x80) return cp - 0x30;
  // Unicode decimal digits come in contiguous runs whose lengths are multiples of ten, each starting at zero.
  let start = cp;
  while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

const ALWAYS_SAFE = /[A-Za-z0-9_.\-~]/;

function utf8(s: string): Buffer {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const pair = c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff;
      if (!pair) {
        throw new PythonError(
          'UnicodeEncodeError',
          `'utf-8' codec can't encode character '\\u${c.toString(16)}' in position ${[...s.slice(0, i)].length}: surrogates not allowed`,
        );
      }
      i++;
    }
  }
  return Buffer.from(s, 'utf8');
}

/** `urllib.parse.quote(s, safe)`. */
export function quote(s: string, safe = '/'): string {
  let out = '';
  for (const byte of utf8(s)) {
    const ch = String.fromCharCode(byte);
    if (byte < 0x80 && (ALWAYS_SAFE.test(ch) || safe.includes(ch))) out += ch;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `urllib.parse.quote_plus(s, safe='')`. */
export function quotePlus(s: string, safe = ''): string {
  if (!s.includes(' ')) return quote(s, safe);
  return quote(s, safe + ' ').replace(/ /g, '+');
}

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** `urllib.parse.unquote(s)`: only %XX inside ASCII runs is decoded; invalid UTF-8 becomes U+FFFD. */
export function unquote(s: string): string {
  if (!s.includes('%')) return s;
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u007f]+/g, (run) => {
    if (!run.includes('%')) return run;
    const pieces = run.split('%');
    const bytes: number[] = [...Buffer.from(pieces[0]!, 'latin1')];
    for (const item of pieces.slice(1)) {
      if (/^[0-9a-fA-F]{2}/.test(item)) {
        bytes.push(parseInt(item.slice(0, 2), 16));
        bytes.push(...Buffer.from(item.slice(2), 'latin1'));
      } else {
        bytes.push(0x25, ...Buffer.from(item, 'latin1'));
      }
    }
    return decoder.decode(Uint8Array.from(bytes));
  });
}

/** `urllib.parse.unquote_plus(s)`. */
export function unquotePlus(s: string): string {
  return unquote(s.replace(/\+/g, ' '));
}

/** `urllib.parse.parse_qsl(qs, keep_blank_values)` with the `&` separator (3.10+). */
export function parseQsl(qs: string, keepBlankValues = false): [string, string][] {
  const out: [string, string][] = [];
  if (!qs) return out;
  for (const nameValue of qs.split('&')) {
    if (!nameValue) continue;
    const eq = nameValue.indexOf('=');
    let name: string;
    let value: string;
    if (eq < 0) {
      if (!keepBlankValues) continue;
      name = nameValue;
      value = '';
    } else {
      name = nameValue.slice(0, eq);
      value = nameValue.slice(eq + 1);
    }
    if (value.length || keepBlankValues) out.push([unquotePlus(name), unquotePlus(value)]);
  }
  return out;
}

/** `urllib.parse.urlencode(pairs)` for str keys and values (quote_via=quote_plus). */
export function urlencode(pairs: Iterable<[string, string]>): string {
  return [...pairs].map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`).join('&');
}
