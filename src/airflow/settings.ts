import { Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, YAMLMap, YAMLSeq } from 'yaml';
import type { Node, Pair, Scalar, ScalarTag } from 'yaml';
import { stringTag } from 'yaml/util';
import { normalizeConnection, type AirflowConnection, type AirflowObjectKind, type AirflowPool, type AirflowVariable, type ValidationProblem } from './model.js';
import { exactInt } from './pyjson.js';
import { connectionFromFields, extraTextToObject, parseConnectionUri, redactUriSecrets } from './uri.js';
import type { AirflowVariant } from './uri.js';
import { validateConnection, validatePool, validateVariable } from './validate.js';
import { SETTINGS_FIELD } from './settings-fields.js';

/**
 * Astro's `airflow_settings.yaml` (astro-cli `settings/types.go`):
 *
 *   airflow:
 *     connections: [{conn_id, conn_type, conn_host, conn_schema, conn_login, conn_password, conn_port, conn_uri,
 *                    conn_extra (a map, or JSON text)}]
 *     pools:       [{pool_name, pool_slot, pool_description}]
 *     variables:   [{variable_name, variable_value}]
 *
 * Every object carries the line it starts on; unknown keys and wrong types are problems with their line and field.
 * Entries whose fields are all empty (Astro's generated template) are skipped, as Astro skips them.
 *
 * conn_uri follows astro-cli `settings.AddConnections`: the URI is used only when none of conn_type, conn_host,
 * conn_login, conn_password, conn_schema and a non-zero conn_port is set (otherwise Astro runs
 * `airflow connections add` with the fields and drops the URI; envmgr does the same and adds a warning); with the
 * URI, conn_extra (when set) replaces the URI's extra, as `airflow connections add --conn-uri … --conn-extra …` does.
 * Unlike Astro, which keeps only the string values of a conn_extra map, envmgr keeps every value.
 */

export interface SettingsConnection {
  connection: AirflowConnection;
  line: number;
  /** The line of each key the entry has (`conn_login` → 12). */
  fieldLines: Readonly<Record<string, number>>;
}
export interface SettingsVariable {
  variable: AirflowVariable;
  line: number;
  /** The line of each key the entry has (`variable_value` → 12). */
  fieldLines: Readonly<Record<string, number>>;
}
export interface SettingsPool {
  pool: AirflowPool;
  line: number;
  /** The line of each key the entry has (`pool_slot` → 12). */
  fieldLines: Readonly<Record<string, number>>;
}

export interface SettingsReadResult {
  connections: SettingsConnection[];
  variables: SettingsVariable[];
  pools: SettingsPool[];
  problems: ValidationProblem[];
  /** Things Astro would also do silently (for example a conn_uri ignored because fields are set). */
  warnings: ValidationProblem[];
}

export interface SettingsReadOptions {
  file?: string;
  /** URI behaviour for conn_uri (default `'2'`). */
  airflow?: AirflowVariant;
}

const CONNECTION_KEYS = ['conn_id', 'conn_type', 'conn_host', 'conn_schema', 'conn_login', 'conn_password', 'conn_port', 'conn_uri', 'conn_extra'];
const POOL_KEYS = ['pool_name', 'pool_slot', 'pool_description'];
const VARIABLE_KEYS = ['variable_name', 'variable_value'];

type Loc = { file?: string; line: number };

class Reader {
  problems: ValidationProblem[] = [];
  warnings: ValidationProblem[] = [];
  /** Repeated keys found in (or below) each entry of a section, reported with that entry (see repeatedKeys). */
  entryRepeats = new Map<YAMLMap, Repeat[]>();
  constructor(
    readonly doc: Document,
    readonly lc: LineCounter,
    readonly file: string | undefined,
  ) {}
  line(node: Node | Pair | null | undefined): number {
    const range = node && 'range' in node ? node.range : node && 'key' in node ? (node.key as Node | null)?.range : undefined;
    return range ? this.lc.linePos(range[0]).line : 1;
  }
  loc(line: number): Loc {
    return { ...(this.file !== undefined ? { file: this.file } : {}), line };
  }
  problem(kind: AirflowObjectKind | null, key: string, field: string, message: string, line: number): void {
    this.problems.push({ kind, key, field, message, ...this.loc(line) });
  }
}

