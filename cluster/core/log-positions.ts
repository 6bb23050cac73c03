// The term and lsn of every index of a log: the lsns in a growable typed
// array (8 bytes an entry) and the terms as runs (a term changes a handful of
// times in a log's life), so a log can keep all of them while its entries live
// on disk. Shared by the core's log and the WAL's index. Until logs are
// compacted this still grows by 8 bytes an entry (it was 16 with a term array).

import { assert } from './types.js';

const initialCapacity = 1024;

export class LogPositions {
  private lsns = new Float64Array(initialCapacity);
  private count = 0;
  /** The first index of each run of entries with one term, ascending, and that term. */
  private readonly runStarts: number[] = [];
  private readonly runTerms: number[] = [];

  /** The last index held; 0 when empty. */
  get lastIndex(): number {
    return this.count;
  }

  /** The term at `index`; 0 for index 0; -1 beyond the end. */
  term(index: number): number {
    if (index === 0) return 0;
    if (index > this.count || index < 0) return -1;
    const last = this.runStarts.length - 1;
    if (index >= this.runStarts[last]!) return this.runTerms[last]!;
    // The last run starting at or before `index`.
    let lo = 0;
    let hi = last - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.runStarts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.runTerms[lo]!;
  }

  /** The lsn (end byte position in the log stream) of `index`; 0 for index 0. */
  lsn(index: number): number {
    if (index === 0) return 0;
    assert(index >= 1 && index <= this.count, `lsn of index ${index} within 1..${this.count}`);
    return this.lsns[index - 1]!;
  }

  push(term: number, lsn: number): void {
    if (this.count === this.lsns.length) this.lsns = grow(this.lsns);
    if (this.runTerms.length === 0 || this.runTerms[this.runTerms.length - 1] !== term) {
      this.runStarts.push(this.count + 1);
      this.runTerms.push(term);
    }
    this.lsns[this.count] = lsn;
    this.count++;
  }

  /** Keeps indexes 1..lastIndex only. */
  truncate(lastIndex: number): void {
    assert(lastIndex >= 0 && lastIndex <= this.count, `truncate to ${lastIndex} within 0..${this.count}`);
    this.count = lastIndex;
    while (this.runStarts.length > 0 && this.runStarts[this.runStarts.length - 1]! > lastIndex) {
      this.runStarts.pop();
      this.runTerms.pop();
    }
  }
}

function grow(array: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const larger = new Float64Array(array.length * 2);
  larger.set(array);
  return larger;
}
