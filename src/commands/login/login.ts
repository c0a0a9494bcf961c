import { refuseBlank } from '../shared/named.js';
import { neutralizeControls } from '../../cli/text-width.js';
import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { AuthError, UsageError } from '../../cli/errors.js';
import { readAll } from '../../cli/io.js';
import type { Organization, Workspace } from '../../api/types.js';
import { findByIdOrName, promptForItem } from '../shared/pick.js';

export interface LoginOptions {
  target?: string;
  tokenLogin?: string;
  withToken: boolean;
  workspaceId?: string;
}

export interface LoginResult {
  domain: string;
  apiUrl: string;
  user: string;
  organizationId: string;
  organizationName?: string;
  workspaceId?: string;
  workspaceName?: string;
  credentialStore: string;
}

export function registerLoginCommand(program: Command, ctx: Context): void {
  program
    .command('login')
    .description('log in to an Environment Manager and choose the organization and workspace')
    .argument('[domain-or-url]', 'e.g. astronomer.io or http://localhost:8080 (default: the current one)')
    .option('--token-login <token>', 'log in with this API token (visible in the process list: prefer --with-token)')
    .option('--with-token', 'read the API token from stdin')
    .option('--workspace-id <id-or-name>', 'the workspace to use')
    .action(async (target: string | undefined, flags: { tokenLogin?: string; withToken?: boolean; workspaceId?: string }) => {
      refuseBlank({ '--workspace-id': flags.workspaceId });
      if (flags.tokenLogin !== undefined && flags.withToken) throw new UsageError('--token-login and --with-token are mutually exclusive; pass one');
      await runLogin(ctx, { target, tokenLogin: flags.tokenLogin, withToken: flags.withToken === true, workspaceId: flags.workspaceId });
    });
}

export async function runLogin(ctx: Context, opts: LoginOptions): Promise<LoginResult> {
  const { resolveEndpoint } = await import('../../api/url.js');
  const settings = await ctx.config();
  if (ctx.env.ENVMGR_API_TOKEN) ctx.log.warn('ENVMGR_API_TOKEN is set and overrides the login saved here; unset it to use this login');
  const target =
    opts.target ??
    ctx.env.ENVMGR_DOMAIN ??
    settings.currentDomain() ??
    (await ctx.prompter.input('Domain or URL of the Environment Manager', { flag: 'a domain-or-url argument' }));
  const endpoint = resolveEndpoint(target);

  const token = (await readToken(ctx, opts, endpoint.apiUrl)).trim();
  if (token === '') throw new UsageError('empty token; pass a token with --token-login or on stdin with --with-token');
  ctx.log.addSecret(token);

  const client = await ctx.createApiClient(endpoint.apiUrl, token, 'check the token and run envmgr login again');
  const self = await client.self().catch((error: unknown) => {
    if (error instanceof AuthError) {
      throw new AuthError(`the token was not accepted by ${endpoint.apiUrl}${error.reason ? ` (${error.reason})` : ''}; check the token and run envmgr login again`);
    }
    throw error;
  });
  const organization = await client.organizations().then(
    (orgs: Organization[]) => orgs.find((o) => o.id === self.organizationId),
    () => undefined,
  );
  const workspaces = await client.workspaces(self.organizationId);
  // A re-login (e.g. a CI job rotating its token) keeps the workspace chosen before, if it is still there.
  const previous = settings.context(endpoint.domain);
  const kept = previous?.organizationId === self.organizationId ? previous.workspaceId : undefined;
  const workspace = await chooseWorkspace(ctx, workspaces, opts.workspaceId, kept);

  const stored = await (await ctx.credentials()).set(endpoint.domain, token);
  await settings.saveContext(
    endpoint.domain,
    { apiUrl: endpoint.apiUrl, organizationId: self.organizationId, workspaceId: workspace?.id, user: self.username },
    true,
  );

  const result: LoginResult = {
    domain: endpoint.domain,
    apiUrl: endpoint.apiUrl,
    user: self.username,
    organizationId: self.organizationId,
    organizationName: organization?.name,
    workspaceId: workspace?.id,
    workspaceName: workspace?.name,
    credentialStore: stored.source,
  };
  if (ctx.globals.json) {
    ctx.io.out(JSON.stringify(result, null, 2) + '\n');
  } else {
    ctx.io.err(`Logged in to ${endpoint.domain} as ${neutralizeControls(self.username)} (organization ${neutralizeControls(organization?.name ?? self.organizationId)}).\n`);
    ctx.io.err(`Token stored in the ${stored.location}.\n`);
  }
  if (workspace) {
    if (!ctx.globals.json) ctx.io.err(`Workspace: ${neutralizeControls(workspace.name)} (${workspace.id})\n`);
  } else if (workspaces.length === 0) {
    ctx.log.warn('this organization has no workspace you can see; ask an organization owner for access');
  } else {
    ctx.log.warn(`${workspaces.length} workspaces are available and none was chosen; run envmgr workspace switch <id-or-name> (or log in with --workspace-id)`);
  }
  return result;
}

async function readToken(ctx: Context, opts: LoginOptions, apiUrl: string): Promise<string> {
  if (opts.tokenLogin !== undefined) return opts.tokenLogin;
  if (opts.withToken) return readAll(ctx.io.in);
  const flag = '--with-token (token on stdin) or --token-login <token>';
  if (!ctx.prompter.canPrompt) return ctx.prompter.secret('API token', { flag });
  const { deviceLogin } = await import('./device.js');
  const fromDevice = await deviceLogin(ctx, await ctx.createApiClient(apiUrl, undefined));
  return fromDevice ?? ctx.prompter.secret('API token', { flag });
}

async function chooseWorkspace(
  ctx: Context,
  workspaces: Workspace[],
  wanted: string | undefined,
  previous: string | undefined,
): Promise<Workspace | undefined> {
  if (wanted) return findByIdOrName(workspaces, wanted, 'workspace');
  if (workspaces.length === 1) return workspaces[0];
  if (workspaces.length === 0) return undefined;
  if (!ctx.prompter.canPrompt) return workspaces.find((w) => w.id === previous);
  return promptForItem(ctx, workspaces, 'Workspace', '--workspace-id');
}
