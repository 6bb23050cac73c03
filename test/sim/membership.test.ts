// Membership changes in the simulator: the `membership` fault changes the
// configuration among n1..n9 while the other faults run, and the
// config-majorities invariant can fail (it is not a check that always passes).

import { describe, expect, it } from 'vitest';
import { SafetyChecker, Simulation, runSeeds, type SeedRunOptions } from '../../cluster/sim/index.js';

describe('the membership fault', () => {
  it.each(['quorum', 'sync'] as const)('changes membership often and breaks no invariant in %s mode', (mode) => {
    const options: SeedRunOptions = { nodes: 3, mode, ackLevel: 'flushed', faults: ['membership', 'crash', 'partition'], durationMs: 5_000 };
    const report = runSeeds([1, 2, 3, 4, 5, 6], options);
    expect(report.violations).toEqual([]);
    expect(report.lostAcknowledgedWrites).toEqual([]);
    expect(report.membershipChanges).toBeGreaterThan(6);
  });

  it('grows a 1-node cluster to spare nodes and back, and a removed node stops mattering for convergence', () => {
    const sim = new Simulation({ seed: 9, nodes: 1, spares: 2, replication: { mode: 'quorum', ackLevel: 'flushed' } });
    expect(sim.runUntilTrue(() => sim.leader() === 'n1', 2_000)).toBe(true);
    const step = (change: Parameters<Simulation['changeMembership']>[0]): void => {
      expect(sim.changeMembership(change)).toMatch(/^appended at/);
      expect(sim.runUntilTrue(() => sim.converged(), 2_000)).toBe(true);
    };
    sim.write();
    step({ type: 'add-learner', node: 'n2' });
    step({ type: 'promote-learner', node: 'n2' });
    step({ type: 'add-voter', node: 'n3' });
    expect(sim.membership()?.voters).toEqual(['n1', 'n2', 'n3']);
    sim.crash('n3');
    step({ type: 'remove', node: 'n3' }); // n1 and n2 are a majority of 3 without n3, and n3 no longer has to converge
    sim.write();
    expect(sim.runUntilTrue(() => sim.converged(), 2_000)).toBe(true);
    sim.checkConvergedLogs();
    expect(sim.violations()).toEqual([]);
  });
});

describe('config-majorities', () => {
  it('reports two configurations more than one voter apart used in one term, and a change that moves two voters', () => {
    const checker = new SafetyChecker();
    checker.configUsed('n1', 4, ['n1', 'n2', 'n3'], 'winning the election');
    checker.configUsed('n1', 4, ['n1', 'n2', 'n3', 'n4'], 'committing index 9');
    checker.configUsed('n1', 5, ['n1', 'n2'], 'winning the election'); // another term: no comparison
    expect(checker.violations).toEqual([]);
    checker.configUsed('n5', 4, ['n1', 'n2', 'n4', 'n5'], 'winning the election');
    checker.configAppended('n1', 12, ['n1', 'n2', 'n3'], ['n1', 'n4', 'n5', 'n2', 'n3']);
    expect(checker.violations.map((v) => v.invariant)).toEqual(['config-majorities', 'config-majorities']);
  });
});
