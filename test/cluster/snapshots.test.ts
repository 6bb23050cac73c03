// Snapshots, WAL compaction and InstallSnapshot on real node processes
// (issue 14): a follower that was down while the leader compacted away the
// entries it needs catches up by a snapshot over the direct links; a crash in
// the middle of the transfer or the install recovers; a restarted node starts
// from its snapshot and a shorter WAL.

import { readdirSync, rmSync } from 'node:fs';
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
    const cluster = await startCluster({ nodes: 3, seed: 14, snapshot: { everyEntries: 10_000, retainEntries: 10_000, retainBytes: 1024 * 1024, segmentBytes: 64 * 1024, intervalMsMin: 0 } });
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
    expect(events.some((e) => e.type === 'snapshot-taken' && e.node === leader)).toBe(true);
    // One more snapshot now, at the last entry: what stays is the cap (whole segments), however far behind the dead follower is.
    const taken = await cluster.snapshot(leader);
    expect(taken.walBytesRetained).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
    expect(await eventually(() => atLeader().walBytesRetained! <= 1024 * 1024 + 64 * 1024, 5_000), statusLine(cluster)).toBe(true);
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

/** A follower (not `leader`) killed while the leader writes `count` entries and compacts past it. */
async function leaveBehind(cluster: Cluster, count: number): Promise<{ leader: string; follower: string }> {
  const leader = await cluster.waitForLeader({ timeoutMs: 5_000 });
  const follower = cluster.ids.find((id) => id !== leader)!;
  await write(cluster, 300);
  await cluster.kill(follower);
  await write(cluster, count, 300);
  const ok = await eventually(() => {
    const at = cluster.status().find((n) => n.id === leader)!;
    return at.snapshotIndex > 0 && readdirSync(join(cluster.nodeDir(leader), 'wal')).includes('base');
  }, 10_000);
  expect(ok, statusLine(cluster)).toBe(true);
  return { leader, follower };
}

const compacting = { everyEntries: 5_000, retainEntries: 1_000, retainBytes: 256 * 1024, segmentBytes: 64 * 1024, intervalMsMin: 0 };

describe('a crash during InstallSnapshot', () => {
  for (const step of ['intent', 'swap'] as const) {
    it(`a follower killed before the install's ${step} step restarts on a consistent state and catches up`, async () => {
      const cluster = await startCluster({ nodes: 3, seed: 21, snapshot: compacting });
      const events = collect(cluster);
      const exits: string[] = [];
      cluster.on('event', (e: ClusterEvent) => {
        if (e.event.type === 'node-exited') exits.push(e.event.node);
      });
      const { follower } = await leaveBehind(cluster, 12_000);
      exits.length = 0;
      process.env['REPLICA_LAB_TEST_CRASH_INSTALL'] = `${follower}:${step}`;
      try {
        await cluster.restart(follower);
      } finally {
        delete process.env['REPLICA_LAB_TEST_CRASH_INSTALL'];
      }
      // The hook kills it as the install reaches that step.
      expect(await eventually(() => exits.includes(follower), 15_000), statusLine(cluster)).toBe(true);
      expect(events.some((e) => e.type === 'snapshot-installed' && e.node === follower)).toBe(false);
      const snapshotsDir = join(cluster.nodeDir(follower), 'snapshots');
      // Before the commit point the received file is still there; after it, install.json says what to finish.
      expect(readdirSync(snapshotsDir).includes('install.json')).toBe(step === 'swap');
      await cluster.restart(follower);
      expect(await converged(cluster, 20_000), statusLine(cluster)).toBe(true);
      await sameChecksums(cluster);
      // No partial file survives a start.
      expect(readdirSync(snapshotsDir).filter((name) => name.startsWith('.') || name === 'install.json')).toEqual([]);
    });
  }

  it('a follower killed in the middle of the transfer (a slow link) keeps its old state and catches up after a restart', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 22, snapshot: compacting });
    const events = collect(cluster);
    const { leader, follower } = await leaveBehind(cluster, 12_000);
    // Every frame of the transfer takes 400 ms on the way to the follower.
    cluster.setLink(leader, follower, { delayMs: 400 });
    const snapshotsDir = join(cluster.nodeDir(follower), 'snapshots');
    const before = (await cluster.restart(follower), performance.now());
    const receiving = await eventually(() => {
      try {
        return readdirSync(snapshotsDir).some((name) => name.startsWith('.receiving-'));
      } catch {
        return false;
      }
    }, 15_000, 5);
    expect(receiving, `a transfer began (${Math.round(performance.now() - before)} ms)`).toBe(true);
    await cluster.kill(follower);
    expect(events.some((e) => e.type === 'snapshot-installed' && e.node === follower)).toBe(false);
    cluster.heal();
    await cluster.restart(follower);
    expect(await converged(cluster, 25_000), statusLine(cluster)).toBe(true);
    expect(events.some((e) => e.type === 'snapshot-installed' && e.node === follower)).toBe(true);
    await sameChecksums(cluster);
  });
});

