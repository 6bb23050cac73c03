// The configuration a supervisor hands a node process (as JSON in one
// environment variable), checked before the node touches its data dir.

import type { Failover, NodeId } from '../core/index.js';
import type { ReplicationSettings } from '../protocol.js';
import { snapshotPolicyProblem, type SnapshotPolicy } from './snapshots.js';

export interface NodeConfig {
  readonly id: NodeId;
  /**
   * The voters at the start of the log (index 0): the cluster's founding
   * nodes, or [] for a node added later, which learns its configuration from
   * the leader's log. The configuration in force is always the log's (its
   * config entries, or a snapshot's membership) on top of this, so a
   * restarted node never goes back to it.
   */
  readonly peers: readonly NodeId[];
  /** This node's own data dir: wal/, state.db, meta, rollback/. */
  readonly dataDir: string;
  readonly tickMs: number;
  readonly electionTimeoutMs: readonly [number, number];
  readonly heartbeatMs: number;
  readonly failover: Failover;
  readonly fencing: boolean;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly replication: ReplicationSettings;
  readonly fsync: boolean;
  readonly seed: number;
  readonly telemetryMs: number;
  /** Where every node of the cluster has its socket (<id>.sock), mode 0700. */
  readonly socketDir: string;
  /** The cluster's secret: every connection to a node's socket starts with it. */
  readonly secret: string;
  /** The unsafe option: random() and clock reads are replicated as statements, so replicas diverge (absent: refused). */
  readonly allowNondeterministic?: boolean;
  /** When to snapshot and how much WAL to keep (snapshots.ts); absent: the defaults. */
  readonly snapshot?: SnapshotPolicy;
}

export const nodeConfigVariable = 'REPLICA_LAB_NODE';

/** Reads and checks the config; throws an Error whose message says what is wrong. */
export function parseNodeConfig(text: string | undefined): NodeConfig {
  if (text === undefined) throw new Error(`${nodeConfigVariable} is not set: a node is started by the replica-lab supervisor`);
  const value = JSON.parse(text) as Partial<NodeConfig>;
  const problems: string[] = [];
  const need = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what);
  };
  need(typeof value.id === 'string' && /^n[1-9][0-9]?$/.test(value.id), 'id like n1');
  need(Array.isArray(value.peers) && (value.peers.length === 0 || value.peers.includes(value.id ?? '')), 'peers including id (or [] for a node added later)');
  need(typeof value.dataDir === 'string' && value.dataDir.length > 0, 'dataDir');
  need(typeof value.tickMs === 'number' && value.tickMs >= 1, 'tickMs >= 1');
  need(Array.isArray(value.electionTimeoutMs) && value.electionTimeoutMs.length === 2, 'electionTimeoutMs [min, max]');
  need(typeof value.heartbeatMs === 'number' && value.heartbeatMs >= 1, 'heartbeatMs >= 1');
  need(value.failover === 'raft' || value.failover === 'manual', "failover 'raft' | 'manual'");
  need(typeof value.replication === 'object' && value.replication !== null, 'replication');
  need(typeof value.seed === 'number', 'seed');
  need(typeof value.telemetryMs === 'number' && value.telemetryMs >= 10, 'telemetryMs >= 10');
  need(typeof value.socketDir === 'string' && value.socketDir.length > 0, 'socketDir');
  need(typeof value.secret === 'string' && value.secret.length >= 16, 'secret of 16 characters or more');
  need(value.allowNondeterministic === undefined || typeof value.allowNondeterministic === 'boolean', 'allowNondeterministic a boolean');
  if (value.snapshot !== undefined) {
    const problem = snapshotPolicyProblem(value.snapshot);
    if (problem !== null) problems.push(`a valid snapshot policy (${problem})`);
  }
  if (problems.length > 0) throw new Error(`bad node config: expected ${problems.join(', ')}`);
  return value as NodeConfig;
}
