// A follower's acks, two frames per write folded into one (issue 12).
//
// A follower acknowledges an append twice: when it has the entries (its
// `received` position moves, and `applied` too when the append carried a
// commit index) and again when its fsync completes (`flushed`). At ack level
// flushed the leader counts only the second, yet the first cost a frame, a
// wake-up and a Ready loop on both sides, every write. So a follower whose
// fsync is in flight holds back an ack that brings no new `flushed` position;
// the ack the fsync produces carries the same positions and more, and goes
// alone. The held ack goes out anyway when the fsync ends without producing
// one, when anything else is sent to the leader, or after `ackHoldMsMax`:
// what the leader knows of the follower's received and applied positions
// (its write and replay lag, the stall check) is at most that late. An ack
// that moves `flushed` is never held: the leader commits on it.
//
// Holding pays only when the fsync usually ends before the deadline; when it
// does not, the held ack would cost a timer on top of the frame. So acks are
// held only while the recent fsyncs (a moving average) took under half the
// deadline: on a slow or busy disk, or under a slow-disk fault, every ack goes
// at once as before, and write lag stays apart from flush lag.
//
// The host says when holding is allowed at all (a follower, an fsync in
// flight, the ack level flushed); this class keeps the held ack, its
// deadline and the fsync average.

import type { Message } from '../core/index.js';

type Ack = Extract<Message, { type: 'append-resp' }>;

/** How long an ack may be held waiting for the fsync that supersedes it. */
export const ackHoldMsMax = 2;

/** The timer functions, injectable for tests. */
export interface FoldTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: FoldTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

function isAck(message: Message): message is Ack {
  return message.type === 'append-resp' && !message.reject;
}

/** `later` says everything `earlier` says: same leader and term, every position at least as far. */
export function supersedes(later: Message, earlier: Ack): boolean {
  return (
    isAck(later) &&
    later.to === earlier.to &&
    later.term === earlier.term &&
    later.index >= earlier.index &&
    later.positions.received >= earlier.positions.received &&
    later.positions.flushed >= earlier.positions.flushed &&
    later.positions.applied >= earlier.positions.applied
  );
}

export class AckFold {
  private held: Ack | null = null;
  private timer: unknown = null;
  /** The last ack sent: whether a new one moves `flushed` is judged against it. */
  private lastSent: Ack | null = null;
  /** Acks held back and then superseded by a later one: frames saved. */
  folded = 0;
  /** Moving average of the fsync rounds' durations, ms; starts high, so nothing is held before one is measured. */
  private flushMs = Infinity;

  constructor(
    private readonly send: (messages: readonly Message[]) => void,
    private readonly holdMs: number = ackHoldMsMax,
    private readonly timers: FoldTimers = realTimers,
  ) {}

  /**
   * What to send now of a Ready's messages, in order: a held ack goes first
   * unless one of them supersedes it; a lone ack that moves no `flushed`
   * position is held instead when `mayHold` (the host's fsync is in flight).
   */
  outgoing(messages: readonly Message[], mayHold: boolean): readonly Message[] {
    let out = messages;
    const held = this.held;
    if (held !== null) {
      this.held = null;
      if (messages.some((m) => supersedes(m, held))) this.folded++;
      else out = [held, ...messages];
    }
    const [only] = out;
    if (mayHold && this.flushMs < this.holdMs / 2 && out.length === 1 && only !== undefined && this.holdable(only)) {
      this.held = only;
      this.timer ??= this.timers.set(() => {
        this.timer = null;
        this.release();
      }, this.holdMs);
      return [];
    }
    this.stopTimer();
    this.noteSent(out);
    return out;
  }

  /** An fsync round took `ms` (as the node saw it, a slow-disk fault included). */
  flushTook(ms: number): void {
    this.flushMs = this.flushMs === Infinity ? ms : 0.75 * this.flushMs + 0.25 * ms;
  }

  /** Sends the held ack now: the fsync it waited for ended, or it waited long enough. */
  release(): void {
    this.stopTimer();
    const held = this.held;
    if (held === null) return;
    this.held = null;
    this.lastSent = held;
    this.send([held]);
  }

  /** Forgets the held ack (the node stops or wedges: as a message lost on the way, which Raft tolerates). */
  drop(): void {
    this.stopTimer();
    this.held = null;
  }

  get holding(): boolean {
    return this.held !== null;
  }

  private holdable(message: Message): message is Ack {
    const last = this.lastSent;
    return (
      isAck(message) &&
      message.positions.flushed < message.positions.received &&
      last !== null &&
      last.to === message.to &&
      last.term === message.term &&
      message.positions.flushed <= last.positions.flushed
    );
  }

  private noteSent(messages: readonly Message[]): void {
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i]!;
      if (isAck(m)) {
        this.lastSent = m;
        return;
      }
    }
  }

  private stopTimer(): void {
    if (this.timer === null) return;
    this.timers.clear(this.timer);
    this.timer = null;
  }
}
