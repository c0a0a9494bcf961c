import { describe, expect, it } from 'vitest';
import { fernetEncrypt, parseFernetKeys } from '../airflow/fernet.js';
import { fernetTokenLength } from './widths.js';

describe('fernetTokenLength', () => {
  it('is the length of the token Fernet makes of a text of that many UTF-8 bytes', () => {
    const keys = parseFernetKeys('Z2Fh1EulxLzv8bK-Cgfk8LYaSQFhHt0HZsC_qlfg0Qs=', 'test');
    for (let n = 0; n <= 70; n++) {
      expect(fernetTokenLength(n), `${n} bytes`).toBe(fernetEncrypt(keys, 'x'.repeat(n)).length);
    }
    // Counted in bytes, not characters: é is two bytes, 😀 four.
    expect(fernetTokenLength(Buffer.byteLength('é😀'.repeat(9)))).toBe(fernetEncrypt(keys, 'é😀'.repeat(9)).length);
  });
});
