import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { buildApp } from './app.js';
import { MasterKeyError, parseMasterKeys, readMasterKeyFile, type Keyring } from './crypto.js';
import { createPool, type Queryable } from './db.js';
import { jsonLineLogger, silentLogger, type ServerLogger } from './logging.js';
import { migrate } from './migrations.js';

export interface RunningServer {
  url: string;
  port: number;
  /** Stops accepting connections, lets in-flight requests finish, then closes the database pool. */
  close(): Promise<void>;
}

export interface StartServerOptions {
  host?: string;
  port?: number;
  databaseUrl: string;
  /** Base64 32-byte key (several, comma-separated: the first seals, all open). Default: $ENVMGR_SERVER_MASTER_KEY. */
  masterKey?: string;
  masterKeyFile?: string;
  logStream?: NodeJS.WritableStream;
  bodyLimit?: number;
  poolSize?: number;
  /** Cache masked list responses per organization revision (default true). */
  responseCache?: boolean;
}

export function resolveKeyring(options: { masterKey?: string; masterKeyFile?: string }): Keyring {
  if (options.masterKey && options.masterKeyFile) {
    throw new MasterKeyError('give the master key either inline or as a file, not both');
  }
  if (options.masterKeyFile) return readMasterKeyFile(options.masterKeyFile);
  const inline = options.masterKey ?? process.env.ENVMGR_SERVER_MASTER_KEY;
  if (!inline) {
    throw new MasterKeyError(
      'the server needs a master key to encrypt secrets at rest: set ENVMGR_SERVER_MASTER_KEY to a base64 32-byte key ' +
        '(openssl rand -base64 32) or pass a key file; or run `envmgr server start --dev` for a local trial',
    );
  }
  return parseMasterKeys(inline, options.masterKey ? 'the master key' : 'ENVMGR_SERVER_MASTER_KEY');
}

/** Listens and wraps close so it is graceful and idempotent. */
export async function listen(app: FastifyInstance, pool: pg.Pool, host: string, port: number, log: ServerLogger): Promise<RunningServer> {
  await app.listen({ host, port });
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  log({ level: 'info', msg: 'listening', url });
  let closing: Promise<void> | undefined;
  return {
    url,
    port: actualPort,
    close() {
      closing ??= (async () => {
        // app.close() stops accepting and waits for in-flight requests; a keep-alive connection that becomes idle
        // after that would hold it open until its timeout, so idle connections are closed as they appear.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 25);
        try {
          await app.close();
        } finally {
          clearInterval(sweep);
        }
        await pool.end();
        log({ level: 'info', msg: 'stopped' });
      })();
      return closing;
    },
  };
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const keyring = resolveKeyring(options);
  const log = options.logStream ? jsonLineLogger(options.logStream) : silentLogger;
  const pool = createPool(options.databaseUrl, options.poolSize ?? 10);
  try {
    const applied = await migrate(pool);
    if (applied.length > 0) log({ level: 'info', msg: 'migrations applied', versions: applied });
    await checkMasterKeys(pool, keyring);
    const app = await buildApp({ pool, config: { keyring, bodyLimit: options.bodyLimit, responseCache: options.responseCache }, logger: log });
    return await listen(app, pool, options.host ?? '127.0.0.1', options.port ?? 8080, log);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}

/**
 * Refuses to serve a database holding secrets sealed with a master key this process does not have (another server
 * process started with a different key, or a key dropped from the ring too early): every read of them would fail,
 * and what this process sealed the others could not open. Key ids are digests of the keys, not the keys.
 */
export async function checkMasterKeys(q: Queryable, keyring: Keyring): Promise<void> {
  const known = keyring.ids();
  const { rows } = await q.query<{ id: string }>(
    `(SELECT secrets_key_id AS id FROM environment_objects WHERE secrets_key_id IS NOT NULL AND secrets_key_id <> ALL($1::text[]) LIMIT 1)
     UNION ALL
     (SELECT secrets_key_id FROM environment_object_links WHERE secrets_key_id IS NOT NULL AND secrets_key_id <> ALL($1::text[]) LIMIT 1)`,
    [known],
  );
  const missing = rows[0]?.id;
  if (missing) {
    throw new MasterKeyError(
      `the database holds secrets sealed with master key ${missing}, which is not configured (this process has ${known.join(', ')}): ` +
        'start every server process on this database with the same master key, with any earlier keys after it (comma-separated)',
    );
  }
}

/**
 * For `envmgr server start`: closes the server gracefully on the first SIGINT or SIGTERM and resolves with the
 * signal once it is closed (the caller chooses the exit code). The handlers are removed afterwards.
 */
export function closeOnSignals(
  server: Pick<RunningServer, 'close'>,
  signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'],
): Promise<NodeJS.Signals> {
  return new Promise((resolve, reject) => {
    const handler = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, handler);
      server.close().then(() => resolve(signal), reject);
    };
    for (const s of signals) process.once(s, handler);
  });
}
