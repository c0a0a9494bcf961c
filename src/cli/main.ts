#!/usr/bin/env -S node --
// "--" ends Node's own options: Node 20 otherwise reads a `--env-file` given to envmgr (object import --env-file) as its own.
const argv = process.argv.slice(2);
// `--version` alone needs neither the command tree nor the context.
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { readFileSync } = await import('node:fs');
  process.stdout.write((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version + '\n');
  process.exit(0);
}

const { Context } = await import('./context.js');
const { runProgram } = await import('./program.js');
const ctx = new Context();
const code = await runProgram(ctx, argv);
process.exitCode = code;
// A keychain call that timed out may still hold the event loop; an unref'd timer fires only in that case.
setTimeout(() => process.exit(code), 200).unref();