interface Repeat {
  /** The key written twice. */
  name: string;
  line: number;
  firstLine: number;
  /** The entry field the map sits under, when the map is nested in an entry (a conn_extra map). */
  under?: string;
}

/** The lists under `airflow:`. A Set, not an object: a key such as `constructor` must not be found on its prototype. */
const SECTIONS: ReadonlySet<string> = new Set(['connections', 'pools', 'variables']);

/**
 * Every key written twice in one map. YAML forbids it (a mapping's keys are unique), and the file is parsed without
 * that check only so that each repeat can be reported with both lines: a second `connections:` block, a field given
 * twice in one entry or a key repeated in a conn_extra map would otherwise silently lose one of the two. Repeats in
 * an entry (or below it) are filed under that entry; the others are returned.
 */
function repeatedKeys(lc: LineCounter, doc: Document, entryRepeats?: Map<YAMLMap, Repeat[]>): Repeat[] {
  const fileWide: Repeat[] = [];
  const lineOf = (node: unknown) => {
    const range = (node as Node | null)?.range;
    return range ? lc.linePos(range[0]).line : 1;
  };
  visit(doc, {
    Map(_, map, path) {
      const first = new Map<string, number>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const name = String(pair.key.value);
        const line = lineOf(pair.key);
        const firstLine = first.get(name);
        if (firstLine === undefined) {
          first.set(name, line);
          continue;
        }
        // path: Document, root map, Pair(airflow), airflow map, Pair(<section>), the section's list, entry, …
        const section = path[4];
        const inSection = entryRepeats && isPair(section) && isScalar(section.key) && SECTIONS.has(String(section.key.value));
        const entry = path.length === 6 ? map : path[6];
        if (inSection && isMap(entry)) {
          const fieldPair = path[7];
          const under = path.length > 6 && isPair(fieldPair) && isScalar(fieldPair.key) ? String(fieldPair.key.value) : undefined;
          const list = entryRepeats.get(entry) ?? [];
          list.push({ name, line, firstLine, ...(under !== undefined ? { under } : {}) });
          entryRepeats.set(entry, list);
        } else fileWide.push({ name, line, firstLine });
      }
    },
  });
  return fileWide;
}

const repeatMessage = (r: Repeat) =>
  `${JSON.stringify(r.name)} is written twice${r.under !== undefined ? ` in ${r.under}` : ''} (first on line ${r.firstLine}); a key may appear once per map`;

/** A scalar's text for a string field: strings as they are, integers/decimals as written, null as absent. */
function stringField(r: Reader, kind: AirflowObjectKind, key: string, field: string, node: unknown, line: number): string | null {
  if (node === null || node === undefined) return null;
  if (isScalar(node)) {
    const v = (node as Scalar).value;
    if (v === null) return null;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' && (node as Scalar).source !== undefined) return String((node as Scalar).source);
    r.problem(kind, key, field, `${field} must be a string; put ${JSON.stringify(String(v))} in quotes`, line);
    return null;
  }
  r.problem(kind, key, field, `${field} must be a string, not a ${isMap(node) ? 'map' : 'list'}`, line);
  return null;
}

function intField(r: Reader, kind: AirflowObjectKind, key: string, field: string, node: unknown, line: number): number | null | 'bad' {
  if (node === null || node === undefined) return null;
  if (isScalar(node)) {
    const v = (node as Scalar).value;
    if (v === null) return null;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return Number(v);
  }
  r.problem(kind, key, field, `${field} must be an integer`, line);
  return 'bad';
}

function itemsOf(r: Reader, airflow: YAMLMap, section: string): YAMLMap[] {
  const node = airflow.get(section, true) as unknown;
  if (node === undefined || node === null || (isScalar(node) && (node as Scalar).value === null)) return [];
  const kind: AirflowObjectKind = section === 'connections' ? 'connection' : section === 'pools' ? 'pool' : 'variable';
  if (!isSeq(node)) {
    r.problem(kind, '', section, `airflow.${section} must be a list`, r.line(node as Node));
    return [];
  }
  const out: YAMLMap[] = [];
  for (const item of (node as YAMLSeq).items) {
    if (item === null || (isScalar(item) && (item as Scalar).value === null)) continue;
    if (!isMap(item)) {
      r.problem(kind, '', section, `each entry of airflow.${section} must be a map`, r.line(item as Node));
      continue;
    }
    out.push(item as YAMLMap);
  }
  return out;
}

