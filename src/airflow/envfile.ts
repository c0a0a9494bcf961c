import { parse as dotenvParse } from 'dotenv';
import { connectionFromValue, connectionToJson } from './json.js';
import type { AirflowConnection, AirflowVariable, ValidationProblem } from './model.js';
import { connectionToUri, redactUriSecrets } from './uri.js';
import type { AirflowVariant } from './uri.js';
import { envVarNameFor, validateConnection, validateVariable } from './validate.js';

/**
 * `.env` files in one dialect that three readers agree on:
 * - the `dotenv` npm package (`parse`, v17): bare values stop at `#` and are trimmed; `'…'`, `"…"` and backtick
 *   quotes may span lines; only `"…"` turns `\n`/`\r` into line breaks and nothing else is unescaped (`\'` and `\"`
 *   keep their backslash); `\r\n` and `\r` in the file become `\n` first;
 * - docker compose (compose-go `dotenv/parser.go`): unquoted values are cut at ` #`, trimmed and `$`-interpolated;
 *   `'…'` is literal except that `\'` means `'` (so a backslash before the closing quote escapes it); `"…"` expands
 *   `\n \r \t \\ \" \$ …` and interpolates `$`; backticks are not quotes;
 * - Airflow's LocalFilesystemBackend: `KEY=value` split at the first `=`, no quoting, no trimming.
 *
 * The writer therefore uses, in this order:
 * 1. bare, when the value is non-empty, has no `#`, `$`, control or line-break characters, does not start with a
 *    quote, and neither starts nor ends with white space (all URIs envmgr writes qualify, being percent-encoded);
 * 2. `'…'`, when the value has no `'`, no carriage return and does not end with `\` (line feeds are kept raw);
 * 3. `"…"`, when the value has no `"`, `\` or `$` (line feeds and carriage returns written as `\n` / `\r`);
 * otherwise it throws EnvValueError: no spelling exists that dotenv and compose both read back as the same text.
 * That is exactly the values that need quoting and contain (a `'`, a carriage return, or a trailing `\`) together
 * with (a `"`, a `\` or a `$`), e.g. `it's $5` or `a'b"c#`.
 *
 * What dotenv 17 on its own can represent: bare values (no `#`, CR or LF, no white space at either end, not opening
 * with a quote that closes); `'…'` or backtick text in which every quote of that kind is preceded by `\` (which
 * stays in the value) and which has no CR; `"…"` text in which every `"` is preceded by `\`, where CR/LF can only be
 * spelled `\r`/`\n` (so the two-character texts `\n` and `\r` cannot occur). A value that needs quoting and has
 * an unescaped `'`, an unescaped backtick and an unescaped `"` (e.g. `'"\`#`) cannot be written for dotenv at all;
 * the dialect above refuses a wider set because compose must agree too. A quoted value ending in `\` is refused
 * because compose reads `\'` as an escaped quote and dotenv may extend such a value over later lines.
 */

