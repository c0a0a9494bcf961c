import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Fernet (https://github.com/fernet/spec) as Airflow uses it through `cryptography`: a comma-separated key list is a
 * MultiFernet whose first key encrypts and whose keys all decrypt, and no TTL is ever checked.
 */

export class FernetKeyError extends Error {
  override name = 'FernetKeyError';
}

export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

interface FernetKey {
  signing: Buffer;
  encryption: Buffer;
}

export interface FernetKeys {
  readonly keys: readonly FernetKey[];
  /** Where the key came from, for error messages (`--fernet-key`, `AIRFLOW__CORE__FERNET_KEY in .env`, ...). */
  readonly source: string;
}

const VERSION = 0x80;
const HEADER = 1 + 8 + 16;
const MAC = 32;

/**
 * Decodes like Python's `base64.urlsafe_b64decode` (which Fernet keys and tokens go through), that is
 * `binascii.a2b_base64` in its non-strict mode after mapping `-_` to `+/`: ASCII only; characters outside the
 * alphabet are skipped; `=` is skipped too until it completes a quad, where decoding stops and whatever follows is
 * ignored; a last quad left incomplete is an error (undefined here).
 */
export function urlsafeB64Decode(text: string): Buffer | undefined {
  // The usual case, a canonical token or key, in one native call.
  if (text.length % 4 === 0 && CANONICAL_B64URL.test(text)) return Buffer.from(text, 'base64url');
  // (Python refuses a str holding anything but ASCII before decoding any of it.)
  if (NON_ASCII.test(text)) return undefined;
  const out = Buffer.alloc((text.length * 3) >>> 2);
  let length = 0;
  let quad = 0;
  let left = 0;
  let pads = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3d /* = */) {
      if (quad >= 2 && quad + ++pads >= 4) return out.subarray(0, length);
      continue;
    }
    const v = B64_VALUES[c]!;
    if (v < 0) continue;
    pads = 0;
    if (quad === 0) left = v;
    else if (quad === 1) out[length++] = (left << 2) | (v >> 4);
    else if (quad === 2) out[length++] = ((left & 0x0f) << 4) | (v >> 2);
    else out[length++] = ((left & 0x03) << 6) | v;
    if (quad !== 0) left = v;
    quad = (quad + 1) & 3;
  }
  return quad === 0 ? out.subarray(0, length) : undefined;
}

// eslint-disable-next-line no-control-regex -- the range is ASCII, NUL included
const NON_ASCII = /[^\x00-\x7f]/;
const CANONICAL_B64URL = /^[A-Za-z0-9_-]*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=|[A-Za-z0-9_-]{4})$/;

/** The value of each ASCII code in Python's url-safe base64 decoding (`-_` as `+/`, and `+/` themselves), else -1. */
const B64_VALUES = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) table[alphabet.charCodeAt(i)] = i;
  table[0x2d] = 62; // -
  table[0x5f] = 63; // _
  return table;
})();

