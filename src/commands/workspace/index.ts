import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { registerWorkspaceList } from './list.js';
import { registerWorkspaceSwitch } from './switch.js';

export function registerWorkspace(program: Command, ctx: Context): void {
  const workspace = program.command('workspace').description('list workspaces and choose the current one');
  registerWorkspaceList(workspace, ctx);
  registerWorkspaceSwitch(workspace, ctx);
}
