// Step checks as pure functions of a snapshot, both ways: each passes on a
// snapshot where the step was done and does not on the same snapshot without
// it. (test/labs/steps.test.ts does the same on real clusters for every step.)

import { describe, expect, it } from 'vitest';
import { ackLevels } from '../../labs/catalog/ack-levels.js';
import { asyncLostWrites } from '../../labs/catalog/async-lost-writes.js';
import { firstSteps } from '../../labs/catalog/first-steps.js';
import { lagAnomalies } from '../../labs/catalog/lag-anomalies.js';
import { partition } from '../../labs/catalog/partition.js';
import { quorumCommit } from '../../labs/catalog/quorum-commit.js';
import { raftElection } from '../../labs/catalog/raft-election.js';
import { splitBrain } from '../../labs/catalog/split-brain.js';
import { syncCost } from '../../labs/catalog/sync-cost.js';
import type { AnyLab, Observation, QueryOutcome } from '../../labs/types.js';
import { ackedWrite, action, baseline, event, nodeStatus, observation, read, replication, workloadRecord, write } from './snapshot.js';

const check = (lab: AnyLab, step: number, o: Observation, b = baseline()) => lab.steps[step]!.check(o, b);
const slow = (a: string, b: string, delayMs: number, atMs = 10) => [action({ kind: 'link', from: a, to: b, options: { delayMs } }, atMs), action({ kind: 'link', from: b, to: a, options: { delayMs } }, atMs)];

describe('first-steps', () => {
  it('write through the leader: an acknowledged write passes; none does not', () => {
    const done = observation({ actions: [action({ kind: 'execute', sql: 'INSERT …', params: [], node: null, endMono: 1_020, outcome: { ok: true, index: 7, term: 2, leader: 'n1', latencyMs: 3 } })] });
    expect(check(firstSteps, 0, done)).toMatchObject({ passed: true, facts: { writeLeader: 'n1', writeIndex: 7 } });
    expect(check(firstSteps, 0, observation()).passed).toBe(false);
  });

  it('write to a follower: a NotLeader refusal naming the leader passes; no refusal, or one naming nobody, does not', () => {
    const refusal = (leader: string | null) =>
      observation({ actions: [action({ kind: 'execute', sql: 'INSERT …', params: [], node: 'n2', endMono: 1_020, outcome: { ok: false, error: { kind: 'not-leader', message: 'n2 is not the leader', leader } } })] });
    expect(check(firstSteps, 1, refusal('n1'))).toMatchObject({ passed: true, facts: { refusedBy: 'n2', namedLeader: 'n1' } });
    expect(check(firstSteps, 1, refusal(null)).passed).toBe(false);
    expect(check(firstSteps, 1, observation()).passed).toBe(false);
  });

  it('read from a follower: a local read on a follower passes; one on the leader does not', () => {
    const readOn = (node: string) =>
      observation({ actions: [action({ kind: 'query', sql: 'SELECT …', params: [], node, consistency: 'local', minIndex: null, endMono: 1_020, outcome: { ok: true, node, index: 90, columns: ['k', 'v'], rows: [{ k: 'greeting', v: 'hello' }], latencyMs: 1 } })] });
    expect(check(firstSteps, 2, readOn('n3'))).toMatchObject({ passed: true, facts: { readNode: 'n3', readIndex: 90 } });
    expect(check(firstSteps, 2, readOn('n1')).passed).toBe(false);
  });

  it('slow a link: a slowed follower that lags passes; the same lag without the slowed link, or the link without lag, does not', () => {
    const lagging = [nodeStatus('n1', { role: 'leader' }), nodeStatus('n2'), nodeStatus('n3', { lag: { writeLagMs: 400, flushLagMs: 400, replayLagMs: 420, entries: 4, bytes: 400 } })];
    expect(check(firstSteps, 3, observation({ status: lagging, actions: slow('n1', 'n3', 300) }))).toMatchObject({ passed: true, facts: { laggingNode: 'n3', lagEntries: 4 } });
    expect(check(firstSteps, 3, observation({ status: lagging })).passed).toBe(false);
    expect(check(firstSteps, 3, observation({ actions: slow('n1', 'n3', 300) })).passed).toBe(false);
  });

  it('heal: a heal after which every node applied past the leader\'s commit passes; no heal, or a node still behind, does not', () => {
    const heal = action({ kind: 'heal' });
    expect(check(firstSteps, 4, observation({ actions: [heal] })).passed).toBe(true);
    expect(check(firstSteps, 4, observation()).passed).toBe(false);
    const behind = [nodeStatus('n1', { role: 'leader' }), nodeStatus('n2'), nodeStatus('n3', { appliedIndex: 90 })];
    expect(check(firstSteps, 4, observation({ status: behind, actions: [heal] })).passed).toBe(false);
  });
});

