// Runs the simulator over many seeds: a seeded workload and nemesis per seed,
// then healing, a liveness bound, and the final checks. Every failure carries
// the command that replays it exactly.

import { mixSeed, Prng, type AckLevel, type ConfChange, type NodeId, type ReplicationMode } from '../core/index.js';
import { invariants, type Invariant, type Violation } from './checker.js';
import { Simulation, type LostWrite } from './simulation.js';

/** The faults `--faults all` means: every safety invariant must hold under any mix of them. */
export const faultKinds = ['crash', 'pause', 'partition', 'oneway', 'loss', 'duplicate', 'reorder', 'delay', 'compaction', 'membership'] as const;
/**
 * Every fault, `clock` included: a node's clock runs slow or fast. It is not
 * in `all` because it breaks by design what rests on clocks (lease reads),
 * never Raft's safety; name it to see lease reads go stale.
 */
export const allFaultKinds = [...faultKinds, 'clock'] as const;
export type FaultKind = (typeof allFaultKinds)[number];

export interface SeedRunOptions {
  readonly nodes: number;
  readonly mode: ReplicationMode;
  readonly ackLevel: AckLevel;
  readonly faults: readonly FaultKind[];
  /** Virtual time with faults and client writes. */
  readonly durationMs?: number;
  readonly writesPerSecond?: number;
  /** Linearizable reads per virtual second, half on the lease and half by ReadIndex, each to a node that believes it leads. */
  readonly readsPerSecond?: number;
  /** After healing: how long a leader and an acknowledged write may take. */
  readonly livenessMs?: number;
  /** After the first acknowledged write: how long every node may take to hold the same log. */
  readonly settleMs?: number;
  /** Break Raft on purpose (tests only), to prove the checkers catch it. */
  readonly unsafe?: UnsafeSwitch;
}

export const unsafeSwitches = ['commit-previous-term', 'skip-vote-log-check', 'snapshot-uncommitted'] as const;
export type UnsafeSwitch = (typeof unsafeSwitches)[number];

export interface SeedResult {
  readonly seed: number;
  readonly violations: readonly Violation[];
  readonly lostWrites: readonly LostWrite[];
  readonly writes: { readonly invoked: number; readonly ok: number; readonly fail: number; readonly info: number };
  readonly reads: ReadCounts;
  readonly elections: number;
  readonly snapshots: { readonly taken: number; readonly installed: number };
  /** Membership changes committed. */
  readonly membershipChanges: number;
  readonly messages: number;
  readonly virtualMs: number;
  /** The run's last trace lines; kept only when it broke an invariant. */
  readonly trace: readonly string[];
}

export interface ReadCounts {
  readonly invoked: number;
  /** Lease reads answered on the lease, lease reads that fell back to ReadIndex, ReadIndex reads answered. */
  readonly onLease: number;
  readonly leaseFellBack: number;
  readonly readIndex: number;
  readonly failed: number;
}

const defaults = { durationMs: 10_000, writesPerSecond: 25, readsPerSecond: 10, livenessMs: 5_000, settleMs: 10_000 };

/** One seed, start to verdict. */
export function runSeed(seed: number, options: SeedRunOptions): SeedResult {
  const durationMs = options.durationMs ?? defaults.durationMs;
  const sim = new Simulation({
    seed,
    nodes: options.nodes,
    // Membership changes draw from n1..n9: the nodes beyond the initial voters start as empty spares.
    spares: options.faults.includes('membership') ? 9 - options.nodes : 0,
    replication: { mode: options.mode, ackLevel: options.ackLevel },
    ...(options.unsafe === undefined ? {} : { unsafe: unsafeConfig(options.unsafe) }),
  });
  const prng = new Prng(mixSeed(seed, 'nemesis'));
  scheduleWrites(sim, prng, durationMs, options.writesPerSecond ?? defaults.writesPerSecond);
  scheduleFaults(sim, prng, durationMs, options.faults);
  // Their own stream, so adding reads leaves the writes' and faults' schedule of a seed as it was.
  scheduleReads(sim, new Prng(mixSeed(seed, 'reads')), durationMs, options.readsPerSecond ?? defaults.readsPerSecond);
  sim.runUntil(durationMs);
  if (sim.violations().length === 0) settle(sim, options.livenessMs ?? defaults.livenessMs, options.settleMs ?? defaults.settleMs);
  const lostWrites = sim.lostWrites();
  if (lostWrites.length > 0 && sim.acksPromiseDurability() && !sim.violations().some((v) => v.invariant === 'acknowledged-write-lost')) {
    const first = lostWrites[0]!;
    sim.report('acknowledged-write-lost', `${lostWrites.length} acknowledged writes are not in the final log, the first at index ${first.index}`);
  }
  const count = (status: string): number => sim.writes.filter((w) => w.status === status).length;
  const violations = sim.violations();
  const reads: ReadCounts = {
    invoked: sim.reads.length,
    onLease: sim.reads.filter((r) => r.status === 'ok' && r.onLease).length,
    leaseFellBack: sim.reads.filter((r) => r.status === 'ok' && r.kind === 'lease' && !r.onLease).length,
    readIndex: sim.reads.filter((r) => r.status === 'ok' && r.kind === 'read-index').length,
    failed: sim.reads.filter((r) => r.status !== 'ok').length,
  };
  return {
    seed,
    violations,
    lostWrites,
    writes: { invoked: sim.writes.length, ok: count('ok'), fail: count('fail'), info: count('info') + count('pending') },
    reads,
    elections: sim.events.filter((e) => e.event.type === 'leader-elected').length,
    snapshots: { taken: sim.snapshotsTaken, installed: sim.snapshotsInstalled },
    membershipChanges: sim.membershipChanges,
    messages: sim.messagesDelivered,
    virtualMs: sim.now,
    trace: violations.length > 0 ? sim.traceLines() : [],
  };
}

