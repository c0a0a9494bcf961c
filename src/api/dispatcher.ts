import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, envHttpProxyAgent, type Dispatcher } from './undici.js';
import { UserError } from '../cli/errors.js';

export interface DispatcherOptions {
  env: NodeJS.ProcessEnv;
  /** Extra CA certificates (PEM) to trust, from `--ca-file`. */
  caFile?: string;
  /** Where caFile came from, for messages (default `--ca-file`). */
  caFileOrigin?: string;
  connectTimeoutMs?: number;
}

/**
 * The dispatcher every API request goes through: a proxy-aware agent when `HTTPS_PROXY` / `HTTP_PROXY` is set
 * (honouring `NO_PROXY`), a plain agent otherwise, with a connect timeout and the extra CAs.
 */
export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const ca = extraCertificates(opts);
  const tls = ca ? { ca } : {};
  const connect = { timeout: opts.connectTimeoutMs ?? 10_000, ...tls };
  const env = opts.env;
  const httpsProxy = env.HTTPS_PROXY ?? env.https_proxy;
  const httpProxy = env.HTTP_PROXY ?? env.http_proxy;
  if (httpsProxy || httpProxy) {
    // undici's own error for a proxy that is not a URL is a bare "Invalid URL" (and may quote a password in it).
    for (const [name, value] of [['HTTPS_PROXY', httpsProxy], ['HTTP_PROXY', httpProxy]] as const) {
      if (!value) continue;
      let protocol: string | undefined;
      try {
        protocol = new URL(value).protocol;
      } catch {
        // not a URL at all
      }
      if (protocol !== 'http:' && protocol !== 'https:') {
        throw new UserError(`${name} (or its lower-case spelling) is not an http:// or https:// URL; set it like http://proxy.example.com:3128`);
      }
    }
    const EnvHttpProxyAgent = envHttpProxyAgent();
    return new EnvHttpProxyAgent({
      httpProxy,
      httpsProxy,
      noProxy: env.NO_PROXY ?? env.no_proxy,
      connect,
      requestTls: tls,
      proxyTls: tls,
    });
  }
  return new Agent({ connect });
}

/**
 * Node adds `NODE_EXTRA_CA_CERTS` to its default store by itself, but an explicit `ca` option replaces that
 * store, so with `--ca-file` the bundled roots and the extra file are put back in.
 */
function extraCertificates(opts: DispatcherOptions): string[] | undefined {
  if (!opts.caFile) return undefined;
  const certs = [...rootCertificates];
  for (const [file, origin] of [[opts.env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS'], [opts.caFile, opts.caFileOrigin ?? '--ca-file']] as const) {
    if (!file) continue;
    try {
      certs.push(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new UserError(`cannot read the CA file ${file} (${origin}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; check the path`);
    }
  }
  return certs;
}