function fieldsOf(r: Reader, kind: AirflowObjectKind, item: YAMLMap, allowed: string[], idField: string): { values: Map<string, [unknown, number]>; id: string } {
  const values = new Map<string, [unknown, number]>();
  const idNode = item.get(idField, true) as unknown;
  const id = isScalar(idNode) && (idNode as Scalar).value !== null ? String((idNode as Scalar).value) : '';
  for (const repeat of r.entryRepeats.get(item) ?? []) r.problem(kind, id, repeat.under ?? repeat.name, repeatMessage(repeat), repeat.line);
  for (const pair of item.items as Pair[]) {
    const keyName = isScalar(pair.key) ? String((pair.key as Scalar).value) : String(pair.key);
    const line = r.line(pair.key as Node);
    if (!allowed.includes(keyName)) {
      r.problem(kind, id, keyName, `unknown key ${JSON.stringify(keyName)}; allowed keys are ${allowed.join(', ')}`, line);
      continue;
    }
    values.set(keyName, [pair.value, line]);
  }
  return { values, id };
}

function linesOf(values: Map<string, [unknown, number]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, [, line]] of values) out[key] = line;
  return out;
}

/** Re-points a model-level problem at the settings key (and its line) that holds the offending value. */
function locateField(p: ValidationProblem, values: Map<string, [unknown, number]>, uriField?: string): ValidationProblem {
  let field = SETTINGS_FIELD[p.field] ?? p.field;
  if (uriField && !values.has(field) && field !== 'conn_id') field = uriField;
  const line = values.get(field)?.[1];
  return { ...p, field, ...(line !== undefined ? { line } : {}) };
}

const isBlank = (v: unknown) => v === null || v === undefined || (isScalar(v) && ((v as Scalar).value === null || (v as Scalar).value === ''));

/**
 * Astro's template entry: no id and no other scalar field (the template's conn_extra holds an example map). Astro
 * skips entries without an id silently; envmgr skips only these placeholders and reports other id-less entries.
 */
function isEmptyEntry(values: Map<string, [unknown, number]>, idField: string, ignored: string[]): boolean {
  if (!isBlank(values.get(idField)?.[0])) return false;
  return [...values.entries()].every(([k, [v]]) => ignored.includes(k) || isBlank(v));
}

/**
 * A map's JS value, each decimal integer beyond 2^53 kept with all its digits (exactInt; the yaml package's plain
 * conversion would round it to a number, where Python keeps every digit of an int in an extra).
 */
function mapToJsExact(r: Reader, node: YAMLMap): Record<string, unknown> {
  visit(node, {
    Scalar(_, scalar) {
      const { value, source } = scalar;
      // Not safe: beyond 2^53, or so long that the number is Infinity.
      if (typeof value === 'number' && !Number.isSafeInteger(value) && typeof source === 'string' && /^[-+]?[0-9]+$/.test(source)) {
        scalar.value = exactInt(source);
      }
    },
  });
  // toJS (unlike toJSON) keeps a bigint as it is, and resolves aliases against the document.
  return node.toJS(r.doc) as Record<string, unknown>;
}

