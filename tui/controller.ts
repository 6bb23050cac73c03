// What the dashboard needs from a cluster: the subset of the Cluster API it
// calls. The real Cluster satisfies it structurally (the CLI passes it in);
// tests pass a recorded stand-in, so the UI never starts a process itself.
// Any engine (cluster/engine.ts, `--engine`) has the shared part; what only
// the replica-lab engine has is optional, asked for through tui/engine.ts.

import type {
  ClusterEvent,
  ExecuteOptions,
  ExecuteResult,
  LinkOptions,
  MessagesView,
  NodeFaults,
  NodeId,
  NodeStatus,
  Param,
  QueryOptions,
  QueryResult,
  ReplicationSettings,
  TraceOptions,
  WorkloadOptions,
  WriteTrace,
} from '../cluster/index.js';
import type { EngineCapabilities, EngineKind } from '../cluster/engine.js';
import type { FailoverDecision } from '../cluster/postgres/cluster.js';
import type { ServerLogEvent } from '../cluster/postgres/server-log.js';

/** The workload figures the header and charts show. */
export interface WorkloadView {
  readonly running: boolean;
  /** Operations per second the open loop aims at; null for a closed loop. */
  readonly options: { readonly rate: number | null };
  readonly writes: { readonly ok: number; readonly fail: number; readonly info: number };
  readonly reads: { readonly ok: number; readonly fail: number };
  readonly writesPerSecond: number;
  readonly readsPerSecond: number;
  /**
   * What the online checker found since the start: reads that returned a
   * version older than a write acknowledged before they began, and session
   * anomalies. The consistency chart plots the stale-read rate, and says
   * "n/a" when a workload does not report it.
   */
  readonly consistency?: { readonly staleReads: number; readonly readYourWrites?: number; readonly monotonicReads?: number };
}

export interface WorkloadController {
  start(options?: Partial<WorkloadOptions>): void;
  update(options: Partial<WorkloadOptions>): unknown;
  /** May return a promise that settles once operations in flight are done; the dashboard does not wait. */
  stop(): unknown;
  stats(): WorkloadView;
}

export type ClusterEventListener = (event: ClusterEvent) => void;

/** The members every engine shares (ReplicationEngine), as the dashboard calls them. */
export interface EngineController {
  /** Which engine runs the cluster; a stand-in without it is the replica-lab engine. */
  readonly engine?: EngineKind;
  /** How the engine fails over, when it is not Raft ("manual", or the automatic manager's name); absent on replica-lab. */
  readonly failoverMode?: string;
  /** The engine's own setting behind the replication mode (PostgreSQL's synchronous_standby_names: "ANY 1 (n2, n3)", '' for none); null with no primary. */
  pgSetting?(): string | null;
  /** What the servers' own logs said (PostgreSQL: promotion, timeline switch, walreceiver, sync standby), bounded, oldest first, the same objects from call to call; absent on replica-lab. */
  serverLog?(): readonly ServerLogEvent[];
  /** The failover manager's decisions (PostgreSQL with automatic failover), bounded, oldest first, the same objects from call to call. */
  failovers?(): readonly FailoverDecision[];
  /** What the engine has beyond the shared members; a stand-in without it has everything (tui/engine.ts). */
  readonly capabilities?: EngineCapabilities;
  readonly ids: readonly NodeId[];
  readonly dataDir: string;
  readonly workload: WorkloadController;
  status(): readonly NodeStatus[];
  /** The recent events (bounded), oldest first: what happened before the dashboard subscribed. */
  events(): readonly ClusterEvent[];
  on(name: 'event', listener: ClusterEventListener): unknown;
  off(name: 'event', listener: ClusterEventListener): unknown;
  leader(): NodeId | null;
  replicationSettings(): ReplicationSettings;
  lostWrites(): readonly unknown[];
  execute(sql: string, params?: readonly Param[], options?: ExecuteOptions): Promise<ExecuteResult>;
  query(sql: string, params?: readonly Param[], options?: QueryOptions): Promise<QueryResult>;
  kill(id: NodeId): Promise<void>;
  /** `rebuild`: wipe the node's log and state and copy it again from the leader (Cluster.restart). */
  restart(id: NodeId, options?: { rebuild?: boolean }): Promise<void>;
  pause(id: NodeId): void;
  resume(id: NodeId): void;
  partition(groups: readonly (readonly NodeId[])[]): void;
  /** One direction only: `from`'s messages to `to` are lost. */
  cut(from: NodeId, to: NodeId): void;
  setLink(from: NodeId, to: NodeId, options: LinkOptions): void;
  heal(): void;
  setReplication(change: Partial<ReplicationSettings>): Promise<ReplicationSettings>;
  promote(id: NodeId): Promise<void>;
  /** Stops every node; a temporary data dir is removed. Safe to call twice. */
  stop(): Promise<void>;
}

/** What only the replica-lab engine has; the dashboard checks `capabilities` before it calls one (tui/engine.ts). */
export interface RaftController {
  /** The Raft messages of the last 60 s, as the nodes reported them (the message pane); optional for stand-ins. */
  messages?(): MessagesView;
  /** The clock fault: the node's timers run at `rate` times real speed (1 restores). */
  setClockRate(id: NodeId, rate: number): void;
  /** Node-level faults (slow disk, slow apply); a field left out keeps its value. */
  setNodeFault(id: NodeId, change: Partial<NodeFaults>): NodeFaults;
  transferLeadership(id: NodeId): Promise<void>;
  /** One write traced through every process (`:trace`); a stand-in without it cannot trace. */
  trace?(sql: string, params?: readonly Param[], options?: TraceOptions): Promise<WriteTrace>;
  /** A snapshot of the node's state now, its WAL compacted after it (Cluster.snapshot); optional for stand-ins. */
  snapshot?(id: NodeId): Promise<{ index: number; term: number; bytes: number; durationMs: number; walBytesRetained: number }>;
  /** The snapshot policy's retention (`:retain`); a stand-in without it cannot change it. */
  setSnapshotPolicy?(change: { readonly retainBytes?: number | null }): { readonly retainBytes: number | null };
  /** Membership change: a new node as a learner or a voter (resolves to its id once the change commits). */
  addNode(options?: { readonly as?: 'learner' | 'voter' }): Promise<NodeId>;
  /** A learner becomes a voter, once it has caught up (refused with the reason before). */
  promoteLearner(id: NodeId): Promise<void>;
  /** The node leaves the cluster once the change commits; its process stops. */
  removeNode(id: NodeId): Promise<void>;
}

/** The dashboard's cluster: every engine's members, and the replica-lab engine's own when it has them. */
export type ClusterController = EngineController & Partial<RaftController>;