function unsafeConfig(name: UnsafeSwitch): { commitPreviousTermByCount?: boolean; skipVoteLogCheck?: boolean; snapshotUncommitted?: boolean } {
  switch (name) {
    case 'commit-previous-term':
      return { commitPreviousTermByCount: true };
    case 'skip-vote-log-check':
      return { skipVoteLogCheck: true };
    case 'snapshot-uncommitted':
      return { snapshotUncommitted: true };
  }
}

/** Heals everything, then holds the cluster to its liveness promise. */
function settle(sim: Simulation, livenessMs: number, settleMs: number): void {
  sim.healAll();
  const healedAt = sim.now;
  if (!sim.runUntilTrue(() => sim.leader() !== null, livenessMs)) {
    sim.report('liveness', `no leader ${livenessMs} ms after healing`);
    return;
  }
  // A leader may still be replaced right after healing; a probe write must succeed within the bound.
  for (;;) {
    const probe = sim.write();
    sim.runUntilTrue(() => probe.status !== 'pending', Math.max(1, healedAt + livenessMs - sim.now));
    if (probe.status === 'ok') break;
    if (sim.now >= healedAt + livenessMs) {
      sim.report('liveness', `no write acknowledged within ${livenessMs} ms after healing`);
      return;
    }
    sim.runFor(10);
  }
  if (!sim.runUntilTrue(() => sim.converged(), settleMs)) {
    sim.report('liveness', `nodes did not converge on one fully committed log within ${settleMs} ms after healing`);
    return;
  }
  sim.checkConvergedLogs();
}

function scheduleWrites(sim: Simulation, prng: Prng, durationMs: number, perSecond: number): void {
  if (perSecond <= 0) return;
  const meanGapMs = 1000 / perSecond;
  for (let at = 200 + prng.next() * meanGapMs; at < durationMs; at += meanGapMs * (0.5 + prng.next())) {
    sim.at(at, () => sim.write());
  }
}

/** Reads to a node that believes it leads (a cut-off old leader too, as a client that has not noticed would). */
function scheduleReads(sim: Simulation, prng: Prng, durationMs: number, perSecond: number): void {
  if (perSecond <= 0) return;
  const meanGapMs = 1000 / perSecond;
  for (let at = 200 + prng.next() * meanGapMs; at < durationMs; at += meanGapMs * (0.5 + prng.next())) {
    const kind = prng.next() < 0.5 ? 'lease' : 'read-index';
    const pick = prng.next();
    sim.at(at, () => {
      const leading = sim.ids.filter((id) => sim.role(id) === 'leader' && !sim.isPaused(id));
      if (leading.length > 0) sim.read(leading[Math.floor(pick * leading.length)]!, kind);
    });
  }
}

/** A seeded nemesis: one fault every 0.2-1.2 s, each undone after 0.1-2 s, all healed at the end. */
function scheduleFaults(sim: Simulation, prng: Prng, durationMs: number, faults: readonly FaultKind[]): void {
  if (faults.length === 0) return;
  for (let at = 300 + prng.int(0, 700); at < durationMs; at += prng.int(200, 1200)) {
    const kind = prng.pick(faults);
    const lastsMs = prng.int(100, 2000);
    const node = prng.pick(sim.ids);
    const other = prng.pick(sim.ids.filter((id) => id !== node));
    const until = Math.min(durationMs, at + lastsMs);
    sim.at(at, () => injectFault(sim, prng, kind, node, other, until));
    sim.at(until, () => undoFault(sim, kind, node));
  }
}

