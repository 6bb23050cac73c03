// One truncation, one account of it: a node that undoes applied entries
// reports them (entries-rolled-back) and then truncates the same range
// (entries-truncated). The log says the range once, and counts only what was
// never applied as such (issue 15: "rolls back applied entries 2500–2538" and
// "truncates 39 unapplied entries from index 2500" for one range).

import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../cluster/index.js';
import { describeEvents, initialElections } from '../../tui/state/event-log.js';

const at = (atMs: number, e: ClusterEvent['event']): ClusterEvent => ({ atMs, event: e });
const texts = (entries: ClusterEvent[]): string[] => describeEvents(entries, initialElections).lines.map((l) => l.text);

describe('the event log on a truncation', () => {
  it('says a fully applied range once', () => {
    expect(texts([at(1, { type: 'entries-rolled-back', node: 'n1', fromIndex: 2500, toIndex: 2538, leader: 'n2' }), at(1, { type: 'entries-truncated', node: 'n1', fromIndex: 2500, count: 39 })])).toEqual([
      "n1 rolls back applied entries 2500–2538: leader n2's log does not hold them",
    ]);
  });

  it('adds only the never-applied tail when the truncation goes further than the rollback', () => {
    expect(texts([at(1, { type: 'entries-rolled-back', node: 'n1', fromIndex: 2500, toIndex: 2538, leader: 'n2' }), at(1, { type: 'entries-truncated', node: 'n1', fromIndex: 2500, count: 45 })])).toEqual([
      "n1 rolls back applied entries 2500–2538: leader n2's log does not hold them",
      'n1 also drops 6 never-applied entries from index 2539',
    ]);
  });

  it('does not call truncated entries unapplied when nothing says so', () => {
    expect(texts([at(1, { type: 'entries-truncated', node: 'n3', fromIndex: 70, count: 4 })])).toEqual(["n3 truncates 4 entries from its log, from index 70: the leader's log differs there"]);
  });
});
