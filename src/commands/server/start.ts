import type { Command } from 'commander';
import type { Writable } from 'node:stream';
import { Writable as NodeWritable } from 'node:stream';
import type { Context } from '../../cli/context.js';
import { UsageError, UserError } from '../../cli/errors.js';

export interface ServerStartOptions {
  host: string;
  port: number;
  databaseUrl?: string;
  masterKeyFile?: string;
  dev: boolean;
  ephemeral: boolean;
  devToken?: string;
}

export function registerServerStart(parent: Command, ctx: Context): void {
  parent
    .command('start')
    .description('run the Environment Manager API (--dev: embedded Postgres, demo data and an owner token)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', '8080')
    .option('--database-url <url>', 'Postgres URL (default: $ENVMGR_SERVER_DATABASE_URL, then $DATABASE_URL)')
    .option('--master-key-file <path>', 'file with the base64 master key (default: $ENVMGR_SERVER_MASTER_KEY)')
    .option('--dev', 'development server: embedded Postgres under $ENVMGR_HOME/dev-server, seeded demo organization')
    .option('--ephemeral', 'with --dev: a throwaway database in a temporary directory')
    .option('--dev-token <token>', 'with --dev: fix the owner token (visible in the process list: prefer $ENVMGR_DEV_TOKEN; default: generated)')
    .action(async (flags: { host: string; port: string; databaseUrl?: string; masterKeyFile?: string; dev?: boolean; ephemeral?: boolean; devToken?: string }) => {
      const port = Number(flags.port);
      if (!/^\d+$/.test(flags.port) || port > 65535) throw new UsageError(`invalid --port "${flags.port}"; use a number from 0 to 65535`);
      if (!flags.dev && (flags.ephemeral || flags.devToken)) throw new UsageError('--ephemeral and --dev-token need --dev');
      if (flags.dev && (flags.databaseUrl || flags.masterKeyFile)) throw new UsageError('--dev brings its own database and key; drop --database-url and --master-key-file');
      await runServerStart(ctx, {
        host: flags.host,
        port,
        databaseUrl: flags.databaseUrl,
        masterKeyFile: flags.masterKeyFile,
        dev: flags.dev === true,
        ephemeral: flags.ephemeral === true,
        devToken: flags.devToken,
      });
    });
}

/**
 * stderr carries the server's log, JSON lines only (which never hold a secret or token), its stop included; the
 * command's data, where it listens and the dev owner token, goes to stdout.
 */
export async function runServerStart(ctx: Context, opts: ServerStartOptions): Promise<void> {
  const server = await import('../../server/index.js');
  const logStream = lineWriter((line) => ctx.io.err(line));
  let running: { url: string; close(): Promise<void> };
  const databaseUrl = opts.databaseUrl ?? (ctx.env.ENVMGR_SERVER_DATABASE_URL || ctx.env.DATABASE_URL);
  const databaseFrom = opts.databaseUrl ? '--database-url' : ctx.env.ENVMGR_SERVER_DATABASE_URL ? 'ENVMGR_SERVER_DATABASE_URL' : 'DATABASE_URL';
  try {
    if (opts.dev) {
      const devToken = opts.devToken ?? (ctx.env.ENVMGR_DEV_TOKEN || undefined);
      const dev = await server.startDevServer({ home: ctx.home, ephemeral: opts.ephemeral, devToken, host: opts.host, port: opts.port, logStream });
      running = dev;
      announceDev(ctx, dev, opts.ephemeral);
    } else {
      if (!databaseUrl) throw new UsageError('no database; pass --database-url or set ENVMGR_SERVER_DATABASE_URL (or use --dev for a local trial)');
      running = await server.startServer({ host: opts.host, port: opts.port, databaseUrl, masterKeyFile: opts.masterKeyFile, logStream });
      if (ctx.globals.json) ctx.io.out(JSON.stringify({ url: running.url }) + '\n');
      else ctx.io.out(`Environment Manager listening on ${running.url}\n`);
    }
  } catch (error) {
    if (error instanceof server.MasterKeyError || error instanceof server.ServerAdminError) throw new UserError(error.message);
    const listenProblem = LISTEN_ERRORS[(error as NodeJS.ErrnoException).code ?? ''];
    if (listenProblem) throw new UserError(`cannot listen on ${opts.host}:${opts.port}: ${listenProblem}`, { cause: error });
    // The database refusing the login (a wrong password, no such database or role) or not there: the operator's to
    // fix, not a bug. Other database errors (a migration's SQL, say) stay unexpected.
    const code = (error as { code?: string }).code ?? '';
    if (!opts.dev && databaseUrl && (DATABASE_UNREACHABLE.has(code) || /^(28|3D|08|57P0)/.test(code))) {
      const { redactDbUrl } = await import('../../sync/db-url.js');
      throw new UserError(`cannot use the server's database ${redactDbUrl(databaseUrl)}: ${(error as Error).message || code}; check ${databaseFrom}`, { cause: error });
    }
    throw error;
  }
  const signal = await ctx.shutdownSignal();
  // Not data: a log line like the others on stderr.
  server.jsonLineLogger(logStream)({ level: 'info', msg: 'stopping', signal });
  await running.close();
}

/** Errors of a database that cannot be reached at all (pg's own errors carry a severity instead). */
const DATABASE_UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET']);

/** Why the address could not be listened on, with what to do. */
const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'the port is in use (another server, or an earlier envmgr server still running); pass another --port (0 picks a free one)',
  EACCES: 'permission denied (ports below 1024 need privileges); pass a --port from 1024 up (0 picks a free one)',
  EADDRNOTAVAIL: 'this machine has no such address; pass a --host it has (127.0.0.1, or 0.0.0.0 for every interface)',
};

function announceDev(ctx: Context, dev: { url: string; token: string; tokenIsNew: boolean; tokenFile?: string; seed: unknown }, ephemeral: boolean): void {
  if (ctx.globals.json) {
    ctx.io.out(JSON.stringify({ url: dev.url, token: dev.token, seed: dev.seed }) + '\n');
    return;
  }
  ctx.io.out(`Environment Manager dev server listening on ${dev.url}${ephemeral ? ' (ephemeral: everything is lost on exit)' : ''}\n`);
  ctx.io.out('WARNING: development mode: demo data, a generated master key; do not use it for real secrets.\n\n');
  const whence = dev.tokenFile
    ? dev.tokenIsNew ? ` (kept in ${dev.tokenFile}, 0600; the next start reuses it)` : ` (as before, kept in ${dev.tokenFile})`
    : dev.tokenIsNew ? ' (shown once)' : '';
  ctx.io.out(`Owner token${whence}: ${dev.token}\n`);
  ctx.io.out(`Log in with:  echo <token> | envmgr login ${dev.url} --with-token\n\n`);
}

/** A Writable that hands complete lines (the server's JSON log lines) to `write`. */
function lineWriter(write: (line: string) => void): Writable {
  let pending = '';
  return new NodeWritable({
    write(chunk: Buffer | string, _encoding, done) {
      pending += chunk.toString();
      const end = pending.lastIndexOf('\n');
      if (end >= 0) {
        write(pending.slice(0, end + 1));
        pending = pending.slice(end + 1);
      }
      done();
    },
  });
}
