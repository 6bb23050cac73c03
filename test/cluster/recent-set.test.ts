// The supervisor remembers the lost writes it has reported (the last 200,000),
// so that each is reported once: a bounded set that forgets its oldest key in O(1).

import { describe, expect, it } from 'vitest';
import { RecentSet } from '../../cluster/supervisor/recent-set.js';

describe('RecentSet', () => {
  it('holds the last max keys and forgets the oldest first', () => {
    const set = new RecentSet(3);
    for (const key of ['a', 'b', 'c']) set.add(key);
    expect(['a', 'b', 'c'].map((k) => set.has(k))).toEqual([true, true, true]);
    set.add('d');
    expect(set.has('a')).toBe(false);
    expect(['b', 'c', 'd'].map((k) => set.has(k))).toEqual([true, true, true]);
    expect(set.size).toBe(3);
  });

  it('adding a key it holds changes nothing, so a repeat does not push another key out early', () => {
    const set = new RecentSet(3);
    for (const key of ['a', 'b', 'c', 'b', 'b']) set.add(key);
    expect(set.size).toBe(3);
    expect(set.has('a')).toBe(true);
    set.add('d');
    expect(set.has('a')).toBe(false);
    expect(set.has('b')).toBe(true);
  });

  it('stays exact over many rounds of the ring', () => {
    const set = new RecentSet(1_000);
    for (let i = 0; i < 25_000; i++) set.add(`${i}:1`);
    expect(set.size).toBe(1_000);
    expect(set.has('23999:1')).toBe(false);
    expect(set.has('24000:1')).toBe(true);
    expect(set.has('24999:1')).toBe(true);
  });

  it('refuses a size that is not a whole number >= 1', () => {
    expect(() => new RecentSet(0)).toThrow(/whole number >= 1/);
    expect(() => new RecentSet(2.5)).toThrow(/whole number >= 1/);
  });
});
