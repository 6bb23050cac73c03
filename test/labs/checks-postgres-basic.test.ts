// The PostgreSQL variants of first-steps, sync-cost and quorum-commit: their
// checks both ways on hand-built observations of a PostgreSQL cluster
// (positions are LSNs, commitIndex is 0, no sync-degraded events), and their
// debriefs' comparison with the same lab's run on the other engine.

import { describe, expect, it } from 'vitest';
import { firstSteps } from '../../labs/catalog/first-steps.js';
import { labOn } from '../../labs/catalog/index.js';
import { quorumCommit } from '../../labs/catalog/quorum-commit.js';
import { syncCost } from '../../labs/catalog/sync-cost.js';
import type { AnyLab, NodeSample, Observation, RunSummary } from '../../labs/types.js';
import { action, baseline, nodeStatus, observation, replication, write } from './snapshot.js';

const pg = (lab: AnyLab): AnyLab => labOn(lab, 'postgres');
const check = (lab: AnyLab, step: number, o: Observation, b = baseline()) => pg(lab).steps[step]!.check(o, b);
const slow = (a: string, b: string, delayMs: number, atMs = 10) => [action({ kind: 'link', from: a, to: b, options: { delayMs } }, atMs), action({ kind: 'link', from: b, to: a, options: { delayMs } }, atMs)];
/** A PostgreSQL observation: n1 the primary on timeline 1, commitIndex 0 as the engine reports it. */
const pgObservation = (change: Partial<Observation> = {}): Observation =>
  observation({
    engine: 'postgres',
    membership: null,
    status: [nodeStatus('n1', { role: 'leader', term: 1, commitIndex: 0 }), nodeStatus('n2', { term: 1, commitIndex: 0 }), nodeStatus('n3', { term: 1, commitIndex: 0 })],
    ...change,
  });
const sample = (node: string, mono: number, lastIndex: number): NodeSample => ({
  mono, node, up: true, reporting: true, role: node === 'n1' ? 'leader' : 'follower', lastIndex, lastLsn: lastIndex, commitIndex: 0, appliedIndex: lastIndex, snapshotIndex: 0, walBytesRetained: 0,
});
const run = (earlier: RunSummary['earlier'] = []): RunSummary => ({ stepsPassed: 5, steps: 5, elapsedMs: 1, writesAcknowledged: 10, lostWrites: 0, engine: 'postgres', earlier });

describe('every lab here has a PostgreSQL variant of its own', () => {
  it('lists postgres among its engines and runs its own steps there', () => {
    for (const lab of [firstSteps, syncCost, quorumCommit] as AnyLab[]) {
      expect(lab.engines).toContain('postgres');
      expect(pg(lab).steps).not.toBe(lab.steps);
      expect(pg(lab).steps.length).toBe(lab.steps.length);
      // No step of the variant speaks of Raft's leader election or terms as if PostgreSQL had them.
      for (const step of pg(lab).steps) expect(step.title).not.toMatch(/leader|follower/i);
    }
  });
});

