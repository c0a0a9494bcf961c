import type { Command } from 'commander';
import type { Context } from '../../../cli/context.js';
import { UsageError } from '../../../cli/errors.js';
import { handleEmptyList, printTable } from '../../../cli/table.js';
import { adminCall, addDatabaseOption } from './database.js';

const KINDS = ['organizations', 'workspaces', 'deployments', 'tokens', 'users'] as const;

export function registerAdminList(parent: Command, ctx: Context): void {
  addDatabaseOption(parent.command('list').description('list what the server holds (tokens without their values)'))
    .argument('<what>', KINDS.join(', '))
    .option('--organization-id <id>', 'only this organization')
    .option('--workspace-id <id>', 'only this workspace (deployments)')
    .action(async (what: string, flags: { organizationId?: string; workspaceId?: string; databaseUrl?: string }) => {
      if (!KINDS.includes(what as (typeof KINDS)[number])) throw new UsageError(`cannot list "${what}"; valid: ${KINDS.join(', ')}`);
      await adminCall(
        ctx,
        flags,
        (s, url) => s.adminList(url, what as (typeof KINDS)[number], { organizationId: flags.organizationId, workspaceId: flags.workspaceId }),
        (result) => {
          const rows = result as Record<string, unknown>[];
          if (handleEmptyList(ctx.io, ctx.globals.json, rows, `No ${what}.`)) return;
          if (ctx.globals.json) {
            ctx.io.out(JSON.stringify(rows, null, 2) + '\n');
            return;
          }
          printTable(
            ctx.io,
            [
              { header: 'ID', value: (r) => String(r.id) },
              { header: 'NAME', value: (r) => String(r.name ?? r.username ?? ''), truncate: true },
              { header: 'ORGANIZATION', value: (r) => String(r.organizationId ?? '') },
              { header: 'DETAIL', value: (r) => detail(r), truncate: true },
            ],
            rows,
          );
        },
      );
    });
}

function detail(row: Record<string, unknown>): string {
  if (Array.isArray(row.roles)) return (row.roles as { role: string; entityId?: string }[]).map((r) => (r.entityId ? `${r.role}:${r.entityId}` : r.role)).join(' ');
  if (typeof row.workspaceId === 'string') return `workspace ${row.workspaceId}`;
  if (typeof row.environmentSecretsFetchingEnabled === 'boolean') return `secrets fetching ${row.environmentSecretsFetchingEnabled ? 'on' : 'off'}`;
  return String(row.organizationRole ?? '');
}
