import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
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

/** The SCRAM primitives of node-postgres (pg/lib/crypto/utils), which its SASL exchange calls through this object. */
interface ScramPrimitives {
  deriveKey(password: string, salt: Uint8Array, iterations: number): Promise<ArrayBuffer | Buffer>;
  hmacSha256(key: ArrayBuffer | Uint8Array, message: string): Promise<ArrayBuffer | Buffer>;
  sha256(data: ArrayBuffer | Uint8Array): Promise<ArrayBuffer | Buffer>;
}

const bytes = (data: ArrayBuffer | Uint8Array): Buffer => (Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));

/**
 * SCRAM-SHA-256 login (Postgres' default password method) with node:crypto's synchronous functions instead of
 * WebCrypto. pg 8 computes the proof with eleven WebCrypto calls, each a trip through libuv's thread pool and back to
 * the event loop; when the main thread is busy (dev start parses the API's pages meanwhile) every trip waits its
 * turn, and connecting took ~100 ms instead of ~20. The same bytes come out (PBKDF2, HMAC and SHA-256 are what they
 * are; test/metadb/driver.test.ts compares them with WebCrypto's), in ~3 ms of one turn.
 */
function scramInOneTurn(): void {
  const scram = require('pg/lib/crypto/utils') as ScramPrimitives;
  scram.deriveKey = (password, salt, iterations) => Promise.resolve(pbkdf2Sync(password, salt, iterations, 32, 'sha256'));
  scram.hmacSha256 = (key, message) => Promise.resolve(createHmac('sha256', bytes(key)).update(message, 'utf8').digest());
  scram.sha256 = (data) => Promise.resolve(createHash('sha256').update(bytes(data)).digest());
}

scramInOneTurn();

export const { Client, Pool, DatabaseError, types } = pg;
