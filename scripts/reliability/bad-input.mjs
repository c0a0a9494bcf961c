// The bad-input corpus (fixtures/bad-input): every case must give a clear error, the right exit code, no stack
// trace, and write nothing (metadata database byte-for-byte unchanged; on the server, no object created).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CORPUS } from './generate-bad-input.mjs';
import {
  airflowDb, FERNET_KEY, pool, rawDump, result, runCli, STACK_LINE, startEnvironmentManager, tempHome, tokenEnv, cliEnv,
} from './lib.mjs';

const VALID_SETTINGS = 'airflow:\n  connections:\n    - conn_id: base_http\n      conn_type: http\n      conn_host: example.com\n      conn_password: base-secret\n  variables:\n    - variable_name: base_var\n      variable_value: base\n';

/** Every case of the corpus as {kind, name, path}; `sample` keeps every n-th case of each kind. */
export async function corpusCases(sample = 1) {
  const cases = [];
  for (const kind of ['settings', 'env', 'uri', 'api', 'cli']) {
    const files = (await readdir(join(CORPUS, kind))).sort();
    files.forEach((name, i) => i % sample === 0 && cases.push({ kind, name, path: join(CORPUS, kind, name) }));
  }
  return cases;
}

/** A clear error: something on stderr, no stack trace, nothing that looks like an internal error. */
function unclear(stderr) {
  if (!stderr.trim()) return 'nothing on stderr';
  if (STACK_LINE.test(stderr)) return 'a stack trace';
  if (/\[object Object\]|\bundefined\b|TypeError: Cannot|is not a function|ReferenceError|Unexpected token|re-run with --verbose/.test(stderr)) return `an internal error: ${stderr.trim().split('\n')[0]}`;
  return undefined;
}

/** opts: {sample?: n (every n-th case), concurrency?}. */
export async function badInputSuite(h, opts = {}) {
  const r = result('bad input');
  const em = await startEnvironmentManager(h.createDatabase, { deployments: 1 });
  try {
    const home = await tempHome();
    const cwd = `${home}/project`;
    const env = cliEnv(home);
    const db = await airflowDb(h.createDatabase);
    const validPath = join(cwd, 'valid.yaml');
    await writeFile(validPath, VALID_SETTINGS);
    const base = await runCli(['object', 'import', '-s', validPath, '--db-url', db, '--fernet-key', FERNET_KEY, '--wait', '5s'], { env, cwd });
    if (base.code !== 0) throw new Error(`base import failed: ${base.stderr}`);
    const before = await rawDump(db);
    const target = ['--db-url', db, '--fernet-key', FERNET_KEY, '--wait', '5s'];
    const objectsBefore = await countObjects(em);
    const cases = await corpusCases(opts.sample ?? 1);
    const byKind = {};
    // A case marked `known` (an issue outside envmgr's reach, e.g. in Node itself) is reported as a finding.
    const known = new Set();
    const fail = (c, why) => {
      if (c.known) {
        if (!known.has(c.name)) r.findings.push(`${c.kind}/${c.name}: ${c.known} (${why})`);
        known.add(c.name);
        return;
      }
      r.failures++;
      r.problems.push(`${c.kind}/${c.name}: ${why}`);
    };

    await pool(cases, opts.concurrency ?? 3, async (c) => {
      byKind[c.kind] = (byKind[c.kind] ?? 0) + 1;
      r.runs++;
      const text = await readFile(c.path, 'utf8');
      if (c.kind === 'api' || c.kind === 'cli') c.known = JSON.parse(text).known;
      if (c.kind === 'api') return apiCase(em, c, JSON.parse(text), fail);
      let args;
      let want = 1;
      let name = c.name;
      if (c.kind === 'settings') args = ['object', 'import', '-s', c.path, ...target];
      else if (c.kind === 'env') args = ['object', 'import', '--env-file', c.path, ...target];
      else if (c.kind === 'uri') {
        // The URI as conn_uri in a settings file (a JSON string is a valid YAML scalar, so only the URI is wrong).
        const file = join(cwd, `uri-${c.name}.yaml`);
        await writeFile(file, `airflow:\n  connections:\n    - conn_id: from_uri\n      conn_uri: ${JSON.stringify(text)}\n`);
        args = ['object', 'import', '-s', file, ...target];
        name = `uri-${c.name}.yaml`;
      } else {
        const spec = JSON.parse(text);
        const bad = join(CORPUS, 'settings', 'gen-port-2.yaml');
        args = spec.args.map((a) => a.replace('{db}', db).replace('{key}', FERNET_KEY).replace('{valid}', validPath).replace('{bad}', bad));
        want = spec.exit;
        name = undefined;
      }
      const run = await runCli(args, { env, cwd, timeoutMs: 60_000 });
      if (run.code !== want) fail(c, `exit ${run.code}, expected ${want}: ${run.stderr.trim().split('\n')[0]}`);
      const why = unclear(run.stderr);
      if (why) fail(c, why);
      if (name && c.kind !== 'cli' && !run.stderr.includes(name)) fail(c, `the error does not name the file: ${run.stderr.trim().split('\n')[0]}`);
    });
    if ((await rawDump(db)) !== before) {
      r.partialStates++;
      r.problems.push('the metadata database changed during the bad-input runs');
    }
    const objectsAfter = await countObjects(em);
    if (objectsAfter !== objectsBefore) {
      r.partialStates++;
      r.problems.push(`the server holds ${objectsAfter - objectsBefore} more object(s) after the bad payloads`);
    }
    r.figures.cases = byKind;
    r.figures.total = cases.length;
    return r;
  } finally {
    await em.close();
  }
}

async function countObjects(em) {
  const { sql } = await import('./lib.mjs');
  const rows = await sql(em.databaseUrl, "SELECT count(*)::int AS n FROM pg_stat_user_tables WHERE relname LIKE '%object%'");
  const tables = await sql(em.databaseUrl, "SELECT relname FROM pg_stat_user_tables WHERE relname LIKE '%object%' ORDER BY 1");
  let n = rows[0].n * 0;
  for (const t of tables) n += (await sql(em.databaseUrl, `SELECT count(*)::int AS n FROM "${t.relname}"`))[0].n;
  return n;
}

async function apiCase(em, c, spec, fail) {
  const path = spec.path.replaceAll('{ws}', em.workspaceId).replaceAll('{dep}', em.deployments[0]);
  const body = (spec.raw ?? (spec.body === undefined ? undefined : JSON.stringify(spec.body)))?.replaceAll('{ws}', em.workspaceId).replaceAll('{dep}', em.deployments[0]);
  const res = await fetch(`${em.url}/v1/organizations/${em.organizationId}${path}`, {
    method: spec.method,
    headers: { authorization: `Bearer ${em.token}`, ...(body !== undefined ? { 'content-type': spec.contentType ?? 'application/json' } : {}) },
    body,
  });
  const text = await res.text();
  if (res.status < 400 || res.status >= 500) return fail(c, `HTTP ${res.status}, expected 4xx: ${text.slice(0, 200)}`);
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail(c, `HTTP ${res.status} with a body that is not JSON`);
  }
  if (typeof parsed.message !== 'string' || !parsed.message || parsed.statusCode !== res.status) fail(c, `error body without message/statusCode: ${text.slice(0, 200)}`);
  if (STACK_LINE.test(text)) fail(c, 'a stack trace in the error body');
}

// tokenEnv is used by callers that log in; kept exported from lib.
void tokenEnv;
