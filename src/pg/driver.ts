import { createRequire } from 'node:module';
import type * as Pg from 'pg';

/**
 * node-postgres, loaded without the probe that costs every run ~17 ms on Node 20. On load, pg 8 checks whether it
 * runs in Cloudflare Workers: when there is no `navigator` (Node < 21) it constructs a `Response`, which makes Node
 * load its whole internal fetch implementation. Node >= 21 defines `navigator.userAgent` ("Node.js/<major>"); the
 * same value is provided for the duration of the `require` and removed right after, so nothing else ever sees it.
 * test/metadb/driver.test.ts checks both that pg comes out usable and that fetch stays unloaded.
 */
const require = createRequire(import.meta.url);

function load(): typeof Pg {
  if ('navigator' in globalThis) return require('pg') as typeof Pg;
  Object.defineProperty(globalThis, 'navigator', {
    value: Object.freeze({ userAgent: `Node.js/${process.versions.node.split('.')[0]}` }),
    configurable: true,
    enumerable: false,
    writable: false,
  });
  try {
    return require('pg') as typeof Pg;
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}

const pg = load();

export const { Client, Pool, DatabaseError } = pg;
