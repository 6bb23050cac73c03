// A small bounded memo for per-SQL-text work (tokenizing, a scratch prepare):
// workloads repeat a handful of statements thousands of times a second.

/** Remembers up to `max` results of `compute`, dropping the least recently used. */
export function memoizeText<T>(compute: (text: string) => T, max: number): ((text: string) => T) & { has(text: string): boolean } {
  const cache = new Map<string, T>();
  const memo = (text: string): T => {
    if (cache.has(text)) {
      const value = cache.get(text) as T;
      cache.delete(text);
      cache.set(text, value);
      return value;
    }
    const value = compute(text);
    if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    cache.set(text, value);
    return value;
  };
  return Object.assign(memo, { has: (text: string) => cache.has(text) });
}
