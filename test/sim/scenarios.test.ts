// Scenario tests on the simulator, after the classic Raft lab suite (initial
// election, re-election, agreement, failures, backup, figure 8, unreliable
// networks). Each drives the real core through the simulator's fault API and
// ends by asserting the simulator's own safety checkers stayed silent.

import { describe, expect, it } from 'vitest';
import { Simulation, type SimulationOptions, type WriteRecord } from '../../cluster/sim/index.js';

function cluster(nodes: number, overrides: Partial<SimulationOptions> = {}): Simulation {
  return new Simulation({ seed: 11, nodes, replication: { mode: 'quorum', ackLevel: 'flushed' }, ...overrides });
}

function electLeader(sim: Simulation, withinMs = 2_000): string {
  expect(sim.runUntilTrue(() => sim.leader() !== null, withinMs), `a leader within ${withinMs} ms`).toBe(true);
  return sim.leader()!;
}

function leaders(sim: Simulation): string[] {
  return sim.ids.filter((id) => sim.isUp(id) && !sim.isPaused(id) && sim.role(id) === 'leader');
}

function settleWrites(sim: Simulation, writes: readonly WriteRecord[], withinMs = 3_000): void {
  sim.runUntilTrue(() => writes.every((w) => w.status !== 'pending'), withinMs);
}

function committedOn(sim: Simulation, id: string): number {
  return sim.core(id)?.getCommitIndex() ?? -1;
}

function expectSafe(sim: Simulation): void {
  expect(sim.violations()).toEqual([]);
}

describe('initial election', () => {
  it('elects one leader quickly and keeps it while nothing fails', () => {
    const sim = cluster(3);
    const leader = electLeader(sim, 1_000);
    const term = sim.core(leader)!.getTerm();
    sim.runFor(3_000);
    expect(sim.leader()).toBe(leader);
    expect(sim.core(leader)!.getTerm()).toBe(term);
    expect(leaders(sim)).toEqual([leader]);
    expectSafe(sim);
  });
});

describe('re-election', () => {
  it('elects a new leader when the leader is cut off, and the old one rejoins as follower', () => {
    const sim = cluster(3);
    const first = electLeader(sim);
    sim.isolate(first);
    sim.runFor(1_500);
    const second = sim.ids.filter((id) => id !== first).find((id) => sim.role(id) === 'leader');
    expect(second, 'the majority side elects a leader').toBeDefined();
    // CheckQuorum: the isolated leader stepped down by itself.
    expect(sim.role(first)).not.toBe('leader');
    sim.network.heal();
    sim.runFor(1_000);
    expect(leaders(sim)).toHaveLength(1);
    expectSafe(sim);
  });

  it('has no leader while two of three nodes are gone, and one again once they return', () => {
    const sim = cluster(3);
    const first = electLeader(sim);
    const [a, b] = sim.ids.filter((id) => id !== first);
    sim.crash(a!);
    sim.crash(b!);
    sim.runFor(2_000);
    expect(sim.leader()).toBeNull();
    sim.restart(a!);
    sim.restart(b!);
    electLeader(sim, 3_000);
    expectSafe(sim);
  });

  it('survives many elections on 7 nodes with three of them cut off at a time', () => {
    const sim = cluster(7, { seed: 5 });
    electLeader(sim);
    for (let round = 0; round < 10; round++) {
      const shuffled = [...sim.ids].sort(() => sim.prng.next() - 0.5);
      sim.partition([shuffled.slice(0, 3), shuffled.slice(3)]);
      sim.runFor(700);
      sim.network.heal();
      sim.runFor(700);
    }
    electLeader(sim);
    expect(leaders(sim)).toHaveLength(1);
    expectSafe(sim);
  });
});

