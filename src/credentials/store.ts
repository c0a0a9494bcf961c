/** Where a token came from, as `auth status` names it. */
export type CredentialSource = 'keychain' | 'file' | 'env';

export interface StoredToken {
  token: string;
  source: CredentialSource;
}

/** A place that keeps one API token per Environment Manager domain. */
export interface CredentialStore {
  get(domain: string): Promise<StoredToken | undefined>;
  /** Stores the token; answers where it went (the keychain, or the fallback file when the keychain failed). */
  set(domain: string, token: string): Promise<{ source: CredentialSource; location: string }>;
  /** Forgets the token everywhere it may be; answers whether there was one. */
  delete(domain: string): Promise<boolean>;
  /** Why the last `get` could not ask a store it would have asked (the keychain), when it could not. */
  readonly readFailure?: string;
  /** Human description of a source, e.g. "system keychain (service envmgr)" or "file ~/.envmgr/credentials.json". */
  describe(source: CredentialSource): string;
}
