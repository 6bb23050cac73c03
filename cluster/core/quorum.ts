// Counting: Raft's majority commit and the replication modes' ack rules.

import type { Progress } from './progress.js';
import type { AckLevel, NodeId, ReplicationConfig, ReplicationMode } from './types.js';

export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/**
 * The highest index that `quorum` of the given positions have reached: sort
 * descending and take the quorum-th. With a majority this is Raft's commit candidate.
 */
export function quorumIndex(positions: readonly number[], quorum: number): number {
  const sorted = [...positions].sort((a, b) => b - a);
  return sorted[quorum - 1] ?? 0;
}

/** The rule one write is acknowledged by: the cluster's, with the write's overrides. */
export interface AckRule {
  readonly mode: ReplicationMode;
  readonly ackLevel: AckLevel;
  readonly quorum: number | null;
  readonly syncStandbys: readonly NodeId[] | null;
}

/** The leader's view of its followers, enough to decide an ack. */
export interface AckView {
  readonly leader: NodeId;
  /** The voters of the configuration in force (the leader among them unless it is removing itself). */
  readonly peers: readonly NodeId[];
  /** The leader's own durable index: it always counts as flushed to itself. */
  readonly leaderFlushed: number;
  readonly progress: ReadonlyMap<NodeId, Progress>;
}

/**
 * The followers a sync write waits for: the named standbys, or every voting
 * follower. Only voters are standbys: a named node that is a learner or was
 * removed is skipped, and when no named node is a voter any more the set falls
 * back to every voting follower (a membership change never leaves sync writes
 * with nobody, or with a node that cannot answer, to wait for).
 */
export function syncSet(rule: AckRule, view: AckView): NodeId[] {
  const named = rule.syncStandbys?.filter((id) => view.peers.includes(id)) ?? [];
  const standbys = named.length > 0 ? named : view.peers;
  return standbys.filter((id) => id !== view.leader && view.progress.has(id));
}

/**
 * Nodes a quorum write needs: the configured quorum (a majority of the voters
 * by default), at most every voter: after a membership change shrank the
 * voters below an explicit quorum, every voter must acknowledge.
 */
export function quorumSize(quorum: number | null, voters: number): number {
  return Math.min(quorum ?? majority(voters), voters);
}

function followerReached(id: NodeId, index: number, level: AckLevel, view: AckView): boolean {
  const progress = view.progress.get(id);
  return progress !== undefined && progress.position(level) >= index;
}

/** Nodes whose lag keeps `index` from being acknowledged under `rule` (empty once it may be). */
export function laggingNodes(index: number, rule: AckRule, view: AckView): NodeId[] {
  const leaderFlushed = view.leaderFlushed >= index;
  switch (rule.mode) {
    case 'async':
      return leaderFlushed ? [] : [view.leader];
    case 'sync': {
      // The leader's own flush first, then every standby (PostgreSQL's order).
      const behind = syncSet(rule, view).filter((id) => !followerReached(id, index, rule.ackLevel, view));
      return leaderFlushed ? behind : [view.leader, ...behind];
    }
    case 'quorum': {
      // The leader is one member like any other: it counts once its own flush is done.
      const needed = quorumSize(rule.quorum, view.peers.length);
      const behind = view.peers.filter((id) => (id === view.leader ? !leaderFlushed : !followerReached(id, index, rule.ackLevel, view)));
      return view.peers.length - behind.length >= needed ? [] : behind;
    }
  }
}

export function ackReached(index: number, rule: AckRule, view: AckView): boolean {
  return laggingNodes(index, rule, view).length === 0;
}

/** A person-readable reason why a replication setting cannot be used, or null when it can. */
/**
 * With `peers` null only what holds whatever the membership is gets checked
 * (a core starting from a log whose configuration may differ from the host's peers).
 */
export function replicationProblem(config: ReplicationConfig, peers: readonly NodeId[] | null): string | null {
  if (config.quorum !== null) {
    if (peers === null) {
      if (!Number.isInteger(config.quorum) || config.quorum < 1) return `quorum must be a whole number of at least 1, got ${config.quorum}`;
    } else if (!Number.isInteger(config.quorum) || config.quorum < 1 || config.quorum > peers.length) {
      return `quorum must be a whole number from 1 to ${peers.length} (the number of voters), got ${config.quorum}`;
    }
  }
  if (config.syncStandbys !== null && peers !== null) {
    const unknown = config.syncStandbys.filter((id) => !peers.includes(id));
    if (unknown.length > 0) return `sync standbys name unknown nodes: ${unknown.join(', ')} (only voters are standbys: ${peers.join(', ')})`;
  }
  if (config.syncTimeoutTicks !== null && !(config.syncTimeoutTicks >= 1)) {
    return `the sync timeout must be at least one tick, got ${config.syncTimeoutTicks}`;
  }
  return null;
}
