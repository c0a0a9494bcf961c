import type { IO } from './io.js';
import { stringifyJsonExact } from '../airflow/exact-json.js';
import { clipToWidth, displayWidth, neutralizeControls, padToWidth } from './text-width.js';

export interface Column<R> {
  header: string;
  value: (row: R) => string | number | boolean | null | undefined;
  /** May be shortened with an ellipsis when the terminal is narrow. */
  truncate?: boolean;
}

const BOLD = '\u001b[1m';
const DIM = '\u001b[2m';
const RESET = '\u001b[0m';

/**
 * Prints rows: on a terminal with a bold header, padded columns fitted to the width (see fitToWidth), control
 * characters made visible; otherwise one tab-separated line per row with no header decoration and no colour, for
 * `cut` and `awk`.
 */
export function printTable<R>(io: IO, columns: Column<R>[], rows: R[]): void {
  if (!io.isTTY) {
    for (const row of rows) io.out(columns.map((c) => cellText(c.value(row))).join('\t') + '\n');
    return;
  }
  const cells = rows.map((row) => columns.map((c) => neutralizeControls(cellText(c.value(row)))));
  const widths = columns.map((c) => displayWidth(c.header));
  for (const line of cells) {
    for (let i = 0; i < line.length; i++) widths[i] = Math.max(widths[i]!, displayWidth(line[i]!));
  }
  fitToWidth(widths, columns, io.columns);
  const render = (values: string[]) => values.map((v, i) => padToWidth(clipToWidth(v, widths[i]!), widths[i]!)).join('  ').trimEnd();
  const header = render(columns.map((c) => c.header));
  io.out((io.color ? BOLD + header + RESET : header) + '\n');
  for (const line of cells) io.out(render(line) + '\n');
}

/** Prints a record as aligned `field  value` lines (the table form of a single object). */
export function printRecord(io: IO, fields: [string, string | number | boolean | null | undefined][]): void {
  let width = 0;
  for (const [key] of fields) width = Math.max(width, displayWidth(key));
  for (const [key, value] of fields) {
    const label = io.isTTY ? padToWidth(key, width) : key;
    const name = io.color ? DIM + label + RESET : label;
    const text = cellText(value);
    io.out(`${name}${io.isTTY ? '  ' : '\t'}${io.isTTY ? neutralizeControls(text) : text}\n`);
  }
}

function cellText(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(/[\t\n\r]/g, ' ');
}

/** Columns a truncatable column keeps at the least. */
const MIN_TRUNCATED = 8;

/**
 * Narrows the truncatable columns, widest first, until the table fits the terminal, but only when it can: a table
 * that would wrap even then is more use with every value whole than wrapped and cut as well.
 */
function fitToWidth(widths: number[], columns: ReadonlyArray<Column<never>> | ReadonlyArray<Column<unknown>>, total: number): void {
  let used = 2 * (widths.length - 1);
  let floor = used;
  for (let i = 0; i < widths.length; i++) {
    used += widths[i]!;
    floor += columns[i]!.truncate ? Math.min(widths[i]!, MIN_TRUNCATED) : widths[i]!;
  }
  if (used <= total || floor > total) return;
  const shrinkable = columns.map((c, i) => (c.truncate ? i : -1)).filter((i) => i >= 0);
  for (let excess = used - total; excess > 0; excess--) {
    const widest = shrinkable.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
    widths[widest]!--;
  }
}

/** `--json` output: the value alone on stdout. */
export function printJson(io: IO, value: unknown): void {
  io.out(stringifyJsonExact(value, 2) + '\n');
}

/**
 * The list contract: `[]` with `--json`, a friendly line on stderr otherwise; exit 0 either way.
 * Returns true when the list was empty and has been handled.
 */
export function handleEmptyList(io: IO, json: boolean, items: unknown[], message: string): boolean {
  if (items.length > 0) return false;
  if (json) io.out('[]\n');
  else io.err(message + '\n');
  return true;
}
