/** Astro CLI's local metadata database (its compose file's Postgres, published on localhost:5432). */
export const ASTRO_LOCAL_DB_URL = 'postgresql://postgres:postgres@localhost:5432/postgres';

export interface DbUrlInputs {
  flag?: string;
  env: Readonly<Record<string, string | undefined>>;
  /** `dev.db_url` from the project or global config. */
  configured?: string;
}

export interface ResolvedDbUrl {
  url: string;
  source: string;
}

/**
 * DESIGN.md §The main job step 2. The project `.env` is deliberately not consulted: it holds the containers' view of
 * the database (host `postgres`), which does not resolve from the developer's machine.
 */
export function resolveDbUrl(inputs: DbUrlInputs): ResolvedDbUrl {
  if (inputs.flag) return { url: inputs.flag, source: '--db-url' };
  for (const name of ['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN', 'AIRFLOW__CORE__SQL_ALCHEMY_CONN']) {
    const value = inputs.env[name];
    if (value) return { url: value, source: `${name} in the environment` };
  }
  if (inputs.configured) return { url: inputs.configured, source: 'dev.db_url' };
  return { url: ASTRO_LOCAL_DB_URL, source: "Astro's local default" };
}

/**
 * The URL with its password replaced, for messages and logs: in the user part, and in the query (libpq, and so
 * `pg`, takes `?password=…`, `?sslpassword=…` too).
 */
export function redactDbUrl(url: string): string {
  return maskUrlPasswords(url);
}

/**
 * A URL with a password (`scheme://user:password@`), anywhere in a text; the user part is group 1. The password is
 * taken to run to the last '@' before a blank or a quote: an unescaped '/', '?', '#', ':' or '@' in it (which
 * SQLAlchemy accepts) must not leave part of it in clear; a later '@' of something else only masks more.
 */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s/@:'"]*):[^\s'"]*@/gi;

/** A password given in a URL's query: `?password=…`, `&sslpassword=…`; the name and `=` are group 1. */
const QUERY_PASSWORD = /([?&][a-z0-9_]*password=)[^&\s#'"]*/gi;

/** Every URL password in a text (a shell command, say) replaced with `****`, in the user part or the query. */
export function maskUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, '$1:****@').replace(QUERY_PASSWORD, '$1****');
}

/** Whether a text holds a URL with a password: whether masking changes it. */
export function holdsUrlPassword(text: string): boolean {
  return maskUrlPasswords(text) !== text;
}