describe('async-lost-writes', () => {
  it('switch to async: passes once the leader runs async, not before', () => {
    const asyncLeader = [nodeStatus('n1', { role: 'leader', replication: replication({ mode: 'async' }) }), nodeStatus('n2'), nodeStatus('n3')];
    expect(check(asyncLostWrites, 0, observation({ status: asyncLeader, replication: replication({ mode: 'async' }) })).passed).toBe(true);
    expect(check(asyncLostWrites, 0, observation()).passed).toBe(false);
  });

  const proof = (atMs: number, ok = true) =>
    action(
      {
        kind: 'execute',
        sql: "INSERT OR REPLACE INTO kv(k, v) VALUES ('only-on-the-old-leader', 'acknowledged by n1')",
        params: [],
        node: 'n1',
        endMono: 1_000 + atMs + 1,
        outcome: ok ? { ok: true, index: 104, term: 2, leader: 'n1', latencyMs: 1 } : { ok: false, error: { kind: 'not-leader', message: 'not the leader', leader: 'n2' } },
      },
      atMs,
    );

  it('cut the leader off and write through it: passes once the isolated leader acknowledged the proof key after the cut, not on workload writes alone', () => {
    const cut = action({ kind: 'partition', groups: [['n1'], ['n2', 'n3']] }, 10);
    expect(check(asyncLostWrites, 1, observation({ actions: [cut, proof(20)], history: ackedWrite('k1', 101, 1_050, 'n1') }))).toMatchObject({ passed: true, facts: { oldLeader: 'n1', proofKey: 'only-on-the-old-leader', proofIndex: 104 } });
    expect(check(asyncLostWrites, 1, observation({ actions: [cut], history: ackedWrite('k1', 101, 1_050, 'n1') })).passed).toBe(false);
    expect(check(asyncLostWrites, 1, observation({ actions: [cut, proof(20, false)] })).passed).toBe(false);
    expect(check(asyncLostWrites, 1, observation()).passed).toBe(false);
  });

  it('bring it back: every lost write is counted as acknowledged before the cut or after it, and the counts add up', () => {
    const cut = action({ kind: 'partition', groups: [['n1'], ['n2', 'n3']] }, -500);
    const lost = [101, 102, 103].map((index) => ({ node: 'n1', index, term: 2, kind: 'sql' as const, sql: 'INSERT …' }));
    const o = observation({
      actions: [cut, proof(-400)],
      // 101 acknowledged before the cut (at mono 400, the cut at 500), 102 and 103 after it; 104 is the proof write.
      history: [...ackedWrite('k7', 101, 400, 'n1'), ...ackedWrite('k8', 102, 700, 'n1'), ...ackedWrite('k9', 103, 710, 'n1')],
      lostWrites: [...lost, { node: 'n1', index: 104, term: 2, kind: 'sql' as const, sql: 'INSERT …' }],
      rollbackFiles: [{ node: 'n1', path: '/d/n1/rollback/x.jsonl', entries: [{ index: 101, term: 2, kind: 'sql', sql: 'INSERT …', params: ['k7', 'v101'] }] }],
      events: [event(20, { type: 'entries-rolled-back', node: 'n1', fromIndex: 101, toIndex: 105, leader: 'n2' })],
    });
    const result = check(asyncLostWrites, 3, o);
    expect(result).toMatchObject({ passed: true, facts: { lostCount: 4, lostBeforeCut: 1, lostAfterCut: 3, lostUnmatched: 0, ackedAfterCut: 3, rolledBack: 5, notAcknowledged: 1, rollbackPath: '/d/n1/rollback/x.jsonl' } });
    expect(result.detail).toMatch(/4 acknowledged writes were lost: 1 acknowledged before the cut .* and 3 acknowledged after it/);
    expect(check(asyncLostWrites, 3, observation({ actions: [cut] })).passed).toBe(false);
  });

  it('look for your lost write: a read showing no row for the proof key passes; a workload key, or a proof key written again, does not', () => {
    const cut = action({ kind: 'partition', groups: [['n1'], ['n2', 'n3']] }, -500);
    const lostProof = { node: 'n1', index: 104, term: 2, kind: 'sql' as const, sql: "INSERT OR REPLACE INTO kv(k, v) VALUES ('only-on-the-old-leader', 'acknowledged by n1')" };
    const file = { node: 'n1', path: '/d/n1/rollback/x.jsonl', entries: [{ index: 104, term: 2, kind: 'sql', sql: lostProof.sql, params: [] }] };
    const readOf = (key: string, rows: Record<string, unknown>[]) =>
      action({ kind: 'query', sql: `SELECT k, v, idx FROM kv WHERE k = '${key}'`, params: [], node: null, consistency: 'linearizable', minIndex: null, endMono: 1_050, outcome: { ok: true, node: 'n2', index: 200, columns: ['k', 'v', 'idx'], rows, latencyMs: 1 } }, 40);
    const o = observation({ actions: [cut, proof(-400), readOf('only-on-the-old-leader', [])], lostWrites: [lostProof], rollbackFiles: [file] });
    expect(check(asyncLostWrites, 4, o)).toMatchObject({ passed: true, facts: { proofCurrent: '(no row)', rollbackPath: '/d/n1/rollback/x.jsonl' } });
    expect(check(asyncLostWrites, 4, { ...o, actions: [cut, proof(-400), readOf('k7', [])] }).passed).toBe(false);
    expect(check(asyncLostWrites, 4, { ...o, history: ackedWrite('only-on-the-old-leader', 150, 900, 'n2') }).passed).toBe(false);
  });
});

