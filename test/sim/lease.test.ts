// The simulator's clock fault and lease reads: a leader whose clock runs slow
// serves stale lease reads once it is cut off; ReadIndex reads never go stale,
// and without the clock fault no read does.

import { describe, expect, it } from 'vitest';
import { faultKinds, runSeeds, Simulation, type SeedRunOptions } from '../../cluster/sim/index.js';

const seeds = Array.from({ length: 12 }, (_, i) => i + 1);

describe('lease reads in the simulator', () => {
  it('the clock fault makes lease reads stale, never ReadIndex reads', () => {
    const options: SeedRunOptions = { nodes: 5, mode: 'quorum', ackLevel: 'flushed', faults: ['clock'] };
    const report = runSeeds(seeds, options);
    expect(report.invariants['stale-lease-read'].violations).toBeGreaterThan(0);
    expect(report.invariants['stale-read-index'].violations).toBe(0);
    expect(report.violations.every((v) => v.invariant === 'stale-lease-read')).toBe(true);
    expect(report.violations[0]!.replay).toContain('--faults clock');
  });

  it('without the clock fault no read is stale, and most lease reads are served on the lease', () => {
    const report = runSeeds(seeds, { nodes: 5, mode: 'quorum', ackLevel: 'flushed', faults: [...faultKinds] });
    expect(report.violations).toEqual([]);
    expect(report.reads.onLease).toBeGreaterThan(report.reads.leaseFellBack);
    expect(report.reads.readIndex).toBeGreaterThan(0);
  });

  it('a cut-off leader with a slow clock answers a lease read without a write the new leader acknowledged', () => {
    const sim = new Simulation({ seed: 5, nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' } });
    expect(sim.runUntilTrue(() => sim.leader() !== null, 2_000)).toBe(true);
    const old = sim.leader()!;
    sim.read(old, 'lease'); // starts the lease (served by ReadIndex)
    sim.runFor(200);
    sim.setClockRate(old, 0.25);
    sim.isolate(old);
    expect(sim.runUntilTrue(() => sim.leader() !== null && sim.leader() !== old, 2_000)).toBe(true);
    const write = sim.write(sim.leader()!);
    sim.runUntilTrue(() => write.status !== 'pending', 1_000);
    expect(write.status).toBe('ok');
    expect(sim.role(old)).toBe('leader');
    const lease = sim.read(old, 'lease');
    const readIndex = sim.read(old, 'read-index');
    sim.runFor(50);
    expect(lease).toMatchObject({ status: 'ok', onLease: true });
    expect(readIndex.status).toBe('pending');
    expect(sim.violations().map((v) => v.invariant)).toEqual(['stale-lease-read']);
  });
});
