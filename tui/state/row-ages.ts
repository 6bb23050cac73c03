// Which node-table rows are an earlier moment than the rest, and how old.
//
// status() merges one report per node, and each node reports on its own
// (every 100 ms by default), so the rows are never one instant. At 50 writes/s
// a leader whose report is 20 ms older than its followers' shows a shorter log
// than they do (40 vs 41), which no single moment of a Raft cluster holds in
// one term unless a follower still carries entries of an older term. We do not
// clamp or adjust the numbers to hide that: an adjusted index would be one no
// node ever reported, and a follower's longer log can be real (stale entries a
// new leader has not truncated yet). Instead a row says how old it is whenever
// it is visibly an earlier moment: much older than the freshest row, or a
// leader whose log or commit index is behind that of a follower of its term
// that reported after it. The age is
// always true; the reader then knows the rows are not one snapshot.

import type { NodeId, NodeStatus } from '../../cluster/index.js';
import { rowAgeSkewMsMin } from '../constants.js';

/** The rows to mark, with the age of their report in ms (status()'s reportAgeMs). */
export function agedRows(nodes: readonly NodeStatus[], leader: NodeId | null): ReadonlyMap<NodeId, number> {
  const aged = new Map<NodeId, number>();
  // A paused node already says its numbers are frozen; a dead one has no report.
  const reporting = nodes.filter((node): node is NodeStatus & { reportAgeMs: number } => node.up && !node.paused && node.reportAgeMs !== null);
  if (reporting.length < 2) return aged;
  const freshestMs = Math.min(...reporting.map((node) => node.reportAgeMs));
  for (const node of reporting) {
    const muchOlder = node.reportAgeMs - freshestMs >= rowAgeSkewMsMin;
    const behindLaterFollower =
      node.id === leader &&
      reporting.some(
        (other) =>
          other.id !== node.id && other.term === node.term && other.reportAgeMs < node.reportAgeMs && (other.lastIndex > node.lastIndex || other.commitIndex > node.commitIndex),
      );
    if (muchOlder || behindLaterFollower) aged.set(node.id, node.reportAgeMs);
  }
  return aged;
}
