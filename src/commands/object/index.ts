import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { registerObjectExport } from './export.js';
import { registerObjectImport } from './import.js';

/** Attaches `import` and `export` to a parent: `envmgr object …` and its alias `envmgr dev object …`. */
export function attachObjectCommands(group: Command, ctx: Context): void {
  registerObjectImport(group, ctx);
  registerObjectExport(group, ctx);
}

export function registerObject(program: Command, ctx: Context): void {
  attachObjectCommands(program.command('object').description('move Airflow objects between the local metadata database and files'), ctx);
}
