// Runs every bench/*.bench.mjs (each exports `async function run(): Promise<Record<string, BenchResult>>`, where
// BenchResult = {value, baseline, unit, target, note, lowerIsBetter?, extra?}), merges the figures into
// bench/results.json and prints them as a table. Benchmarks import the built code from dist/.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.mjs')).sort()
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));

// A filtered run (`npm run bench -- devstart`) updates its own figures and keeps the others already recorded.
const results = only.length > 0 ? await readFile(join(here, 'results.json'), 'utf8').then(JSON.parse, () => ({})) : {};
const measured = new Set();
for (const file of files) {
  process.stderr.write(`bench: ${file}\n`);
  const mod = await import(join(here, file));
  const figures = await mod.run();
  for (const [name, r] of Object.entries(figures)) {
    results[name] = { ...r, ratio: r.baseline ? Number((r.value / r.baseline).toFixed(3)) : null };
    measured.add(name);
  }
}

await writeFile(join(here, 'results.json'), JSON.stringify(results, null, 2) + '\n');
const rows = Object.entries(results).filter(([name]) => measured.has(name)).map(([name, r]) => {
  const better = r.lowerIsBetter === false ? '>=' : '<=';
  const met = r.ratio === null ? '?' : (r.lowerIsBetter === false ? r.ratio >= r.target : r.ratio <= r.target) ? 'ok' : 'MISSED';
  return [name, fmt(r.value), fmt(r.baseline), String(r.ratio), `${better} ${r.target}`, met, r.unit, r.note ?? ''];
});
const header = ['benchmark', 'envmgr', 'baseline', 'ratio', 'target', 'met', 'unit', 'note'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const row of [header, ...rows]) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());

function fmt(n) {
  return typeof n === 'number' ? (Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(4)) : String(n);
}
