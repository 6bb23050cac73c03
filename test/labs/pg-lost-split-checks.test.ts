// The PostgreSQL variants of async-lost-writes and split-brain: each check on
// hand-built observations both ways (what a promotion by the failover manager,
// a rewind and a second primary look like there), and the debriefs' comparison
// with the same lab's run on the other engine.

import { describe, expect, it } from 'vitest';
import type { NodeStatus } from '../../cluster/index.js';
import { asyncLostWrites } from '../../labs/catalog/async-lost-writes.js';
import { labOn } from '../../labs/catalog/index.js';
import { splitBrain } from '../../labs/catalog/split-brain.js';
import type { AnyLab, Observation, RunSummary } from '../../labs/types.js';
import { ackedWrite, action, baseline, event, nodeStatus, observation, replication } from './snapshot.js';

const lost = labOn(asyncLostWrites as AnyLab, 'postgres');
const split = labOn(splitBrain as AnyLab, 'postgres');
const check = (lab: AnyLab, step: number, o: Observation, b = baseline()) => lab.steps[step]!.check(o, b);
const run: RunSummary = { stepsPassed: 5, steps: 5, elapsedMs: 1_000, writesAcknowledged: 100, lostWrites: 4, engine: 'postgres' };
const wall = (atMs: number): number => 1_700_000_001_000 + atMs;

/** PostgreSQL status: `primaries` lead (timeline = term), the rest are standbys on `standbyTimeline`. */
function pgStatus(primaries: Record<string, number>, standbyTimeline = 1, change: Record<string, Partial<NodeStatus>> = {}): NodeStatus[] {
  return ['n1', 'n2', 'n3'].map((id) =>
    nodeStatus(id, {
      role: primaries[id] === undefined ? 'follower' : 'leader',
      term: primaries[id] ?? standbyTimeline,
      commitIndex: 0,
      member: null,
      replication: primaries[id] === undefined ? null : replication({ mode: 'async' }),
      ...change[id],
    }),
  );
}
const pg = (change: Partial<Observation>): Observation => observation({ engine: 'postgres', membership: null, status: pgStatus({ n1: 1 }), ...change });

const proofSql = "INSERT INTO kv(k, v) VALUES ('only-on-the-old-leader', 'acknowledged by n1') ON CONFLICT(k) DO UPDATE SET v = excluded.v";
const proof = (atMs: number, index = 9_500_000) =>
  action({ kind: 'execute', sql: proofSql, params: [], node: 'n1', endMono: 1_000 + atMs + 1, outcome: { ok: true, index, term: 1, leader: 'n1', latencyMs: 1 } }, atMs);
const isolate = (atMs: number) => action({ kind: 'partition', groups: [['n1'], ['n2', 'n3']] }, atMs);
const promotedN2 = (atMs: number) => event(atMs, { type: 'promoted', node: 'n2', term: 2, lastIndex: 9_400_000 });
const decision = (atMs: number, fenced = false) => ({ atMs: wall(atMs), from: 'n1', to: 'n2', receivedLsn: 9_400_000, fenced, error: null });