describe('sync-cost', () => {
  it('switch to sync: passes when sync writes take at least the far follower\'s round trip, not while still async', () => {
    const syncOn = action({ kind: 'replication', change: { mode: 'sync' }, error: null }, 20);
    const writes = Array.from({ length: 10 }, (_, i) => write(`k${i}`, 1_030 + i, { index: 200 + i })).flat();
    const slowWrites = writes.map((r) => (r.type === 'ok' ? { ...r, mono: r.mono + 100 } : r));
    const o = observation({ actions: [...slow('n1', 'n3', 50, -100), syncOn], replication: replication({ mode: 'sync' }), history: slowWrites });
    expect(check(syncCost, 1, o).passed).toBe(true);
    expect(check(syncCost, 1, { ...o, history: writes }).passed).toBe(false);
    expect(check(syncCost, 1, { ...o, actions: slow('n1', 'n3', 50, -100), replication: replication() }).passed).toBe(false);
  });

  it('pause a follower: passes when writes started since were none acknowledged, not when one was', () => {
    const pause = action({ kind: 'pause', node: 'n2', error: null }, 10);
    const paused = [nodeStatus('n1', { role: 'leader' }), nodeStatus('n2', { paused: true }), nodeStatus('n3')];
    const blocked = [...write('k1', 1_020), ...write('k2', 1_021, 'info'), ...write('k3', 1_022)];
    const o = observation({ status: paused, actions: [pause], replication: replication({ mode: 'sync' }), history: blocked });
    expect(check(syncCost, 2, o)).toMatchObject({ passed: true, facts: { pausedNode: 'n2', blockedWrites: 3 } });
    expect(check(syncCost, 2, { ...o, history: [...blocked, ...write('k4', 1_023, { index: 300 })] }).passed).toBe(false);
    expect(check(syncCost, 2, observation({ replication: replication({ mode: 'sync' }), history: blocked })).passed).toBe(false);
  });

  it('let the leader stop waiting: passes after sync-degraded and a write acknowledged since, not before', () => {
    const degraded = event(600, { type: 'sync-degraded', node: 'n1', index: 120, waitedTicks: 50, lagging: ['n2'] });
    const o = observation({ events: [degraded], history: ackedWrite('k1', 121, 1_700) });
    expect(check(syncCost, 3, o)).toMatchObject({ passed: true, facts: { degradedAfterMs: 500, ackedWhileDegraded: 1 } });
    expect(check(syncCost, 3, { ...o, events: [] }).passed).toBe(false);
  });
});

