// The in-memory Raft log of one core. Indexes start at 1; ranges are half-open
// [lo, hi). The host owns durability: entries written since the last `ready()`
// are handed out once, and `markPersisted` moves the stable mark when the host
// reports that a write reached disk.

import { entryHeaderBytes } from './constants.js';
import { assert, type Entry, type EntryKind } from './types.js';

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

export class RaftLog {
  private readonly entries: Entry[] = [];
  /** Highest index known to be durable on this node. */
  stableIndex: number;
  /** Lowest index written since the last `takeUnwritten`, or null when nothing is. */
  private unwrittenFrom: number | null = null;

  constructor(durable: readonly Entry[]) {
    durable.forEach((entry, i) => {
      assert(entry.index === i + 1, `durable log is contiguous from 1 (found ${entry.index} at ${i + 1})`);
      const previous = this.entries[i - 1];
      assert(previous === undefined || previous.term <= entry.term, 'terms never decrease along the log');
      this.entries.push(entry);
    });
    this.stableIndex = this.entries.length;
  }

  lastIndex(): number {
    return this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.entries.length);
  }

  /** The term at `index`; 0 for index 0; -1 beyond the end. */
  term(index: number): number {
    if (index === 0) return 0;
    const entry = this.entries[index - 1];
    return entry === undefined ? -1 : entry.term;
  }

  lsn(index: number): number {
    if (index === 0) return 0;
    const entry = this.entries[index - 1];
    assert(entry !== undefined, `lsn of index ${index} beyond the log`);
    return entry.lsn;
  }

  entry(index: number): Entry {
    const entry = this.entries[index - 1];
    assert(entry !== undefined, `entry ${index} is in the log (last ${this.entries.length})`);
    return entry;
  }

  /** Entries [lo, hi). */
  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - 1, hi - 1);
  }

  /** Entries from `lo`, at most `countMax` of them and about `bytesMax` bytes (at least one). */
  batch(lo: number, countMax: number, bytesMax: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= this.entries.length && out.length < countMax; i++) {
      const entry = this.entry(i);
      const size = entry.lsn - this.lsn(i - 1);
      if (out.length > 0 && bytes + size > bytesMax) break;
      bytes += size;
      out.push(entry);
    }
    return out;
  }

  append(entry: Entry): void {
    assert(entry.index === this.entries.length + 1, `append at ${entry.index} follows ${this.entries.length}`);
    assert(entry.term >= this.lastTerm(), 'appended term is not older than the last');
    this.entries.push(entry);
    if (this.unwrittenFrom === null) this.unwrittenFrom = entry.index;
  }

  /** Drops every entry at or after `index`; what was durable there is no longer ours. */
  truncateFrom(index: number): void {
    assert(index >= 1 && index <= this.entries.length, `truncate from ${index} within 1..${this.entries.length}`);
    this.entries.length = index - 1;
    this.stableIndex = Math.min(this.stableIndex, index - 1);
    this.unwrittenFrom = this.unwrittenFrom === null ? index : Math.min(this.unwrittenFrom, index);
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
    return { writeFrom: from, entries: this.entries.slice(from - 1) };
  }

  /** Largest index <= `index` whose term is <= `term` (etcd's findConflictByTerm). */
  lastIndexAtOrBefore(index: number, term: number): number {
    let i = Math.min(index, this.entries.length);
    while (i > 0 && this.term(i) > term) i--;
    return i;
  }

  /** True when a candidate whose log ends at (lastIndex, lastTerm) is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.entries.length);
  }
}