describe('restarting from a snapshot', () => {
  it('a restarted follower and a restarted leader start from their snapshot and a shorter WAL', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 23, snapshot: compacting });
    const events: ClusterEvent[] = [];
    cluster.on('event', (e: ClusterEvent) => events.push(e));
    const leader = await cluster.waitForLeader({ timeoutMs: 5_000 });
    await write(cluster, 15_000);
    expect(await converged(cluster, 10_000), statusLine(cluster)).toBe(true);
    expect(await eventually(() => cluster.status().every((n) => n.snapshotIndex >= 10_000), 10_000), statusLine(cluster)).toBe(true);
    const follower = cluster.ids.find((id) => id !== leader)!;
    for (const id of [follower, leader]) {
      const before = cluster.status().find((n) => n.id === id)!;
      const segments = readdirSync(join(cluster.nodeDir(id), 'wal')).filter((name) => name.endsWith('.seg')).sort();
      expect(Number(segments[0]!.slice(0, 20)), `${id}'s WAL was compacted`).toBeGreaterThan(1);
      await cluster.kill(id);
      const from = events.length;
      await cluster.restart(id);
      await cluster.waitForLeader({ timeoutMs: 5_000 });
      expect(await converged(cluster, 15_000), statusLine(cluster)).toBe(true);
      const recovered = events.slice(from).find((e) => e.event.type === 'wal-recovered' && e.event.node === id)?.event;
      // Its WAL replays the entries after the compaction point only, not the whole log.
      expect(recovered?.type === 'wal-recovered' && recovered.records < before.lastIndex - 5_000, JSON.stringify(recovered)).toBe(true);
      expect(cluster.status().find((n) => n.id === id)!.snapshotIndex).toBeGreaterThanOrEqual(before.snapshotIndex);
      expect(events.slice(from).some((e) => e.event.type === 'state-rebuilt' && e.event.node === id)).toBe(false);
      await write(cluster, 200, 20_000 + from);
    }
    expect(await converged(cluster, 10_000), statusLine(cluster)).toBe(true);
    await sameChecksums(cluster);
  });

  it('a node whose state.db is gone, with its WAL compacted, restores its snapshot and replays the log after it', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 25, snapshot: compacting });
    const events: ClusterEvent[] = [];
    cluster.on('event', (e: ClusterEvent) => events.push(e));
    const leader = await cluster.waitForLeader({ timeoutMs: 5_000 });
    await write(cluster, 8_000);
    expect(await converged(cluster, 10_000), statusLine(cluster)).toBe(true);
    const follower = cluster.ids.find((id) => id !== leader)!;
    expect(await eventually(() => cluster.status().find((n) => n.id === follower)!.snapshotIndex >= 5_000, 10_000), statusLine(cluster)).toBe(true);
    await cluster.kill(follower);
    for (const name of ['state.db', 'state.db-wal', 'state.db-shm']) rmSync(join(cluster.nodeDir(follower), name), { force: true });
    const from = events.length;
    await cluster.restart(follower);
    // No write: the leader hears from the follower's heartbeat answers that it forgot what it had verified,
    // and probes it at once, so it verifies its log and applies it on an idle cluster.
    const applied = (): string => JSON.stringify(cluster.status().map((n) => [n.id, n.appliedIndex, n.applied.index]));
    expect(await converged(cluster, 15_000), statusLine(cluster)).toBe(true);
    // status's applied (the leader's view) never claims more than the node itself says.
    for (const node of cluster.status()) expect(node.applied.index, applied()).toBeLessThanOrEqual(node.appliedIndex);
    const rebuilt = events.slice(from).find((e) => e.event.type === 'state-rebuilt' && e.event.node === follower)?.event;
    expect(rebuilt?.type === 'state-rebuilt' ? rebuilt.reason : '').toMatch(/state\.db had applied index 0, behind the snapshot at \d+: restored the snapshot/);
    await sameChecksums(cluster);
  });

  it('Cluster.snapshot takes one now on any node, and says why not when there is nothing new', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 24, snapshot: { everyEntries: 0 } });
    const events = collect(cluster);
    await cluster.waitForLeader({ timeoutMs: 5_000 });
    await write(cluster, 300);
    expect(await converged(cluster, 10_000), statusLine(cluster)).toBe(true);
    const follower = cluster.ids.find((id) => id !== cluster.leader())!;
    const taken = await cluster.snapshot(follower);
    expect(taken.index).toBe(cluster.status().find((n) => n.id === follower)!.appliedIndex);
    expect(taken.bytes).toBeGreaterThan(0);
    expect(taken.walBytesRetained).toBeGreaterThan(0);
    expect(await eventually(() => cluster.status().find((n) => n.id === follower)!.snapshotIndex === taken.index, 5_000)).toBe(true);
    expect(events.some((e) => e.type === 'snapshot-taken' && e.node === follower && e.index === taken.index)).toBe(true);
    await expect(cluster.snapshot(follower)).rejects.toThrow(/applied nothing since its snapshot/);
    await cluster.kill(follower);
    await expect(cluster.snapshot(follower)).rejects.toMatchObject({ reason: 'down' });
  });
});
