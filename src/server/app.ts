import { createHash, randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type pg from 'pg';
import { exactJsonValue, longestLongInt, PYTHON_INT_MAX_DIGITS } from '../airflow/pyjson.js';
import { authenticate, LookupConnections, TokenLookups } from './auth.js';
import { checkJsonBody } from './body-check.js';
import { ResponseCache } from './cache.js';
import { AuthFailureLimiter, DEFAULT_AUTH_FAILURE_LIMIT, type AuthOutcome } from './auth-limit.js';
import { DEFAULT_BODY_LIMIT, type ServerConfig } from './config.js';
import { HttpError, type FieldError } from './errors.js';
import { MasterKeyError } from './crypto.js';
import { silentLogger, type ServerLogger } from './logging.js';
import { ObjectService } from './objects.js';
import type { Principal } from './roles.js';
import { exactSerializerFactory } from './serialize.js';
import { environmentObjectRoutes } from './routes/environment-objects.js';
import { healthRoutes } from './routes/health.js';
import { identityRoutes } from './routes/identity.js';
import { workspaceRoutes } from './routes/workspaces.js';
import type { RouteContext } from './routes/context.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface BuildAppOptions {
  pool: pg.Pool;
  config: ServerConfig;
  /** Receives one entry per request and per server error; default: discard. */
  logger?: ServerLogger;
}

interface ErrorBody {
  message: string;
  requestId: string;
  statusCode: number;
  fieldErrors?: FieldError[];
}