function readConnection(r: Reader, item: YAMLMap, variant: AirflowVariant): SettingsConnection | undefined {
  const line = r.line(item);
  const before = r.problems.length;
  const { values, id } = fieldsOf(r, 'connection', item, CONNECTION_KEYS, 'conn_id');
  if (isEmptyEntry(values, 'conn_id', ['conn_extra'])) return undefined;
  const str = (f: string) => {
    const e = values.get(f);
    return e ? stringField(r, 'connection', id, f, e[0], e[1]) : null;
  };
  const connId = str('conn_id');
  if (!connId) {
    r.problem('connection', '', 'conn_id', 'conn_id is required', line);
    return undefined;
  }
  const portEntry = values.get('conn_port');
  const port = portEntry ? intField(r, 'connection', connId, 'conn_port', portEntry[0], portEntry[1]) : null;
  let extra: Record<string, unknown> | null = null;
  let extraGiven = false;
  const extraEntry = values.get('conn_extra');
  // An empty map or an empty string is no conn_extra at all (the Astro CLI then passes no --conn-extra, and a
  // conn_uri keeps the extras of its query).
  const emptyExtra = (node: unknown) => (isMap(node) && (node as YAMLMap).items.length === 0) || (isScalar(node) && (node as Scalar).value === '');
  if (extraEntry && extraEntry[0] !== null && !(isScalar(extraEntry[0]) && (extraEntry[0] as Scalar).value === null) && !emptyExtra(extraEntry[0])) {
    extraGiven = true;
    const node = extraEntry[0];
    if (isMap(node)) extra = mapToJsExact(r, node as YAMLMap);
    else if (isScalar(node) && typeof (node as Scalar).value === 'string') {
      try {
        extra = extraTextToObject((node as Scalar).value as string, connId);
      } catch (e) {
        const message = (e as Error).message;
        const prefix = `connection ${connId}: `;
        r.problem('connection', connId, 'conn_extra', `conn_extra: ${message.startsWith(prefix) ? message.slice(prefix.length) : message}`, extraEntry[1]);
      }
    } else r.problem('connection', connId, 'conn_extra', 'conn_extra must be a map or a JSON object in a string', extraEntry[1]);
  }
  const fields = {
    conn_type: str('conn_type'),
    host: str('conn_host'),
    schema: str('conn_schema'),
    login: str('conn_login'),
    password: str('conn_password'),
  };
  const uri = str('conn_uri');
  // Field-level problems do not stop the checks below: every problem of the entry is reported at once.
  const broken = r.problems.length > before;
  const anyField = Object.values(fields).some((v) => v) || (typeof port === 'number' && port !== 0);
  let connection: AirflowConnection;
  const fromUri = Boolean(uri && !anyField);
  if (uri && !anyField) {
    try {
      const f = parseConnectionUri(uri, { airflow: variant, conn_id: connId });
      connection = extraGiven ? { ...connectionFromFields(connId, { ...f, extra: null }), extra } : connectionFromFields(connId, f);
    } catch (e) {
      r.problem('connection', connId, 'conn_uri', `conn_uri: ${redactUriSecrets((e as Error).message, uri)}`, values.get('conn_uri')![1]);
      return undefined;
    }
  } else {
    if (uri) {
      r.warnings.push({
        kind: 'connection',
        key: connId,
        field: 'conn_uri',
        message: 'conn_uri is ignored because other conn_* fields are set (as the Astro CLI does)',
        ...r.loc(values.get('conn_uri')![1]),
      });
    }
    // Reported, and the other fields still checked: every problem of the entry is listed at once.
    if (!fields.conn_type) r.problem('connection', connId, 'conn_type', 'conn_type or conn_uri is required', line);
    connection = {
      conn_id: connId,
      conn_type: fields.conn_type ?? '',
      host: fields.host,
      login: fields.login,
      password: fields.password,
      schema: fields.schema,
      // Astro treats conn_port 0 as unset.
      port: typeof port === 'number' && port !== 0 ? port : null,
      extra,
    };
  }
  connection = normalizeConnection(connection);
  const reported = new Set(r.problems.slice(before).map((p) => p.field));
  const found = validateConnection(connection, r.loc(line))
    .map((p) => locateField(p, values, fromUri ? 'conn_uri' : undefined))
    .filter((p) => !reported.has(p.field));
  r.problems.push(...found);
  return found.length === 0 && !broken && connection.conn_type ? { connection, line, fieldLines: linesOf(values) } : undefined;
}

