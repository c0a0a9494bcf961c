import * as nodeCrypto from 'node:crypto';
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { fernetDecrypt, type FernetKeys } from '../airflow/fernet.js';

/**
 * Fernet over many values at once, giving exactly the tokens `fernetEncrypt` gives (and reading exactly what
 * `fernetDecrypt` reads). Syncing thousands of rows spends most of its time creating one AES and one HMAC object per
 * value; here AES-CBC runs as a few ECB passes over all values together (CBC's chaining is a XOR away from ECB), and
 * HMAC-SHA256 reuses precomputed inner/outer hash states. Anything unusual falls back to the one-at-a-time code.
 */

type FernetKey = FernetKeys['keys'][number];

const HEADER = 25; // version (1) + timestamp (8) + IV (16)
const MAC = 32;

// One-shot `crypto.hash` (Node >= 20.12) costs a fraction of a Hash object per call; HMAC is two hashes.
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer }).hash;

/** HMAC-SHA256 (RFC 2104, 64-byte block) with the key's pads computed once for all values. */
class Hmac {
  private readonly ipad = Buffer.alloc(64);
  private readonly outerBlock = Buffer.alloc(64 + 32);
  private readonly inner: nodeCrypto.Hash;
  private readonly outer: nodeCrypto.Hash;
  private scratch = Buffer.alloc(0);

  constructor(signing: Buffer) {
    // Fernet signing keys are 16 bytes, shorter than the block, so they are used as they are (zero-padded).
    for (let i = 0; i < 64; i++) {
      const k = i < signing.length ? signing[i]! : 0;
      this.ipad[i] = k ^ 0x36;
      this.outerBlock[i] = k ^ 0x5c;
    }
    this.inner = nodeCrypto.createHash('sha256').update(this.ipad);
    this.outer = nodeCrypto.createHash('sha256').update(this.outerBlock.subarray(0, 64));
  }

  digest(data: Buffer): Buffer {
    if (!oneShot) return this.outer.copy().update(this.inner.copy().update(data).digest()).digest();
    if (this.scratch.length < 64 + data.length) {
      this.scratch = Buffer.alloc(Math.max(64 + data.length, 2 * this.scratch.length));
      this.ipad.copy(this.scratch, 0);
    }
    data.copy(this.scratch, 64);
    oneShot('sha256', this.scratch.subarray(0, 64 + data.length), 'buffer').copy(this.outerBlock, 64);
    return oneShot('sha256', this.outerBlock, 'buffer');
  }
}

function toToken(raw: Buffer): string {
  const text = raw.toString('base64url');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

/** Encrypts each UTF-8 text with the first key (a MultiFernet encrypts with its first key). */
export function fernetEncryptMany(keys: FernetKeys, plaintexts: readonly string[]): string[] {
  const key = keys.keys[0];
  if (!key) throw new Error('no Fernet key given');
  const n = plaintexts.length;
  if (n === 0) return [];
  const ivs = randomBytes(16 * n);
  const header = Buffer.alloc(9);
  header[0] = 0x80;
  header.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), 1);

  const raws: Buffer[] = new Array<Buffer>(n);
  let maxBlocks = 0;
  for (let i = 0; i < n; i++) {
    const plain = Buffer.from(plaintexts[i]!, 'utf8');
    const blocks = Math.floor(plain.length / 16) + 1;
    const raw = Buffer.allocUnsafe(HEADER + blocks * 16 + MAC);
    header.copy(raw, 0);
    ivs.copy(raw, 9, i * 16, i * 16 + 16);
    // PKCS7: the padded plaintext goes where the ciphertext will be, and is encrypted in place block by block.
    plain.copy(raw, HEADER);
    const pad = blocks * 16 - plain.length;
    raw.fill(pad, HEADER + plain.length, HEADER + blocks * 16);
    raws[i] = raw;
    if (blocks > maxBlocks) maxBlocks = blocks;
  }
  const ecb = createCipheriv('aes-128-ecb', key.encryption, null);
  ecb.setAutoPadding(false);
  for (let round = 0; round < maxBlocks; round++) {
    const members: number[] = [];
    for (let i = 0; i < n; i++) if (raws[i]!.length - HEADER - MAC > round * 16) members.push(i);
    const input = Buffer.allocUnsafe(members.length * 16);
    members.forEach((i, m) => {
      const raw = raws[i]!;
      const at = HEADER + round * 16;
      const prev = round === 0 ? 9 : at - 16; // the IV, then the previous ciphertext block
      for (let b = 0; b < 16; b++) input[m * 16 + b] = raw[at + b]! ^ raw[prev + b]!;
    });
    const output = ecb.update(input);
    members.forEach((i, m) => output.copy(raws[i]!, HEADER + round * 16, m * 16, m * 16 + 16));
  }
  const mac = new Hmac(key.signing);
  return raws.map((raw) => {
    const bodyEnd = raw.length - MAC;
    mac.digest(raw.subarray(0, bodyEnd)).copy(raw, bodyEnd);
    return toToken(raw);
  });
}

const STRICT_TOKEN = /^[A-Za-z0-9_-]+={0,2}$/;

/**
 * Decrypts each token with whichever key verifies it. Returns the texts; a token that no key opens throws the
 * same InvalidTokenError `fernetDecrypt` throws (with its index in `badIndex` of the error).
 */
export function fernetDecryptMany(keys: FernetKeys, tokens: readonly string[]): string[] {
  const n = tokens.length;
  const out: string[] = new Array<string>(n);
  const macs = keys.keys.map((k) => new Hmac(k.signing));
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
    const body = raw.subarray(0, raw.length - MAC);
    const tag = raw.subarray(raw.length - MAC);
    const k = macs.findIndex((m) => timingSafeEqual(m.digest(body), tag));
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