/** The API of API.md as a Fastify instance, ready for `inject` or `listen`. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const log = options.logger ?? silentLogger;
  const bodyLimit = options.config.bodyLimit ?? DEFAULT_BODY_LIMIT;
  // Request ids: a random per-app prefix (unique across processes) and a counter; cheaper than random bytes per request.
  const idPrefix = `req_${randomBytes(6).toString('hex')}`;
  let requestCount = 0;
  const nextRequestId = () => `${idPrefix}${(++requestCount).toString(36).padStart(6, '0')}`;
  const app = Fastify({
    logger: false,
    bodyLimit,
    requestIdHeader: false,
    genReqId: nextRequestId,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Response serializers that write an extra's integers beyond 2^53 with every digit (see exactSerializerFactory).
    schemaController: { compilersFactory: { buildSerializer: exactSerializerFactory } },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, useDefaults: false } },
    // Errors met before routing (a path that is not valid percent-encoding, an over-long path parameter) get API.md's
    // error body too.
    frameworkErrors: (error, request, reply) => {
      const [statusCode, message] =
        error.code === 'FST_ERR_BAD_URL' ? [400, 'the request path is not valid percent-encoding']
        : error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? [414, 'a part of the request path is longer than the server accepts']
        : [500, 'the request could not be routed'];
      const body: ErrorBody = { message, requestId: request.id, statusCode };
      void (reply as unknown as FastifyReply).header('x-request-id', request.id).code(body.statusCode).send(body);
    },
    // And those Node's HTTP parser meets before there is a request at all (headers too large, malformed HTTP).
    clientErrorHandler: (error, socket) => {
      if ((error as { code?: string }).code === 'ECONNRESET' || socket.destroyed) return;
      socket.end(rawErrorResponse(clientErrorBody(error as Error & { code?: string }, nextRequestId())));
    },
  });
  app.decorateRequest('principal', null);
  const ctx: RouteContext = {
    pool: options.pool,
    config: options.config,
    objects: new ObjectService(options.pool, options.config.keyring, options.config.responseCache === false ? undefined : new ResponseCache()),
  };

  // Callback-style hooks: they run on every request, and an async hook costs a promise and a microtask turn more.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    // A DELETE or GET says nothing in its body; HTTP clients that always send `Content-Type: application/json` send
    // it with no body too, which the JSON parser would refuse as an empty document.
    const { 'content-length': length, 'transfer-encoding': chunked, 'content-type': type } = request.headers;
    if ((request.method === 'DELETE' || request.method === 'GET') && type !== undefined && (length === undefined || length === '0') && chunked === undefined) {
      delete request.headers['content-type'];
    }
    done();
  });
  // A NUL in the path or the query (percent-encoded: a raw one is not valid HTTP) names nothing the server holds and
  // cannot go into a Postgres query: a 400 that names the parameter, before any route looks it up.
  app.addHook('preValidation', (request, _reply, done) => {
    if (!request.url.includes('%00')) return done();
    const errors: FieldError[] = [];
    for (const [where, values] of [['path', request.params], ['query', request.query]] as const) {
      for (const [name, value] of Object.entries((values ?? {}) as Record<string, unknown>)) {
        if ((Array.isArray(value) ? value : [value]).some((v) => typeof v === 'string' && v.includes('\u0000'))) {
          errors.push({ field: name, message: `must not contain NUL characters (in the ${where})` });
        }
      }
    }
    if (errors.length === 0) return done();
    done(new HttpError(400, `invalid request: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors));
  });
  // No logger, no per-request entry to build.
  if (log !== silentLogger) app.addHook('onResponse', (request, reply, done) => {
    try {
      log({
        level: 'info',
        msg: 'request',
        requestId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        latencyMs: Math.round(reply.elapsedTime * 100) / 100,
      });
    } finally {
      done();
    }
  });

  app.setErrorHandler((error: FastifyError, request, reply) => sendError(error, request, reply, bodyLimit, log));
  // JSON.parse takes any depth, but storing and serializing a body nested thousands of levels deep overflows the stack.
  app.addHook('preValidation', (request, _reply, done) => {
    done(nestingDepthOver(request.body, MAX_BODY_DEPTH) ? tooDeep() : undefined);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = {
      message: `no such endpoint: ${request.method} ${request.url.split('?')[0]}`,
      requestId: request.id,
      statusCode: 404,
    };
    return reply.code(404).send(body);
  });

  await app.register(healthRoutes);
  // Token lookups go on two connections of their own, one lookup on each at a time; the requests arriving meanwhile
  // share the next. Measured with the server bench's load generator (8 clients, cached pages of 100): one connection
  // served ~5% fewer requests per second, three no more than two.
  const lookupConnections = new LookupConnections(options.pool.options, 2);
  app.addHook('onClose', (_instance, done) => {
    lookupConnections.close().then(() => done(), done);
  });
  const lookups = new TokenLookups(lookupConnections, 2);
  const limit = options.config.authFailureLimit;
  const limiter = limit === false ? undefined : new AuthFailureLimiter(limit ?? DEFAULT_AUTH_FAILURE_LIMIT);
  await app.register(async (authenticated) => {
    exactJsonBodies(authenticated);
    authenticated.addHook('onRequest', (request, reply, done) => {
      let settle: ((outcome: AuthOutcome) => void) | undefined;
      try {
        const header = request.headers.authorization;
        // A presented token is a possible guess: admitted against the limit, lookups under way included.
        if (header && limiter) settle = limiter.admit(request.ip, createHash('sha256').update(header).digest('base64'));
        else limiter?.check(request.ip);
      } catch (error) {
        reply.header('retry-after', String((error as { retryAfterSeconds?: number }).retryAfterSeconds ?? 60));
        done(error as FastifyError);
        return;
      }
      authenticate(lookups, request).then((principal) => {
        settle?.('valid');
        request.principal = principal;
        done();
      }, (error: FastifyError) => {
        // A token was presented and refused: that is a guess to count. A missing header is not (no settle).
        settle?.(error instanceof HttpError && error.statusCode === 401 ? 'refused' : 'other');
        done(error);
      });
    });
    await authenticated.register(identityRoutes, { ctx });
    await authenticated.register(workspaceRoutes, { ctx });
    await authenticated.register(environmentObjectRoutes, { ctx });
  });
  return app;
}

/**
 * Fastify's JSON body parser (with its refusal of __proto__ and constructor.prototype keys), except that an integer
 * beyond 2^53, which JSON.parse rounds, is a bigint with every digit (a stored extra keeps it as Airflow would).
 * Registered for the authenticated routes only: their onRequest hook has checked the token before a body is parsed,
 * so the exact reading, slower than JSON.parse, is never done for a stranger. Before it, a body nested too deep or
 * holding an integer longer than Python reads (so Airflow could not) is refused, without making a bigint of it.
 */