describe('quorum-commit', () => {
  const down = (...ids: string[]) => [nodeStatus('n1', { role: 'leader' }), ...['n2', 'n3'].map((id) => nodeStatus(id, ids.includes(id) ? { up: false, role: 'down', pid: null } : {}))];

  it('kill one follower: passes when writes started since the kill are acknowledged, not before the kill', () => {
    const kill = action({ kind: 'kill', node: 'n3', error: null }, 10);
    const acked = Array.from({ length: 5 }, (_, i) => write(`k${i}`, 1_020 + i, { index: 200 + i })).flat();
    expect(check(quorumCommit, 0, observation({ status: down('n3'), actions: [kill], history: acked })).passed).toBe(true);
    expect(check(quorumCommit, 0, observation({ history: acked })).passed).toBe(false);
  });

  it('kill a second node: passes when writes started since end refused or in doubt, not when one is acknowledged', () => {
    const kill = action({ kind: 'kill', node: 'n2', error: null }, 10);
    const refused = [...write('k1', 1_020, 'fail'), ...write('k2', 1_021, 'info'), ...write('k3', 1_022, 'info')];
    const o = observation({ status: down('n2', 'n3'), actions: [kill], history: refused });
    expect(check(quorumCommit, 1, o)).toMatchObject({ passed: true, facts: { secondDown: 'n2', startedWithTwoDown: 3, refusedWithTwoDown: 1, timedOutWithTwoDown: 2, pendingWithTwoDown: 0 } });
    // Every write started is accounted for: acknowledged + refused + in doubt + still waiting.
    const waiting = check(quorumCommit, 1, { ...o, history: [...refused, ...write('k5', 1_024)] });
    expect(waiting).toMatchObject({ passed: true, facts: { startedWithTwoDown: 4, pendingWithTwoDown: 1 } });
    expect(waiting.detail).toMatch(/0 of 4 writes .*: 1 refused, 2 ended in doubt .*, 1 still waiting for an answer/);
    expect(check(quorumCommit, 1, { ...o, history: [...refused, ...write('k4', 1_023, { index: 300 })] }).passed).toBe(false);
    expect(check(quorumCommit, 1, observation({ status: down('n3') })).passed).toBe(false);
  });
});

