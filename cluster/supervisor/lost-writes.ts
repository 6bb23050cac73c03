// Lost writes: an acknowledged write that a node later rolls back. The
// supervisor remembers recent acknowledged writes (bounded) by index and term
// (a new leader reuses indexes) and recognises them in rollback reports.

import type { NodeId } from '../core/index.js';
import type { RolledBackWrite } from '../protocol.js';
import { RecentSet } from './recent-set.js';

const ackedWritesMax = 200_000;
const lostWritesMax = 10_000;

export type LostWrite = RolledBackWrite & { readonly node: NodeId };

/** How the supervisor names a write in the log: a new leader reuses indexes, so the term goes with it. */
function writeKey(index: number, term: number): string {
  return `${index}:${term}`;
}

/**
 * The last `max` acknowledged writes, as two rings of numbers. Every
 * acknowledged write lands here (tens of thousands a second at 64 clients),
 * while a rollback report is rare, so adding is two stores and finding scans
 * the ring. A Set of "index:term" strings did the opposite: a string, a hash
 * and a lookup in a 200,000-entry table per write, which was the largest
 * single cost in the supervisor's profile at 64 clients, and kept 200,000
 * strings alive for the garbage collector to copy.
 */
class AcknowledgedRing {
  private readonly indexes: Float64Array;
  private readonly terms: Float64Array;
  private next = 0;
  private held = 0;

  constructor(private readonly max: number) {
    this.indexes = new Float64Array(max);
    this.terms = new Float64Array(max);
  }

  add(index: number, term: number): void {
    this.indexes[this.next] = index;
    this.terms[this.next] = term;
    this.next = (this.next + 1) % this.max;
    if (this.held < this.max) this.held++;
  }

  /** The keys (writeKey) of those of `writes` that the ring holds. */
  find(writes: readonly RolledBackWrite[]): Set<string> {
    const wanted = new Map<number, Set<number>>();
    for (const write of writes) {
      let terms = wanted.get(write.index);
      if (terms === undefined) wanted.set(write.index, (terms = new Set()));
      terms.add(write.term);
    }
    const found = new Set<string>();
    for (let slot = 0; slot < this.held; slot++) {
      const index = this.indexes[slot]!;
      const term = this.terms[slot]!;
      if (wanted.get(index)?.has(term) === true) found.add(writeKey(index, term));
    }
    return found;
  }
}

export class LostWrites {
  private readonly acked = new AcknowledgedRing(ackedWritesMax);
  private readonly lostKeys = new RecentSet(ackedWritesMax);
  private readonly lost: LostWrite[] = [];

  acknowledged(index: number, term: number): void {
    this.acked.add(index, term);
  }

  /** The acknowledged writes among those a node just rolled back, each reported once. */
  rolledBack(node: NodeId, writes: readonly RolledBackWrite[]): RolledBackWrite[] {
    if (writes.length === 0) return [];
    const acked = this.acked.find(writes);
    const lostNow: RolledBackWrite[] = [];
    for (const write of writes) {
      const key = writeKey(write.index, write.term);
      if (!acked.has(key) || this.lostKeys.has(key)) continue;
      this.lostKeys.add(key);
      lostNow.push(write);
      if (this.lost.length < lostWritesMax) this.lost.push({ ...write, node });
    }
    return lostNow;
  }

  /** Every lost write seen so far (bounded). */
  list(): readonly LostWrite[] {
    return this.lost;
  }
}
