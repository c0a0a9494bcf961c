import { describe, expect, it } from 'vitest';
import { ResponseCache, sizeOf } from '../../src/server/cache.js';

describe('ResponseCache', () => {
  it('evicts the least recently used entry beyond its entry or byte bound', () => {
    const byCount = new ResponseCache(1_000_000, 2);
    byCount.set('o', '1', 'a', Buffer.from('A'));
    byCount.set('o', '1', 'b', Buffer.from('B'));
    expect(byCount.get('o', '1', 'a')?.toString()).toBe('A'); // a is now the most recent
    byCount.set('o', '1', 'c', Buffer.from('C'));
    expect(byCount.get('o', '1', 'b')).toBeUndefined();
    expect(byCount.get('o', '1', 'a')?.toString()).toBe('A');
    expect(byCount.get('o', '1', 'c')?.toString()).toBe('C');

    // A 20-byte bound holds two 10-byte values.
    const byBytes = new ResponseCache(20, 100);
    byBytes.set('o', '1', 'x', Buffer.alloc(10, 'x'));
    byBytes.set('o', '1', 'y', Buffer.alloc(10, 'y'));
    byBytes.set('o', '1', 'z', Buffer.alloc(10, 'z'));
    expect(byBytes.size).toBe(2);
    expect(byBytes.byteSize).toBe(20);
    expect(byBytes.get('o', '1', 'x')).toBeUndefined();
    byBytes.set('o', '1', 'huge', Buffer.alloc(100, 'h'));
    expect(byBytes.get('o', '1', 'huge')).toBeUndefined();
    expect(byBytes.size).toBe(2);
  });

  it('counts string sets at two bytes per character (plus a fixed overhead each) against the byte bound', () => {
    expect(sizeOf(['abc', 'de'])).toBe(2 * 3 + 16 + 2 * 2 + 16);
    const cache = new ResponseCache(100, 100);
    cache.set('o', '1', 'set', ['x'.repeat(50)]); // 116 > 100: not kept
    expect(cache.get('o', '1', 'set')).toBeUndefined();
    cache.set('o', '1', 'set', ['x'.repeat(20)]); // 56
    expect(cache.get('o', '1', 'set')).toEqual(['x'.repeat(20)]);
  });

  it('a newer revision of an organization drops all its older entries, and no other organization\'s', () => {
    const cache = new ResponseCache();
    cache.set('org-a', '5', 'k', Buffer.from('a5'));
    cache.set('org-a', '5', 'set', ['secret-at-5']);
    cache.set('org-b', '5', 'k', Buffer.from('b5'));
    expect(cache.size).toBe(3);
    // The same key under another organization is another entry.
    expect(cache.get('org-b', '5', 'k')?.toString()).toBe('b5');

    // Revision 6 of org-a: nothing of revision 5 is served, and it is gone from memory.
    expect(cache.get('org-a', '6', 'k')).toBeUndefined();
    expect(cache.get('org-a', '6', 'set')).toBeUndefined();
    expect(cache.size).toBe(1);
    expect(cache.get('org-b', '5', 'k')?.toString()).toBe('b5');

    // A request still holding revision 5 (read just before a write committed) neither reads nor fills the cache.
    cache.set('org-a', '6', 'k', Buffer.from('a6'));
    cache.set('org-a', '5', 'k', Buffer.from('stale'));
    expect(cache.get('org-a', '5', 'k')).toBeUndefined();
    expect(cache.get('org-a', '6', 'k')?.toString()).toBe('a6');

    // Revisions compare as numbers, not as text ('10' > '9').
    cache.set('org-c', '9', 'k', Buffer.from('c9'));
    expect(cache.get('org-c', '10', 'k')).toBeUndefined();
    cache.set('org-c', '10', 'k', Buffer.from('c10'));
    expect(cache.get('org-c', '9', 'k')).toBeUndefined();
    expect(cache.get('org-c', '10', 'k')?.toString()).toBe('c10');
  });
});
