// A nemesis run: a real cluster, the built-in clients recording a history, and
// seeded random faults through the Cluster API (kill/restart, pause/resume,
// partition/heal, slow or lossy links, a slow disk or apply), then heal, settle, record the final
// state, and check the history. Everything lands in one run directory:
// history.jsonl, report.md and each node's data dir with its node.log.
//
// The seed fixes the fault schedule and the workload's choices; real processes
// still make the timing differ from run to run.

import { setTimeout as sleep } from 'node:timers/promises';
import { closeSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkHistoryFile, formatMarkdown, summarize, type CheckReport, type CheckSummary } from '../check/index.js';
import { mixSeed, Prng, type AckLevel, type Failover, type NodeId, type ReplicationMode } from '../core/index.js';
import { Cluster, raftCluster, type ClusterOptions } from './cluster.js';
import { engineNames, postgresCluster, type EngineCapabilities, type EngineKind, type ReplicationEngine } from '../engine.js';
import type { FailoverDecision } from '../postgres/cluster.js';
import type { PgFinalStateSummary } from '../postgres/final-state.js';
import { BadRequestError } from './errors.js';
import { nemesisFaultsKeptMax } from './constants.js';
import { makePrivateDir, openFreshName } from './files.js';
import { recordFinalState, settle, type FinalStateSummary, type SettleResult } from './final-state.js';
import type { WorkloadOptions } from './workload.js';

export type NemesisFault = 'kill' | 'pause' | 'partition' | 'delay' | 'loss' | 'disk' | 'clock' | 'membership';
export const nemesisFaults: readonly NemesisFault[] = ['kill', 'pause', 'partition', 'delay', 'loss', 'disk', 'clock', 'membership'];

export interface NemesisOptions {
  readonly nodes: number;
  readonly mode: ReplicationMode;
  readonly ackLevel: AckLevel;
  readonly failover: Failover;
  readonly faults: readonly NemesisFault[];
  /** Mean time a fault lasts; the quiet time between faults is about half of it. */
  readonly intervalMs: number;
  readonly durationMs: number;
  readonly seed: number;
  /** The run directory; kept. */
  readonly dataDir: string;
  readonly workload?: Partial<WorkloadOptions>;
  readonly settleTimeoutMs?: number;
  readonly fsync?: boolean;
}

/** The workload a nemesis runs unless told otherwise: linearizable reads, so a valid run has no stale read at all. */
export const nemesisWorkload: Partial<WorkloadOptions> = {
  rate: 100,
  concurrency: 10,
  readFraction: 0.5,
  keys: 20,
  valueBytes: 16,
  readTarget: 'leader',
  readConsistency: 'linearizable',
  sessions: 'none',
  timeoutMs: 1_000,
};

export interface FaultLogEntry {
  /** performance.now() of this process, the clock of the history's `mono`. */
  readonly mono: number;
  readonly action: 'start' | 'end';
  /** `rejoin`: on PostgreSQL, a server the failover manager fenced (or a second primary) restarted after a fault, rewound onto the primary's timeline. */
  readonly fault: NemesisFault | 'promote' | 'rejoin';
  readonly detail: string;
}

export interface NemesisProgress {
  readonly phase: 'starting' | 'faults' | 'settling' | 'final-state' | 'checking';
  readonly elapsedMs: number;
  readonly durationMs: number;
  readonly operations: { readonly ok: number; readonly fail: number; readonly info: number };
  readonly faults: number;
  readonly activeFault: string | null;
}

export interface NemesisResult {
  readonly runDir: string;
  readonly historyPath: string;
  readonly reportPath: string;
  readonly report: CheckReport;
  readonly summary: CheckSummary;
  readonly settle: SettleResult;
  readonly finalState: FinalStateSummary;
  readonly faults: readonly FaultLogEntry[];
  readonly engine: EngineKind;
  /** The verdict: the checker's, and on PostgreSQL also no read of a write that did not survive and every lost write confirmed by pg_rewind. */
  readonly valid: boolean;
  /** On PostgreSQL: what settling did, the failover manager's decisions and the final state's own findings; null on replica-lab. */
  readonly postgres: PostgresNemesisResult | null;
}

