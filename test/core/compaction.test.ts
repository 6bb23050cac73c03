// The core keeps a bounded window of entries in memory when its host can read
// older ones back (the WAL): the term of every index stays, entries (and with
// them their lsns) come back from storage when a lagging follower, a rollback
// or telemetry about a lagging follower needs them.

import { describe, expect, it } from 'vitest';
import { RaftLog, entryBytes, limits, type Entry, type LogStorage } from '../../cluster/core/index.js';

function entries(count: number, term = 1): Entry[] {
  const out: Entry[] = [];
  let lsn = 0;
  for (let index = 1; index <= count; index++) {
    const data = `w${index}`;
    lsn += entryBytes('sql', data, undefined);
    out.push({ index, term, lsn, kind: 'sql', data });
  }
  return out;
}

/** A storage that records what it was asked for. */
function storage(log: readonly Entry[]): LogStorage & { reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    reads,
    entries(lo, hi) {
      reads.push([lo, hi]);
      return log.slice(lo - 1, hi - 1);
    },
  };
}

describe('the in-memory window of the log', () => {
  it('drops old durable entries from memory and reads them back from storage on demand', () => {
    const all = entries(20_000);
    const store = storage(all);
    const log = new RaftLog(all, store);
    log.compact(limits.logEntriesInMemoryMax);
    expect(log.inMemory()).toBeLessThanOrEqual(limits.logEntriesInMemoryMax);
    expect(log.lastIndex()).toBe(20_000);
    // Terms of every index stay in memory, and so do the lsns of the window and the index before it.
    const boundary = 20_000 - log.inMemory();
    expect(log.term(1)).toBe(1);
    expect(log.lsn(20_000)).toBe(all[19_999]!.lsn);
    expect(log.lsn(boundary)).toBe(all[boundary - 1]!.lsn);
    expect(log.lsn(0)).toBe(0);
    expect(store.reads).toEqual([]);
    // An older lsn is read back from storage (no per-entry lsn array in memory).
    expect(log.lsn(5)).toBe(all[4]!.lsn);
    expect(store.reads).toEqual([[5, 6]]);
    store.reads.length = 0;
    // Old entries come back from storage, exactly.
    expect(log.slice(10, 13)).toEqual(all.slice(9, 12));
    expect(log.entry(1)).toEqual(all[0]);
    expect(store.reads.length).toBe(2);
    // A range across the window boundary joins both parts.
    expect(log.slice(boundary - 2, boundary + 3)).toEqual(all.slice(boundary - 3, boundary + 2));
    // A batch for a lagging follower respects the count limit from storage too.
    expect(log.batch(100, 50, 1 << 20).map((e) => e.index)).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
    // ... and the byte limit, from the sizes of the entries it read (entries w100..w999 are one size, w10000.. another).
    const size = (index: number): number => all[index - 1]!.lsn - all[index - 2]!.lsn;
    expect(log.batch(100, 50, 10 * size(100)).map((e) => e.index)).toEqual(Array.from({ length: 10 }, (_, i) => 100 + i));
    expect(log.batch(boundary + 1, 50, 3 * size(boundary + 1)).map((e) => e.index)).toEqual([boundary + 1, boundary + 2, boundary + 3]);
    // At least one entry, however small the limit.
    expect(log.batch(100, 50, 1).map((e) => e.index)).toEqual([100]);
  });

  it('never drops entries that are not durable or not yet written', () => {
    const log = new RaftLog([], storage([]));
    for (const entry of entries(20_000)) log.append(entry);
    log.compact(100);
    expect(log.inMemory()).toBe(20_000);
    log.takeUnwritten();
    log.markPersisted(15_000, 1);
    log.compact(100);
    expect(log.inMemory()).toBe(5_000);
  });

  it('keeps everything without storage (the simulator and tests)', () => {
    const log = new RaftLog(entries(20_000));
    log.compact(100);
    expect(log.inMemory()).toBe(20_000);
  });

  it('truncates below the window: the window restarts at the cut', () => {
    const all = entries(20_000);
    const log = new RaftLog(all, storage(all));
    log.compact(1_000);
    log.truncateFrom(5);
    expect(log.lastIndex()).toBe(4);
    const next: Entry = { index: 5, term: 2, lsn: all[3]!.lsn + entryBytes('sql', 'x', undefined), kind: 'sql', data: 'x' };
    log.append(next);
    expect(log.entry(5)).toEqual(next);
    expect(log.term(5)).toBe(2);
    expect(log.slice(3, 6)).toEqual([all[2], all[3], next]);
    expect([log.lsn(4), log.lsn(5)]).toEqual([all[3]!.lsn, next.lsn]);
  });

  it('keeps lsns right across compactions and truncations in and below the window', () => {
    const all = entries(5_000);
    const log = new RaftLog(all, storage(all));
    log.compact(1_024);
    const windowStart = 5_000 - log.inMemory() + 1;
    // A cut inside the window keeps the window's start and the lsn before it.
    log.truncateFrom(windowStart + 10);
    expect(log.lsn(windowStart + 9)).toBe(all[windowStart + 8]!.lsn);
    expect(log.lsn(windowStart - 1)).toBe(all[windowStart - 2]!.lsn);
    // Re-grow past the cut, make it durable, compact again: lsns still match the entries.
    const regrown = entries(6_000).slice(windowStart + 9);
    for (const entry of regrown) log.append(entry);
    log.takeUnwritten();
    log.markPersisted(6_000, 1);
    log.compact(1_024);
    const full = entries(6_000);
    for (const index of [1, windowStart - 1, windowStart + 9, 5_000, 6_000 - log.inMemory(), 6_000]) expect(log.lsn(index), `lsn(${index})`).toBe(full[index - 1]!.lsn);
  });
});
