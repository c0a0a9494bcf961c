import { Keychain, KeychainUnavailableError, KEYCHAIN_SERVICE, type KeytarLike } from './keychain.js';
import { CredentialsFile } from './file.js';
import { UserError } from '../cli/errors.js';
import type { CredentialSource, CredentialStore, StoredToken } from './store.js';

export type { CredentialSource, CredentialStore, StoredToken } from './store.js';
export { Keychain, KeychainUnavailableError, type KeytarLike } from './keychain.js';
export { CredentialsFile } from './file.js';

export interface CredentialStoreOptions {
  home: string;
  env: NodeJS.ProcessEnv;
  /** Told (for stderr) whenever the keychain could not be used and the file was. */
  announce: (message: string) => void;
  debug?: (message: string) => void;
  loadKeytar?: () => Promise<KeytarLike>;
}

/**
 * The keychain first, the 0600 file when the keychain is missing or fails, and the user is told which.
 * `ENVMGR_CREDENTIAL_STORE=file` skips the keychain (headless machines with no Secret Service, where every
 * attempt would cost a failed D-Bus connection). `ENVMGR_API_TOKEN` is handled before any store is asked.
 */
export class KeychainWithFileFallback implements CredentialStore {
  readonly keychain: Keychain;
  readonly file: CredentialsFile;
  readFailure: string | undefined;

  constructor(private readonly opts: CredentialStoreOptions) {
    const choice = opts.env.ENVMGR_CREDENTIAL_STORE;
    // A misspelt choice (`fiel`) would otherwise quietly mean the keychain.
    if (choice !== undefined && !['', 'file', 'keychain'].includes(choice)) {
      throw new UserError(`ENVMGR_CREDENTIAL_STORE is ${JSON.stringify(choice)}; set it to file (the 0600 file only) or keychain (the default: the system keychain, else the file), or unset it`);
    }
    this.keychain = new Keychain(opts.loadKeytar);
    this.file = new CredentialsFile(opts.home);
  }

  private get fileOnly(): boolean {
    return this.opts.env.ENVMGR_CREDENTIAL_STORE === 'file';
  }

  async get(domain: string): Promise<StoredToken | undefined> {
    // The file is read first: it is cheap, and a token lands there only when the keychain failed before.
    this.readFailure = undefined;
    const fromFile = await this.file.get(domain);
    if (fromFile) return { token: fromFile, source: 'file' };
    if (this.fileOnly) return undefined;
    try {
      const fromKeychain = await this.keychain.get(domain);
      return fromKeychain ? { token: fromKeychain, source: 'keychain' } : undefined;
    } catch (error) {
      // Not "no token": the token may well be in the keychain. The caller says so (readFailure).
      if (!(error instanceof KeychainUnavailableError && error.missing)) this.readFailure = (error as Error).message;
      this.opts.debug?.(`keychain read failed: ${(error as Error).message}`);
      return undefined;
    }
  }

  async set(domain: string, token: string): Promise<{ source: CredentialSource; location: string }> {
    if (!this.fileOnly) {
      try {
        await this.keychain.set(domain, token);
        await this.file.delete(domain);
        return { source: 'keychain', location: this.describe('keychain') };
      } catch (error) {
        if (!(error instanceof KeychainUnavailableError)) throw error;
        this.opts.announce(`${error.message}; storing the token in ${this.file.path} (mode 0600) instead`);
      }
    }
    await this.file.set(domain, token);
    return { source: 'file', location: this.describe('file') };
  }

  async delete(domain: string): Promise<boolean> {
    let found = await this.file.delete(domain);
    if (!this.fileOnly) {
      try {
        found = (await this.keychain.delete(domain)) || found;
      } catch (error) {
        this.opts.debug?.(`keychain delete failed: ${(error as Error).message}`);
      }
    }
    return found;
  }

  describe(source: CredentialSource): string {
    if (source === 'keychain') return `system keychain (service ${KEYCHAIN_SERVICE})`;
    if (source === 'file') return `file ${this.file.path}`;
    return 'environment variable ENVMGR_API_TOKEN';
  }
}

export function createCredentialStore(opts: CredentialStoreOptions): KeychainWithFileFallback {
  return new KeychainWithFileFallback(opts);
}