export interface PostgresNemesisResult extends PgFinalStateSummary {
  readonly settleActions: readonly string[];
  readonly failovers: readonly FailoverDecision[];
  readonly failoverMode: string;
  /** Acknowledged writes the engine confirmed in what pg_rewind removed (lostWrites()). */
  readonly lostWrites: number;
}

/** Lost writes the checker found that no rewind confirmed (on PostgreSQL every one should be: the run is not valid otherwise). */
export function lostNotByRewind(report: Pick<CheckReport, 'lostWrites' | 'counts'>): number {
  return report.counts.lostWrites - report.lostWrites.filter((lost) => lost.confirmation.by === 'rollback').length;
}

export interface NemesisHooks {
  /** Starts the cluster (tests pass one that stops it in afterEach; `--engine` passes its engine's start). */
  readonly startCluster?: (options: ClusterOptions) => Promise<ReplicationEngine>;
  readonly onProgress?: (progress: NemesisProgress) => void;
}

interface ActiveFault {
  readonly fault: NemesisFault;
  readonly detail: string;
  readonly undo: () => Promise<string>;
}

export async function runNemesis(options: NemesisOptions, hooks: NemesisHooks = {}): Promise<NemesisResult> {
  const runDir = resolve(options.dataDir);
  makePrivateDir(runDir);
  let faultsStarted = performance.now();
  const faultLog: FaultLogEntry[] = [];
  let phase: NemesisProgress['phase'] = 'starting';
  let active: ActiveFault | null = null;
  const engine = await (hooks.startCluster ?? ((o: ClusterOptions) => Cluster.start(o)))({
    nodes: options.nodes,
    dataDir: runDir,
    replication: { mode: options.mode, ackLevel: options.ackLevel },
    failover: options.failover,
    seed: options.seed,
    fsync: options.fsync ?? true,
  });
  const raft = raftCluster(engine);
  const postgres = postgresCluster(engine);
  const refusal = engineRefusal(engine, options.faults);
  if ((raft === null && postgres === null) || refusal !== null) {
    await engine.stop();
    throw new BadRequestError(refusal ?? `a nemesis run on the ${engineNames[engine.engine]} engine is not in this version`);
  }
  const cluster: ReplicationEngine = engine;
  // Loaded only on PostgreSQL, as the engine itself is (cli/engine.ts).
  const pgFinal = postgres === null ? null : await import('../postgres/final-state.js');
  const progress = (): void => {
    const stats = cluster.workload.stats();
    hooks.onProgress?.({
      phase,
      elapsedMs: phase === 'starting' ? 0 : performance.now() - faultsStarted,
      durationMs: options.durationMs,
      operations: { ok: stats.writes.ok + stats.reads.ok, fail: stats.writes.fail + stats.reads.fail, info: stats.writes.info },
      faults: faultLog.filter((f) => f.action === 'start').length,
      activeFault: active === null ? null : `${active.fault} ${active.detail}`,
    });
  };
  const ticker = setInterval(progress, 200);
  const log = (entry: Omit<FaultLogEntry, 'mono'>): void => {
    if (faultLog.length < nemesisFaultsKeptMax) faultLog.push({ mono: performance.now(), ...entry });
  };
  try {
    await cluster.waitForLeader({ timeoutMs: 10_000 });
    // PostgreSQL's WAL holds no row data to read back: a trigger-filled table is the committed log (postgres/final-state.ts).
    if (pgFinal !== null) await pgFinal.addWriteLog(cluster);
    cluster.workload.start({ ...nemesisWorkload, ...options.workload, seed: mixSeed(options.seed, 'clients'), history: join(runDir, 'history.jsonl') });
    phase = 'faults';
    const prng = new Prng(mixSeed(options.seed, 'nemesis'));
    faultsStarted = performance.now();
    const remaining = (): number => options.durationMs - (performance.now() - faultsStarted);
    const operator = options.failover === 'manual' ? startOperator(cluster, log) : null;
    // Membership changes run on their own schedule, alongside whichever other fault is active.
    const changer = options.faults.includes('membership') && raft !== null ? startMembershipChanges(raft, new Prng(mixSeed(options.seed, 'membership')), options, log, remaining) : null;
    const others = options.faults.filter((fault) => fault !== 'membership');
    try {
      while (remaining() > 0) {
        await sleep(Math.max(0, Math.min(remaining(), options.intervalMs * (0.25 + prng.next() / 2))));
        if (remaining() <= 0 || others.length === 0) continue;
        active = await inject(cluster, prng, prng.pick(others));
        log({ action: 'start', fault: active.fault, detail: active.detail });
        await sleep(Math.max(0, Math.min(remaining(), options.intervalMs * (0.5 + prng.next()))));
        // On PostgreSQL the failover manager may fence a server while it is being restarted: said, not fatal (rejoin brings it back).
        const undone = pgFinal === null ? await active.undo() : await active.undo().catch((error: unknown) => `undo failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
        log({ action: 'end', fault: active.fault, detail: undone });
        active = null;
        if (pgFinal !== null) for (const detail of await rejoin(cluster)) log({ action: 'end', fault: 'rejoin', detail });
      }
    } finally {
      operator?.stop();
      await changer?.stop();
    }
    phase = 'settling';
    await cluster.workload.stop();
    const historyPath = cluster.workload.historyFile()!;
    const settleOptions = { timeoutMs: options.settleTimeoutMs ?? (pgFinal === null ? 20_000 : 60_000), manualFailover: options.failover === 'manual' };
    let settled: SettleResult;
    let finalState: FinalStateSummary;
    let pgResult: PostgresNemesisResult | null = null;
    if (pgFinal !== null && postgres !== null) {
      const pgSettled = await pgFinal.settlePostgres(cluster, settleOptions);
      settled = pgSettled;
      phase = 'final-state';
      const pgState = await pgFinal.recordPostgresFinalState(cluster, historyPath, pgSettled.target);
      finalState = pgState;
      pgResult = { settleActions: pgSettled.actions, failovers: postgres.failovers(), failoverMode: postgres.failoverMode, lostWrites: postgres.lostWrites().length, ...pgState };
    } else {
      settled = await settle(raft!, settleOptions);
      phase = 'final-state';
      finalState = await recordFinalState(raft!, historyPath);
    }
    phase = 'checking';
    progress();
    const { report } = await checkHistoryFile(historyPath);
    const summary = summarize(report, runDir);
    // report.md, unless a file of that name is not a nemesis report: then report-2.md, … (the path is returned and printed).
    const valid = report.valid && (pgResult === null || ((pgResult.vanishedReads ?? 0) === 0 && pgResult.unmatchedRewound === 0 && lostNotByRewind(report) === 0));
    const { path: reportPath, fd } = openFreshName(runDir, 'report', '.md', 'a replica-lab nemesis report', (line) => line === `# ${reportTitle}`);
    try {
      writeSync(fd, markdownReport({ options, report, settled, faultLog, runDir, finalState, engine: engine.engine, postgres: pgResult, valid }));
    } finally {
      closeSync(fd);
    }
    return { runDir, historyPath, reportPath, report, summary, settle: settled, finalState, faults: faultLog, engine: engine.engine, valid, postgres: pgResult };
  } finally {
    clearInterval(ticker);
    await cluster.workload.stop();
    await cluster.stop();
  }
}

/** The faults that need more than the members every engine shares (cluster/engine.ts). */
const faultNeeds: Partial<Record<NemesisFault, { readonly capability: keyof EngineCapabilities; readonly lacks: string }>> = {
  clock: { capability: 'clock', lacks: 'no election timers or leases to slow' },
  disk: { capability: 'nodeFaults', lacks: "no way here to slow a server's WAL flush or replay" },
  membership: { capability: 'membership', lacks: 'no voting membership to change' },
};

/** One line when a fault asked for needs what the engine lacks; null when every one can run. */
export function engineRefusal(engine: Pick<ReplicationEngine, 'engine' | 'capabilities'>, faults: readonly NemesisFault[]): string | null {
  for (const fault of faults) {
    const need = faultNeeds[fault];
    if (need !== undefined && !engine.capabilities[need.capability]) return `the ${fault} fault needs the replica-lab engine: ${engineNames[engine.engine]} has ${need.lacks}`;
  }
  return null;
}

/** The Raft cluster for a fault only it has; runNemesis refused such a fault on any other engine before the run. */
function raftOnly(engine: ReplicationEngine): Cluster {
  const cluster = raftCluster(engine);
  if (cluster === null) throw new BadRequestError(`this fault needs the replica-lab engine, not ${engineNames[engine.engine]}`);
  return cluster;
}

/** Picks a node, the leader half of the time (the most interesting victim), among the running ones. */
function victim(cluster: ReplicationEngine, prng: Prng): NodeId | null {
  const running = cluster
    .status()
    .filter((node) => node.up && !node.paused)
    .map((node) => node.id);
  const leader = cluster.leader();
  if (leader !== null && running.includes(leader) && prng.chance(0.5)) return leader;
  return running.length === 0 ? null : prng.pick(running);
}

async function inject(cluster: ReplicationEngine, prng: Prng, fault: NemesisFault): Promise<ActiveFault> {
  const none: ActiveFault = { fault, detail: 'skipped: no running node', undo: async () => 'nothing to undo' };
  switch (fault) {
    case 'kill': {
      const node = victim(cluster, prng);
      if (node === null) return none;
      await cluster.kill(node);
      return { fault, detail: `${node} killed`, undo: async () => (gone(cluster, node) ?? (await cluster.restart(node), `${node} restarted`)) };
    }
    case 'pause': {
      const node = victim(cluster, prng);
      if (node === null) return none;
      cluster.pause(node);
      return { fault, detail: `${node} paused`, undo: async () => gone(cluster, node) ?? (cluster.resume(node), `${node} resumed`) };
    }
    case 'partition': {
      const ids = shuffled(cluster.ids, prng);
      const leader = cluster.leader();
      // Half the time the leader is cut off with the minority: the case that tests fencing and lost writes.
      if (leader !== null && prng.chance(0.5)) ids.unshift(...ids.splice(ids.indexOf(leader), 1));
      const minority = ids.slice(0, Math.max(1, Math.floor((ids.length - 1) / 2)));
      const majority = ids.slice(minority.length);
      cluster.partition([minority, majority]);
      return { fault, detail: `${minority.join(' ')} | ${majority.join(' ')}`, undo: async () => (cluster.heal(), 'healed') };
    }
    case 'delay':
    case 'loss': {
      const node = victim(cluster, prng);
      if (node === null) return none;
      const link = fault === 'delay' ? { delayMs: prng.int(20, 200), jitterMs: prng.int(0, 50) } : { loss: prng.int(10, 50) / 100 };
      for (const other of cluster.ids.filter((id) => id !== node)) {
        cluster.setLink(node, other, link);
        cluster.setLink(other, node, link);
      }
      const detail = fault === 'delay' ? `links of ${node} delayed ${link.delayMs}±${link.jitterMs} ms` : `links of ${node} lose ${Math.round((link.loss ?? 0) * 100)}%`;
      return { fault, detail, undo: async () => (cluster.heal(), 'links restored') };
    }
    case 'clock': {
      // A slow clock (still fast enough for its heartbeats to beat the others' election timeouts), on the
      // leader half the time, and half the time cut off too: the case where a lease outlives the leadership.
      const node = victim(cluster, prng);
      if (node === null) return none;
      const rate = [0.5, 0.6, 0.7][prng.int(0, 2)]!;
      const raft = raftOnly(cluster);
      raft.setClockRate(node, rate);
      const cut = prng.chance(0.5);
      if (cut) cluster.partition([[node], cluster.ids.filter((id) => id !== node)]);
      return {
        fault,
        detail: `${node}'s clock at ×${rate}${cut ? ', cut off' : ''}`,
        undo: async () => {
          raft.setClockRate(node, 1);
          if (cut) cluster.heal();
          return `${node}'s clock back to normal${cut ? ', healed' : ''}`;
        },
      };
    }
    case 'disk': {
      // A slow fsync (the node acknowledges late: flush lag) or a slow apply (it serves old data longer: replay lag).
      const node = victim(cluster, prng);
      if (node === null) return none;
      const raft = raftOnly(cluster);
      if (prng.chance(0.5)) {
        const diskSlowMs = prng.int(10, 100);
        raft.setNodeFault(node, { diskSlowMs });
        return { fault, detail: `${node} fsync ${diskSlowMs} ms slower`, undo: async () => gone(cluster, node) ?? (raft.setNodeFault(node, { diskSlowMs: 0 }), `${node} disk normal`) };
      }
      const applySlowMs = prng.int(2, 20);
      raft.setNodeFault(node, { applySlowMs });
      return { fault, detail: `${node} each apply ${applySlowMs} ms slower`, undo: async () => gone(cluster, node) ?? (raft.setNodeFault(node, { applySlowMs: 0 }), `${node} apply normal`) };
    }
    case 'membership':
      // Runs on its own schedule (startMembershipChanges), never picked here.
      return { fault, detail: 'skipped: membership changes run alongside', undo: async () => 'nothing to undo' };
  }
}

/**
 * On PostgreSQL, after a fault is undone: a server the failover manager fenced
 * is down, and an old primary an operator's promotion left running (a paused
 * one resumed) is a second primary no client uses. Each is restarted (and so
 * rewound onto the primary's timeline, its lost writes listed), as an
 * operator would bring it back. Returns what it did.
 */
async function rejoin(cluster: ReplicationEngine): Promise<string[]> {
  const leader = cluster.leader();
  if (leader === null) return [];
  const done: string[] = [];
  for (const node of cluster.status()) {
    if (node.id === leader || node.paused) continue;
    const stray = node.up && node.role === 'leader';
    if (node.up && !stray) continue;
    try {
      if (stray) await cluster.kill(node.id);
      await cluster.restart(node.id);
      done.push(`${node.id} ${stray ? 'ran as a second primary: killed and ' : 'was down: '}restarted`);
    } catch (error) {
      done.push(`${node.id} could not rejoin: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
  return done;
}

/** Said instead of undoing a fault on a node a membership change removed meanwhile; null while it is in the cluster. */
function gone(cluster: ReplicationEngine, node: NodeId): string | null {
  return cluster.ids.includes(node) ? null : `nothing to undo: ${node} was removed from the cluster`;
}

/** A membership change takes at most this long in a nemesis run; one that times out may still commit. */
const membershipChangeTimeoutMs = 10_000;
/** Voters a nemesis run always keeps: removing below this would make the faults take the majority away too easily. */
const votersKeptMin = 3;

/**
 * Membership changes while the other faults run: every interval or so,
 * promote a learner that has caught up, add a node (as a learner or straight
 * as a voter), or remove one (the leader half the time), keeping at least
 * three voters and at most two nodes more than the run started with. A change
 * the cluster refuses (no leader, a learner still catching up, ids n1..n9 all
 * used) is logged as such; nothing here throws.
 */
function startMembershipChanges(
  cluster: Cluster,
  prng: Prng,
  options: NemesisOptions,
  log: (entry: Omit<FaultLogEntry, 'mono'>) => void,
  remaining: () => number,
): { stop: () => Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped && remaining() > 0) {
      await sleep(Math.max(0, Math.min(remaining(), options.intervalMs * (1.5 + prng.next()))));
      if (stopped || remaining() <= 0) break;
      const what = pickChange(cluster, prng, options.nodes);
      if (what === null) continue;
      log({ action: 'start', fault: 'membership', detail: what.detail });
      let outcome: string;
      try {
        outcome = await what.run();
      } catch (error) {
        outcome = `${what.detail} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
      }
      log({ action: 'end', fault: 'membership', detail: outcome });
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

function pickChange(cluster: Cluster, prng: Prng, nodes: number): { detail: string; run: () => Promise<string> } | null {
  const membership = cluster.membership();
  if (membership === null) return null;
  const timeoutMs = membershipChangeTimeoutMs;
  const learner = membership.learners.find((id) => cluster.ids.includes(id));
  if (learner !== undefined) {
    return { detail: `promote learner ${learner}`, run: async () => (await cluster.promoteLearner(learner, { timeoutMs }), `${learner} promoted to voter`) };
  }
  const voters = membership.voters.filter((id) => cluster.ids.includes(id));
  const canRemove = voters.length > votersKeptMin;
  const canAdd = cluster.ids.length < Math.min(nodes + 2, 9) && cluster.ids.length < 9;
  if (canRemove && (!canAdd || prng.chance(0.5))) {
    const leader = cluster.leader();
    const node = leader !== null && voters.includes(leader) && prng.chance(0.5) ? leader : prng.pick(voters);
    return { detail: `remove ${node}${node === leader ? ' (the leader)' : ''}`, run: async () => (await cluster.removeNode(node, { timeoutMs }), `${node} removed`) };
  }
  if (!canAdd) return null;
  const as = prng.chance(0.5) ? 'learner' : 'voter';
  return { detail: `add a ${as}`, run: async () => `${await cluster.addNode({ as, timeoutMs })} added as a ${as}` };
}

/** Manual failover has no elections: after a second without a leader, promote the most up-to-date running node. */
function startOperator(cluster: ReplicationEngine, log: (entry: Omit<FaultLogEntry, 'mono'>) => void): { stop: () => void } {
  let leaderlessSince = performance.now();
  let busy = false;
  const timer = setInterval(() => {
    if (cluster.leader() !== null || busy) {
      leaderlessSince = performance.now();
      return;
    }
    if (performance.now() - leaderlessSince < 1_000) return;
    const best = cluster
      .status()
      .filter((n) => n.up && !n.paused)
      .sort((a, b) => b.lastIndex - a.lastIndex)[0];
    if (best === undefined) return;
    busy = true;
    void cluster
      .promote(best.id)
      .then(
        () => log({ action: 'start', fault: 'promote', detail: `${best.id} promoted (operator)` }),
        () => {},
      )
      .finally(() => {
        busy = false;
        leaderlessSince = performance.now();
      });
  }, 250);
  return { stop: () => clearInterval(timer) };
}

function shuffled<T>(items: readonly T[], prng: Prng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const reportTitle = 'replica-lab nemesis';

/** What a PostgreSQL run found beyond the checker, and what its verdict claims: for the terminal and report.md. */
export function postgresLines(pg: PostgresNemesisResult, report: Pick<CheckReport, 'lostWrites' | 'counts'>): string[] {
  const done = pg.failovers.filter((f) => f.error === null);
  const lines = [
    `failover: ${pg.failoverMode}; ${done.length} automatic failover${done.length === 1 ? '' : 's'}${done.length === 0 ? '' : ` (${done.map((f) => `${f.from ?? '-'} -> ${f.to}${f.fenced ? ' fenced' : ''}`).join(', ')})`}${pg.failovers.length > done.length ? `, ${pg.failovers.length - done.length} failed` : ''}`,
    `lost writes: ${report.counts.lostWrites} found by the checker, ${report.counts.lostWrites - lostNotByRewind(report)} of them confirmed in what pg_rewind removed; pg_rewind removed ${pg.lostWrites} acknowledged writes${pg.unmatchedRewound > 0 ? `, ${pg.unmatchedRewound} of them with no acknowledgement at that position in the history (NOT MATCHED)` : ''}`,
    pg.vanishedReads === null
      ? 'reads of writes that did not survive: not checked (too many committed writes to hold)'
      : `reads of writes that did not survive: ${pg.vanishedReads}${pg.vanishedReads === 0 ? '' : ` (e.g. ${pg.vanishedExamples.slice(0, 3).map((r) => `op ${r.op} read ${r.key} = ${JSON.stringify(r.value)} on ${r.node}`).join('; ')}): a read saw a write the final log does not hold`}`,
  ];
  if (pg.settleActions.length > 0) lines.push(`settling: ${pg.settleActions.join('; ')}`);
  return lines;
}

function markdownReport(input: {
  options: NemesisOptions;
  report: CheckReport;
  settled: SettleResult;
  faultLog: readonly FaultLogEntry[];
  runDir: string;
  finalState: FinalStateSummary;
  engine: EngineKind;
  postgres: PostgresNemesisResult | null;
  valid: boolean;
}): string {
  const { options, settled, faultLog, runDir, finalState, postgres } = input;
  const starts = faultLog.filter((f) => f.action === 'start');
  const preamble = [
    `Seed ${options.seed}: ${options.nodes} nodes, ${options.mode}/${options.ackLevel}, failover ${options.failover}, faults ${options.faults.join(',') || 'none'} every ~${options.intervalMs / 1000} s for ${options.durationMs / 1000} s.`,
    '',
    `Replay the schedule: \`npx replica-lab nemesis --nodes ${options.nodes} --mode ${options.mode} --ack ${options.ackLevel} --failover ${options.failover} --faults ${options.faults.join(',') || 'none'} --interval ${options.intervalMs / 1000} --duration ${options.durationMs / 1000} --seed ${options.seed}\` (the seed fixes the faults and the clients' choices; process timing still varies).`,
    '',
    `Workload: ${Object.entries({ ...nemesisWorkload, ...options.workload })
      .map(([name, value]) => `${name} ${String(value)}`)
      .join(', ')}.`,
    '',
    `Run directory: \`${runDir}\` — \`history.jsonl\` (format: cluster/check/README.md), each node's data and \`node.log\` in \`<node>/\`.`,
    '',
    settled.settled
      ? `Settled ${(settled.waitedMs / 1000).toFixed(1)} s after the faults ended, with ${settled.leader} leading.`
      : `**Did not settle** within the timeout: ${settled.detail}. The final state below is what the nodes held then.`,
    '',
    postgres === null
      ? `Final log: ${finalState.committedWrites} committed workload writes; ${finalState.rolledBackWrites} workload writes in rollback files.`
      : `Final log (PostgreSQL, the primary's \`kv_writes\`): ${finalState.committedWrites} committed workload writes; ${finalState.rolledBackWrites} acknowledged writes pg_rewind removed (each \`<node>/pg_rewind.log\`, \`<node>/pg_waldump.log\`).`,
    '',
    ...(postgres === null
      ? []
      : [
          '## On PostgreSQL',
          '',
          ...postgresLines(postgres, input.report).map((line) => `- ${line}`),
          '',
          ...(input.report.valid && !input.valid ? ['**Not valid on PostgreSQL** (the lines above), whatever the checker\'s verdict below.', ''] : []),
        ]),
  ];
  const faults = ['', `## Faults (${starts.length})`, '', 'Times as in the anomalies above: seconds since the history began.', '', '| t (s) | action | fault | detail |', '|---:|---|---|---|'];
  const t0 = input.report.startMono ?? 0;
  for (const entry of faultLog.slice(0, 500)) faults.push(`| ${((entry.mono - t0) / 1000).toFixed(3)} | ${entry.action} | ${entry.fault} | ${entry.detail.replaceAll('|', '\\|')} |`);
  let markdown = formatMarkdown(input.report, { title: reportTitle, preamble });
  // The run's verdict, not only the history's: on PostgreSQL the final-state checks can fail a history the checker finds valid.
  if (input.report.valid && !input.valid) markdown = markdown.replace(/^\*\*Verdict: VALID[^\n]*$/m, '**Verdict: INVALID on PostgreSQL** (the history checker found no anomaly; "On PostgreSQL" above says what failed)');
  return `${markdown}${faults.join('\n')}\n`;
}
