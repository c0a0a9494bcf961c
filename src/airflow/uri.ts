import { normalizeConnection, type AirflowConnection } from './model.js';
import { PyFloat, PyInt, isPythonJson, jsToPy, pyReprStr, pyToJs, pythonJsonDumps, pythonJsonLoads } from './pyjson.js';
import type { PyDict, PyValue } from './pyjson.js';
import { PythonError, hostname, parseQsl, port as splitPort, quote, quotePlus, unquote, urlencode, urlsplit, userinfo } from './pyurl.js';
import type { SplitResult } from './pyurl.js';
import { isSensitiveName } from './sensitive.js';

/**
 * Airflow's connection URI, both ways, for the three behaviours in FACTS.md §3.3:
 * - `'2'`: 2.6.3 up to 3.0.x (`airflow/models/connection.py` get_uri / _parse_from_uri),
 * - `'3.1'`: 3.1.0–3.1.5 (#51953: a host whose protocol equals conn_type is written whole, percent-encoded),
 * - `'3.1.6'`: 3.1.6+ (#59339: flat query only for all-str extras; every query value is `json.loads`-ed on parse).
 * 3.x variants also reject an `extra` that is not a JSON object (`_validate_extra`).
 */

export type AirflowVariant = '2' | '3.1' | '3.1.6';
export const AIRFLOW_VARIANTS: readonly AirflowVariant[] = ['2', '3.1', '3.1.6'];

/** `opts.airflow` checked (the types say it, a JavaScript caller may not): an unknown one would mix behaviours. */
export function variantOf(opts: { airflow?: AirflowVariant }): AirflowVariant {
  const variant = opts.airflow ?? '2';
  if (!AIRFLOW_VARIANTS.includes(variant)) {
    throw new TypeError(`unknown airflow variant ${JSON.stringify(variant)}; use one of ${AIRFLOW_VARIANTS.map((v) => `'${v}'`).join(', ')} (2.6.3-3.0.x, 3.1.0-3.1.5, 3.1.6+)`);
  }
  return variant;
}

/** The fields `Connection(uri=...)` sets, exactly as Airflow holds them (`extra` is the stored text). */
export interface ConnectionFields {
  conn_type: string | null;
  host: string | null;
  login: string | null;
  password: string | null;
  schema: string | null;
  port: number | null;
  extra: string | null;
}

/** Fields as input: `extra` may be text or an object (Airflow's constructor `json.dumps` a dict). */
export interface ConnectionFieldsInput {
  conn_type?: string | null;
  host?: string | null;
  login?: string | null;
  password?: string | null;
  schema?: string | null;
  port?: number | null;
  extra?: string | Record<string, unknown> | null;
}

export interface UriOptions {
  /** Which Airflow behaviour to reproduce; default `'2'` (2.6.3 – 3.0.x). */
  airflow?: AirflowVariant;
  /**
   * The connection id, only used in Airflow's error messages (`... for connection 'x'.`). Defaults to the
   * placeholder `'test_conn'`, the id Airflow's own tests and the shared vectors use.
   */
  conn_id?: string;
}

const EXTRA_KEY = '__extra__';
const DEFAULT_CONN_ID = 'test_conn';

function isV3(variant: AirflowVariant): boolean {
  return variant !== '2';
}

function countOf(text: string, sub: string): number {
  return text.split(sub).length - 1;
}

/** `Connection._normalize_conn_type`. */
export function normalizeConnType(connType: string): string {
  if (connType === 'postgresql') return 'postgres';
  return connType.includes('-') ? connType.replace(/-/g, '_') : connType;
}

/** `Connection._validate_extra` (3.x): raises unless the text is a JSON object. */
export function validateExtraText(extra: string, connId: string | null): void {
  let parsed: PyValue;
  const idRepr = connId === null ? 'None' : pyReprStr(connId);
  try {
    parsed = pythonJsonLoads(extra);
  } catch {
    throw new PythonError('ValueError', `Encountered non-JSON in \`extra\` field for connection ${idRepr}.`);
  }
  if (!(parsed instanceof Map)) {
    throw new PythonError(
      'ValueError',
      `Encountered JSON value in \`extra\` which does not parse as a dictionary in connection ${idRepr}. ` +
        'The `extra` field must contain a JSON representation of a Python dict.',
    );
  }
}

