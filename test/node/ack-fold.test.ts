// A follower's received ack held while its fsync runs (cluster/node/ack-fold.ts):
// the flushed ack supersedes it, or it goes when the fsync ends, when anything
// else goes to the leader, or at its deadline; an ack that moves `flushed` is
// never held, and nothing is held while fsyncs are slow.

import { describe, expect, it } from 'vitest';
import type { Message } from '../../cluster/core/index.js';
import { AckFold, ackHoldMsMax, supersedes, type FoldTimers } from '../../cluster/node/ack-fold.js';

type Ack = Extract<Message, { type: 'append-resp' }>;

const ack = (received: number, flushed: number, applied: number, term = 2, to = 'n1'): Ack => ({
  type: 'append-resp',
  from: 'n2',
  to,
  term,
  index: received,
  reject: false,
  hintIndex: 0,
  hintTerm: 0,
  positions: { received, flushed, applied },
});
const heartbeatResp = (): Message => ({ type: 'heartbeat-resp', from: 'n2', to: 'n1', term: 2, context: 0, positions: { received: 5, flushed: 4, applied: 4 } });

/** Timers run by hand: `fire()` runs the one pending. */
function manualTimers(): FoldTimers & { pending: number; fire(): void } {
  let next: (() => void) | null = null;
  return {
    set(fn) {
      next = fn;
      return fn;
    },
    clear() {
      next = null;
    },
    get pending() {
      return next === null ? 0 : 1;
    },
    fire() {
      const fn = next;
      next = null;
      fn?.();
    },
  };
}

function fold(): { fold: AckFold; sent: Message[][]; timers: ReturnType<typeof manualTimers> } {
  const sent: Message[][] = [];
  const timers = manualTimers();
  const f = new AckFold((messages) => sent.push([...messages]), ackHoldMsMax, timers);
  f.flushTook(0.3); // a fast disk
  expect(f.outgoing([ack(4, 4, 3)], true)).toEqual([ack(4, 4, 3)]); // the last flushed ack, sent
  return { fold: f, sent, timers };
}

describe('AckFold', () => {
  it("holds a received ack while the fsync runs, and the fsync's ack supersedes it: one frame", () => {
    const { fold: f, sent, timers } = fold();
    expect(f.outgoing([ack(5, 4, 4)], true)).toEqual([]);
    expect(f.holding).toBe(true);
    expect(timers.pending).toBe(1);
    expect(f.outgoing([ack(5, 5, 4)], true)).toEqual([ack(5, 5, 4)]);
    expect(f.holding).toBe(false);
    expect(f.folded).toBe(1);
    expect(timers.pending).toBe(0);
    f.release();
    expect(sent).toEqual([]);
  });

  it('sends the held ack when the fsync ends without an ack of its own, or at the deadline', () => {
    const { fold: f, sent, timers } = fold();
    f.outgoing([ack(5, 4, 4)], true);
    f.release();
    expect(sent).toEqual([[ack(5, 4, 4)]]);
    expect(timers.pending).toBe(0);
    f.outgoing([ack(6, 4, 5)], true);
    timers.fire();
    expect(sent).toEqual([[ack(5, 4, 4)], [ack(6, 4, 5)]]);
    expect(f.holding).toBe(false);
  });

  it('never holds an ack that moves flushed, a reject, or one to a new term', () => {
    const { fold: f } = fold();
    expect(f.outgoing([ack(6, 5, 4)], true)).toEqual([ack(6, 5, 4)]);
    const reject: Message = { ...ack(7, 5, 4), reject: true };
    expect(f.outgoing([reject], true)).toEqual([reject]);
    expect(f.outgoing([ack(7, 5, 4, 3)], true)).toEqual([ack(7, 5, 4, 3)]);
  });

  it('holds nothing when the host says no (no fsync in flight, ack level received or applied, a leader)', () => {
    const { fold: f } = fold();
    expect(f.outgoing([ack(5, 4, 4)], false)).toEqual([ack(5, 4, 4)]);
    expect(f.holding).toBe(false);
  });

  it('holds nothing while fsyncs take half the deadline or more, so a slow disk keeps write lag apart from flush lag', () => {
    const sent: Message[][] = [];
    const f = new AckFold((messages) => sent.push([...messages]), ackHoldMsMax, manualTimers());
    expect(f.outgoing([ack(4, 4, 3)], true)).toEqual([ack(4, 4, 3)]);
    expect(f.outgoing([ack(5, 4, 4)], true)).toEqual([ack(5, 4, 4)]); // no fsync measured yet
    f.flushTook(20);
    expect(f.outgoing([ack(6, 4, 4)], true)).toEqual([ack(6, 4, 4)]);
    for (let i = 0; i < 20; i++) f.flushTook(0.2);
    expect(f.outgoing([ack(7, 4, 4)], true)).toEqual([]);
  });

  it('keeps the order: a held ack that is not superseded goes before what follows it', () => {
    const { fold: f } = fold();
    f.outgoing([ack(5, 4, 4)], true);
    const hb = heartbeatResp();
    expect(f.outgoing([hb], true)).toEqual([ack(5, 4, 4), hb]);
    expect(f.holding).toBe(false);
  });

  it('a newer received ack replaces the held one without moving its deadline', () => {
    const { fold: f, sent, timers } = fold();
    f.outgoing([ack(5, 4, 4)], true);
    expect(f.outgoing([ack(6, 4, 4)], true)).toEqual([]);
    expect(f.folded).toBe(1);
    timers.fire();
    expect(sent).toEqual([[ack(6, 4, 4)]]);
  });

  it('drop forgets the held ack and its timer', () => {
    const { fold: f, sent, timers } = fold();
    f.outgoing([ack(5, 4, 4)], true);
    f.drop();
    expect(timers.pending).toBe(0);
    f.release();
    expect(sent).toEqual([]);
  });

  it('supersedes needs the same leader and term and every position at least as far', () => {
    expect(supersedes(ack(5, 5, 4), ack(5, 4, 4))).toBe(true);
    expect(supersedes(ack(5, 5, 3), ack(5, 4, 4))).toBe(false);
    expect(supersedes(ack(5, 5, 4, 3), ack(5, 4, 4))).toBe(false);
    expect(supersedes(ack(5, 5, 4, 2, 'n3'), ack(5, 4, 4))).toBe(false);
    expect(supersedes(heartbeatResp(), ack(5, 4, 4))).toBe(false);
  });
});
