// Writing connections into an Airflow metadata database: envmgr's whole sync (lock, key check, read + decrypt,
// plan, encrypt, batched upserts, sync state, commit) against a raw bulk load of the same rows, already encrypted,
// with `psql \copy … FROM file (FORMAT csv)` — Postgres' fastest client-side path. Same embedded Postgres
// (durable settings: fsync on), same run, Airflow 3.2 schema fixture.
//
// The envmgr side runs in a child process so that its peak RSS (process.resourceUsage().maxRSS) is its own.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
const dist = new URL('../dist/', import.meta.url);
const N = 10_000;
const RUNS = Number(process.env.BENCH_METADB_RUNS ?? 9);

function connection(i, variant) {
  return {
    conn_id: `bench_conn_${String(i).padStart(5, '0')}`,
    conn_type: 'postgres',
    description: `benchmark connection ${i}`,
    host: `db-${i}.internal.example.com`,
    login: `user_${i}`,
    password: `pw-${variant}-${i}-0123456789abcdef`,
    schema: 'analytics',
    port: 5432,
    extra: { sslmode: 'require', application_name: `app_${i}`, connect_timeout: 10 },
  };
}

/** variant 0 everywhere, or (half) variant 1 on even indices. */
function desired(half) {
  return Array.from({ length: N }, (_, i) => {
    const object = connection(i, half && i % 2 === 0 ? 1 : 0);
    return { kind: 'connection', key: object.conn_id, source: 'bench', object };
  });
}

const KEY = 'Z2Fh1EulxLzv8bK-Cgfk8LYaSQFhHt0HZsC_qlfg0Qs=';

// ---- child: one envmgr sync, timed from connect to commit -----------------------------------------------------
async function child(mode, url) {
  // As the CLI runs a sync (sync/target.ts sets it when it opens the metadata database).
  const { tuneV8ForShortRun } = await import(new URL('js-tiering.js', dist));
  tuneV8ForShortRun();
  const { parseFernetKeys } = await import(new URL('airflow/fernet.js', dist));
  const { connectAirflowDb } = await import(new URL('metadb/connect.js', dist));
  const { syncAirflowDb } = await import(new URL('metadb/apply.js', dist));
  const keys = parseFernetKeys(KEY, 'bench');
  if (mode === 'floor') {
    const client = await connectAirflowDb(url);
    await client.query('SELECT 1');
    await client.end();
    process.stdout.write(JSON.stringify({ seconds: 0, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
    return;
  }
  const want = desired(mode === 'half');
  // CPU time (ms) of this process's main thread and of the whole process (JIT and GC threads included) over the
  // timed span (Linux /proc for the thread; null elsewhere): where the time goes.
  const onCpu = (path) => {
    try {
      return Number(readFileSync(path, 'utf8').split(' ')[0]) / 1e6;
    } catch {
      return null;
    }
  };
  const started = process.hrtime.bigint();
  const client = await connectAirflowDb(url);
  const mainBefore = onCpu(`/proc/self/task/${process.pid}/schedstat`);
  const cpuBefore = process.cpuUsage();
  const outcome = await syncAirflowDb(client, want, { keys });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const mainAfter = onCpu(`/proc/self/task/${process.pid}/schedstat`);
  // The Postgres backend's CPU over its whole life (its start-up and login included): the other side of the work.
  // Read after the timed span; the embedded server runs on this machine.
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
  const backendCpuMs = onCpu(`/proc/${rows[0].pid}/schedstat`);
  await client.end();
  process.stdout.write(JSON.stringify({
    seconds, counts: outcome.plan.counts, maxRssMb: process.resourceUsage().maxRSS / 1024,
    mainThreadCpuMs: mainBefore === null || mainAfter === null ? null : Math.round(mainAfter - mainBefore),
    processCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    backendCpuMs: backendCpuMs === null ? null : Math.round(backendCpuMs),
  }));
}

function runChild(mode, url) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [here, 'child', mode, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`bench child ${mode} exited ${code}`))));
  });
}

