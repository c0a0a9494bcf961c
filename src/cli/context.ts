import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import type { Dispatcher } from 'undici';
import type { ApiClient } from '../api/client.js';
import type { Endpoint } from '../api/url.js';
import type { Settings } from '../config/settings.js';
import { envmgrHome } from '../config/files.js';
import type { CredentialSource, KeychainWithFileFallback, KeytarLike } from '../credentials/index.js';
import { AuthError, UsageError, UserError } from './errors.js';
import { processIO, type IO } from './io.js';
import { createLogger, type Logger } from './log.js';
import { inquirerPrompter, type Prompter } from './prompter.js';

/** The global flags, filled in by the program before any action runs. */
export interface GlobalOptions {
  json: boolean;
  verbose: boolean;
  /** False with `--no-input`. */
  input: boolean;
  /** False with `--no-color`. */
  color: boolean;
  /** `output.color: always`: colour even when stdout is not a terminal. */
  forceColor?: boolean;
  caFile?: string;
}

/** Who the CLI talks to and as whom, for commands that call the API. */
export interface Session {
  domain: string;
  apiUrl: string;
  token: string;
  tokenSource: CredentialSource;
  organizationId: string;
  /** The workspace chosen at login or with `workspace switch`. */
  workspaceId?: string;
  user?: string;
}

export interface ContextOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  homeDir?: string;
  /** Replaces the terminal (tests); receives the global options so it can honour them. */
  io?: IO | ((globals: GlobalOptions) => IO);
  prompter?: Prompter;
  dispatcher?: Dispatcher;
  loadKeytar?: () => Promise<KeytarLike>;
  version?: string;
}

/**
 * Everything a command needs from the outside world, built once in `main` (or per test). Heavy parts (YAML,
 * undici, keytar, the prompts library) load on first use, so `envmgr --help` loads none of them.
 */
export class Context {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly homeDir: string;
  readonly globals: GlobalOptions = { json: false, verbose: false, input: true, color: true };
  readonly log: Logger;
  private ioInstance: IO | undefined;
  private prompterInstance: Prompter | undefined;
  private settings: Promise<Settings> | undefined;
  private store: Promise<KeychainWithFileFallback> | undefined;
  private sessionPromise: Promise<Session> | undefined;
  private apiPromise: Promise<ApiClient> | undefined;
  private dispatcherInstance: Dispatcher | undefined;
  private versionText: string | undefined;

  constructor(private readonly opts: ContextOptions = {}) {
    this.env = opts.env ?? process.env;
    this.cwd = opts.cwd ?? process.cwd();
    this.homeDir = opts.homeDir ?? homedir();
    this.log = createLogger(() => this.io, () => this.globals.verbose);
    this.log.addSecret(this.env.ENVMGR_API_TOKEN);
  }

