// The in-memory Raft log of one core. Indexes start at 1, or after the index
// of a snapshot once the log was compacted (the snapshot's term and lsn stay
// known, nothing below them); ranges are half-open [lo, hi). The host owns durability: entries written since the last `ready()`
// are handed out once, and `markPersisted` moves the stable mark when the host
// reports that a write reached disk.

import { entryHeaderBytes } from './constants.js';
import { TermRuns } from './log-positions.js';
import { assert, type Entry, type EntryKind, type SnapshotMeta } from './types.js';

/** Bytes a string takes in UTF-8, without allocating. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Bytes an entry adds to the log stream; lsn is the running sum of these. */
export function entryBytes(kind: EntryKind, data: string, client: string | undefined): number {
  return entryHeaderBytes + kind.length + utf8Length(data) + (client === undefined ? 0 : utf8Length(client));
}

/**
 * Where entries older than the in-memory window come from: the host's durable
 * log (the node's WAL). Only asked for durable entries, with lo < hi.
 */
export interface LogStorage {
  /** Entries [lo, hi), each as it was appended (lsn included). */
  entries(lo: number, hi: number): Entry[];
}

export class RaftLog {
  /** The term of every index, whether its entry is in memory or only on disk. */
  private readonly terms = new TermRuns();
  /** The newest entries; window[i] has index windowStart + i. An lsn older than the window is read from storage. */
  private window: Entry[] = [];
  private windowStart = 1;
  /** The lsn of index windowStart - 1, where the window's first entry starts (0 from index 1). */
  private lsnBeforeWindow = 0;
  /** The lsn of the base index (the snapshot's), where the log's first entry starts. */
  private baseLsn = 0;
  /** Highest index known to be durable on this node. */
  stableIndex: number;
  /** Lowest index written since the last `takeUnwritten`, or null when nothing is. */
  private unwrittenFrom: number | null = null;

  /** `storage` lets the log drop old entries from memory (`compact`); without it every entry stays. */
  constructor(
    durable: readonly Entry[],
    private readonly storage: LogStorage | null = null,
    snapshot: Pick<SnapshotMeta, 'index' | 'term' | 'lsn'> | null = null,
  ) {
    const base = snapshot?.index ?? 0;
    if (snapshot !== null) {
      this.terms.reset(snapshot.index, snapshot.term);
      this.baseLsn = snapshot.lsn;
      this.lsnBeforeWindow = snapshot.lsn;
      this.windowStart = base + 1;
    }
    durable.forEach((entry, i) => {
      assert(entry.index === base + i + 1, `durable log is contiguous from ${base + 1} (found ${entry.index} at ${base + i + 1})`);
      assert(entry.term >= this.lastTerm(), 'terms never decrease along the log');
      this.terms.push(entry.term);
      this.window.push(entry);
    });
    this.stableIndex = base + durable.length;
  }

  /** The first index still in the log (the snapshot's index + 1 once compacted). */
  firstIndex(): number {
    return this.terms.baseIndex + 1;
  }

  /** The index the log starts after: the compaction point (0 when nothing was compacted). */
  baseIndex(): number {
    return this.terms.baseIndex;
  }

  lastIndex(): number {
    return this.terms.lastIndex;
  }

  lastTerm(): number {
    return this.terms.term(this.terms.lastIndex);
  }

  /** The term at `index`; 0 for index 0; the snapshot's at the base index; -1 beyond the end or below the base. */
  term(index: number): number {
    return this.terms.term(index);
  }

  /** The lsn of `index` (0 for index 0): from memory, or from storage for an index older than the window. */
  lsn(index: number): number {
    if (!(index >= this.baseIndex() && index <= this.lastIndex())) assert(false, `lsn of index ${index} within ${this.baseIndex()}..${this.lastIndex()}`);
    if (index >= this.windowStart) return this.window[index - this.windowStart]!.lsn;
    if (index === this.windowStart - 1) return this.lsnBeforeWindow;
    if (index === this.baseIndex()) return this.baseLsn;
    return this.fromStorage(index, index + 1)[0]!.lsn;
  }

