// The term and lsn of every index of a log, in about 4 bytes an entry, so a
// log can keep all of them while its entries live on disk. Shared by the
// core's log and the WAL's index. An lsn is kept as the entry's size (a
// Uint32: a record is far below 4 GiB) plus, every 32 entries, the lsn the
// block starts from; a lookup adds up at most 31 sizes. Terms are kept as runs
// (a term changes a handful of times in a log's life). Until logs are
// compacted this still grows by about 4 bytes an entry.

import { assert } from './types.js';

const initialCapacity = 1024;
/** log2 of the entries in a block: 32. */
const blockBits = 5;
const blockEntries = 1 << blockBits;

export class LogPositions {
  /** sizes[i] is lsn(i + 1) - lsn(i). */
  private sizes = new Uint32Array(initialCapacity);
  /** blockStarts[b] is lsn(b * 32): the lsn block b's sizes add to. */
  private blockStarts = new Float64Array(initialCapacity >> blockBits);
  private count = 0;
  private lastLsn = 0;
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
    if (index === this.count) return this.lastLsn;
    if (index === 0) return 0;
    assert(index >= 1 && index <= this.count, `lsn of index ${index} within 1..${this.count}`);
    const block = (index - 1) >> blockBits;
    let lsn = this.blockStarts[block]!;
    for (let i = block << blockBits; i < index; i++) lsn += this.sizes[i]!;
    return lsn;
  }

  push(term: number, lsn: number): void {
    const size = lsn - this.lastLsn;
    assert(Number.isInteger(size) && size >= 0 && size <= 0xffff_ffff, `lsn ${lsn} of index ${this.count + 1} follows ${this.lastLsn} by a record's size`);
    if (this.count === this.sizes.length) {
      this.sizes = grow(this.sizes, new Uint32Array(this.sizes.length * 2));
      this.blockStarts = grow(this.blockStarts, new Float64Array(this.sizes.length >> blockBits));
    }
    if (this.runTerms.length === 0 || this.runTerms[this.runTerms.length - 1] !== term) {
      this.runStarts.push(this.count + 1);
      this.runTerms.push(term);
    }
    if ((this.count & (blockEntries - 1)) === 0) this.blockStarts[this.count >> blockBits] = this.lastLsn;
    this.sizes[this.count] = size;
    this.count++;
    this.lastLsn = lsn;
  }

  /** Keeps indexes 1..lastIndex only. */
  truncate(lastIndex: number): void {
    assert(lastIndex >= 0 && lastIndex <= this.count, `truncate to ${lastIndex} within 0..${this.count}`);
    this.lastLsn = this.lsn(lastIndex);
    this.count = lastIndex;
    while (this.runStarts.length > 0 && this.runStarts[this.runStarts.length - 1]! > lastIndex) {
      this.runStarts.pop();
      this.runTerms.pop();
    }
  }
}

function grow<T extends Uint32Array<ArrayBuffer> | Float64Array<ArrayBuffer>>(array: T, larger: T): T {
  larger.set(array);
  return larger;
}
