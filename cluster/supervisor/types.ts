// The Cluster API's types: its options, what status() returns, and the
// events it emits. Plain data, so the TUI can render recorded ones.

import type { Failover, NodeId, Role } from '../core/index.js';
import type { ElectionTimer } from '../message-report.js';
import type { NetworkTelemetry, NodeEvent, NodeFaults, ReplicationSettings, RolledBackWrite, WalTelemetry } from '../protocol.js';
import type { SnapshotPolicy } from '../node/snapshots.js';

export type { SnapshotPolicy };

export type { ExecuteOptions, ExecuteResult, QueryOptions, QueryResult } from './requests.js';

export interface ClusterOptions {
  /** 1 to 9 nodes, n1..nN. Default 3. */
  readonly nodes?: number;
  /** Where node data lives; default a temporary dir removed on stop(). */
  readonly dataDir?: string;
  readonly replication?: Partial<ReplicationSettings>;
  readonly failover?: Failover;
  readonly fencing?: boolean;
  readonly electionTimeoutMs?: readonly [number, number];
  readonly heartbeatMs?: number;
  readonly tickMs?: number;
  readonly fsync?: boolean;
  readonly seed?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly telemetryMs?: number;
  /**
   * Safety rules to switch off, for a lab to show what they prevent.
   * `allow-nondeterministic`: writes may call random(), randomblob() and read
   * the clock (datetime('now'), CURRENT_TIMESTAMP); each node evaluates them
   * when it applies the entry, so replicas diverge. Default: none.
   */
  readonly unsafe?: readonly UnsafeOption[];
  /**
   * When each node snapshots its state and how much WAL it keeps (README,
   * "Snapshots and log compaction"): `everyEntries` (0: only on request),
   * `retainEntries` (the margin below the snapshot), `retainBytes` (the cap,
   * like PostgreSQL's max_slot_wal_keep_size; null for none), `segmentBytes`
   * (the WAL segment size: compaction deletes whole segments).
   */
  readonly snapshot?: Partial<SnapshotPolicy>;
}

export const unsafeOptions = ['allow-nondeterministic'] as const;
export type UnsafeOption = (typeof unsafeOptions)[number];

export interface Position {
  readonly index: number;
  readonly lsn: number;
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly pid: number | null;
  readonly role: Role | 'down';
  readonly term: number;
  readonly leader: NodeId | null;
  readonly up: boolean;
  readonly paused: boolean;
  readonly isolated: boolean;
  readonly lastIndex: number;
  readonly lastLsn: number;
  readonly flushedIndex: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** As the current leader sees this node (for the leader itself: its own log). */
  readonly received: Position;
  readonly flushed: Position;
  readonly applied: Position;
  /** Followers only, measured by the leader; null when there is no leader to measure. */
  readonly lag: { readonly writeLagMs: number; readonly flushLagMs: number; readonly replayLagMs: number; readonly entries: number; readonly bytes: number } | null;
  readonly checksum: { readonly index: number; readonly value: string } | null;
  readonly degraded: boolean;
  readonly replication: ReplicationSettings | null;
  readonly malformedMessages: number;
  readonly rssBytes: number;
  /** The node's WAL since its process started (bytes, fsyncs and their time, as pg_stat_wal); null before its first report. */
  readonly wal: WalTelemetry | null;
  /** The node's side of the network since its process started (its egress, and connections it refused); null before its first report. */
  readonly network: NetworkTelemetry | null;
  /** How old the node's last report is; large for a paused or dead node. */
  readonly reportAgeMs: number | null;
  /** The clock fault: the node's timers run at this many times real speed (1: normal). */
  readonly clockRate?: number;
  /** On a leader holding a lease: how long it still holds by its own clock, in ms (0: none). */
  readonly leaseMs?: number;
  /** The node's election timer at its last report (elapsed and timeout, in ticks and ms); null when it is down or has not reported. */
  readonly election: ElectionTimer | null;
  /** Node-level faults set on it (Cluster.setNodeFault): its fsync and each apply take this much longer; zeros when normal. */
  readonly faults: NodeFaults;
  /**
   * Set when the node is up but cannot make progress (status.ts, wedgedAfterMs): an
   * error of its environment stopped it (state.db, the WAL, a full disk), or it has
   * not reported for many heartbeats while running and not paused (its event loop
   * is blocked). `statement` is the one it was applying, or the last it began.
   * Absent in status recorded before it existed.
   */
  readonly wedged?: { readonly reason: string; readonly statement: string | null } | null;
  /**
   * Set when the node refused to start because its WAL is corrupt: a bad record
   * with valid records after it (`message` is its `corrupt WAL: segment …, offset …`
   * line). It is down and stays so until `restart(id, { rebuild: true })`.
   * Absent in status recorded before it existed.
   */
  readonly corrupt?: { readonly message: string; readonly segment: string | null; readonly offset: number | null } | null;
  /** Index of the node's newest snapshot (taken or installed); 0 when it has none or has not reported. */
  readonly snapshotIndex: number;
  /** Bytes of WAL the node keeps on disk (compaction lowers it); null before its first report. */
  readonly walBytesRetained: number | null;
  /** Voter or learner in the configuration the leader (or, with none, the highest-term node) reports; null when not in it (yet) or before any report. */
  readonly member: 'voter' | 'learner' | null;
}

export type SupervisorEvent =
  | { readonly type: 'node-started'; readonly node: NodeId; readonly pid: number; readonly incarnation: number }
  | { readonly type: 'node-exited'; readonly node: NodeId; readonly code: number | null; readonly signal: string | null; readonly expected: boolean; readonly logTail: string }
  | { readonly type: 'fault'; readonly fault: 'kill' | 'restart' | 'pause' | 'resume' | 'partition' | 'cut' | 'link' | 'heal' | 'disk' | 'apply' | 'clock' | 'rebuild'; readonly detail: string }
  | { readonly type: 'writes-lost'; readonly node: NodeId; readonly writes: readonly RolledBackWrite[]; readonly rollbackPath: string }
  | { readonly type: 'malformed-from-node'; readonly node: NodeId; readonly reason: string }
  | {
      readonly type: 'replication-set';
      readonly replication: ReplicationSettings;
      /** Why, when the supervisor changed it itself rather than setReplication (a removed node leaving the sync standbys). */
      readonly reason?: string;
    }
  | {
      /** A membership change committed: who joined (as what), was promoted or left, and the majority of the voters before and after. */
      readonly type: 'membership';
      readonly change: 'joined' | 'promoted' | 'left';
      readonly node: NodeId;
      /** What the node is now; null once it left. */
      readonly as: 'voter' | 'learner' | null;
      readonly voters: readonly NodeId[];
      readonly learners: readonly NodeId[];
      readonly majorityBefore: number;
      readonly majorityAfter: number;
      /** The config entry's log index. */
      readonly index: number | null;
    };

export interface ClusterEvent {
  readonly atMs: number;
  readonly event: NodeEvent | SupervisorEvent;
}