  entry(index: number): Entry {
    if (!(index > this.baseIndex() && index <= this.lastIndex())) assert(false, `entry ${index} is in the log (${this.firstIndex()}..${this.lastIndex()})`);
    const entry = index >= this.windowStart ? this.window[index - this.windowStart] : this.fromStorage(index, index + 1)[0];
    if (!(entry !== undefined && entry.index === index)) assert(false, `entry ${index} found`);
    return entry;
  }

  /** Entries [lo, hi). */
  slice(lo: number, hi: number): Entry[] {
    const end = Math.min(hi, this.lastIndex() + 1);
    if (lo >= end) return [];
    if (!(lo > this.baseIndex())) assert(false, `entries from ${lo} are in the log (first ${this.firstIndex()})`);
    if (lo >= this.windowStart) return this.window.slice(lo - this.windowStart, end - this.windowStart);
    const old = this.fromStorage(lo, Math.min(end, this.windowStart));
    return end <= this.windowStart ? old : old.concat(this.window.slice(0, end - this.windowStart));
  }

  /** Entries from `lo`, at most `countMax` of them and about `bytesMax` bytes (at least one). */
  batch(lo: number, countMax: number, bytesMax: number): Entry[] {
    const entries = this.slice(lo, lo + countMax);
    let previousLsn = entries.length === 0 ? 0 : this.lsn(lo - 1);
    let bytes = 0;
    let count = 0;
    for (const entry of entries) {
      const size = entry.lsn - previousLsn;
      if (count > 0 && bytes + size > bytesMax) break;
      bytes += size;
      previousLsn = entry.lsn;
      count++;
    }
    return count === entries.length ? entries : entries.slice(0, count);
  }

  append(entry: Entry): void {
    if (!(entry.index === this.lastIndex() + 1)) assert(false, `append at ${entry.index} follows ${this.lastIndex()}`);
    assert(entry.term >= this.lastTerm(), 'appended term is not older than the last');
    assert(this.windowStart + this.window.length === entry.index, 'the window ends at the last index');
    this.terms.push(entry.term);
    this.window.push(entry);
    if (this.unwrittenFrom === null) this.unwrittenFrom = entry.index;
  }

  /** Drops every entry at or after `index`; what was durable there is no longer ours. */
  truncateFrom(index: number): void {
    assert(index > this.baseIndex() && index <= this.lastIndex(), `truncate from ${index} within ${this.firstIndex()}..${this.lastIndex()}`);
    if (index >= this.windowStart) this.window.length = index - this.windowStart;
    else {
      this.lsnBeforeWindow = this.lsn(index - 1);
      this.window = [];
      this.windowStart = index;
    }
    this.terms.truncate(index - 1);
    this.stableIndex = Math.min(this.stableIndex, index - 1);
    this.unwrittenFrom = this.unwrittenFrom === null ? index : Math.min(this.unwrittenFrom, index);
  }

  /**
   * Keeps at most about `entriesMax` entries in memory: older ones that are
   * durable and written go, to be read back from storage when needed. Drops
   * in chunks so the window is not shifted on every append.
   */
  compact(entriesMax: number): void {
    if (this.storage === null) return;
    const durableEnd = Math.min(this.stableIndex, (this.unwrittenFrom ?? Infinity) - 1);
    const keepFrom = Math.min(durableEnd + 1, this.lastIndex() + 1 - entriesMax);
    const drop = keepFrom - this.windowStart;
    if (drop < compactChunkEntries) return;
    this.lsnBeforeWindow = this.window[drop - 1]!.lsn;
    this.window.splice(0, drop);
    this.windowStart = keepFrom;
  }

