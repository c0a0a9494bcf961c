import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fernetDecrypt, type FernetKeys } from '../airflow/fernet.js';
import { HmacSha256 } from './sha256.js';

/**
 * Fernet over many values at once, giving exactly the tokens `fernetEncrypt` gives (and reading exactly what
 * `fernetDecrypt` reads). Syncing thousands of rows spends most of its time creating one AES and one HMAC object per
 * value; here AES-CBC runs as a few ECB passes over all values together (CBC's chaining is a XOR away from ECB), and
 * HMAC-SHA256 runs in JavaScript from the key's precomputed inner/outer hash states (sha256.ts). Anything unusual falls back to the one-at-a-time code.
 */

type FernetKey = FernetKeys['keys'][number];

const HEADER = 25; // version (1) + timestamp (8) + IV (16)
const MAC = 32;

function toToken(raw: Buffer): string {
  const text = raw.toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

/** Tokens in raw (not yet base64) form: token i is `data[starts[i], ends[i])`. */
export interface RawTokens {
  data: Buffer;
  starts: Int32Array;
  ends: Int32Array;
}

/** Encrypts each UTF-8 text with the first key (a MultiFernet encrypts with its first key), as raw tokens. */
export function fernetEncryptRaw(keys: FernetKeys, plaintexts: readonly string[]): RawTokens {
  const key = keys.keys[0];
  if (!key) throw new Error('no Fernet key given');
  const n = plaintexts.length;
  // All tokens live in one buffer. Each starts at an offset of 3 (mod 4), so that its IV (at +9) and ciphertext
  // (at +25) are 4-byte aligned and CBC's XORs run a 32-bit word at a time.
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  const lengths = new Int32Array(n);
  let total = 3;
  for (let i = 0; i < n; i++) {
    const bytes = Buffer.byteLength(plaintexts[i]!, 'utf8');
    starts[i] = total;
    lengths[i] = bytes;
    total += HEADER + (Math.floor(bytes / 16) + 1) * 16 + MAC; // 57 + 16k: the next offset is 0 (mod 4)
    ends[i] = total;
    total += 3; // back to 3 (mod 4)
  }
  const all = Buffer.from(new ArrayBuffer(total + 1));
  if (n === 0) return { data: all, starts, ends };
  const words = new Uint32Array(all.buffer, 0, all.length >>> 2);
  const random = randomBytes(16 * n); // may sit at any offset of a shared pool: copy it out before viewing as words
  const ivs = new Uint32Array(random.buffer.slice(random.byteOffset, random.byteOffset + 16 * n));
  const header = Buffer.alloc(9);
  header[0] = 0x80;
  header.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), 1);
  let maxBlocks = 0;
  for (let i = 0; i < n; i++) {
    const at = starts[i]!;
    for (let b = 0; b < 9; b++) all[at + b] = header[b]!;
    const iv = (at + 9) >>> 2;
    for (let w = 0; w < 4; w++) words[iv + w] = ivs[i * 4 + w]!;
    // PKCS7: the padded plaintext goes where its ciphertext will be and is encrypted in place, block by block.
    const length = lengths[i]!;
    const blocks = Math.floor(length / 16) + 1;
    all.write(plaintexts[i]!, at + HEADER, 'utf8');
    const pad = blocks * 16 - length;
    for (let p = at + HEADER + length, end = at + HEADER + blocks * 16; p < end; p++) all[p] = pad;
    if (blocks > maxBlocks) maxBlocks = blocks;
  }
  const ecb = createCipheriv('aes-128-ecb', key.encryption, null);
  ecb.setAutoPadding(false);
  const input = new Uint32Array(n * 4);
  const members = new Int32Array(n);
  for (let round = 0; round < maxBlocks; round++) {
    let count = 0;
    for (let i = 0; i < n; i++) if (lengths[i]! >= round * 16) members[count++] = i;
    for (let m = 0; m < count; m++) {
      const block = (starts[members[m]!]! + HEADER) / 4 + round * 4;
      const prev = block - 4; // the previous ciphertext block, or the IV for the first
      for (let w = 0; w < 4; w++) input[m * 4 + w] = words[block + w]! ^ words[prev + w]!;
    }
    const encrypted = ecb.update(Buffer.from(input.buffer, 0, count * 16));
    const output = encrypted.byteOffset % 4 === 0 ? encrypted : Buffer.from(encrypted);
    const out = new Uint32Array(output.buffer, output.byteOffset, output.length >>> 2);
    for (let m = 0; m < count; m++) {
      const block = (starts[members[m]!]! + HEADER) / 4 + round * 4;
      for (let w = 0; w < 4; w++) words[block + w] = out[m * 4 + w]!;
    }
  }
  const mac = new HmacSha256(key.signing);
  for (let i = 0; i < n; i++) {
    const at = starts[i]!;
    const bodyEnd = ends[i]! - MAC;
    mac.macInto(all, at, bodyEnd - at, all, bodyEnd);
  }
  return { data: all, starts, ends };
}