function readVariable(r: Reader, item: YAMLMap): SettingsVariable | undefined {
  const line = r.line(item);
  const before = r.problems.length;
  const { values, id } = fieldsOf(r, 'variable', item, VARIABLE_KEYS, 'variable_name');
  if (isEmptyEntry(values, 'variable_name', [])) return undefined;
  const str = (f: string) => {
    const e = values.get(f);
    return e ? stringField(r, 'variable', id, f, e[0], e[1]) : null;
  };
  const key = str('variable_name');
  const value = str('variable_value');
  if (r.problems.length > before) return undefined;
  if (!key) {
    r.problem('variable', '', 'variable_name', 'variable_name is required', line);
    return undefined;
  }
  if (value === null) {
    r.problem('variable', key, 'variable_value', 'variable_value is required (use "" for an empty value)', line);
    return undefined;
  }
  const variable: AirflowVariable = { key, value };
  const found = validateVariable(variable, r.loc(line)).map((p) => locateField(p, values));
  r.problems.push(...found);
  return found.length === 0 ? { variable, line, fieldLines: linesOf(values) } : undefined;
}

function readPool(r: Reader, item: YAMLMap): SettingsPool | undefined {
  const line = r.line(item);
  const before = r.problems.length;
  const { values, id } = fieldsOf(r, 'pool', item, POOL_KEYS, 'pool_name');
  if (isEmptyEntry(values, 'pool_name', [])) return undefined;
  const nameEntry = values.get('pool_name');
  const name = nameEntry ? stringField(r, 'pool', id, 'pool_name', nameEntry[0], nameEntry[1]) : null;
  const descEntry = values.get('pool_description');
  const description = descEntry ? stringField(r, 'pool', id, 'pool_description', descEntry[0], descEntry[1]) : null;
  const slotEntry = values.get('pool_slot');
  const slots = slotEntry ? intField(r, 'pool', id, 'pool_slot', slotEntry[0], slotEntry[1]) : null;
  if (r.problems.length > before) return undefined;
  if (!name) {
    r.problem('pool', '', 'pool_name', 'pool_name is required', line);
    return undefined;
  }
  if (slots === null || slots === 'bad') {
    r.problem('pool', name, 'pool_slot', 'pool_slot is required (an integer, -1 for unlimited)', line);
    return undefined;
  }
  const pool: AirflowPool = { name, slots, description };
  const found = validatePool(pool, r.loc(line)).map((p) => locateField(p, values));
  r.problems.push(...found);
  return found.length === 0 ? { pool, line, fieldLines: linesOf(values) } : undefined;
}

/** More values copied by aliases than any hand-written settings file has: a bound against alias bombs. */
const MAX_ALIAS_COPIES = 100_000;

/** The number of nodes in `node` (collections and scalars), counting no further than `limit + 1`. */
function nodeCount(node: unknown, limit: number): number {
  let n = 0;
  const stack: unknown[] = [node];
  while (stack.length > 0 && n <= limit) {
    const next = stack.pop();
    n++;
    if (isMap(next) || isSeq(next)) {
      for (const item of (next as YAMLMap | YAMLSeq).items) {
        if (isPair(item)) stack.push(item.key, item.value);
        else stack.push(item);
      }
    }
  }
  return n;
}

/**
 * Resolves YAML's anchors and aliases (`&name` / `*name`) and merge keys (`<<: *base`, `<<: [*a, *b]`) in place, as
 * the Astro CLI's YAML reader (and PyYAML) does: an alias becomes a copy of the node it names (problems in it are
 * reported at the anchor's line), and a merge key adds the merged maps' keys the map does not set itself (earlier
 * maps first). False, with a problem reported, for an alias to no anchor, an alias inside the value it names, or
 * aliases that copy more than MAX_ALIAS_COPIES values.
 */
