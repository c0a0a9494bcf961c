import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { registerAuthStatus } from './status.js';
import { registerAuthToken } from './token.js';

export function registerAuth(program: Command, ctx: Context): void {
  const auth = program.command('auth').description('show and use the current login');
  registerAuthStatus(auth, ctx);
  registerAuthToken(auth, ctx);
}