function csvField(v) {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  const { startEmbeddedPostgres } = await import(new URL('pg/embedded.js', dist));
  const { loadSchemaFixture } = await import(new URL('metadb/fixtures.js', dist));
  const { fernetEncrypt, parseFernetKeys } = await import(new URL('airflow/fernet.js', dist));
  const { pythonJsonDumps } = await import(new URL('airflow/pyjson.js', dist));
  const psql = spawnSync('psql', ['--version'], { encoding: 'utf8' });
  if (psql.status !== 0) throw new Error('metadb bench needs psql on PATH for the \\copy baseline');

  const server = await startEmbeddedPostgres({ fast: false });
  const tmp = await mkdtemp(join(tmpdir(), 'envmgr-bench-'));
  let db = 0;
  const freshDb = async () => {
    const url = await server.createDatabase(`bench_${db++}`);
    await loadSchemaFixture(url, '3.2');
    return url;
  };
  try {
    // The baseline's input: the rows envmgr would write, encrypted beforehand (outside the timing).
    const keys = parseFernetKeys(KEY, 'bench');
    const lines = desired(false).map(({ object: c }) => [
      c.conn_id, c.conn_type, c.description, c.host, c.schema, c.login, fernetEncrypt(keys, c.password), c.port, 't', 't',
      fernetEncrypt(keys, pythonJsonDumps(c.extra)),
    ].map(csvField).join(','));
    const csv = join(tmp, 'connections.csv');
    await writeFile(csv, lines.join('\n') + '\n');
    const copyCmd = `\\copy connection (conn_id, conn_type, description, host, schema, login, password, port, is_encrypted, is_extra_encrypted, extra) FROM '${csv}' WITH (FORMAT csv)`;
    // The raw way to write the rows that differ into a database that has them all: COPY into a temporary table, then
    // one UPDATE … FROM it (a plain COPY would fail on the unique key). Same 5,000 rows envmgr updates.
    const columns = 'conn_id, conn_type, description, host, schema, login, password, port, is_encrypted, is_extra_encrypted, extra';
    const changedCsv = join(tmp, 'changed.csv');
    await writeFile(changedCsv, desired(true).filter((_, i) => i % 2 === 0).map(({ object: c }) => [
      c.conn_id, c.conn_type, c.description, c.host, c.schema, c.login, fernetEncrypt(keys, c.password), c.port, 't', 't',
      fernetEncrypt(keys, pythonJsonDumps(c.extra)),
    ].map(csvField).join(',')).join('\n') + '\n');
    // Rows known to exist are written fastest by one UPDATE … FROM the stage (a join), faster than INSERT … ON
    // CONFLICT DO UPDATE, which tries an insert per row first: both envmgr and the raw baseline write them so.
    const updateFromStage = `UPDATE connection t SET ` +
      columns.split(', ').filter((c) => c !== 'conn_id').map((c) => `${c} = s.${c}`).join(', ') + ' FROM stage s WHERE t.conn_id = s.conn_id';
    const upsertSql = join(tmp, 'upsert.sql');
    await writeFile(upsertSql, [
      `CREATE TEMPORARY TABLE stage ON COMMIT DROP AS SELECT ${columns} FROM connection WITH NO DATA;`,
      `\\copy stage (${columns}) FROM '${changedCsv}' WITH (FORMAT csv)`,
      `${updateFromStage};`,
      '',
    ].join('\n'));

    // Interleaved, so that load from anything else on the machine falls on both sides alike.
    const copyTimes = [];
    const emptyTimes = [];
    const halfTimes = [];
    const upsertTimes = [];
    const rss = [];
    const emptyCpu = [];
    const halfCpu = [];
    for (let r = 0; r < RUNS; r++) {
      const copyUrl = await freshDb();
      const started = process.hrtime.bigint();
      const res = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', copyUrl, '-c', copyCmd], { encoding: 'utf8' });
      copyTimes.push(Number(process.hrtime.bigint() - started) / 1e9);
      if (res.status !== 0) throw new Error(`psql \\copy failed: ${res.stderr}`);

      const url = await freshDb();
      const first = await runChild('all', url);
      if (first.counts.create !== N) throw new Error(`expected ${N} creates, got ${JSON.stringify(first.counts)}`);
      emptyTimes.push(first.seconds);
      emptyCpu.push([first.mainThreadCpuMs, first.processCpuMs, first.backendCpuMs]);
      rss.push(first.maxRssMb);
      const second = await runChild('half', url);
      if (second.counts.update !== N / 2 || second.counts.unchanged !== N / 2) {
        throw new Error(`expected ${N / 2} updates and ${N / 2} unchanged, got ${JSON.stringify(second.counts)}`);
      }
      halfTimes.push(second.seconds);

      // The like-for-like baseline of the half-differ case, on a database in the same state (after a first sync).
      const upsertUrl = await freshDb();
      await runChild('all', upsertUrl);
      const upsertStarted = process.hrtime.bigint();
      const upsert = spawnSync('psql', ['-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-d', upsertUrl, '-f', upsertSql], { encoding: 'utf8' });
      upsertTimes.push(Number(process.hrtime.bigint() - upsertStarted) / 1e9);
      if (upsert.status !== 0) throw new Error(`psql upsert failed: ${upsert.stderr}`);
      halfCpu.push([second.mainThreadCpuMs, second.processCpuMs, second.backendCpuMs]);
      rss.push(second.maxRssMb);
    }
    const floor = await runChild('floor', await freshDb());

    // The floor of this design: only the statements envmgr sends for the empty-database case (COPY of the
    // pre-encrypted connection rows, the sync-state table and its one document, commit), from an already connected,
    // warmed-up process: what Postgres itself needs for envmgr's writes, with no Node work at all.
    const { default: pg } = await import('pg');
    const { copyFrom } = await import(new URL('metadb/copy.js', dist));
    const { connectionCanonicalText, createSyncStateTable, serializeSyncState, writeSyncState } = await import(new URL('metadb/sync-state.js', dist));
    const { digestsFor } = await import(new URL('metadb/digests.js', dist));
    const { detectAirflowSchema } = await import(new URL('metadb/schema.js', dist));
    const tsvField = (v) => (v === null || v === undefined ? '\\N' : String(v).replace(/[\\\n\r\t]/g, (c) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]));
    const rowsTsv = Buffer.from(desired(false).map(({ object: c }) => [
      c.conn_id, c.conn_type, c.description, c.host, c.schema, c.login, fernetEncrypt(keys, c.password), c.port, 't', 't',
      fernetEncrypt(keys, pythonJsonDumps(c.extra)),
    ].map(tsvField).join('\t')).join('\n') + '\n');
    const all = { connectionDescription: true, variableDescription: true, poolDescription: true, includeDeferred: true };
    const objects = desired(false).map(({ object }) => object);
    const digests = digestsFor(keys).many('connection', all, objects.map((c) => connectionCanonicalText(c, all)));
    const stateText = serializeSyncState(objects.map((c, i) => ({ kind: 'connection', key: c.conn_id, source: 'bench', hash: digests[i], rowHash: 'xmin:123456' })));
    const statementTimes = [];
    for (let r = 0; r < RUNS; r++) {
      const client = new pg.Client({ connectionString: await freshDb() });
      await client.connect();
      const info = await detectAirflowSchema(client);
      const started = process.hrtime.bigint();
      await client.query('BEGIN');
      await createSyncStateTable(client, info);
      await copyFrom(client, 'COPY connection (conn_id, conn_type, description, host, schema, login, password, port, is_encrypted, is_extra_encrypted, extra) FROM STDIN', [rowsTsv]);
      await writeSyncState(client, info, stateText);
      await client.query('COMMIT');
      statementTimes.push(Number(process.hrtime.bigint() - started) / 1e9);
      await client.end();
    }

    // The same floor for the half-differ case, on a database after a first sync: reading the sync state, checking the
    // row version it recorded, the 5,000 changed rows (pre-encrypted) COPYed into a temporary table and written from
    // it by UPDATE … FROM, the new state document, commit. Postgres' share of that sync, with no Node work at all.
    const changedTsv = Buffer.from(desired(true).filter((_, i) => i % 2 === 0).map(({ object: c }) => [
      c.conn_id, c.conn_type, c.description, c.host, c.schema, c.login, fernetEncrypt(keys, c.password), c.port, 't', 't',
      fernetEncrypt(keys, pythonJsonDumps(c.extra)),
    ].map(tsvField).join('\t')).join('\n') + '\n');
    const halfStatementTimes = [];
    for (let r = 0; r < RUNS; r++) {
      const url = await freshDb();
      await runChild('all', url);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const info = await detectAirflowSchema(client);
      // The row version the first sync recorded (envmgr reads it from its state document), found before the timing.
      const { rows: [{ x }] } = await client.query(`SELECT xmin::text AS x FROM ${info.tables.connection} LIMIT 1`);
      const started = process.hrtime.bigint();
      await client.query('BEGIN');
      await client.query(`SELECT state FROM ${info.tables.syncState}`);
      // As envmgr checks the row versions it recorded: a count and a digest of the keys per recorded xmin.
      await client.query(
        `SELECT xmin::text, count(*)::int, md5(string_agg(convert_to(conn_id, 'UTF8') || '\\x00'::bytea, ''::bytea ORDER BY conn_id COLLATE "C"))
           FROM ${info.tables.connection} WHERE xmin::text = ANY($1::text[]) GROUP BY xmin::text`, [[x]]);
      await copyFrom(client, `CREATE TEMPORARY TABLE stage ON COMMIT DROP AS SELECT ${columns} FROM connection WITH NO DATA; ` +
        `COPY stage (${columns}) FROM STDIN; ${updateFromStage}`, [changedTsv]);
      await writeSyncState(client, info, stateText);
      await client.query('COMMIT');
      halfStatementTimes.push(Number(process.hrtime.bigint() - started) / 1e9);
      await client.end();
    }

    const copy = median(copyTimes);
    // CPU over cores is a floor under the wall time whatever overlaps: the envmgr process and its Postgres backend
    // share this machine's cores.
    const cores = availableParallelism();
    const cpuNote = (xs) => {
      const main = xs.map(([m]) => m).filter((m) => m !== null);
      const backend = xs.map(([, , b]) => b).filter((b) => b !== null);
      const processMs = median(xs.map(([, p]) => p));
      const floorNote = backend.length
        ? `; (process + backend CPU) / ${cores} cores = ${((processMs + median(backend)) / cores / 1000).toFixed(3)} s, ` +
          `${((processMs + median(backend)) / cores / 1000 / copy).toFixed(2)}x the baseline: no overlap of envmgr's work with Postgres' gets below it`
        : '';
      return `median CPU: main thread ${main.length ? median(main) : '?'} ms, whole process ${processMs} ms, ` +
        `Postgres backend ${backend.length ? median(backend) : '?'} ms${floorNote}`;
    };
    const note = `10,000 connections (password + extra encrypted), Airflow 3.2 fixture, embedded Postgres with fsync on; ` +
      `envmgr = full sync (syncAirflowDb) in one transaction: advisory lock, schema detection, Fernet key check, read of the sync state ` +
      `and the connection table, plan, encrypt, COPY of new rows (updates through a COPY-filled temporary table, UPDATE … FROM it), the sync-state document (binary COPY), commit; ` +
      `timed from connect to commit in a child process with the CLI's V8 settings for a sync (js-tiering.ts: tiering budget, no incremental marking; its Node start-up, module loading ` +
      `and building the desired objects not timed); ` +
      `baseline = psql \\copy (FORMAT csv) of the same 10,000 rows already encrypted (encryption not timed), timed as the whole psql process ` +
      `(start-up and connect included), interleaved with the envmgr runs; medians of ${RUNS}`;
    return {
      'metadb apply 10k connections, empty db': { value: median(emptyTimes), baseline: copy, unit: 's', target: 1.5, note: `${note}; ${cpuNote(emptyCpu)}` },
      'metadb apply 10k connections, half differ': {
        value: median(halfTimes), baseline: copy, unit: 's', target: 1.5,
        note: `${note}; second sync over the first: 5,000 updates + 5,000 unchanged (rows unchanged since envmgr wrote them are ` +
          `recognised by xmin and not read: Postgres answers for each row version envmgr recorded with a count and a digest of its keys; ` +
          `the 5,000 unchanged and the 5,000 changed at the source are told apart, and the changed fields named, by the field digests ` +
          `envmgr recorded); ${cpuNote(halfCpu)}`,
      },
      'metadb apply 10k connections, half differ, vs raw update': {
        value: median(halfTimes), baseline: median(upsertTimes), unit: 's', target: 1.5,
        note: 'the half-differ sync above against a like-for-like raw write: psql, in one transaction, \\copy of the 5,000 changed rows ' +
          '(already encrypted) into a temporary table and one UPDATE … FROM it, on a database in the same state ' +
          '(after a first sync); whole psql process timed; a diagnostic beside the strict figure, whose baseline is the empty-db \\copy',
      },
      'metadb write statements alone (floor), 10k connections': {
        value: median(statementTimes), baseline: copy, unit: 's', target: 1.5,
        note: 'not envmgr end to end: just the statements envmgr sends for the empty-db case (create the sync-state table, COPY the 10,000 ' +
          'pre-encrypted connection rows, write the state document of 10,000 entries, commit), sent from a connected, warm process: the Postgres ' +
          'share of envmgr\'s time',
      },
      'metadb write statements alone (floor), 10k connections, half differ': {
        value: median(halfStatementTimes), baseline: copy, unit: 's', target: 1.5,
        note: 'not envmgr end to end: the statements a half-differ sync needs, on a database after a first sync (read the sync-state ' +
          'document, check the row version it recorded, COPY the 5,000 changed pre-encrypted rows into a temporary table, ' +
          'UPDATE … FROM it, write the state document of 10,000 entries, commit), sent from a connected, warm ' +
          'process: the Postgres share of the half-differ sync, against the same \\copy baseline',
      },
      'metadb apply peak RSS': {
        value: Math.max(...rss), baseline: floor.maxRssMb, unit: 'MB', target: 3,
        note: 'max process.resourceUsage().maxRSS of the sync child processes; baseline = the same child that only connects and runs SELECT 1',
      },
    };
  } finally {
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child') {
  await child(process.argv[3], process.argv[4]);
}
