/**
 * Python's `json.dumps` default output (separators `", "` and `": "`, `ensure_ascii=True`), which is how Airflow
 * itself writes `extra` text and how its CLI exports look. Writing the same text keeps rows envmgr writes
 * indistinguishable from rows Airflow writes.
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return asciiString(value);
    case 'number':
      if (Number.isNaN(value)) return 'NaN';
      if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object':
      if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
      return `{${Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${asciiString(k)}: ${pythonJsonDumps(v)}`)
        .join(', ')}}`;
    default:
      throw new TypeError(`cannot serialize ${typeof value} as JSON`);
  }
}

function asciiString(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
