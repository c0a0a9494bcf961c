import type { AirflowConnection } from './model.js';
import { PyFloat, PyInt, jsToPy, pyRepr, pyTypeName, pythonJsonDumps, pythonJsonLoads } from './pyjson.js';
import type { PyDict, PyValue } from './pyjson.js';
import { PythonError, pyStrip, pythonInt } from './pyurl.js';
import { connectionFromFields, normalizeConnType, parseConnectionUri, validateExtraText, variantOf } from './uri.js';
import type { AirflowVariant, ConnectionFields, ConnectionFieldsInput, UriOptions } from './uri.js';

/**
 * Airflow's JSON form of a connection (`Connection.as_json` / `Connection.from_json`, 2.8+ / 2.3+) and the
 * `AIRFLOW_CONN_*` value rule (`deserialize_connection`: stripped, a leading `{` means JSON, otherwise a URI).
 */

/**
 * The fields `Connection(...)` ends up with. `description` is present only when it is set, so that the result has
 * exactly the shape of parseConnectionUri's in the usual case.
 */
export interface ParsedConnection extends ConnectionFields {
  description?: string;
}

function withDescription(fields: ConnectionFields, description: string | null): ParsedConnection {
  return description === null ? fields : { ...fields, description };
}

const DEFAULT_CONN_ID = 'test_conn';
const CONSTRUCTOR_KEYS = ['conn_id', 'conn_type', 'description', 'host', 'login', 'password', 'schema', 'port', 'extra', 'uri'];

function truthy(v: PyValue | undefined): boolean {
  if (v === undefined || v === null || v === false || v === '') return false;
  if (v instanceof PyInt) return v.digits !== '0';
  if (v instanceof PyFloat) return v.value !== 0;
  if (v instanceof Map) return v.size > 0;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

function strField(name: string, v: PyValue | undefined): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  // Airflow would store str(value) through the ORM; envmgr insists on text so nothing is silently converted.
  throw new PythonError('TypeError', `\`${name}\` must be a string, not ${pyTypeName(v)}`);
}

function portField(v: PyValue | undefined): number | null {
  if (v === undefined || v === null) return null;
  if (v instanceof PyInt) return Number(v.digits);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const n = pythonInt(v);
    if (n !== undefined) return n;
  }
  throw new PythonError('TypeError', `\`port\` must be an integer, not ${pyRepr(v)}`);
}

/**
 * `Connection(conn_id=..., **kwargs)` for kwargs decoded from JSON or YAML: the URI/field exclusivity check, the
 * password and extra setters, and (3.x) extra validation.
 */
export function constructConnection(kwargs: PyDict, connId: string | null, variant: AirflowVariant): ParsedConnection {
  let extraValue = kwargs.get('extra');
  if (truthy(extraValue) && typeof extraValue !== 'string') extraValue = pythonJsonDumps(extraValue);
  const uri = kwargs.get('uri');
  const fieldsGiven = ['conn_type', 'host', 'login', 'password', 'schema', 'port'].some((k) => truthy(kwargs.get(k))) || truthy(extraValue);
  if (truthy(uri) && fieldsGiven) {
    throw new PythonError(
      'AirflowException',
      'You must create an object using the URI or individual values (conn_type, host, login, password, schema, port or extra).' +
        "You can't mix these two ways to create this object.",
    );
  }
  const description = strField('description', kwargs.get('description'));
  let out: ParsedConnection;
  if (truthy(uri)) {
    const fields = parseConnectionUri(strField('uri', uri)!, { airflow: variant, conn_id: connId ?? DEFAULT_CONN_ID });
    out = withDescription(fields, description);
  } else {
    const password = strField('password', kwargs.get('password'));
    // A falsy extra ({}, [], 0, False, "") is stored as is by set_extra and reads as no extra at all.
    const extra = !truthy(extraValue) ? null : strField('extra', extraValue);
    out = withDescription(
      {
        conn_type: strField('conn_type', kwargs.get('conn_type')),
        host: strField('host', kwargs.get('host')),
        login: strField('login', kwargs.get('login')),
        password: password ? password : null,
        schema: strField('schema', kwargs.get('schema')),
        port: portField(kwargs.get('port')),
        extra,
      },
      description,
    );
  }
  if (out.extra && variant !== '2') validateExtraText(out.extra, connId);
  return out;
}

/** Python's `int(port)` as `from_json` applies it, with its error messages. */
function fromJsonPort(port: PyValue): number {
  if (port instanceof PyInt) return Number(port.digits);
  if (typeof port === 'boolean') return port ? 1 : 0;
  if (port instanceof PyFloat) {
    if (Number.isNaN(port.value)) throw new PythonError('ValueError', 'Expected integer value for `port`, but got nan instead.');
    if (!Number.isFinite(port.value)) throw new PythonError('OverflowError', 'cannot convert float infinity to integer');
    return Math.trunc(port.value);
  }
  if (typeof port === 'string') {
    const n = pythonInt(port);
    if (n === undefined) throw new PythonError('ValueError', `Expected integer value for \`port\`, but got ${pyRepr(port)} instead.`);
    return n;
  }
  throw new PythonError('TypeError', `int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(port)}'`);
}