describe('raft-election', () => {
  const started = (atMs: number, node: string, term: number, pre = false) => event(atMs, { type: 'election-started', node, term, pre, transfer: false });

  it('kill the leader: passes once another node wins after the kill', () => {
    const kill = action({ kind: 'kill', node: 'n1', error: null }, 10);
    const elected = event(250, { type: 'leader-elected', node: 'n2', term: 3, votes: ['n2', 'n3'], electionTicks: 1 });
    expect(check(raftElection, 0, observation({ actions: [kill], events: [elected] }))).toMatchObject({ passed: true, facts: { firstWinner: 'n2', firstTerm: 3, firstElectionMs: 240 } });
    expect(check(raftElection, 0, observation({ events: [elected] })).passed).toBe(false);
  });

  it('split the vote: two candidates in one term with no winner pass; a term someone won does not', () => {
    const split = [started(100, 'n2', 4), started(105, 'n3', 4)];
    expect(check(raftElection, 2, observation({ leader: null, events: split }))).toMatchObject({ passed: true, facts: { splitTerm: 4, splitCandidates: 'n2 and n3' } });
    const won = [...split, event(300, { type: 'leader-elected', node: 'n2', term: 4, votes: ['n2', 'n3'], electionTicks: 2 })];
    expect(check(raftElection, 2, observation({ events: won })).passed).toBe(false);
    expect(check(raftElection, 2, observation()).passed).toBe(false);
  });

  it('isolate a follower with PreVote on: passes after pre-votes, a heal and a quiet return; fails if it stood for real or the leader changed', () => {
    const cut = action({ kind: 'partition', groups: [['n3'], ['n1', 'n2']] }, 10);
    const heal = action({ kind: 'heal' }, 900);
    const quiet = observation({ actions: [cut, heal], events: [started(300, 'n3', 3, true), started(520, 'n3', 3, true)] });
    expect(check(raftElection, 4, quiet)).toMatchObject({ passed: true, facts: { preVoteNode: 'n3', preVoteRounds: 2 } });
    expect(check(raftElection, 4, { ...quiet, actions: [cut] }).passed).toBe(false);
    expect(check(raftElection, 4, { ...quiet, events: [...quiet.events, started(700, 'n3', 3)] }).passed).toBe(false);
    expect(check(raftElection, 4, { ...quiet, events: [...quiet.events, event(950, { type: 'stepped-down', node: 'n1', term: 3, reason: 'higher-term' })] }).passed).toBe(false);
  });

  it('without PreVote: passes when the climbing node makes the leader step down after the heal', () => {
    const cut = action({ kind: 'partition', groups: [['n3'], ['n1', 'n2']] }, 10);
    const heal = action({ kind: 'heal' }, 900);
    const climbing = [started(300, 'n3', 3), started(520, 'n3', 4)];
    const deposed = event(950, { type: 'stepped-down', node: 'n1', term: 4, reason: 'higher-term' });
    expect(check(raftElection, 5, observation({ actions: [cut, heal], events: [...climbing, deposed] }))).toMatchObject({ passed: true, facts: { climbedTo: 4, deposedLeader: 'n1' } });
    expect(check(raftElection, 5, observation({ actions: [cut, heal], events: climbing })).passed).toBe(false);
  });
});

