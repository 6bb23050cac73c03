// The figure-8 replay: five real cores, a script of crashes and links, and the
// simulator's SafetyChecker. The outcomes are the cores' own, so these tests
// would fail if the commit rule, the vote restriction or the checker changed.

import { describe, expect, it } from 'vitest';
import { describeMessage, Figure8Replay, figure8Variants } from '../../cluster/sim/figure8.js';

function run(variant: (typeof figure8Variants)[number]) {
  const replay = new Figure8Replay(variant);
  replay.runToEnd();
  return replay;
}

describe('the figure-8 replay', () => {
  it("with the paper's rule, index 2 reaches a majority, is never committed, and is overwritten without a violation", () => {
    const facts = run('safe').facts();
    expect(facts.done).toBe(true);
    expect(facts.term2Holders).toEqual(['n1', 'n2', 'n3']);
    expect(facts.term2CommittedBy).toBeNull();
    expect(facts.n5LedTerm).toBe(5);
    expect(facts.finalTermAtIndex2).toBe(3);
    expect(facts.violations).toEqual([]);
  });

  it('with --unsafe commit-previous-term, n1 counts index 2 as committed and the checker names the overwrite', () => {
    const replay = run('unsafe');
    const facts = replay.facts();
    expect(facts.term2CommittedBy).toBe('n1');
    expect(facts.n5LedTerm).toBe(5);
    expect(facts.violations.map((v) => v.invariant)).toEqual(['leader-completeness', 'committed-prefix']);
    // The replay goes on past the first violation, so the overwrite itself is seen.
    const n2 = replay.frame().nodes.find((n) => n.id === 'n2')!;
    expect(n2.log.map((e) => e.term)).toEqual([1, 3, 5]);
  });

  it('in (e), the current-term entry commits index 2 with it and n5 cannot win', () => {
    const facts = run('current-term-first').facts();
    expect(facts.term2CommittedBy).toBe('n1');
    expect(facts.n5LedTerm).toBeNull();
    expect(facts.n5Denials).toEqual(expect.arrayContaining(['n2: log-behind', 'n3: log-behind']));
    expect(facts.violations).toEqual([]);
  });

  it('steps one event at a time, the same way every run', () => {
    const a = new Figure8Replay('safe');
    const b = new Figure8Replay('safe');
    expect(a.frame().steps).toEqual([]);
    a.next();
    expect(a.frame().steps).toHaveLength(1);
    b.runToEnd();
    a.runToEnd();
    expect(a.frame()).toEqual(b.frame());
    expect(a.next()).toBe(false);
    // Every delivered message is one step; none is skipped.
    const kinds = new Set(a.frame().steps.map((s) => s.kind));
    expect([...kinds].sort()).toEqual(['action', 'deliver', 'lose', 'scene']);
  });

  it('describes each kind of message in words', () => {
    expect(describeMessage({ type: 'vote-resp', from: 'n2', to: 'n5', term: 3, pre: false, granted: false, reason: 'log-behind' })).toBe('n2 → n5 vote denied (log-behind), term 3');
    expect(describeMessage({ type: 'append', from: 'n1', to: 'n3', term: 4, prevIndex: 1, prevTerm: 1, entries: [], commit: 0 })).toBe('n1 → n3 append, term 4, prev 1:t1, no entries, commit 0');
  });
});
