import type { IO } from './io.js';
import { stringifyJsonExact } from '../airflow/exact-json.js';

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
 * Prints rows: on a terminal with a bold header, padded columns fitted to the width; otherwise one
 * tab-separated line per row with no header decoration and no colour, for `cut` and `awk`.
 */
export function printTable<R>(io: IO, columns: Column<R>[], rows: R[]): void {
  const cells = rows.map((row) => columns.map((c) => cellText(c.value(row))));
  if (!io.isTTY) {
    for (const line of cells) io.out(line.join('\t') + '\n');
    return;
  }
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  fitToWidth(widths, columns, io.columns);
  const render = (values: string[]) => values.map((v, i) => clip(v, widths[i]!).padEnd(widths[i]!)).join('  ').trimEnd();
  const header = render(columns.map((c) => c.header));
  io.out((io.color ? BOLD + header + RESET : header) + '\n');
  for (const line of cells) io.out(render(line) + '\n');
}

/** Prints a record as aligned `field  value` lines (the table form of a single object). */
export function printRecord(io: IO, fields: [string, string | number | boolean | null | undefined][]): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [key, value] of fields) {
    const label = io.isTTY ? key.padEnd(width) : key;
    const name = io.color ? DIM + label + RESET : label;
    io.out(`${name}${io.isTTY ? '  ' : '\t'}${cellText(value)}\n`);
  }
}

function cellText(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(/[\t\n\r]/g, ' ');
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : text.slice(0, Math.max(1, width - 1)) + '…';
}

function fitToWidth(widths: number[], columns: Column<unknown>[] | Column<never>[], total: number): void {
  const used = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  const shrinkable = columns.map((c, i) => (c.truncate ? i : -1)).filter((i) => i >= 0);
  while (used() > total && shrinkable.length > 0) {
    const widest = shrinkable.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
    if (widths[widest]! <= 8) break;
    widths[widest] = widths[widest]! - 1;
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
