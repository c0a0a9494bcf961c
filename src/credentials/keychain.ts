export const KEYCHAIN_SERVICE = 'envmgr';
const TIMEOUT_MS = 3000;

/** The part of keytar envmgr uses; tests may hand in another implementation. */
export interface KeytarLike {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

export class KeychainUnavailableError extends Error {
  /** True when there is no keychain module at all (so nothing can have been stored in the keychain). */
  readonly missing: boolean;
  constructor(message: string, options?: { cause?: unknown; missing?: boolean }) {
    super(message, options);
    this.name = 'KeychainUnavailableError';
    this.missing = options?.missing ?? false;
  }
}

/**
 * The OS keychain through keytar (an optional dependency, loaded on first use). Each call gets 3 s: a Secret
 * Service that never answers (a locked keyring with nobody to unlock it) must not hang the CLI.
 */
export class Keychain {
  private keytar: Promise<KeytarLike> | undefined;
  /** Set when a call timed out: keytar's native call may still hold the event loop, so `main` exits explicitly. */
  timedOut = false;

  constructor(private readonly load: () => Promise<KeytarLike> = loadKeytar) {}

  get(account: string): Promise<string | null> {
    return this.call('read', (k) => k.getPassword(KEYCHAIN_SERVICE, account));
  }

  set(account: string, token: string): Promise<void> {
    return this.call('write', (k) => k.setPassword(KEYCHAIN_SERVICE, account, token));
  }

  delete(account: string): Promise<boolean> {
    return this.call('delete', (k) => k.deletePassword(KEYCHAIN_SERVICE, account));
  }

  private async call<T>(what: string, fn: (k: KeytarLike) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.timedOut = true;
        reject(new KeychainUnavailableError(`the system keychain did not answer within ${TIMEOUT_MS / 1000} s`));
      }, TIMEOUT_MS);
    });
    try {
      this.keytar ??= this.load();
      return await Promise.race([this.keytar.then(fn), timeout]);
    } catch (error) {
      if (error instanceof KeychainUnavailableError) throw error;
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      throw new KeychainUnavailableError(`could not ${what} the system keychain: ${reason}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

async function loadKeytar(): Promise<KeytarLike> {
  try {
    const mod = (await import('keytar')) as unknown as { default?: KeytarLike } & KeytarLike;
    return mod.default ?? mod;
  } catch (error) {
    throw new KeychainUnavailableError('keytar (the keychain module) is not installed', { cause: error, missing: true });
  }
}