function exactJsonBodies(instance: FastifyInstance): void {
  const parseJsonBody = instance.getDefaultJsonParser('error', 'error');
  instance.removeContentTypeParser('application/json');
  instance.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parseJsonBody(request, body as string, (error, value) => {
      if (error) return done(isJson(body as string) ? forbiddenKey() : error, undefined);
      // The default parser reads past a byte order mark; so must the exact one.
      const text = (body as string).charCodeAt(0) === 0xfeff ? (body as string).slice(1) : (body as string);
      const longest = longestLongInt(text);
      if (longest > 0 && nestingDepthOver(value, MAX_BODY_DEPTH)) return done(tooDeep(), undefined);
      if (longest > PYTHON_INT_MAX_DIGITS) return done(intTooLong(), undefined);
      // (Checked on the exact reading, where a long integer is a bigint rather than JSON.parse's Infinity.)
      const exact = longest === 0 ? value : exactJsonValue(text, value, longest);
      const refused = checkJsonBody(text, exact);
      if (refused) return done(refused, undefined);
      done(null, exact);
    });
  });
}

/** How deep a request body may nest arrays and objects (an Airflow extra needs a handful of levels). */
const MAX_BODY_DEPTH = 64;

/** Whether JSON.parse reads `text` (for a body the default parser refused: then for a __proto__ member). */
function isJson(text: string): boolean {
  try {
    JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    return true;
  } catch {
    return false;
  }
}

function forbiddenKey(): HttpError {
  const message = 'the request body holds a member named __proto__ (or constructor.prototype), which the server does not accept';
  return new HttpError(400, message, [{ field: 'body', message }]);
}

function intTooLong(): HttpError {
  const message = `the request body holds an integer of more than ${PYTHON_INT_MAX_DIGITS} digits, which Python's json.loads (and so Airflow) refuses to read`;
  return new HttpError(400, message, [{ field: 'body', message }]);
}

function tooDeep(): HttpError {
  const message = `the request body nests arrays and objects more than ${MAX_BODY_DEPTH} levels deep`;
  return new HttpError(400, message, [{ field: 'body', message }]);
}

/** Whether `value` nests arrays/objects more than `max` levels deep (iteratively: the depth is what is in doubt). */
function nestingDepthOver(value: unknown, max: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child as object, depth + 1]);
    }
  }
  return false;
}

function clientErrorBody(error: Error & { code?: string }, requestId: string): ErrorBody {
  if (error.code === 'HPE_HEADER_OVERFLOW') return { message: 'the request headers (URL included) are larger than the server accepts', requestId, statusCode: 431 };
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { message: 'the request took too long to arrive', requestId, statusCode: 408 };
  return { message: 'the request is not valid HTTP', requestId, statusCode: 400 };
}

function rawErrorResponse(body: ErrorBody): string {
  const text = JSON.stringify(body);
  return (
    `HTTP/1.1 ${body.statusCode} ${STATUS_CODES[body.statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\nx-request-id: ${body.requestId}\r\nConnection: close\r\n\r\n${text}`
  );
}

function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply, bodyLimit: number, log: ServerLogger) {
  const body = errorBody(error, request.id, bodyLimit);
  if (body.statusCode >= 500) {
    // Only the error's kind and where it came from: its message may quote request data.
    log({
      level: 'error',
      msg: 'request failed',
      requestId: request.id,
      route: request.routeOptions.url ?? 'unmatched',
      error: { name: error.name, code: (error as { code?: unknown }).code, at: error.stack?.split('\n').slice(1, 4).map((s) => s.trim()) },
    });
  }
  return reply.code(body.statusCode).send(body);
}