describe('agreement', () => {
  it('commits a write on every node (basic agreement)', () => {
    const sim = cluster(3);
    electLeader(sim);
    const write = sim.write();
    settleWrites(sim, [write]);
    expect(write.status).toBe('ok');
    sim.runFor(200);
    for (const id of sim.ids) expect(committedOn(sim, id)).toBeGreaterThanOrEqual(write.index);
    expectSafe(sim);
  });

  it('agrees despite a follower failure, and the follower catches up on restart', () => {
    const sim = cluster(3);
    const leader = electLeader(sim);
    const follower = sim.ids.find((id) => id !== leader)!;
    sim.crash(follower);
    const writes = Array.from({ length: 20 }, () => sim.write());
    settleWrites(sim, writes);
    expect(writes.every((w) => w.status === 'ok')).toBe(true);
    sim.restart(follower);
    expect(sim.runUntilTrue(() => sim.converged(), 3_000)).toBe(true);
    expectSafe(sim);
  });

  it('does not acknowledge a quorum write without a majority, and commits it once the majority is back', () => {
    const sim = cluster(5);
    const leader = electLeader(sim);
    const followers = sim.ids.filter((id) => id !== leader).slice(0, 3);
    for (const id of followers) sim.crash(id);
    const write = sim.write(leader);
    sim.runFor(1_000);
    // Never acknowledged: pending, or indeterminate once CheckQuorum made the leader step down.
    expect(['pending', 'info']).toContain(write.status);
    expect(committedOn(sim, leader)).toBeLessThan(write.index);
    for (const id of followers) sim.restart(id);
    const after = sim.write(electLeader(sim, 3_000));
    settleWrites(sim, [after]);
    expect(after.status).toBe('ok');
    expect(sim.runUntilTrue(() => sim.converged(), 3_000)).toBe(true);
    expectSafe(sim);
  });

  it('overwrites the log of a partitioned leader that rejoins (its writes never acknowledged)', () => {
    const sim = cluster(3);
    const old = electLeader(sim);
    settleWrites(sim, [sim.write()]);
    sim.isolate(old);
    // Writes the isolated leader takes but can never replicate.
    const stranded = Array.from({ length: 5 }, () => sim.write(old));
    sim.runFor(1_000);
    const fresh = sim.leader();
    expect(fresh).not.toBe(old);
    const committed = Array.from({ length: 5 }, () => sim.write(fresh!));
    settleWrites(sim, committed);
    expect(committed.every((w) => w.status === 'ok')).toBe(true);
    sim.network.heal();
    expect(sim.runUntilTrue(() => sim.converged(), 3_000)).toBe(true);
    expect(stranded.some((w) => w.status === 'ok')).toBe(false);
    expect(sim.events.some((e) => e.event.type === 'entries-truncated' && e.event.node === old)).toBe(true);
    sim.checkConvergedLogs();
    expectSafe(sim);
  });

  it('backs up quickly over many conflicting entries (fast conflict backtracking)', () => {
    const sim = cluster(5, { seed: 3 });
    const old = electLeader(sim);
    const others = sim.ids.filter((id) => id !== old);
    // The old leader and one follower take 200 entries that can never commit.
    sim.partition([[old, others[0]!], others.slice(1)]);
    for (let i = 0; i < 200; i++) sim.write(old);
    sim.runFor(1_000);
    // The majority side elects and commits 200 entries of its own.
    const fresh = electLeader(sim);
    expect(others.slice(1)).toContain(fresh);
    const writes = Array.from({ length: 200 }, () => sim.write(fresh));
    settleWrites(sim, writes);
    expect(writes.every((w) => w.status === 'ok')).toBe(true);
    const before = sim.messagesDelivered;
    sim.network.heal();
    expect(sim.runUntilTrue(() => sim.converged(), 2_000)).toBe(true);
    // One rejection per conflicting term, not per conflicting entry.
    expect(sim.messagesDelivered - before).toBeLessThan(60);
    sim.checkConvergedLogs();
    expectSafe(sim);
  });
});