/**
 * `Connection.from_json(text, conn_id)`: port coercion (and its error), `postgresql` → `postgres`, `-` → `_`, an
 * extra object turned into text, unknown keys rejected as Python's TypeError. Throws PythonError.
 */
export function parseConnectionJson(text: string, opts: UriOptions = {}): ParsedConnection {
  const variant = variantOf(opts);
  const connId = opts.conn_id ?? DEFAULT_CONN_ID;
  let kwargs: PyValue;
  try {
    kwargs = pythonJsonLoads(text);
  } catch (e) {
    throw new PythonError('JSONDecodeError', (e as Error).message);
  }
  if (!(kwargs instanceof Map)) throw new PythonError('AttributeError', `'${pyTypeName(kwargs)}' object has no attribute 'pop'`);
  const k: PyDict = new Map(kwargs);
  const extra = k.get('extra');
  k.delete('extra');
  if (truthy(extra)) k.set('extra', typeof extra === 'string' ? extra : pythonJsonDumps(extra!));
  const connType = k.get('conn_type');
  k.delete('conn_type');
  if (truthy(connType)) {
    if (typeof connType !== 'string') throw new PythonError('TypeError', `argument of type '${pyTypeName(connType!)}' is not iterable`);
    k.set('conn_type', normalizeConnType(connType));
  }
  const port = k.get('port');
  k.delete('port');
  if (truthy(port)) k.set('port', new PyInt(String(fromJsonPort(port!))));
  if (k.has('conn_id')) throw new PythonError('TypeError', "Connection() got multiple values for keyword argument 'conn_id'");
  for (const key of k.keys()) {
    if (!CONSTRUCTOR_KEYS.includes(key)) {
      throw new PythonError('TypeError', `Connection.__init__() got an unexpected keyword argument ${pyRepr(key)}`);
    }
  }
  return constructConnection(k, connId, variant);
}

/** An `AIRFLOW_CONN_*` value (or any `get_conn_value` backend value): JSON when it starts with `{`, else a URI. */
export function parseConnectionValue(value: string, opts: UriOptions = {}): ParsedConnection {
  const v = pyStrip(value);
  if (v === '') throw new PythonError('IndexError', 'string index out of range');
  if (v.startsWith('{')) return parseConnectionJson(v, opts);
  return parseConnectionUri(v, opts);
}

export interface JsonFormatInput extends ConnectionFieldsInput {
  description?: string | null;
}

/** `Connection.extra_dejson` for as_json: 3.x validates; 2.x gives `{}` for text that is not JSON. */
function dejson(extra: string | null, variant: AirflowVariant, connId: string): PyValue {
  if (!extra) return new Map();
  if (variant !== '2') validateExtraText(extra, connId);
  try {
    return pythonJsonLoads(extra);
  } catch {
    return new Map();
  }
}

/**
 * `Connection.as_json()` byte for byte: `to_dict(prune_empty=True)` without conn_id (None values dropped, `''`
 * and 0 kept, a `''` password never stored), extra as an object when non-empty, Python json.dumps text.
 */
export function formatConnectionJson(conn: JsonFormatInput, opts: UriOptions = {}): string {
  const variant = variantOf(opts);
  const connId = opts.conn_id ?? DEFAULT_CONN_ID;
  const out: PyDict = new Map();
  const put = (key: string, v: PyValue | undefined) => {
    if (v !== undefined && v !== null) out.set(key, v);
  };
  put('conn_type', conn.conn_type);
  put('description', conn.description);
  put('host', conn.host);
  put('login', conn.login);
  put('password', conn.password ? conn.password : null);
  put('schema', conn.schema);
  if (conn.port !== undefined && conn.port !== null) out.set('port', jsToPy(conn.port));
  let extraText: string | null = null;
  if (typeof conn.extra === 'string') extraText = conn.extra;
  else if (conn.extra && Object.keys(conn.extra).length > 0) extraText = pythonJsonDumps(jsToPy(conn.extra));
  const extra = typeof conn.extra === 'object' && conn.extra !== null ? jsToPy(conn.extra) : dejson(extraText, variant, connId);
  if (truthy(extra)) out.set('extra', extra);
  return pythonJsonDumps(out);
}

function toModel(connId: string, f: ParsedConnection): AirflowConnection {
  return connectionFromFields(connId, { ...f, description: f.description ?? null });
}

/** `Connection.from_json` into envmgr's model. */
export function connectionFromJson(connId: string, text: string, opts: UriOptions = {}): AirflowConnection {
  return toModel(connId, parseConnectionJson(text, { ...opts, conn_id: opts.conn_id ?? connId }));
}

/** An `AIRFLOW_CONN_<ID>` value (URI or JSON) into envmgr's model. */
export function connectionFromValue(connId: string, value: string, opts: UriOptions = {}): AirflowConnection {
  return toModel(connId, parseConnectionValue(value, { ...opts, conn_id: opts.conn_id ?? connId }));
}

/** `as_json` of a model connection (what `--serialization json` writes). */
export function connectionToJson(conn: AirflowConnection, opts: UriOptions = {}): string {
  return formatConnectionJson(conn, { ...opts, conn_id: opts.conn_id ?? conn.conn_id });
}