function urlsafeB64Encode(data: Buffer): string {
  return data.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

function parseOneKey(text: string, source: string, index: number, count: number): FernetKey {
  const raw = urlsafeB64Decode(text);
  if (!raw || raw.length !== 32) {
    // In a comma-separated list (a MultiFernet), say which entry; an empty one is usually a comma too many.
    const which = count > 1 ? ` (entry ${index + 1} of ${count} in the comma-separated list)` : '';
    const why = count > 1 && text.trim() === '' ? 'the entry is empty; remove the extra comma' : 'a Fernet key must be 32 url-safe base64-encoded bytes';
    throw new FernetKeyError(
      `invalid Fernet key${which}${source ? ` from ${source}` : ''}: ${why} ` +
        `(generate one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())")`,
    );
  }
  return { signing: raw.subarray(0, 16), encryption: raw.subarray(16, 32) };
}

/**
 * Parses a key or comma-separated key list (a MultiFernet). An empty list is an error: callers handle "no key".
 * `source` names where the key came from in messages (`--fernet-key`); without it they say "the Fernet key".
 */
export function parseFernetKeys(spec: string, source = ''): FernetKeys {
  const parts = spec.split(',');
  return { keys: parts.map((part, i) => parseOneKey(part, source, i, parts.length)), source };
}

function asKeys(keyOrKeys: string | FernetKeys): FernetKeys {
  if (typeof keyOrKeys === 'string') return parseFernetKeys(keyOrKeys);
  // A JavaScript caller may hand in anything: say what is expected rather than fail on a property read.
  if (typeof keyOrKeys !== 'object' || keyOrKeys === null || !Array.isArray((keyOrKeys as Partial<FernetKeys>).keys)) {
    throw new TypeError('the Fernet key must be a key string (comma-separated for several) or what parseFernetKeys returns');
  }
  return keyOrKeys;
}

export interface EncryptParts {
  /** Seconds since the epoch; defaults to now. */
  timestamp?: number;
  /** 16 bytes; defaults to random. */
  iv?: Buffer;
}

function encryptWith(key: FernetKey, plaintext: Buffer, parts: EncryptParts): string {
  const iv = parts.iv ?? randomBytes(16);
  if (iv.length !== 16) throw new RangeError('Fernet IV must be 16 bytes');
  const header = Buffer.alloc(9);
  header[0] = VERSION;
  header.writeBigUInt64BE(BigInt(Math.floor(parts.timestamp ?? Date.now() / 1000)), 1);
  const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const body = Buffer.concat([header, iv, cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', key.signing).update(body).digest();
  return urlsafeB64Encode(Buffer.concat([body, mac]));
}

/** Encrypts UTF-8 text with the first key. */
export function fernetEncrypt(keyOrKeys: string | FernetKeys, plaintext: string, parts: EncryptParts = {}): string {
  const key = asKeys(keyOrKeys).keys[0];
  if (!key) throw new FernetKeyError('no Fernet key given');
  return encryptWith(key, Buffer.from(plaintext, 'utf8'), parts);
}

interface OpenedToken {
  timestamp: bigint;
  plaintext: Buffer;
}

function openWith(key: FernetKey, data: Buffer): OpenedToken | undefined {
  const body = data.subarray(0, data.length - MAC);
  const mac = data.subarray(data.length - MAC);
  const expected = createHmac('sha256', key.signing).update(body).digest();
  if (!timingSafeEqual(mac, expected)) return undefined;
  const iv = body.subarray(9, HEADER);
  try {
    const decipher = createDecipheriv('aes-128-cbc', key.encryption, iv);
    const plaintext = Buffer.concat([decipher.update(body.subarray(HEADER)), decipher.final()]);
    return { timestamp: body.readBigUInt64BE(1), plaintext };
  } catch {
    return undefined;
  }
}

function openToken(keys: FernetKeys, token: string): OpenedToken {
  const data = urlsafeB64Decode(token);
  // Smallest token: header, one cipher block, MAC.
  if (!data || data.length < HEADER + 16 + MAC || data[0] !== VERSION || (data.length - HEADER - MAC) % 16 !== 0) {
    throw new InvalidTokenError('not a Fernet token');
  }
  for (const key of keys.keys) {
    const opened = openWith(key, data);
    if (opened) return opened;
  }
  throw new InvalidTokenError(`the Fernet key${keys.source ? ` from ${keys.source}` : ''} does not decrypt this value (InvalidToken)`);
}

/** Decrypts a token with any of the keys, as MultiFernet does; throws InvalidTokenError otherwise. */
export function fernetDecrypt(keyOrKeys: string | FernetKeys, token: string): string {
  return openToken(asKeys(keyOrKeys), token).plaintext.toString('utf8');
}

/** MultiFernet.rotate: decrypts with any key and re-encrypts with the first, keeping the original timestamp. */
export function fernetRotate(keyOrKeys: string | FernetKeys, token: string, parts: Pick<EncryptParts, 'iv'> = {}): string {
  const keys = asKeys(keyOrKeys);
  const opened = openToken(keys, token);
  const first = keys.keys[0];
  if (!first) throw new FernetKeyError('no Fernet key given');
  return encryptWith(first, opened.plaintext, { timestamp: Number(opened.timestamp), ...parts });
}

/** A cheap check that a stored value looks like a Fernet token (Airflow tokens all start with `gAAAAA`). */
export function looksLikeFernetToken(value: string): boolean {
  return value.startsWith('gAAAAA');
}
