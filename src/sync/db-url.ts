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
 * The URL with its password replaced, for messages and logs: in the user part, up to the URL's last '@' (a '/', '?',
 * '#', ':', '@' or a quote in the password leaves nothing in clear; SQLAlchemy reads such passwords), and in the
 * query (libpq, and so `pg`, takes `?password=…`, `?sslpassword=…` too).
 */
export function redactDbUrl(url: string): string {
  const user = /^\s*[a-z][a-z0-9+.-]*:\/\/[^\s/@:'"]*:/i.exec(url);
  const at = url.lastIndexOf('@');
  const masked = user && at >= user[0].length ? `${user[0]}****${url.slice(at)}` : url;
  return masked.replace(/([?&][a-z0-9_]*password=)[^&#]*/gi, '$1****').replace(KEYWORD_PASSWORD, '$1****');
}

/** `scheme://user:` (the user part being group 2). */
const USER_PART = /([a-z][a-z0-9+.-]*:\/\/)([^\s/@:'"]*):/gi;

/** A password given in a URL's query: `?password=…`, `&sslpassword=…`; the name and `=` are group 1. */
const QUERY_PASSWORD = /([?&][a-z0-9_]*password=)[^&\s#'"]*/gi;

/**
 * Every URL password in a text (a shell command, say) replaced with `****`, in the user part or the query. A URL
 * runs to a blank, or to its closing quote when a quote opens it; its password, to the URL's last '@'.
 */
export function maskUrlPasswords(text: string): string {
  let out = '';
  let done = 0;
  for (const m of text.matchAll(USER_PART)) {
    const start = m.index;
    if (start < done) continue;
    const before = text[start - 1];
    const quote = before === "'" || before === '"' ? before : undefined;
    let end = start;
    while (end < text.length && !/\s/.test(text[end]!) && text[end] !== quote) end++;
    const at = text.lastIndexOf('@', end - 1);
    // No '@' after `user:`: a host and port (`http://example.com:8080/x`), not a password.
    if (at < start + m[0].length) continue;
    out += `${text.slice(done, start + m[0].length)}****`;
    done = at;
  }
  return (out + text.slice(done)).replace(QUERY_PASSWORD, '$1****').replace(KEYWORD_PASSWORD, '$1****');
}

/**
 * A password as libpq's keyword/value form spells it (`host=h password=pw dbname=d`, quoted or not), or as the
 * environment gives it to psql (`PGPASSWORD=pw psql …`); the part before the value is group 1.
 */
const KEYWORD_PASSWORD = /((?:^|[\s;&|(])(?:password|PGPASSWORD)\s*=\s*)('[^']*'|"[^"]*"|[^\s;&|)]+)/g;

/**
 * Whether a text holds a URL with a password: whether masking changes it, or (so that nothing slips past a quoting
 * masking does not follow) a `scheme://user:…@` appears in it at all.
 */
export function holdsUrlPassword(text: string): boolean {
  return maskUrlPasswords(text) !== text || /[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:\S*@/i.test(text);
}