function expandAliases(doc: Document.Parsed, problem: (message: string, node?: Node) => void): boolean {
  let copied = 0;
  let ok = true;
  visit(doc, {
    Alias(_key, alias, path) {
      const target = alias.resolve(doc);
      if (!target) {
        problem(`the alias *${alias.source} names no anchor &${alias.source} defined before it`, alias);
        ok = false;
        return undefined;
      }
      // An alias inside the value it names: that value would contain itself, without end.
      if (path.includes(target)) {
        problem(`the alias *${alias.source} is inside the value &${alias.source} names, which would then contain itself`, alias);
        ok = false;
        return visit.BREAK;
      }
      // Anchored nodes before this one are already expanded, so a copy can be large: count before copying.
      copied += nodeCount(target, MAX_ALIAS_COPIES - copied);
      if (copied > MAX_ALIAS_COPIES) {
        problem(`the file's aliases (*name) copy more than ${MAX_ALIAS_COPIES} values; write the values out`, alias);
        ok = false;
        return visit.BREAK;
      }
      return target.clone() as Node;
    },
  });
  if (!ok) return false;
  visit(doc, {
    Map(_key, map) {
      if (!map.items.some((p) => isMergeKey(p.key))) return;
      const own = map.items.filter((p) => !isMergeKey(p.key));
      const keys = new Set(own.map((p) => keyText(p.key)));
      const merged: Pair[] = [];
      for (const p of map.items) {
        if (!isMergeKey(p.key)) continue;
        const sources = isSeq(p.value) ? (p.value as YAMLSeq).items : [p.value];
        // Not maps to merge: the key is left as it is, and the reader reports it as unknown.
        if (!sources.every((source) => isMap(source))) own.push(p);
        for (const source of sources) {
          if (!isMap(source)) continue;
          for (const q of (source as YAMLMap).items as Pair[]) {
            if (isMergeKey(q.key) || keys.has(keyText(q.key))) continue;
            keys.add(keyText(q.key));
            merged.push(q);
          }
        }
      }
      map.items = [...own, ...merged];
    },
  });
  return true;
}

const keyText = (key: unknown) => (isScalar(key) ? String((key as Scalar).value) : String(key));
const isMergeKey = (key: unknown) => isScalar(key) && (key as Scalar).value === '<<';

/** Reads an `airflow_settings.yaml` text. Objects with problems are left out of the lists and reported. */
export function readSettingsFile(text: string, opts: SettingsReadOptions = {}): SettingsReadResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false });
  const r = new Reader(doc, lc, opts.file);
  const result: SettingsReadResult = { connections: [], variables: [], pools: [], problems: r.problems, warnings: r.warnings };
  for (const e of doc.errors) {
    // The yaml library's first line ends "at line L, column C:" before the excerpt it shows below it.
    r.problem(null, '', 'yaml', `YAML syntax error: ${e.message.split('\n')[0]!.replace(/:\s*$/, '')}`, e.linePos?.[0]?.line ?? 1);
  }
  if (doc.errors.length > 0) return result;
  for (const repeat of repeatedKeys(lc, doc, r.entryRepeats)) r.problem(null, '', repeat.name, repeatMessage(repeat), repeat.line);
  if (!expandAliases(doc, (message, node) => r.problem(null, '', 'yaml', message, node ? r.line(node) : 1))) return result;
  const root = doc.contents as unknown;
  if (root === null || (isScalar(root) && (root as Scalar).value === null)) return result;
  if (!isMap(root)) {
    r.problem(null, '', 'airflow', 'the file must be a map with an "airflow" key', r.line(root as Node));
    return result;
  }
  for (const pair of (root as YAMLMap).items as Pair[]) {
    const k = isScalar(pair.key) ? String((pair.key as Scalar).value) : String(pair.key);
    if (k !== 'airflow') r.problem(null, '', k, `unknown key ${JSON.stringify(k)}; the settings file has only "airflow"`, r.line(pair.key as Node));
  }
  const airflow = (root as YAMLMap).get('airflow', true) as unknown;
  if (airflow === undefined || airflow === null || (isScalar(airflow) && (airflow as Scalar).value === null)) return result;
  if (!isMap(airflow)) {
    r.problem(null, '', 'airflow', '"airflow" must be a map of connections, pools and variables', r.line(airflow as Node));
    return result;
  }
  for (const pair of (airflow as YAMLMap).items as Pair[]) {
    const k = isScalar(pair.key) ? String((pair.key as Scalar).value) : String(pair.key);
    if (!SECTIONS.has(k)) {
      r.problem(null, '', k, `unknown key ${JSON.stringify(k)} under airflow; allowed keys are connections, pools, variables`, r.line(pair.key as Node));
    }
  }
  const seen = new Map<string, number>();
  const dup = (kind: AirflowObjectKind, id: string, line: number): boolean => {
    const prev = seen.get(`${kind}\0${id}`);
    if (prev !== undefined) {
      r.problem(kind, id, kind === 'pool' ? 'pool_name' : kind === 'variable' ? 'variable_name' : 'conn_id', `${kind} ${id} is already defined on line ${prev}`, line);
      return true;
    }
    seen.set(`${kind}\0${id}`, line);
    return false;
  };
  const variant = opts.airflow ?? '2';
  for (const item of itemsOf(r, airflow as YAMLMap, 'connections')) {
    const c = readConnection(r, item, variant);
    if (c && !dup('connection', c.connection.conn_id, c.line)) result.connections.push(c);
  }
  for (const item of itemsOf(r, airflow as YAMLMap, 'pools')) {
    const p = readPool(r, item);
    if (p && !dup('pool', p.pool.name, p.line)) result.pools.push(p);
  }
  for (const item of itemsOf(r, airflow as YAMLMap, 'variables')) {
    const v = readVariable(r, item);
    if (v && !dup('variable', v.variable.key, v.line)) result.variables.push(v);
  }
  return result;
}

