// Which directed links a partition cuts: shared by the simulator's network
// and the supervisor's (both model the same faults).

import type { NodeId } from './core/index.js';

/** Every (from, to) between different groups, both directions; links inside a group are untouched. */
export function crossLinks(groups: readonly (readonly NodeId[])[]): [NodeId, NodeId][] {
  const links: [NodeId, NodeId][] = [];
  for (const a of groups) {
    for (const b of groups) {
      if (a === b) continue;
      for (const from of a) for (const to of b) links.push([from, to]);
    }
  }
  return links;
}
