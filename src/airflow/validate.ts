import type { AirflowConnection, AirflowObjectKind, AirflowPool, AirflowVariable, SourceLocation, ValidationProblem } from './model.js';
import { holdsIntTooLongForPython, PYTHON_INT_MAX_DIGITS, pyReprStr } from './pyjson.js';

/**
 * envmgr's validation (DESIGN.md §Formats), stricter than Airflow's model so that everything envmgr writes also
 * works with Airflow's CLI and REST API, plus Airflow's own id rules as functions (`validate_key`,
 * `sanitize_conn_id`) and the environment-variable names Airflow looks up.
 */

/** conn_id / variable key: what Airflow's CLI and REST API accept (ASCII letters, digits, `_ . -`), 1–200 chars. */
export const KEY_PATTERN = /^[A-Za-z0-9_.-]{1,200}$/;
export const MAX_HOST_LENGTH = 500;
export const MAX_SCHEMA_LENGTH = 500;
export const MAX_POOL_NAME_LENGTH = 256;
/** connection.conn_type is varchar(500) in every Airflow (FACTS.md §1.1). */
export const MAX_CONN_TYPE_LENGTH = 500;

/** Length in code points (what Python's len() counts, and Postgres' varchar(n)). */
export function codePoints(s: string): number {
  return [...s].length;
}

/** Whether `s` has more than `max` code points; a string of at most `max` UTF-16 units never has (no counting). */
function longerThan(s: string, max: number): boolean {
  return s.length > max && codePoints(s) > max;
}

/**
 * What keeps JSON from carrying an extra the way Airflow reads it back, if anything: a value JSON cannot hold, or an
 * integer longer than Python reads (a bigint, an integer beyond 2^53 as envmgr reads one, is written as its digits).
 */
function extraJsonProblem(value: unknown): string | undefined {
  try {
    JSON.stringify(value);
    return undefined;
  } catch {
    // Refused for a bigint, or for something JSON cannot hold at all.
  }
  try {
    JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? 0 : v));
  } catch {
    return 'extra must be JSON-serializable';
  }
  if (holdsIntTooLongForPython(value)) {
    return `extra holds an integer of more than ${PYTHON_INT_MAX_DIGITS} digits, which Python's json.loads (and so Airflow) refuses to read`;
  }
  return undefined;
}

function problem(kind: AirflowObjectKind, key: string, field: string, message: string, loc?: SourceLocation): ValidationProblem {
  return { kind, key, field, message, ...(loc?.file !== undefined ? { file: loc.file } : {}), ...(loc?.line !== undefined ? { line: loc.line } : {}) };
}

function keyProblem(kind: AirflowObjectKind, key: unknown, field: string, loc?: SourceLocation): ValidationProblem | undefined {
  const shown = typeof key === 'string' ? key : String(key);
  if (typeof key !== 'string') return problem(kind, shown, field, `${field} must be a string`, loc);
  if (key.length === 0) return problem(kind, key, field, `${field} is empty; use 1-200 characters from A-Z a-z 0-9 _ . -`, loc);
  if (longerThan(key, 200)) return problem(kind, key, field, `${field} is ${codePoints(key)} characters long; at most 200 are allowed`, loc);
  if (!KEY_PATTERN.test(key)) {
    const bad = [...new Set([...key].filter((c) => !/[A-Za-z0-9_.-]/.test(c)))].map((c) => JSON.stringify(c)).join(', ');
    return problem(kind, key, field, `${field} contains ${bad}; only A-Z a-z 0-9 _ . - are allowed`, loc);
  }
  return undefined;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * What no Airflow can store of a text: a lone UTF-16 surrogate (not Unicode; Python's encode('utf-8') raises
 * UnicodeEncodeError where JavaScript would quietly write U+FFFD), and, in a column kept in clear, a NUL (Postgres
 * text cannot hold one).
 */
function textProblem(field: string, v: unknown, clear: boolean): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (LONE_SURROGATE.test(v)) return `${field} holds a lone UTF-16 surrogate, which is not Unicode text (Airflow cannot encode it)`;
  if (clear && v.includes('\u0000')) return `${field} holds a NUL character, which Airflow's metadata database cannot store`;
  return undefined;
}

