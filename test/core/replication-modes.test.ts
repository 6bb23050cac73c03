// Replication modes (DESIGN.md "Replication modes"): when the client hears
// "done", which follower progress counts, and when the leader makes a write visible.

import { describe, expect, it } from 'vitest';
import { CoreConfigError } from '../../cluster/core/index.js';
import { Network, type NetworkOptions } from './harness.js';

/** A 3-node cluster led by n1, every follower caught up and flushed. */
function cluster(options: NetworkOptions): Network {
  const net = new Network(options);
  net.elect('n1');
  for (const id of net.ids) net.flush(id);
  net.stabilize();
  return net;
}

function appliedData(net: Network, id: string): string[] {
  return net.host(id).applied.map((e) => e.data);
}

describe('async', () => {
  it("acknowledges at the leader's local flush, even with every follower cut off", () => {
    const net = cluster({ replication: { mode: 'async' }, manualFlush: ['n1'] });
    net.isolate('n1');
    const write = net.propose('n1', 'w');
    net.stabilize();
    expect(net.ack('n1', write.id)).toBeUndefined(); // not yet on n1's own disk
    expect(appliedData(net, 'n1')).not.toContain('w');
    net.flush('n1');
    net.stabilize();
    expect(net.ack('n1', write.id)).toEqual({ id: write.id, ok: true, index: 2, term: 1 });
    expect(appliedData(net, 'n1')).toContain('w'); // visible at local flush
    expect(net.core('n1').status().commitIndex).toBe(1); // Raft has not committed it
  });
});

describe('every mode', () => {
  it.each(['async', 'sync'] as const)('in %s mode nothing is acknowledged before the leader has flushed it itself', (mode) => {
    const net = cluster({ replication: { mode }, manualFlush: ['n1'] });
    const write = net.propose('n1', 'w');
    net.stabilize();
    // Both followers flushed it, so Raft has committed it, but the leader's own fsync is pending.
    expect(net.core('n1').status().progress.map((p) => p.flushed)).toEqual([2, 2]);
    expect(net.core('n1').status().commitIndex).toBe(2);
    expect(net.ack('n1', write.id)).toBeUndefined();
    expect(appliedData(net, 'n1')).not.toContain('w');
    net.flush('n1');
    net.stabilize();
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true, index: 2 });
    expect(appliedData(net, 'n1')).toContain('w');
  });
});

describe('quorum', () => {
  it('counts the leader as one member: two followers that flushed acknowledge while the leader still fsyncs', () => {
    const net = cluster({ replication: { mode: 'quorum', ackLevel: 'flushed' }, manualFlush: ['n1'] });
    const write = net.propose('n1', 'w');
    net.stabilize();
    expect(net.core('n1').status().stableIndex).toBe(1);
    expect(net.core('n1').status().commitIndex).toBe(2);
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true, index: 2 });
    expect(appliedData(net, 'n1')).toContain('w');
  });

  it('does not count a leader that has not flushed when only one follower has', () => {
    const net = cluster({ replication: { mode: 'quorum', ackLevel: 'flushed' }, manualFlush: ['n1', 'n3'] });
    const write = net.propose('n1', 'w');
    net.stabilize();
    expect(net.ack('n1', write.id)).toBeUndefined();
    net.flush('n1');
    net.stabilize();
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true, index: 2 });
  });

  it('acknowledges only once a quorum of nodes, the leader included, has reached the ack level', () => {
    const net = cluster({ replication: { mode: 'quorum', ackLevel: 'flushed' }, manualFlush: ['n2', 'n3'] });
    const write = net.propose('n1', 'w');
    net.stabilize();
    const progress = net.core('n1').status().progress;
    expect(progress.map((p) => [p.id, p.received, p.flushed])).toEqual([
      ['n2', 2, 1],
      ['n3', 2, 1],
    ]);
    expect(net.ack('n1', write.id)).toBeUndefined();
    net.flush('n2');
    net.stabilize();
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true, index: 2 });
  });

  it('with quorum 3 of 3 it waits for the last follower although Raft has committed', () => {
    const net = cluster({ replication: { mode: 'quorum', quorum: 3 } });
    net.cut('n1', 'n3');
    const write = net.propose('n1', 'w');
    net.tick('n1', 10);
    expect(net.core('n1').status().commitIndex).toBe(2);
    expect(net.ack('n1', write.id)).toBeUndefined();
    net.recover();
    net.tick('n1', 8);
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true, index: 2 });
  });
});

