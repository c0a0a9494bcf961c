import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fernetDecrypt, fernetEncrypt, fernetRotate, urlsafeB64Decode } from '../../src/airflow/fernet.js';
import { findPython, runPython } from './python.js';

// Cross-check with Python's `cryptography` (what Airflow uses): tokens envmgr writes must decrypt in Airflow and
// tokens Airflow wrote must decrypt in envmgr.
const python = findPython(['cryptography']);

const SCRIPT = `
import base64, json, sys
from cryptography.fernet import Fernet, MultiFernet
req = json.load(sys.stdin)
def attempt(f):
    try:
        return f()
    except Exception:
        return None
def mf(spec):
    return MultiFernet([Fernet(k.encode('utf-8')) for k in spec.split(',')])
out = {
    'decrypted': [mf(spec).decrypt(tok.encode('ascii')).decode('utf-8') for spec, tok in req['decrypt']],
    'encrypted': [mf(spec).encrypt(pt.encode('utf-8')).decode('ascii') for spec, pt in req['encrypt']],
    'rotated': [mf(spec).rotate(tok.encode('ascii')).decode('ascii') for spec, tok in req['rotate']],
    'b64': [attempt(lambda: base64.urlsafe_b64decode(t).hex()) for t in req.get('b64', [])],
    'keys_ok': [attempt(lambda: mf(spec).decrypt(tok.encode('ascii')).decode('utf-8')) for spec, tok in req.get('keys_ok', [])],
}
print(json.dumps(out))
`;

const key = () => randomBytes(32).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
const keys = [key(), key(), key()];
const plaintexts = ['', 'secret', 'p@ss:w/rd?#%+ &=', 'pässwörd 😀 ключ 密码', '\u0000\n\t\r', 'x'.repeat(1000), '{"extra": "json"}'];

if (!python) {
  describe('Fernet against Python cryptography', () => {
    it.skip('SKIPPED: no python3 with the cryptography module (tried `python3`, `/usr/bin/python3`); install python3-cryptography to run it', () => {});
  });
} else {
  describe(`Fernet against Python cryptography (${python})`, () => {
    it('TS-encrypted tokens decrypt in Python, for several keys, plaintexts and a MultiFernet', () => {
      const decrypt: [string, string][] = [];
      const expected: string[] = [];
      for (const k of keys) {
        for (const p of plaintexts) {
          decrypt.push([k, fernetEncrypt(k, p)]);
          expected.push(p);
        }
      }
      // MultiFernet: envmgr encrypts with the first key; Python decrypts with the list and with the first key alone.
      const multi = `${keys[0]},${keys[1]}`;
      for (const p of plaintexts) {
        const t = fernetEncrypt(multi, p);
        decrypt.push([multi, t], [keys[0]!, t]);
        expected.push(p, p);
      }
      const res = runPython<{ decrypted: string[] }>(python, SCRIPT, { decrypt, encrypt: [], rotate: [] });
      expect(res.decrypted).toEqual(expected);
    });

    it('Python-encrypted tokens decrypt in TS, including through a key list where the key is not first', () => {
      const encrypt: [string, string][] = [];
      for (const k of keys) for (const p of plaintexts) encrypt.push([k, p]);
      const res = runPython<{ encrypted: string[] }>(python, SCRIPT, { decrypt: [], encrypt, rotate: [] });
      res.encrypted.forEach((token, i) => {
        const [k, p] = encrypt[i]!;
        expect(token.startsWith('gAAAAA')).toBe(true);
        expect(fernetDecrypt(k, token)).toBe(p);
        const others = keys.filter((x) => x !== k);
        expect(fernetDecrypt(`${others[0]},${k}`, token)).toBe(p);
        expect(() => fernetDecrypt(others.join(','), token)).toThrow();
      });
    });

    it("decodes base64 as urlsafe_b64decode does: junk skipped, decoding stops at completed padding, what follows ignored", () => {
      // Text near the edge cases, from a fixed seed: pads in odd places, both alphabets, blanks and junk, non-ASCII.
      let seed = 7;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
      const alphabet = 'AQgw09-_+/==. \n!é';
      const texts = Array.from({ length: 3000 }, () => Array.from({ length: next() % 14 }, () => alphabet[next() % alphabet.length]).join(''));
      const res = runPython<{ b64: (string | null)[] }>(python, SCRIPT, { decrypt: [], encrypt: [], rotate: [], b64: texts });
      texts.forEach((t, i) => expect(urlsafeB64Decode(t)?.toString('hex') ?? null, JSON.stringify(t)).toBe(res.b64[i]));
    });

    it('takes a key or token with a stray character after its padding, as Airflow does', () => {
      const k = keys[0]!;
      const token = fernetEncrypt(k, 'pw');
      const pairs: [string, string][] = [[`${k}=`, token], [`${k}x`, token], [`${k}=AAAA`, token], [k, `${token}=`], [k, `${token}junk`], [k, `${token.slice(0, 10)}\n${token.slice(10)}`]];
      const res = runPython<{ keys_ok: (string | null)[] }>(python, SCRIPT, { decrypt: [], encrypt: [], rotate: [], keys_ok: pairs });
      expect(res.keys_ok).toEqual(pairs.map(() => 'pw'));
      for (const [spec, tok] of pairs) expect(fernetDecrypt(spec, tok), `${spec} ${tok}`).toBe('pw');
    });

    it('rotation agrees: TS rotates Python tokens and Python rotates TS tokens', () => {
      const [newKey, oldKey] = keys as [string, string, string];
      const setting = `${newKey},${oldKey}`;
      const tsOld = plaintexts.map((p) => fernetEncrypt(oldKey, p));
      const pyOld = runPython<{ encrypted: string[] }>(python, SCRIPT, { decrypt: [], encrypt: plaintexts.map((p) => [oldKey, p]), rotate: [] }).encrypted;
      const tsRotatedPy = pyOld.map((t) => fernetRotate(setting, t));
      const res = runPython<{ decrypted: string[]; rotated: string[] }>(python, SCRIPT, {
        decrypt: tsRotatedPy.map((t) => [newKey, t]),
        encrypt: [],
        rotate: tsOld.map((t) => [setting, t]),
      });
      expect(res.decrypted).toEqual(plaintexts);
      res.rotated.forEach((t, i) => {
        expect(fernetDecrypt(newKey, t)).toBe(plaintexts[i]);
        expect(() => fernetDecrypt(oldKey, t)).toThrow();
      });
    });
  });
}
