import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';

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

export interface LogoutResult {
  /** The domain logged out of; null when there was no login at all. */
  domain: string | null;
  removed: boolean;
  /** The login that became the current one, when the current one was removed and another remains. */
  current?: string;
}

export async function runLogout(ctx: Context, opts: LogoutOptions): Promise<LogoutResult> {
  const settings = await ctx.config();
  let domain = settings.currentDomain();
  if (opts.target) {
    const { resolveEndpoint } = await import('../../api/url.js');
    domain = resolveEndpoint(opts.target).domain;
  }
  let result: LogoutResult;
  if (!domain) {
    // Nothing to forget is not a failure: the same note and exit 0 as for a domain one is not logged in to.
    result = { domain: null, removed: false };
    if (ctx.globals.json) ctx.io.out(JSON.stringify(result) + '\n');
    else ctx.io.err('Not logged in anywhere; nothing to do.\n');
  } else {
    const wasCurrent = settings.currentDomain() === domain;
    const hadToken = await (await ctx.credentials()).delete(domain);
    const hadContext = settings.context(domain) !== undefined;
    if (hadContext) await settings.removeContext(domain);
    const removed = hadToken || hadContext;
    const next = wasCurrent && hadContext ? settings.currentDomain() : undefined;
    result = { domain, removed, ...(next ? { current: next } : {}) };
    if (ctx.globals.json) ctx.io.out(JSON.stringify(result) + '\n');
    else {
      ctx.io.err(removed ? `Logged out of ${domain}.\n` : `Not logged in to ${domain}; nothing to do.\n`);
      if (next) ctx.io.err(`Now using ${next}.\n`);
    }
  }
  if (ctx.env.ENVMGR_API_TOKEN) ctx.log.warn('ENVMGR_API_TOKEN is still set in the environment and keeps working');
  return result;
}
