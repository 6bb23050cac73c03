// The stale-leader lab's checks on hand-built snapshots: each passes on the
// outcome it names and not on a near miss (a lease read that fell back to
// ReadIndex, a read before the write was acknowledged, a ReadIndex read that
// never failed).

import { describe, expect, it } from 'vitest';
import { staleLeader } from '../../labs/catalog/stale-leader.js';
import type { Observation } from '../../labs/types.js';
import { action, baseline, event, nodeStatus, observation } from './snapshot.js';

const check = (step: number, o: Observation) => staleLeader.steps[step]!.check(o, baseline());
const readSql = "SELECT v FROM kv WHERE k = 'color'";
// n3 leads term 1, cut off; n1 leads term 2.
const twoLeaders = [nodeStatus('n1', { role: 'leader', term: 2, leader: 'n1' }), nodeStatus('n2', { term: 2, leader: 'n1' }), nodeStatus('n3', { role: 'leader', term: 1, leader: 'n3' })];
const cut = action({ kind: 'partition', groups: [['n3'], ['n1', 'n2']] }, 10, 'n3');
const green = (atMs: number) =>
  action({ kind: 'execute', sql: "INSERT OR REPLACE INTO kv(k, v) VALUES ('color', 'green')", params: [], node: 'n1', endMono: 1_000 + atMs + 2, outcome: { ok: true, index: 5, term: 2, leader: 'n1', latencyMs: 2 } }, atMs);
const leaseRead = (atMs: number, onLease: boolean, value = 'yellow') =>
  action(
    {
      kind: 'query',
      sql: readSql,
      params: [],
      node: 'n3',
      consistency: 'lease',
      minIndex: null,
      endMono: 1_000 + atMs + 1,
      outcome: { ok: true, node: 'n3', index: 3, columns: ['v'], rows: [{ v: value }], latencyMs: 1, ...(onLease ? { lease: true as const } : {}) },
    },
    atMs,
  );
const readIndexFailed = (atMs: number) =>
  action({ kind: 'query', sql: readSql, params: [], node: 'n3', consistency: 'linearizable', minIndex: null, endMono: 1_000 + atMs + 1500, outcome: { ok: false, error: { kind: 'timeout', message: 'timed out', leader: null } } }, atMs);

describe('stale-leader', () => {
  it('cut the leader off: two leaders in different terms pass; the cut-off leader alone does not', () => {
    const elected = event(1_500, { type: 'leader-elected', node: 'n1', term: 2, votes: ['n1', 'n2'], electionTicks: 150 });
    expect(check(0, observation({ status: twoLeaders, actions: [cut], events: [elected] }))).toMatchObject({ passed: true, facts: { oldLeader: 'n3', oldTerm: 1, newLeader: 'n1', newTerm: 2 } });
    const alone = [nodeStatus('n1', { term: 1, leader: null }), nodeStatus('n2', { term: 1, leader: null }), nodeStatus('n3', { role: 'leader', term: 1 })];
    expect(check(0, observation({ status: alone, actions: [cut] })).passed).toBe(false);
  });

  it('the stale lease read: passes on a lease-served read after the newer term acknowledged green and a failed ReadIndex read; not on a fallback, a read before the write, or without the ReadIndex read', () => {
    const passed = check(6, observation({ status: twoLeaders, actions: [cut, green(100), leaseRead(200, true), readIndexFailed(300)] }));
    expect(passed).toMatchObject({ passed: true, facts: { leaseFresh: 'green', leaseStale: 'yellow', leaseReadIndexKind: 'timeout' } });
    expect(check(6, observation({ status: twoLeaders, actions: [cut, green(100), leaseRead(200, false), readIndexFailed(300)] })).passed).toBe(false);
    expect(check(6, observation({ status: twoLeaders, actions: [cut, leaseRead(50, true), green(100), readIndexFailed(300)] })).passed).toBe(false);
    expect(check(6, observation({ status: twoLeaders, actions: [cut, green(100), leaseRead(200, true)] })).passed).toBe(false);
    expect(check(6, observation({ status: twoLeaders, actions: [cut, green(100), leaseRead(200, true, 'green'), readIndexFailed(300)] })).passed).toBe(false);
  });

  it('lease reads: a read served on the lease passes; a lease read that went through ReadIndex does not', () => {
    const onLease = (lease: boolean) =>
      observation({ actions: [action({ kind: 'query', sql: readSql, params: [], node: 'n1', consistency: 'lease', minIndex: null, endMono: 1_011, outcome: { ok: true, node: 'n1', index: 3, columns: ['v'], rows: [], latencyMs: 1, ...(lease ? { lease: true as const } : {}) } })] });
    expect(check(4, onLease(true))).toMatchObject({ passed: true, facts: { leaseMs: 1 } });
    expect(check(4, onLease(false)).passed).toBe(false);
  });
});

describe('stale-leader texts name the current leader', () => {
  const text = (step: number, o: Observation): string => {
    const instruction = staleLeader.steps[step]!.instruction;
    return typeof instruction === 'string' ? instruction : instruction(o, baseline(o));
  };
  const leading = (id: string) => observation({ leader: id, status: ['n1', 'n2', 'n3'].map((n) => nodeStatus(n, n === id ? { role: 'leader', leader: id } : { leader: id })) });
  const none = observation({ leader: null, status: ['n1', 'n2', 'n3'].map((n) => nodeStatus(n, { leader: null })) });

  it('names the node that leads, and with none says to wait for one instead of naming n1', () => {
    expect(text(0, leading('n2'))).toContain('then cut the leader off: :isolate n2.');
    expect(text(0, none)).toContain('then cut the leader off: wait until a leader is elected (the header says NO LEADER now), then :isolate <it>.');
    expect(text(0, none)).not.toMatch(/:isolate n\d/);
    const freshCluster = staleLeader.steps.findIndex((step) => step.freshCluster !== undefined);
    expect(text(freshCluster, leading('n3'))).toContain(':isolate n3');
    expect(text(freshCluster, none)).toContain('wait until a leader is elected');
    expect(check(0, none).detail).toBe('the leader has not been cut off yet (wait until a leader is elected (the header says NO LEADER now), then :isolate <it>)');
  });

  it('the lease and clock steps say to wait for a leader when there is none', () => {
    const lease = staleLeader.steps.findIndex((step) => step.title.startsWith('Heal, then read'));
    const clock = staleLeader.steps.findIndex((step) => step.title.startsWith('Slow the leader'));
    expect(text(lease, leading('n2'))).toContain(':read n2 lease');
    expect(text(lease, none)).toContain('once a leader is elected (the header says NO LEADER now), on the leader: :read <leader> lease');
    expect(text(clock, leading('n1'))).toMatch(/^:clock n1 0\.1 — n1's timers/);
    expect(text(clock, none)).toMatch(/^There is no leader right now \(the header says NO LEADER\): wait until one is elected, then :clock <leader> 0\.1 — its timers/);
  });
});
