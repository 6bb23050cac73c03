// A small bounded memo for per-SQL-text work (tokenizing, a scratch prepare):
// workloads repeat a handful of statements thousands of times a second, and
// every write asks several of these memos (the leader's check, each replica's
// apply), so a hit must cost one lookup.

/**
 * Remembers up to `max` results of `compute`. Two generations, each at most
 * half of `max`: a hit in the young one is a single Map lookup; a hit in the
 * old one moves the text to the young one; when the young one is full, it
 * becomes the old one and the old one is dropped. A text in use is therefore
 * never dropped while fewer than `max / 2` other texts are used after it: an
 * approximate least-recently-used order, without the delete and re-insert an
 * exact one costs on every hit.
 */
export function memoizeText<T>(compute: (text: string) => T, max: number): ((text: string) => T) & { has(text: string): boolean } {
  const half = Math.max(1, Math.floor(max / 2));
  let young = new Map<string, T>();
  let old = new Map<string, T>();
  const memo = (text: string): T => {
    const hit = young.get(text);
    if (hit !== undefined || young.has(text)) return hit as T;
    const value = old.has(text) ? (old.get(text) as T) : compute(text);
    if (young.size >= half) {
      old = young;
      young = new Map();
    }
    young.set(text, value);
    return value;
  };
  return Object.assign(memo, { has: (text: string) => young.has(text) || old.has(text) });
}
