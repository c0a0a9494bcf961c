import type { Command } from 'commander';
import type { Context } from '../../../cli/context.js';
import { UsageError, UserError } from '../../../cli/errors.js';

type ServerModule = typeof import('../../../server/index.js');

export interface AdminOptions {
  databaseUrl?: string;
  /** The running dev server's database (`server start --dev`, the one keeping its data, else an --ephemeral one). */
  dev?: boolean;
}

export function addDatabaseOption(command: Command): Command {
  return command
    .option('--database-url <url>', 'Postgres URL of the server (default: $ENVMGR_SERVER_DATABASE_URL, then $DATABASE_URL)')
    .option('--dev', 'the database of the running dev server (envmgr server start --dev, with or without --ephemeral)');
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
  if (opts.dev && opts.databaseUrl) throw new UsageError('--dev and --database-url name two databases; pass one');
  const server = await import('../../../server/index.js');
  let databaseUrl: string | undefined;
  let result: unknown;
  try {
    databaseUrl = opts.dev ? await server.runningDevDatabaseUrl(ctx.home) : opts.databaseUrl ?? (ctx.env.ENVMGR_SERVER_DATABASE_URL || ctx.env.DATABASE_URL);
    if (!databaseUrl) throw new UsageError('no database; pass --database-url (or --dev for the running dev server), or set ENVMGR_SERVER_DATABASE_URL');
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
