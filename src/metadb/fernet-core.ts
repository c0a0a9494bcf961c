import { EAGER, instantiateWasm } from '../wasm-tiering.js';
import { FERNET_CORE_WASM } from './fernet-core.wasm.js';

/**
 * The WebAssembly half of batched Fernet (fernet-core.wat): HMAC-SHA256, token layout, the XORs around CBC's AES
 * rounds and the tokens' base64url text, over values laid out in the module's memory; also SipHash-2-4 for the sync
 * state's field digests (digests.ts) and the assembly of COPY text around the tokens (rows.ts). One instance per process,
 * created on first use, optimized by V8 right after its first calls (see wasm-tiering.ts).
 */

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface CoreExports {
  memory: WasmMemory;
  hmacKey(key: number, length: number): void;
  mac(at: number, length: number, out: number): void;
  macMany(n: number, starts: number, ends: number): void;
  layout(n: number, starts: number, lengths: number, ivs: number, header: number): void;
  cbcGather(round: number, n: number, starts: number, lengths: number, stage: number): number;
  cbcScatter(round: number, n: number, starts: number, lengths: number, stage: number): void;
  xorInto(plain: number, prev: number, length: number): void;
  base64Many(n: number, starts: number, ends: number, dst: number): number;
  place(n: number, starts: number, lengths: number, src: number): void;
  sip(p: number, length: number, key: number, out: number): void;
  sipFields(n: number, starts: number, ends: number, out: number): number;
  sipCells(count: number, width: number, lengths: number, text: number, nullByte: number, out: number): number;
  sipOwned(n: number, width: number, owners: number, cells: number, scratch: number, out: number): number;
  splitRows(p: number, end: number, starts: number, ends: number, open: number, close: number): number;
  copyRows(n: number, width: number, cells: number, text: number, tokens: number, ends: number, out: number): number;
}

/** Where the caller's data may start in the module's memory (below: the module's own tables and scratch). */
export const HEAP = 4096;
const KEY_AT = 768;
/** Where the SipHash keys of sipFields and sipCells go: key j (16 bytes) at SIP_KEYS_AT + 16 j, for j < SIP_KEYS. */
export const SIP_KEYS_AT = 832;
export const SIP_KEYS = 8;
const B64_AT = 960;
const K_AT = 0;
const H0_AT = 608;

/** The first `count` primes' `root`s, fractional parts as 32-bit words (SHA-256's K and H0, FIPS 180-4 §4.2.2, §5.3.3). */
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

export class FernetCore {
  readonly fn: CoreExports;
  /** The module's memory as a Buffer (replaced when the memory grows). */
  bytes: Buffer;
  private key: Buffer | null = null;

  constructor() {
    const instance = instantiateWasm(Buffer.from(FERNET_CORE_WASM, 'base64'), EAGER);
    this.fn = instance.exports as unknown as CoreExports;
    this.bytes = Buffer.from(this.fn.memory.buffer);
    const words = new Int32Array(this.fn.memory.buffer);
    words.set(constants(64, Math.cbrt), K_AT / 4);
    words.set(constants(8, Math.sqrt), H0_AT / 4);
    this.bytes.write('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', B64_AT, 'latin1');
  }

  /** Makes the memory at least `size` bytes long. */
  reserve(size: number): Buffer {
    const memory = this.fn.memory;
    const missing = size - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    if (this.bytes.buffer !== memory.buffer) this.bytes = Buffer.from(memory.buffer);
    return this.bytes;
  }

  /** Sets the HMAC key (Fernet's 16-byte signing key; anything up to 64 bytes). */
  useKey(key: Buffer): void {
    if (this.key !== null && this.key.equals(key)) return;
    if (key.length > 64) throw new Error('HMAC keys over 64 bytes are not supported here');
    this.bytes.set(key, KEY_AT);
    this.fn.hmacKey(KEY_AT, key.length);
    this.key = Buffer.from(key);
  }
}

let core: FernetCore | undefined;

export function fernetCore(): FernetCore {
  core ??= new FernetCore();
  return core;
}
