import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';

export function registerServer(program: Command, _ctx: Context): void {
  program.command('server').description('run an Environment Manager server and administer it');
}
