import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { registerCompletionCommand } from './completion.js';

export function registerCompletion(program: Command, ctx: Context): void {
  registerCompletionCommand(program, ctx);
}
