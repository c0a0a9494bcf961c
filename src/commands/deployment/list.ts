import { refuseBlank } from '../shared/named.js';
import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { UsageError, UserError } from '../../cli/errors.js';
import { handleEmptyList, printTable, type Column } from '../../cli/table.js';
import type { Deployment } from '../../api/types.js';
import { findByIdOrName } from '../shared/pick.js';

export interface DeploymentListOptions {
  all: boolean;
  workspaceId?: string;
}

export function registerDeploymentList(parent: Command, ctx: Context): void {
  parent
    .command('list')
    .alias('ls')
    .description("list the current workspace's deployments (or all of the organization's with --all)")
    .option('-a, --all', 'every workspace of the organization')
    .option('-w, --workspace-id <id-or-name>', 'this workspace instead of the current one')
    .action(async (flags: { all?: boolean; workspaceId?: string }) => {
      refuseBlank({ '--workspace-id': flags.workspaceId });
      if (flags.all && flags.workspaceId) throw new UsageError('--all and --workspace-id are mutually exclusive; pass one');
      await runDeploymentList(ctx, { all: flags.all === true, workspaceId: flags.workspaceId });
    });
}

export async function runDeploymentList(ctx: Context, opts: DeploymentListOptions): Promise<void> {
  const session = await ctx.session();
  const api = await ctx.api();
  let filter: { workspaceIds?: string[] } = {};
  if (!opts.all) {
    const wanted = await ctx.workspaceChoice(opts.workspaceId, 'or --all for every workspace');
    // An id or a name, as `workspace switch` takes; one that matches no workspace is an error, not an empty list.
    const workspaces = await api.workspaces(session.organizationId);
    try {
      filter = { workspaceIds: [findByIdOrName(workspaces, wanted.id, 'workspace').id] };
    } catch (error) {
      // A value the user did not type here: say where it is set, which also wins over `workspace switch`.
      if (error instanceof UserError && wanted.configuredIn) {
        throw new UserError(`${error.message} (from ${wanted.configuredIn}, which wins over envmgr workspace switch; change it with envmgr config set or unset)`);
      }
      throw error;
    }
  }
  const deployments = await api.deployments(session.organizationId, filter);
  const where = opts.all ? 'this organization' : 'this workspace';
  if (handleEmptyList(ctx.io, ctx.globals.json, deployments, `No deployments found in ${where}.`)) return;
  if (ctx.globals.json) {
    ctx.io.out(JSON.stringify(deployments, null, 2) + '\n');
    return;
  }
  // The columns of `astro deployment list`, so eyes and scripts used to Astro find the same things.
  const columns: Column<Deployment>[] = [
    { header: 'NAME', value: (d) => d.name, truncate: true },
    ...(opts.all ? [{ header: 'WORKSPACE', value: (d: Deployment) => d.workspaceName ?? d.workspaceId, truncate: true }] : []),
    { header: 'NAMESPACE', value: (d) => d.namespace },
    { header: 'CLUSTER', value: (d) => d.clusterName ?? 'N/A' },
    { header: 'CLOUD PROVIDER', value: (d) => d.cloudProvider ?? 'N/A' },
    { header: 'REGION', value: (d) => d.region ?? 'N/A' },
    { header: 'DEPLOYMENT ID', value: (d) => d.id },
    { header: 'RUNTIME VERSION', value: (d) => `${d.runtimeVersion} (based on Airflow ${d.airflowVersion})` },
    { header: 'DAG DEPLOY ENABLED', value: (d) => d.isDagDeployEnabled },
    { header: 'CI-CD ENFORCEMENT', value: (d) => d.isCicdEnforced },
    { header: 'DEPLOYMENT TYPE', value: (d) => d.type },
  ];
  printTable(ctx.io, columns, deployments);
}
