// Lost-write detection in the supervisor: an acknowledged write that a node
// later rolls back, named by index and term (a new leader reuses indexes).

import { describe, expect, it } from 'vitest';
import { LostWrites } from '../../cluster/supervisor/lost-writes.js';
import type { RolledBackWrite } from '../../cluster/protocol.js';

const write = (index: number, term: number): RolledBackWrite => ({ index, term, kind: 'sql', sql: `INSERT ${index}` });

describe('LostWrites', () => {
  it('names the rolled-back writes that were acknowledged, by index and term, each once', () => {
    const lost = new LostWrites();
    lost.acknowledged(10, 2);
    lost.acknowledged(11, 2);
    lost.acknowledged(11, 3); // the index reused in a later term, acknowledged again
    const now = lost.rolledBack('n1', [write(12, 2), write(11, 2), write(10, 3), write(10, 2)]);
    expect(now.map((w) => [w.index, w.term])).toEqual([
      [11, 2],
      [10, 2],
    ]);
    // Reported once: the same rollback seen again (another node) adds nothing.
    expect(lost.rolledBack('n2', [write(11, 2)])).toEqual([]);
    expect(lost.rolledBack('n2', [write(11, 3)]).map((w) => w.term)).toEqual([3]);
    expect(lost.list().map((w) => [w.node, w.index, w.term])).toEqual([
      ['n1', 11, 2],
      ['n1', 10, 2],
      ['n2', 11, 3],
    ]);
  });

  it('remembers the last 200,000 acknowledged writes, and forgets older ones', () => {
    const lost = new LostWrites();
    for (let index = 1; index <= 250_000; index++) lost.acknowledged(index, 1);
    const now = lost.rolledBack('n1', [write(50_000, 1), write(50_001, 1), write(249_999, 1), write(250_001, 1)]);
    expect(now.map((w) => w.index)).toEqual([50_001, 249_999]);
  });

  it('an empty rollback finds nothing', () => {
    const lost = new LostWrites();
    lost.acknowledged(1, 1);
    expect(lost.rolledBack('n1', [])).toEqual([]);
  });
});
