import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { registerDeploymentList } from './list.js';

export function registerDeployment(program: Command, ctx: Context): void {
  const deployment = program.command('deployment').description("list deployments (the current workspace's, or the organization's with --all)");
  registerDeploymentList(deployment, ctx);
}