  /**
   * Forgets every entry up to `upTo`: a snapshot holds them and the host may
   * delete them from its storage (after this call: their lsn is read first).
   * Only durable, written entries are compacted.
   */
  compactTo(upTo: number): void {
    const base = this.baseIndex();
    if (upTo <= base) return;
    const durableEnd = Math.min(this.stableIndex, (this.unwrittenFrom ?? Infinity) - 1);
    assert(upTo <= durableEnd, `compact to ${upTo}: entries up to ${durableEnd} are durable`);
    this.baseLsn = this.lsn(upTo);
    if (upTo >= this.windowStart) {
      this.window.splice(0, upTo + 1 - this.windowStart);
      this.windowStart = upTo + 1;
      this.lsnBeforeWindow = this.baseLsn;
    }
    this.terms.compact(upTo);
  }

  /**
   * Installs a snapshot: entries up to its index are gone. With `keepSuffix`
   * (the log held the snapshot's index and term) the entries after it stay;
   * otherwise the log is empty after it. Entries kept but not yet written, or
   * a dropped suffix, make the host (re)write the log from index + 1.
   */
  restore(snapshot: Pick<SnapshotMeta, 'index' | 'term' | 'lsn'>, keepSuffix: boolean): void {
    const { index, term, lsn } = snapshot;
    if (keepSuffix) {
      assert(this.term(index) === term && index > this.baseIndex(), `the log holds snapshot entry ${index} of term ${term}`);
      if (index >= this.windowStart) {
        this.window.splice(0, index + 1 - this.windowStart);
        this.windowStart = index + 1;
        this.lsnBeforeWindow = lsn;
      }
      this.terms.compact(index);
      this.stableIndex = Math.max(this.stableIndex, index);
      if (this.unwrittenFrom !== null && this.unwrittenFrom <= index) this.unwrittenFrom = index + 1;
    } else {
      this.terms.reset(index, term);
      this.window = [];
      this.windowStart = index + 1;
      this.lsnBeforeWindow = lsn;
      this.stableIndex = index;
      this.unwrittenFrom = index + 1;
    }
    this.baseLsn = lsn;
  }

  /** Entries in memory now (for telemetry and tests). */
  inMemory(): number {
    return this.window.length;
  }

  /**
   * The host finished a write whose last entry was (index, term). If the log
   * still holds that entry, everything up to it is durable (writes are ordered).
   */
  markPersisted(index: number, term: number): boolean {
    if (index <= this.stableIndex || this.term(index) !== term) return false;
    this.stableIndex = index;
    return true;
  }

  hasUnwritten(): boolean {
    return this.unwrittenFrom !== null;
  }

  /** What to write since the last call: the log from `writeFrom` on replaces what the host has. */
  takeUnwritten(): { writeFrom: number | null; entries: Entry[] } {
    const from = this.unwrittenFrom;
    this.unwrittenFrom = null;
    if (from === null) return { writeFrom: null, entries: [] };
    assert(from >= this.windowStart, 'unwritten entries are in memory');
    return { writeFrom: from, entries: this.window.slice(from - this.windowStart) };
  }

  /**
   * Largest index <= `index` whose term is <= `term` (etcd's findConflictByTerm);
   * below the base index (compacted) it answers base - 1: only a snapshot can say more.
   */
  lastIndexAtOrBefore(index: number, term: number): number {
    const base = this.baseIndex();
    let i = Math.min(index, this.lastIndex());
    if (i < base) return i;
    while (i > 0 && i >= base && this.term(i) > term) i--;
    return i;
  }

  /** True when a candidate whose log ends at (lastIndex, lastTerm) is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  private fromStorage(lo: number, hi: number): Entry[] {
    assert(this.storage !== null, `entries ${lo}..${hi - 1} were dropped from memory without storage`);
    const entries = this.storage.entries(lo, hi);
    assert(entries.length === hi - lo && entries[0]?.index === lo, `storage returned entries ${lo}..${hi - 1}`);
    return entries;
  }
}

/** Entries dropped from memory at a time. */
const compactChunkEntries = 1024;