describe('sync', () => {
  it('waits for every follower in the sync set', () => {
    const net = cluster({ replication: { mode: 'sync' } });
    net.cut('n1', 'n3');
    const write = net.propose('n1', 'w');
    net.tick('n1', 10);
    expect(net.ack('n1', write.id)).toBeUndefined();
    expect(net.core('n1').status().progress.find((p) => p.id === 'n2')?.flushed).toBe(2);
  });

  it('waits only for the named standbys', () => {
    const net = cluster({ replication: { mode: 'sync', syncStandbys: ['n2'] } });
    net.cut('n1', 'n3');
    const write = net.propose('n1', 'w');
    net.stabilize();
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true, index: 2 });
  });
});

describe('ack levels', () => {
  it('a follower that has received but not flushed counts for received, not for flushed; applied comes last', () => {
    const net = cluster({ replication: { mode: 'sync', syncStandbys: ['n2'] }, manualFlush: ['n2'] });
    const received = net.propose('n1', 'r', { ackLevel: 'received' });
    const flushed = net.propose('n1', 'f', { ackLevel: 'flushed' });
    const applied = net.propose('n1', 'a', { ackLevel: 'applied' });
    net.stabilize();
    expect(net.host('n1').acks.map((a) => a.id)).toEqual([received.id]);
    // n2's write reaches its disk; it answers a heartbeat before it has applied what it flushed.
    net.flush('n2');
    net.core('n1').tick();
    net.core('n1').tick();
    net.process('n1');
    net.deliver((m) => m.type === 'heartbeat' && m.to === 'n2');
    net.deliver((m) => m.type === 'heartbeat-resp' && m.from === 'n2');
    expect(net.host('n1').acks.map((a) => a.id)).toEqual([received.id, flushed.id]);
    expect(net.core('n1').status().progress.find((p) => p.id === 'n2')).toMatchObject({ received: 4, flushed: 4, applied: 1 });
    net.stabilize();
    expect(net.host('n1').acks.map((a) => a.id)).toEqual([received.id, flushed.id, applied.id]);
    expect(appliedData(net, 'n2')).toEqual(['', 'r', 'f', 'a']);
  });
});

describe('per-write override and live changes', () => {
  it('a single write may override the mode', () => {
    const net = cluster({ replication: { mode: 'sync' } });
    net.cut('n1', 'n3');
    const asyncWrite = net.propose('n1', 'fast', { mode: 'async' });
    net.stabilize();
    expect(net.ack('n1', asyncWrite.id)).toMatchObject({ ok: true, index: 2 });
    const syncWrite = net.propose('n1', 'slow');
    net.tick('n1', 10);
    expect(net.ack('n1', syncWrite.id)).toBeUndefined();
  });

  it('a single write may ask for more than the cluster does', () => {
    const net = cluster({ replication: { mode: 'async' } });
    net.cut('n1', 'n3');
    const write = net.propose('n1', 'all-three', { mode: 'quorum', quorum: 3 });
    net.tick('n1', 10);
    expect(net.ack('n1', write.id)).toBeUndefined();
    expect(appliedData(net, 'n1')).not.toContain('all-three');
  });

  it('setReplication changes the mode live and releases a blocked write when switching to async', () => {
    const net = cluster({ replication: { mode: 'sync' } });
    net.cut('n1', 'n3');
    const write = net.propose('n1', 'w');
    net.tick('n1', 4);
    expect(net.ack('n1', write.id)).toBeUndefined();
    expect(net.core('n1').setReplication({ mode: 'async' })).toBeNull();
    net.stabilize();
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true, index: 2 });
    expect(net.events('replication-changed', 'n1')).toHaveLength(1);
  });

  it('refuses a setting it cannot honour, with a reason a person can act on', () => {
    const net = cluster({});
    expect(net.core('n1').setReplication({ quorum: 4 })).toMatch(/quorum must be a whole number from 1 to 3/);
    expect(net.core('n1').setReplication({ syncStandbys: ['n9'] })).toMatch(/unknown nodes: n9/);
    expect(() => net.propose('n1', 'w', { quorum: 0 })).toThrow(CoreConfigError);
    expect(net.core('n1').status().replication.quorum).toBeNull();
  });
});

