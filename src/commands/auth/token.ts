import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';

export function registerAuthToken(parent: Command, ctx: Context): void {
  parent
    .command('token')
    .description('print the API token of the current login (for scripts)')
    .action(async () => {
      await runAuthToken(ctx);
    });
}

export async function runAuthToken(ctx: Context): Promise<void> {
  const session = await ctx.session();
  if (ctx.globals.json) ctx.io.out(JSON.stringify({ token: session.token }) + '\n');
  else ctx.io.out(session.token + '\n');
}