function parseNetlocToHostname(parts: SplitResult): string {
  let host = unquote(hostname(parts) ?? '');
  if (host.includes('/')) {
    host = parts.netloc;
    const at = host.lastIndexOf('@');
    if (at >= 0) host = host.slice(at + 1);
    const colon = host.indexOf(':');
    if (colon >= 0) host = host.slice(0, colon);
    host = unquote(host);
  }
  return host;
}

/**
 * `Connection(uri=uri)`: the fields Airflow sets (host `''` and schema `''` when absent, login null without `@`,
 * password `''` dropped to null as the setter does). Throws PythonError carrying Airflow's exception and message
 * (`AirflowException: Invalid connection string: ...`, `ValueError: Port out of range 0-65535`, ...).
 */
export function parseConnectionUri(uri: string, opts: UriOptions = {}): ConnectionFields {
  if (typeof uri !== 'string') throw new TypeError(`the connection URI must be a string, not ${uri === null ? 'null' : typeof uri}`);
  const variant = variantOf(opts);
  const connId = opts.conn_id ?? DEFAULT_CONN_ID;
  const schemes = countOf(uri, '://');
  if (schemes > 2) throw new PythonError('AirflowException', `Invalid connection string: ${uri}.`);
  const hostWithProtocol = schemes === 2;
  const scheme = urlsplit(uri).scheme;
  const connType = normalizeConnType(scheme);
  const rest = uri.split(`${scheme}://`).join(hostWithProtocol ? '' : '//');
  if (hostWithProtocol) {
    const first = rest.split('://')[0]!;
    if (first.includes('@') || first.includes(':')) {
      throw new PythonError('AirflowException', `Invalid connection string: ${uri}.`);
    }
  }
  const parts = urlsplit(rest);
  const protocol = hostWithProtocol ? parts.scheme : null;
  let host = parseNetlocToHostname(parts);
  if (host && protocol) host = `${protocol}://${host}`;
  // Python's path[1:] drops one code point: two UTF-16 units when the path starts with an astral character (it can,
  // when the URI holds a second `://` and the rest keeps no leading `/`).
  const quotedSchema = parts.path.slice(parts.path.codePointAt(0)! > 0xffff ? 2 : 1);
  const schema = quotedSchema ? unquote(quotedSchema) : quotedSchema;
  const info = userinfo(parts);
  const login = info.username ? unquote(info.username) : info.username;
  const rawPassword = info.password ? unquote(info.password) : info.password;
  const password = rawPassword ? rawPassword : null;
  const portValue = splitPort(parts);
  let extra: string | null = null;
  if (parts.query) {
    const query: PyDict = new Map();
    for (const [k, v] of parseQsl(parts.query, true)) query.set(k, v);
    if (query.has(EXTRA_KEY)) {
      extra = query.get(EXTRA_KEY) as string;
    } else {
      if (variant === '3.1.6') {
        for (const [k, v] of query) {
          try {
            query.set(k, pythonJsonLoads(v as string));
          } catch {
            // Airflow logs "Failed parsing the json" and keeps the string.
          }
        }
      }
      extra = pythonJsonDumps(query);
    }
    if (extra && isV3(variant)) validateExtraText(extra, connId);
  }
  return { conn_type: connType, host, login, password, schema, port: portValue, extra };
}

function extraAsText(extra: ConnectionFieldsInput['extra']): string | null {
  if (extra === undefined || extra === null) return null;
  if (typeof extra === 'string') return extra;
  // Connection.__init__: `if extra and not isinstance(extra, str): extra = json.dumps(extra)`; {} is falsy.
  return Object.keys(extra).length === 0 ? null : pythonJsonDumps(jsToPy(extra));
}

/** `Connection.extra_dejson` in 2.x: json.loads of the text, `{}` when it is not JSON. */
function extraDejson(extra: string | null, variant: AirflowVariant, connId: string): PyValue {
  if (!extra) return new Map();
  if (isV3(variant)) validateExtraText(extra, connId);
  try {
    return pythonJsonLoads(extra);
  } catch {
    return new Map();
  }
}

