import type { Command } from 'commander';
import type { Context } from '../../../cli/context.js';
import { registerAdminCreate } from './create.js';
import { registerAdminList } from './list.js';
import { registerAdminSet } from './set.js';

export function registerServerAdmin(parent: Command, ctx: Context): void {
  const admin = parent.command('admin').description("bootstrap the server: works straight on its database (--database-url)");
  registerAdminCreate(admin, ctx);
  registerAdminSet(admin, ctx);
  registerAdminList(admin, ctx);
}
