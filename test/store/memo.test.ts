// The per-text memo behind the statement checks and the prepared-statement
// cache: one lookup a hit, bounded, and never a result for another text.

import { describe, expect, it } from 'vitest';
import { memoizeText } from '../../cluster/store/memo.js';

function counted(max: number) {
  const computed: string[] = [];
  const memo = memoizeText((text: string) => {
    computed.push(text);
    return `result of ${text}`;
  }, max);
  return { memo, computed };
}

describe('memoizeText', () => {
  it('answers each text with its own result, computing it once while it is held', () => {
    const { memo, computed } = counted(4);
    for (const text of ['a', 'b', 'a', 'c', 'b', 'a']) expect(memo(text)).toBe(`result of ${text}`);
    expect(computed).toEqual(['a', 'b', 'c']);
  });

  it('holds every text among the last max distinct ones: a cycle of max texts computes each once', () => {
    const { memo, computed } = counted(8);
    for (let round = 0; round < 10; round++) for (let i = 0; i < 8; i++) memo(`t${i}`);
    expect(computed.length).toBe(8);
  });

  it('keeps a text that is in use while a scan of others passes, up to max of them', () => {
    const { memo, computed } = counted(4);
    memo('hot');
    for (let i = 0; i < 20; i++) {
      memo(`scan${i}`);
      memo('hot');
    }
    expect(computed.filter((text) => text === 'hot').length).toBe(1);
  });

  it('keeps at most twice max results, and forgets texts not asked for since', () => {
    const { memo, computed } = counted(3);
    for (let i = 0; i < 100; i++) memo(`t${i}`);
    const held = Array.from({ length: 100 }, (_, i) => `t${i}`).filter((text) => memo.has(text));
    expect(held.length).toBeLessThanOrEqual(6);
    expect(held).toContain('t99');
    expect(memo.has('t0')).toBe(false);
    expect(computed.length).toBe(100);
  });

  it('caches null and undefined results, and nothing when compute throws', () => {
    let calls = 0;
    const memo = memoizeText((text: string) => {
      calls++;
      if (text === 'bad') throw new Error('no');
      return text === 'none' ? undefined : null;
    }, 4);
    expect(memo('none')).toBeUndefined();
    expect(memo('null')).toBeNull();
    expect(memo('none')).toBeUndefined();
    expect(memo('null')).toBeNull();
    expect(calls).toBe(2);
    expect(() => memo('bad')).toThrow('no');
    expect(() => memo('bad')).toThrow('no');
    expect(calls).toBe(4);
    expect(memo.has('bad')).toBe(false);
  });
});
