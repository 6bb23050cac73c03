// Where each index of a log is, without its entry: `TermRuns` keeps the term of
// every index as runs (a term changes a handful of times in a log's life), and
// `LogPositions` adds the lsn of every index in about 4 bytes an entry: the
// entry's size (a Uint32: a record is far below 4 GiB) plus, every 32 entries,
// the lsn the block starts from; a lookup adds up at most 31 sizes. The WAL
// keeps a LogPositions to find its records; the core keeps only TermRuns and
// reads lsns from its in-memory entries or, rarely, from the WAL. Until logs
// are compacted the WAL's index still grows by about 4 bytes an entry.

import { assert } from './types.js';

const initialCapacity = 1024;
/** log2 of the entries in a block: 32. */
const blockBits = 5;
const blockEntries = 1 << blockBits;

/** The term of every index of a log, as runs. */
export class TermRuns {
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

  push(term: number): void {
    if (this.runTerms.length === 0 || this.runTerms[this.runTerms.length - 1] !== term) {
      this.runStarts.push(this.count + 1);
      this.runTerms.push(term);
    }
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

/** The term and lsn of every index of a log. */
export class LogPositions {
  private readonly terms = new TermRuns();
  /** sizes[i] is lsn(i + 1) - lsn(i). */
  private sizes = new Uint32Array(initialCapacity);
  /** blockStarts[b] is lsn(b * 32): the lsn block b's sizes add to. */
  private blockStarts = new Float64Array(initialCapacity >> blockBits);
  private lastLsn = 0;

  /** The last index held; 0 when empty. */
  get lastIndex(): number {
    return this.terms.lastIndex;
  }

  /** The term at `index`; 0 for index 0; -1 beyond the end. */
  term(index: number): number {
    return this.terms.term(index);
  }

  /** The lsn (end byte position in the log stream) of `index`; 0 for index 0. */
  lsn(index: number): number {
    const count = this.terms.lastIndex;
    if (index === count) return this.lastLsn;
    if (index === 0) return 0;
    assert(index >= 1 && index <= count, `lsn of index ${index} within 1..${count}`);
    const block = (index - 1) >> blockBits;
    let lsn = this.blockStarts[block]!;
    for (let i = block << blockBits; i < index; i++) lsn += this.sizes[i]!;
    return lsn;
  }

  /** The bytes entry `index` adds to the log stream: lsn(index) - lsn(index - 1), without adding up a block. */
  size(index: number): number {
    assert(index >= 1 && index <= this.terms.lastIndex, `size of index ${index} within 1..${this.terms.lastIndex}`);
    return this.sizes[index - 1]!;
  }

  push(term: number, lsn: number): void {
    const count = this.terms.lastIndex;
    const size = lsn - this.lastLsn;
    assert(Number.isInteger(size) && size >= 0 && size <= 0xffff_ffff, `lsn ${lsn} of index ${count + 1} follows ${this.lastLsn} by a record's size`);
    if (count === this.sizes.length) {
      this.sizes = grow(this.sizes, new Uint32Array(this.sizes.length * 2));
      this.blockStarts = grow(this.blockStarts, new Float64Array(this.sizes.length >> blockBits));
    }
    if ((count & (blockEntries - 1)) === 0) this.blockStarts[count >> blockBits] = this.lastLsn;
    this.sizes[count] = size;
    this.terms.push(term);
    this.lastLsn = lsn;
  }

  /** Keeps indexes 1..lastIndex only. */
  truncate(lastIndex: number): void {
    this.lastLsn = this.lsn(lastIndex);
    this.terms.truncate(lastIndex);
  }
}

function grow<T extends Uint32Array<ArrayBuffer> | Float64Array<ArrayBuffer>>(array: T, larger: T): T {
  larger.set(array);
  return larger;
}
