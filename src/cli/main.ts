#!/usr/bin/env node
import { Context } from './context.js';
import { runProgram } from './program.js';

const ctx = new Context();
const code = await runProgram(ctx, process.argv.slice(2));
process.exitCode = code;
// A keychain call that timed out may still hold the event loop; an unref'd timer fires only in that case.
setTimeout(() => process.exit(code), 200).unref();