describe('partition', () => {
  const cut = action({ kind: 'partition', groups: [['n1'], ['n2', 'n3']] }, -2_000);
  const localRead = (idx: number) =>
    action({ kind: 'query', sql: "SELECT k, v, idx FROM kv WHERE k = 'k1'", params: [], node: 'n1', consistency: 'local', minIndex: null, endMono: 1_030, outcome: { ok: true, node: 'n1', index: 100, columns: ['k', 'v', 'idx'], rows: [{ k: 'k1', v: 'old', idx }], latencyMs: 1 } }, 20);

  it('cut the leader off: passes once the majority elected a leader while the old one still believes it leads', () => {
    const now = action({ kind: 'partition', groups: [['n1'], ['n2', 'n3']] }, 10);
    const elected = [event(280, { type: 'leader-elected', node: 'n3', term: 3, votes: ['n3', 'n2'], electionTicks: 1 })];
    expect(check(partition, 0, observation({ actions: [now], events: elected }))).toMatchObject({ passed: true, facts: { oldLeader: 'n1', oldTerm: 2, newLeader: 'n3' } });
    expect(check(partition, 0, observation({ actions: [now] })).passed).toBe(false);
    expect(check(partition, 0, observation({ events: elected })).passed).toBe(false);
    // Once the old leader has stepped down the window this lab shows is gone: the step does not pass.
    const stepped = [...elected, event(300, { type: 'stepped-down', node: 'n1', term: 2, reason: 'check-quorum' })];
    expect(check(partition, 0, observation({ actions: [now], events: stepped })).passed).toBe(false);
  });

  it('cut the leader off: the instruction keeps naming the leader the step began with, not the one elected after the cut', () => {
    const instruction = partition.steps[0]!.instruction;
    const after = observation({ leader: 'n3' });
    expect(typeof instruction === 'function' ? instruction(after, baseline(observation())) : instruction).toContain(':partition n1 | n2 n3');
  });

  it('runs without CheckQuorum, so the cut-off leader keeps believing it leads', () => {
    expect(partition.setup.cluster.checkQuorum).toBe(false);
  });

  it('read the cut-off leader: a read older than an acknowledged write to its key passes while it leads; an up-to-date one, or one after it stepped down, does not', () => {
    const history = ackedWrite('k1', 131, 900, 'n3');
    expect(check(partition, 1, observation({ actions: [cut, localRead(112)], history }))).toMatchObject({ passed: true, facts: { staleKey: 'k1', staleSeen: 112, staleNewest: 131 } });
    expect(check(partition, 1, observation({ actions: [cut, localRead(131)], history })).passed).toBe(false);
    expect(check(partition, 1, observation({ actions: [cut], history })).passed).toBe(false);
    const stepped = [event(-1_000, { type: 'stepped-down', node: 'n1', term: 2, reason: 'check-quorum' })];
    expect(check(partition, 1, observation({ actions: [cut, localRead(112)], history, events: stepped })).passed).toBe(false);
  });

  it('ask the cut-off leader linearizably: a read that times out on it passes; one it served, or a follower\'s not-leader, does not', () => {
    const lread = (outcome: QueryOutcome) =>
      action({ kind: 'query', sql: "SELECT k, v, idx FROM kv WHERE k = 'k1'", params: [], node: 'n1', consistency: 'linearizable', minIndex: null, endMono: 2_030, outcome }, 30);
    const timeout = lread({ ok: false, error: { kind: 'timeout', message: 'timed out', leader: null } });
    expect(check(partition, 2, observation({ actions: [cut, timeout] }))).toMatchObject({ passed: true, facts: { refusedKind: 'timeout' } });
    expect(check(partition, 2, observation({ actions: [cut] })).passed).toBe(false);
    const served = lread({ ok: true, node: 'n1', index: 100, columns: ['k'], rows: [], latencyMs: 1 });
    expect(check(partition, 2, observation({ actions: [cut, served] })).passed).toBe(false);
    const follower = lread({ ok: false, error: { kind: 'not-leader', message: 'not the leader', leader: 'n3' } });
    expect(check(partition, 2, observation({ actions: [cut, follower] })).passed).toBe(false);
  });

  it('the ReadIndex hint has thesis §6.4\'s first step: a new leader commits an entry of its own term first', () => {
    for (const step of [2, 3]) {
      const hint = partition.steps[step]!.hint;
      expect(typeof hint === 'string' ? hint : hint(observation(), baseline())).toMatch(/entry of its own term.*§6\.4/);
    }
  });
});

describe('split-brain', () => {
  it('heal the network: names the third replica following the newer term, the fencing that kept it clean', () => {
    const status = [nodeStatus('n1', { role: 'leader', term: 1, leader: 'n1' }), nodeStatus('n2', { role: 'leader', term: 2, leader: 'n2' }), nodeStatus('n3', { term: 2, leader: 'n2' })];
    const heal = action({ kind: 'heal' }, 10);
    const o = observation({ status, actions: [heal], events: [event(20, { type: 'higher-term-ignored', node: 'n1', term: 1, seen: 2, from: 'n2' })] });
    const result = check(splitBrain, 3, o);
    expect(result).toMatchObject({ passed: true, facts: { ignoredTerm: 2, thirdReplica: 'n3' } });
    expect(result.detail).toContain("n3 follows n2 in term 2 and rejects n1's appends, which carry the lower term 1");
    expect(check(splitBrain, 3, { ...o, actions: [] }).passed).toBe(false);
  });

  it('promote a standby: passes with two leaders in different terms, not with one', () => {
    const two = [nodeStatus('n1', { role: 'leader', term: 1 }), nodeStatus('n2', { role: 'leader', term: 2 }), nodeStatus('n3', { term: 2 })];
    expect(check(splitBrain, 1, observation({ status: two }))).toMatchObject({ passed: true, facts: { newPrimary: 'n2', newTerm: 2 } });
    expect(check(splitBrain, 1, observation()).passed).toBe(false);
  });

  it('compare the replicas: the same query answered differently on two nodes passes; the same answer does not', () => {
    const q = (node: string, v: string) =>
      action({ kind: 'query', sql: "SELECT k, v FROM kv WHERE k = 'owner'", params: [], node, consistency: 'local', minIndex: null, endMono: 1_030, outcome: { ok: true, node, index: 50, columns: ['k', 'v'], rows: [{ k: 'owner', v }], latencyMs: 1 } }, 20);
    expect(check(splitBrain, 4, observation({ actions: [q('n1', 'alice'), q('n2', 'bob')] }))).toMatchObject({ passed: true, facts: { divergentKey: 'owner' } });
    expect(check(splitBrain, 4, observation({ actions: [q('n1', 'bob'), q('n2', 'bob')] })).passed).toBe(false);
  });
});

