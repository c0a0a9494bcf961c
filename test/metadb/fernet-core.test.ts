import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fernetCore, HEAP, SIP_KEYS_AT } from '../../src/metadb/fernet-core.js';
import { sipHash } from './helpers.js';

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

  it('computes the MACs of many tokens (four at a time where their lengths allow) as node:crypto does', () => {
    const core = fernetCore();
    const key = randomBytes(16);
    // Bodies of every length up to 600 bytes (past the eight blocks the four-at-a-time path takes), shuffled so that
    // the block-count buckets fill and flush in every order, with some lengths left over in a bucket at the end.
    const lengths = Array.from({ length: 601 }, (_, n) => n).concat([100, 100, 100, 57, 57, 121]);
    for (let i = lengths.length - 1; i > 0; i--) {
      const j = randomBytes(4).readUInt32LE(0) % (i + 1);
      [lengths[i], lengths[j]] = [lengths[j]!, lengths[i]!];
    }
    const n = lengths.length;
    const startsAt = HEAP;
    const endsAt = startsAt + 4 * n;
    let at = endsAt + 4 * n + 1; // odd: tokens need no alignment
    const bodies = lengths.map((length) => randomBytes(length));
    const mem = core.reserve(at + lengths.reduce((s, l) => s + l + 32 + 1, 0));
    const places = bodies.map((body) => {
      const start = at;
      mem.set(body, start);
      mem.fill(0, start + body.length, start + body.length + 32);
      at += body.length + 32 + 1;
      return start;
    });
    places.forEach((start, i) => {
      mem.writeInt32LE(start, startsAt + 4 * i);
      mem.writeInt32LE(start + bodies[i]!.length + 32, endsAt + 4 * i);
    });
    core.useKey(key);
    core.fn.macMany(n, startsAt, endsAt);
    places.forEach((start, i) => {
      const end = start + bodies[i]!.length;
      expect(mem.subarray(end, end + 32).toString('hex'), `body of ${bodies[i]!.length} bytes`).toBe(createHmac('sha256', key).update(bodies[i]!).digest('hex'));
    });
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

  /** SipHash-2-4 of `data` under `key` by the module, as 8 bytes (hex). */
  const sip = (key: Buffer, data: Buffer) => sipHash(key, data).toString('hex');

  it("computes SipHash-2-4 as the paper's test vectors give it", () => {
    // Key 00 01 … 0f, message 00 01 … (n - 1): the reference implementation's vectors.h, output bytes little-endian.
    const key = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
    const message = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i));
    expect(sip(key, message(0))).toBe('310e0edd47db6f72');
    // Appendix A of the paper: the 15-byte message gives 0xa129ca6149be45e5.
    expect(sip(key, message(15))).toBe('e545be4961ca29a1');
  });

  const openssl = spawnSync('openssl', ['mac', '-help'], { encoding: 'utf8' });
  const haveOpenssl = openssl.error === undefined && /SIPHASH|macopt/i.test(`${openssl.stdout}${openssl.stderr}`);
  it.runIf(haveOpenssl)('computes SipHash-2-4 as OpenSSL does, for every length around the 8-byte blocks (openssl mac)', () => {
    for (let length = 0; length <= 40; length++) {
      const key = randomBytes(16);
      const data = randomBytes(length);
      const ref = spawnSync('openssl', ['mac', '-macopt', `hexkey:${key.toString('hex')}`, '-macopt', 'size:8', 'SIPHASH'], { input: data, encoding: 'utf8' });
      expect(ref.status).toBe(0);
      expect(sip(key, data)).toBe(ref.stdout.trim().toLowerCase());
    }
  });

  it('digests each element of a JSON array with its own key (sipFields)', () => {
    const core = fernetCore();
    const keys = Array.from({ length: 8 }, () => randomBytes(16));
    const texts = [
      JSON.stringify(['postgres', null, 'db "x", y', 'a\\\\b\\"', 5432, '{"a":[1,2]}', '', 'é, ]']),
      JSON.stringify([1]),
      JSON.stringify([]),
    ];
    const bytes = texts.map((t) => Buffer.from(t, 'utf8'));
    const n = texts.length;
    const startsAt = HEAP;
    const endsAt = startsAt + 4 * n;
    let at = endsAt + 4 * n + 3;
    const mem = core.reserve(at + 4096);
    const words = new Int32Array(mem.buffer, 0, (endsAt + 4 * n) >>> 2);
    bytes.forEach((b, i) => {
      mem.set(b, at);
      words[(startsAt >>> 2) + i] = at;
      at += b.length;
      words[(endsAt >>> 2) + i] = at;
    });
    keys.forEach((k, j) => mem.set(k, SIP_KEYS_AT + 16 * j));
    const out = at + 5;
    const end = core.fn.sipFields(n, startsAt, endsAt, out);
    // Each element's own JSON text, digested under the key of its position: 8 + 1 + 0 digests of 6 bytes.
    const expected = texts.flatMap((t) => (JSON.parse(t) as unknown[]).map((v, j) => sip(keys[j]!, Buffer.from(JSON.stringify(v), 'utf8')).slice(0, 12)));
    expect(end - out).toBe(6 * expected.length);
    expect(mem.subarray(out, end).toString('hex')).toBe(expected.join(''));
  });

  it('digests cells with the key of their column, NULL as the one byte 0xff (sipCells)', () => {
    const core = fernetCore();
    const keys = Array.from({ length: 3 }, () => randomBytes(16));
    // Two rows of three cells: text, NULL, empty text; then text with non-ASCII bytes, text, NULL.
    const cells: Array<Buffer | null> = [Buffer.from('postgres'), null, Buffer.alloc(0), Buffer.from('hé\tx'), Buffer.from('a'.repeat(40)), null];
    const text = Buffer.concat(cells.filter((c): c is Buffer => c !== null));
    const lengthsAt = HEAP + 16;
    const textAt = lengthsAt + 4 * cells.length + 1;
    const out = textAt + text.length + 3;
    const mem = core.reserve(out + 64);
    mem[HEAP] = 0xff;
    new Int32Array(mem.buffer, lengthsAt, cells.length).set(cells.map((c) => (c === null ? -1 : c.length)));
    mem.set(text, textAt);
    keys.forEach((k, j) => mem.set(k, SIP_KEYS_AT + 16 * j));
    const end = core.fn.sipCells(cells.length, 3, lengthsAt, textAt, HEAP, out);
    const got = fernetCore().bytes.subarray(out, end).toString('hex');
    const expected = cells.map((c, i) => sip(keys[i % 3]!, c ?? Buffer.from([0xff])).slice(0, 12));
    expect(end - out).toBe(6 * cells.length);
    expect(got).toBe(expected.join(''));
    // NULL and the empty text differ; a width the module has no keys for is refused.
    expect(expected[1]).not.toBe(sip(keys[1]!, Buffer.alloc(0)).slice(0, 12));
    expect(core.fn.sipCells(1, 0, lengthsAt, textAt, HEAP, out)).toBe(-1);
    expect(core.fn.sipCells(1, 9, lengthsAt, textAt, HEAP, out)).toBe(-1);
  });

  it("digests each cell with its object's owner: owner, 0, the bytes; NULL as owner, 1 (sipOwned)", () => {
    const core = fernetCore();
    const keys = Array.from({ length: 2 }, () => randomBytes(16));
    // Two objects of two cells, their texts anywhere in memory and in any order: a long owner and a 40-byte cell cross
    // SipHash's 8-byte blocks; an empty owner; NULL and the empty text.
    const owners = [Buffer.from('conn_é_0123456789'), Buffer.alloc(0)];
    const cells: Array<Buffer | null> = [Buffer.from('x'.repeat(40)), null, Buffer.alloc(0), Buffer.from('hé\tx')];
    const textAt = HEAP + 1024;
    const placed = [...owners, ...cells.filter((c): c is Buffer => c !== null)].reverse();
    const at = new Map<Buffer, number>();
    let p = textAt;
    for (const b of placed) {
      at.set(b, p);
      p += b.length + 3;
    }
    const scratch = p + 8;
    const out = scratch + 128;
    const mem = core.reserve(out + 64);
    for (const [b, q] of at) mem.set(b, q);
    const spans = new Int32Array(mem.buffer, HEAP, 12);
    owners.forEach((o, i) => spans.set([at.get(o)!, at.get(o)! + o.length], 2 * i));
    cells.forEach((c, k) => spans.set(c === null ? [-1, -1] : [at.get(c)!, at.get(c)! + c.length], 4 + 2 * k));
    keys.forEach((k, j) => mem.set(k, SIP_KEYS_AT + 16 * j));
    const end = core.fn.sipOwned(2, 2, HEAP, HEAP + 16, scratch, out);
    const got = fernetCore().bytes.subarray(out, end).toString('hex');
    const expected = cells.map((c, k) => {
      const owner = owners[k >> 1]!;
      return sip(keys[k % 2]!, c === null ? Buffer.concat([owner, Buffer.from([1])]) : Buffer.concat([owner, Buffer.from([0]), c])).slice(0, 12);
    });
    expect(end - out).toBe(6 * cells.length);
    expect(got).toBe(expected.join(''));
    expect(core.fn.sipOwned(1, 0, HEAP, HEAP + 16, scratch, out)).toBe(-1);
    expect(core.fn.sipOwned(1, 9, HEAP, HEAP + 16, scratch, out)).toBe(-1);
  });

  it('refuses a text that is not a JSON array of at most eight scalars (sipFields answers -1)', () => {
    const core = fernetCore();
    for (const text of ['["a","b"', '"a"', '[1,2,3,4,5,6,7,8,9]', '["unterminated]', '["a""b"]']) {
      const b = Buffer.from(text);
      const mem = core.reserve(HEAP + 64 + b.length + 256);
      mem.set(b, HEAP + 64);
      new Int32Array(mem.buffer, HEAP, 2).set([HEAP + 64, HEAP + 64 + b.length]);
      expect(core.fn.sipFields(1, HEAP, HEAP + 4, HEAP + 128 + b.length), text).toBe(-1);
    }
  });
});
