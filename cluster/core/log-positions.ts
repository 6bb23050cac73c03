// Where each index of a log is, without its entry. `TermRuns` keeps the term
// of every index as runs (a term changes a handful of times in a log's life):
// the core needs no more, since it takes lsns from its window of entries or
// from the WAL. `LogPositions`, the WAL's index, adds the last lsn and the lsn
// every 32nd entry starts from, so it grows by about a quarter of a byte an
// entry; the WAL reads any other lsn back from the records on disk. Both may
// start after a snapshot: below its index nothing is known, at it the term
// (and for LogPositions the lsn) still is.

import { assert } from './types.js';

const initialCapacity = 1024;
/** log2 of the entries in a block: 32. */
const blockBits = 5;
const blockEntries = 1 << blockBits;

/**
 * The term of every index of a log, as runs. The log may start after a
 * snapshot: `baseIndex` is the snapshot's index, whose term is still known;
 * indexes below it are compacted away and have no term here.
 */
export class TermRuns {
  private count = 0;
  private base = 0;
  private baseTerm = 0;
  /** The first index of each run of entries with one term, ascending, and that term. */
  private readonly runStarts: number[] = [];
  private readonly runTerms: number[] = [];

  /** The last index held; the base index when no entry follows it (0 when empty). */
  get lastIndex(): number {
    return this.count;
  }

  /** The index the log starts after (a snapshot's index; 0 from index 1). */
  get baseIndex(): number {
    return this.base;
  }

  /** The term at `index`; 0 for index 0; the snapshot's term at the base index; -1 beyond the end or below the base. */
  term(index: number): number {
    if (index === this.base) return this.baseTerm;
    if (index > this.count || index < this.base) return -1;
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

  /** Keeps indexes up to lastIndex only (never below the base). */
  truncate(lastIndex: number): void {
    assert(lastIndex >= this.base && lastIndex <= this.count, `truncate to ${lastIndex} within ${this.base}..${this.count}`);
    this.count = lastIndex;
    while (this.runStarts.length > 0 && this.runStarts[this.runStarts.length - 1]! > lastIndex) {
      this.runStarts.pop();
      this.runTerms.pop();
    }
  }

  /** Forgets the terms below `upTo` (compacted into a snapshot); the term at `upTo` stays known. */
  compact(upTo: number): void {
    assert(upTo >= this.base && upTo <= this.count, `compact to ${upTo} within ${this.base}..${this.count}`);
    if (upTo === this.base) return;
    this.baseTerm = this.term(upTo);
    this.base = upTo;
    // Drop every run that ends at or before upTo; the run holding upTo + 1 starts there.
    let drop = 0;
    while (drop < this.runStarts.length && (this.runStarts[drop + 1] ?? this.count + 1) <= upTo + 1) drop++;
    if (drop > 0) {
      this.runStarts.splice(0, drop);
      this.runTerms.splice(0, drop);
    }
    if (this.runStarts.length > 0) this.runStarts[0] = Math.max(this.runStarts[0]!, upTo + 1);
  }

  /** An empty log that starts after (index, term): a snapshot replaced everything. */
  reset(index: number, term: number): void {
    this.count = index;
    this.base = index;
    this.baseTerm = term;
    this.runStarts.length = 0;
    this.runTerms.length = 0;
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
  /** blockStarts[b - firstBlock] is lsn(b * 32): the lsn before block b's first index, b * 32 + 1. */
  private blockStarts = new Float64Array(initialCapacity >> blockBits);
  /** The block blockStarts[0] describes: blocks below it were compacted away. */
  private firstBlock = 0;
  private lastLsnValue = 0;
  /** The lsn of the base index (a snapshot's), where the log's first entry starts. */
  private baseLsn = 0;

  /** The last index held; 0 when empty. */
  get lastIndex(): number {
    return this.terms.lastIndex;
  }

  /** The index the log starts after (a snapshot's; 0 from index 1). */
  get baseIndex(): number {
    return this.terms.baseIndex;
  }

  /** The lsn of the last index; 0 when empty. */
  get lastLsn(): number {
    return this.lastLsnValue;
  }

  /** The term at `index`; 0 for index 0; -1 beyond the end or below the base. */
  term(index: number): number {
    return this.terms.term(index);
  }

  /** A position known exactly, 1 to 32 indexes before `index` (base + 1..lastIndex): the index before its block (or the base), and that index's lsn. */
  anchor(index: number): { readonly index: number; readonly lsn: number } {
    const base = this.terms.baseIndex;
    assert(index > base && index <= this.terms.lastIndex, `anchor of index ${index} within ${base + 1}..${this.terms.lastIndex}`);
    const block = (index - 1) >> blockBits;
    const start = block * blockEntries;
    if (start <= base) return { index: base, lsn: this.baseLsn };
    return { index: start, lsn: this.blockStarts[block - this.firstBlock]! };
  }

  push(term: number, lsn: number): void {
    const count = this.terms.lastIndex;
    assert(Number.isInteger(lsn) && lsn >= this.lastLsnValue, `lsn ${lsn} of index ${count + 1} is not below ${this.lastLsnValue} before it`);
    if ((count & (blockEntries - 1)) === 0) {
      const slot = (count >> blockBits) - this.firstBlock;
      if (slot >= this.blockStarts.length) this.blockStarts = grow(this.blockStarts, new Float64Array(this.blockStarts.length * 2));
      this.blockStarts[slot] = this.lastLsnValue;
    }
    this.terms.push(term);
    this.lastLsnValue = lsn;
  }

  /** Keeps indexes up to lastIndex only (never below the base); `lsn` is the lsn of lastIndex (the caller read it back). */
  truncate(lastIndex: number, lsn: number): void {
    this.terms.truncate(lastIndex);
    this.lastLsnValue = lsn;
  }

  /** Forgets positions below `upTo` (the WAL deleted them; a snapshot holds them); `lsn` is the lsn of upTo. */
  compact(upTo: number, lsn: number): void {
    if (upTo === this.terms.baseIndex) return;
    this.terms.compact(upTo);
    this.baseLsn = lsn;
    // Blocks that start below upTo are never asked for again: anchor() answers with the base for them.
    const keepFrom = Math.max(this.firstBlock, upTo >> blockBits);
    const drop = keepFrom - this.firstBlock;
    if (drop > 0) {
      this.blockStarts.copyWithin(0, drop);
      this.firstBlock = keepFrom;
    }
  }

  /** An empty log after a snapshot at (index, term, lsn): every earlier position is gone. */
  reset(index: number, term: number, lsn: number): void {
    this.terms.reset(index, term);
    this.baseLsn = lsn;
    this.lastLsnValue = lsn;
    this.firstBlock = index >> blockBits;
    // The block holding index + 1 starts at or before index: anchor() uses the base for it.
    this.blockStarts[0] = lsn;
  }
}

function grow(array: Float64Array<ArrayBuffer>, larger: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  larger.set(array);
  return larger;
}
