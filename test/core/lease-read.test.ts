// Lease reads (etcd's ReadOnlyLeaseBased, Raft thesis §6.4.1): served by the
// leader without a round trip while a majority answered its heartbeats within
// the election timeout minimum; and how a slow clock on the leader breaks them.

import { describe, expect, it } from 'vitest';
import { Network } from './harness.js';

/** n1 leads with a write committed, and a first lease read (a ReadIndex one) has started its lease. */
function leaderWithLease(options: ConstructorParameters<typeof Network>[0] = {}): Network {
  const net = new Network(options);
  net.elect('n1');
  net.propose('n1', 'w1');
  net.stabilize();
  net.core('n1').leaseRead(100);
  net.stabilize();
  net.tick('n1', 2); // a heartbeat round the followers answer
  return net;
}

describe('lease reads', () => {
  it('counts only the voters in force: learners answering heartbeats hold no lease for a cut-off leader', () => {
    // n1, n2 and two learners on one side; n3, n4, n5 (a majority of the five voters) on the other.
    const net = new Network({ size: 5 });
    net.elect('n1');
    for (const id of ['n6', 'n7']) {
      net.addNode(id);
      net.confChange('n1', { type: 'add-learner', node: id });
      net.stabilize();
    }
    expect(net.core('n1').status().membership.learners).toEqual(['n6', 'n7']);
    net.core('n1').leaseRead(100);
    net.stabilize();
    net.tick('n1', 2);
    expect(net.core('n1').hasLease()).toBe(true);
    net.partition(['n1', 'n2', 'n6', 'n7'], ['n3', 'n4', 'n5']);
    net.tick('n1', 9); // past the lease: only n2 (a voter) and the learners answered since the cut
    expect(net.core('n1').hasLease()).toBe(false);
  });

  it('the first lease read of a term goes through ReadIndex; later ones are served on the lease without a message', () => {
    const net = leaderWithLease();
    expect(net.host('n1').reads[0]).toEqual({ id: 100, ok: true, index: 2 });
    expect(net.core('n1').hasLease()).toBe(true);
    const sentBefore = net.sent.length;
    net.core('n1').leaseRead(101);
    net.processAll();
    expect(net.host('n1').reads[1]).toEqual({ id: 101, ok: true, index: 2, lease: true });
    expect(net.sent.length).toBe(sentBefore);
  });

  it('the lease lapses a tick before the election timeout minimum when no majority answers', () => {
    const net = leaderWithLease();
    net.isolate('n1');
    net.tick('n1', 8);
    expect(net.core('n1').hasLease()).toBe(true);
    net.tick('n1', 1);
    expect(net.core('n1').hasLease()).toBe(false);
    net.core('n1').leaseRead(102);
    net.processAll();
    expect(net.host('n1').reads).toHaveLength(1); // waits for a ReadIndex round it cannot get
  });

  it('needs CheckQuorum: without it a lease read is always a ReadIndex read', () => {
    const net = leaderWithLease({ config: { checkQuorum: false } });
    expect(net.core('n1').hasLease()).toBe(false);
    net.core('n1').leaseRead(101);
    net.stabilize();
    expect(net.host('n1').reads[1]).toEqual({ id: 101, ok: true, index: 2 });
  });

  it('a leadership transfer ends lease reads for the term; a host that saw its node stop drops the lease', () => {
    const net = leaderWithLease();
    net.core('n1').dropLease();
    expect(net.core('n1').hasLease()).toBe(false);
    net.tick('n1', 2);
    expect(net.core('n1').hasLease()).toBe(true);
    net.isolate('n3');
    net.core('n1').transferLeadership('n3');
    expect(net.core('n1').hasLease()).toBe(false);
  });

  it('with a slow clock the cut-off leader keeps its lease after a new leader commits: the lease read is stale, ReadIndex is not served', () => {
    const net = leaderWithLease();
    net.isolate('n1');
    // n1's clock runs slow: it ticks once while n2 and n3 tick 25 times, elect n2 and commit a write.
    net.tick(['n2', 'n3'], 25);
    expect(net.leaders().sort()).toEqual(['n1', 'n2']);
    net.propose('n2', 'w2');
    net.stabilize();
    const committed = net.core('n2').status().commitIndex;
    net.tick('n1', 1);
    expect(net.core('n1').hasLease()).toBe(true);
    net.core('n1').leaseRead(103);
    net.core('n1').readIndex(104);
    net.processAll();
    const served = net.host('n1').reads.find((r) => r.id === 103);
    expect(served).toEqual({ id: 103, ok: true, index: 2, lease: true });
    expect(committed).toBeGreaterThan(2);
    expect(net.host('n1').reads.some((r) => r.id === 104)).toBe(false);
  });
});
