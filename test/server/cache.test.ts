import { describe, expect, it } from 'vitest';
import { ResponseCache } from '../../src/server/cache.js';

describe('ResponseCache', () => {
  it('evicts the least recently used entry beyond its entry or byte bound', () => {
    const byCount = new ResponseCache(1_000_000, 2);
    byCount.set('a', 'A');
    byCount.set('b', 'B');
    expect(byCount.get('a')).toBe('A'); // a is now the most recent
    byCount.set('c', 'C');
    expect(byCount.get('b')).toBeUndefined();
    expect(byCount.get('a')).toBe('A');
    expect(byCount.get('c')).toBe('C');

    // 2 bytes per UTF-16 unit: 10 units = 20 bytes; a 40-byte bound holds two such values.
    const byBytes = new ResponseCache(40, 100);
    byBytes.set('x', 'x'.repeat(10));
    byBytes.set('y', 'y'.repeat(10));
    byBytes.set('z', 'z'.repeat(10));
    expect(byBytes.size).toBe(2);
    expect(byBytes.get('x')).toBeUndefined();
    byBytes.set('huge', 'h'.repeat(100));
    expect(byBytes.get('huge')).toBeUndefined();
    expect(byBytes.size).toBe(2);
  });
});
