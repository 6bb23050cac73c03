// Replication lag measured on the leader, the way pg_stat_replication reports
// it but as a live figure: for each follower, how long the oldest entry it has
// not yet received / flushed / applied has been durable on the leader.

import type { Positions } from '../core/index.js';

/** Flush samples kept: one per fsync, so 4096 cover seconds of heavy load. */
const samplesMax = 4096;

export class LagTracker {
  /** Ring of (last index made durable, time it became durable), ascending by index. */
  private readonly indexes = new Float64Array(samplesMax);
  private readonly times = new Float64Array(samplesMax);
  private start = 0;
  private size = 0;

  /** The leader's flush of everything up to `index` completed at `atMs`. */
  flushed(index: number, atMs: number): void {
    if (this.size > 0 && this.indexes[(this.start + this.size - 1) % samplesMax]! >= index) return;
    const slot = (this.start + this.size) % samplesMax;
    this.indexes[slot] = index;
    this.times[slot] = atMs;
    if (this.size < samplesMax) this.size++;
    else this.start = (this.start + 1) % samplesMax;
  }

  /** Forgets every sample: a new leader starts measuring from its own flushes. */
  reset(lastIndex: number, atMs: number): void {
    this.start = 0;
    this.size = 0;
    this.flushed(lastIndex, atMs);
  }

  /** How long entry `index` has been durable on the leader, or 0 if it is not yet. */
  ageMs(index: number, nowMs: number): number {
    if (this.size === 0) return 0;
    // The first sample covering `index` is when the leader flushed it.
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.indexes[(this.start + mid) % samplesMax]! >= index) hi = mid;
      else lo = mid + 1;
    }
    if (lo === this.size) return 0;
    return Math.max(0, nowMs - this.times[(this.start + lo) % samplesMax]!);
  }

  /** Write, flush and replay lag of one follower whose positions are known. */
  lagOf(positions: Positions, leaderFlushed: number, nowMs: number): { writeLagMs: number; flushLagMs: number; replayLagMs: number } {
    const age = (position: number): number => (position >= leaderFlushed ? 0 : this.ageMs(position + 1, nowMs));
    return { writeLagMs: age(positions.received), flushLagMs: age(positions.flushed), replayLagMs: age(positions.applied) };
  }
}

