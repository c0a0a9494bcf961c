/**
 * Writing JSON with bigints: envmgr reads an integer beyond 2^53 as a bigint so that it keeps every digit (see
 * pyjson's parseJsonExact), and JSON.stringify refuses bigints with a TypeError. Small and import-free, for the
 * CLI's output paths as much as for the server.
 */

/** `JSON.stringify(value, null, indent)` that writes a bigint as its digits: the writer to parseJsonExact's reader. */
export function stringifyJsonExact(value: unknown, indent?: number): string {
  return writeWithBigInts(value, (v) => JSON.stringify(v, null, indent));
}

/**
 * `write(value)` for a JSON writer that refuses bigints (JSON.stringify, or a serializer that calls it), with each
 * bigint written as its digits. A value without one costs `write` alone. With one, `write` runs on a copy of the
 * value in which each bigint is a string under a marker, and those strings are then unquoted into the digits. A
 * marker that some string of the value (or key) holds is never used: another is drawn.
 */
export function writeWithBigInts(value: unknown, write: (value: unknown) => string): string {
  try {
    return write(value);
  } catch (error) {
    if (!(error instanceof TypeError && error.message.includes('BigInt'))) throw error;
  }
  for (;;) {
    const mark = `bigint:${Math.random().toString(36).slice(2)}${Date.now().toString(36)}:`;
    const seen = { mark: false };
    const copy = markBigInts(value, mark, seen, new Set());
    if (seen.mark) continue;
    return write(copy).replace(new RegExp(`"${mark}(-?[0-9]+)"`, 'g'), '$1');
  }
}

/**
 * `value` with every bigint in its arrays and plain objects replaced by `${mark}${digits}` (a copy); `seen.mark` is
 * set if a string or key of its own holds the marker. An object met again inside itself is left as it is, for the
 * writer to refuse as circular.
 */
function markBigInts(value: unknown, mark: string, seen: { mark: boolean }, within: Set<object>): unknown {
  if (typeof value === 'bigint') return `${mark}${value}`;
  if (typeof value === 'string') {
    if (value.includes(mark)) seen.mark = true;
    return value;
  }
  if (value === null || typeof value !== 'object' || within.has(value)) return value;
  const proto: unknown = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return value;
  within.add(value);
  let out: unknown;
  if (Array.isArray(value)) out = value.map((v) => markBigInts(v, mark, seen, within));
  else {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k.includes(mark)) seen.mark = true;
      // defineProperty: also for a key such as `__proto__`, which plain assignment would not store.
      Object.defineProperty(copy, k, { value: markBigInts(v, mark, seen, within), enumerable: true, writable: true, configurable: true });
    }
    out = copy;
  }
  within.delete(value);
  return out;
}
