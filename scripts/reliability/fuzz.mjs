// Fuzzing the parsers with fast-check: the URI parser, the JSON form, the .env reader and the settings reader.
// Each runs in a worker thread so a hang is caught by a watchdog instead of freezing the run. The only errors
// allowed are the documented ones: PythonError (Airflow's own error, mirrored) from the URI and JSON parsers;
// the .env and settings readers never throw (problems come back as data).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { result } from './lib.mjs';

export const FUZZ_TARGETS = ['uri', 'json', 'env', 'settings'];

/** opts: {runs, targets?, seed?, hangMs?}. */
export async function fuzzSuite(_h, opts) {
  const r = result('fuzz');
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  r.figures.seed = seed;
  for (const target of opts.targets ?? FUZZ_TARGETS) {
    const out = await runWorker({ target, runs: opts.runs, seed }, Math.max(120_000, opts.runs * 5));
    r.runs += out.runs ?? 0;
    r.figures[`${target} runs`] = out.runs;
    r.figures[`${target} documented errors`] = out.documented;
    r.figures[`${target} slowest input ms`] = out.slowestMs === undefined ? undefined : +out.slowestMs.toFixed(1);
    if (out.failure) {
      r.failures++;
      r.problems.push(`${target}: ${out.failure}`);
    }
    if (out.slowestMs > (opts.hangMs ?? 2000)) {
      r.failures++;
      r.problems.push(`${target}: one input took ${out.slowestMs.toFixed(0)} ms: ${JSON.stringify(out.slowestInput).slice(0, 200)}`);
    }
  }
  return r;
}

function runWorker(data, timeoutMs) {
  return new Promise((resolve) => {
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: data });
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve({ runs: 0, failure: `no answer within ${timeoutMs} ms: a hang` });
    }, timeoutMs);
    worker.on('message', (m) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(m);
    });
    worker.on('error', (e) => {
      clearTimeout(timer);
      resolve({ runs: 0, failure: `worker crashed: ${e.stack ?? e}` });
    });
  });
}

async function fuzzInWorker({ target, runs, seed }) {
  const fc = (await import('fast-check')).default;
  const { dist } = await import('./lib.mjs');
  const { parseConnectionUri, parseConnectionJson } = await dist('index.js');
  const { PythonError } = await dist('airflow/pyurl.js');
  const { readAirflowEnvFile } = await dist('airflow/envfile.js');
  const { readSettingsFile } = await dist('airflow/settings.js');
  const variants = ['2', '3.1', '3.1.6'];

  const piece = (chars) => fc.array(fc.constantFrom(...chars), { maxLength: 12 }).map((a) => a.join(''));
  const uriChars = 'ab:/@?#[]%=&+_-.0123456789 \\\u00e9\u2100\u0000'.split('');
  const uriLike = fc.tuple(piece('abcxyz+-.'.split('')), piece(uriChars), piece(uriChars), fc.constantFrom('', '?__extra__=', '?a=1&b=', '?__extra__=%7B%22a%22%3A1%7D'), piece(uriChars))
    .map(([s, a, b, q, tail]) => `${s}://${a}${b}${q}${tail}`);
  const jsonLike = fc.oneof(
    fc.json(),
    fc.record({ conn_type: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), host: fc.option(fc.string()), port: fc.oneof(fc.integer(), fc.string(), fc.double(), fc.constant(null)), extra: fc.oneof(fc.string(), fc.object(), fc.constant(null)) }, { requiredKeys: [] })
      .chain((o) => fc.constantFrom(JSON.stringify(o), JSON.stringify(o).slice(0, -1), JSON.stringify(o).replace(/"/, "'"))),
  );
  const envChars = ['A', 'I', 'R', 'F', 'L', 'O', 'W', '_', 'C', 'N', 'V', '=', '"', "'", '`', '#', '$', '{', '}', '\\', '\n', '\r', ' ', 'x', '1', ':', '/', '@', 'export '];
  const envLike = fc.oneof(
    fc.array(fc.oneof(fc.constantFrom('AIRFLOW_CONN_', 'AIRFLOW_VAR_', 'export ', '\n'), fc.constantFrom(...envChars), uriLike), { maxLength: 40 }).map((a) => a.join('')),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );
  const yamlTokens = ['airflow:', '\n', '  ', '- ', 'connections:', 'variables:', 'pools:', 'conn_id: ', 'conn_type: ', 'conn_port: ', 'conn_extra: ', 'conn_uri: ', 'variable_name: ', 'variable_value: ', 'pool_name: ', 'pool_slot: ', '"', "'", '{', '}', '[', ']', ',', '&a ', '*a', '!!binary ', '? ', '|', '>', '#', 'x', '1', '-1', '99999', 'null', '~', '%YAML 1.2\n---\n'];
  const settingsLike = fc.oneof(fc.array(fc.constantFrom(...yamlTokens), { maxLength: 60 }).map((a) => a.join('')), fc.string({ unit: 'binary', maxLength: 200 }));

  let documented = 0;
  let slowestMs = 0;
  let slowestInput;
  const timed = (input, fn) => {
    const t0 = performance.now();
    try {
      fn();
    } catch (e) {
      if (!(e instanceof PythonError) || target === 'env' || target === 'settings') throw e;
      documented++;
    } finally {
      const ms = performance.now() - t0;
      if (ms > slowestMs) {
        slowestMs = ms;
        slowestInput = input;
      }
    }
  };
  const properties = {
    uri: fc.property(fc.oneof(uriLike, fc.string({ unit: 'grapheme', maxLength: 80 })), fc.constantFrom(...variants), (u, airflow) => timed(u, () => parseConnectionUri(u, { airflow }))),
    json: fc.property(jsonLike, fc.constantFrom(...variants), (j, airflow) => timed(j, () => parseConnectionJson(j, { airflow }))),
    env: fc.property(envLike, (t) => timed(t, () => readAirflowEnvFile(t, { file: 'fuzz.env' }))),
    settings: fc.property(settingsLike, (t) => timed(t, () => readSettingsFile(t, { file: 'fuzz.yaml' }))),
  };
  const details = fc.check(properties[target], { numRuns: runs, seed, endOnFailure: true });
  return {
    runs: details.numRuns,
    documented,
    slowestMs,
    slowestInput,
    failure: details.failed ? `counterexample ${JSON.stringify(details.counterexample).slice(0, 300)}: ${String(details.errorInstance?.stack ?? details.error).split('\n').slice(0, 4).join(' | ')}` : undefined,
  };
}

if (!isMainThread && workerData?.target) {
  fuzzInWorker(workerData).then(
    (m) => parentPort.postMessage(m),
    (e) => parentPort.postMessage({ runs: 0, failure: `fuzz setup failed: ${e.stack ?? e}` }),
  );
}