/** The first text problem among an extra's member names and string values, at any depth. */
function extraTextProblem(extra: object): string | undefined {
  const stack: unknown[] = [extra];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      const bad = textProblem('extra', v, false);
      if (bad) return bad;
    } else if (v !== null && typeof v === 'object') {
      for (const [name, member] of Object.entries(v)) {
        const bad = textProblem('extra', name, false);
        if (bad) return bad;
        stack.push(member);
      }
    }
  }
  return undefined;
}

export function validateConnection(conn: AirflowConnection, loc?: SourceLocation): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  const key = typeof conn.conn_id === 'string' ? conn.conn_id : String(conn.conn_id);
  const k = keyProblem('connection', conn.conn_id, 'conn_id', loc);
  if (k) out.push(k);
  const p = (field: string, message: string) => out.push(problem('connection', key, field, message, loc));
  if (typeof conn.conn_type !== 'string' || conn.conn_type.trim() === '') p('conn_type', 'conn_type is required (for example postgres, http, aws)');
  for (const field of ['description', 'host', 'login', 'password', 'schema'] as const) {
    const v = conn[field];
    if (v !== undefined && v !== null && typeof v !== 'string') p(field, `${field} must be a string`);
    // (The password is encrypted when the database has a Fernet key; a NUL in it is then stored fine.)
    const bad = textProblem(field, v, field !== 'password');
    if (bad) p(field, bad);
  }
  const badType = textProblem('conn_type', conn.conn_type, true);
  if (badType) p('conn_type', badType);
  if (typeof conn.conn_type === 'string' && longerThan(conn.conn_type, MAX_CONN_TYPE_LENGTH)) {
    p('conn_type', `conn_type is ${codePoints(conn.conn_type)} characters long; at most ${MAX_CONN_TYPE_LENGTH} are allowed`);
  }
  if (typeof conn.host === 'string' && longerThan(conn.host, MAX_HOST_LENGTH)) {
    p('host', `host is ${codePoints(conn.host)} characters long; at most ${MAX_HOST_LENGTH} are allowed`);
  }
  if (typeof conn.schema === 'string' && longerThan(conn.schema, MAX_SCHEMA_LENGTH)) {
    p('schema', `schema is ${codePoints(conn.schema)} characters long; at most ${MAX_SCHEMA_LENGTH} are allowed`);
  }
  if (conn.port !== undefined && conn.port !== null) {
    if (typeof conn.port !== 'number' || !Number.isInteger(conn.port) || conn.port < 1 || conn.port > 65535) {
      p('port', `port must be an integer from 1 to 65535, got ${typeof conn.port === 'bigint' ? String(conn.port) : JSON.stringify(conn.port)}`);
    }
  }
  if (conn.extra !== undefined && conn.extra !== null) {
    if (typeof conn.extra !== 'object' || Array.isArray(conn.extra)) p('extra', 'extra must be a JSON object (key: value pairs)');
    else {
      const bad = extraJsonProblem(conn.extra) ?? extraTextProblem(conn.extra);
      if (bad) p('extra', bad);
    }
  }
  return out;
}

export function validateVariable(variable: AirflowVariable, loc?: SourceLocation): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  const k = keyProblem('variable', variable.key, 'key', loc);
  if (k) out.push(k);
  const key = String(variable.key);
  if (typeof variable.value !== 'string') out.push(problem('variable', key, 'value', 'value must be a string (quote numbers and JSON)', loc));
  for (const [field, v] of [['value', variable.value], ['description', variable.description]] as const) {
    const bad = textProblem(field, v, field === 'description');
    if (bad) out.push(problem('variable', key, field, bad, loc));
  }
  if (variable.description !== undefined && variable.description !== null && typeof variable.description !== 'string') {
    out.push(problem('variable', key, 'description', 'description must be a string', loc));
  }
  return out;
}

