import { HttpError, type FieldError } from './errors.js';

/**
 * What JSON.parse lets through but the server must not take: a member given twice in one object (JSON.parse keeps
 * the last one silently, so what the client meant is unclear), a number beyond a double's range (JSON.parse makes it
 * Infinity, which would be stored as null), a NUL character (Postgres text, and so Airflow's `extra` column, cannot
 * hold it) and a lone UTF-16 surrogate (not Unicode: stored, it would become U+FFFD). Each is a 400 naming the field.
 */
export function checkJsonBody(text: string, value: unknown): HttpError | undefined {
  const errors: FieldError[] = [];
  checkValues(value, '', errors);
  const duplicate = firstDuplicateKey(text);
  if (duplicate) errors.push({ field: duplicate, message: 'is given more than once in its object: give each member once' });
  if (errors.length === 0) return undefined;
  return new HttpError(400, `invalid request: ${errors.map((e) => `${e.field || 'body'} ${e.message}`).join('; ')}`, errors.map((e) => ({ ...e, field: e.field || 'body' })));
}

/** The dotted path of `key` under `path`, written as the schema errors write theirs: `links[0].overrides.connection`. */
function child(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
}

// A NUL or any surrogate makes a string worth a closer look.
// eslint-disable-next-line no-control-regex -- NUL is what is looked for
const SUSPECT = /[\u0000\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const MAX_ERRORS = 20;

function stringProblem(s: string): string | undefined {
  if (!SUSPECT.test(s)) return undefined;
  if (s.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(s)) return 'is not valid Unicode (it holds a lone UTF-16 surrogate)';
  return undefined;
}

function checkValues(root: unknown, rootPath: string, errors: FieldError[]): void {
  const stack: Array<[unknown, string]> = [[root, rootPath]];
  while (stack.length > 0 && errors.length < MAX_ERRORS) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      const problem = stringProblem(value);
      if (problem) errors.push({ field: path, message: problem });
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) errors.push({ field: path, message: 'is a number beyond the range of a double (about 1.8e308)' });
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], child(path, i)]);
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, member] = entries[i]!;
        const keyProblem = stringProblem(key);
        // The key itself cannot go in the path: it is what is wrong.
        if (keyProblem) errors.push({ field: path, message: `has a member name that ${keyProblem}` });
        else stack.push([member, child(path, key)]);
      }
    }
  }
}

interface Frame {
  object: boolean;
  path: string;
  keys?: Set<string>;
  /** In an object: the member being read; in an array: the index. */
  at: string | number;
  expectKey: boolean;
}

/**
 * The path of the first member that appears twice in one object of `text`, which JSON.parse has already accepted
 * (so the scan can trust the syntax).
 */
export function firstDuplicateKey(text: string): string | undefined {
  // Fewer than two members anywhere: nothing can repeat.
  if (text.indexOf(',') < 0) return undefined;
  const stack: Frame[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i++;
      let escaped = false;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i += 2;
          continue;
        }
        if (d === 0x22) break;
        i++;
      }
      const frame = stack[stack.length - 1];
      if (frame?.object && frame.expectKey) {
        const raw = text.slice(start, i + 1);
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        frame.keys ??= new Set();
        if (frame.keys.has(key)) return child(frame.path, key);
        frame.keys.add(key);
        frame.at = key;
        frame.expectKey = false;
      }
      i++;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const parent = stack[stack.length - 1];
      const path = parent ? child(parent.path, parent.at) : '';
      stack.push({ object: c === 0x7b, path, at: 0, expectKey: c === 0x7b });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const frame = stack[stack.length - 1];
      if (frame) {
        if (frame.object) frame.expectKey = true;
        else frame.at = (frame.at as number) + 1;
      }
    }
    i++;
  }
  return undefined;
}
