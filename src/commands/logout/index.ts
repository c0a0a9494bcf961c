import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { registerLogoutCommand } from './logout.js';

export function registerLogout(program: Command, ctx: Context): void {
  registerLogoutCommand(program, ctx);
}