/** Encrypts each UTF-8 text with the first key (a MultiFernet encrypts with its first key). */
export function fernetEncryptMany(keys: FernetKeys, plaintexts: readonly string[]): string[] {
  const raw = fernetEncryptRaw(keys, plaintexts);
  const tokens = new Array<string>(plaintexts.length);
  for (let i = 0; i < tokens.length; i++) tokens[i] = toToken(raw.data.subarray(raw.starts[i]!, raw.ends[i]!));
  return tokens;
}

const STRICT_TOKEN = /^[A-Za-z0-9_-]+={0,2}$/;

/**
 * Decrypts each token with whichever key verifies it. Returns the texts; a token that no key opens throws the
 * same InvalidTokenError `fernetDecrypt` throws (with its index in `badIndex` of the error).
 */
export function fernetDecryptMany(keys: FernetKeys, tokens: readonly string[]): string[] {
  const n = tokens.length;
  const out: string[] = new Array<string>(n);
  const macs = keys.keys.map((k) => new HmacSha256(k.signing));
  const expected = new Uint8Array(32);
  // Compares the token's tag with the MAC computed under key k, touching every byte whatever differs.
  const verifies = (k: number, raw: Buffer): boolean => {
    const bodyLength = raw.length - MAC;
    macs[k]!.macInto(raw, 0, bodyLength, expected, 0);
    let diff = 0;
    for (let j = 0; j < MAC; j++) diff |= expected[j]! ^ raw[bodyLength + j]!;
    return diff === 0;
  };
  const byKey: Array<Array<{ i: number; raw: Buffer }>> = keys.keys.map(() => []);
  const slow = (i: number) => {
    try {
      out[i] = fernetDecrypt(keys, tokens[i]!);
    } catch (err) {
      if (err instanceof Error) Object.assign(err, { badIndex: i });
      throw err;
    }
  };
  for (let i = 0; i < n; i++) {
    const token = tokens[i]!;
    if (!STRICT_TOKEN.test(token) || token.length % 4 !== 0) {
      slow(i);
      continue;
    }
    const raw = Buffer.from(token, 'base64url');
    const cipherLength = raw.length - HEADER - MAC;
    if (raw[0] !== 0x80 || cipherLength < 16 || cipherLength % 16 !== 0) {
      slow(i);
      continue;
    }
    let k = -1;
    for (let j = 0; j < macs.length && k < 0; j++) if (verifies(j, raw)) k = j;
    if (k < 0) {
      slow(i);
      continue;
    }
    byKey[k]!.push({ i, raw });
  }
  byKey.forEach((items, k) => {
    if (items.length === 0) return;
    const key: FernetKey = keys.keys[k]!;
    const total = items.reduce((sum, { raw }) => sum + raw.length - HEADER - MAC, 0);
    const input = Buffer.allocUnsafe(total);
    let at = 0;
    for (const { raw } of items) at += raw.copy(input, at, HEADER, raw.length - MAC);
    const ecb = createDecipheriv('aes-128-ecb', key.encryption, null);
    ecb.setAutoPadding(false);
    const plain = ecb.update(input);
    at = 0;
    for (const { i, raw } of items) {
      const length = raw.length - HEADER - MAC;
      // CBC: each decrypted block XOR the previous ciphertext block (the IV for the first).
      // The IV sits right before the ciphertext, so "the previous block" of byte p is always raw[9 + p].
      for (let p = 0; p < length; p++) plain[at + p] = plain[at + p]! ^ raw[9 + p]!;
      const pad = plain[at + length - 1]!;
      let valid = pad >= 1 && pad <= 16;
      for (let p = length - pad; valid && p < length; p++) valid = plain[at + p] === pad;
      if (valid) out[i] = plain.toString('utf8', at, at + length - pad);
      else slow(i);
      at += length;
    }
  });
  return out;
}
