import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type pg from 'pg';
import { mkdirs, writeFileAtomic } from '../config/files.js';
import { Client } from '../pg/driver.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../pg/embedded.js';
import { createTokenIn, ServerAdminError } from './admin.js';
import { buildApp } from './app.js';
import { generateMasterKey, hashToken, parseMasterKeys } from './crypto.js';
import { createPool, withTransaction } from './db.js';
import { jsonLineLogger, silentLogger, type ServerLogger } from './logging.js';
import { migrate } from './migrations.js';
import { findTokenByHash } from './repo/identities.js';
import { seedDevData, type DevSeed } from './seed.js';
import { listen, type RunningServer } from './start.js';

export interface StartDevServerOptions {
  /** $ENVMGR_HOME: the cluster, master key and state live under `<home>/dev-server`. */
  home: string;
  /** Throwaway cluster and key in a temporary directory, removed on close. */
  ephemeral?: boolean;
  /** Fixes the owner token's value (`--dev-token`, `ENVMGR_DEV_TOKEN`). */
  devToken?: string;
  host?: string;
  port?: number;
  logStream?: NodeJS.WritableStream;
  /**
   * Where the cluster goes when running as root and the `postgres` system user cannot reach `<home>/dev-server`
   * (for example under a 0700 /root). Default /var/lib/envmgr.
   */
  relocationRoot?: string;
}

export interface DevServer extends RunningServer {
  token: string;
  /** Where a dev server that keeps its data keeps its generated owner token (reused by the next start). */
  tokenFile?: string;
  /** True when the token was minted by this start (show it once); false when it was given as `devToken`. */
  tokenIsNew: boolean;
  seed: DevSeed;
  /** The Postgres data directory in use (undefined when ephemeral). */
  postgresDataDir?: string;
  databaseUrl: string;
}

interface DevState {
  pgPassword?: string;
  pgDataDir?: string;
}

const DATABASE = 'envmgr';

/**
 * As root, embedded Postgres runs as the `postgres` system user, which needs execute permission on every directory
 * above its data directory. Owner and group bits are ignored here: only "others" is sure to apply to that user.
 */
export function postgresCanReach(dir: string): boolean {
  if (process.getuid?.() !== 0) return true;
  let current = dirname(resolve(dir));
  for (;;) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    const parent = dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

async function readState(path: string): Promise<DevState> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as DevState;
  } catch {
    return {};
  }
}

