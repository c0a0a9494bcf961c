import { UsageError } from '../cli/errors.js';

/** Domains of Astro itself, whose API lives at `https://api.<domain>`. */
const ASTRO_DOMAINS = ['astronomer.io', 'astronomer-dev.io', 'astronomer-stage.io', 'astronomer-perf.io'];

export interface Endpoint {
  /** The key for config contexts and the keychain account: `astronomer.io`, `localhost:8080`. */
  domain: string;
  /** Without `/v1` and without a trailing slash. */
  apiUrl: string;
}

/** A host name or address, an optional port, an optional trailing slash. */
const BARE_HOST = /^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(?::\d{1,5})?\/?$/i;

/**
 * Turns what the user typed into a domain and an API URL (API.md §Conventions): `astronomer.io`,
 * `cloud.astronomer.io` and `https://astronomer.io/` all mean `https://api.astronomer.io`; any other full URL is
 * used as it is; a bare host means `https://api.<host>`, except localhost and IP addresses (`http://` as given).
 */
export function resolveEndpoint(input: string): Endpoint {
  const text = input.trim();
  if (text === '') throw new UsageError('empty domain; pass a domain such as astronomer.io or a URL such as http://localhost:8080');
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  // Without a scheme, only a host (and a port) is a domain: `http:/host` or `host/path` would otherwise turn into
  // `https://api.http` and the like.
  if (!hasScheme && !BARE_HOST.test(text)) {
    const slip = /^(https?):\/*/i.exec(text);
    const hint = slip ? `; did you mean ${slip[1]!.toLowerCase()}://${text.slice(slip[0].length)}?` : '; pass e.g. astronomer.io or http://localhost:8080';
    throw new UsageError(`"${input}" is neither a domain nor a URL${hint}`);
  }
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `https://${text}`);
  } catch {
    throw new UsageError(`"${input}" is neither a domain nor a URL; pass e.g. astronomer.io or http://localhost:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`unsupported scheme ${url.protocol} in "${input}"; use http:// or https://`);
  }
  const host = url.hostname.toLowerCase();
  const astro = ASTRO_DOMAINS.find((d) => host === d || host.endsWith(`.${d}`));
  if (astro && !url.port) return { domain: astro, apiUrl: `https://api.${astro}` };
  const local = host === 'localhost' || /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith('[');
  const domain = url.host.toLowerCase();
  if (hasScheme || local) {
    const scheme = hasScheme ? url.protocol : 'http:';
    const path = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
    return { domain, apiUrl: `${scheme}//${url.host}${path}` };
  }
  return { domain, apiUrl: `https://api.${domain}` };
}
