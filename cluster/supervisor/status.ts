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
  /** The clock rate the supervisor set (it outlives a restart, as a machine's bad clock would). */
  readonly clockRate: number;
  /** Node-level faults the supervisor set on it. */
  readonly faults: NodeFaults;
  /** How long the node has been silent while not paused (since its last report or its last resume). */
  readonly silentMs: number;
  /** A running, unpaused node silent this long is wedged (wedgedAfterMs). */
  readonly wedgedAfterMs: number;
  /** Set when the node refused to start on a corrupt WAL (see NodeStatus.corrupt). */
  readonly corrupt?: NodeStatus['corrupt'];
  /** Voter or learner in the cluster's configuration (Cluster.membership()); null when not in it. */
  readonly member: 'voter' | 'learner' | null;
}

/**
 * How long a running, unpaused node may go without a report before it shows
 * as wedged: 20 heartbeats and 10 reports, at least 2 s, so a loaded machine's
 * late reports (a few hundred ms) are not taken for a blocked event loop.
 */
export function wedgedAfterMs(heartbeatMs: number, telemetryMs: number): number {
  return Math.max(2_000, 20 * heartbeatMs, 10 * telemetryMs);
}

/** Why the node cannot make progress, or null (see NodeStatus.wedged). */
function wedgedState(node: NodeView): NodeStatus['wedged'] {
  const t = node.telemetry;
  if (!node.up || t === null) return null;
  if (t.wedged) return t.wedged;
  if (node.paused || node.silentMs < node.wedgedAfterMs) return null;
  const statement = t.lastStatement ?? null;
  return {
    reason: `no report for ${Math.round(node.silentMs)} ms while running and not paused: its event loop is blocked${statement === null ? '' : ` (the last statement it reported beginning: entry ${statement.index})`}`,
    statement: statement?.sql ?? null,
  };
}

export function nodeStatus(node: NodeView, leader: NodeTelemetry | null): NodeStatus {
  const t = node.telemetry;
  const follower = leader?.followers.find((f) => f.id === node.id);
  const wedged = wedgedState(node);
  return {
    id: node.id,
    pid: node.pid,
    // A silent node's last report may say leader: it leads nothing while wedged.
    role: node.up && t !== null ? (wedged === null ? t.role : 'follower') : node.up ? 'follower' : 'down',
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
    // The leader's view, unless the node itself says it applied less (it restarted or restored a
    // snapshot and the leader has not heard yet): applied never contradicts appliedIndex.
    applied:
      follower && !(t !== null && t.appliedIndex < follower.positions.applied)
        ? { index: follower.positions.applied, lsn: follower.lsn.applied }
        : { index: t?.appliedIndex ?? 0, lsn: t?.appliedLsn ?? 0 },
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
    clockRate: node.clockRate,
    leaseMs: t?.leaseMs ?? 0,
    election: node.up && t !== null ? parseElectionTimer(t.election) : null,
    faults: node.faults,
    wedged,
    corrupt: node.corrupt ?? null,
    snapshotIndex: t?.snapshot?.index ?? 0,
    walBytesRetained: t?.snapshot?.walBytesRetained ?? null,
    member: node.member,
  };
}
