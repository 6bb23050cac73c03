// The WAL's index of positions for a log that may begin after index 1.
// `LogPositions` (the core's, shared with the core's tests) numbers its
// entries from 1 and its lsns from 0; this keeps one of them relative to the
// log's base, so a compacted log costs memory only for the entries it holds.

import { LogPositions } from '../core/log-positions.js';
import { assert } from '../core/types.js';
import type { LogBase } from './types.js';

export class BasedPositions {
  private readonly inner = new LogPositions();

  constructor(readonly base: LogBase) {}

  /** The last index held; base.index when the log holds no entry. */
  get lastIndex(): number {
    return this.base.index + this.inner.lastIndex;
  }

  /** The lsn of the last index; base.lsn when the log holds no entry. */
  get lastLsn(): number {
    return this.base.lsn + this.inner.lastLsn;
  }

  /** The term at `index` (base.index..lastIndex); 0 for index 0; -1 beyond the end or below the base. */
  term(index: number): number {
    if (index === this.base.index) return this.base.term;
    if (index < this.base.index) return -1;
    return this.inner.term(index - this.base.index);
  }

  /** A position known exactly, 1 to 32 indexes before `index` (base.index + 1..lastIndex). */
  anchor(index: number): { readonly index: number; readonly lsn: number } {
    assert(index > this.base.index, `anchor of index ${index} above the base ${this.base.index}`);
    const anchor = this.inner.anchor(index - this.base.index);
    return { index: anchor.index + this.base.index, lsn: anchor.lsn + this.base.lsn };
  }

  push(term: number, lsn: number): void {
    this.inner.push(term, lsn - this.base.lsn);
  }

  /** Keeps indexes up to lastIndex (at least base.index); `lsn` is the lsn of lastIndex. */
  truncate(lastIndex: number, lsn: number): void {
    assert(lastIndex >= this.base.index, `truncate to ${lastIndex}, below the base ${this.base.index}`);
    this.inner.truncate(lastIndex - this.base.index, lsn - this.base.lsn);
  }
}
