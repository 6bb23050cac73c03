// The failover scenario: SIGKILL of the leader under a steady write load; the
// time from the kill to the first write acknowledged by a new leader, over N
// trials, and how many acknowledged writes were lost (async loses some).

import { Cluster } from '../supervisor/index.js';
import type { NodeId } from '../core/index.js';
import type { ReplicationSettings } from '../protocol.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLoad } from './load.js';
import { round, summarize } from './stats.js';

export interface FailoverOptions {
  readonly mode: ReplicationSettings['mode'];
  readonly ackLevel: ReplicationSettings['ackLevel'];
  readonly trials: number;
  readonly nodes: number;
  readonly fsync: boolean;
  readonly electionTimeoutMs: readonly [number, number];
}

export interface FailoverResult {
  readonly scenario: 'failover';
  readonly mode: string;
  readonly ack: string;
  readonly trials: number;
  readonly failoverMs: { readonly min: number; readonly median: number; readonly p99: number; readonly max: number };
  readonly lostWrites: number;
  readonly electionTimeoutMs: readonly [number, number];
}

const steadyMs = 300;

export async function failover(options: FailoverOptions, progress: (fraction: number) => void = () => {}): Promise<FailoverResult> {
  const cluster = await Cluster.start({
    nodes: options.nodes,
    fsync: options.fsync,
    electionTimeoutMs: options.electionTimeoutMs,
    replication: { mode: options.mode, ackLevel: options.ackLevel },
    telemetryMs: 25,
  });
  const times: number[] = [];
  let killedAt = 0;
  let killed: NodeId | null = null;
  let firstAckAfter: number | null = null;
  const load = startLoad(cluster, 4, {
    onAck: (result, atMs) => {
      if (killed !== null && firstAckAfter === null && result.leader !== killed && atMs > killedAt) firstAckAfter = atMs;
    },
  });
  try {
    for (let trial = 0; trial < options.trials; trial++) {
      const leader = await cluster.waitForLeader({ timeoutMs: 10_000 });
      await waitCaughtUp(cluster);
      await sleep(steadyMs);
      firstAckAfter = null;
      killed = leader;
      killedAt = performance.now();
      await cluster.kill(leader);
      const deadline = killedAt + 10_000;
      while (firstAckAfter === null && performance.now() < deadline) await sleep(1);
      if (firstAckAfter === null) throw new Error(`trial ${trial + 1}: no write was acknowledged within 10 s of killing ${leader}`);
      times.push(firstAckAfter - killedAt);
      killed = null;
      await cluster.restart(leader);
      progress((trial + 1) / options.trials);
    }
    await load.stop();
    // The last restarted leader rolls back what it lost once it has caught up.
    await waitCaughtUp(cluster);
    const summary = summarize(times);
    return {
      scenario: 'failover',
      mode: options.mode,
      ack: options.ackLevel,
      trials: options.trials,
      failoverMs: { min: round(summary.min), median: round(summary.median), p99: round(summary.p99), max: round(summary.max) },
      lostWrites: cluster.lostWrites().length,
      electionTimeoutMs: options.electionTimeoutMs,
    };
  } finally {
    await load.stop();
    await cluster.stop();
  }
}

/** Every node up and within a few entries of the leader (so the next kill starts from a whole cluster). */
async function waitCaughtUp(cluster: Cluster): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    const nodes = cluster.status();
    const leader = nodes.find((n) => n.role === 'leader');
    if (leader !== undefined && nodes.every((n) => n.up && n.reportAgeMs !== null && n.reportAgeMs < 200 && leader.lastIndex - n.appliedIndex < 200)) return;
    await sleep(10);
  }
  throw new Error('the cluster did not catch up within 10 s after a restart');
}
