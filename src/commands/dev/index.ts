import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { attachObjectCommands } from '../object/index.js';
import { registerDevStart } from './start.js';

export function registerDev(program: Command, ctx: Context): void {
  const dev = program.command('dev').description('the local Airflow: sync connections, variables and pools into its metadata database');
  registerDevStart(dev, ctx);
  attachObjectCommands(dev.command('object').description('alias of envmgr object'), ctx);
}
