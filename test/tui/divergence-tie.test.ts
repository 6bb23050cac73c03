// Divergence when no state has a majority: three replicas that each ran
// random() their own way (the statement-divergence lab) all differ at one
// index. The leader's state is the one its term holds, so the others diverge
// from it; without the leader's report there is no verdict yet.

import { describe, expect, it } from 'vitest';
import { divergentNodes, initialDivergence, trackChecksums } from '../../tui/state/divergence.js';
import { nodeStatus } from '../labs/snapshot.js';

const at = (values: Record<string, string>, leader = 'n2') =>
  Object.entries(values).map(([id, value]) => nodeStatus(id, { role: id === leader ? 'leader' : 'follower', checksum: { index: 2, value } }));

describe('divergence with no majority', () => {
  it('three different states: the followers diverge from the leader', () => {
    expect(divergentNodes(trackChecksums(initialDivergence, at({ n1: 'aaa', n2: 'bbb', n3: 'ccc' })))).toEqual(['n1', 'n3']);
  });

  it('an even split without the leader\'s report: no verdict yet', () => {
    expect(divergentNodes(trackChecksums(initialDivergence, at({ n1: 'aaa', n3: 'ccc' })))).toEqual([]);
  });

  it('a majority still decides, whoever leads', () => {
    expect(divergentNodes(trackChecksums(initialDivergence, at({ n1: 'aaa', n2: 'bbb', n3: 'aaa' })))).toEqual(['n2']);
  });
});
