// The catch-up scenario: a follower is stopped while N entries commit, then
// restarted; how fast it applies its way back to the leader.

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
}

export interface CatchUpResult {
  readonly scenario: 'catch-up';
  readonly entries: number;
  readonly catchUpMs: number;
  readonly entriesPerSecond: number;
}

export async function catchUp(options: CatchUpOptions, progress: (fraction: number) => void = () => {}): Promise<CatchUpResult> {
  const cluster = await Cluster.start({ nodes: options.nodes, fsync: options.fsync, replication: { mode: options.mode, ackLevel: options.ackLevel }, telemetryMs: 25 });
  try {
    const leader = await cluster.waitForLeader({ timeoutMs: 5_000 });
    const follower = cluster.ids.find((id) => id !== leader)!;
    await cluster.kill(follower);
    const start = leaderIndex(cluster);
    const load = startLoad(cluster, 64);
    while (leaderIndex(cluster) - start < options.entries) {
      await sleep(50);
      progress(Math.min(0.5, (0.5 * (leaderIndex(cluster) - start)) / options.entries));
    }
    await load.stop();
    const target = leaderIndex(cluster);
    const behind = target - (cluster.status().find((n) => n.id === follower)?.appliedIndex ?? 0);
    const restartedAt = performance.now();
    await cluster.restart(follower);
    const deadline = restartedAt + 300_000;
    for (;;) {
      const applied = cluster.status().find((n) => n.id === follower)?.appliedIndex ?? 0;
      if (applied >= target) break;
      if (performance.now() > deadline) throw new Error(`${follower} did not catch up within 300 s`);
      progress(0.5 + Math.min(0.5, (0.5 * applied) / target));
      await sleep(5);
    }
    const elapsedMs = performance.now() - restartedAt;
    return { scenario: 'catch-up', entries: behind, catchUpMs: round(elapsedMs), entriesPerSecond: round(ratePerSecond(behind, elapsedMs)) };
  } finally {
    await cluster.stop();
  }
}

function leaderIndex(cluster: Cluster): number {
  const leader = cluster.status().find((n) => n.role === 'leader');
  return leader?.commitIndex ?? 0;
}
