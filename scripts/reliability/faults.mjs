// API faults: a fault-injecting HTTP proxy on 127.0.0.1 between the CLI and the real server. Each `dev start`
// through it either succeeds (through retries) with the right state, or fails with exit 1, a clear one-line
// message, no stack trace, and the metadata database untouched.
import { createServer, request as httpRequest } from 'node:http';
import { randomInt } from 'node:crypto';
import { twoVersionServer } from './crash.mjs';
import { airflowDb, devStartArgs, logicalDump, rawDump, result, rng, runCli, STACK_LINE, tempHome, tokenEnv } from './lib.mjs';

export const FAULT_KINDS = ['reset', 'delay', '500', '502', '503', 'truncated', 'invalid-json', 'wrong-content-type', 'html-error'];

/**
 * A proxy to `upstream` that applies `decide(index, req)` → a fault kind or undefined (forward as is) to each
 * request. `delayMs` is how long a 'delay' holds the request before forwarding it.
 */
export async function startFaultProxy(upstream, decide, { delayMs = 2000 } = {}) {
  const target = new URL(upstream);
  const sockets = new Set();
  let index = 0;
  const faults = {};
  const server = createServer((req, res) => {
    const kind = decide(index++, req);
    if (kind) faults[kind] = (faults[kind] ?? 0) + 1;
    const json = (status, body, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (kind === 'reset') return void req.socket.destroy();
    if (kind === '500' || kind === '502' || kind === '503') {
      return json(Number(kind), JSON.stringify({ message: 'injected fault', requestId: `fault-${index}`, statusCode: Number(kind) }));
    }
    if (kind === 'invalid-json') return json(200, '{"environmentObjects": [{"objectKey": "x", ');
    if (kind === 'wrong-content-type') return json(200, '<html><body>captive portal</body></html>', 'text/html');
    if (kind === 'html-error') return json(502, '<html><body>Bad Gateway</body></html>', 'text/html');
    const forward = () => {
      const up = httpRequest({ agent: false, host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (upRes) => {
        if (kind === 'truncated') {
          const chunks = [];
          upRes.on('data', (c) => chunks.push(c));
          upRes.on('end', () => {
            const body = Buffer.concat(chunks);
            res.writeHead(upRes.statusCode ?? 502, { ...upRes.headers, 'content-length': String(body.length), 'transfer-encoding': '' });
            res.write(body.subarray(0, Math.floor(body.length / 2)));
            setTimeout(() => res.socket?.destroy(), 20);
          });
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', () => res.socket?.destroy());
      up.end(Buffer.concat(body));
    };
    const body = [];
    req.on('data', (c) => body.push(c));
    if (kind === 'delay') {
      // The client may give up meanwhile: forwarding a request whose body will never end would hang the server.
      const timer = setTimeout(() => !req.socket.destroyed && (req.readableEnded ? forward() : req.on('end', forward)), delayMs);
      req.socket.on('close', () => clearTimeout(timer));
    } else req.on('end', forward);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    faults,
    get requests() {
      return index;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * opts: {connections, kinds?, modes?, randomRuns, seed?}. Modes: 'first' (only the first request faulted: retries
 * should carry it through when the fault is retriable), 'always' (every request: must fail cleanly), 'random'
 * (each request with probability 0.3, `randomRuns` times per kind).
 */
export async function faultSuite(h, opts) {
  const r = result('faults');
  const seed = opts.seed ?? randomInt(1, 2 ** 31);
  const random = rng(seed);
  const { em } = await twoVersionServer(h, opts.connections);
  try {
    const home = await tempHome();
    const timeoutSeconds = 0.5;
    const cwd = `${home}/project`;
    const expected = [];
    const direct = tokenEnv(home, em);
    for (const v of [0, 1]) {
      const ref = await airflowDb(h.createDatabase);
      const run = await runCli(devStartArgs(ref, em.deployments[v]), { env: direct, cwd });
      if (run.code !== 0) throw new Error(`reference dev start failed: ${run.stderr.slice(-500)}`);
      expected.push(await logicalDump(ref));
    }
    const db = await airflowDb(h.createDatabase);
    let current = 0;
    if ((await runCli(devStartArgs(db, em.deployments[0]), { env: direct, cwd })).code !== 0) throw new Error('initial sync failed');

    const cases = [];
    for (const kind of opts.kinds ?? FAULT_KINDS) {
      for (const mode of opts.modes ?? ['first', 'always', 'random']) {
        for (let n = 0; n < (mode === 'random' ? opts.randomRuns : 1); n++) cases.push({ kind, mode });
      }
    }
    const tally = { succeeded: 0, failedCleanly: 0 };
    const messages = new Set();
    for (const c of cases) {
      const decide = (i) => (c.mode === 'always' || (c.mode === 'first' && i === 0) || (c.mode === 'random' && random(10) < 3) ? c.kind : undefined);
      const proxy = await startFaultProxy(em.url, decide, { delayMs: timeoutSeconds * 1000 + 700 });
      const target = 1 - current;
      const before = await rawDump(db);
      const env = tokenEnv(home, { ...em, url: proxy.url }, { ENVMGR_HTTP_TIMEOUT: String(timeoutSeconds) });
      const run = await runCli(devStartArgs(db, em.deployments[target]), { env, cwd, timeoutMs: 120_000 });
      await proxy.close();
      r.runs++;
      const label = `${c.kind}/${c.mode}`;
      const stderrLines = run.stderr.trim().split('\n');
      if (STACK_LINE.test(run.stderr) || /\bTypeError\b|\bSyntaxError\b|undefined|\[object Object\]/.test(run.stderr)) {
        r.failures++;
        r.problems.push(`${label}: unclear stderr: ${run.stderr.slice(0, 400)}`);
      }
      if (run.code === 0) {
        tally.succeeded++;
        if ((await logicalDump(db)) !== expected[target]) {
          r.partialStates++;
          r.problems.push(`${label}: exit 0 but the database does not hold the new state`);
        }
        current = target;
      } else if (run.code === 1) {
        tally.failedCleanly++;
        messages.add(`${c.kind}: ${stderrLines.find((l) => l.startsWith('error:')) ?? stderrLines[stderrLines.length - 1]}`);
        if ((await rawDump(db)) !== before) {
          r.partialStates++;
          r.problems.push(`${label}: exit 1 but the database changed`);
        }
        if (c.mode === 'first' && ['reset', '502', '503', 'truncated', 'delay'].includes(c.kind)) {
          // One fault on a GET that the client retries: giving up here is a missing retry.
          r.failures++;
          r.problems.push(`${label}: a single retriable fault was not retried: ${stderrLines.find((l) => l.startsWith('error:'))}`);
        }
      } else {
        r.failures++;
        r.problems.push(`${label}: exit ${run.code}${run.signal ? ` (${run.signal})` : ''}: ${run.stderr.slice(-300)}`);
      }
      if (c.mode === 'always' && run.code === 0 && c.kind !== 'delay') {
        r.failures++;
        r.problems.push(`${label}: succeeded although every request was faulted`);
      }
      h.log?.(`  ${label}: exit ${run.code}, ${proxy.requests} requests`);
      if (process.env.REL_DEBUG) h.log?.(run.stderr);
    }
    r.figures.seed = seed;
    r.figures.requestTimeoutSeconds = timeoutSeconds;
    r.figures.succeededThroughRetries = tally.succeeded;
    r.figures.failedCleanly = tally.failedCleanly;
    r.figures.failureMessages = [...messages].slice(0, 12);
    return r;
  } finally {
    await em.close();
  }
}
