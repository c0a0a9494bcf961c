import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { AuthError } from '../../cli/errors.js';
import { printRecord } from '../../cli/table.js';

export interface AuthStatusOptions {
  /** Skip the call that checks the token is still accepted. */
  offline: boolean;
}

export interface AuthStatus {
  domain: string;
  apiUrl: string;
  user?: string;
  /** Unknown offline when the token comes from ENVMGR_API_TOKEN and no login for the domain recorded it. */
  organizationId?: string;
  workspaceId?: string;
  tokenSource: string;
  tokenStore: string;
  tokenValid?: boolean;
}

export function registerAuthStatus(parent: Command, ctx: Context): void {
  parent
    .command('status')
    .description('show who you are logged in as, where, and where the token comes from (never the token)')
    .option('--offline', 'do not check the token with the server')
    .action(async (flags: { offline?: boolean }) => {
      await runAuthStatus(ctx, { offline: flags.offline === true });
    });
}

export async function runAuthStatus(ctx: Context, opts: AuthStatusOptions): Promise<AuthStatus> {
  const session = opts.offline ? await ctx.localSession() : await ctx.session();
  const store = await ctx.credentials();
  const status: AuthStatus = {
    domain: session.domain,
    apiUrl: session.apiUrl,
    // The stored login's user is not the environment token's: that one is known only once the server answers.
    user: session.tokenSource === 'env' ? undefined : session.user,
    organizationId: session.organizationId,
    workspaceId: session.workspaceId,
    tokenSource: session.tokenSource,
    tokenStore: store.describe(session.tokenSource),
  };
  // The local part of the status is shown whatever the server says; its error (a refused token, a server that
  // cannot be reached) follows and sets the exit code.
  let failure: unknown;
  if (!opts.offline) {
    try {
      const self = await (await ctx.api()).self();
      status.user = self.username;
      status.tokenValid = true;
    } catch (error) {
      if (error instanceof AuthError) status.tokenValid = false;
      failure = error;
    }
  }
  if (ctx.globals.json) {
    // workspaceId is null rather than left out when none is chosen, as the table says "(none …)".
    ctx.io.out(JSON.stringify({ ...status, organizationId: status.organizationId ?? null, workspaceId: status.workspaceId ?? null }, null, 2) + '\n');
  } else {
    printRecord(ctx.io, [
      ['domain', status.domain],
      ['api url', status.apiUrl],
      ['user', status.user],
      ['organization', status.organizationId ?? '(unknown offline: the server tells it for ENVMGR_API_TOKEN)'],
      ['workspace', status.workspaceId ?? '(none: run envmgr workspace switch)'],
      ['token from', status.tokenStore + (session.tokenSource === 'env' ? ' (overrides any stored login)' : '')],
      ['token valid', status.tokenValid === undefined ? (failure ? 'unknown (the server did not answer)' : 'not checked') : status.tokenValid ? 'yes' : 'no'],
    ]);
  }
  if (failure) throw failure;
  return status;
}