describe('lag-anomalies', () => {
  const reads = (from: number, count: number, node = 'n3') => Array.from({ length: count }, (_, i) => read(`k${i % 3}`, node, 100, from + i * 2, `c${i}.2`)).flat();

  it('fix read-your-writes: passes with sessions on, the follower still slow and clean reads; fails with sessions off or a violation', () => {
    const links = slow('n1', 'n3', 800, -3_000);
    const on = workloadRecord(1_100, { sessions: 'read-your-writes', stickyReads: false });
    const o = observation({ actions: links, history: [on, ...reads(1_200, 40)] });
    expect(check(lagAnomalies, 1, o).passed).toBe(true);
    expect(check(lagAnomalies, 1, { ...o, history: [workloadRecord(1_100, { sessions: 'none' }), ...reads(1_200, 40)] }).passed).toBe(false);
    const violation = [...ackedWrite('k0', 150, 1_150, 'n1', 'c9.2'), ...read('k0', 'n3', 120, 1_160, 'c9.2')];
    expect(check(lagAnomalies, 1, { ...o, history: [on, ...violation, ...reads(1_200, 40)] }).passed).toBe(false);
    expect(check(lagAnomalies, 1, { ...o, actions: [...links, action({ kind: 'heal' }, 5)] }).passed).toBe(false);
  });
});

describe('ack-levels', () => {
  it('quorum with a slow follower: passes once a follower read is stale, not while none is', () => {
    const mode = action({ kind: 'replication', change: { mode: 'quorum' }, error: null }, 10);
    const links = slow('n1', 'n3', 200, 20);
    const stale = [...ackedWrite('k1', 140, 1_100), ...read('k1', 'n3', 120, 1_110)];
    const o = observation({ actions: [mode, ...links], replication: replication({ mode: 'quorum', ackLevel: 'applied' }), history: stale });
    expect(check(ackLevels, 3, o)).toMatchObject({ passed: true, facts: { quorumFollower: 'n3', quorumStale: 1 } });
    expect(check(ackLevels, 3, { ...o, history: [...ackedWrite('k1', 140, 1_100), ...read('k1', 'n3', 140, 1_110)] }).passed).toBe(false);
    expect(check(ackLevels, 3, { ...o, replication: replication({ mode: 'quorum', ackLevel: 'flushed' }) }).passed).toBe(false);
  });
});

describe('debriefs', () => {
  it.each([firstSteps, asyncLostWrites, syncCost, quorumCommit, raftElection, partition, splitBrain, lagAnomalies, ackLevels].map((lab) => [lab.id, lab] as const))(
    '%s writes no "undefined" when nothing was measured',
    (_, lab) => {
      const lines = lab.debrief({}, { stepsPassed: 0, steps: lab.steps.length, elapsedMs: 0, writesAcknowledged: 0, lostWrites: 0 });
      expect(lines.join('\n')).not.toMatch(/undefined|NaN/);
    },
  );
});
