// Snapshots and compaction in the simulator: a follower that was down while
// the leader compacted its log catches up by InstallSnapshot (its data
// crossing the simulated network), restarts from a snapshot plus a shorter
// log, and the snapshot invariants stay silent over seeded fault runs.

import { describe, expect, it } from 'vitest';
import { runSeeds, Simulation } from '../../cluster/sim/index.js';

function cluster(): Simulation {
  return new Simulation({ seed: 7, nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' } });
}

function writeMany(sim: Simulation, count: number): void {
  for (let i = 0; i < count; i++) {
    sim.write();
    sim.runFor(10);
  }
  sim.runFor(200);
}

describe('snapshots in the simulator', () => {
  it('catches a follower up past the compaction point by InstallSnapshot, then restarts it from the snapshot', () => {
    const sim = cluster();
    expect(sim.runUntilTrue(() => sim.leader() !== null, 2_000)).toBe(true);
    const leader = sim.leader()!;
    const follower = sim.ids.find((id) => id !== leader)!;
    writeMany(sim, 5);
    sim.crash(follower);
    writeMany(sim, 40);
    const index = sim.snapshotAndCompact(leader, 3);
    expect(index).not.toBeNull();
    expect(sim.core(leader)!.firstIndex()).toBe(index! - 2);
    sim.restart(follower);
    expect(sim.runUntilTrue(() => sim.converged(), 3_000)).toBe(true);
    expect(sim.snapshotsInstalled).toBe(1);
    expect(sim.core(follower)!.status()).toMatchObject({ snapshotIndex: index, firstIndex: index! + 1 });
    // Restart from the installed snapshot and the shorter log after it.
    writeMany(sim, 5);
    sim.crash(follower);
    sim.restart(follower);
    expect(sim.core(follower)!.status().snapshotIndex).toBe(index);
    writeMany(sim, 5);
    expect(sim.runUntilTrue(() => sim.converged(), 3_000)).toBe(true);
    sim.checkConvergedLogs();
    expect(sim.violations()).toEqual([]);
  });

  it('keeps every invariant over seeded runs with compaction, and followers do install snapshots', () => {
    const report = runSeeds([1, 2, 3, 4, 5, 6, 7, 8], { nodes: 5, mode: 'quorum', ackLevel: 'flushed', faults: ['crash', 'partition', 'compaction'], durationMs: 5_000 });
    expect(report.violations).toEqual([]);
    expect(report.lostAcknowledgedWrites).toEqual([]);
    expect(report.snapshots.taken).toBeGreaterThan(0);
    expect(report.snapshots.installed).toBeGreaterThan(0);
  });

  it('catches nodes that snapshot applied entries not yet known committed', () => {
    // In async a follower applies what it flushed before it hears the commit index.
    const seeds = Array.from({ length: 20 }, (_, i) => i + 1);
    const report = runSeeds(seeds, { nodes: 5, mode: 'async', ackLevel: 'flushed', faults: ['crash', 'partition', 'compaction'], unsafe: 'snapshot-uncommitted' });
    expect(report.invariants['snapshot-uncommitted'].violations).toBeGreaterThan(0);
    expect(report.violations.find((v) => v.invariant === 'snapshot-uncommitted')?.detail).toMatch(/snapshot/);
  });
});
