// The engine seam (issue 17): what the dashboard, the labs, the workload and
// the checker may ask of a running cluster, whichever system runs it. Today's
// `Cluster` is the `replica-lab` engine; `PostgresCluster` (cluster/postgres)
// is the second. The shared part is exactly the members listed here, with the
// `Cluster`'s own signatures, so an engine is checked against them by the
// compiler; what only Raft has (elections you can watch, PreVote, Figure 8,
// snapshots, membership, the write trace, clock and disk faults) stays on
// `Cluster` and is reached after asking `capabilities`.
import type { Cluster, ClusterEvent } from './supervisor/cluster.js';
import type { Workload } from './supervisor/workload.js';
import type { PostgresCluster } from './postgres/cluster.js';

/** Which system runs the cluster. */
export type EngineKind = 'replica-lab' | 'postgres';

/** What an engine offers beyond the shared members; a consumer checks before it narrows. */
export interface EngineCapabilities {
  /** Raft: elections, terms, PreVote, leadership transfer, Figure 8. */
  readonly raft: boolean;
  /** Snapshots, log compaction, membership change. */
  readonly snapshots: boolean;
  readonly membership: boolean;
  /** `trace`: the X-ray of one write. */
  readonly trace: boolean;
  /** Node faults: a slow disk or apply (`setNodeFault`), a fast or slow clock (`setClockRate`). */
  readonly nodeFaults: boolean;
  readonly clock: boolean;
}

/** The members every engine has, with the replica-lab `Cluster`'s signatures. */
export type EngineMembers = Pick<
  Cluster,
  | 'ids'
  | 'dataDir'
  | 'status'
  | 'events'
  | 'execute'
  | 'query'
  | 'leader'
  | 'waitForLeader'
  | 'kill'
  | 'restart'
  | 'pause'
  | 'resume'
  | 'partition'
  | 'setLink'
  | 'cut'
  | 'heal'
  | 'setReplication'
  | 'replicationSettings'
  | 'promote'
  | 'lostWrites'
  | 'stop'
>;

/**
 * The built-in clients and their online checker (`cluster.workload`), with the
 * replica-lab `Workload`'s signatures: the dashboard's charts, the labs and the
 * nemesis read them on every engine.
 */
export type EngineWorkload = Pick<Workload, 'start' | 'update' | 'stop' | 'stats' | 'recent' | 'historyFile'>;

export interface ReplicationEngine extends EngineMembers {
  /**
   * Cluster events (`'event'`, a ClusterEvent each). Declared here rather than
   * picked: Cluster's own `on`/`off` are EventEmitter's, which return `this`,
   * and a Pick would make them return a Cluster, which no other engine is.
   */
  on(name: 'event', listener: (event: ClusterEvent) => void): unknown;
  off(name: 'event', listener: (event: ClusterEvent) => void): unknown;
  readonly engine: EngineKind;
  readonly capabilities: EngineCapabilities;
  readonly workload: EngineWorkload;
}

/** Every engine, in the order `--engine` lists them. */
export const engineKinds: readonly EngineKind[] = ['replica-lab', 'postgres'];

/** What a person reads for each engine (headers, messages). */
export const engineNames: Readonly<Record<EngineKind, string>> = { 'replica-lab': 'replica-lab', postgres: 'PostgreSQL' };

/** The replica-lab engine has every capability. */
export const raftCapabilities: EngineCapabilities = { raft: true, snapshots: true, membership: true, trace: true, nodeFaults: true, clock: true };

/** The PostgreSQL engine has none of them (no Raft: no elections, snapshots, membership, write trace, node or clock faults). */
export const postgresCapabilities: EngineCapabilities = { raft: false, snapshots: false, membership: false, trace: false, nodeFaults: false, clock: false };

/** Each engine's capabilities, known before one is started (a command can refuse what an engine lacks before it makes anything). */
export const engineCapabilities: Readonly<Record<EngineKind, EngineCapabilities>> = { 'replica-lab': raftCapabilities, postgres: postgresCapabilities };

/**
 * The PostgreSQL engine's own API (its servers' log events, the failover
 * manager's decisions, the proxies' counts), or null on another engine. By
 * kind, not instanceof: the PostgreSQL module is loaded only when asked for.
 */
export function postgresCluster(engine: ReplicationEngine): PostgresCluster | null {
  return engine.engine === 'postgres' ? (engine as unknown as PostgresCluster) : null;
}
