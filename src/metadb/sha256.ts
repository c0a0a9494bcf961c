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


/** Loads the 64-byte block at `at` as the first 16 schedule words (big-endian). */
function load(block: Uint8Array, at: number): void {
  for (let t = 0; t < 16; t++) {
    const p = at + 4 * t;
    W[t] = (block[p]! << 24) | (block[p + 1]! << 16) | (block[p + 2]! << 8) | block[p + 3]!;
  }
}

/** One compression of the block whose 16 words are in W[0..15] into `state`. */
function compress(state: Int32Array): void {
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

/**
 * Continues a hash whose `state` has already absorbed `prefix` bytes (a multiple of 64) with `length` bytes of
 * `data` from `at`, leaving the final state (the digest, as words) in `state`.
 */
function absorb(state: Int32Array, prefix: number, data: Uint8Array, at: number, length: number): void {
  let p = at;
  const end = at + length;
  for (; p + 64 <= end; p += 64) {
    load(data, p);
    compress(state);
  }
  // The last bytes, the 0x80 marker, zeros and the bit length, as one or two blocks of words.
  const rest = end - p;
  for (let t = 0; t < 16; t++) W[t] = 0;
  for (let i = 0; i < rest; i++) W[i >> 2] = W[i >> 2]! | (data[p + i]! << (24 - 8 * (i & 3)));
  W[rest >> 2] = W[rest >> 2]! | (0x80 << (24 - 8 * (rest & 3)));
  const bits = (prefix + length) * 8; // far below 2^53
  const high = Math.floor(bits / 0x100000000) | 0;
  const low = bits | 0;
  if (rest + 9 > 64) {
    compress(state);
    for (let t = 0; t < 14; t++) W[t] = 0;
  }
  W[14] = high;
  W[15] = low;
  compress(state);
}

function store(state: Int32Array, out: Uint8Array, outAt: number): void {
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
  const state = H0.slice();
  absorb(state, 0, data, at, length);
  store(state, out, outAt);
}

/** HMAC-SHA256 with one key, its inner and outer states computed once for any number of messages. */
export class HmacSha256 {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly state = new Int32Array(8);

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
    load(pad, 0);
    compress(this.inner);
    this.outer.set(H0);
    for (let i = 0; i < 64; i++) pad[i] = (k[i] ?? 0) ^ 0x5c;
    load(pad, 0);
    compress(this.outer);
  }

  /** The MAC of `length` bytes of `data` from `at`, written to `out` at `outAt`. */
  macInto(data: Uint8Array, at: number, length: number, out: Uint8Array, outAt: number): void {
    const state = this.state;
    state.set(this.inner);
    absorb(state, 64, data, at, length);
    // The outer hash is one block: the inner digest (8 words), the marker, zeros, and (64 + 32) * 8 bits.
    for (let t = 0; t < 8; t++) W[t] = state[t]!;
    W[8] = 0x80000000 | 0;
    for (let t = 9; t < 15; t++) W[t] = 0;
    W[15] = (64 + 32) * 8;
    state.set(this.outer);
    compress(state);
    store(state, out, outAt);
  }
}
