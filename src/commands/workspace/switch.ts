import { refuseBlank } from '../shared/named.js';
import { neutralizeControls } from '../../cli/text-width.js';
import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { UserError } from '../../cli/errors.js';
import { findNamed, promptForItem } from '../shared/pick.js';

export interface WorkspaceSwitchOptions {
  target?: string;
}

export function registerWorkspaceSwitch(parent: Command, ctx: Context): void {
  parent
    .command('switch')
    .description('choose the workspace later commands use')
    .argument('[id-or-name]', 'the workspace (prompted for on a terminal when omitted)')
    .action(async (target: string | undefined) => {
      refuseBlank({ 'the workspace argument': target });
      await runWorkspaceSwitch(ctx, { target });
    });
}

export async function runWorkspaceSwitch(ctx: Context, opts: WorkspaceSwitchOptions): Promise<void> {
  const session = await ctx.session();
  const workspaces = await (await ctx.api()).workspaces(session.organizationId);
  if (workspaces.length === 0) throw new UserError('no workspaces found in this organization; ask an organization owner for access');
  const workspace = opts.target
    ? findNamed(workspaces, opts.target, 'workspace')
    : await promptForItem(ctx, workspaces, 'Workspace', 'an id-or-name argument', session.workspaceId);
  const settings = await ctx.config();
  await settings.saveContext(
    session.domain,
    { apiUrl: session.apiUrl, organizationId: session.organizationId, workspaceId: workspace.id, user: session.user },
    session.tokenSource !== 'env' || settings.currentDomain() === undefined,
  );
  if (ctx.globals.json) ctx.io.out(JSON.stringify(workspace, null, 2) + '\n');
  else ctx.io.err(`Switched to workspace ${neutralizeControls(workspace.name)} (${workspace.id}).\n`);
  // project.workspace (a file or ENVMGR_PROJECT_WORKSPACE) still decides for the commands that read it.
  const configured = settings.resolve('project.workspace');
  // (As findNamed matches: the id, or the name whatever its case.)
  if (configured.value && configured.value !== workspace.id && configured.value.toLowerCase() !== workspace.name.toLowerCase()) {
    const undo = configured.source === 'env' ? `unset ${configured.origin}` : `envmgr config unset${configured.source === 'global' ? ' -g' : ''} project.workspace`;
    ctx.io.err(
      `warning: project.workspace is ${JSON.stringify(configured.value)} (${settings.whence(configured)}), which wins over this choice ` +
        `for the commands run here; to use the workspace switched to: ${undo}\n`,
    );
  }
}
