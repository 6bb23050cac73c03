// Divergent replicas, as far as status() lets us see them: a node whose state
// checksum differs, at the same applied index, from the state the newest term
// holds there. Nodes report checksums at different moments, so recent ones
// are kept per index and compared as soon as another node reports the same
// index. A node that rolls back or restarts has a new state: its verdict is
// forgotten until it can be compared again.

import type { NodeId, NodeStatus } from '../../cluster/index.js';
import { checksumIndexesMax } from '../constants.js';

interface Report {
  readonly value: string;
  /** The reporting node's term: the newest term's state is the reference. */
  readonly term: number;
  /** It led that term when it reported: its state breaks a tie. */
  readonly leads?: boolean;
}

export interface DivergenceTracker {
  /** Recent checksums: applied index -> node -> report, oldest index first (bounded). */
  readonly byIndex: ReadonlyMap<number, ReadonlyMap<NodeId, Report>>;
  /** Each node's latest comparison at an index another node also reported. */
  readonly verdicts: ReadonlyMap<NodeId, { readonly index: number; readonly divergent: boolean }>;
}

export const initialDivergence: DivergenceTracker = { byIndex: new Map(), verdicts: new Map() };

/** Adds the checksums in a snapshot and updates every verdict they make possible. */
export function trackChecksums(tracker: DivergenceTracker, nodes: readonly NodeStatus[]): DivergenceTracker {
  const byIndex = new Map(tracker.byIndex);
  const touched = new Set<number>();
  for (const node of nodes) {
    if (node.checksum === null || !node.up) continue;
    const { index, value } = node.checksum;
    const previous = byIndex.get(index)?.get(node.id);
    if (previous !== undefined && previous.value === value) continue;
    const atIndex = new Map(byIndex.get(index) ?? []);
    atIndex.set(node.id, { value, term: node.term, leads: node.role === 'leader' });
    byIndex.delete(index);
    byIndex.set(index, atIndex);
    touched.add(index);
  }
  if (touched.size === 0) return tracker;
  while (byIndex.size > checksumIndexesMax) byIndex.delete(byIndex.keys().next().value!);
  const verdicts = new Map(tracker.verdicts);
  for (const index of touched) {
    const atIndex = byIndex.get(index);
    if (atIndex === undefined || atIndex.size < 2) continue;
    const reference = referenceValue(atIndex);
    if (reference === null) continue;
    for (const [node, report] of atIndex) {
      const previous = verdicts.get(node);
      if (previous !== undefined && previous.index > index) continue;
      verdicts.set(node, { index, divergent: report.value !== reference });
    }
  }
  return { byIndex, verdicts };
}

/**
 * The state the newest term holds at this index: Raft's log matching makes
 * every node of the newest term agree, so the value most of them report.
 * When they split evenly (every replica ran a non-deterministic statement its
 * own way, say), the leader's state is the one the newest term holds; without
 * a report from the leader there is no verdict yet (null).
 */
function referenceValue(atIndex: ReadonlyMap<NodeId, Report>): string | null {
  const newest = Math.max(...[...atIndex.values()].map((report) => report.term));
  const counts = new Map<string, number>();
  for (const report of atIndex.values()) if (report.term === newest) counts.set(report.value, (counts.get(report.value) ?? 0) + 1);
  const ranked = [...counts].sort((a, b) => b[1] - a[1]);
  if (ranked.length > 1 && ranked[0]![1] === ranked[1]![1]) {
    const leader = [...atIndex.values()].find((report) => report.term === newest && report.leads === true);
    return leader?.value ?? null;
  }
  return ranked[0]![0];
}

/** A node whose state changed under it (rolled back, rebuilt, restarted): judge it afresh. */
export function forgetNode(tracker: DivergenceTracker, node: NodeId): DivergenceTracker {
  if (!tracker.verdicts.has(node) && ![...tracker.byIndex.values()].some((atIndex) => atIndex.has(node))) return tracker;
  const byIndex = new Map<number, ReadonlyMap<NodeId, Report>>();
  for (const [index, atIndex] of tracker.byIndex) {
    if (!atIndex.has(node)) {
      byIndex.set(index, atIndex);
      continue;
    }
    const rest = new Map(atIndex);
    rest.delete(node);
    if (rest.size > 0) byIndex.set(index, rest);
  }
  const verdicts = new Map(tracker.verdicts);
  verdicts.delete(node);
  return { byIndex, verdicts };
}

export function divergentNodes(tracker: DivergenceTracker): NodeId[] {
  return [...tracker.verdicts].filter(([, verdict]) => verdict.divergent).map(([node]) => node).sort();
}
