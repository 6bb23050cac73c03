// Node-level faults on real processes: a slow disk holds back a follower's
// flush but not its receipt, a slow apply holds back its apply but not its
// flush, and neither stops its event loop (it keeps reporting). Also the
// unsafe allow-nondeterministic option, which lets replicas diverge.

import { describe, expect, it } from 'vitest';
import { BadRequestError, type Cluster, type NodeId } from '../../cluster/index.js';
import { eventually, startCluster } from './helpers.js';

/** Long enough that "not yet" is certain on a loaded machine, short enough to wait out. */
const slowMs = 2_000;

async function followerOf(cluster: Cluster): Promise<{ leader: NodeId; follower: NodeId }> {
  const leader = await cluster.waitForLeader({ timeoutMs: 10_000 });
  return { leader, follower: cluster.ids.find((id) => id !== leader)! };
}

const statusOf = (cluster: Cluster, id: NodeId) => cluster.status().find((n) => n.id === id)!;

describe('node faults', () => {
  it('a slow disk: the follower receives a write at once but flushes it late, and keeps reporting meanwhile', { timeout: 30_000 }, async () => {
    const cluster = await startCluster({ nodes: 3, seed: 31, telemetryMs: 50 });
    const { follower } = await followerOf(cluster);
    expect(cluster.setNodeFault(follower, { diskSlowMs: slowMs })).toEqual({ diskSlowMs: slowMs, applySlowMs: 0 });
    expect(statusOf(cluster, follower).faults).toEqual({ diskSlowMs: slowMs, applySlowMs: 0 });
    // Quorum: the leader and the other follower commit it.
    const { index } = await cluster.execute("INSERT INTO kv(k, v) VALUES ('disk', 'slow')");
    const receivedNotFlushed = await eventually(() => {
      const n = statusOf(cluster, follower);
      return n.received.index >= index && n.flushed.index < index && n.reportAgeMs !== null && n.reportAgeMs < 500;
    }, slowMs / 2);
    expect(receivedNotFlushed, JSON.stringify(statusOf(cluster, follower))).toBe(true);
    cluster.setNodeFault(follower, { diskSlowMs: 0 });
    expect(await eventually(() => statusOf(cluster, follower).flushed.index >= index, 10_000)).toBe(true);
    expect(cluster.events().some(({ event }) => event.type === 'fault' && event.fault === 'disk')).toBe(true);
  });

  it('a slow apply: the follower flushes a write at once but applies it late, and keeps reporting meanwhile', { timeout: 30_000 }, async () => {
    const cluster = await startCluster({ nodes: 3, seed: 32, telemetryMs: 50 });
    const { follower } = await followerOf(cluster);
    cluster.setNodeFault(follower, { applySlowMs: slowMs });
    const { index } = await cluster.execute("INSERT INTO kv(k, v) VALUES ('apply', 'slow')");
    const flushedNotApplied = await eventually(() => {
      const n = statusOf(cluster, follower);
      return n.flushed.index >= index && n.appliedIndex < index && n.reportAgeMs !== null && n.reportAgeMs < 500;
    }, slowMs / 2);
    expect(flushedNotApplied, JSON.stringify(statusOf(cluster, follower))).toBe(true);
    // A read there does not see it yet; once the fault is cleared it does.
    const before = await cluster.query("SELECT v FROM kv WHERE k = 'apply'", [], { node: follower, consistency: 'local' });
    expect(before.rows).toEqual([]);
    cluster.setNodeFault(follower, { applySlowMs: 0 });
    expect(await eventually(() => statusOf(cluster, follower).appliedIndex >= index, 10_000)).toBe(true);
    const after = await cluster.query("SELECT v FROM kv WHERE k = 'apply'", [], { node: follower, consistency: 'local' });
    expect(after.rows).toEqual([{ v: 'slow' }]);
  });

  it('refuses a bad fault with a BadRequestError and changes nothing', { timeout: 30_000 }, async () => {
    const cluster = await startCluster({ nodes: 1, seed: 33 });
    for (const change of [{ diskSlowMs: -1 }, { applySlowMs: 10_001 }, { diskSlowMs: Number.NaN }, { clockRate: 2 } as object]) {
      expect(() => cluster.setNodeFault('n1', change)).toThrow(BadRequestError);
    }
    expect(() => cluster.setNodeFault('n9', { diskSlowMs: 5 })).toThrow(BadRequestError);
    expect(cluster.nodeFaults('n1')).toEqual({ diskSlowMs: 0, applySlowMs: 0 });
  });
});

describe('unsafe: allow-nondeterministic', () => {
  it('lets random() through, and each node stores its own value', { timeout: 30_000 }, async () => {
    const cluster = await startCluster({ nodes: 3, seed: 34, unsafe: ['allow-nondeterministic'] });
    await cluster.waitForLeader({ timeoutMs: 10_000 });
    const { index } = await cluster.execute("INSERT INTO kv(k, v) VALUES ('dice', random())");
    expect(await eventually(() => cluster.status().every((n) => n.appliedIndex >= index), 10_000)).toBe(true);
    const values = await Promise.all(cluster.ids.map(async (node) => (await cluster.query("SELECT v FROM kv WHERE k = 'dice'", [], { node, consistency: 'local' })).rows[0]?.['v']));
    expect(values.every((v) => typeof v === 'string')).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(1);
  });

  it('is refused when it names no known rule', async () => {
    await expect(startCluster({ unsafe: ['allow-everything' as never] })).rejects.toThrow(BadRequestError);
  });
});
