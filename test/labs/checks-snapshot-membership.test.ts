// The checks of snapshot-catch-up and membership as pure functions of
// hand-built snapshots, both ways (steps.test.ts-style runs on real clusters
// are the autopilots: `replica-lab lab <id> --auto`).

import { describe, expect, it } from 'vitest';
import type { HistoryRecord } from '../../cluster/check/index.js';
import type { ClusterEvent } from '../../cluster/index.js';
import { membership } from '../../labs/catalog/membership.js';
import { snapshotCatchUp } from '../../labs/catalog/snapshot-catch-up.js';
import type { AnyLab, NodeSample, Observation } from '../../labs/types.js';
import { ackedWrite, action, baseline, event, nodeStatus, observation, write } from './snapshot.js';

const check = (lab: AnyLab, step: number, o: Observation) => lab.steps[step]!.check(o, baseline());

/** Now is 10 s after the step began (mono 1000 = wall …001000). */
const at = { mono: 11_000, wall: 1_700_000_011_000 };

function sample(node: string, mono: number, change: Partial<NodeSample> = {}): NodeSample {
  return { mono, node, up: true, reporting: true, role: node === 'n1' ? 'leader' : 'follower', lastIndex: 100, lastLsn: 10_000, commitIndex: 100, appliedIndex: 100, snapshotIndex: 0, walBytesRetained: 4_096, ...change };
}

const snapshotTaken = (atMs: number, index: number): ClusterEvent =>
  event(atMs, { type: 'snapshot-taken', node: 'n1', index, term: 2, bytes: 24_000, durationMs: 5, walBytesRetained: 500_000, walBytesRemoved: 0 });

describe('snapshot-catch-up', () => {
  /** n2 killed 100 ms into the step, after its last sample at index 500. */
  const stopped = (leaderRetained: number, change: Partial<Observation> = {}): Observation =>
    observation({
      ...at,
      status: [nodeStatus('n1', { role: 'leader', walBytesRetained: leaderRetained, lastLsn: 1_000_000, lastIndex: 5_500 }), nodeStatus('n2', { up: false, role: 'down' }), nodeStatus('n3')],
      actions: [action({ kind: 'kill', node: 'n2', error: null }, 100)],
      nodeSamples: [sample('n2', 1_050, { lastIndex: 500, lastLsn: 50_000 }), sample('n1', 1_050, { walBytesRetained: 10_000 })],
      events: [snapshotTaken(2_000, 1_000)],
      ...change,
    });

  it('stop: the leader keeps growing WAL past a snapshot passes; no snapshot, too little growth or nobody down does not', () => {
    const o = stopped(700_000);
    expect(check(snapshotCatchUp, 0, o)).toMatchObject({ passed: true, facts: { firstOutage: { node: 'n2', leader: 'n1', fromIndex: 500, retainedAtStop: 10_000, retainedNow: 700_000, snapshotsTaken: 1 } } });
    expect(check(snapshotCatchUp, 0, { ...o, events: [] }).passed).toBe(false);
    expect(check(snapshotCatchUp, 0, stopped(200_000)).passed).toBe(false);
    expect(check(snapshotCatchUp, 0, { ...o, status: [nodeStatus('n1', { role: 'leader', walBytesRetained: 700_000 }), nodeStatus('n2'), nodeStatus('n3')] }).passed).toBe(false);
    // Killing the leader is not stopping a follower.
    expect(check(snapshotCatchUp, 0, { ...o, actions: [action({ kind: 'kill', node: 'n1', error: null }, 100)] }).passed).toBe(false);
  });

  /** n2 restarted 100 ms into the step (mono 1100); the leader was at index 3000 then; n2 had stopped at 500. */
  const restarted = (samples: NodeSample[], events: ClusterEvent[] = []): Observation =>
    observation({
      ...at,
      actions: [action({ kind: 'restart', node: 'n2', error: null }, 100)],
      nodeSamples: [sample('n2', 900, { lastIndex: 500, lastLsn: 50_000 }), sample('n2', 1_050, { up: false, reporting: false }), sample('n1', 1_050, { lastIndex: 3_000, lastLsn: 300_000 }), ...samples],
      events,
    });

  it('replay: caught up from the log passes with its figures; still behind, or caught up by a snapshot, does not', () => {
    const caughtUp = [sample('n2', 1_150, { reporting: false, appliedIndex: 0 }), sample('n2', 1_600, { appliedIndex: 600 }), sample('n2', 2_600, { appliedIndex: 3_000 })];
    expect(check(snapshotCatchUp, 1, restarted(caughtUp))).toMatchObject({ passed: true, facts: { replay: { node: 'n2', entries: 2_500, logBytes: 250_000, startMs: 500, catchUpMs: 1_000 } } });
    expect(check(snapshotCatchUp, 1, restarted(caughtUp.slice(0, 2))).passed).toBe(false);
    const installed = event(1_500, { type: 'snapshot-installed', node: 'n2', from: 'n1', index: 2_900, term: 2, bytes: 24_000, durationMs: 40, installMs: 10, log: 'restarted' });
    expect(check(snapshotCatchUp, 1, restarted(caughtUp, [installed])).passed).toBe(false);
    expect(check(snapshotCatchUp, 3, restarted(caughtUp, [installed]))).toMatchObject({ passed: true, facts: { snapshot: { node: 'n2', snapshotIndex: 2_900, snapshotBytes: 24_000, transferMs: 40, installMs: 10, log: 'restarted', entries: 2_500 } } });
    // Step 4 wants the snapshot: caught up from the log is not it.
    expect(check(snapshotCatchUp, 3, restarted(caughtUp)).passed).toBe(false);
  });

  it('cap: a cap, a stopped follower and a leader keeping less than was written since passes; no cap, or the WAL still all there, does not', () => {
    const policy = action({ kind: 'snapshot-policy', change: { retainBytes: 262_144 }, error: null }, 50);
    const o = stopped(300_000, { actions: [policy, action({ kind: 'kill', node: 'n2', error: null }, 100)] });
    expect(check(snapshotCatchUp, 2, o)).toMatchObject({ passed: true, facts: { capBytes: 262_144, secondOutage: { node: 'n2', retainedNow: 300_000, logBytesSince: 950_000 } } });
    expect(check(snapshotCatchUp, 2, stopped(300_000)).passed).toBe(false);
    expect(check(snapshotCatchUp, 2, { ...o, status: [nodeStatus('n1', { role: 'leader', walBytesRetained: 990_000, lastLsn: 1_000_000 }), nodeStatus('n2', { up: false, role: 'down' }), nodeStatus('n3')] }).passed).toBe(false);
    // A refused policy change sets no cap.
    expect(check(snapshotCatchUp, 2, { ...o, actions: [{ ...policy, error: 'bad' } as typeof policy, o.actions[1]!] }).passed).toBe(false);
  });
});