export function validatePool(pool: AirflowPool, loc?: SourceLocation): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  const name = typeof pool.name === 'string' ? pool.name : String(pool.name);
  const p = (field: string, message: string) => out.push(problem('pool', name, field, message, loc));
  if (typeof pool.name !== 'string' || pool.name.trim() === '') p('name', 'pool name must not be blank');
  else if (longerThan(pool.name, MAX_POOL_NAME_LENGTH)) {
    p('name', `pool name is ${codePoints(pool.name)} characters long; at most ${MAX_POOL_NAME_LENGTH} are allowed`);
  }
  if (typeof pool.slots !== 'number' || !Number.isInteger(pool.slots) || pool.slots < -1 || pool.slots > 2147483647) {
    p('slots', `slots must be an integer from -1 (unlimited) to 2147483647, got ${typeof pool.slots === 'bigint' ? String(pool.slots) : JSON.stringify(pool.slots)}`);
  }
  if (pool.description !== undefined && pool.description !== null && typeof pool.description !== 'string') {
    p('description', 'description must be a string');
  }
  for (const [field, v] of [['name', pool.name], ['description', pool.description]] as const) {
    const bad = textProblem(field, v, true);
    if (bad) p(field, bad);
  }
  if (pool.include_deferred !== undefined && typeof pool.include_deferred !== 'boolean') p('include_deferred', 'include_deferred must be true or false');
  return out;
}

/** Python's `\w` for str patterns: Unicode letters, digits and `_` (str.isalnum() or `_`). */
const PY_WORD = '\\p{L}\\p{N}_';

/**
 * `airflow.utils.helpers.validate_key(k, max_length)` (CLI add/import, REST API ids): returns null when valid, else
 * Airflow's AirflowException message. Python's `$` also matches before one trailing newline.
 */
export function airflowValidateKey(key: string, maxLength = 250): string | null {
  if (longerThan(key, maxLength)) return `The key has to be less than ${maxLength} characters`;
  if (!new RegExp(`^[${PY_WORD}.-]+\\n?$`, 'u').test(key)) {
    return `The key ${pyReprStr(key)} has to be made of alphanumeric characters, dashes, dots and underscores exclusively`;
  }
  return null;
}

/**
 * `airflow.models.connection.sanitize_conn_id` (2.8.2+): the id the ORM keeps, or null (insert then fails).
 * `unicodeWord` false gives 2.8.2–2.11 behaviour (google-re2: ASCII `\w`); true gives 3.x (Python `re`).
 */
export function sanitizeConnId(connId: string, maxLength = 250, unicodeWord = true): string | null {
  if (longerThan(connId, maxLength)) return null;
  const word = unicodeWord ? PY_WORD : 'A-Za-z0-9_';
  const m = new RegExp(`^[${word}#!()\\-.:/\\\\]{1,}(?=\\n?$)`, 'u').exec(connId);
  return m ? m[0] : null;
}

/** The environment variable Airflow reads for a connection or variable (`AIRFLOW_CONN_` / `AIRFLOW_VAR_` + upper). */
export function envVarNameFor(kind: 'connection' | 'variable', key: string): string {
  return (kind === 'connection' ? 'AIRFLOW_CONN_' : 'AIRFLOW_VAR_') + key.toUpperCase();
}

/** Formats a problem for humans: `file:line: connection my_db: port must be ...`. */
export function formatProblem(p: ValidationProblem): string {
  const where = p.file ? `${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ` : p.line !== undefined ? `line ${p.line}: ` : '';
  // A problem of no one object (the file's shape, an entry without an id) is its message alone.
  return p.key === '' ? `${where}${p.message}` : `${where}${p.kind} ${p.key}: ${p.message}`;
}
