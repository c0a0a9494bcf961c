// envmgr's main job end to end on an embedded default, with nothing installed but this package:
//   1. an Environment Manager dev server (embedded Postgres, seeded demo organization, owner token),
//   2. a local Airflow metadata database (embedded Postgres holding Airflow 3.1's tables),
//   3. `envmgr login`, `workspace list`, `deployment list`, `dev start --deployment-id <demo deployment>`,
//   4. the synced rows read back from the metadata database, decrypted with the Fernet key,
// then it stops both servers and removes their temporary files. Run it with `npm run demo`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', p);
const { startDevServer } = await import(dist('server/index.js'));
const { startEmbeddedPostgres } = await import(dist('pg/embedded.js'));
const { loadSchemaFixture, connectAirflowDb, detectAirflowSchema, readAirflowObjects } = await import(dist('metadb/index.js'));
const { parseFernetKeys } = await import(dist('airflow/fernet.js'));
const { formatConnectionUri } = await import(dist('index.js'));

const say = (text) => process.stdout.write(`\n\u001b[1m== ${text}\u001b[0m\n`);
const work = await mkdtemp(join(tmpdir(), 'envmgr-demo-'));
const project = join(work, 'project');
await mkdir(join(project, '.envmgr'), { recursive: true });
// A Fernet key like the one a local Airflow would have in AIRFLOW__CORE__FERNET_KEY.
const fernetKey = randomBytes(32).toString('base64url') + '=';
const env = {
  ...process.env,
  ENVMGR_HOME: join(work, 'envmgr-home'),
  // The demo stores its login in a file under the temporary home rather than in your keychain.
  DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent',
  AIRFLOW__CORE__FERNET_KEY: fernetKey,
};
delete env.ENVMGR_API_TOKEN;
delete env.ENVMGR_DOMAIN;

function envmgr(args, opts = {}) {
  process.stdout.write(`\n$ envmgr ${args.map((a) => (/[\s]/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [dist('cli/main.js'), ...args], { cwd: project, env, stdio: ['pipe', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`envmgr ${args[0]} exited with ${code}`))));
    child.stdin.end(opts.stdin ?? '');
  });
}

let server;
let airflowPg;
let failed = false;
let cleaned;
function cleanup() {
  cleaned ??= (async () => {
    say('Cleaning up');
    await server?.close().catch(() => undefined);
    await airflowPg?.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
    console.log('Stopped the dev server and the metadata database; removed the temporary files.');
  })();
  return cleaned;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping`);
    cleanup().finally(() => process.exit(130));
  });
}
try {
  say('Starting an Environment Manager dev server (embedded Postgres, seeded demo organization)');
  server = await startDevServer({ home: join(work, 'server-home'), ephemeral: true, host: '127.0.0.1', port: 0 });
  const deployment = server.seed.deployments.find((d) => d.id === server.seed.demoDeploymentId);
  console.log(`Environment Manager at ${server.url}; demo deployment ${deployment.name} (${deployment.id}) in ${deployment.workspaceName}`);

  say("Starting a local Airflow metadata database (embedded Postgres with Airflow 3.1's tables)");
  airflowPg = await startEmbeddedPostgres({ fast: true });
  const dbUrl = await airflowPg.createDatabase('airflow');
  await loadSchemaFixture(dbUrl, '3.1');
  console.log(`Metadata database at ${dbUrl.replace(/:[^:@/]*@/, ':****@')}`);

  say('Logging in and looking around');
  await envmgr(['login', server.url, '--with-token', '--workspace-id', deployment.workspaceId], { stdin: server.token });
  await envmgr(['config', 'set', '-g', 'disable_env_objects', 'false']);
  await envmgr(['workspace', 'list']);
  await envmgr(['deployment', 'list']);

  say('Syncing the deployment into the local Airflow');
  await envmgr(['dev', 'start', '--deployment-id', deployment.id, '--db-url', dbUrl, '--wait', '30s']);

  say('Running it again: nothing changes');
  await envmgr(['dev', 'start', '--deployment-id', deployment.id, '--db-url', dbUrl, '--wait', '30s']);

  say('What the local Airflow now holds (decrypted with its Fernet key; secrets masked here)');
  const client = await connectAirflowDb(dbUrl);
  try {
    const info = await detectAirflowSchema(client);
    const state = await readAirflowObjects(client, info, parseFernetKeys(fernetKey, 'AIRFLOW__CORE__FERNET_KEY'));
    for (const c of state.connections.values()) {
      // Airflow's URI form without the extra (it can hold secrets), the password replaced by a marker shown as ****.
      const uri = formatConnectionUri({ ...c, extra: null, password: c.password ? 'PASSWORD' : c.password });
      console.log(`connection ${c.conn_id.padEnd(24)} ${uri.replace(':PASSWORD@', ':****@')}`);
    }
    for (const v of state.variables.values()) console.log(`variable   ${v.key.padEnd(24)} ${v.value && v.value.length > 0 ? '(set)' : '(empty)'}`);
    const encrypted = await client.query('SELECT count(*)::int AS n FROM connection WHERE is_encrypted OR is_extra_encrypted');
    console.log(`${encrypted.rows[0].n} connection rows carry Fernet-encrypted fields, as Airflow writes them.`);
  } finally {
    await client.end();
  }
} catch (err) {
  failed = true;
  console.error(`demo failed: ${err instanceof Error ? err.message : err}`);
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
