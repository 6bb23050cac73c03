// Where each index of a log is, without its entry. `TermRuns` keeps the term
// of every index as runs (a term changes a handful of times in a log's life):
// the core needs no more, since it takes lsns from its window of entries or
// from the WAL. `LogPositions`, the WAL's index, adds the last lsn and the lsn
// every 32nd entry starts from, so it grows by about a quarter of a byte an
// entry; the WAL reads any other lsn back from the records on disk.

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

/**
 * The WAL's index: the term of every index (as runs), the last lsn, and, every
 * 32 entries, the lsn a block of entries starts from: about a quarter of a byte
 * an entry. Any other lsn is at most 31 records after a known one, and records
 * carry their own length, so the WAL reads it back from the segment.
 */
export class LogPositions {
  private readonly terms = new TermRuns();
  /** blockStarts[b] is lsn(b * 32): the lsn before block b's first index, b * 32 + 1. */
  private blockStarts = new Float64Array(initialCapacity >> blockBits);
  private lastLsnValue = 0;

  /** The last index held; 0 when empty. */
  get lastIndex(): number {
    return this.terms.lastIndex;
  }

  /** The lsn of the last index; 0 when empty. */
  get lastLsn(): number {
    return this.lastLsnValue;
  }

  /** The term at `index`; 0 for index 0; -1 beyond the end. */
  term(index: number): number {
    return this.terms.term(index);
  }

  /** A position known exactly, 1 to 32 indexes before `index` (1..lastIndex): the index before its block, and that index's lsn. */
  anchor(index: number): { readonly index: number; readonly lsn: number } {
    assert(index >= 1 && index <= this.terms.lastIndex, `anchor of index ${index} within 1..${this.terms.lastIndex}`);
    const block = (index - 1) >> blockBits;
    return { index: block << blockBits, lsn: this.blockStarts[block]! };
  }

  push(term: number, lsn: number): void {
    const count = this.terms.lastIndex;
    assert(Number.isInteger(lsn) && lsn >= this.lastLsnValue, `lsn ${lsn} of index ${count + 1} is not below ${this.lastLsnValue} before it`);
    if ((count & (blockEntries - 1)) === 0) {
      const block = count >> blockBits;
      if (block === this.blockStarts.length) this.blockStarts = grow(this.blockStarts, new Float64Array(this.blockStarts.length * 2));
      this.blockStarts[block] = this.lastLsnValue;
    }
    this.terms.push(term);
    this.lastLsnValue = lsn;
  }

  /** Keeps indexes 1..lastIndex only; `lsn` is the lsn of lastIndex (the caller read it back). */
  truncate(lastIndex: number, lsn: number): void {
    this.terms.truncate(lastIndex);
    this.lastLsnValue = lsn;
  }
}

function grow(array: Float64Array<ArrayBuffer>, larger: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  larger.set(array);
  return larger;
}
