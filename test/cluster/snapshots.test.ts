// Snapshots, WAL compaction and InstallSnapshot on real node processes
// (issue 14): a follower that was down while the leader compacted away the
// entries it needs catches up by a snapshot over the direct links; a crash in
// the middle of the transfer or the install recovers; a restarted node starts
// from its snapshot and a shorter WAL.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadRequestError, type Cluster, type ClusterEvent, type NodeEvent } from '../../cluster/index.js';
import { eventually, startCluster } from './helpers.js';

const upsert = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';

/** `count` writes, `parallel` in flight at a time, over `keys` keys. */
async function write(cluster: Cluster, count: number, from = 0, parallel = 400): Promise<void> {
  for (let done = 0; done < count; done += parallel) {
    const n = Math.min(parallel, count - done);
    await Promise.all(Array.from({ length: n }, (_, i) => cluster.execute(upsert, [`k${(from + done + i) % 5_000}`, `v${from + done + i}`])));
  }
}

function collect(cluster: Cluster): NodeEvent[] {
  const events: NodeEvent[] = [];
  cluster.on('event', (e: ClusterEvent) => {
    if ('node' in e.event && e.event.type.startsWith('snapshot-')) events.push(e.event as NodeEvent);
  });
  return events;
}

async function converged(cluster: Cluster, timeoutMs: number): Promise<boolean> {
  return eventually(() => {
    const nodes = cluster.status().filter((n) => n.up);
    const leader = nodes.find((n) => n.role === 'leader');
    return leader !== undefined && nodes.every((n) => n.appliedIndex === leader.lastIndex && n.lastIndex === leader.lastIndex);
  }, timeoutMs);
}

async function sameChecksums(cluster: Cluster): Promise<void> {
  const sums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
  expect(new Set(sums.map((s) => s.index)).size, JSON.stringify(sums)).toBe(1);
  expect(new Set(sums.map((s) => s.value)).size, JSON.stringify(sums)).toBe(1);
}

function statusLine(cluster: Cluster): string {
  return JSON.stringify(cluster.status().map((n) => [n.id, n.role, n.lastIndex, n.appliedIndex, n.snapshotIndex, n.walBytesRetained]));
}

describe('snapshot options', () => {
  it('refuses a bad policy with an error naming the field', async () => {
    await expect(startCluster({ snapshot: { everyEntries: -1 } })).rejects.toThrow(/snapshot\.everyEntries: expected a whole number/);
    await expect(startCluster({ snapshot: { retainBytes: 10 } })).rejects.toBeInstanceOf(BadRequestError);
    await expect(startCluster({ snapshot: { segmentBytes: 1.5 } as never })).rejects.toThrow(/snapshot\.segmentBytes/);
    await expect(startCluster({ snapshot: { every: 5 } as never })).rejects.toThrow(/unknown option every/);
  });
});

describe('snapshots on real processes', () => {
  it('a follower down while the leader compacts catches up by InstallSnapshot, and checksums are equal at the same index', async () => {
    // 64 KiB segments so compaction has whole segments to delete; a cap of 1 MiB of WAL for the dead follower (max_slot_wal_keep_size).
    const cluster = await startCluster({ nodes: 3, seed: 14, snapshot: { everyEntries: 10_000, retainEntries: 10_000, retainBytes: 1024 * 1024, segmentBytes: 64 * 1024 } });
    const events = collect(cluster);
    const leader = await cluster.waitForLeader({ timeoutMs: 5_000 });
    const follower = cluster.ids.find((id) => id !== leader)!;
    await write(cluster, 500);
    await cluster.kill(follower);
    const behind = cluster.status().find((n) => n.id === follower)!.lastIndex;
    await write(cluster, 50_000, 500);
    // The leader took snapshots and its WAL no longer holds what the follower needs.
    const atLeader = (): ReturnType<Cluster['status']>[number] => cluster.status().find((n) => n.id === leader)!;
    expect(await eventually(() => atLeader().snapshotIndex >= 40_000, 10_000), statusLine(cluster)).toBe(true);
    expect(readdirSync(join(cluster.nodeDir(leader), 'wal')).some((name) => name === 'base')).toBe(true);
    const walBytes = atLeader().walBytesRetained!;
    expect(walBytes).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
    expect(events.some((e) => e.type === 'snapshot-taken' && e.node === leader)).toBe(true);
    await cluster.restart(follower);
    expect(await converged(cluster, 20_000), statusLine(cluster)).toBe(true);
    const installed = events.find((e) => e.type === 'snapshot-installed' && e.node === follower);
    expect(installed, JSON.stringify(events)).toBeDefined();
    if (installed?.type === 'snapshot-installed') {
      expect(installed.from).toBe(leader);
      expect(installed.index).toBeGreaterThan(behind + 10_000);
      expect(installed.bytes).toBeGreaterThan(0);
    }
    expect(events.some((e) => e.type === 'snapshot-sent' && e.node === leader && e.to === follower)).toBe(true);
    // Its own snapshots may follow the installed one (every 10,000 entries).
    expect(cluster.status().find((n) => n.id === follower)!.snapshotIndex).toBeGreaterThanOrEqual(installed?.type === 'snapshot-installed' ? installed.index : Infinity);
    await sameChecksums(cluster);
  });
});
