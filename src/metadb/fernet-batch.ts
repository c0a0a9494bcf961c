import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { fernetDecrypt, type FernetKeys } from '../airflow/fernet.js';
import { fernetCore, HEAP } from './fernet-core.js';

/**
 * Fernet over many values at once, giving exactly the tokens `fernetEncrypt` gives (and reading exactly what
 * `fernetDecrypt` reads). Syncing thousands of rows spends most of its time creating one AES and one HMAC object per
 * value; here AES-CBC runs as a few ECB passes over all values together (CBC's chaining is a XOR away from ECB), and
 * the per-byte work (token layout, those XORs, HMAC-SHA256 from the key's precomputed inner/outer states) runs in
 * WebAssembly (fernet-core.wat), which is fast from its first call where JavaScript would first spend tens of
 * milliseconds warming up. Anything unusual falls back to the one-at-a-time code.
 */

type FernetKey = FernetKeys['keys'][number];

const HEADER = 25; // version (1) + timestamp (8) + IV (16)
const MAC = 32;

/**
 * Tokens as their text (base64url, ASCII): token i is `data[starts[i], ends[i])`. `data` is a view of the
 * WebAssembly module's memory, valid until the next encryption or decryption: use it (copy what is kept) at once.
 */
export interface TokenTexts {
  data: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
}

/** Encrypts each UTF-8 text with the first key (a MultiFernet encrypts with its first key), as token texts. */
export function fernetEncryptTexts(keys: FernetKeys, plaintexts: readonly string[]): TokenTexts {
  const key = keys.keys[0];
  if (!key) throw new Error('no Fernet key given');
  const n = plaintexts.length;
  // Raw token i is [starts[i], ends[i]) from `tokensAt` in the module's memory; its text [textStarts[i], textEnds[i]).
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  const textStarts = new Int32Array(n);
  const textEnds = new Int32Array(n);
  const lengths = new Int32Array(n);
  let total = 0;
  let textTotal = 0;
  // Usually every value is ASCII: then one string holds them all, its length is its byte count, and it goes into
  // the module's memory in one write (the module puts each value in place) rather than a native call per value.
  const joined = plaintexts.join('');
  const ascii = Buffer.byteLength(joined, 'utf8') === joined.length;
  for (let i = 0; i < n; i++) {
    const bytes = ascii ? plaintexts[i]!.length : Buffer.byteLength(plaintexts[i]!, 'utf8');
    const tokenLength = HEADER + (Math.floor(bytes / 16) + 1) * 16 + MAC;
    lengths[i] = bytes;
    starts[i] = total;
    total += tokenLength;
    ends[i] = total;
    textStarts[i] = textTotal;
    textTotal += Math.ceil(tokenLength / 3) * 4;
    textEnds[i] = textTotal;
  }
  if (n === 0) return { data: new Uint8Array(0), starts: textStarts, ends: textEnds };
  // In the module's memory: token offsets, plaintext lengths, token ends, IVs, the AES staging area, the header,
  // the raw tokens, then their text.
  const core = fernetCore();
  const startsAt = HEAP;
  const lengthsAt = startsAt + 4 * n;
  const endsAt = lengthsAt + 4 * n;
  const ivsAt = endsAt + 4 * n;
  const stageAt = ivsAt + 16 * n;
  const headerAt = stageAt + 16 * n;
  const tokensAt = headerAt + 16;
  const textAt = tokensAt + total;
  // The joined plaintexts are staged after the text area, placed, then wiped.
  const stagedAt = textAt + textTotal;
  const mem = core.reserve(stagedAt + (ascii ? joined.length : 0));
  const words = new Int32Array(mem.buffer, 0, tokensAt >>> 2);
  for (let i = 0; i < n; i++) {
    words[(startsAt >>> 2) + i] = tokensAt + starts[i]!;
    words[(lengthsAt >>> 2) + i] = lengths[i]!;
    words[(endsAt >>> 2) + i] = tokensAt + ends[i]!;
    if (!ascii) mem.write(plaintexts[i]!, tokensAt + starts[i]! + HEADER, 'utf8');
  }
  if (ascii) {
    mem.write(joined, stagedAt, 'latin1');
    core.fn.place(n, startsAt, lengthsAt, stagedAt);
    mem.fill(0, stagedAt, stagedAt + joined.length);
  }
  randomFillSync(mem, ivsAt, 16 * n);
  mem[headerAt] = 0x80;
  mem.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), headerAt + 1);
  core.fn.layout(n, startsAt, lengthsAt, ivsAt, headerAt);
  // CBC, one block of every token per round, as one ECB pass each (CBC's chaining is the XOR the module does).
  const ecb = createCipheriv('aes-128-ecb', key.encryption, null);
  ecb.setAutoPadding(false);
  for (let round = 0; ; round++) {
    const count = core.fn.cbcGather(round, n, startsAt, lengthsAt, stageAt);
    if (count === 0) break;
    mem.set(ecb.update(mem.subarray(stageAt, stageAt + 16 * count)), stageAt);
    core.fn.cbcScatter(round, n, startsAt, lengthsAt, stageAt);
  }
  core.useKey(key.signing);
  core.fn.macMany(n, startsAt, endsAt);
  const textEnd = core.fn.base64Many(n, startsAt, endsAt, textAt);
  if (textEnd !== textAt + textTotal) throw new Error(`fernet-core wrote ${textEnd - textAt} bytes of token text, expected ${textTotal}`);
  // (No plaintext is left behind: CBC replaced every block of it with ciphertext.)
  return { data: new Uint8Array(mem.buffer, mem.byteOffset + textAt, textTotal), starts: textStarts, ends: textEnds };
}

