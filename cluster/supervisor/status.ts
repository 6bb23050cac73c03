// status(): each node's own report, with the positions and lag its leader
// measured for it (pg_stat_replication's view), merged into one row per node.

import type { NodeId } from '../core/index.js';
import { parseElectionTimer } from '../message-report.js';
import type { NodeFaults, NodeTelemetry } from '../protocol.js';
import type { NodeStatus } from './types.js';

export interface NodeView {
  readonly id: NodeId;
  readonly pid: number | null;
  readonly up: boolean;
  readonly paused: boolean;
  readonly isolated: boolean;
  readonly telemetry: NodeTelemetry | null;
  /** How old the telemetry is, in ms. */
  readonly reportAgeMs: number;
  /** Node-level faults the supervisor set on it. */
  readonly faults: NodeFaults;
  /** Voter or learner in the cluster's configuration (Cluster.membership()); null when not in it. */
  readonly member: 'voter' | 'learner' | null;
}

export function nodeStatus(node: NodeView, leader: NodeTelemetry | null): NodeStatus {
  const t = node.telemetry;
  const follower = leader?.followers.find((f) => f.id === node.id);
  return {
    id: node.id,
    pid: node.pid,
    role: node.up && t !== null ? t.role : node.up ? 'follower' : 'down',
    term: t?.term ?? 0,
    leader: t?.leader ?? null,
    up: node.up,
    paused: node.paused,
    isolated: node.isolated,
    lastIndex: t?.lastIndex ?? 0,
    lastLsn: t?.lastLsn ?? 0,
    flushedIndex: t?.flushedIndex ?? 0,
    commitIndex: t?.commitIndex ?? 0,
    appliedIndex: t?.appliedIndex ?? 0,
    received: follower ? { index: follower.positions.received, lsn: follower.lsn.received } : { index: t?.lastIndex ?? 0, lsn: t?.lastLsn ?? 0 },
    flushed: follower ? { index: follower.positions.flushed, lsn: follower.lsn.flushed } : { index: t?.flushedIndex ?? 0, lsn: t?.flushedLsn ?? 0 },
    applied: follower ? { index: follower.positions.applied, lsn: follower.lsn.applied } : { index: t?.appliedIndex ?? 0, lsn: t?.appliedLsn ?? 0 },
    lag: follower
      ? { writeLagMs: follower.writeLagMs, flushLagMs: follower.flushLagMs, replayLagMs: follower.replayLagMs, entries: follower.lagEntries, bytes: follower.lagBytes }
      : null,
    checksum: t?.checksum ?? null,
    degraded: t?.degraded ?? false,
    replication: t?.replication ?? null,
    malformedMessages: t?.malformedMessages ?? 0,
    rssBytes: t?.rssBytes ?? 0,
    wal: t?.wal ?? null,
    network: t?.network ?? null,
    reportAgeMs: t === null ? null : node.reportAgeMs,
    election: node.up && t !== null ? parseElectionTimer(t.election) : null,
    faults: node.faults,
    snapshotIndex: t?.snapshot?.index ?? 0,
    walBytesRetained: t?.snapshot?.walBytesRetained ?? null,
    member: node.member,
  };
}
