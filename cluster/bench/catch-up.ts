// The catch-up scenario: a follower is stopped while N entries commit, then
// restarted; how fast it applies its way back to the leader. `via: 'log'`
// keeps the whole log (no snapshots), so the follower replays every entry;
// `via: 'snapshot'` caps the WAL a leader keeps and takes a snapshot before the
// restart, so the leader has compacted what the follower needs and sends its
// snapshot instead (InstallSnapshot), then the entries after it.

import { Cluster } from '../supervisor/index.js';
import type { ReplicationSettings } from '../protocol.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLoad } from './load.js';
import { ratePerSecond, round } from './stats.js';

export interface CatchUpOptions {
  readonly entries: number;
  readonly nodes: number;
  readonly fsync: boolean;
  readonly mode: ReplicationSettings['mode'];
  readonly ackLevel: ReplicationSettings['ackLevel'];
  readonly via?: CatchUpVia;
}

export type CatchUpVia = 'log' | 'snapshot';

export interface CatchUpResult {
  readonly scenario: 'catch-up';
  /** How the follower caught up: the log replayed, or the leader's snapshot then the log after it (checked, not assumed). */
  readonly via: CatchUpVia;
  readonly entries: number;
  /** From the restart until the follower applied the leader's last index (its process start included). */
  readonly catchUpMs: number;
  readonly entriesPerSecond: number;
  /** From the restart until the follower's first report (process start, WAL and state opened). */
  readonly startMs: number;
  /** Bytes of log the follower missed: the leader's last lsn at the restart minus the follower's when it stopped. */
  readonly logBytes: number;
  /** With via snapshot: the snapshot's index and size, and its transfer and install time as the follower reported them. */
  readonly snapshot: { readonly index: number; readonly bytes: number; readonly durationMs: number } | null;
}

/** The leader's WAL cap and segment size for via snapshot: the smallest allowed, so compaction passes the stopped follower. */
const snapshotPolicy = { everyEntries: 0, retainEntries: 0, retainBytes: 64 * 1024, segmentBytes: 64 * 1024 } as const;

export async function catchUp(options: CatchUpOptions, progress: (fraction: number) => void = () => {}): Promise<CatchUpResult> {
  const via = options.via ?? 'log';
  const cluster = await Cluster.start({
    nodes: options.nodes,
    fsync: options.fsync,
    replication: { mode: options.mode, ackLevel: options.ackLevel },
    telemetryMs: 25,
    // log: no snapshot, so nothing is compacted; snapshot: one taken by hand below, with a cap that compacts past the follower.
    snapshot: via === 'log' ? { everyEntries: 0 } : snapshotPolicy,
  });
  try {
    const leader = await cluster.waitForLeader({ timeoutMs: 5_000 });
    const follower = cluster.ids.find((id) => id !== leader)!;
    const stoppedLsn = cluster.status().find((n) => n.id === follower)?.lastLsn ?? 0;
    await cluster.kill(follower);
    const start = leaderIndex(cluster);
    const load = startLoad(cluster, 64);
    while (leaderIndex(cluster) - start < options.entries) {
      await sleep(50);
      progress(Math.min(0.5, (0.5 * (leaderIndex(cluster) - start)) / options.entries));
    }
    await load.stop();
    if (via === 'snapshot') await snapshotWhenCommitted(cluster, leader);
    const target = leaderIndex(cluster);
    const behind = target - (cluster.status().find((n) => n.id === follower)?.appliedIndex ?? 0);
    const logBytes = Math.max(0, (cluster.status().find((n) => n.id === leader)?.lastLsn ?? 0) - stoppedLsn);
    const restartedAt = performance.now();
    const restartedWall = Date.now();
    await cluster.restart(follower);
    let startMs: number | null = null;
    const deadline = restartedAt + 300_000;
    for (;;) {
      const node = cluster.status().find((n) => n.id === follower);
      if (startMs === null && node?.reportAgeMs !== null && node?.reportAgeMs !== undefined) startMs = performance.now() - restartedAt;
      const applied = node?.appliedIndex ?? 0;
      if (applied >= target) break;
      if (performance.now() > deadline) throw new Error(`${follower} did not catch up within 300 s`);
      progress(0.5 + Math.min(0.5, (0.5 * applied) / target));
      await sleep(5);
    }
    const elapsedMs = performance.now() - restartedAt;
    let installed: { index: number; bytes: number; durationMs: number } | null = null;
    for (const { atMs, event } of cluster.events()) {
      if (event.type === 'snapshot-installed' && event.node === follower && atMs >= restartedWall) installed = { index: event.index, bytes: event.bytes, durationMs: round(event.durationMs) };
    }
    // The figure is only worth its label if the follower caught up the way it says.
    if (via === 'snapshot' && installed === null) throw new Error(`${follower} caught up without a snapshot: the leader still held the log it needed`);
    if (via === 'log' && installed !== null) throw new Error(`${follower} installed a snapshot although the leader kept its whole log`);
    return {
      scenario: 'catch-up',
      via,
      entries: behind,
      catchUpMs: round(elapsedMs),
      entriesPerSecond: round(ratePerSecond(behind, elapsedMs)),
      startMs: round(startMs ?? elapsedMs),
      logBytes,
      snapshot: installed,
    };
  } finally {
    await cluster.stop();
  }
}

/** A snapshot on the leader (a follower applies past what it knows committed; the leader never does, but may be busy taking one): retried briefly. */
async function snapshotWhenCommitted(cluster: Cluster, leader: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await cluster.snapshot(leader);
      return;
    } catch (error) {
      if (attempt >= 50) throw error;
      await sleep(100);
    }
  }
}

function leaderIndex(cluster: Cluster): number {
  const leader = cluster.status().find((n) => n.role === 'leader');
  return leader?.commitIndex ?? 0;
}