  get version(): string {
    if (!this.versionText) {
      this.versionText = this.opts.version ?? (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    }
    return this.versionText;
  }

  /** `$ENVMGR_HOME` or `~/.envmgr`. */
  get home(): string {
    return envmgrHome(this.env, this.homeDir);
  }

  get io(): IO {
    if (!this.ioInstance) {
      const given = this.opts.io;
      this.ioInstance = typeof given === 'function' ? given(this.globals) : given ?? processIO({ env: this.env, globals: this.globals });
    }
    return this.ioInstance;
  }

  get prompter(): Prompter {
    this.prompterInstance ??= this.opts.prompter ?? inquirerPrompter(this.io);
    return this.prompterInstance;
  }

  config(): Promise<Settings> {
    this.settings ??= import('../config/settings.js').then(async ({ Settings }) => {
      const settings = await Settings.load({ env: this.env, cwd: this.cwd, homeDir: this.homeDir, warn: (message) => this.log.warn(message) });
      this.log.debug(`config: global ${settings.globalFile}, project ${settings.projectDir ? settings.projectFile : '(none)'}`);
      return settings;
    });
    return this.settings;
  }

  credentials(): Promise<KeychainWithFileFallback> {
    this.store ??= import('../credentials/index.js').then(({ createCredentialStore }) =>
      createCredentialStore({
        home: this.home,
        env: this.env,
        announce: (message) => this.log.warn(message),
        debug: (message) => this.log.debug(message),
        loadKeytar: this.opts.loadKeytar,
      }),
    );
    return this.store;
  }

  /** The HTTP dispatcher (proxy, CAs, connect timeout), shared by every client of this run. */
  async dispatcher(): Promise<Dispatcher> {
    if (this.opts.dispatcher) return this.opts.dispatcher;
    if (!this.dispatcherInstance) {
      const { createDispatcher } = await import('../api/dispatcher.js');
      this.dispatcherInstance = createDispatcher({
        env: this.env,
        caFile: this.globals.caFile ?? this.env.ENVMGR_CA_FILE,
        caFileOrigin: this.globals.caFile !== undefined ? '--ca-file' : 'ENVMGR_CA_FILE',
      });
    }
    return this.dispatcherInstance;
  }

  /** A client for any endpoint and token (used by `login`, before a session exists). */
  async createApiClient(apiUrl: string, token: string | undefined, authHint?: string): Promise<ApiClient> {
    const [{ ApiClient }, { NEVER, setDefaultWasmTieringBudget }] = await Promise.all([import('../api/client.js'), import('../wasm-tiering.js')]);
    // The CLI's process talks to the API from here on: the HTTP parser undici compiles for it stays on V8's baseline
    // code (see wasm-tiering.ts). Commands that never reach the API do not load V8's flag module for it.
    setDefaultWasmTieringBudget(NEVER);
    this.log.addSecret(token);
    const timeout = Number(this.env.ENVMGR_HTTP_TIMEOUT);
    return new ApiClient({
      apiUrl,
      token,
      version: this.version,
      dispatcher: await this.dispatcher(),
      requestTimeoutMs: timeout > 0 ? timeout * 1000 : undefined,
      authHint,
      debug: (message) => this.log.debug(message),
      notice: (message) => this.io.err(`${message}\n`),
    });
  }

  /** Resolves with the signal's name on the first SIGINT or SIGTERM (for long-running commands). */
  shutdownSignal(): Promise<string> {
    return new Promise((resolve) => {
      const done = (signal: string) => {
        process.off('SIGINT', done);
        process.off('SIGTERM', done);
        resolve(signal);
      };
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
  }

  /** The endpoint named by `ENVMGR_DOMAIN`, or undefined. */
  async endpointFromEnv(): Promise<Endpoint | undefined> {
    const domain = this.env.ENVMGR_DOMAIN;
    if (!domain) return undefined;
    const { resolveEndpoint } = await import('../api/url.js');
    return resolveEndpoint(domain);
  }

  /**
   * The current login: `ENVMGR_API_TOKEN` (+ `ENVMGR_DOMAIN`) when set, bypassing the config and the keychain;
   * otherwise the global file's current context and its stored token.
   */
  session(): Promise<Session> {
    this.sessionPromise ??= this.loadSession(true) as Promise<Session>;
    return this.sessionPromise;
  }

  /**
   * The current login as far as it is known without the server: with `ENVMGR_API_TOKEN` and neither
   * `ENVMGR_ORGANIZATION_ID` nor a saved login for the domain, the organization (which only the server can tell)
   * is left out.
   */
  localSession(): Promise<Omit<Session, 'organizationId'> & { organizationId?: string }> {
    return this.sessionPromise ?? this.loadSession(false);
  }

  /** The API client of the current session. */
  api(): Promise<ApiClient> {
    this.apiPromise ??= this.session().then((s) =>
      this.createApiClient(s.apiUrl, s.token, s.tokenSource === 'env' ? 'check the ENVMGR_API_TOKEN environment variable' : `run envmgr login ${s.domain}`),
    );
    return this.apiPromise;
  }

  /**
   * The workspace a command acts on: the flag, else `project.workspace`, else the one chosen at login. `otherwise`
   * names a further way out that the command offers (e.g. `--all`), said in the error when there is none.
   */
  async workspaceId(flag?: string, otherwise?: string): Promise<string> {
    return (await this.workspaceChoice(flag, otherwise)).id;
  }

  /**
   * `workspaceId`, with where it came from when that was the configuration (`project.workspace in
   * /p/.envmgr/config.yaml:3`, `ENVMGR_PROJECT_WORKSPACE`): what a message about a workspace that is not found names.
   */
  async workspaceChoice(flag?: string, otherwise?: string): Promise<{ id: string; configuredIn?: string }> {
    const settings = await this.config();
    const resolved = settings.resolve('project.workspace', flag);
    if (resolved.value) return { id: resolved.value, ...(resolved.source !== 'flag' ? { configuredIn: `project.workspace in ${settings.whence(resolved)}` } : {}) };
    const session = await this.session();
    if (session.workspaceId) return { id: session.workspaceId };
    throw new UsageError(`no workspace selected; pass --workspace-id${otherwise ? ` (${otherwise})` : ''} or run envmgr workspace switch`);
  }

  private async loadSession(askServer: boolean): Promise<Omit<Session, 'organizationId'> & { organizationId?: string }> {
    const settings = await this.config();
    const envToken = this.env.ENVMGR_API_TOKEN;
    if (envToken) {
      const endpoint = (await this.endpointFromEnv()) ?? this.currentEndpoint(settings);
      if (!endpoint) throw new UserError('ENVMGR_API_TOKEN is set but ENVMGR_DOMAIN is not; set ENVMGR_DOMAIN to the Environment Manager domain or URL');
      const saved = settings.context(endpoint.domain);
      let organizationId = this.env.ENVMGR_ORGANIZATION_ID || saved?.organizationId;
      let user = saved?.user;
      if (!organizationId && askServer) {
        const client = await this.createApiClient(endpoint.apiUrl, envToken, 'check the ENVMGR_API_TOKEN environment variable');
        const self = await client.self();
        organizationId = self.organizationId;
        user = self.username;
      }
      this.log.debug(`session: ${endpoint.apiUrl}, token from ENVMGR_API_TOKEN`);
      return { ...endpoint, token: envToken, tokenSource: 'env', organizationId, workspaceId: saved?.workspaceId, user };
    }
    const domain = settings.currentDomain();
    const saved = domain ? settings.context(domain) : undefined;
    if (!domain || !saved) throw new AuthError('not logged in; run envmgr login <domain-or-url> (or set ENVMGR_API_TOKEN and ENVMGR_DOMAIN)');
    const store = await this.credentials();
    const stored = await store.get(domain);
    if (!stored && store.readFailure) {
      throw new AuthError(
        `no token for ${domain} in ${store.describe('file')}, and the token may be in the system keychain, which could not be read ` +
          `(${store.readFailure}): run envmgr where the keychain is reachable (a desktop session, or gnome-keyring under dbus-run-session), ` +
          `or run envmgr login ${domain} to store the token again`,
      );
    }
    if (!stored) throw new AuthError(`no token stored for ${domain}; run envmgr login ${domain}`);
    this.log.addSecret(stored.token);
    this.log.debug(`session: ${saved.apiUrl}, token from the ${stored.source}`);
    if (!saved.organizationId) throw new AuthError(`no organization recorded for ${domain}; run envmgr login ${domain}`);
    return {
      domain,
      apiUrl: saved.apiUrl,
      token: stored.token,
      tokenSource: stored.source,
      organizationId: saved.organizationId,
      workspaceId: saved.workspaceId,
      user: saved.user,
    };
  }

  private currentEndpoint(settings: Settings): Endpoint | undefined {
    const domain = settings.currentDomain();
    const saved = domain ? settings.context(domain) : undefined;
    return domain && saved ? { domain, apiUrl: saved.apiUrl } : undefined;
  }
}