describe('async-lost-writes on PostgreSQL', () => {
  it('runs the variant: its own steps on PostgreSQL, the replica-lab steps on replica-lab', () => {
    expect(asyncLostWrites.engines).toContain('postgres');
    expect(lost.steps).not.toBe(asyncLostWrites.steps);
    expect(lost.setup.cluster).toMatchObject({ failover: 'raft', fencing: false });
    expect(labOn(asyncLostWrites as AnyLab, 'replica-lab').steps).toBe(asyncLostWrites.steps);
  });

  it('switch to async: passes once the primary runs async, not before', () => {
    expect(check(lost, 0, pg({ replication: replication({ mode: 'async' }) })).passed).toBe(true);
    expect(check(lost, 0, pg({ status: pgStatus({ n1: 1 }, 1, { n1: { replication: replication() } }) })).passed).toBe(false);
  });

  it('cut the primary off and write through it: the proof key acknowledged by the cut-off primary passes; the cut alone does not', () => {
    expect(check(lost, 1, pg({ actions: [isolate(10), proof(20)] }))).toMatchObject({ passed: true, facts: { oldLeader: 'n1', proofIndex: 9_500_000, proofTerm: 1 } });
    expect(check(lost, 1, pg({ actions: [isolate(10)] })).passed).toBe(false);
    // A standby cut off is not the primary.
    expect(check(lost, 1, pg({ actions: [action({ kind: 'partition', groups: [['n3'], ['n1', 'n2']] }, 10), proof(20)] })).passed).toBe(false);
  });

  it('kill it: passes once the old primary is down and the manager has promoted a standby; not while it runs, nor before the decision is recorded', () => {
    const killed = pgStatus({ n2: 2 }, 2, { n1: { up: false, role: 'down', term: 1 } });
    const done = pg({ status: killed, leader: 'n2', actions: [isolate(10), proof(20)], events: [promotedN2(3_100)], failovers: [decision(3_150)] });
    expect(check(lost, 2, done)).toMatchObject({ passed: true, facts: { newLeader: 'n2', newTerm: 2, electedAfterMs: 3_090, promotedReceivedLsn: 9_400_000, fenced: false } });
    expect(check(lost, 2, { ...done, status: pgStatus({ n1: 1, n2: 2 }, 2) }).passed).toBe(false);
    expect(check(lost, 2, { ...done, failovers: [] }).passed).toBe(false);
    // Promoted by hand (:promote): the journal says so.
    const byHand = { ...done, failovers: [], actions: [isolate(10), proof(20), action({ kind: 'promote', node: 'n2', error: null }, 1_000)] };
    expect(check(lost, 2, byHand)).toMatchObject({ passed: true, detail: expect.stringContaining('promoted by hand') });
  });

  it('bring it back: passes once pg_rewind listed the lost writes, counted before and after the cut; not while it is down or before the rewind', () => {
    const back = pgStatus({ n2: 2 }, 2);
    const lostWrites = [
      { node: 'n1', index: 9_450_000, term: 1, kind: 'sql' as const, sql: 'INSERT …' },
      { node: 'n1', index: 9_500_000, term: 1, kind: 'sql' as const, sql: proofSql },
    ];
    const history = [...ackedWrite('k7', 9_450_000, 900, 'n1').map((r) => (r.type === 'ok' ? { ...r, term: 1 } : r))];
    const rewound = event(5_000, { type: 'writes-lost', node: 'n1', writes: lostWrites, rollbackPath: '/d/n1/pg_rewind.log' });
    const o = pg({ status: back, leader: 'n2', actions: [isolate(10), proof(20)], history, lostWrites, events: [rewound] });
    const result = check(lost, 3, o);
    expect(result).toMatchObject({ passed: true, facts: { lostCount: 2, lostBeforeCut: 1, lostAfterCut: 1, rollbackPath: '/d/n1/pg_rewind.log' } });
    expect(result.facts?.firstLost).toEqual(["k7 = 'v9450000' (LSN 9450000, timeline 1)", "only-on-the-old-leader = 'acknowledged by n1' (LSN 9500000, timeline 1)"]);
    expect(check(lost, 3, { ...o, events: [] }).passed).toBe(false);
    expect(check(lost, 3, { ...o, status: pgStatus({ n2: 2 }, 2, { n1: { up: false, role: 'down' } }) }).passed).toBe(false);
  });

  it('look for your lost write: a read with no row passes when the proof write (by LSN and timeline) was lost; a row, or the proof not lost, does not', () => {
    const lostProof = { node: 'n1', index: 9_500_000, term: 1, kind: 'sql' as const, sql: proofSql };
    const readOf = (rows: Record<string, unknown>[]) =>
      action({ kind: 'query', sql: "SELECT k, v, idx FROM kv WHERE k = 'only-on-the-old-leader'", params: [], node: null, consistency: 'linearizable', minIndex: null, endMono: 1_050, outcome: { ok: true, node: 'n2', index: 9_900_000, columns: ['k', 'v', 'idx'], rows, latencyMs: 1 } }, 40);
    const o = pg({ leader: 'n2', actions: [isolate(-500), proof(-400), readOf([])], lostWrites: [lostProof] });
    expect(check(lost, 4, o)).toMatchObject({ passed: true, facts: { proofCurrent: '(no row)' } });
    expect(check(lost, 4, { ...o, actions: [isolate(-500), proof(-400), readOf([{ k: 'only-on-the-old-leader', v: 'x' }])] }).passed).toBe(false);
    // The same LSN on another timeline is another write.
    expect(check(lost, 4, { ...o, lostWrites: [{ ...lostProof, term: 2 }] }).passed).toBe(false);
  });

  it('the debriefs compare with the run on the other engine only when there is one', () => {
    const facts = { lostCount: 300, electedAfterMs: 3_100, asyncP50Ms: 9, promotedReceivedLsn: 9_400_000 };
    const earlier = { engine: 'replica-lab' as const, at: '2026-12-01T10:00:00.000Z', autopilot: false, facts: { lostCount: 40, electedAfterMs: 250, asyncP50Ms: 2 } };
    const withRaft = lost.debrief(facts, { ...run, earlier: [earlier] }).join('\n');
    expect(withRaft).toContain('Your replica-lab run of this lab (by hand, 2026-12-01): 40 acknowledged writes lost there, 300 here');
    expect(withRaft).toContain('a new leader 250 ms after the cut by a Raft election there, a promotion 3100 ms after it here');
    expect(lost.debrief({ ...facts, promotedReceivedLsn: undefined }, { ...run, earlier: [earlier] }).join('\n')).toContain('a promotion 3100 ms after it here (by hand)');
    expect(lost.debrief(facts, run).join('\n')).not.toContain('replica-lab run');
    const onRaft = asyncLostWrites.debrief({ lostCount: 40, electedAfterMs: 250 }, { ...run, engine: 'replica-lab', earlier: [{ ...earlier, engine: 'postgres', facts }] }).join('\n');
    expect(onRaft).toContain('Your PostgreSQL run of this lab (by hand, 2026-12-01) lost 300 acknowledged writes, this one 40');
    // The counts come from different write rates: each side says so.
    expect(withRaft).toContain('not a like-for-like count: the workload sends 200 writes a second there, 100 here');
    expect(onRaft).toContain('the counts differ with the rate, 100 writes a second there, 200 here');
  });
});