function errorBody(error: FastifyError, requestId: string, bodyLimit: number): ErrorBody {
  if (error instanceof HttpError) {
    return { message: error.message, requestId, statusCode: error.statusCode, ...(error.fieldErrors ? { fieldErrors: error.fieldErrors } : {}) };
  }
  if (error.validation) {
    const fieldErrors = error.validation.map((v) => toFieldError(v, error.validationContext));
    return {
      message: `invalid request: ${fieldErrors.map((e) => `${e.field} ${e.message}`).join('; ')}`,
      requestId,
      statusCode: 400,
      fieldErrors,
    };
  }
  const code = error.code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const message = `the request body is larger than the limit of ${bodyLimit} bytes`;
    return { message, requestId, statusCode: 400, fieldErrors: [{ field: 'body', message }] };
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const message = 'the request body must be JSON (Content-Type: application/json)';
    return { message, requestId, statusCode: 415, fieldErrors: [{ field: 'body', message }] };
  }
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    const message = 'the request body is empty: send a JSON object';
    return { message, requestId, statusCode: 400, fieldErrors: [{ field: 'body', message }] };
  }
  if (error instanceof SyntaxError || code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (error.statusCode === 400 && !code?.startsWith('FST_ERR_'))) {
    const message = 'the request body is not valid JSON';
    return { message, requestId, statusCode: 400, fieldErrors: [{ field: 'body', message }] };
  }
  // Postgres refusing a value (bad encoding, out of range) is the client's input, not a server fault.
  const pgCode = (error as { code?: string }).code;
  if (pgCode === '22021' || pgCode === '22P05' || pgCode === '22003' || pgCode === '54000') {
    const message = 'a value in the request cannot be stored';
    return { message, requestId, statusCode: 400, fieldErrors: [{ field: 'body', message }] };
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return { message: error.message, requestId, statusCode: error.statusCode };
  }
  // A secret sealed by another server process with a key this one was not given (checked at start, but a process
  // started with more keys may seal with one later): the operator's to fix, and said so, not an anonymous 500.
  if (error instanceof MasterKeyError) {
    return {
      message: 'this server process cannot open a stored secret: it was sealed with a master key this process was not given; ' +
        'start every server process with the same ENVMGR_SERVER_MASTER_KEY list',
      requestId, statusCode: 500,
    };
  }
  return { message: 'internal server error', requestId, statusCode: 500 };
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false', object: 'an object', array: 'an array', null: 'null',
};

/** ajv's `type` parameter ("integer", "integer,null" or a list) as words: "an integer or null". */
function typeNames(type: unknown): string {
  const names = (Array.isArray(type) ? type.map(String) : String(type).split(',')).map((t) => TYPE_NAMES[t] ?? t);
  return names.length <= 1 ? (names[0] ?? 'of another type') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function toFieldError(
  v: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> },
  context: string | undefined,
): FieldError {
  const parts = v.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (v.keyword === 'required' && typeof v.params.missingProperty === 'string') parts.push(v.params.missingProperty);
  if (v.keyword === 'additionalProperties' && typeof v.params.additionalProperty === 'string') parts.push(v.params.additionalProperty);
  let field = '';
  for (const part of parts) field += /^[0-9]+$/.test(part) ? `[${part}]` : field === '' ? part : `.${part}`;
  if (field === '') field = context ?? 'body';
  let message = v.message ?? 'is invalid';
  if (v.keyword === 'additionalProperties') message = 'is not a known field';
  else if (v.keyword === 'required') message = 'is required';
  else if (v.keyword === 'pattern' && field.endsWith('objectKey')) message = 'must be 1-200 characters of letters, digits, _ . -';
  else if (v.keyword === 'pattern' && v.params.pattern === '^[^\\u0000]*$') message = 'must not contain NUL characters';
  else if (v.keyword === 'type') message = `must be ${typeNames(v.params.type)}`;
  return { field, message };
}
