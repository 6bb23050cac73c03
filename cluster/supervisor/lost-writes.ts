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
export function writeKey(index: number, term: number): string {
  return `${index}:${term}`;
}

export class LostWrites {
  private readonly acked = new RecentSet(ackedWritesMax);
  private readonly lostKeys = new RecentSet(ackedWritesMax);
  private readonly lost: LostWrite[] = [];

  acknowledged(key: string): void {
    this.acked.add(key);
  }

  /** The acknowledged writes among those a node just rolled back, each reported once. */
  rolledBack(node: NodeId, writes: readonly RolledBackWrite[]): RolledBackWrite[] {
    const lostNow: RolledBackWrite[] = [];
    for (const write of writes) {
      const key = writeKey(write.index, write.term);
      if (!this.acked.has(key) || this.lostKeys.has(key)) continue;
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
