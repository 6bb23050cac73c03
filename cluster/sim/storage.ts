// In-memory storage of one simulated node that behaves like a disk with a
// page cache: writes are visible at once but only what a completed flush
// covered survives a crash. Hard state (term, vote) is durable on write, as
// the host loop fsyncs it before sending anything.

import type { Entry, HardState } from '../core/index.js';

interface Write {
  readonly writeFrom: number;
  readonly entries: readonly Entry[];
}

export class SimStorage {
  hardState: HardState = { term: 0, vote: null };
  /** The log as the last completed flush left it. */
  private readonly durable: Entry[] = [];
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
      this.durable.length = write.writeFrom - 1;
      for (const entry of write.entries) this.durable.push(entry);
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

  durableEntries(): Entry[] {
    return this.durable.slice();
  }

  hasUnflushed(): boolean {
    return this.unflushed.length > 0;
  }
}