describe('sync timeout', () => {
  it("with syncFallback 'async' a write that waits too long degrades the cluster, is acked, and sync is restored once the follower catches up", () => {
    const net = cluster({ replication: { mode: 'sync', syncTimeoutTicks: 5, syncFallback: 'async' } });
    net.cut('n1', 'n3');
    const write = net.propose('n1', 'w');
    net.tick('n1', 4);
    expect(net.ack('n1', write.id)).toBeUndefined();
    net.tick('n1', 1);
    expect(net.events('sync-degraded', 'n1')).toEqual([{ type: 'sync-degraded', node: 'n1', index: 2, waitedTicks: 5, lagging: ['n3'] }]);
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true, index: 2 });
    expect(net.core('n1').status().degraded).toBe(true);
    const whileDegraded = net.propose('n1', 'w2');
    net.stabilize();
    expect(net.ack('n1', whileDegraded.id)).toMatchObject({ ok: true, index: 3 });
    net.recover();
    net.tick('n1', 12);
    expect(net.events('sync-restored', 'n1')).toHaveLength(1);
    expect(net.core('n1').status().degraded).toBe(false);
    // Sync again: the next write waits for n3.
    net.cut('n1', 'n3');
    const afterRestore = net.propose('n1', 'w3');
    net.tick('n1', 4);
    expect(net.ack('n1', afterRestore.id)).toBeUndefined();
  });

  it("with syncFallback 'block' it reports the wait once and keeps waiting", () => {
    const net = cluster({ replication: { mode: 'sync', syncTimeoutTicks: 5, syncFallback: 'block' } });
    net.cut('n1', 'n3');
    const write = net.propose('n1', 'w');
    net.tick('n1', 50);
    expect(net.events('sync-waiting', 'n1')).toEqual([{ type: 'sync-waiting', node: 'n1', index: 2, waitedTicks: 5, lagging: ['n3'] }]);
    expect(net.events('sync-degraded')).toEqual([]);
    expect(net.ack('n1', write.id)).toBeUndefined();
    net.recover();
    net.tick('n1', 8);
    expect(net.ack('n1', write.id)).toMatchObject({ ok: true, index: 2 });
  });
});

describe('visibility', () => {
  it.each(['sync', 'quorum'] as const)('in %s mode the leader does not apply a write before it is acknowledged', (mode) => {
    const net = cluster({ replication: { mode, quorum: mode === 'quorum' ? 3 : null } });
    net.cut('n1', 'n3');
    const write = net.propose('n1', 'w');
    net.tick('n1', 10);
    expect(net.core('n1').status()).toMatchObject({ commitIndex: 2, stableIndex: 2, appliedIndex: 1 });
    expect(appliedData(net, 'n1')).not.toContain('w');
    expect(appliedData(net, 'n2')).toContain('w'); // followers replay what they receive
    net.recover();
    net.tick('n1', 8);
    const ackAt = net.host('n1').readies.findIndex((r) => r.acks.some((a) => a.id === write.id));
    const appliedAt = net.host('n1').readies.findIndex((r) => r.apply.some((e) => e.data === 'w'));
    expect(ackAt).toBeGreaterThan(0);
    expect(appliedAt).toBe(ackAt);
  });

  it('in async mode the leader applies at local flush, before any follower has the write', () => {
    const net = cluster({ replication: { mode: 'async' } });
    net.isolate('n1');
    net.propose('n1', 'w');
    net.stabilize();
    expect(net.core('n1').status()).toMatchObject({ commitIndex: 1, appliedIndex: 2 });
    expect(appliedData(net, 'n1')).toContain('w');
  });
});
