// Crash safety: kill -9 the CLI at random points of `dev start`; the metadata database must then hold exactly the
// state before or the state after that sync, and a re-run must converge.
import { randomInt } from 'node:crypto';
import pg from 'pg';
import {
  airflowDb, apiCall, connectionBodies, devStartArgs, logicalDump, pool, result, rng, runCli, startEnvironmentManager, tempHome, tokenEnv,
} from './lib.mjs';

/** Two deployments holding the same keys with different content (version 0 and 1), created through the API. */
export async function twoVersionServer(h, connections) {
  const em = await startEnvironmentManager(h.createDatabase, { deployments: 2 });
  const started = performance.now();
  const bodies = [...connectionBodies(em.deployments[0], connections, 0), ...connectionBodies(em.deployments[1], connections, 1)];
  await pool(bodies, 32, (body) => apiCall(em, 'POST', '/environment-objects', body));
  return { em, objects: bodies.length, createSeconds: (performance.now() - started) / 1000 };
}

/**
 * opts: {connections, kills, seed?}. h: {createDatabase(prefix), log?(line)}.
 * A kill lands, for half the runs, anywhere from spawn to the end of a normal run; for the other half after the
 * fetch finished (stderr says "Fetched"), so most of those land while the database is being written.
 */
export async function crashSuite(h, opts) {
  const r = result('crash safety');
  const seed = opts.seed ?? randomInt(1, 2 ** 31);
  const random = rng(seed);
  const { em, objects, createSeconds } = await twoVersionServer(h, opts.connections);
  try {
    r.figures.seed = seed;
    r.figures.objectsCreated = objects;
    r.figures.createPerSecond = Math.round(objects / createSeconds);
    const home = await tempHome();
    const env = tokenEnv(home, em);
    const cwd = `${home}/project`;

    // The two expected states, each written by a normal run into a fresh database.
    const expected = [];
    const fullMs = [];
    const afterFetchMs = [];
    for (const v of [0, 1]) {
      const ref = await airflowDb(h.createDatabase);
      let fetchedAt;
      let spawnedAt = 0;
      const run = await runCli(devStartArgs(ref, em.deployments[v]), {
        env, cwd,
        onSpawn: () => (spawnedAt = performance.now()),
        onStderr: (s) => (fetchedAt ??= s.includes('Fetched') ? performance.now() : undefined),
      });
      if (run.code !== 0) throw new Error(`reference dev start failed (exit ${run.code}): ${run.stderr.slice(-500)}`);
      expected.push(await logicalDump(ref));
      fullMs.push(run.ms);
      afterFetchMs.push(Math.max(50, fetchedAt === undefined ? run.ms : spawnedAt + run.ms - fetchedAt));
    }
    if (expected[0] === expected[1]) throw new Error('the two versions dump alike; the suite would prove nothing');
    r.figures.fullRunSeconds = +(Math.max(...fullMs) / 1000).toFixed(2);

    const db = await airflowDb(h.createDatabase);
    let current = 0;
    const first = await runCli(devStartArgs(db, em.deployments[0]), { env, cwd });
    if (first.code !== 0 || (await logicalDump(db)) !== expected[0]) throw new Error(`initial sync failed: ${first.stderr.slice(-500)}`);

    // A third of the kills wait until the sync holds its advisory lock (its write transaction is open).
    const watcher = new pg.Client({ connectionString: db });
    await watcher.connect();
    const lockHeld = async () => (await watcher.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).rows[0].n > 0;
    const rollbacks = async () => (await watcher.query('SELECT xact_rollback::int AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0].n;
    const rollbacksBefore = await rollbacks();
    const modes = { spawn: 0, fetched: 0, locked: 0 };
    const outcomes = { old: 0, new: 0, finishedBeforeKill: 0 };
    const convergeMs = [];
    for (let k = 0; k < opts.kills; k++) {
      const target = 1 - current;
      const mode = ['spawn', 'fetched', 'locked'][k % 3];
      modes[mode]++;
      const afterFetch = mode === 'fetched';
      const span = Math.round(mode === 'locked' ? Math.max(50, afterFetchMs[target] * 0.3) : (afterFetch ? afterFetchMs[target] : fullMs[target]) * 1.05);
      const delay = random(Math.max(1, span));
      let timer;
      let killedAt;
      let polling = true;
      const kill = (child) => {
        timer = setTimeout(() => {
          killedAt = delay;
          child.kill('SIGKILL');
        }, delay);
      };
      let armed = false;
      const run = await runCli(devStartArgs(db, em.deployments[target]), {
        env, cwd,
        onSpawn: (child) => {
          if (mode === 'spawn') kill(child);
          if (mode === 'locked') {
            void (async () => {
              while (polling && child.exitCode === null) {
                if (await lockHeld().catch(() => false)) return kill(child);
                await new Promise((resolve) => setTimeout(resolve, 5));
              }
            })();
          }
        },
        onStderr: (s, child) => {
          if (afterFetch && !armed && s.includes('Fetched')) {
            armed = true;
            kill(child);
          }
        },
      });
      polling = false;
      clearTimeout(timer);
      r.runs++;
      const state = await logicalDump(db);
      let found;
      if (run.signal === 'SIGKILL' && killedAt !== undefined) {
        if (state === expected[current]) found = 'old';
        else if (state === expected[target]) found = 'new';
        else found = 'partial';
        if (found !== 'partial') outcomes[found]++;
      } else {
        outcomes.finishedBeforeKill++;
        if (run.code !== 0) {
          r.failures++;
          r.problems.push(`run ${k}: exited ${run.code} without being killed: ${run.stderr.slice(-300)}`);
        }
        found = state === expected[target] ? 'finished' : 'partial';
      }
      if (found === 'partial') {
        r.partialStates++;
        r.problems.push(`run ${k}: killed ${mode} +${delay} ms: the database holds neither the old nor the new state`);
      }

      // Converge: a normal re-run must reach the new state.
      const again = await runCli(devStartArgs(db, em.deployments[target]), { env, cwd });
      r.runs++;
      convergeMs.push(again.ms);
      if (again.code !== 0 || (await logicalDump(db)) !== expected[target]) {
        r.failures++;
        r.problems.push(`run ${k}: the re-run did not converge (exit ${again.code}): ${again.stderr.slice(-300)}`);
      }
      current = target;
      h.log?.(`  kill ${k + 1}/${opts.kills} at +${delay} ms after ${mode}: ${found}`);
    }
    // Postgres counts the transactions it rolled back when a killed client's connection dropped mid-write.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    r.figures.writeTransactionsRolledBack = (await rollbacks()) - rollbacksBefore;
    await watcher.end();
    r.figures.kills = opts.kills;
    r.figures.killTriggers = modes;
    r.figures.killsFoundOld = outcomes.old;
    r.figures.killsFoundNew = outcomes.new;
    r.figures.finishedBeforeKill = outcomes.finishedBeforeKill;
    r.figures.convergeRunMaxSeconds = +(Math.max(...convergeMs) / 1000).toFixed(2);
    return r;
  } finally {
    await em.close();
  }
}