export class EnvValueError extends Error {
  override name = 'EnvValueError';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

export type EnvQuoting = 'bare' | 'single' | 'double';

// White space any of the readers would trim at the ends (JS \s, Go unicode.IsSpace, Python str.isspace).
// eslint-disable-next-line no-control-regex
const END_WS = /^[\s\u0085\u001c-\u001f]|[\s\u0085\u001c-\u001f]$/u;
// Characters that rule out a bare value: comment/interpolation/quote-start are checked separately.
// eslint-disable-next-line no-control-regex
const BARE_BAD = /[#$\u0000-\u001f\u007f\u0085\u2028\u2029]/u;

/** Which quoting the writer uses for a value, or undefined when the value has no common spelling. */
export function envQuotingFor(value: string): EnvQuoting | undefined {
  if (value !== '' && !BARE_BAD.test(value) && !END_WS.test(value) && !/^['"`]/.test(value)) return 'bare';
  if (!value.includes("'") && !value.includes('\r') && !value.endsWith('\\')) return 'single';
  if (!/["\\$]/.test(value)) return 'double';
  return undefined;
}

/** The text after `NAME=` for a value; throws EnvValueError naming the key when no common spelling exists. */
export function formatEnvValue(key: string, value: string): string {
  switch (envQuotingFor(value)) {
    case 'bare':
      return value;
    case 'single':
      return `'${value}'`;
    case 'double':
      return `"${value.replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
    default: {
      const reasons: string[] = [];
      if (value.includes("'")) reasons.push("a single quote");
      if (value.includes('\r')) reasons.push('a carriage return');
      if (value.endsWith('\\')) reasons.push('a trailing backslash');
      const others = ['"', '\\', '$'].filter((c) => value.includes(c)).join(' ');
      throw new EnvValueError(
        key,
        `${key}: this value cannot be written to a .env file so that dotenv and docker compose read it back the same: ` +
          `it needs quotes, contains ${reasons.join(' and ')}, and also ${others} (see the .env dialect in the README)`,
      );
    }
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** One `NAME=value` line (or lines, for a quoted value with line feeds). */
export function formatEnvLine(name: string, value: string): string {
  if (!NAME.test(name)) throw new EnvValueError(name, `${JSON.stringify(name)} is not a usable environment variable name`);
  return `${name}=${formatEnvValue(name, value)}`;
}

export interface EnvEntry {
  name: string;
  value: string;
}

/** Where one assignment sits in a file (1-based, inclusive lines). */
interface Located {
  name: string;
  startLine: number;
  endLine: number;
  exportPrefix: boolean;
}

export interface EnvFileEntry extends EnvEntry {
  line: number;
}

export interface EnvLineProblem {
  line: number;
  message: string;
  /** The variable the problem is about, when the line assigns one (its value is then not to be trusted). */
  name?: string;
}

const ASSIGN = /^(\s*)(export\s+)?([\w.-]+)(?:\s*=|:\s)([\s\S]*)$/;

/** Finds the assignments of a file line by line, following dotenv's rule for multi-line quoted values. */
function locate(text: string): { found: Located[]; problems: EnvLineProblem[] } {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const found: Located[] = [];
  const problems: EnvLineProblem[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const m = ASSIGN.exec(line);
    if (!m) {
      problems.push({ line: i + 1, message: 'not a NAME=value line (it is ignored by dotenv)' });
      continue;
    }
    const rest = m[4]!.replace(/^[^\S\n]*/, '');
    let end = i;
    const q = rest[0];
    if (q === "'" || q === '"' || q === '`') {
      // dotenv: quote, (escaped quote | any other char)*, quote, then only blanks and a comment up to a line end.
      const body = `(?:\\\\${q}|[^${q}])*`;
      const re = new RegExp(`${q}${body}${q}[^\\S\\n]*(?:#.*)?(?=\\n|$)`, 'y');
      const tail = [rest, ...lines.slice(i + 1)].join('\n');
      const mm = re.exec(tail);
      if (mm) end = i + (mm[0].match(/\n/g)?.length ?? 0);
      else if (!new RegExp(`^${q}${body}${q}`).test(rest)) {
        problems.push({ line: i + 1, name: m[3]!, message: `${m[3]!}: unterminated ${q} quote: dotenv reads the rest of the line, the quote included, as the value` });
      }
    }
    found.push({ name: m[3]!, startLine: i + 1, endLine: end + 1, exportPrefix: m[2] !== undefined });
    i = end;
  }
  return { found, problems };
}

/**
 * Reads a `.env` file: every assignment with the value the real `dotenv` parser gives and the line it starts on,
 * plus problems for lines dotenv would silently ignore, unterminated quotes and names assigned twice.
 */
export function parseEnvFile(text: string): { entries: EnvFileEntry[]; problems: EnvLineProblem[] } {
  const values = dotenvParse(text);
  const { found, problems } = locate(text);
  const lastLine = new Map<string, number>();
  for (const f of found) {
    const prev = lastLine.get(f.name);
    if (prev !== undefined) problems.push({ line: f.startLine, name: f.name, message: `${f.name} is already set on line ${prev}; dotenv and docker compose take this later value: remove one of the two` });
    lastLine.set(f.name, f.startLine);
  }
  const entries: EnvFileEntry[] = [];
  for (const [name, line] of lastLine) {
    const value = values[name];
    if (value === undefined) {
      problems.push({ line, name, message: `${name}: dotenv does not read this assignment` });
      continue;
    }
    entries.push({ name, value, line });
  }
  problems.sort((a, b) => a.line - b.line);
  return { entries, problems };
}

export interface EnvReadOptions {
  airflow?: AirflowVariant;
  /** File name for problem locations. */
  file?: string;
}

export interface LocatedConnection {
  connection: AirflowConnection;
  line: number;
}

export interface LocatedVariable {
  variable: AirflowVariable;
  line: number;
}

/**
 * The Airflow objects of a `.env` file: `AIRFLOW_CONN_<ID>` (a URI, or JSON when the value starts with `{`) and
 * `AIRFLOW_VAR_<KEY>`. Ids and keys are the lower-cased rest of the name (Airflow upper-cases the id to find the
 * variable, so the case of the id cannot be recovered; lower case is the convention); an empty `AIRFLOW_CONN_*` is
 * skipped, as Airflow skips it, with a warning. An object any of whose lines has a problem (a name set twice, an
 * unterminated quote) is not read at all. Other names are returned in
 * `other`. Every problem carries the file, line, key and field.
 */
export function readAirflowEnvFile(
  text: string,
  opts: EnvReadOptions = {},
): { connections: LocatedConnection[]; variables: LocatedVariable[]; other: EnvFileEntry[]; problems: ValidationProblem[]; warnings: ValidationProblem[] } {
  const { entries, problems: lineProblems } = parseEnvFile(text);
  const file = opts.file;
  const loc = (line: number) => ({ ...(file !== undefined ? { file } : {}), line });
  // A line's problem belongs to an object when it names an Airflow assignment; otherwise it is the file's own.
  const objectOf = (name: string | undefined): { kind: 'connection' | 'variable'; key: string } | undefined =>
    name?.startsWith('AIRFLOW_CONN_') ? { kind: 'connection', key: name.slice('AIRFLOW_CONN_'.length).toLowerCase() }
    : name?.startsWith('AIRFLOW_VAR_') ? { kind: 'variable', key: name.slice('AIRFLOW_VAR_'.length).toLowerCase() }
    : undefined;
  // An object with an untrustworthy assignment (set twice, an unterminated quote) is not read from any of its
  // lines, so that --skip-invalid never writes a value that was reported, nor another spelling of the same id.
  const untrusted = new Map<string, number>();
  const problems: ValidationProblem[] = lineProblems.map((p) => {
    const o = objectOf(p.name);
    if (o && !untrusted.has(`${o.kind}\0${o.key}`)) untrusted.set(`${o.kind}\0${o.key}`, p.line);
    return { kind: o?.kind ?? null, key: o?.key ?? '', field: 'line', message: p.message, ...loc(p.line) };
  });
  const connections: LocatedConnection[] = [];
  const variables: LocatedVariable[] = [];
  const other: EnvFileEntry[] = [];
  const warnings: ValidationProblem[] = [];
  for (const e of entries) {
    const o = objectOf(e.name);
    const reported = o && untrusted.get(`${o.kind}\0${o.key}`);
    if (reported !== undefined) {
      // Its own line was reported already; another name for the same object is reported here.
      if (!lineProblems.some((p) => p.name === e.name)) {
        problems.push({
          kind: o!.kind, key: o!.key, field: 'line', ...loc(e.line),
          message: `${e.name}: ${o!.kind} '${o!.key}' is also assigned on line ${reported}, which has a problem; neither is read until that is fixed`,
        });
      }
      continue;
    }
    if (e.name.startsWith('AIRFLOW_CONN_')) {
      // Airflow's secrets backends take an empty value for "not defined here" (`if value:`), not as an error.
      if (e.value === '') {
        warnings.push({ kind: 'connection', key: o!.key, field: 'value', message: `${e.name} is empty, which Airflow takes for "not set": not read`, ...loc(e.line) });
        continue;
      }
      const connId = e.name.slice('AIRFLOW_CONN_'.length).toLowerCase();
      try {
        const connection = connectionFromValue(connId, e.value, { airflow: opts.airflow ?? '2', conn_id: connId });
        const found = validateConnection(connection, loc(e.line));
        problems.push(...found);
        if (found.length === 0) connections.push({ connection, line: e.line });
      } catch (err) {
        // Airflow's messages quote the URI, password included: masked here, as every message envmgr prints.
        problems.push({ kind: 'connection', key: connId, field: 'value', message: `${e.name}: ${redactUriSecrets((err as Error).message, e.value)}`, ...loc(e.line) });
      }
    } else if (e.name.startsWith('AIRFLOW_VAR_')) {
      const variable: AirflowVariable = { key: e.name.slice('AIRFLOW_VAR_'.length).toLowerCase(), value: e.value };
      const found = validateVariable(variable, loc(e.line));
      problems.push(...found);
      if (found.length === 0) variables.push({ variable, line: e.line });
    } else other.push(e);
  }
  return { connections, variables, other, problems, warnings };
}

/**
 * Airflow's JSON text with `$`, `#` and `'` written as JSON escapes (`\u0024`, `\u0023`, `\u0027`). They only occur
 * inside JSON strings and decode to the same characters, and without them the text (already ASCII, with control
 * characters escaped) can always be written bare: no connection is refused for its password's characters.
 */
export function envSafeJson(json: string): string {
  return json.replace(/[$#']/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/**
 * Objects whose ids differ only in case (or otherwise map to one name) would share one `AIRFLOW_CONN_*` /
 * `AIRFLOW_VAR_*` variable: Airflow looks the id up upper-cased. One sentence per such pair, empty when none.
 */
export function envNameCollisions(connectionIds: readonly string[], variableKeys: readonly string[]): string[] {
  const out: string[] = [];
  for (const [kind, ids] of [['connection', connectionIds], ['variable', variableKeys]] as const) {
    const first = new Map<string, string>();
    for (const id of ids) {
      const name = envVarNameFor(kind, id);
      const other = first.get(name);
      if (other === undefined) first.set(name, id);
      else out.push(`${kind}s '${other}' and '${id}' would both be ${name} (Airflow upper-cases the ${kind === 'connection' ? 'id' : 'key'})`);
    }
  }
  return out;
}

/** The `.env` entry for a connection: a URI (default) or Airflow's JSON form (see envSafeJson). */
export function connectionEnvEntry(conn: AirflowConnection, opts: { serialization?: 'uri' | 'json'; airflow?: AirflowVariant } = {}): EnvEntry {
  const value =
    opts.serialization === 'json' ? envSafeJson(connectionToJson(conn, { airflow: opts.airflow ?? '2' })) : connectionToUri(conn, { airflow: opts.airflow ?? '2' });
  return { name: envVarNameFor('connection', conn.conn_id), value };
}

export function variableEnvEntry(variable: AirflowVariable): EnvEntry {
  return { name: envVarNameFor('variable', variable.key), value: variable.value };
}

/**
 * Merges entries into an existing `.env` text: an assignment with the same name is replaced where it stands (all of
 * its lines, keeping an `export ` prefix; later duplicates of it are removed), everything else is kept as it was
 * (comments, blank lines, order), and new names are appended in the order given. Every value is formatted before
 * anything is produced, so an unrepresentable value throws and nothing is written.
 */
export function mergeEnvFile(existingText: string | undefined, entries: readonly EnvEntry[]): string {
  const wanted = new Map<string, string>();
  for (const e of entries) {
    if (wanted.has(e.name)) throw new Error(`${e.name} is given twice; a .env file holds one value per name`);
    wanted.set(e.name, formatEnvLine(e.name, e.value));
  }
  // A file written with CRLF throughout (on Windows, say) stays CRLF; any other mix of line ends becomes LF. dotenv
  // reads either the same way.
  const eol = existingText !== undefined && existingText.includes('\r\n') && !/(^|[^\r])\n/.test(existingText) ? '\r\n' : '\n';
  const text = (existingText ?? '').replace(/\r\n?/g, '\n');
  const lines = text === '' ? [] : text.split('\n');
  const hadFinalNewline = text.endsWith('\n');
  if (hadFinalNewline) lines.pop();
  const { found } = locate(lines.join('\n'));
  const byStart = new Map(found.map((f) => [f.startLine, f]));
  const out: string[] = [];
  const done = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const f = byStart.get(i + 1);
    if (f && wanted.has(f.name)) {
      if (!done.has(f.name)) {
        out.push((f.exportPrefix ? 'export ' : '') + wanted.get(f.name)!);
        done.add(f.name);
      }
      i = f.endLine - 1;
      continue;
    }
    out.push(lines[i]!);
  }
  for (const [name, line] of wanted) if (!done.has(name)) out.push(line);
  return out.length === 0 ? '' : `${out.join(eol)}${eol}`;
}