/** Encrypts each UTF-8 text with the first key (a MultiFernet encrypts with its first key). */
export function fernetEncryptMany(keys: FernetKeys, plaintexts: readonly string[]): string[] {
  const texts = fernetEncryptTexts(keys, plaintexts);
  const view = Buffer.from(texts.data.buffer, texts.data.byteOffset, texts.data.byteLength);
  const tokens = new Array<string>(plaintexts.length);
  for (let i = 0; i < tokens.length; i++) tokens[i] = view.toString('latin1', texts.starts[i]!, texts.ends[i]!);
  return tokens;
}

const STRICT_TOKEN = /^[A-Za-z0-9_-]+={0,2}$/;

/**
 * Decrypts each token with whichever key verifies it. Returns the texts; a token that no key opens throws the
 * same InvalidTokenError `fernetDecrypt` throws (with its index in `badIndex` of the error).
 */
export function fernetDecryptMany(keys: FernetKeys, tokens: readonly string[]): string[] {
  // A few megabytes of tokens at a time: the module's memory never shrinks, so it stays about that size.
  const out: string[] = [];
  for (let from = 0; from < tokens.length; ) {
    let to = from;
    for (let size = 0; to < tokens.length && (to === from || size + tokens[to]!.length <= CHUNK_CHARS); to++) size += tokens[to]!.length;
    const texts = decryptChunk(keys, from === 0 && to === tokens.length ? tokens : tokens.slice(from, to), from);
    for (const text of texts) out.push(text);
    from = to;
  }
  return out;
}

const CHUNK_CHARS = 4 << 20;

function decryptChunk(keys: FernetKeys, tokens: readonly string[], offset: number): string[] {
  const n = tokens.length;
  const out: string[] = new Array<string>(n);
  const slow = (i: number) => {
    try {
      out[i] = fernetDecrypt(keys, tokens[i]!);
    } catch (err) {
      if (err instanceof Error) Object.assign(err, { badIndex: offset + i });
      throw err;
    }
  };
  // Raw tokens go into the module's memory one after another (then a MAC scratch area); each is verified there.
  let size = 0;
  for (let i = 0; i < n; i++) size += (tokens[i]!.length >>> 2) * 3;
  const core = fernetCore();
  const macAt = HEAP;
  const rawAt = macAt + 32;
  let mem = core.reserve(rawAt + size);
  const at = new Int32Array(n);
  const lengths = new Int32Array(n);
  const keyOf = new Int8Array(n).fill(-1);
  let used = rawAt;
  for (let i = 0; i < n; i++) {
    const token = tokens[i]!;
    if (!STRICT_TOKEN.test(token) || token.length % 4 !== 0) continue;
    const length = mem.write(token, used, 'base64url');
    const cipherLength = length - HEADER - MAC;
    if (mem[used] !== 0x80 || cipherLength < 16 || cipherLength % 16 !== 0) continue;
    for (let k = 0; k < keys.keys.length; k++) {
      core.useKey(keys.keys[k]!.signing);
      core.fn.mac(used, length - MAC, macAt);
      // Every byte of the tag is compared whatever differs.
      let diff = 0;
      for (let j = 0; j < MAC; j++) diff |= mem[macAt + j]! ^ mem[used + length - MAC + j]!;
      if (diff === 0) {
        keyOf[i] = k;
        break;
      }
    }
    if (keyOf[i]! < 0) continue;
    at[i] = used;
    lengths[i] = length;
    used += length;
  }
  // Per key, every verified token's ciphertext through one ECB pass, then CBC's XOR with the block before.
  keys.keys.forEach((key: FernetKey, k) => {
    let total = 0;
    for (let i = 0; i < n; i++) if (keyOf[i] === k) total += lengths[i]! - HEADER - MAC;
    if (total === 0) return;
    const input = Buffer.allocUnsafe(total);
    let p = 0;
    for (let i = 0; i < n; i++) if (keyOf[i] === k) p += mem.copy(input, p, at[i]! + HEADER, at[i]! + lengths[i]! - MAC);
    const ecb = createDecipheriv('aes-128-ecb', key.encryption, null);
    ecb.setAutoPadding(false);
    const plainAt = used;
    mem = core.reserve(plainAt + total);
    mem.set(ecb.update(input), plainAt);
    p = plainAt;
    for (let i = 0; i < n; i++) {
      if (keyOf[i] !== k) continue;
      const length = lengths[i]! - HEADER - MAC;
      // The IV sits right before the ciphertext: "the block before" block j is always raw[9 + 16 j].
      core.fn.xorInto(p, at[i]! + 9, length);
      const pad = mem[p + length - 1]!;
      let valid = pad >= 1 && pad <= 16;
      for (let q = p + length - pad; valid && q < p + length; q++) valid = mem[q] === pad;
      if (valid) out[i] = mem.toString('utf8', p, p + length - pad);
      p += length;
    }
    // The plaintexts are strings now; the module's memory keeps no copy of them.
    mem.fill(0, plainAt, plainAt + total);
  });
  for (let i = 0; i < n; i++) if (out[i] === undefined) slow(i);
  return out;
}
