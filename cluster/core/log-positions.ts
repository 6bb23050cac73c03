// The term and lsn of every index of a log, in two growable typed arrays:
// 16 bytes an entry, so a log can keep all of them while its entries live on
// disk. Shared by the core's log and the WAL's index.

import { assert } from './types.js';

const initialCapacity = 1024;

export class LogPositions {
  private terms = new Float64Array(initialCapacity);
  private lsns = new Float64Array(initialCapacity);
  private count = 0;

  /** The last index held; 0 when empty. */
  get lastIndex(): number {
    return this.count;
  }

  /** The term at `index`; 0 for index 0; -1 beyond the end. */
  term(index: number): number {
    if (index === 0) return 0;
    if (index > this.count || index < 0) return -1;
    return this.terms[index - 1]!;
  }

  /** The lsn (end byte position in the log stream) of `index`; 0 for index 0. */
  lsn(index: number): number {
    if (index === 0) return 0;
    assert(index >= 1 && index <= this.count, `lsn of index ${index} within 1..${this.count}`);
    return this.lsns[index - 1]!;
  }

  push(term: number, lsn: number): void {
    if (this.count === this.terms.length) {
      this.terms = grow(this.terms);
      this.lsns = grow(this.lsns);
    }
    this.terms[this.count] = term;
    this.lsns[this.count] = lsn;
    this.count++;
  }

  /** Keeps indexes 1..lastIndex only. */
  truncate(lastIndex: number): void {
    assert(lastIndex >= 0 && lastIndex <= this.count, `truncate to ${lastIndex} within 0..${this.count}`);
    this.count = lastIndex;
  }
}

function grow(array: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const larger = new Float64Array(array.length * 2);
  larger.set(array);
  return larger;
}
