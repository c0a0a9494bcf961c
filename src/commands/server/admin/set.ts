import type { Command } from 'commander';
import type { Context } from '../../../cli/context.js';
import { UsageError } from '../../../cli/errors.js';
import { adminCall, addDatabaseOption } from './database.js';

export function registerAdminSet(parent: Command, ctx: Context): void {
  const set = parent.command('set').description('change settings');
  addDatabaseOption(set.command('organization').description("change an organization's name or Environment Secrets Fetching"))
    .requiredOption('--organization-id <id>', 'organization')
    .option('--name <name>', 'new name')
    .option('--secrets-fetching', 'enable Environment Secrets Fetching')
    .option('--no-secrets-fetching', 'disable Environment Secrets Fetching')
    .action(async (flags: { organizationId: string; name?: string; secretsFetching?: boolean; databaseUrl?: string }) => {
      if (flags.name === undefined && flags.secretsFetching === undefined) throw new UsageError('nothing to change; pass --name or --secrets-fetching / --no-secrets-fetching');
      await adminCall(
        ctx,
        flags,
        (s, url) => s.adminSetOrganization(url, { organizationId: flags.organizationId, name: flags.name, environmentSecretsFetchingEnabled: flags.secretsFetching }),
        () => ctx.io.err(`Updated organization ${flags.organizationId}.\n`),
      );
    });
}
