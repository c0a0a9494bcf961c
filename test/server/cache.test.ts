import { describe, expect, it } from 'vitest';
import { ResponseCache } from '../../src/server/cache.js';

describe('ResponseCache', () => {
  it('evicts the least recently used entry beyond its entry or byte bound', () => {
    const byCount = new ResponseCache(1_000_000, 2);
    byCount.set('a', Buffer.from('A'));
    byCount.set('b', Buffer.from('B'));
    expect(byCount.get('a')?.toString()).toBe('A'); // a is now the most recent
    byCount.set('c', Buffer.from('C'));
    expect(byCount.get('b')).toBeUndefined();
    expect(byCount.get('a')?.toString()).toBe('A');
    expect(byCount.get('c')?.toString()).toBe('C');

    // A 20-byte bound holds two 10-byte values.
    const byBytes = new ResponseCache(20, 100);
    byBytes.set('x', Buffer.alloc(10, 'x'));
    byBytes.set('y', Buffer.alloc(10, 'y'));
    byBytes.set('z', Buffer.alloc(10, 'z'));
    expect(byBytes.size).toBe(2);
    expect(byBytes.get('x')).toBeUndefined();
    byBytes.set('huge', Buffer.alloc(100, 'h'));
    expect(byBytes.get('huge')).toBeUndefined();
    expect(byBytes.size).toBe(2);
  });
});
