import { request, type Dispatcher } from './undici.js';
import { AuthError, UserError } from '../cli/errors.js';
import { parseJsonExact } from '../airflow/pyjson.js';
import { stringifyJsonExact } from '../airflow/exact-json.js';
import { ApiError, SHOW_SECRETS_FORBIDDEN, type FieldError } from './errors.js';
import type {
  CreateEnvironmentObjectRequest,
  Deployment,
  EnvironmentObject,
  ExcludeLink,
  ListEnvironmentObjectsQuery,
  Organization,
  Page,
  Self,
  UpdateEnvironmentObjectRequest,
  Workspace,
} from './types.js';

export interface ApiClientOptions {
  /** Without `/v1`. */
  apiUrl: string;
  token?: string;
  version: string;
  dispatcher?: Dispatcher;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** First backoff step (default 250 ms); doubles each retry, with jitter. */
  retryBaseMs?: number;
  /** The longest `Retry-After` honoured (default 60 s); a longer one fails at once, saying when to retry. */
  maxRetryAfterMs?: number;
  /** Time allowed for the response headers, and then between body chunks (default 30 s). */
  requestTimeoutMs?: number;
  /** What a 401 tells the user to do (default "run envmgr login"). */
  authHint?: string;
  debug?: (message: string) => void;
  /** A line the user should see while waiting (a request that timed out and is tried again). */
  notice?: (message: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** Codes of a server that accepted the request and then said nothing in time: tried once more only. */
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export interface DeviceCode {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  expiresIn: number;
  interval: number;
}

export interface DeviceTokens {
  accessToken: string;
  refreshToken?: string;
  expiresIn?: number;
}

type Query = Record<string, string | number | boolean | string[] | undefined>;

interface RequestSpec {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
}

const RETRY_STATUS = new Set([429, 502, 503, 504]);
/** Connection failures after which the request certainly never reached the server: safe to retry any method. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Failures after which the server may have acted: retried for GET only. */
const MAYBE_SENT = new Set([
  'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);
const PAGE_SIZE = 1000;
const MAX_PAGES = 100;
/** Pages of one listing in flight at once, after the first. */
const PARALLEL_PAGES = 4;

/** The typed client of the Environment Manager API (API.md). One per command run. */
export class ApiClient {
  readonly apiUrl: string;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly requestTimeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: ApiClientOptions) {
    this.apiUrl = opts.apiUrl.replace(/\/+$/, '');
    this.retries = opts.retries ?? 3;
    this.retryBaseMs = opts.retryBaseMs ?? 250;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  health(): Promise<{ status: string }> {
    return this.call({ method: 'GET', path: '/v1/health' });
  }

  async self(): Promise<Self> {
    const self = await this.call<Self>({ method: 'GET', path: '/v1/users/self' });
    // Everything after login hangs off the organization: an answer without one is not an Environment Manager's.
    if (typeof self !== 'object' || self === null || typeof self.organizationId !== 'string' || self.organizationId === '') {
      throw new UserError(`GET /v1/users/self at ${this.apiUrl} answered without an organizationId; check that the URL points at an Environment Manager (Astro Platform API v1)`);
    }
    return self;
  }

  organizations(): Promise<Organization[]> {
    return this.paginate('/v1/organizations', {}, 'organizations');
  }

  organization(org: string): Promise<Organization> {
    return this.call({ method: 'GET', path: `/v1/organizations/${enc(org)}` });
  }

  workspaces(org: string, filter: { workspaceIds?: string[]; names?: string[] } = {}): Promise<Workspace[]> {
    return this.paginate(`/v1/organizations/${enc(org)}/workspaces`, { ...filter, sorts: ['name:asc'] }, 'workspaces');
  }

  workspace(org: string, ws: string): Promise<Workspace> {
    return this.call({ method: 'GET', path: `/v1/organizations/${enc(org)}/workspaces/${enc(ws)}` });
  }

  deployments(org: string, filter: { workspaceIds?: string[]; deploymentIds?: string[]; names?: string[] } = {}): Promise<Deployment[]> {
    return this.paginate(`/v1/organizations/${enc(org)}/deployments`, filter, 'deployments');
  }

  deployment(org: string, dep: string): Promise<Deployment> {
    return this.call({ method: 'GET', path: `/v1/organizations/${enc(org)}/deployments/${enc(dep)}` });
  }

  listEnvironmentObjects(org: string, query: ListEnvironmentObjectsQuery): Promise<EnvironmentObject[]> {
    return this.paginate(
      `/v1/organizations/${enc(org)}/environment-objects`,
      { ...query, sorts: ['objectKey:asc'] },
      'environmentObjects',
    );
  }

  getEnvironmentObject(org: string, id: string, opts: { showSecrets?: boolean } = {}): Promise<EnvironmentObject> {
    return this.call({
      method: 'GET',
      path: `/v1/organizations/${enc(org)}/environment-objects/${enc(id)}`,
      query: { showSecrets: opts.showSecrets || undefined },
    });
  }

  createEnvironmentObject(org: string, body: CreateEnvironmentObjectRequest): Promise<{ id: string }> {
    return this.call({ method: 'POST', path: `/v1/organizations/${enc(org)}/environment-objects`, body });
  }

  updateEnvironmentObject(org: string, id: string, body: UpdateEnvironmentObjectRequest): Promise<EnvironmentObject> {
    return this.call({ method: 'POST', path: `/v1/organizations/${enc(org)}/environment-objects/${enc(id)}`, body });
  }

  async deleteEnvironmentObject(org: string, id: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `/v1/organizations/${enc(org)}/environment-objects/${enc(id)}` });
  }

  async excludeLinking(org: string, id: string, body: ExcludeLink): Promise<void> {
    await this.call({ method: 'POST', path: `/v1/organizations/${enc(org)}/environment-objects/${enc(id)}/exclude-linking`, body });
  }

  /** Starts a device login (API.md §Device login); undefined when the server does not offer it (404). */
  async deviceCode(): Promise<DeviceCode | undefined> {
    try {
      return await this.call<DeviceCode>({ method: 'POST', path: '/v1/auth/device/code', body: {} });
    } catch (error) {
      // A server without the route may check the (absent) token before routing: 401 means "not offered" too.
      if (error instanceof AuthError || (error instanceof ApiError && (error.status === 404 || error.status === 405))) return undefined;
      throw error;
    }
  }

  /** One poll of a device login: the tokens, or the pending state the server answered with. */
  async deviceToken(deviceCode: string): Promise<DeviceTokens | { pending: 'authorization_pending' | 'slow_down' }> {
    try {
      return await this.call<DeviceTokens>({ method: 'POST', path: '/v1/auth/device/token', body: { deviceCode } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && (error.apiMessage === 'authorization_pending' || error.apiMessage === 'slow_down')) {
        return { pending: error.apiMessage };
      }
      if (error instanceof ApiError && error.status === 400 && (error.apiMessage === 'expired_token' || error.apiMessage === 'access_denied')) {
        throw new AuthError(error.apiMessage === 'expired_token' ? 'the device code expired before it was approved; run envmgr login again' : 'the login was denied in the browser; run envmgr login again');
      }
      throw error;
    }
  }

  /**
   * Reads a whole listing. The first page gives `totalCount` and the server's page size; the other pages are then
   * fetched a few at a time (over a slow link ten pages one after another take ten round trips). If the listing
   * changed meanwhile (another `totalCount`, a page not full), it is read again one page after another, following
   * `offset` until `totalCount` items are read, at most MAX_PAGES pages.
   */
  async paginate<K extends string, T>(path: string, query: Query, key: K): Promise<T[]> {
    const page = (offset: number) => this.call<Page & Record<K, T[]>>({ method: 'GET', path, query: { ...query, offset, limit: PAGE_SIZE } });
    const first = await page(0);
    const items: T[] = [...(first[key] ?? [])];
    const size = items.length;
    const total = first.totalCount;
    if (size === 0 || size >= total) return items;
    if (Math.ceil(total / size) > MAX_PAGES) return this.paginateInTurn(path, key, page, items);
    const offsets: number[] = [];
    for (let offset = size; offset < total; offset += size) offsets.push(offset);
    const pages = new Array<T[] | undefined>(offsets.length);
    let next = 0;
    let changed = false;
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL_PAGES, offsets.length) }, async () => {
        while (next < offsets.length && !changed) {
          const i = next++;
          const body = await page(offsets[i]!);
          const batch = body[key] ?? [];
          if (body.totalCount !== total || batch.length !== Math.min(size, total - offsets[i]!)) changed = true;
          pages[i] = batch;
        }
      }),
    );
    if (changed) return this.paginateInTurn(path, key, page, []);
    for (const batch of pages) for (const item of batch!) items.push(item);
    return items;
  }

  /** Follows `offset` from `items.length` until `totalCount` items are read, at most MAX_PAGES pages in all. */
  private async paginateInTurn<K extends string, T>(
    path: string,
    key: K,
    page: (offset: number) => Promise<Page & Record<K, T[]>>,
    items: T[],
  ): Promise<T[]> {
    for (let read = items.length === 0 ? 0 : 1; read < MAX_PAGES; read++) {
      const body = await page(items.length);
      const batch = body[key] ?? [];
      for (const item of batch) items.push(item);
      if (batch.length === 0 || items.length >= body.totalCount) return items;
    }
    throw new UserError(`the listing at ${path} did not end after ${MAX_PAGES} pages (${items.length} items read); narrow the query (e.g. --workspace-id)`);
  }

  /** One API call with retries; answers the parsed JSON body (undefined for 204). */
  async call<T>(spec: RequestSpec): Promise<T> {
    const url = this.url(spec);
    const label = `${spec.method} ${spec.path}`;
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      let response: Dispatcher.ResponseData;
      let text: string;
      try {
        response = await request(url, {
          method: spec.method,
          headers: this.headers(spec.body !== undefined),
          body: spec.body === undefined ? undefined : stringifyJsonExact(spec.body),
          dispatcher: this.opts.dispatcher,
          headersTimeout: this.requestTimeoutMs,
          bodyTimeout: this.requestTimeoutMs,
        });
        // Read inside the try: a body cut short or stalled is a network failure like a reset, retried for GET.
        text = await response.body.text();
      } catch (error) {
        const code = errorCode(error);
        const retriable = NOT_SENT.has(code) || (spec.method === 'GET' && MAYBE_SENT.has(code));
        this.opts.debug?.(`${label} failed: ${code || (error as Error).message} (attempt ${attempt + 1})`);
        // A server that took the request and stayed silent for the whole timeout is asked once more, not thrice:
        // four silent timeouts made a command wait two minutes without a word.
        const timedOut = TIMEOUTS.has(code);
        if (retriable && attempt < (timedOut ? Math.min(1, this.retries) : this.retries)) {
          if (timedOut) this.opts.notice?.(`${this.apiUrl} did not answer within ${this.requestTimeoutMs >= 1000 ? `${Math.round(this.requestTimeoutMs / 1000)} s` : `${this.requestTimeoutMs} ms`}; trying once more`);
          await this.sleep(this.backoff(attempt));
          continue;
        }
        throw this.networkError(error, code);
      }
      const requestId = headerValue(response.headers['x-request-id']);
      this.opts.debug?.(`${label} → ${response.statusCode} (${Date.now() - started} ms${requestId ? `, request id ${requestId}` : ''})`);
      if (response.statusCode >= 200 && response.statusCode < 300) {
        if (text === '' && response.statusCode !== 204 && spec.method !== 'DELETE') {
          throw new UserError(`${label} at ${this.apiUrl} answered HTTP ${response.statusCode} with an empty body; check that the URL points at an Environment Manager`);
        }
        return (text === '' ? undefined : parseJson(text, label)) as T;
      }
      const retriable = RETRY_STATUS.has(response.statusCode) && (spec.method === 'GET' || [429, 503].includes(response.statusCode));
      if (retriable && attempt < this.retries) {
        const retryAfter = parseRetryAfter(headerValue(response.headers['retry-after']));
        if (retryAfter === undefined || retryAfter <= this.maxRetryAfterMs) {
          const wait = retryAfter ?? this.backoff(attempt);
          this.opts.debug?.(`retrying in ${wait} ms`);
          await this.sleep(wait);
          continue;
        }
      }
      throw this.httpError(response.statusCode, text, requestId, headerValue(response.headers['retry-after']));
    }
  }

  private url(spec: RequestSpec): string {
    const url = new URL(this.apiUrl + spec.path);
    for (const [name, value] of Object.entries(spec.query ?? {})) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
    }
    return url.toString();
  }

  private headers(hasBody: boolean): Record<string, string> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': `envmgr/${this.opts.version}`,
      'x-client-identifier': 'cli',
    };
    if (hasBody) headers['content-type'] = 'application/json';
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    return headers;
  }

  /** Exponential backoff with jitter: half the step fixed, half random, so retries of many clients spread out. */
  private backoff(attempt: number): number {
    const step = Math.min(this.retryBaseMs * 2 ** attempt, 5_000);
    return Math.round(step / 2 + (Math.random() * step) / 2);
  }

  private networkError(error: unknown, code: string): UserError {
    const what = {
      ECONNREFUSED: 'connection refused',
      ENOTFOUND: 'host not found',
      EAI_AGAIN: 'DNS lookup failed',
      UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
      UND_ERR_HEADERS_TIMEOUT: 'no response in time',
      UND_ERR_BODY_TIMEOUT: 'the response stalled',
      ECONNRESET: 'connection reset',
      UND_ERR_SOCKET: 'the connection closed before the answer was complete',
      UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'the answer was cut short',
    }[code] ?? (code || (error as Error).message);
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      return new UserError(`cannot reach ${this.apiUrl}: its TLS certificate is not trusted (${code}); pass --ca-file <pem> (or set NODE_EXTRA_CA_CERTS) with the CA that signed it`, { cause: error });
    }
    return new UserError(`cannot reach ${this.apiUrl}: ${what}; check the URL, your network and proxy settings, then try again`, { cause: error });
  }

  private httpError(status: number, text: string, headerRequestId: string | undefined, retryAfter: string | undefined): UserError {
    const body = tryParseJson(text) as { message?: string; requestId?: string; fieldErrors?: FieldError[] } | undefined;
    // An HTML page (a proxy's or load balancer's error page) says nothing useful on a terminal line.
    const page = body === undefined && /^\s*</.test(text);
    const message = body?.message ?? (page ? 'an HTML page, not an Environment Manager answer (a proxy in the way?)' : text.trim().slice(0, 200) || silentStatus(status, this.apiUrl));
    const requestId = body?.requestId ?? headerRequestId;
    const fieldErrors = body?.fieldErrors ?? [];
    if (status === 401) {
      return new AuthError(`not authenticated at ${this.apiUrl} (${message}); ${this.opts.authHint ?? 'run envmgr login'}`, body?.message ? { reason: body.message } : {});
    }
    const forbidden = status === 403 ? SHOW_SECRETS_FORBIDDEN.exec(message) : null;
    if (forbidden) {
      return new ApiError(status, message, requestId, fieldErrors,
        `${message}: Environment Secrets Fetching is turned off for organization ${forbidden[1]}; ask an organization owner to enable it ` +
          `(on a self-hosted server: envmgr server admin set organization --organization-id ${forbidden[1]} --secrets-fetching)`);
    }
    if (status === 403 && /^showSecrets requires /.test(message)) {
      return new ApiError(status, message, requestId, fieldErrors, `${message}: ask an owner of the workspace for that role, or use a token that has it`);
    }
    if (status === 429) {
      return new ApiError(status, message, requestId, fieldErrors, `${ApiError.describe(status, message, requestId, fieldErrors)}; rate limited, try again${retryAfter ? ` after ${retryAfter} s` : ' later'}`);
    }
    return new ApiError(status, message, requestId, fieldErrors);
  }
}

/** What an error status with no body says, with what to do. */
function silentStatus(status: number, apiUrl: string): string {
  if (status === 404) return `not found, with no message: check that ${apiUrl} is the Environment Manager's address`;
  if (status >= 500) return 'the server failed without saying why; try again later, or ask whoever runs it';
  if (status === 403) return 'forbidden, with no message: the token may lack the role for this';
  return 'no message';
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(error: unknown): string {
  let current: unknown = error;
  for (let i = 0; i < 4 && current; i++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return '';
}

/** `Retry-After` as seconds or an HTTP date → milliseconds. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function parseJson(text: string, label: string): unknown {
  const value = tryParseJson(text);
  if (value === undefined) throw new UserError(`${label} answered something that is not JSON; check that the URL points at an Environment Manager`);
  return value;
}

/** The body as JSON, an integer beyond 2^53 (in an extra) as a bigint with every digit; undefined if it is not JSON. */
function tryParseJson(text: string): unknown {
  try {
    return parseJsonExact(text);
  } catch {
    return undefined;
  }
}
