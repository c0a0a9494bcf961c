import type { AuthFailureLimit } from './auth-limit.js';
import type { Keyring } from './crypto.js';

export interface ServerConfig {
  /** Master keys for secrets at rest (the first seals; all open). */
  keyring: Keyring;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Cache list responses (masked and showSecrets) per organization revision, see cache.ts (default true). */
  responseCache?: boolean;
  /** Per-client limit on failed authentications (default 100 per minute); `false` turns it off. */
  authFailureLimit?: AuthFailureLimit | false;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
