import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { UserError } from '../../cli/errors.js';

export interface LogoutOptions {
  target?: string;
}

export function registerLogoutCommand(program: Command, ctx: Context): void {
  program
    .command('logout')
    .description('forget the token and settings of an Environment Manager login')
    .argument('[domain]', 'the domain or URL to log out of (default: the current one)')
    .action(async (target: string | undefined) => {
      await runLogout(ctx, { target });
    });
}

export async function runLogout(ctx: Context, opts: LogoutOptions): Promise<{ domain: string; removed: boolean }> {
  const settings = await ctx.config();
  let domain = settings.currentDomain();
  if (opts.target) {
    const { resolveEndpoint } = await import('../../api/url.js');
    domain = resolveEndpoint(opts.target).domain;
  }
  if (!domain) throw new UserError('not logged in anywhere; nothing to do');
  const hadToken = await (await ctx.credentials()).delete(domain);
  const hadContext = settings.context(domain) !== undefined;
  if (hadContext) await settings.removeContext(domain);
  const removed = hadToken || hadContext;
  if (ctx.globals.json) ctx.io.out(JSON.stringify({ domain, removed }) + '\n');
  else ctx.io.err(removed ? `Logged out of ${domain}.\n` : `Not logged in to ${domain}; nothing to do.\n`);
  if (ctx.env.ENVMGR_API_TOKEN) ctx.log.warn('ENVMGR_API_TOKEN is still set in the environment and keeps working');
  return { domain, removed };
}
