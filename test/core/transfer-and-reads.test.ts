// Leadership transfer (Raft thesis §3.10, etcd MsgTransferLeader) and
// ReadIndex reads (Raft thesis §6.4).

import { describe, expect, it } from 'vitest';
import { Network } from './harness.js';

describe('leadership transfer', () => {
  it('the target becomes leader at the next term', () => {
    const net = new Network();
    net.elect('n1');
    expect(net.core('n1').transferLeadership('n3')).toBeNull();
    net.stabilize();
    expect(net.leaders()).toEqual(['n3']);
    expect(net.core('n3').status().term).toBe(2);
    expect(net.events('transfer-started', 'n1')).toEqual([{ type: 'transfer-started', node: 'n1', target: 'n3', term: 1 }]);
    expect(net.events('election-started', 'n3')).toEqual([{ type: 'election-started', node: 'n3', term: 2, pre: false, transfer: true }]);
    // The voters heard from n1 a moment ago, yet the transfer bypasses their lease.
    expect(net.events('vote-denied')).toEqual([]);
  });

  it('the leader brings a lagging target up to date before it hands over', () => {
    const net = new Network();
    net.elect('n1');
    net.cut('n1', 'n3');
    net.propose('n1', 'w');
    net.stabilize();
    net.core('n1').transferLeadership('n3');
    net.stabilize();
    expect(net.leaders()).toEqual(['n1']); // no TimeoutNow while n3 lacks the write
    net.recover();
    // The lost append is noticed after two quiet heartbeat intervals; n3 then catches up and times out.
    net.tick('n1', 8);
    expect(net.leaders()).toEqual(['n3']);
    expect(net.events('transfer-aborted')).toEqual([]);
    expect(net.host('n3').log.map((e) => e.data)).toContain('w');
  });

  it('proposals during a transfer are refused with transfer-in-progress', () => {
    const net = new Network();
    net.elect('n1');
    net.cut('n1', 'n3');
    net.propose('n1', 'w');
    net.stabilize();
    net.core('n1').transferLeadership('n3');
    const refused = net.propose('n1', 'during');
    expect(refused).toMatchObject({ ok: false, error: 'transfer-in-progress', leader: 'n1' });
    expect(net.core('n1').transferLeadership('n2')).toBe('transfer-in-progress');
  });

  it('a transfer aborts after an election timeout if the target is unreachable', () => {
    const net = new Network();
    net.elect('n1');
    net.cut('n1', 'n3');
    net.propose('n1', 'w');
    net.stabilize();
    net.core('n1').transferLeadership('n3');
    net.tick('n1', 9);
    expect(net.core('n1').status().transferTarget).toBe('n3');
    net.tick('n1', 1); // the election timeout's minimum, 10 ticks
    expect(net.events('transfer-aborted', 'n1')).toEqual([{ type: 'transfer-aborted', node: 'n1', target: 'n3', term: 1 }]);
    expect(net.core('n1').status()).toMatchObject({ role: 'leader', transferTarget: null });
    expect(net.propose('n1', 'after')).toMatchObject({ ok: true });
  });

  it('refuses an unknown target and answers not-leader on a follower', () => {
    const net = new Network();
    net.elect('n1');
    expect(net.core('n1').transferLeadership('n9')).toBe('unknown-node');
    expect(net.core('n2').transferLeadership('n3')).toBe('not-leader');
  });
});

describe('ReadIndex', () => {
  it('a read on the leader is answered only after a heartbeat round confirms a majority', () => {
    const net = new Network({ size: 5 });
    net.elect('n1');
    net.propose('n1', 'w');
    net.stabilize();
    const commit = net.core('n1').status().commitIndex;
    net.core('n1').readIndex(7);
    net.processAll();
    const heartbeats = net.pending().filter((m) => m.type === 'heartbeat');
    expect(heartbeats).toHaveLength(4);
    expect(heartbeats.every((m) => m.type === 'heartbeat' && m.context > 0)).toBe(true);
    net.deliver((m) => m.type === 'heartbeat');
    expect(net.host('n1').reads).toEqual([]);
    expect(net.deliver((m) => m.type === 'heartbeat-resp' && m.from === 'n2')).toBe(1);
    expect(net.host('n1').reads).toEqual([]); // n1 and n2: two of five
    net.deliver((m) => m.type === 'heartbeat-resp' && m.from === 'n3');
    expect(net.host('n1').reads).toEqual([{ id: 7, ok: true, index: commit }]);
  });

  it('a partitioned leader never answers a read', () => {
    const net = new Network({ config: { checkQuorum: false } });
    net.elect('n1');
    net.isolate('n1');
    net.core('n1').readIndex(1);
    net.tick('n1', 100);
    expect(net.host('n1').reads).toEqual([]);
    expect(net.core('n1').status().role).toBe('leader');
  });

  it('with CheckQuorum a partitioned leader fails the read when it steps down', () => {
    const net = new Network();
    net.elect('n1');
    net.isolate('n1');
    net.core('n1').readIndex(1);
    net.tick('n1', 20);
    expect(net.host('n1').reads).toEqual([{ id: 1, ok: false, error: 'leadership-lost', leader: null }]);
  });

  it('a new leader answers reads only once an entry of its own term has committed', () => {
    const net = new Network();
    net.drop = (m) => m.type === 'append';
    net.elect('n1');
    expect(net.core('n1').status().commitIndex).toBe(0);
    net.core('n1').readIndex(3);
    net.stabilize();
    expect(net.sent.some((m) => m.type === 'heartbeat' && m.context > 0)).toBe(false);
    net.recover();
    net.tick('n1', 2); // heartbeat answers free the probes; the no-op commits; then the read round
    expect(net.core('n1').status().commitIndex).toBe(1);
    expect(net.host('n1').reads).toEqual([{ id: 3, ok: true, index: 1 }]);
  });

  it('a follower answers not-leader naming the leader', () => {
    const net = new Network();
    net.elect('n1');
    net.core('n2').readIndex(5);
    net.processAll();
    expect(net.host('n2').reads).toEqual([{ id: 5, ok: false, error: 'not-leader', leader: 'n1' }]);
  });
});
