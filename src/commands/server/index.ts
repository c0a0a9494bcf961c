import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { registerServerAdmin } from './admin/index.js';
import { registerServerStart } from './start.js';

export function registerServer(program: Command, ctx: Context): void {
  const server = program.command('server').description('run an Environment Manager server and administer it');
  registerServerStart(server, ctx);
  registerServerAdmin(server, ctx);
}
