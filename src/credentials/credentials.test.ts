import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { createCredentialStore, KeychainUnavailableError, type KeytarLike } from './index.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'envmgr-cred-'));
});

/** An in-memory keychain with keytar's interface: the contract the store relies on. */
function memoryKeytar(): KeytarLike & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getPassword: async (s, a) => data.get(`${s}/${a}`) ?? null,
    setPassword: async (s, a, p) => void data.set(`${s}/${a}`, p),
    deletePassword: async (s, a) => data.delete(`${s}/${a}`),
  };
}

describe('credential store', () => {
  it('uses the keychain when it works, under service envmgr and account = domain', async () => {
    const keytar = memoryKeytar();
    const notes: string[] = [];
    const store = createCredentialStore({ home, env: {}, announce: (m) => notes.push(m), loadKeytar: async () => keytar });
    expect(await store.set('localhost:8080', 'secret-token-1')).toMatchObject({ source: 'keychain' });
    expect(keytar.data.get('envmgr/localhost:8080')).toBe('secret-token-1');
    expect(await store.get('localhost:8080')).toEqual({ token: 'secret-token-1', source: 'keychain' });
    expect(notes).toEqual([]);
    await expect(stat(join(home, 'credentials.json'))).rejects.toThrow();
    expect(await store.delete('localhost:8080')).toBe(true);
    expect(await store.get('localhost:8080')).toBeUndefined();
  });

  it('falls back to a 0600 file when keytar is missing, and says so', async () => {
    const notes: string[] = [];
    const store = createCredentialStore({
      home,
      env: {},
      announce: (m) => notes.push(m),
      loadKeytar: async () => {
        throw new Error('Cannot find module keytar');
      },
    });
    expect(await store.set('a.example', 'secret-token-2')).toMatchObject({ source: 'file' });
    expect(notes.join('\n')).toMatch(/credentials\.json \(mode 0600\)/);
    const file = join(home, 'credentials.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8')).tokens).toEqual({ 'a.example': 'secret-token-2' });
    expect(await store.get('a.example')).toEqual({ token: 'secret-token-2', source: 'file' });
    expect(store.describe('file')).toContain(file);
  });

  it('gives up on a keychain that does not answer within 3 s', async () => {
    const notes: string[] = [];
    const store = createCredentialStore({
      home,
      env: {},
      announce: (m) => notes.push(m),
      loadKeytar: async () => ({ ...memoryKeytar(), setPassword: () => new Promise<void>(() => {}) }),
    });
    const started = performance.now();
    expect(await store.set('b.example', 'secret-token-3')).toMatchObject({ source: 'file' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(2900);
    expect(notes.join('\n')).toMatch(/did not answer within 3 s/);
  });

  it('says why it found no token when the keychain could not be read (not the same as no token there)', async () => {
    const store = createCredentialStore({
      home,
      env: {},
      announce: () => {},
      loadKeytar: async () => ({ ...memoryKeytar(), getPassword: () => Promise.reject(new Error('Cannot autolaunch D-Bus without X11 $DISPLAY')) }),
    });
    expect(await store.get('d.example')).toBeUndefined();
    expect(store.readFailure).toBe('could not read the system keychain: Cannot autolaunch D-Bus without X11 $DISPLAY');
    const working = createCredentialStore({ home, env: {}, announce: () => {}, loadKeytar: async () => memoryKeytar() });
    expect(await working.get('d.example')).toBeUndefined();
    expect(working.readFailure).toBeUndefined();
    // No keychain module at all: nothing can be in a keychain, so nothing to say.
    const none = createCredentialStore({ home, env: {}, announce: () => {}, loadKeytar: () => Promise.reject(new KeychainUnavailableError('keytar (the keychain module) is not installed', { missing: true })) });
    expect(await none.get('d.example')).toBeUndefined();
    expect(none.readFailure).toBeUndefined();
  });

  it('skips the keychain with ENVMGR_CREDENTIAL_STORE=file', async () => {
    const keytar = memoryKeytar();
    const store = createCredentialStore({ home, env: { ENVMGR_CREDENTIAL_STORE: 'file' }, announce: () => {}, loadKeytar: async () => keytar });
    expect(await store.set('c.example', 'secret-token-4')).toMatchObject({ source: 'file' });
    expect(keytar.data.size).toBe(0);
  });

  it('refuses an ENVMGR_CREDENTIAL_STORE it does not know instead of quietly using the keychain', () => {
    const make = (value: string) => () => createCredentialStore({ home, env: { ENVMGR_CREDENTIAL_STORE: value }, announce: () => {}, loadKeytar: async () => memoryKeytar() });
    expect(make('fiel')).toThrow(/ENVMGR_CREDENTIAL_STORE is "fiel"; set it to file .* or keychain/);
    expect(make('keychain')).not.toThrow();
    expect(make('')).not.toThrow();
  });
});