describe('first-steps on PostgreSQL', () => {
  it('write to a standby: passes on its read-only refusal and keeps PostgreSQL\'s words; not before', () => {
    const refused = action({ kind: 'execute', sql: 'INSERT …', params: [], node: 'n2', endMono: 1_020, outcome: { ok: false, error: { kind: 'not-leader', message: 'n2 is a standby (read-only): cannot execute INSERT in a read-only transaction', leader: 'n1' } } });
    expect(check(firstSteps, 1, pgObservation({ actions: [refused] }))).toMatchObject({ passed: true, facts: { refusedBy: 'n2', refusalText: 'cannot execute INSERT in a read-only transaction' } });
    expect(check(firstSteps, 1, pgObservation()).passed).toBe(false);
  });

  it('slow a link: passes once the slowed standby\'s replay_lag reaches the delay, with the bytes behind; not without the delay', () => {
    const lagging = [nodeStatus('n1', { role: 'leader', commitIndex: 0 }), nodeStatus('n2', { commitIndex: 0 }), nodeStatus('n3', { commitIndex: 0, lag: { writeLagMs: 610, flushLagMs: 610, replayLagMs: 620, entries: 0, bytes: 4_242 } })];
    expect(check(firstSteps, 3, pgObservation({ status: lagging, actions: slow('n1', 'n3', 300) }))).toMatchObject({ passed: true, facts: { laggingNode: 'n3', lagDelayMs: 300, lagMs: 620, lagBytes: 4_242 } });
    expect(check(firstSteps, 3, pgObservation({ status: lagging })).passed).toBe(false);
  });

  it('heal and catch up: compares replay positions with the primary\'s WAL position at the heal, not commitIndex (always 0 there)', () => {
    const heal = action({ kind: 'heal' }, 10);
    // The primary's WAL was at 5000 just before the heal (mono 1010) and moved on to 6000 after.
    const samples = [sample('n1', 1_005, 5_000), sample('n1', 1_020, 6_000)];
    const behind = pgObservation({ actions: [heal], nodeSamples: samples, status: [nodeStatus('n1', { role: 'leader', commitIndex: 0, appliedIndex: 6_000 }), nodeStatus('n2', { commitIndex: 0, appliedIndex: 5_100 }), nodeStatus('n3', { commitIndex: 0, appliedIndex: 4_900 })] });
    const r = check(firstSteps, 4, behind);
    expect(r.passed).toBe(false);
    expect(r.detail).toContain('n3');
    // replica-lab's own check passes here at once: the leader's commitIndex (0 on PostgreSQL) is no target.
    expect(firstSteps.steps[4]!.check(behind, baseline()).passed).toBe(true);
    const caughtUp = { ...behind, status: behind.status.map((n) => (n.id === 'n3' ? { ...n, appliedIndex: 5_000 } : n)) };
    expect(check(firstSteps, 4, caughtUp)).toMatchObject({ passed: true, facts: { caughtUpNode: 'n3', caughtUpIndex: 5_000 } });
    expect(check(firstSteps, 4, { ...caughtUp, actions: [] }).passed).toBe(false);
  });

  it('the debrief sets the run beside the replica-lab one only when there is one', () => {
    const facts = { writeLeader: 'n1', writeIndex: 9_474_032, writeTerm: 1, writeLatencyMs: 20 };
    const alone = pg(firstSteps).debrief(facts, run()).join('\n');
    expect(alone).not.toContain('On replica-lab');
    const both = pg(firstSteps).debrief(facts, run([{ engine: 'replica-lab', at: '2026-12-06T20:00:00Z', autopilot: true, facts: { writeLatencyMs: 6, writeIndex: 12, writeTerm: 1 } }])).join('\n');
    expect(both).toContain('On replica-lab (your run of 2026-12-06) the same write took 6.0 ms and became log entry 12 in term 1; here 20 ms');
    expect(both).not.toMatch(/undefined|NaN/);
    // And the other way: the replica-lab debrief names the PostgreSQL run.
    const raft = firstSteps.debrief(facts, { ...run([{ engine: 'postgres', at: '2026-12-06T20:00:00Z', autopilot: true, facts: { writeLatencyMs: 20, refusedBy: 'n2' } }]), engine: 'replica-lab' }).join('\n');
    expect(raft).toContain('On PostgreSQL (your run of 2026-12-06) the same write took 20 ms');
  });
});

describe('sync-cost on PostgreSQL', () => {
  const pause = action({ kind: 'pause', node: 'n2', error: null }, 10);
  const paused = [nodeStatus('n1', { role: 'leader', commitIndex: 0 }), nodeStatus('n2', { paused: true, commitIndex: 0 }), nodeStatus('n3', { commitIndex: 0 })];

  it('stop waiting by hand: passes once synchronous_standby_names is lowered and writes are acknowledged with the standby still paused', () => {
    const lowered = action({ kind: 'replication', change: { mode: 'quorum' }, error: null }, 50);
    // One commit waited from before the change (invoked at 1046, returned at 1051); three started after it.
    const history = [...write('k0', 1_046, { index: 500 }), ...write('k1', 1_060, { index: 501 }), ...write('k2', 1_061, { index: 502 }), ...write('k3', 1_062, { index: 503 })];
    const o = pgObservation({ status: paused, actions: [pause, lowered], replication: replication({ mode: 'quorum' }), history });
    expect(check(syncCost, 3, o)).toMatchObject({
      passed: true,
      facts: { loweredTo: 'quorum', loweredSetting: "synchronous_standby_names = 'ANY 1 (n2, n3)'", ackedWhileLowered: 3, releasedByChange: 1 },
    });
    // Still sync (nothing lowered): commits wait.
    expect(check(syncCost, 3, { ...o, actions: [pause], replication: replication({ mode: 'sync' }) }).passed).toBe(false);
    // Lowered, but no standby paused any more: not what the step shows.
    expect(check(syncCost, 3, { ...o, status: pgObservation().status }).passed).toBe(false);
    // Lowered, no write acknowledged since.
    expect(check(syncCost, 3, { ...o, history: write('k1', 1_060, 'info') }).passed).toBe(false);
  });

  it('resume and put sync back: passes with nothing paused, sync again and writes acknowledged since', () => {
    const back = action({ kind: 'replication', change: { mode: 'sync' }, error: null }, 50);
    const history = [...write('k1', 1_060, { index: 601 }), ...write('k2', 1_061, { index: 602 }), ...write('k3', 1_062, { index: 603 })];
    const o = pgObservation({ actions: [back], replication: replication({ mode: 'sync' }), history });
    expect(check(syncCost, 4, o)).toMatchObject({ passed: true, facts: { ackedAfterRestore: 3 } });
    expect(check(syncCost, 4, { ...o, status: paused }).passed).toBe(false);
    expect(check(syncCost, 4, { ...o, actions: [], replication: replication({ mode: 'quorum' }) }).passed).toBe(false);
  });

  it('the debrief compares with replica-lab\'s silent degradation only when that run measured it', () => {
    const facts = { farFollower: 'n3', delayMs: 50, asyncP50Ms: 4, asyncWrites: 10, syncP50Ms: 120, syncWrites: 10, pausedNode: 'n2', blockedWrites: 4, loweredTo: 'quorum', loweredSetting: "synchronous_standby_names = 'ANY 1 (n2, n3)'", ackedWhileLowered: 5, loweredP50Ms: 118, releasedByChange: 7 };
    expect(pg(syncCost).debrief(facts, run()).join('\n')).not.toContain('On replica-lab');
    const both = pg(syncCost).debrief(facts, run([{ engine: 'replica-lab', at: '2026-12-06T20:00:00Z', autopilot: true, facts: { delayMs: 50, asyncP50Ms: 3, syncP50Ms: 105, degradedAfterMs: 500 } }])).join('\n');
    expect(both).toContain('On replica-lab (your run of 2026-12-06), with its far follower 50 ms away, async writes took 3.0 ms and sync 105 ms');
    expect(both).toContain('a 500 ms sync timeout with an async fallback, and it degraded by itself');
    expect(both).not.toMatch(/undefined|NaN/);
  });
});