describe('split-brain on PostgreSQL', () => {
  it('runs the failover manager, fencing off and then on', () => {
    expect(split.setup.cluster).toMatchObject({ failover: 'raft', fencing: false });
    expect(split.steps[5]!.freshCluster?.cluster).toMatchObject({ failover: 'raft', fencing: true });
  });

  it('cut the primary off: passes on a cut that isolates the primary, not a standby', () => {
    expect(check(split, 0, pg({ actions: [isolate(10)] }))).toMatchObject({ passed: true, facts: { oldPrimary: 'n1', oldTerm: 1 } });
    expect(check(split, 0, pg({ actions: [action({ kind: 'partition', groups: [['n3'], ['n1', 'n2']] }, 10)] })).passed).toBe(false);
  });

  it('the manager promotes a standby: two primaries on two timelines with the manager\'s decision pass; one primary, or no decision yet, does not', () => {
    const two = pg({ status: pgStatus({ n1: 1, n2: 2 }, 2), leader: 'n2', actions: [isolate(10)], failovers: [decision(3_100)] });
    expect(check(split, 1, two)).toMatchObject({ passed: true, facts: { newPrimary: 'n2', newTerm: 2, promotedByManager: true } });
    expect(check(split, 1, { ...two, failovers: [] }).passed).toBe(false);
    expect(check(split, 1, { ...two, status: pgStatus({ n2: 2 }, 2, { n1: { up: false, role: 'down' } }) }).passed).toBe(false);
  });

  it('heal, write to the old primary again: a write the old primary acknowledged after the heal passes; one before it does not', () => {
    const ack = (leader: string, term: number, atMs: number) =>
      action({ kind: 'execute', sql: 'INSERT …', params: [], node: leader, endMono: 1_000 + atMs + 1, outcome: { ok: true, index: 9_600_000 + atMs, term, leader, latencyMs: 1 } }, atMs);
    // The journal's order (seq) is the order these are made in.
    const before = ack('n1', 1, 20);
    const heal = action({ kind: 'heal' }, 50);
    const later = ack('n1', 1, 60);
    const status = pgStatus({ n1: 1, n2: 2 }, 2);
    const after = pg({ status, leader: 'n2', actions: [before, heal, later] });
    expect(check(split, 3, after)).toMatchObject({ passed: true, facts: { thirdReplica: 'n3' } });
    expect(check(split, 3, after).facts?.afterHealWrite).toMatch(/^n1 acknowledged LSN \d+ \(timeline 1\)$/);
    // n3's walreceiver still reports the old timeline, but its own log says it streams on the new one.
    const lagging = { ...after, status: pgStatus({ n1: 1, n2: 2 }, 1) };
    expect(check(split, 3, lagging).facts).not.toHaveProperty('thirdReplica');
    const said = { atMs: wall(40), node: 'n3', kind: 'streaming-started' as const, text: 'LOG:  started streaming WAL from primary at 0/9000000 on timeline 2' };
    expect(check(split, 3, { ...lagging, serverLog: [said] }).facts).toMatchObject({ thirdReplica: 'n3' });
    expect(check(split, 3, { ...after, actions: [before, heal] }).passed).toBe(false);
    expect(check(split, 3, { ...after, actions: [before, later] }).passed).toBe(false);
  });

  it('again with fencing: passes once the manager killed the old primary and promoted; a promotion without fencing does not', () => {
    const fenced = pg({ status: pgStatus({ n2: 2 }, 2, { n1: { up: false, role: 'down', term: 1 } }), leader: 'n2', actions: [isolate(10)], failovers: [decision(3_100, true)] });
    expect(check(split, 5, fenced)).toMatchObject({ passed: true, facts: { fencedPrimary: 'n1', fencedTerm: 2 } });
    expect(check(split, 5, { ...fenced, failovers: [decision(3_100, false)], status: pgStatus({ n1: 1, n2: 2 }, 2) }).passed).toBe(false);
    expect(check(split, 5, { ...fenced, failovers: [] }).passed).toBe(false);
  });

  it('bring the old primary back: passes once it follows the new primary on its timeline after the heal; not while it still reports as a primary', () => {
    const heal = action({ kind: 'heal' }, 50);
    const lostWrites = [{ node: 'n1', index: 9_450_000, term: 1, kind: 'sql' as const, sql: 'INSERT …' }];
    const back = pg({ status: pgStatus({ n2: 2 }, 2), leader: 'n2', actions: [isolate(-500), heal], lostWrites });
    expect(check(split, 6, back)).toMatchObject({ passed: true, facts: { fencedLost: 1 } });
    expect(check(split, 6, { ...back, status: pgStatus({ n1: 1, n2: 2 }, 2) }).passed).toBe(false);
    expect(check(split, 6, { ...back, actions: [isolate(-500)] }).passed).toBe(false);
  });

  it('the debriefs compare the two engines\' runs when the person ran both', () => {
    const pgFacts = { afterHealWrite: 'n1 acknowledged LSN 9486176 (timeline 1)', fencedLost: 57, fencedPrimary: 'n1', fencedTerm: 2 };
    const raftFacts = { ignoredTerm: 2, fencedTerm: 2, fencedLost: 3 };
    const onPg = split.debrief(pgFacts, { ...run, earlier: [{ engine: 'replica-lab', at: '2026-12-01T10:00:00.000Z', autopilot: true, facts: raftFacts }] }).join('\n');
    expect(onPg).toContain('after the heal the old leader heard term 2 and, without fencing, ignored it');
    expect(onPg).toContain('Writes lost to the fenced primary: 3 there, 57 here; not a like-for-like count');
    expect(split.debrief(pgFacts, run).join('\n')).not.toContain('replica-lab run');
    const onRaft = splitBrain.debrief(raftFacts, { ...run, engine: 'replica-lab', earlier: [{ engine: 'postgres', at: '2026-12-01T10:00:00.000Z', autopilot: true, facts: pgFacts }] }).join('\n');
    expect(onRaft).toContain('Your PostgreSQL run of this lab (autopilot, 2026-12-01) had no term to hear: after the heal n1 acknowledged LSN 9486176 (timeline 1)');
  });
});
