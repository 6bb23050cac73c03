// The core keeps a bounded window of entries in memory when its host can read
// older ones back (the WAL): terms and lsns of every index stay, entries come
// back from storage when a lagging follower or a rollback needs them.

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
    // Terms and lsns of every index stay without touching storage.
    expect(log.term(1)).toBe(1);
    expect(log.lsn(5)).toBe(all[4]!.lsn);
    expect(store.reads).toEqual([]);
    // Old entries come back from storage, exactly.
    expect(log.slice(10, 13)).toEqual(all.slice(9, 12));
    expect(log.entry(1)).toEqual(all[0]);
    expect(store.reads.length).toBe(2);
    // A range across the window boundary joins both parts.
    const boundary = 20_000 - log.inMemory();
    expect(log.slice(boundary - 2, boundary + 3)).toEqual(all.slice(boundary - 3, boundary + 2));
    // A batch for a lagging follower respects the count limit from storage too.
    expect(log.batch(100, 50, 1 << 20).map((e) => e.index)).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
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
  });
});
