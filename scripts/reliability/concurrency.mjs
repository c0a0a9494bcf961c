// Concurrency: many `dev start` at once against one metadata database. Each must succeed (those that found the
// lock taken say so and wait) or fail only with the clear "another sync" message; the final state must be right.
import { twoVersionServer } from './crash.mjs';
import { airflowDb, devStartArgs, logicalDump, result, runCli, STACK_LINE, tempHome, tokenEnv } from './lib.mjs';

/** opts: {clients, connections, rounds}. Round r syncs version r % 2 over the previous round's state. */
export async function concurrencySuite(h, opts) {
  const r = result('concurrency');
  const { em } = await twoVersionServer(h, opts.connections);
  try {
    const home = await tempHome();
    const env = tokenEnv(home, em);
    const cwd = `${home}/project`;
    const expected = [];
    for (const v of [0, 1]) {
      const ref = await airflowDb(h.createDatabase);
      const run = await runCli(devStartArgs(ref, em.deployments[v]), { env, cwd });
      if (run.code !== 0) throw new Error(`reference dev start failed: ${run.stderr.slice(-500)}`);
      expected.push(await logicalDump(ref));
    }
    const db = await airflowDb(h.createDatabase);
    let waited = 0;
    let lockTimeouts = 0;
    const durations = [];
    for (let round = 0; round < opts.rounds; round++) {
      const v = round % 2;
      const runs = await Promise.all(Array.from({ length: opts.clients }, () => runCli(devStartArgs(db, em.deployments[v]), { env, cwd, timeoutMs: 180_000 })));
      for (const [i, run] of runs.entries()) {
        r.runs++;
        durations.push(run.ms);
        if (/another sync is running/.test(run.stderr)) waited++;
        if (STACK_LINE.test(run.stderr)) {
          r.failures++;
          r.problems.push(`round ${round} client ${i}: a stack trace on stderr`);
        }
        if (run.code === 0) continue;
        if (run.code === 1 && /another sync still holds envmgr's lock/.test(run.stderr)) {
          lockTimeouts++;
          continue;
        }
        r.failures++;
        r.problems.push(`round ${round} client ${i}: exit ${run.code}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      }
      if ((await logicalDump(db)) !== expected[v]) {
        r.partialStates++;
        r.problems.push(`round ${round}: the final state is not version ${v}`);
      }
    }
    r.figures.concurrentClients = opts.clients;
    r.figures.rounds = opts.rounds;
    r.figures.connectionsPerSync = opts.connections;
    r.figures.saidAnotherSyncIsRunning = waited;
    r.figures.gaveUpWaitingForLock = lockTimeouts;
    r.figures.slowestRunSeconds = +(Math.max(...durations) / 1000).toFixed(2);
    return r;
  } finally {
    await em.close();
  }
}
