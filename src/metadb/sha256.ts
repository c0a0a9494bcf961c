/**
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) in plain JavaScript, for many short messages in a row.
 * Node's one-shot `crypto.hash` costs about a microsecond per call whatever the length, and an HMAC needs two; a
 * Fernet token's HMAC is only four compression rounds once the key's inner and outer states are computed, which is
 * cheaper here than two calls into OpenSSL. Tested against node:crypto.
 */

function constants(count: number, root: (n: number) => number): Int32Array {
  const out = new Int32Array(count);
  let n = 2;
  for (let i = 0; i < count; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) prime = false;
    if (!prime) continue;
    const r = root(n);
    out[i++] = Math.floor((r - Math.floor(r)) * 0x100000000) | 0;
  }
  return out;
}

/** Fractional parts of the cube roots of the first 64 primes; the initial state: square roots of the first 8. */
const K = constants(64, Math.cbrt);
const H0 = constants(8, Math.sqrt);
const W = new Int32Array(64);

/** One compression of the 64-byte block at `at` into `state`. */
function compress(state: Int32Array, block: Uint8Array, at: number): void {
  for (let t = 0; t < 16; t++) {
    const p = at + 4 * t;
    W[t] = (block[p]! << 24) | (block[p + 1]! << 16) | (block[p + 2]! << 8) | block[p + 3]!;
  }
  for (let t = 16; t < 64; t++) {
    const x = W[t - 15]!;
    const y = W[t - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t]! + W[t]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

const tail = new Uint8Array(128);

/**
 * Continues a hash whose `state` has already absorbed `prefix` bytes (a multiple of 64) with `length` bytes of
 * `data` from `at`, and writes the 32-byte digest to `out` at `outAt`.
 */
function finish(state: Int32Array, prefix: number, data: Uint8Array, at: number, length: number, out: Uint8Array, outAt: number): void {
  let p = at;
  const end = at + length;
  for (; p + 64 <= end; p += 64) compress(state, data, p);
  const rest = end - p;
  tail.fill(0);
  for (let i = 0; i < rest; i++) tail[i] = data[p + i]!;
  tail[rest] = 0x80;
  const blocks = rest + 9 <= 64 ? 1 : 2;
  const bits = (prefix + length) * 8;
  const last = blocks * 64;
  // Message length in bits, big-endian 64-bit (messages here are far below 2^53 bits).
  const high = Math.floor(bits / 0x100000000);
  tail[last - 8] = high >>> 24;
  tail[last - 7] = high >>> 16;
  tail[last - 6] = high >>> 8;
  tail[last - 5] = high;
  tail[last - 4] = bits >>> 24;
  tail[last - 3] = bits >>> 16;
  tail[last - 2] = bits >>> 8;
  tail[last - 1] = bits;
  compress(state, tail, 0);
  if (blocks === 2) compress(state, tail, 64);
  for (let i = 0; i < 8; i++) {
    const w = state[i]!;
    out[outAt + 4 * i] = w >>> 24;
    out[outAt + 4 * i + 1] = w >>> 16;
    out[outAt + 4 * i + 2] = w >>> 8;
    out[outAt + 4 * i + 3] = w;
  }
}

/** SHA-256 of `length` bytes of `data` from `at`, written to `out` at `outAt`. */
export function sha256Into(data: Uint8Array, at: number, length: number, out: Uint8Array, outAt: number): void {
  finish(H0.slice(), 0, data, at, length, out, outAt);
}

/** HMAC-SHA256 with one key, its inner and outer states computed once for any number of messages. */
export class HmacSha256 {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly state = new Int32Array(8);
  private readonly digest = new Uint8Array(32);

  constructor(key: Uint8Array) {
    let k = key;
    if (k.length > 64) {
      const hashed = new Uint8Array(32);
      sha256Into(k, 0, k.length, hashed, 0);
      k = hashed;
    }
    const pad = new Uint8Array(64);
    this.inner.set(H0);
    for (let i = 0; i < 64; i++) pad[i] = (k[i] ?? 0) ^ 0x36;
    compress(this.inner, pad, 0);
    this.outer.set(H0);
    for (let i = 0; i < 64; i++) pad[i] = (k[i] ?? 0) ^ 0x5c;
    compress(this.outer, pad, 0);
  }

  /** The MAC of `length` bytes of `data` from `at`, written to `out` at `outAt`. */
  macInto(data: Uint8Array, at: number, length: number, out: Uint8Array, outAt: number): void {
    this.state.set(this.inner);
    finish(this.state, 64, data, at, length, this.digest, 0);
    this.state.set(this.outer);
    finish(this.state, 64, this.digest, 0, 32, out, outAt);
  }
}
