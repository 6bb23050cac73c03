// In-memory storage of one simulated node that behaves like a disk with a
// page cache: writes are visible at once but only what a completed flush
// covered survives a crash. Hard state (term, vote) is durable on write, as
// the host loop fsyncs it before sending anything, and so is a snapshot (a
// file written aside and renamed into place). The log may start after the
// snapshot's index once it was compacted.

import type { Entry, HardState, SnapshotMeta } from '../core/index.js';

/** A snapshot of the simulated state machine: the term of every index up to meta.index. */
export interface SimSnapshot {
  readonly meta: SnapshotMeta;
  readonly terms: readonly number[];
}

interface Write {
  readonly writeFrom: number;
  readonly entries: readonly Entry[];
}

export class SimStorage {
  hardState: HardState = { term: 0, vote: null };
  /** The latest snapshot taken or installed. */
  snapshot: SimSnapshot | null = null;
  /** The index the durable log starts after (compacted up to it). */
  private base = 0;
  /** The log as the last completed flush left it: durable[i] has index base + i + 1. */
  private durable: Entry[] = [];
  /** Writes since the last flush began, oldest first. */
  private unflushed: Write[] = [];
  /** Writes covered by the flush in progress. */
  private flushing: Write[] = [];

  write(writeFrom: number, entries: readonly Entry[]): void {
    this.unflushed.push({ writeFrom, entries });
  }

  /** Starts a flush of everything written so far; false when there is nothing to flush or one is running. */
  beginFlush(): boolean {
    if (this.flushing.length > 0 || this.unflushed.length === 0) return false;
    this.flushing = this.unflushed;
    this.unflushed = [];
    return true;
  }

  /** The flush in progress reached disk: returns the (index, term) it makes durable, if any. */
  completeFlush(): { index: number; term: number } | null {
    for (const write of this.flushing) {
      // A write made before a snapshot was installed: what it wrote up to the snapshot is the snapshot's now.
      const from = Math.max(write.writeFrom, this.base + 1);
      const keep = from - 1 - this.base;
      if (keep > this.durable.length) throw new Error(`write from ${from} leaves a gap after durable index ${this.base + this.durable.length}`);
      this.durable.length = keep;
      for (const entry of write.entries) if (entry.index >= from) this.durable.push(entry);
    }
    this.flushing = [];
    const last = this.durable[this.durable.length - 1];
    return last === undefined ? null : { index: last.index, term: last.term };
  }

  /** A crash: every write no flush completed for is gone. */
  crash(): void {
    this.unflushed = [];
    this.flushing = [];
  }

  /** The durable log after the latest snapshot (what a restart reads). */
  durableEntries(): Entry[] {
    const after = this.snapshot?.meta.index ?? 0;
    return this.durable.filter((entry) => entry.index > after);
  }

  hasUnflushed(): boolean {
    return this.unflushed.length > 0;
  }

  /** The node snapshotted its own state. */
  takeSnapshot(snapshot: SimSnapshot): void {
    if (this.snapshot === null || snapshot.meta.index > this.snapshot.meta.index) this.snapshot = snapshot;
  }

  /** Deletes durable log entries up to `upTo` (at most the snapshot's index and the durable end). */
  compact(upTo: number): void {
    if (upTo <= this.base) return;
    if (upTo > (this.snapshot?.meta.index ?? 0) || upTo > this.base + this.durable.length) throw new Error(`compact to ${upTo} beyond the snapshot or the durable log`);
    this.durable.splice(0, upTo - this.base);
    this.base = upTo;
  }

  /**
   * Installs a leader's snapshot in one atomic step: the log keeps what follows
   * the snapshot's index only where it holds that index with its term; pending
   * writes stay (cut at the index) only if the log they build holds it too.
   */
  installSnapshot(snapshot: SimSnapshot): void {
    const { index, term } = snapshot.meta;
    const durableMatches = this.durableTerm(index) === term;
    const writtenMatches = this.writtenTerm(index) === term;
    if (durableMatches) this.durable.splice(0, index - this.base);
    else this.durable = [];
    this.base = index;
    this.snapshot = snapshot;
    if (!writtenMatches) {
      this.unflushed = [];
      this.flushing = [];
    }
  }

  private durableTerm(index: number): number {
    if (index === this.base) return this.snapshot?.meta.index === index ? this.snapshot.meta.term : -1;
    return this.durable[index - this.base - 1]?.term ?? -1;
  }

  /** The term at `index` in the log as written so far (durable, then the pending writes in order). */
  private writtenTerm(index: number): number {
    let term = this.durableTerm(index);
    for (const write of [...this.flushing, ...this.unflushed]) {
      if (write.writeFrom > index) continue;
      term = write.entries[index - write.writeFrom]?.term ?? -1;
    }
    return term;
  }
}