describe('membership', () => {
  const four = { voters: ['n1', 'n2', 'n3', 'n4'], learners: [], quorum: 3, from: 'n1' };

  /** A write invoked at `invokeMono`, acknowledged at `okMono`. */
  function ackedLate(key: string, index: number, invokeMono: number, okMono: number): HistoryRecord[] {
    const [invoke, ok] = ackedWrite(key, index, okMono);
    return [{ ...invoke!, mono: invokeMono, wall: 1_700_000_000_000 + invokeMono } as HistoryRecord, ok!];
  }

  const joinedVoter = event(1_700, { type: 'membership', change: 'joined', node: 'n4', as: 'voter', voters: four.voters, learners: [], majorityBefore: 2, majorityAfter: 3, index: 700 });

  it('add a voter with n3 dead: writes that waited for it pass; quorum not reported, or writes that did not wait, do not', () => {
    const o = observation({
      ...at,
      membership: four,
      status: [nodeStatus('n1', { role: 'leader' }), nodeStatus('n2'), nodeStatus('n3', { up: false, role: 'down' }), nodeStatus('n4')],
      actions: [action({ kind: 'kill', node: 'n3', error: null }, 100), action({ kind: 'add-node', as: 'voter', node: 'n4', endMono: 2_700, error: null }, 200)],
      events: [joinedVoter],
      history: [...ackedLate('a', 701, 1_300, 2_750), ...ackedLate('b', 702, 1_310, 2_751), ...ackedLate('c', 703, 1_320, 2_752)],
    });
    expect(check(membership, 0, o)).toMatchObject({ passed: true, facts: { dead: 'n3', voterJoin: { node: 'n4', majorityBefore: 2, majorityAfter: 3, ackedAfter: 3, ackedBefore: 0 } } });
    expect(check(membership, 0, { ...o, membership: { ...four, quorum: 2 } }).passed).toBe(false);
    expect(check(membership, 0, { ...o, history: [...ackedWrite('a', 650, 1_400), ...ackedWrite('b', 651, 1_410)] }).passed).toBe(false);
    expect(check(membership, 0, { ...o, events: [] }).passed).toBe(false);
    // The voter added before anything died shows nothing.
    expect(check(membership, 0, { ...o, actions: [o.actions[1]!, { ...o.actions[0]!, mono: 1_250 }] }).passed).toBe(false);
  });

  it('remove it: the left event and a reported quorum of 2 pass; a membership still holding it does not', () => {
    const left = event(500, { type: 'membership', change: 'left', node: 'n4', as: null, voters: ['n1', 'n2', 'n3'], learners: [], majorityBefore: 3, majorityAfter: 2, index: 800 });
    const o = observation({ ...at, actions: [action({ kind: 'remove-node', node: 'n4', endMono: 1_500, error: null }, 100)], events: [left] });
    expect(check(membership, 1, o)).toMatchObject({ passed: true, facts: { removed: { node: 'n4', majorityBefore: 3, majorityAfter: 2, commitMs: 400 } } });
    expect(check(membership, 1, { ...o, membership: four }).passed).toBe(false);
    expect(check(membership, 1, { ...o, events: [] }).passed).toBe(false);
  });

  it('learner then promotion: writes acknowledged throughout pass; a write that failed meanwhile, or no promotion, does not', () => {
    const joined = event(200, { type: 'membership', change: 'joined', node: 'n5', as: 'learner', voters: ['n1', 'n2', 'n3'], learners: ['n5'], majorityBefore: 2, majorityAfter: 2, index: 900 });
    const promoted = event(3_000, { type: 'membership', change: 'promoted', node: 'n5', as: 'voter', voters: ['n1', 'n2', 'n3', 'n5'], learners: [], majorityBefore: 2, majorityAfter: 3, index: 1_200 });
    const acks = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((i) => ackedWrite(`k${i}`, 1_000 + i, 1_500 + i * 400));
    const o = observation({
      ...at,
      membership: { voters: ['n1', 'n2', 'n3', 'n5'], learners: [], quorum: 3, from: 'n1' },
      actions: [action({ kind: 'add-node', as: 'learner', node: 'n5', endMono: 1_200, error: null }, 100), action({ kind: 'promote-learner', node: 'n5', endMono: 4_000, error: null }, 2_900)],
      events: [joined, promoted],
      history: acks,
    });
    expect(check(membership, 2, o)).toMatchObject({ passed: true, facts: { learnerJoin: { node: 'n5', majorityAfter: 3, promoteAfterMs: 2_900, refusedPromotions: 0 }, learnerWrites: { ackedBefore: 7, ackedAfter: 0 } } });
    expect(check(membership, 2, { ...o, history: [...acks, ...write('x', 2_000, 'info')] }).passed).toBe(false);
    expect(check(membership, 2, { ...o, events: [joined] }).passed).toBe(false);
  });

  it('remove the leader: a new leader and writes acknowledged after pass; the old one still leading does not', () => {
    const left = event(500, { type: 'membership', change: 'left', node: 'n1', as: null, voters: ['n2', 'n3', 'n5'], learners: [], majorityBefore: 3, majorityAfter: 2, index: 1_500 });
    const o = observation({
      ...at,
      leader: 'n2',
      membership: { voters: ['n2', 'n3', 'n5'], learners: [], quorum: 2, from: 'n2' },
      status: [nodeStatus('n2', { role: 'leader', leader: 'n2' }), nodeStatus('n3', { up: false, role: 'down' }), nodeStatus('n5', { leader: 'n2' })],
      actions: [action({ kind: 'remove-node', node: 'n1', endMono: 1_500, error: null }, 100, 'n1')],
      events: [left, event(550, { type: 'leader-elected', node: 'n2', term: 3, votes: ['n2', 'n5'], electionTicks: 0 })],
      history: [...ackedWrite('a', 1_501, 1_700, 'n2'), ...ackedWrite('b', 1_502, 1_710, 'n2'), ...ackedWrite('c', 1_503, 1_720, 'n2')],
    });
    expect(check(membership, 3, o)).toMatchObject({ passed: true, facts: { leaderRemoval: { oldLeader: 'n1', newLeader: 'n2', majorityAfter: 2, acksAfter: 3, lostWrites: 0 } } });
    expect(check(membership, 3, { ...o, leader: 'n1' }).passed).toBe(false);
    expect(check(membership, 3, { ...o, history: [] }).passed).toBe(false);
    // Removing a follower is not removing the leader.
    expect(check(membership, 3, { ...o, actions: [action({ kind: 'remove-node', node: 'n1', endMono: 1_500, error: null }, 100, 'n2')] }).passed).toBe(false);
  });
});
