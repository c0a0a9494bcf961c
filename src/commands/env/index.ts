import type { Command } from 'commander';
import type { Context } from '../../cli/context.js';
import { registerEnvCreate } from './create.js';
import { registerEnvDelete } from './delete.js';
import { registerEnvGet } from './get.js';
import { AIRFLOW_VARIABLE, CONNECTION, type EnvKind } from './kinds.js';
import { registerEnvLinkCreate } from './link-create.js';
import { registerEnvLinkDelete } from './link-delete.js';
import { registerEnvList } from './list.js';
import { registerEnvUpdate } from './update.js';

export function registerEnv(program: Command, ctx: Context): void {
  const env = program.command('env').description('manage connections and Airflow variables on the Environment Manager');
  for (const [kind, description] of [
    [CONNECTION, 'Airflow connections'],
    [AIRFLOW_VARIABLE, 'Airflow variables'],
  ] as [EnvKind, string][]) {
    const group = env.command(kind.command).description(description);
    registerEnvList(group, ctx, kind);
    registerEnvGet(group, ctx, kind);
    registerEnvCreate(group, ctx, kind);
    registerEnvUpdate(group, ctx, kind);
    registerEnvDelete(group, ctx, kind);
    const link = group.command('link').description(`link workspace ${kind.noun}s to deployments, with overrides`);
    registerEnvLinkCreate(link, ctx, kind);
    registerEnvLinkDelete(link, ctx, kind);
  }
}
