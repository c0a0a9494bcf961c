import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fernetCore, HEAP } from '../../src/metadb/fernet-core.js';

describe('fernet-core (WebAssembly)', () => {
  it('is what fernet-core.wat assembles to', async () => {
    // @ts-expect-error -- a plain .mjs script without declarations
    const { assemble, render } = (await import('../../scripts/build-wasm.mjs')) as { assemble(): Promise<Buffer>; render(b: Buffer): string };
    const committed = readFileSync(new URL('../../src/metadb/fernet-core.wasm.ts', import.meta.url), 'utf8');
    expect(committed).toBe(render(await assemble()));
  });

  it('computes HMAC-SHA256 as node:crypto does, for every length around the block boundaries', () => {
    const core = fernetCore();
    for (const keyLength of [0, 1, 16, 32, 63, 64]) {
      const key = randomBytes(keyLength);
      for (let length = 0; length <= 200; length++) {
        const data = randomBytes(length);
        const mem = core.reserve(HEAP + 64 + length);
        mem.set(data, HEAP + 64 + 3);
        core.useKey(key);
        core.fn.mac(HEAP + 64 + 3, length, HEAP);
        expect(mem.subarray(HEAP, HEAP + 32).toString('hex')).toBe(createHmac('sha256', key).update(data).digest('hex'));
      }
    }
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    const mem = core.reserve(HEAP + 128);
    const data = Buffer.from('what do ya want for nothing?');
    mem.set(data, HEAP + 64);
    core.useKey(Buffer.from('Jefe'));
    core.fn.mac(HEAP + 64, data.length, HEAP);
    expect(mem.subarray(HEAP, HEAP + 32).toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('writes base64url with = padding for every remainder, as Python urlsafe_b64encode does', () => {
    const core = fernetCore();
    // Values of 0..70 bytes back to back (odd offsets included), their texts one after the other.
    const values = Array.from({ length: 71 }, (_, n) => randomBytes(n));
    const total = values.reduce((sum, v) => sum + v.length, 0);
    const n = values.length;
    const startsAt = HEAP;
    const endsAt = startsAt + 4 * n;
    const dataAt = endsAt + 4 * n + 1;
    const textAt = dataAt + total + 7;
    const mem = core.reserve(textAt + 2 * total + 4 * n);
    const words = new Int32Array(mem.buffer, 0, dataAt >>> 2);
    let at = dataAt;
    values.forEach((v, i) => {
      mem.set(v, at);
      words[(startsAt >>> 2) + i] = at;
      at += v.length;
      words[(endsAt >>> 2) + i] = at;
    });
    const end = core.fn.base64Many(n, startsAt, endsAt, textAt);
    const expected = values.map((v) => {
      const text = v.toString('base64url');
      return text + '='.repeat((4 - (text.length % 4)) % 4);
    }).join('');
    expect(end - textAt).toBe(expected.length);
    expect(mem.toString('latin1', textAt, end)).toBe(expected);
  });

  it('keeps working when its memory has to grow', () => {
    const core = fernetCore();
    const big = randomBytes(3 << 20);
    const mem = core.reserve(HEAP + 64 + big.length);
    mem.set(big, HEAP + 64);
    core.useKey(Buffer.alloc(16, 7));
    core.fn.mac(HEAP + 64, big.length, HEAP);
    expect(core.bytes.subarray(HEAP, HEAP + 32).toString('hex')).toBe(createHmac('sha256', Buffer.alloc(16, 7)).update(big).digest('hex'));
  });
});