describe('quorum-commit on PostgreSQL', () => {
  const down = (...ids: string[]) => [nodeStatus('n1', { role: 'leader', commitIndex: 0 }), ...['n2', 'n3'].map((id) => nodeStatus(id, ids.includes(id) ? { up: false, role: 'down', pid: null, commitIndex: 0 } : { commitIndex: 0 }))];
  const kills = [action({ kind: 'kill', node: 'n2', error: null }, 10), action({ kind: 'kill', node: 'n3', error: null }, 20)];

  it('kill the other standby: passes when none of the writes started since is acknowledged and three ended; not when one was', () => {
    const ended = [...write('k1', 1_030, 'info'), ...write('k2', 1_031, 'info'), ...write('k3', 1_032, 'fail'), ...write('k4', 1_033)];
    const o = pgObservation({ status: down('n2', 'n3'), actions: kills, history: ended });
    expect(check(quorumCommit, 1, o)).toMatchObject({ passed: true, facts: { secondDown: 'n3', startedWithTwoDown: 4, refusedWithTwoDown: 1, timedOutWithTwoDown: 2, pendingWithTwoDown: 1 } });
    expect(check(quorumCommit, 1, { ...o, history: [...ended, ...write('k5', 1_034, { index: 900 })] }).passed).toBe(false);
    expect(check(quorumCommit, 1, { ...o, status: down('n2') }).passed).toBe(false);
  });

  it('the debriefs set each engine\'s two-down outcome beside the other\'s', () => {
    const facts = { secondDown: 'n3', startedWithTwoDown: 19, refusedWithTwoDown: 0, timedOutWithTwoDown: 4, pendingWithTwoDown: 15 };
    const raftFacts = { secondDown: 'n3', startedWithTwoDown: 30, refusedWithTwoDown: 20, timedOutWithTwoDown: 10, pendingWithTwoDown: 0 };
    const onPg = pg(quorumCommit).debrief(facts, run([{ engine: 'replica-lab', at: '2026-12-06T20:00:00Z', autopilot: true, facts: raftFacts }])).join('\n');
    expect(onPg).toContain('On replica-lab (your run of 2026-12-06), with two nodes down, 20 of 30 writes were refused and 10 ended in doubt');
    expect(onPg).toContain('"Timed out" is not "failed"');
    const onRaft = quorumCommit.debrief(raftFacts, { ...run([{ engine: 'postgres', at: '2026-12-06T20:00:00Z', autopilot: true, facts }]), engine: 'replica-lab' }).join('\n');
    expect(onRaft).toContain('On PostgreSQL (your run of 2026-12-06) with two servers down 0 of 19 writes were refused and 4 timed out');
    expect(pg(quorumCommit).debrief(facts, run()).join('\n')).not.toContain('On replica-lab');
  });
});
