import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Secrets at rest: AES-256-GCM under a master key. Each stored value carries the id of the key that sealed it, so a
 * keyring with a new current key and the old ones behind it can still open everything (rotation).
 */
export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

export class MasterKeyError extends Error {
  override name = 'MasterKeyError';
}

export class Keyring {
  readonly current: MasterKey;
  private readonly byId: Map<string, MasterKey>;

  constructor(keys: MasterKey[]) {
    const first = keys[0];
    if (!first) throw new MasterKeyError('no master key given');
    this.current = first;
    this.byId = new Map(keys.map((k) => [k.id, k]));
  }

  /** The ids of the configured keys. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** Seals `plaintext`; `context` (for example the owning row's id) is bound as associated data. */
  seal(plaintext: string, context: string): { keyId: string; sealed: string } {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return { keyId: this.current.id, sealed: Buffer.concat([iv, tag, body]).toString('base64') };
  }

  open(sealed: string, keyId: string, context: string): string {
    const key = this.byId.get(keyId);
    if (!key) throw new MasterKeyError(`a stored secret was sealed with master key ${keyId}, which is not configured`);
    const raw = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key.key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}

export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update('envmgr-master-key-id:').update(key).digest('hex').slice(0, 16);
}

/** Parses one or more base64 keys separated by commas (first = current); each must decode to 32 bytes. */
export function parseMasterKeys(spec: string, source: string): Keyring {
  const parts = spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new MasterKeyError(`${source} is empty: it must hold a base64-encoded 32-byte key`);
  const keys = parts.map((part, i) => {
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(part) ? Buffer.from(part, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) {
      throw new MasterKeyError(
        `${source}${parts.length > 1 ? ` (key ${i + 1})` : ''} is not a base64-encoded 32-byte key; generate one with: openssl rand -base64 32`,
      );
    }
    return { id: masterKeyId(key), key };
  });
  return new Keyring(keys);
}

export function readMasterKeyFile(path: string): Keyring {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new MasterKeyError(`cannot read the master key file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return parseMasterKeys(text.trim(), `master key file ${path}`);
}

export function generateMasterKey(): string {
  return randomBytes(32).toString('base64');
}

/** API tokens: shown once, stored only as SHA-256 hashes. */
export function newApiToken(): string {
  return `envmgr_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