describe('figure 8 and unreliable networks', () => {
  it('never loses a committed entry while leaders crash and restart over and over (figure 8)', () => {
    const sim = cluster(5, { seed: 8 });
    electLeader(sim);
    const writes: WriteRecord[] = [];
    for (let round = 0; round < 40; round++) {
      const leader = sim.leader();
      if (leader !== null) writes.push(sim.write(leader));
      sim.runFor(sim.prng.chance(0.5) ? sim.prng.int(5, 30) : sim.prng.int(100, 500));
      if (leader !== null && sim.prng.chance(0.7)) sim.crash(leader);
      const down = sim.ids.filter((id) => !sim.isUp(id));
      if (down.length >= 3) sim.restart(sim.prng.pick(down));
    }
    sim.healAll();
    electLeader(sim, 3_000);
    const last = sim.write();
    settleWrites(sim, [last]);
    expect(sim.runUntilTrue(() => sim.converged(), 5_000)).toBe(true);
    sim.checkConvergedLogs();
    expect(sim.lostWrites()).toEqual([]);
    expect(writes.filter((w) => w.status === 'ok').length).toBeGreaterThan(0);
    expectSafe(sim);
  });

  it('agrees over a network that drops, duplicates and reorders messages (unreliable agreement)', () => {
    const sim = cluster(5, { seed: 4, link: { delayMs: 1, jitterMs: 40, loss: 0.1, duplicate: 0.1 } });
    electLeader(sim, 5_000);
    const writes: WriteRecord[] = [];
    for (let i = 0; i < 100; i++) {
      writes.push(sim.write());
      sim.runFor(20);
    }
    settleWrites(sim, writes, 5_000);
    expect(writes.filter((w) => w.status === 'ok').length).toBeGreaterThan(80);
    expect(sim.network.dropped).toBeGreaterThan(0);
    expect(sim.network.duplicated).toBeGreaterThan(0);
    sim.network.heal();
    expect(sim.runUntilTrue(() => sim.converged(), 5_000)).toBe(true);
    sim.checkConvergedLogs();
    expect(sim.lostWrites()).toEqual([]);
    expectSafe(sim);
  });
});

describe('replication modes in the simulator', () => {
  it('async: writes acknowledged by a cut-off leader are lost after failover, and counted', () => {
    const sim = cluster(3, { replication: { mode: 'async', ackLevel: 'flushed' } });
    const old = electLeader(sim);
    settleWrites(sim, [sim.write()]);
    sim.isolate(old);
    const doomed = Array.from({ length: 5 }, () => sim.write(old));
    settleWrites(sim, doomed, 100);
    expect(doomed.every((w) => w.status === 'ok')).toBe(true);
    sim.runFor(1_000);
    const fresh = sim.leader()!;
    expect(fresh).not.toBe(old);
    settleWrites(sim, [sim.write(fresh)]);
    sim.network.heal();
    expect(sim.runUntilTrue(() => sim.converged(), 3_000)).toBe(true);
    const lost = sim.lostWrites();
    expect(lost.map((l) => l.id)).toEqual(doomed.map((w) => w.id));
    expect(sim.events.some((e) => e.event.type === 'entries-rolled-back' && e.event.node === old)).toBe(true);
    expectSafe(sim);
  });

  it('sync: a crashed follower blocks every write until it returns', () => {
    const sim = cluster(3, { replication: { mode: 'sync', ackLevel: 'flushed' } });
    const leader = electLeader(sim);
    const follower = sim.ids.find((id) => id !== leader)!;
    sim.crash(follower);
    const write = sim.write(leader);
    sim.runFor(500);
    expect(write.status).toBe('pending');
    sim.restart(follower);
    settleWrites(sim, [write]);
    expect(write.status).toBe('ok');
    expectSafe(sim);
  });

  it('sync with a timeout and fallback to async: the write is acknowledged after the timeout', () => {
    const sim = cluster(3, { replication: { mode: 'sync', ackLevel: 'flushed', syncTimeoutMs: 200, syncFallback: 'async' } });
    const leader = electLeader(sim);
    sim.crash(sim.ids.find((id) => id !== leader)!);
    const write = sim.write(leader);
    sim.runFor(100);
    expect(write.status).toBe('pending');
    sim.runFor(300);
    expect(write.status).toBe('ok');
    expect(sim.events.some((e) => e.event.type === 'sync-degraded')).toBe(true);
    expectSafe(sim);
  });
});

describe('determinism', () => {
  it('replays a seed exactly: same trace, same writes, same messages', () => {
    const run = (): { trace: string[]; writes: string; messages: number } => {
      const sim = cluster(5, { seed: 99, link: { delayMs: 1, jitterMs: 10, loss: 0.05, duplicate: 0.05 } });
      for (let i = 0; i < 50; i++) {
        sim.write();
        sim.runFor(37);
        if (i === 20) sim.crash(sim.leader() ?? 'n1');
        if (i === 35) sim.healAll();
      }
      return { trace: sim.traceLines(), writes: JSON.stringify(sim.writes), messages: sim.messagesDelivered };
    };
    const first = run();
    const second = run();
    expect(second).toEqual(first);
    expect(first.trace.length).toBeGreaterThan(3);
  });
});