function connectionEntry(c: AirflowConnection): Record<string, unknown> {
  const e: Record<string, unknown> = { conn_id: c.conn_id, conn_type: c.conn_type };
  if (c.host !== undefined && c.host !== null) e.conn_host = c.host;
  if (c.schema !== undefined && c.schema !== null) e.conn_schema = c.schema;
  if (c.login !== undefined && c.login !== null) e.conn_login = c.login;
  if (c.password !== undefined && c.password !== null) e.conn_password = c.password;
  if (c.port !== undefined && c.port !== null) e.conn_port = c.port;
  if (c.extra && Object.keys(c.extra).length > 0) e.conn_extra = c.extra;
  return e;
}

export interface SettingsContent {
  connections?: readonly AirflowConnection[];
  variables?: readonly AirflowVariable[];
  pools?: readonly AirflowPool[];
}

/**
 * Strings that a YAML 1.1 reader takes for something else when they are written plain, although the yaml library
 * (YAML 1.2's core schema) rightly leaves them plain: numbers with `_`, `0b…`, `0x…` with a sign, sexagesimal
 * `1:20`, timestamps `2024-01-01`, booleans `yes`/`on`/`n`. The Astro CLI reads the file with Go's yaml.v3 (which
 * resolves the numbers and timestamps: a password `1_000` arrives as "1000", a date fails the whole file) and
 * PyYAML reads YAML 1.1. Anything that starts like a number is quoted, as are 1.1's boolean words.
 */
