import { createRequire } from 'node:module';
import type * as Undici from 'undici';

/**
 * The parts of undici envmgr uses, required from their own modules. undici's index also builds fetch, WebSocket,
 * the caches, the mocks and the interceptors, and touching the web globals it needs loads Node's own copy of undici
 * as well: ~60 ms of every CLI run that talks to the API (measured: +96 ms for `require('undici')` against +37 ms
 * for these modules, Node 20 on the CI machine). The classes are undici's own (src/api/undici.test.ts checks that
 * each is the very one the index exports, so a release that moves a file fails the tests, not the CLI).
 */
const require = createRequire(import.meta.url);

const DispatcherClass = require('undici/lib/dispatcher/dispatcher') as typeof Undici.Dispatcher;
// What undici's index does: the request/stream/pipeline/upgrade/connect methods live on Dispatcher.prototype
// (ProxyAgent's CONNECT tunnel needs `connect`).
Object.assign(DispatcherClass.prototype, require('undici/lib/api') as object);

export const Agent = require('undici/lib/dispatcher/agent') as typeof Undici.Agent;

/** Loaded only when a proxy is configured. */
export function envHttpProxyAgent(): typeof Undici.EnvHttpProxyAgent {
  return require('undici/lib/dispatcher/env-http-proxy-agent') as typeof Undici.EnvHttpProxyAgent;
}

export type { Dispatcher } from 'undici';

let fallback: Undici.Dispatcher | undefined;

/**
 * `undici.request(url, options)`: the same URL-to-origin/path split and default method, on the given dispatcher or,
 * without one, a shared plain agent.
 */
export function request(
  url: string | URL,
  options: Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & { method?: Undici.Dispatcher.HttpMethod; dispatcher?: Undici.Dispatcher | undefined },
): Promise<Undici.Dispatcher.ResponseData> {
  const target = typeof url === 'string' ? new URL(url) : url;
  const { dispatcher, ...rest } = options;
  const via = dispatcher ?? (fallback ??= new Agent());
  return via.request({
    ...rest,
    origin: target.origin,
    path: target.search ? `${target.pathname}${target.search}` : target.pathname,
    method: options.method ?? (options.body ? 'PUT' : 'GET'),
  });
}
