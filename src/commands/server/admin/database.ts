import type { Command } from 'commander';
import type { Context } from '../../../cli/context.js';
import { UsageError, UserError } from '../../../cli/errors.js';

type ServerModule = typeof import('../../../server/index.js');

export interface AdminOptions {
  databaseUrl?: string;
}

export function addDatabaseOption(command: Command): Command {
  return command.option('--database-url <url>', 'Postgres URL of the server (default: $ENVMGR_SERVER_DATABASE_URL, then $DATABASE_URL)');
}

/**
 * Runs one admin function straight on the server's database (loaded lazily: pg and the server are heavy) and
 * prints what it returns: an id alone on stdout, or JSON with `--json`.
 */
export async function adminCall(
  ctx: Context,
  opts: AdminOptions,
  work: (server: ServerModule, databaseUrl: string) => Promise<unknown>,
  print?: (result: unknown) => void,
): Promise<void> {
  const databaseUrl = opts.databaseUrl ?? (ctx.env.ENVMGR_SERVER_DATABASE_URL || ctx.env.DATABASE_URL);
  if (!databaseUrl) throw new UsageError('no database; pass --database-url or set ENVMGR_SERVER_DATABASE_URL');
  const server = await import('../../../server/index.js');
  let result: unknown;
  try {
    result = await work(server, databaseUrl);
  } catch (error) {
    if (error instanceof server.ServerAdminError) throw new UserError(error.message);
    const code = (error as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === '28P01' || code === '3D000') {
      throw new UserError(`cannot use the database (${(error as Error).message}); check --database-url`);
    }
    throw error;
  }
  if (print) print(result);
  else if (ctx.globals.json || typeof result !== 'object' || result === null || !('id' in result)) ctx.io.out(JSON.stringify(result ?? { ok: true }, null, 2) + '\n');
  else ctx.io.out(String((result as { id: string }).id) + '\n');
}
