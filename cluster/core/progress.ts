// What a leader knows about one follower: where to send next, how far the
// follower has received, flushed and applied, and the bounded window of
// append messages in flight to it.

import { inflightMessagesMax } from './constants.js';
import type { AckLevel, Positions } from './types.js';

export class Progress {
  /** Next index to send. */
  next: number;
  /** Highest index known to match and be received (in memory) / flushed / applied. */
  received = 0;
  /** Raft's matchIndex: only durable entries count towards commit. */
  flushed = 0;
  applied = 0;
  /** probe: one append at a time until the logs agree; replicate: stream within the window; snapshot: an InstallSnapshot is in flight. */
  state: 'probe' | 'replicate' | 'snapshot' = 'probe';
  /** In state snapshot: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  probeSent = false;
  /** Last index of each append in flight, ascending. */
  private readonly inflight: number[] = [];
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** Transfer target only: TimeoutNow already sent. */
  timeoutNowSent = false;
  /** Tick at which `received` last moved, to notice appends lost on the way. */
  movedTick = 0;

  constructor(next: number) {
    this.next = next;
  }

  position(level: AckLevel): number {
    switch (level) {
      case 'received':
        return this.received;
      case 'flushed':
        return this.flushed;
      case 'applied':
        return this.applied;
    }
  }

  /** Positions only move forward within a term; a report from a restarted follower may lag. */
  update(positions: Positions, tick: number): void {
    if (positions.received > this.received) this.movedTick = tick;
    this.received = Math.max(this.received, positions.received);
    this.flushed = Math.max(this.flushed, positions.flushed);
    this.applied = Math.max(this.applied, positions.applied);
    this.freeTo(this.received);
  }

  /** The follower holds nothing past `index` any more: its disk lost what we believed durable. */
  forget(index: number): void {
    this.received = Math.min(this.received, index);
    this.flushed = Math.min(this.flushed, index);
    this.applied = Math.min(this.applied, index);
  }

  becomeProbe(next: number): void {
    this.state = 'probe';
    this.pendingSnapshot = 0;
    this.next = Math.max(next, this.flushed + 1);
    this.probeSent = false;
    this.inflight.length = 0;
  }

  /** The follower needs entries the log no longer holds: it gets the snapshot at `index`, and no appends meanwhile. */
  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.probeSent = false;
    this.inflight.length = 0;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = Math.max(this.next, this.received + 1);
    this.probeSent = false;
  }

  /**
   * Appends were sent but the follower has not moved for `stallTicks`: some were
   * lost on the way, so fall back to probing from what it has.
   */
  stalled(tick: number, stallTicks: number): boolean {
    return this.state === 'replicate' && this.next - 1 > this.received && tick - this.movedTick > stallTicks;
  }

  windowFull(): boolean {
    return this.inflight.length >= inflightMessagesMax;
  }

  inflightCount(): number {
    return this.inflight.length;
  }

  sent(lastIndex: number, tick: number): void {
    if (this.state === 'replicate') {
      if (this.inflight.length === 0) this.movedTick = tick;
      this.inflight.push(lastIndex);
      this.next = lastIndex + 1;
    } else {
      this.probeSent = true;
    }
  }

  /** Frees every in-flight append the follower has acknowledged up to `index`. */
  private freeTo(index: number): void {
    let freed = 0;
    while (freed < this.inflight.length && (this.inflight[freed] ?? Infinity) <= index) freed++;
    if (freed > 0) this.inflight.splice(0, freed);
  }
}
