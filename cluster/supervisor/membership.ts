// The supervisor's side of membership change (Cluster.addNode, promoteLearner,
// removeNode): which id a new node gets, when a learner counts as caught up,
// the cluster's membership as the nodes report it, and the event that says
// who joined or left with the majority before and after. The change itself
// is the core's (cluster/core/membership.ts): single-server changes, one at a
// time, proposed at the leader and answered once committed.

import { membersMax, voterMajority, type ConfChange, type Membership, type NodeId } from '../core/index.js';
import type { NodeTelemetry } from '../protocol.js';
import { BadRequestError } from './errors.js';

/** A node is added as a learner (receives the log, never votes) or straight as a voter. */
export type JoinAs = 'learner' | 'voter';

/** Node ids a cluster may use: n1..n9. */
export const nodeIdsAll: readonly NodeId[] = Array.from({ length: membersMax }, (_, i) => `n${i + 1}`);

/**
 * A learner is promoted only once it holds every committed entry of the
 * leader's but at most this many (as the leader's progress for it reports).
 * Promoting an empty node would make it a voter the majority may need while
 * it still copies the whole log: the stall thesis §4.2.1 warns of.
 */
export const learnerCaughtUpEntries = 100;

/** How long a membership change may take to commit by default (adding a voter waits for it to catch up). */
export const membershipTimeoutMsDefault = 30_000;

/** The cluster's configuration as the nodes report it, and the quorum it needs. */
export interface ClusterMembership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Votes and acks a decision needs: the majority of the voters. */
  readonly quorum: number;
  /** Who reported it: the leader, or (with none) the running node with the highest term. */
  readonly from: NodeId;
}

/** The configuration as `telemetry` reports it. */
export function membershipOf(telemetry: NodeTelemetry): ClusterMembership {
  const { voters, learners } = telemetry.membership;
  return { voters, learners, quorum: voterMajority(telemetry.membership), from: telemetry.id };
}

/**
 * The id for a new node: the lowest of n1..n9 this cluster has never used. A
 * removed node's id is not given again: the removed node voted under it, and
 * a new node under the same id with an empty log could vote a second time in
 * a term it already voted in.
 */
export function nextNodeId(used: ReadonlySet<NodeId>, members: number): NodeId {
  if (members >= membersMax) throw new BadRequestError(`the cluster already has ${members} nodes, the most it may have (${membersMax}); remove one first`);
  const id = nodeIdsAll.find((candidate) => !used.has(candidate));
  if (id === undefined) throw new BadRequestError(`every node id n1..n${membersMax} has been used; a removed node's id is never given to a new node (it may have voted in a term already)`);
  return id;
}

/** Why `id` cannot be promoted now (per the leader's report, and `membership`, which may be newer), or null when it has caught up. */
export function promoteProblem(id: NodeId, leader: NodeTelemetry, membership: Membership = leader.membership): string | null {
  const { voters, learners } = membership;
  if (voters.includes(id)) return `${id} is already a voter`;
  if (!learners.includes(id)) return `${id} is not a learner (voters ${voters.join(' ')}${learners.length > 0 ? `, learners ${learners.join(' ')}` : ''})`;
  const margin = `a learner is promoted once the leader reports it within ${learnerCaughtUpEntries} entries of its commit index`;
  const row = leader.followers.find((follower) => follower.id === id);
  if (row === undefined) {
    // The leader's last report predates the node's joining (or its first reply): nothing is known of how far it is.
    return `${id} cannot be promoted yet: the leader ${leader.id} has not reported ${id}'s progress since it joined, so it is not known to have caught up; try again in a moment (${margin})`;
  }
  const flushed = row.positions.flushed;
  if (flushed === 0 && leader.commitIndex > 0) {
    return `${id} has not caught up yet: it has acknowledged no entry so far, and the leader ${leader.id} has committed up to index ${leader.commitIndex}; ${margin}`;
  }
  const behind = leader.commitIndex - flushed;
  if (behind > learnerCaughtUpEntries) {
    return `${id} has not caught up yet: it holds up to index ${flushed}, the leader ${leader.id} has committed ${leader.commitIndex} (${behind} behind); ${margin}`;
  }
  return null;
}

/** The configuration before `change` was applied to reach `after` (single-server changes invert exactly). */
export function membershipBefore(after: Membership, change: ConfChange, wasVoter: boolean): Membership {
  const without = (list: readonly NodeId[]) => list.filter((id) => id !== change.node);
  switch (change.type) {
    case 'add-learner':
      return { voters: after.voters, learners: without(after.learners) };
    case 'add-voter':
      return { voters: without(after.voters), learners: after.learners };
    case 'promote-learner':
      return { voters: without(after.voters), learners: [...after.learners, change.node] };
    case 'remove':
      return wasVoter ? { voters: [...after.voters, change.node], learners: after.learners } : { voters: after.voters, learners: [...after.learners, change.node] };
  }
}

/** The membership a reply's result carries, or null when it does not parse. */
export function replyMembership(result: Record<string, unknown> | null | undefined): Membership | null {
  const value = result?.['membership'] as { voters?: unknown; learners?: unknown } | undefined;
  const ids = (list: unknown): list is NodeId[] => Array.isArray(list) && list.length <= membersMax && list.every((id) => typeof id === 'string' && /^n[1-9]$/.test(id));
  if (value === undefined || !ids(value.voters) || !ids(value.learners)) return null;
  return { voters: value.voters, learners: value.learners };
}
