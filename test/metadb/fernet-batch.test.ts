import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fernetDecrypt, fernetEncrypt, InvalidTokenError, parseFernetKeys } from '../../src/airflow/fernet.js';
import { fernetDecryptMany, fernetEncryptMany } from '../../src/metadb/fernet-batch.js';
import { fernetCore } from '../../src/metadb/fernet-core.js';

const A = '1NdcG3zgY2-okvDIhnqOTfHatmZ1dQW4y-Nv77K74XU=';
const B = 'Z2Fh1EulxLzv8bK-Cgfk8LYaSQFhHt0HZsC_qlfg0Qs=';
const keyA = parseFernetKeys(A, 'key A');

// Lengths around the AES block size, unicode and the empty string.
const SAMPLES = ['', 'a', 'x'.repeat(15), 'x'.repeat(16), 'x'.repeat(17), 'y'.repeat(32), 'z'.repeat(1000), 'pässwörd 密码 🔑', '{"a": 1}'];

describe('batched Fernet', () => {
  it('encrypts to tokens the one-at-a-time Fernet decrypts', () => {
    const tokens = fernetEncryptMany(keyA, SAMPLES);
    expect(tokens).toHaveLength(SAMPLES.length);
    tokens.forEach((t, i) => {
      expect(t).toMatch(/^gAAAAA[A-Za-z0-9_-]+=*$/);
      expect(t.length % 4).toBe(0);
      expect(fernetDecrypt(keyA, t)).toBe(SAMPLES[i]);
    });
    // Token length per FACTS.md §2: 4*ceil((57 + 16*(floor(n/16)+1))/3); 100 for a 6-byte value.
    expect(fernetEncryptMany(keyA, ['secret'])[0]).toHaveLength(100);
    // Fresh IVs: the same value twice gives two different tokens.
    const [t1, t2] = fernetEncryptMany(keyA, ['same', 'same']);
    expect(t1).not.toBe(t2);
    // Every IV (bytes 9-24 of the token) is fresh, in small and large batches alike.
    for (const size of [1, 3, 300]) {
      const ivs = fernetEncryptMany(keyA, Array.from({ length: size }, () => 'v')).map((t) => Buffer.from(t, 'base64url').subarray(9, 25).toString('hex'));
      const again = fernetEncryptMany(keyA, ['v']).map((t) => Buffer.from(t, 'base64url').subarray(9, 25).toString('hex'));
      expect(new Set([...ivs, ...again]).size).toBe(size + 1);
      expect(ivs.every((iv) => iv !== '0'.repeat(32))).toBe(true);
    }
  });

  it('decrypts tokens made one at a time, with any key of a MultiFernet', () => {
    const multi = parseFernetKeys(`${B},${A}`, 'rotation');
    const tokens = SAMPLES.map((s, i) => fernetEncrypt(i % 2 ? A : B, s));
    expect(fernetDecryptMany(multi, tokens)).toEqual(SAMPLES);
  });

  it('leaves no decrypted plaintext behind in the WebAssembly memory', () => {
    const secret = `plaintext-${Date.now()}-left-behind?`;
    expect(fernetDecryptMany(keyA, [fernetEncrypt(A, secret)])).toEqual([secret]);
    expect(fernetCore().bytes.indexOf(secret)).toBe(-1);
  });

  it('leaves no plaintext behind when encrypting either (all-ASCII batches are staged in one piece)', () => {
    const ascii = [`first-${Date.now()}-secret`, `second-${Date.now()}-secret`, ''];
    const mixed = [`ascii-${Date.now()}-value`, `ünï-${Date.now()}-cödé`];
    for (const batch of [ascii, mixed]) {
      const tokens = fernetEncryptMany(keyA, batch);
      batch.forEach((text, i) => expect(fernetDecrypt(A, tokens[i]!)).toBe(text));
      for (const text of batch.filter((t) => t !== '')) expect(fernetCore().bytes.indexOf(text)).toBe(-1);
    }
  });

  it('round-trips arbitrary strings', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 80 }), { maxLength: 40 }), (texts) => {
        expect(fernetDecryptMany(keyA, fernetEncryptMany(keyA, texts))).toEqual(texts);
      }),
      { numRuns: 50 },
    );
  });

  it('fails on a token no key opens, saying which one', () => {
    const tokens = [fernetEncrypt(A, 'ok'), fernetEncrypt(B, 'not for A')];
    const err = (() => {
      try {
        fernetDecryptMany(keyA, tokens);
      } catch (e) {
        return e as Error & { badIndex?: number };
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidTokenError);
    expect(err?.badIndex).toBe(1);
    expect(err?.message).toContain('key A');
    // Tampered ciphertext and garbage are refused too.
    const good = fernetEncrypt(A, 'hello');
    const tampered = good.slice(0, 40) + (good[40] === 'A' ? 'B' : 'A') + good.slice(41);
    expect(() => fernetDecryptMany(keyA, [tampered])).toThrow(InvalidTokenError);
    expect(() => fernetDecryptMany(keyA, ['not a token'])).toThrow(InvalidTokenError);
  });

  it('decrypts more than one chunk of tokens (a few MB at a time), naming a bad one by its index in the whole list', () => {
    const big = ['a', 'b', 'c', 'd'].map((c) => c.repeat(1_500_000));
    const tokens = fernetEncryptMany(keyA, [...big, 'small']);
    expect(fernetDecryptMany(keyA, tokens)).toEqual([...big, 'small']);
    const err = (() => {
      try {
        fernetDecryptMany(keyA, [...tokens, fernetEncrypt(B, 'not for A')]);
      } catch (e) {
        return e as Error & { badIndex?: number };
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidTokenError);
    expect(err?.badIndex).toBe(5);
  });
});
