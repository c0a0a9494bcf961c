// Security: planted secrets appear only where the user asked for them; file modes of everything envmgr writes;
// the server's authorization matrix (test/server/authz.test.ts, run as is); rate limiting of failed authentication.
import { spawn } from 'node:child_process';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  airflowDb, apiCall, cliEnv, FERNET_KEY, result, ROOT, runCli, startEnvironmentManager, tempHome,
} from './lib.mjs';

const SECRETS = { password: 'PLANTEDPW-a81f', extraToken: 'PLANTEDEXTRA-c3d2', variable: 'PLANTEDVAR-99e1', settingsPw: 'PLANTEDLOCAL-5b7c' };

/** opts: {authzMatrix?: boolean (run test/server/authz.test.ts through vitest), failedAuthAttempts?}. */
export async function securitySuite(h, opts = {}) {
  const r = result('security');
  let serverLog = '';
  const logStream = new PassThrough();
  logStream.on('data', (c) => (serverLog += c.toString()));
  const em = await startEnvironmentManager(h.createDatabase, { deployments: 1, logStream });
  try {
    const dep = em.deployments[0];
    await apiCall(em, 'POST', '/environment-objects', {
      objectKey: 'warehouse', objectType: 'CONNECTION', scope: 'DEPLOYMENT', scopeEntityId: dep,
      connection: { type: 'postgres', host: 'wh', login: 'etl', password: SECRETS.password, extra: { api_token: SECRETS.extraToken, region: 'eu' } },
    });
    await apiCall(em, 'POST', '/environment-objects', {
      objectKey: 'secret_var', objectType: 'AIRFLOW_VARIABLE', scope: 'DEPLOYMENT', scopeEntityId: dep, airflowVariable: { value: SECRETS.variable, isSecret: true },
    });
    const planted = [em.token, FERNET_KEY, ...Object.values(SECRETS)];
    const home = await tempHome();
    const project = join(home, 'project');
    // envmgr makes the project's .envmgr/ itself (config set), so its mode is envmgr's doing.
    await rm(join(project, '.envmgr'), { recursive: true });
    const env = cliEnv(home);
    const db = await airflowDb(h.createDatabase);
    const { writeFile } = await import('node:fs/promises');
    const settings = join(project, 'airflow_settings.yaml');
    await writeFile(settings, `airflow:\n  connections:\n    - conn_id: local_db\n      conn_type: postgres\n      conn_password: ${SECRETS.settingsPw}\n`, { mode: 0o600 });
    const mine = new Set([settings]);
    const target = ['--db-url', db, '--fernet-key', FERNET_KEY, '--wait', '5s'];

    // [args, stdin, which outputs may hold secrets]
    const commands = [
      [['login', em.url, '--with-token', '--workspace-id', em.workspaceId], em.token, []],
      [['auth', 'status'], '', []],
      [['auth', 'token'], '', ['stdout']],
      [['config', 'set', 'dev.db_url', db], '', []],
      [['config', 'list'], '', []],
      [['workspace', 'list'], '', []],
      [['deployment', 'list'], '', []],
      [['env', 'connection', 'list', '-d', dep], '', []],
      [['env', 'connection', 'list', '-d', dep, '--json'], '', []],
      [['env', 'connection', 'get', 'warehouse', '-d', dep], '', []],
      [['env', 'connection', 'list', '-d', dep, '--show-secrets'], '', ['stdout']],
      [['env', 'airflow-variable', 'list', '-d', dep], '', []],
      [['dev', 'start', '-d', dep, '--dry-run', ...target], '', []],
      [['dev', 'start', '-d', dep, ...target], '', []],
      [['dev', 'start', '-d', dep, '--json', ...target], '', []],
      [['object', 'import', '-s', settings, ...target], '', []],
      [['object', 'export', '-s', 'exported.yaml', ...target], '', ['stdout', 'file:exported.yaml']],
      [['object', 'export', '--env-export', '-e', 'exported.env', ...target], '', ['stdout', 'file:exported.env']],
      [['object', 'export', '--env-export', '-e', 'exported-json.env', '--serialization', 'json', ...target], '', ['stdout', 'file:exported-json.env']],
      [['dev', 'start', '-d', 'no-such-deployment', ...target], '', []],
      [['env', 'connection', 'get', 'no-such', '-d', dep], '', []],
      [['object', 'import', '--db-url', db, '--fernet-key', 'G84VGRVtqGB0kvOsZB72ye0ATDq-635Ss8x4AnXC_jg=', '--wait', '5s'], '', []],
      [['logout'], '', []],
    ];
    const allowedFiles = new Set();
    for (const [args, stdin, allowed] of commands) {
      const run = await runCli([...args, '--verbose'], { env, cwd: project, stdin });
      r.runs++;
      const label = args.slice(0, 3).join(' ');
      for (const a of allowed) if (a.startsWith('file:')) allowedFiles.add(join(project, a.slice(5)));
      for (const s of planted) {
        // The Fernet key and the token are what the user passed in; they must still never be echoed back.
        if (run.stderr.includes(s)) leak(r, `${label}: stderr holds ${mask(s)}`);
        if (!allowed.includes('stdout') && run.stdout.includes(s)) leak(r, `${label}: stdout holds ${mask(s)}`);
      }
    }
    // The secrets must have been reachable at all, or the scan proves nothing.
    const exported = await readFile(join(project, 'exported.yaml'), 'utf8').catch(() => '');
    if (!exported.includes(SECRETS.password)) {
      r.failures++;
      r.problems.push('the exported settings file lacks the planted password: the leak scan saw no secrets');
    }

    // Every file envmgr wrote (under the home directory and the project) besides those the user asked for.
    const modes = { files: 0, dirs: 0 };
    for (const root of [join(home, '.envmgr'), project]) {
      for (const entry of await walk(root)) {
        if (mine.has(entry.path)) continue;
        const st = await stat(entry.path);
        const mode = st.mode & 0o777;
        if (entry.dir) {
          if (entry.path === project) continue; // made by the test, not envmgr
          modes.dirs++;
          if (mode !== 0o700) bad(r, `directory ${relative(home, entry.path)} has mode ${mode.toString(8)}, expected 700`);
        } else {
          modes.files++;
          if (mode !== 0o600) bad(r, `file ${relative(home, entry.path)} has mode ${mode.toString(8)}, expected 600`);
          if (!allowedFiles.has(entry.path)) {
            const text = await readFile(entry.path, 'utf8');
            for (const s of planted) if (text.includes(s)) leak(r, `file ${relative(home, entry.path)} holds ${mask(s)}`);
          }
        }
      }
    }
    r.figures.commandsScanned = commands.length;
    r.figures.plantedSecrets = planted.length;
    r.figures.filesChecked = modes.files;
    r.figures.dirsChecked = modes.dirs;
    for (const s of planted) if (serverLog.includes(s)) leak(r, `the server log holds ${mask(s)}`);
    r.figures.serverLogBytesScanned = serverLog.length;

    // Failed authentication: does the server slow down or refuse a client guessing tokens?
    const attempts = opts.failedAuthAttempts ?? 200;
    const statuses = {};
    for (let i = 0; i < attempts; i++) {
      const res = await fetch(`${em.url}/v1/users/self`, { headers: { authorization: `Bearer guess-${i}-${Math.random()}` } });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status >= 500) {
        r.failures++;
        r.problems.push(`failed authentication answered ${res.status}`);
      }
    }
    r.figures.failedAuthAttempts = attempts;
    r.figures.failedAuthStatuses = statuses;
    // The server's default limit is 100 refused tokens per client per minute (src/server/auth-limit.ts).
    if (attempts > 100 && !statuses[429]) {
      r.failures++;
      r.problems.push(`no rate limiting of failed authentication: ${attempts} bad tokens from one client in a row all answered ${Object.keys(statuses).join('/')} (never 429)`);
    }

    if (opts.authzMatrix) {
      const run = await vitest(['test/server/authz.test.ts']);
      r.runs++;
      r.figures.authzMatrix = run.summary;
      if (run.code !== 0) {
        r.failures++;
        r.problems.push(`authorization matrix (test/server/authz.test.ts) failed: ${run.summary}`);
      }
    }
    return r;
  } finally {
    await em.close();
  }
}

function mask(secret) {
  return `${secret.slice(0, 6)}…`;
}

function leak(r, what) {
  r.failures++;
  r.problems.push(`LEAK: ${what}`);
}

function bad(r, what) {
  r.failures++;
  r.problems.push(what);
}

async function walk(root) {
  const out = [];
  const entries = await readdir(root, { withFileTypes: true, recursive: true }).catch(() => []);
  out.push({ path: root, dir: true });
  for (const e of entries) out.push({ path: join(e.parentPath, e.name), dir: e.isDirectory() });
  return out;
}

/** Runs vitest on some test files (the project's own config and its Postgres). */
function vitest(files) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', ...files], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c.toString()));
    child.stderr.on('data', (c) => (out += c.toString()));
    child.on('close', (code) => {
      const tests = /Tests\s+(.+)/.exec(out)?.[1]?.trim() ?? 'no summary';
      resolve({ code, summary: `${files.join(' ')}: ${tests}` });
    });
  });
}
