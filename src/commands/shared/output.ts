import type { Context } from '../../cli/context.js';
import { UsageError } from '../../cli/errors.js';
import { stringifyJsonExact } from '../../airflow/exact-json.js';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

/** `--format` wins, then the global `--json`; a contradiction between them is a usage error. */
export function chooseFormat(ctx: Context, format: string | undefined): OutputFormat {
  if (format !== undefined && !OUTPUT_FORMATS.includes(format as OutputFormat)) {
    throw new UsageError(`invalid --format "${format}"; valid formats: ${OUTPUT_FORMATS.join(', ')}`);
  }
  if (ctx.globals.json && format !== undefined && format !== 'json') {
    throw new UsageError(`--json and --format ${format} contradict each other; pass only one`);
  }
  return (format as OutputFormat | undefined) ?? (ctx.globals.json ? 'json' : 'table');
}

/** Prints a value as JSON or YAML (YAML loaded only here). */
export async function printData(ctx: Context, format: 'json' | 'yaml', value: unknown): Promise<void> {
  if (format === 'json') {
    ctx.io.out(stringifyJsonExact(value, 2) + '\n');
    return;
  }
  const { stringify } = await import('yaml');
  ctx.io.out(stringify(value));
}

/** ISO time → `2026-01-02 15:04` for tables. */
export function shortTime(value: string | undefined): string {
  return value ? value.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, '') : '';
}