const YAML11_NOT_A_STRING = /^(?:[-+.]?[0-9]|(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$)/;

/**
 * Quotes, in a node about to be written, the strings a reader would not take back exactly when plain: those above,
 * and a string of only blanks and line breaks (" \n", "\n \n"), which the yaml library writes as a `|+` block
 * scalar whose lines are all blank, and a reader then takes the blanks as indentation and loses them. Both are
 * written double-quoted instead, which every reader takes back exactly.
 */
function quoteForEveryReader(node: Node): void {
  visit(node, {
    Scalar(_key, s) {
      if (typeof s.value !== 'string' || s.type !== undefined) return;
      if (YAML11_NOT_A_STRING.test(s.value) || (s.value.includes('\n') && /^[ \t\n]*$/.test(s.value)) || /\t/.test(s.value)) s.type = 'QUOTE_DOUBLE';
    },
  });
}

/**
 * Characters the yaml library writes as they are, which a YAML reader does not take back as they are: DEL and the
 * C1 controls and U+FFFE/U+FFFF (outside YAML's printable set: PyYAML refuses the file), NEL, U+2028 and U+2029
 * (line breaks to YAML 1.1, so a reader folds them), the byte-order mark. A string holding one is written
 * double-quoted with YAML escapes instead (`writeSettingsFile`'s string tag), on one line.
 */
const RAW_UNREADABLE = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/;

const YAML_ESCAPES: Record<string, string> = {
  '\0': '\\0', '\u0007': '\\a', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r', '\u001b': '\\e',
  '"': '\\"', '\\': '\\\\', '\u0085': '\\N', '\u2028': '\\L', '\u2029': '\\P',
};

/** A double-quoted YAML scalar holding `value` exactly, every character outside YAML's printable set escaped. */
export function yamlDoubleQuoted(value: string): string {
  // eslint-disable-next-line no-control-regex
  return `"${value.replace(/[\u0000-\u001f"\\\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g, (c) => {
    const code = c.charCodeAt(0);
    return YAML_ESCAPES[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  })}"`;
}

/** The core schema's string tag, but writing the strings of RAW_UNREADABLE with `yamlDoubleQuoted`. */
const READABLE_STRING: ScalarTag = {
  ...stringTag,
  stringify(item, ctx, onComment, onChompKeep) {
    const value = (item as Scalar).value;
    if (typeof value === 'string' && RAW_UNREADABLE.test(value)) return yamlDoubleQuoted(value);
    return stringTag.stringify!(item, ctx, onComment, onChompKeep);
  },
};
const SETTINGS_TAGS = (tags: unknown[]) => tags.map((t) => (t === stringTag ? READABLE_STRING : t)) as never;

function upsert(doc: Document, airflow: YAMLMap, section: string, idKey: string, entries: { id: string; value: Record<string, unknown> }[]): void {
  if (entries.length === 0) return;
  let seq = airflow.get(section, true) as unknown;
  if (!isSeq(seq)) {
    seq = new YAMLSeq();
    airflow.set(section, seq);
  }
  const items = (seq as YAMLSeq).items as unknown[];
  for (const { id, value } of entries) {
    const node = doc.createNode(value);
    quoteForEveryReader(node);
    const index = items.findIndex((it) => isMap(it) && String((it as YAMLMap).get(idKey)) === id);
    if (index >= 0) {
      items[index] = node;
      // Later duplicates of the same id would shadow the replacement; drop them.
      for (let i = items.length - 1; i > index; i--) if (isMap(items[i]) && String((items[i] as YAMLMap).get(idKey)) === id) items.splice(i, 1);
    } else items.push(node);
  }
}

/**
 * Writes (or merges into) an `airflow_settings.yaml`: entries with the same conn_id / pool_name / variable_name are
 * replaced in place, every other entry, key and comment of the existing text is kept, new entries are appended.
 * The connection description has no Astro field and is not written.
 */
export function writeSettingsFile(existingText: string | undefined, content: SettingsContent): string {
  const lc = new LineCounter();
  const doc = existingText && existingText.trim() !== '' ? parseDocument(existingText, { uniqueKeys: false, lineCounter: lc, customTags: SETTINGS_TAGS }) : new Document({ airflow: {} }, { customTags: SETTINGS_TAGS });
  if (doc.errors.length > 0) throw new Error(`the existing settings file is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  // Merging into a map that has a key twice would update one copy and leave the other to contradict it.
  const repeat = repeatedKeys(lc, doc)[0];
  if (repeat) throw new Error(`the existing settings file is not valid YAML: line ${repeat.line}: ${repeatMessage(repeat)}`);
  if (!isMap(doc.contents)) doc.contents = doc.createNode({ airflow: {} }) as never;
  const root = doc.contents as unknown as YAMLMap;
  let airflow = root.get('airflow', true) as unknown;
  if (!isMap(airflow)) {
    airflow = new YAMLMap();
    root.set('airflow', airflow);
  }
  const a = airflow as YAMLMap;
  upsert(doc, a, 'connections', 'conn_id', (content.connections ?? []).map((c) => ({ id: c.conn_id, value: connectionEntry(c) })));
  upsert(
    doc,
    a,
    'pools',
    'pool_name',
    (content.pools ?? []).map((p) => ({
      id: p.name,
      value: { pool_name: p.name, pool_slot: p.slots, ...(p.description !== undefined && p.description !== null ? { pool_description: p.description } : {}) },
    })),
  );
  upsert(doc, a, 'variables', 'variable_name', (content.variables ?? []).map((v) => ({ id: v.key, value: { variable_name: v.key, variable_value: v.value } })));
  return doc.toString({ lineWidth: 0 });
}
