import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { handleEmptyList, printTable } from '../../cli/table.js';

export function registerWorkspaceList(parent: Command, ctx: Context): void {
  parent
    .command('list')
    .alias('ls')
    .description('list the workspaces of the organization you can see')
    .action(async () => {
      await runWorkspaceList(ctx);
    });
}

export async function runWorkspaceList(ctx: Context): Promise<void> {
  const session = await ctx.session();
  const workspaces = await (await ctx.api()).workspaces(session.organizationId);
  if (handleEmptyList(ctx.io, ctx.globals.json, workspaces, 'No workspaces found in this organization.')) return;
  if (ctx.globals.json) {
    ctx.io.out(JSON.stringify(workspaces.map((w) => ({ ...w, current: w.id === session.workspaceId })), null, 2) + '\n');
    return;
  }
  printTable(
    ctx.io,
    [
      { header: 'NAME', value: (w) => w.name, truncate: true },
      { header: 'ID', value: (w) => w.id },
      { header: 'CURRENT', value: (w) => (w.id === session.workspaceId ? 'true' : 'false') },
    ],
    workspaces,
  );
}