/** Python `str(value)` for urlencode of a non-str extra value (only the fact that it is not a str matters). */
function pyStr(value: PyValue): string {
  if (typeof value === 'string') return value;
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value instanceof PyInt) return value.digits;
  if (value instanceof PyFloat) return String(value.value);
  return '<container>';
}

/**
 * A message about a URI (Airflow's own parse errors quote parts of it: "Port could not be cast to integer value as
 * 'pw'", "Invalid connection string: a://u:pw@…") with the password's text masked. The password is taken
 * generously, as what lies between the first ':' after `scheme://` and the last '@' (an unescaped '/', '?' or '#' in
 * it is what makes such a URI fail to parse), and each of its pieces between those characters is masked too, since a
 * message may quote one piece only (urlsplit takes `u:pw/x@h` for host `u`, port `pw`). So are the values of query
 * members with a sensitive name (`?aws_secret_access_key=…`) and the `__extra__` JSON.
 */
export function redactUriSecrets(message: string, uri: string): string {
  const pieces = new Set<string>();
  const start = uri.includes('://') ? uri.indexOf('://') + 3 : 0;
  const at = uri.lastIndexOf('@');
  const auth = at > start ? uri.slice(start, at) : '';
  const colon = auth.indexOf(':');
  if (colon >= 0) {
    const password = auth.slice(colon + 1);
    for (const piece of [password, ...password.split(/[/?#@:]/)]) pieces.add(piece);
  }
  // Query members Airflow takes for secrets (they become extra members it masks), and the whole __extra__ JSON.
  for (const [, name = '', value = ''] of uri.matchAll(/[?&]([^=&#]+)=([^&#]*)/g)) {
    let decodedName = name;
    try {
      decodedName = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      // the raw name is judged
    }
    if (decodedName === '__extra__' || isSensitiveName(decodedName)) {
      pieces.add(value);
      pieces.add(value.replace(/\+/g, ' '));
    }
  }
  if (pieces.size === 0) return message;
  for (const piece of [...pieces]) {
    try {
      pieces.add(decodeURIComponent(piece));
    } catch {
      // not percent-encoded text: the raw piece is masked
    }
  }
  let out = message;
  for (const piece of [...pieces].filter((p) => p.length > 0).sort((a, b) => b.length - a.length)) {
    // A piece of one or two characters is masked only where it stands alone, so as not to garble the message.
    out = piece.length >= 3 ? out.split(piece).join('****') : out.replace(new RegExp(`(?<=^|[^A-Za-z0-9])${piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[^A-Za-z0-9])`, 'g'), '****');
  }
  return out;
}

/**
 * Airflow's own `Connection.get_uri()` for the variant, byte for byte (including its lossy cases: a host whose
 * protocol equals conn_type before 3.1, `'@:port'` without host and login, port 0 dropped).
 */
export function airflowGetUri(fields: ConnectionFieldsInput, variant: AirflowVariant = '2', connId = DEFAULT_CONN_ID): string {
  const connType = fields.conn_type ?? null;
  const hostValue = fields.host ?? null;
  const login = fields.login ?? null;
  const password = fields.password ? fields.password : null;
  const schema = fields.schema ?? null;
  const portValue = fields.port ?? null;
  const extra = extraAsText(fields.extra);
  if (extra && isV3(variant)) validateExtraText(extra, connId);

  let uri = connType ? `${connType.toLowerCase().replace(/_/g, '-')}://` : '//';
  let hostToUse = hostValue;
  let protocolToAdd: string | null = null;
  if (hostValue && hostValue.includes('://')) {
    const i = hostValue.indexOf('://');
    const protocol = hostValue.slice(0, i);
    if (variant !== '2' && protocol === connType) {
      hostToUse = hostValue;
    } else {
      hostToUse = hostValue.slice(i + 3);
      protocolToAdd = protocol;
    }
  }
  if (protocolToAdd) uri += `${protocolToAdd}://`;
  let authority = '';
  if (login !== null) authority += quote(login, '');
  if (password !== null) authority += `:${quote(password, '')}`;
  if (authority) uri += `${authority}@`;
  let hostBlock = '';
  if (hostToUse) hostBlock += quote(hostToUse, '');
  if (portValue) hostBlock += hostBlock === '' && authority === '' ? `@:${portValue}` : `:${portValue}`;
  if (schema) hostBlock += `/${quote(schema, '')}`;
  uri += hostBlock;
  if (extra) {
    const dejson = extraDejson(extra, variant, connId);
    let query: string | null = null;
    let allStr = false;
    if (dejson instanceof Map) {
      query = [...dejson.entries()].map(([k, v]) => `${quotePlus(k)}=${quotePlus(pyStr(v))}`).join('&');
      allStr = [...dejson.values()].every((v) => typeof v === 'string');
    } else if (Array.isArray(dejson) && dejson.length === 0) {
      query = '';
    }
    // A dict of str values always survives urlencode -> parse_qsl, so Airflow's round-trip check reduces to this.
    const sep = schema ? '?' : '/?';
    if (allStr && query) uri += sep + query;
    else uri += sep + urlencode([[EXTRA_KEY, extra]]);
  }
  return uri;
}

/** True when a flat query value would come back unchanged from Airflow 3.1.6+'s `json.loads` attempt. */
export function survivesJsonDecoding(value: string): boolean {
  return !isPythonJson(value);
}

/**
 * The URI envmgr writes: Airflow's format, chosen so that every Airflow variant parses it back to the same fields:
 * - a host containing `://` is percent-encoded whole (what 3.1+ does when the protocol equals conn_type); every
 *   variant reads that back unchanged and with its case, unlike the `type://proto://host` form;
 * - extras go in a flat query only when every value is a string that 3.1.6+'s JSON decoding leaves alone (not
 *   `"123"`, `"true"`, `"null"`, `"\"x\""`, `"1e5"`, `"NaN"`, `"[...]"`), and no key is `__extra__`; otherwise the
 *   whole JSON object travels in `__extra__`.
 * - the host's case is kept by percent-encoding its first upper-case letter (see keepHostCase).
 * Losses that are Airflow's own remain (see `uriRoundTripIssues`): port 0, '' password, login-less password (`''`
 * login), conn_type case and `-`.
 */
export function formatConnectionUri(conn: ConnectionFieldsInput, opts: UriOptions = {}): string {
  const variant = variantOf(opts);
  const connId = opts.conn_id ?? DEFAULT_CONN_ID;
  const extra = extraAsText(conn.extra);
  let dict: PyValue | undefined;
  if (extra) {
    try {
      dict = pythonJsonLoads(extra);
    } catch {
      dict = undefined;
    }
    if (isV3(variant)) validateExtraText(extra, connId);
  }
  const flat =
    dict instanceof Map &&
    dict.size > 0 &&
    !dict.has(EXTRA_KEY) &&
    [...dict.values()].every((v) => typeof v === 'string' && survivesJsonDecoding(v));
  const connType = conn.conn_type ?? null;
  let uri = connType ? `${connType.toLowerCase().replace(/_/g, '-')}://` : '//';
  const login = conn.login ?? null;
  const password = conn.password ? conn.password : null;
  let authority = '';
  if (login !== null) authority += quote(login, '');
  if (password !== null) authority += `:${quote(password, '')}`;
  if (authority) uri += `${authority}@`;
  let hostBlock = conn.host ? keepHostCase(quote(conn.host, '')) : '';
  const portValue = conn.port ?? null;
  if (portValue) hostBlock += hostBlock === '' && authority === '' ? `@:${portValue}` : `:${portValue}`;
  const schema = conn.schema ?? null;
  if (schema) hostBlock += `/${quote(schema, '')}`;
  uri += hostBlock;
  if (extra) {
    const sep = schema ? '?' : '/?';
    if (flat) uri += sep + urlencode([...(dict as PyDict).entries()] as [string, string][]);
    else uri += sep + urlencode([[EXTRA_KEY, extra]]);
  }
  return uri;
}

/**
 * urlsplit().hostname lower-cases the host only up to its first `%` (the rest is treated as an IPv6 zone), and
 * Airflow unquotes the host afterwards. Percent-encoding the first upper-case letter therefore keeps the host's
 * case through every variant's parser (`DB.example.com` → `%44B.example.com` → `DB.example.com`).
 */
function keepHostCase(quotedHost: string): string {
  const firstEncoded = quotedHost.indexOf('%');
  const lead = firstEncoded === -1 ? quotedHost : quotedHost.slice(0, firstEncoded);
  const upper = lead.search(/[A-Z]/);
  if (upper === -1) return quotedHost;
  const hex = quotedHost.charCodeAt(upper).toString(16).toUpperCase();
  return `${quotedHost.slice(0, upper)}%${hex}${quotedHost.slice(upper + 1)}`;
}

/** Fields that would not come back equal after `formatConnectionUri` → `parseConnectionUri` for the variant. */
export function uriRoundTripIssues(conn: ConnectionFieldsInput, opts: UriOptions = {}): string[] {
  const uri = formatConnectionUri(conn, opts);
  const back = parseConnectionUri(uri, opts);
  const issues: string[] = [];
  const same = (a: unknown, b: unknown) => (a ?? null) === (b ?? null);
  if (!same(conn.conn_type ?? '', back.conn_type)) issues.push('conn_type');
  if (!same(conn.host ?? '', back.host)) issues.push('host');
  if (!same(conn.login, back.login)) issues.push('login');
  if (!same(conn.password ? conn.password : null, back.password)) issues.push('password');
  if (!same(conn.schema ?? '', back.schema)) issues.push('schema');
  if (!same(conn.port ? conn.port : null, back.port)) issues.push('port');
  const extra = extraAsText(conn.extra);
  const extraBack = back.extra;
  const canon = (t: string | null) => {
    if (!t) return null;
    try {
      return pythonJsonDumps(pythonJsonLoads(t));
    } catch {
      return t;
    }
  };
  if (canon(extra) !== canon(extraBack)) issues.push('extra');
  return issues;
}

/** The model's extra as the text Airflow would store (Python json.dumps form), null when absent or empty. */
export function extraToText(extra: Record<string, unknown> | null | undefined): string | null {
  return extraAsText(extra);
}

/** The `extra` text as an object for the model; throws when it is not a JSON object. */
export function extraTextToObject(extra: string | null, connId: string): Record<string, unknown> | null {
  if (!extra) return null;
  let parsed: PyValue;
  try {
    parsed = pythonJsonLoads(extra);
  } catch (e) {
    throw new Error(`connection ${connId}: extra is not valid JSON (${(e as Error).message})`);
  }
  if (!(parsed instanceof Map)) throw new Error(`connection ${connId}: extra must be a JSON object`);
  return parsed.size === 0 ? null : (pyToJs(parsed) as Record<string, unknown>);
}

/** Fields as Airflow's Connection holds them (extra as text) → envmgr's model, normalized. */
export function connectionFromFields(connId: string, f: ConnectionFields & { description?: string | null }): AirflowConnection {
  return normalizeConnection({
    conn_id: connId,
    conn_type: f.conn_type ?? '',
    ...(f.description !== undefined ? { description: f.description } : {}),
    host: f.host,
    login: f.login,
    password: f.password,
    schema: f.schema,
    port: f.port,
    extra: extraTextToObject(f.extra, connId),
  });
}

/** `Connection(conn_id, uri=uri)` as envmgr's model (extra as an object; empty extra as null). */
export function connectionFromUri(connId: string, uri: string, opts: UriOptions = {}): AirflowConnection {
  return connectionFromFields(connId, parseConnectionUri(uri, { ...opts, conn_id: opts.conn_id ?? connId }));
}

/** The URI envmgr writes for a model connection (see formatConnectionUri). */
export function connectionToUri(conn: AirflowConnection, opts: UriOptions = {}): string {
  return formatConnectionUri(conn, { ...opts, conn_id: opts.conn_id ?? conn.conn_id });
}
