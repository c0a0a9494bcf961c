import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { registerLoginCommand } from './login.js';

export function registerLogin(program: Command, ctx: Context): void {
  registerLoginCommand(program, ctx);
}