async function readOrCreateKey(path: string): Promise<string> {
  if (existsSync(path)) return (await readFile(path, 'utf8')).trim();
  const key = generateMasterKey();
  await writeFile(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

async function placeCluster(stateDir: string, state: DevState, relocationRoot: string, log: ServerLogger): Promise<string> {
  if (state.pgDataDir && existsSync(join(state.pgDataDir, 'PG_VERSION'))) return state.pgDataDir;
  const preferred = join(stateDir, 'pg');
  if (postgresCanReach(preferred)) return preferred;
  const relocated = join(relocationRoot, `dev-server-${createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 12)}`, 'pg');
  await mkdirs(dirname(relocated), 0o777);
  for (let dir = dirname(relocated); dir !== dirname(dir) && dir.startsWith(resolve(relocationRoot)); dir = dirname(dir)) {
    await chmod(dir, 0o711);
  }
  if (!postgresCanReach(relocated)) {
    throw new Error(`the postgres system user cannot reach ${preferred} nor ${relocated}: make ${relocationRoot} world-traversable (chmod o+x)`);
  }
  log({ level: 'warn', msg: 'dev postgres data directory relocated', dataDir: relocated, reason: `the postgres system user cannot traverse to ${preferred}` });
  return relocated;
}

/**
 * The dev server's owner token: `devToken` when given (created once); else, for a dev server that keeps its data,
 * the one kept in `tokenFile` (0600, beside the master key) while the database still accepts it, so that restarts
 * neither pile up tokens nor log the developer out; else a new one (kept in `tokenFile` when there is one).
 */
async function ownerToken(pool: pg.Pool, seed: DevSeed, devToken: string | undefined, tokenFile: string | undefined): Promise<{ token: string; tokenIsNew: boolean }> {
  const kept = devToken === undefined && tokenFile ? (await readFile(tokenFile, 'utf8').catch(() => '')).trim() : '';
  return withTransaction(pool, async (tx) => {
    for (const known of [devToken, kept]) {
      if (!known) continue;
      const found = await findTokenByHash(tx, hashToken(known));
      if (found && !found.expired) return { token: known, tokenIsNew: false };
      // A fixed token cannot be made again (its hash is taken): an expired one is refused, with what to do.
      if (found && known === devToken) throw new ServerAdminError('the --dev-token given (or ENVMGR_DEV_TOKEN) has expired in this dev server; pass another one');
    }
    const created = await createTokenIn(tx, {
      organizationId: seed.organization.id,
      name: `dev owner token ${new Date().toISOString().slice(0, 19)}Z`,
      userId: seed.ownerUser.id,
      roles: [{ role: 'ORGANIZATION_OWNER' }],
      token: devToken,
    });
    if (devToken === undefined && tokenFile) await writeFileAtomic(tokenFile, `${created.token}\n`);
    return { token: created.token, tokenIsNew: devToken === undefined };
  });
}

/** Where an `--ephemeral` dev server says, while it runs, how to reach its database (`server admin --dev`). */
function ephemeralPath(home: string): string {
  return join(home, 'dev-server', 'ephemeral.json');
}

/** Whether process `pid` is alive (signal 0 checks without signalling; EPERM: alive, someone else's). */
function alive(pid: unknown): boolean {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The database URL of the dev server of `home` (`server admin --dev`), while it runs: the one that keeps its data
 * there (the password from its state file, the port from its cluster's postmaster.pid), else an `--ephemeral` one
 * (from the note it keeps there while it runs).
 */
export async function runningDevDatabaseUrl(home: string): Promise<string> {
  const state = await readState(join(home, 'dev-server', 'state.json'));
  const pid = state.pgDataDir ? await readFile(join(state.pgDataDir, 'postmaster.pid'), 'utf8').catch(() => undefined) : undefined;
  // postmaster.pid: pid, data directory, start time, port, …
  const port = Number(pid?.split('\n')[3]);
  if (state.pgPassword && pid && Number.isInteger(port) && port > 0) {
    return `postgresql://postgres:${encodeURIComponent(state.pgPassword)}@127.0.0.1:${port}/${DATABASE}`;
  }
  const ephemeral = (await readState(ephemeralPath(home))) as { databaseUrl?: unknown; pid?: unknown };
  if (typeof ephemeral.databaseUrl === 'string' && alive(ephemeral.pid)) return ephemeral.databaseUrl;
  if (!state.pgPassword || !state.pgDataDir) {
    throw new ServerAdminError(`no dev server keeps its data under ${home}, and no --ephemeral one runs from there (start one with envmgr server start --dev)`);
  }
  throw new ServerAdminError('the dev server is not running; start it with envmgr server start --dev');
}

/** `envmgr server start --dev`: embedded Postgres, a generated master key, the demo seed and an owner token. */
export async function startDevServer(options: StartDevServerOptions): Promise<DevServer> {
  const log = options.logStream ? jsonLineLogger(options.logStream) : silentLogger;
  let masterKey: string;
  let pgPassword: string;
  let dataDir: string | undefined;
  let stateDir: string | undefined;
  if (options.ephemeral) {
    masterKey = generateMasterKey();
    pgPassword = randomBytes(18).toString('hex');
  } else {
    stateDir = join(options.home, 'dev-server');
    await mkdirs(stateDir, 0o777);
    // 0711: others may traverse (the postgres user, to its data directory) but not list; files inside are 0600.
    await chmod(stateDir, 0o711);
    const statePath = join(stateDir, 'state.json');
    const state = await readState(statePath);
    masterKey = await readOrCreateKey(join(stateDir, 'master.key'));
    pgPassword = state.pgPassword ?? randomBytes(18).toString('hex');
    dataDir = await placeCluster(stateDir, state, options.relocationRoot ?? '/var/lib/envmgr', log);
    await writeFile(statePath, `${JSON.stringify({ pgPassword, pgDataDir: dataDir }, null, 2)}\n`, { mode: 0o600 });
    await chmod(statePath, 0o600);
  }
  const keyring = parseMasterKeys(masterKey, 'the dev server master key');

  let postgres: EmbeddedPostgresHandle | undefined;
  let pool: pg.Pool | undefined;
  try {
    postgres = await startEmbeddedPostgres({ dataDir, password: pgPassword, fast: options.ephemeral });
    await ensureDatabase(postgres.url('postgres'));
    const databaseUrl = postgres.url(DATABASE);
    pool = createPool(databaseUrl);
    await migrate(pool);
    const seed = await seedDevData(pool, keyring);
    const app = await buildApp({ pool, config: { keyring }, logger: log });
    // Listening first: a start that cannot listen (the port is taken) mints no token nobody is shown.
    const running = await listen(app, pool, options.host ?? '127.0.0.1', options.port ?? 8080, log);
    const tokenFile = stateDir ? join(stateDir, 'owner.token') : undefined;
    const { token, tokenIsNew } = await ownerToken(pool, seed, options.devToken, tokenFile).catch(async (err: unknown) => {
      await running.close().catch(() => undefined);
      throw err;
    });
    const pgHandle = postgres;
    // An ephemeral server keeps nothing, but says while it runs how to reach its database (0600: it holds the
    // password), so that server admin --dev can; the note goes when the server does.
    const note = options.ephemeral ? ephemeralPath(options.home) : undefined;
    if (note) {
      await mkdirs(dirname(note), 0o777);
      await chmod(dirname(note), 0o711);
      await writeFileAtomic(note, `${JSON.stringify({ databaseUrl, pid: process.pid })}\n`);
    }
    const forget = async () => {
      if (!note) return;
      // Only its own note: another ephemeral server of the same home may have written its own since.
      const current = (await readState(note)) as { pid?: unknown };
      if (current.pid === process.pid) await rm(note, { force: true });
    };
    let closing: Promise<void> | undefined;
    return {
      ...running,
      token,
      tokenIsNew,
      seed,
      postgresDataDir: dataDir,
      ...(tokenFile && options.devToken === undefined ? { tokenFile } : {}),
      databaseUrl,
      close() {
        closing ??= (async () => {
          await forget().catch(() => undefined);
          await running.close();
          await pgHandle.stop();
        })();
        return closing;
      },
    };
  } catch (err) {
    await pool?.end().catch(() => undefined);
    await postgres?.stop().catch(() => undefined);
    throw err;
  }
}
