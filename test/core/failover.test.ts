// Failover (DESIGN.md "Failover"): rollback of acknowledged async writes,
// manual promotion, and fencing by term.

import { describe, expect, it } from 'vitest';
import { Network, shape } from './harness.js';

describe('rollback', () => {
  it('an async write acknowledged by an isolated leader is rolled back when it rejoins a new leader', () => {
    const net = new Network({ replication: { mode: 'async' } });
    net.elect('n1');
    net.isolate('n1');
    const write = net.propose('n1', 'lost');
    net.stabilize();
    expect(net.ack('n1', write.id)).toEqual({ id: write.id, ok: true, index: 2, term: 1 });
    net.tick(['n2', 'n3'], 40);
    const [leader] = net.leaders().filter((id) => id !== 'n1');
    expect(leader).toBeDefined();
    net.recover();
    net.tick(net.ids, 4);
    expect(net.core('n1').status()).toMatchObject({ role: 'follower', leader });
    const rollbacks = net.host('n1').readies.filter((r) => r.rollback.length > 0);
    expect(rollbacks.map((r) => r.rollback.map((e) => e.data))).toEqual([['lost']]);
    expect(net.events('entries-rolled-back', 'n1')).toEqual([{ type: 'entries-rolled-back', node: 'n1', fromIndex: 2, toIndex: 2, leader }]);
    expect(net.host('n1').applied.map((e) => e.data)).not.toContain('lost');
    for (const id of net.ids) expect(shape(net.host(id).log), id).toBe('1:1 2:2');
  });

  it('a quorum write never acknowledged by an isolated leader is answered leadership-lost and truncated', () => {
    const net = new Network();
    net.elect('n1');
    net.isolate('n1');
    const write = net.propose('n1', 'never-acked');
    net.tick(['n2', 'n3'], 40);
    const [leader] = net.leaders().filter((id) => id !== 'n1');
    net.recover();
    net.tick(net.ids, 4);
    // The client may retry at the leader named: the write's fate is unknown to n1.
    expect(net.ack('n1', write.id)).toEqual({ id: write.id, ok: false, error: 'leadership-lost', leader, index: 2, indeterminate: true });
    // While n1 led, the write stayed invisible; afterwards the new leader's log has no room for it.
    const steppedDownAt = net.host('n1').readies.findIndex((r) => r.events.some((e) => e.type === 'stepped-down'));
    const appliedAt = net.host('n1').readies.findIndex((r) => r.apply.some((e) => e.data === 'never-acked'));
    expect(steppedDownAt).toBeGreaterThan(0);
    expect(appliedAt === -1 || appliedAt >= steppedDownAt).toBe(true);
    expect(net.host('n1').log.map((e) => e.data)).not.toContain('never-acked');
    expect(net.host('n1').applied.map((e) => e.data)).not.toContain('never-acked');
  });
});

describe('promote under Raft failover', () => {
  it('starts an election at once, which a node whose log is behind still loses', () => {
    const net = new Network();
    net.elect('n1');
    net.cut('n1', 'n3');
    net.propose('n1', 'w');
    net.stabilize();
    net.recover();
    net.core('n3').promote();
    net.stabilize();
    expect(net.events('election-started', 'n3')).toEqual([{ type: 'election-started', node: 'n3', term: 2, pre: false, transfer: true }]);
    expect(net.events('vote-denied').filter((e) => e.candidate === 'n3').map((e) => [e.node, e.reason])).toEqual([
      ['n1', 'log-behind'],
      ['n2', 'log-behind'],
    ]);
    expect(net.core('n3').status().role).not.toBe('leader');
  });
});

describe('manual failover', () => {
  function manual(fencing: boolean): Network {
    const net = new Network({ config: { failover: 'manual', fencing }, replication: { mode: 'async' } });
    net.core('n1').promote();
    net.stabilize();
    net.propose('n1', 'a');
    net.stabilize();
    net.cut('n1', 'n3'); // n3 falls behind
    net.propose('n1', 'b');
    net.tick('n1', 2); // n2 learns that b committed
    net.isolate('n1'); // and the leader "dies"
    return net;
  }

  it('runs no elections after the leader dies', () => {
    const net = manual(true);
    net.tick(net.ids, 200);
    expect(net.events('election-started')).toEqual([]);
    expect(net.leaders()).toEqual(['n1']);
    expect(net.core('n2').status()).toMatchObject({ role: 'follower', term: 1 });
    expect(net.propose('n2', 'x')).toMatchObject({ ok: false, error: 'not-leader', leader: 'n1' });
  });

  it('promote makes a node leader at a higher term even if it is behind', () => {
    const net = manual(true);
    expect(net.core('n3').status().lastIndex).toBe(2);
    expect(net.core('n2').status()).toMatchObject({ lastIndex: 3, commitIndex: 3 });
    net.core('n3').promote();
    net.stabilize();
    expect(net.events('promoted')).toEqual([
      { type: 'promoted', node: 'n1', term: 1, lastIndex: 0 },
      { type: 'promoted', node: 'n3', term: 2, lastIndex: 2 },
    ]);
    expect(net.core('n3').status()).toMatchObject({ role: 'leader', term: 2 });
    // n2 had seen 'b' committed; the promoted node's log wins and says so.
    expect(net.events('committed-entries-lost', 'n2')).toEqual([{ type: 'committed-entries-lost', node: 'n2', fromIndex: 3, commitIndex: 3 }]);
    expect(net.host('n2').rolledBack.map((e) => e.data)).toEqual(['b']);
    expect(shape(net.host('n2').log)).toBe('1:1 2:1 3:2');
  });

  it('with fencing the old leader steps down on seeing the higher term', () => {
    const net = manual(true);
    net.core('n3').promote();
    net.stabilize();
    net.recover();
    net.tick(['n1', 'n3'], 4);
    expect(net.events('stepped-down', 'n1')).toEqual([{ type: 'stepped-down', node: 'n1', term: 2, reason: 'higher-term' }]);
    expect(net.leaders()).toEqual(['n3']);
    expect(net.host('n1').rolledBack.map((e) => e.data)).toEqual(['b']);
    for (const id of net.ids) expect(shape(net.host(id).log), id).toBe('1:1 2:1 3:2');
  });

  it('with fencing off the old leader keeps leading and reports the term it ignored (split brain)', () => {
    const net = manual(false);
    net.core('n3').promote();
    net.stabilize();
    net.recover();
    net.tick(['n1', 'n3'], 4);
    expect(net.leaders()).toEqual(['n1', 'n3']);
    const ignored = net.events('higher-term-ignored', 'n1');
    expect(ignored).toHaveLength(1);
    expect(ignored[0]).toMatchObject({ node: 'n1', term: 1, seen: 2 });
    // Both sides take writes: the replicas diverge.
    expect(net.propose('n1', 'old-side')).toMatchObject({ ok: true, term: 1 });
    expect(net.propose('n3', 'new-side')).toMatchObject({ ok: true, term: 2 });
    net.tick(['n1', 'n3'], 4);
    expect(net.host('n1').applied.map((e) => e.data)).toContain('old-side');
    expect(net.host('n3').applied.map((e) => e.data)).toContain('new-side');
    expect(net.host('n1').applied.map((e) => e.data)).not.toContain('new-side');
  });
});
