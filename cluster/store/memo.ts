// A small bounded memo for per-SQL-text work (tokenizing, a scratch prepare):
// workloads repeat a handful of statements thousands of times a second, and
// every write asks several of these memos (the leader's check, each replica's
// apply), so a hit must cost one lookup.

/**
 * Remembers results of `compute` for recent texts. Two generations of up to
 * `max` texts each: a hit in the young one is a single Map lookup; a hit in
 * the old one moves the text to the young one; when the young one is full, it
 * becomes the old one and the old one is dropped. So every text among the
 * last `max` distinct texts asked for is held (as with an exact LRU of `max`),
 * at most 2 × `max` results are kept, and no hit pays the delete and
 * re-insert an exact LRU costs. A `compute` that throws caches nothing.
 */
export function memoizeText<T>(compute: (text: string) => T, max: number): ((text: string) => T) & { has(text: string): boolean } {
  const generation = Math.max(1, Math.floor(max));
  let young = new Map<string, T>();
  let old = new Map<string, T>();
  const memo = (text: string): T => {
    const hit = young.get(text);
    if (hit !== undefined || young.has(text)) return hit as T;
    const value = old.has(text) ? (old.get(text) as T) : compute(text);
    if (young.size >= generation) {
      old = young;
      young = new Map();
    }
    young.set(text, value);
    return value;
  };
  return Object.assign(memo, { has: (text: string) => young.has(text) || old.has(text) });
}
