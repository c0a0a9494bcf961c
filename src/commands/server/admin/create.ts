import type { Command } from 'commander';
import type { Context } from '../../../cli/context.js';
import { UsageError } from '../../../cli/errors.js';
import { adminCall, addDatabaseOption, type AdminOptions } from './database.js';

export interface AdminCreateTokenOptions extends AdminOptions {
  organizationId: string;
  name: string;
  userId?: string;
  roles: { role: string; entityId?: string }[];
  expiresAt?: string;
}

export function registerAdminCreate(parent: Command, ctx: Context): void {
  const create = parent.command('create').description('create organizations, workspaces, deployments, users and tokens');

  addDatabaseOption(create.command('organization').description('create an organization; prints its id'))
    .requiredOption('--name <name>', 'organization name')
    .option('--secrets-fetching', 'enable Environment Secrets Fetching (showSecrets) for it')
    .action(async (flags: { name: string; secretsFetching?: boolean; databaseUrl?: string }) => {
      await adminCall(ctx, flags, (s, url) => s.adminCreateOrganization(url, { name: flags.name, environmentSecretsFetchingEnabled: flags.secretsFetching === true }));
    });

  addDatabaseOption(create.command('workspace').description('create a workspace; prints its id'))
    .requiredOption('--organization-id <id>', 'organization')
    .requiredOption('--name <name>', 'workspace name')
    .option('--description <text>', 'description')
    .action(async (flags: { organizationId: string; name: string; description?: string; databaseUrl?: string }) => {
      await adminCall(ctx, flags, (s, url) => s.adminCreateWorkspace(url, { organizationId: flags.organizationId, name: flags.name, description: flags.description }));
    });

  addDatabaseOption(create.command('deployment').description('create a deployment; prints its id'))
    .requiredOption('--workspace-id <id>', 'workspace')
    .requiredOption('--name <name>', 'deployment name')
    .option('--description <text>', 'description')
    .action(async (flags: { workspaceId: string; name: string; description?: string; databaseUrl?: string }) => {
      await adminCall(ctx, flags, (s, url) => s.adminCreateDeployment(url, { workspaceId: flags.workspaceId, name: flags.name, description: flags.description }));
    });

  addDatabaseOption(create.command('user').description('create a user; prints its id'))
    .requiredOption('--organization-id <id>', 'organization')
    .requiredOption('--username <name>', 'username')
    .option('--full-name <name>', 'full name')
    .option('--organization-role <role>', 'ORGANIZATION_OWNER or ORGANIZATION_MEMBER')
    .action(async (flags: { organizationId: string; username: string; fullName?: string; organizationRole?: string; databaseUrl?: string }) => {
      await adminCall(ctx, flags, (s, url) =>
        s.adminCreateUser(url, {
          organizationId: flags.organizationId,
          username: flags.username,
          fullName: flags.fullName,
          organizationRole: flags.organizationRole as never,
        }),
      );
    });

  addDatabaseOption(create.command('token').description('create an API token with roles; prints the token once'))
    .requiredOption('--organization-id <id>', 'organization')
    .requiredOption('--name <name>', 'token name')
    .option('--user-id <id>', 'the user the token acts for (limited to the roles given with --role)')
    .option('--role <role[:entity-id]>', 'a role, with the workspace or deployment id it applies to (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--expires-at <time>', 'expiry, e.g. 2030-01-31T00:00:00Z')
    .action(async (flags: { organizationId: string; name: string; userId?: string; role?: string[]; expiresAt?: string; databaseUrl?: string }) => {
      const roles = (flags.role ?? []).map((text) => {
        const [role, entityId] = text.split(':');
        return { role: role!, ...(entityId ? { entityId } : {}) };
      });
      if (roles.length === 0) throw new UsageError('a token needs at least one --role, e.g. --role ORGANIZATION_OWNER or --role WORKSPACE_AUTHOR:<workspace-id>');
      await runAdminCreateToken(ctx, { ...flags, roles });
    });
}

export async function runAdminCreateToken(ctx: Context, opts: AdminCreateTokenOptions): Promise<void> {
  await adminCall(
    ctx,
    opts,
    (s, url) => s.adminCreateToken(url, { organizationId: opts.organizationId, name: opts.name, userId: opts.userId, roles: opts.roles, expiresAt: opts.expiresAt }),
    (result) => {
      const created = result as { id: string; token: string };
      if (ctx.globals.json) ctx.io.out(JSON.stringify(created) + '\n');
      else {
        ctx.io.out(created.token + '\n');
        ctx.io.err(`Created token ${created.id}; this is the only time its value is shown.\n`);
      }
    },
  );
}
