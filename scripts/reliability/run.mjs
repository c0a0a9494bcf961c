// npm run reliability: every reliability suite at full size against built code, with figures.
// `node scripts/reliability/run.mjs [suite ...]` runs only the named suites (crash, concurrency, faults, load,
// bad-input, fuzz, security). Exits 1 on any failure, partial state, leak, lost write or 5xx.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { dist, removeTempHomes } from './lib.mjs';
import { crashSuite } from './crash.mjs';
import { concurrencySuite } from './concurrency.mjs';
import { faultSuite } from './faults.mjs';
import { loadSuite } from './load.mjs';
import { badInputSuite } from './bad-input.mjs';
import { fuzzSuite } from './fuzz.mjs';
import { securitySuite } from './security.mjs';

const SUITES = {
  crash: (h) => crashSuite(h, { connections: 10_000, kills: 50 }),
  concurrency: (h) => concurrencySuite(h, { clients: 20, connections: 500, rounds: 2 }),
  faults: (h) => faultSuite(h, { connections: 100, randomRuns: 3 }),
  load: (h) => loadSuite(h, { clients: 200, seconds: 60 }),
  'bad-input': (h) => badInputSuite(h, {}),
  fuzz: (h) => fuzzSuite(h, { runs: 100_000 }),
  security: (h) => securitySuite(h, { authzMatrix: true }),
};

const wanted = process.argv.slice(2);
for (const w of wanted) if (!(w in SUITES)) throw new Error(`unknown suite ${w}; known: ${Object.keys(SUITES).join(', ')}`);
const names = wanted.length ? wanted : Object.keys(SUITES);

const { startEmbeddedPostgres } = await dist('pg/embedded.js');
const postgres = await startEmbeddedPostgres({ fast: true, maxConnections: 500 });
const h = {
  async createDatabase(prefix = 'rel') {
    const name = `${prefix}_${randomBytes(6).toString('hex')}`;
    const client = new pg.Client({ connectionString: postgres.url('postgres') });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE "${name}"`);
    } finally {
      await client.end();
    }
    return postgres.url(name);
  },
  log: (line) => process.stderr.write(`${line}\n`),
};

const results = [];
const started = performance.now();
try {
  for (const name of names) {
    const t0 = performance.now();
    process.stderr.write(`\n== ${name}\n`);
    let r;
    try {
      r = await SUITES[name](h);
    } catch (error) {
      r = { suite: name, runs: 0, failures: 1, partialStates: 0, figures: {}, findings: [], problems: [`the suite itself failed: ${error?.stack ?? error}`] };
    }
    r.suite = name;
    r.seconds = +((performance.now() - t0) / 1000).toFixed(1);
    results.push(r);
    print(r);
  }
} finally {
  await postgres.stop();
  await removeTempHomes();
}

function print(r) {
  const bad = r.failures + r.partialStates;
  const lines = [`${bad ? 'FAIL' : 'ok  '} ${r.suite}: runs ${r.runs}, failures ${r.failures}, partial states ${r.partialStates}, ${r.seconds} s`];
  for (const [k, v] of Object.entries(r.figures)) lines.push(`       ${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  for (const f of r.findings) lines.push(`     FINDING: ${f}`);
  for (const p of r.problems.slice(0, 20)) lines.push(`     problem: ${p}`);
  if (r.problems.length > 20) lines.push(`     … and ${r.problems.length - 20} more problems`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

const total = (performance.now() - started) / 1000;
process.stdout.write(`\n${'suite'.padEnd(14)}${'runs'.padStart(8)}${'failures'.padStart(10)}${'partial'.padStart(9)}${'seconds'.padStart(9)}\n`);
for (const r of results) {
  process.stdout.write(`${r.suite.padEnd(14)}${String(r.runs).padStart(8)}${String(r.failures).padStart(10)}${String(r.partialStates).padStart(9)}${String(r.seconds).padStart(9)}\n`);
}
const failed = results.some((r) => r.failures + r.partialStates > 0);
process.stdout.write(`\ntotal ${total.toFixed(0)} s: ${failed ? 'FAILED' : 'all suites passed'}; findings: ${results.reduce((n, r) => n + r.findings.length, 0)}\n`);
process.exit(failed ? 1 : 0);