function injectFault(sim: Simulation, prng: Prng, kind: FaultKind, node: NodeId, other: NodeId, until: number): void {
  switch (kind) {
    case 'crash':
      sim.crash(node);
      return;
    case 'pause':
      sim.pause(node);
      return;
    case 'partition': {
      const shuffled = [...sim.ids].sort(() => prng.next() - 0.5);
      const cut = prng.int(1, shuffled.length - 1);
      sim.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
      return;
    }
    case 'oneway':
      sim.cutOneWay(node, other);
      return;
    case 'loss':
      for (const to of sim.ids) if (to !== node) sim.network.setLink(node, to, { loss: 0.05 + prng.next() * 0.45 });
      sim.log(`loss on ${node}'s outgoing links`);
      return;
    case 'duplicate':
      for (const to of sim.ids) if (to !== node) sim.network.setLink(node, to, { duplicate: 0.1 + prng.next() * 0.4 });
      sim.log(`duplication on ${node}'s outgoing links`);
      return;
    case 'reorder':
      for (const to of sim.ids) if (to !== node) sim.network.setLink(node, to, { jitterMs: 20 + prng.next() * 80 });
      sim.log(`reordering on ${node}'s outgoing links`);
      return;
    case 'delay':
      for (const to of sim.ids) if (to !== node) sim.network.setLink(node, to, { delayMs: 20 + prng.next() * 180 });
      sim.log(`delay on ${node}'s outgoing links`);
      return;
    case 'clock': {
      // Half the time the leader's clock, and then slow: the case that stretches its lease.
      const leader = sim.leader();
      const target = leader !== null && prng.next() < 0.5 ? leader : node;
      const slow = target === leader || prng.next() < 0.5;
      sim.setClockRate(target, slow ? round2(0.2 + prng.next() * 0.4) : round2(1.5 + prng.next() * 2.5));
      // A slow clock alone harms nothing while the leader's heartbeats arrive; cut it off now and then.
      if (prng.next() < 0.5) sim.isolate(target);
      return;
    }
    case 'compaction': {
      // Until the fault ends, every running node now and then snapshots at an index it applied and
      // knows committed and keeps a small log behind it, so followers that lag or restart need InstallSnapshot.
      const round = (): void => {
        for (const id of sim.ids) sim.snapshotAndCompact(id, prng.int(0, 20), (lo, hi) => prng.int(lo, hi));
        const next = sim.now + prng.int(50, 300);
        if (next < until) sim.at(next, round);
      };
      sim.log('compaction on every node');
      round();
      return;
    }
    case 'membership': {
      // Sometimes two at once: the leader must refuse the second while the first is uncommitted.
      const burst = prng.chance(0.3) ? 2 : 1;
      for (let i = 0; i < burst; i++) {
        const change = randomChange(sim, prng);
        if (change !== null) sim.changeMembership(change);
      }
      return;
    }
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * A single-server change the leader's configuration allows: add a node as a
 * learner or a voter, promote a learner, or remove a member, keeping at least
 * one voter. The leader may still refuse it (one change at a time).
 */
function randomChange(sim: Simulation, prng: Prng): ConfChange | null {
  const membership = sim.membership();
  if (membership === null) {
    sim.log('membership change skipped: no leader');
    return null;
  }
  const { voters, learners } = membership;
  const outside = sim.ids.filter((id) => !voters.includes(id) && !learners.includes(id));
  const removable = voters.length > 1 ? [...voters, ...learners] : [...learners];
  const choices: (() => ConfChange)[] = [];
  if (outside.length > 0) {
    choices.push(() => ({ type: 'add-learner', node: prng.pick(outside) }));
    choices.push(() => ({ type: 'add-voter', node: prng.pick(outside) }));
  }
  if (learners.length > 0) choices.push(() => ({ type: 'promote-learner', node: prng.pick(learners) }));
  if (removable.length > 0) choices.push(() => ({ type: 'remove', node: prng.pick(removable) }));
  return choices.length === 0 ? null : prng.pick(choices)();
}

function undoFault(sim: Simulation, kind: FaultKind, node: NodeId): void {
  switch (kind) {
    case 'crash':
      sim.restart(node);
      return;
    case 'pause':
      sim.resume(node);
      return;
    case 'partition':
    case 'oneway':
      sim.network.healPartitions();
      sim.log('partitions healed');
      return;
    case 'loss':
    case 'duplicate':
    case 'reorder':
    case 'delay':
      sim.network.healLinks();
      sim.log('links back to normal');
      return;
    case 'clock':
      for (const id of sim.ids) sim.setClockRate(id, 1);
      sim.network.healPartitions();
      return;
    case 'compaction':
      return;
    case 'membership':
      return; // a membership change stays: the next one may undo it
  }
}

// ---------------------------------------------------------------------------
// Many seeds

export interface SimReport {
  readonly seeds: number;
  readonly seedsPerSecond: number;
  readonly elapsedMs: number;
  readonly options: SeedRunOptions;
  readonly invariants: Record<Invariant, { readonly violations: number }>;
  readonly violations: { readonly seed: number; readonly invariant: Invariant; readonly detail: string; readonly atMs: number; readonly replay: string }[];
  readonly lostAcknowledgedWrites: { readonly seed: number; readonly index: number; readonly term: number }[];
  readonly writes: { readonly invoked: number; readonly ok: number; readonly fail: number; readonly info: number };
  readonly reads: ReadCounts;
  readonly elections: number;
  readonly snapshots: { readonly taken: number; readonly installed: number };
  readonly membershipChanges: number;
  readonly minWritesPerSeed: number;
  readonly virtualMsPerSeedMin: number;
  /** The trace of the first failing seed. */
  readonly firstFailure: { readonly seed: number; readonly trace: readonly string[] } | null;
}

/** The command that replays one seed exactly. */
export function replayCommand(seed: number, options: SeedRunOptions): string {
  const parts = ['npx replica-lab sim', `--seeds ${seed}`, `--nodes ${options.nodes}`, `--mode ${options.mode}`, `--ack ${options.ackLevel}`];
  parts.push(`--faults ${options.faults.length === 0 ? 'none' : options.faults.join(',')}`);
  if (options.durationMs !== undefined && options.durationMs !== defaults.durationMs) parts.push(`--duration ${options.durationMs}`);
  if (options.writesPerSecond !== undefined && options.writesPerSecond !== defaults.writesPerSecond) parts.push(`--rate ${options.writesPerSecond}`);
  if (options.unsafe !== undefined) parts.push(`--unsafe ${options.unsafe}`);
  return parts.join(' ');
}

export function runSeeds(seeds: readonly number[], options: SeedRunOptions, onSeed?: (result: SeedResult, done: number) => void): SimReport {
  const started = performance.now();
  const counts = Object.fromEntries(invariants.map((name) => [name, { violations: 0 }])) as Record<Invariant, { violations: number }>;
  const violations: SimReport['violations'] = [];
  const lost: SimReport['lostAcknowledgedWrites'] = [];
  const writes = { invoked: 0, ok: 0, fail: 0, info: 0 };
  const reads = { invoked: 0, onLease: 0, leaseFellBack: 0, readIndex: 0, failed: 0 };
  let elections = 0;
  const snapshots = { taken: 0, installed: 0 };
  let membershipChanges = 0;
  let minWrites = Infinity;
  let minVirtualMs = Infinity;
  let firstFailure: SimReport['firstFailure'] = null;
  seeds.forEach((seed, i) => {
    const result = runSeed(seed, options);
    const byInvariant = new Set<Invariant>();
    for (const violation of result.violations) {
      if (byInvariant.has(violation.invariant)) continue;
      byInvariant.add(violation.invariant);
      counts[violation.invariant].violations++;
      violations.push({ seed, invariant: violation.invariant, detail: violation.detail, atMs: violation.atMs, replay: replayCommand(seed, options) });
    }
    if (result.violations.length > 0 && firstFailure === null) firstFailure = { seed, trace: result.trace };
    for (const write of result.lostWrites) lost.push({ seed, index: write.index, term: write.term });
    writes.invoked += result.writes.invoked;
    writes.ok += result.writes.ok;
    writes.fail += result.writes.fail;
    writes.info += result.writes.info;
    for (const key of Object.keys(reads) as (keyof ReadCounts)[]) reads[key] += result.reads[key];
    elections += result.elections;
    snapshots.taken += result.snapshots.taken;
    snapshots.installed += result.snapshots.installed;
    membershipChanges += result.membershipChanges;
    minWrites = Math.min(minWrites, result.writes.invoked);
    minVirtualMs = Math.min(minVirtualMs, result.virtualMs);
    onSeed?.(result, i + 1);
  });
  const elapsedMs = performance.now() - started;
  return {
    seeds: seeds.length,
    seedsPerSecond: seeds.length / Math.max(elapsedMs / 1000, 1e-9),
    elapsedMs,
    options,
    invariants: counts,
    violations,
    lostAcknowledgedWrites: lost,
    writes,
    reads,
    elections,
    snapshots,
    membershipChanges,
    minWritesPerSeed: seeds.length === 0 ? 0 : minWrites,
    virtualMsPerSeedMin: seeds.length === 0 ? 0 : minVirtualMs,
    firstFailure,
  };
}
