// The built-in clients: a Jepsen-style workload of writes and reads against
// the kv table, open loop (a rate) or closed loop (each client issues its next
// operation when the last one ends), changeable while it runs. Every
// operation is recorded as invoke / ok / fail / info in the history
// (<dataDir>/history.jsonl) and judged live by an OnlineChecker. It runs on
// an event loop of its own (workload-worker.ts), reaching the cluster through
// a narrow port: nodes' sockets for reads and writes, and what the
// supervisor tells it of leadership and running nodes.
//
// Each client is one session: its operations never overlap, so a session's
// last write and last read are well defined. A write is sent to one node at a
// time and retried only when that node refused it outright, so no write can
// reach the log twice; once an attempt may have reached a log, the outcome is
// final (`info` when the client cannot know).

import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { mixSeed, Prng, type NodeId } from '../core/index.js';
import { historyFormatVersion, type CompletionRecord, type HistoryRecord, type InfoReason, type OpRecord } from '../check/records.js';
import { OnlineChecker, type OnlineCounts } from '../check/online.js';
import type { ReplicationSettings } from '../protocol.js';
import type { Param } from '../protocol.js';
import { workloadTickMs } from './constants.js';
import { BadRequestError, classifyWriteError } from './errors.js';
import { HistoryRecorder, type HistoryStats } from './history.js';
import { RecentSamples } from './recent-samples.js';
import type { ExecuteOptions, ExecuteResult, QueryOptions, QueryResult } from './requests.js';
import type { ClusterEvent } from './types.js';
import { checkWorkload, defaultWorkload, type WorkloadOptions } from './workload-options.js';

/** What the clients need of a cluster: no more, so they can run away from the Cluster object. */
export interface WorkloadPort {
  readonly ids: readonly NodeId[];
  readonly dataDir: string;
  leader(): NodeId | null;
  reachableNodes(): NodeId[];
  replicationSettings(): ReplicationSettings;
  execute(sql: string, params: readonly Param[], options: ExecuteOptions): Promise<ExecuteResult>;
  query(sql: string, params: readonly Param[], options: QueryOptions): Promise<QueryResult>;
  /** The clock of history records (ms): the supervisor's this.cluster.mono(), wherever the clients run. */
  mono(): number;
}

/** The statement every workload write runs; the final-state reader recognises workload writes in a log by it. */
export const workloadWriteSql = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';
const workloadReadSql = 'SELECT v, idx FROM kv WHERE k = ?';

export interface WorkloadStats {
  readonly running: boolean;
  readonly options: WorkloadOptions;
  readonly writes: { readonly ok: number; readonly fail: number; readonly info: number };
  readonly reads: { readonly ok: number; readonly fail: number };
  /** Over the last second. */
  readonly writesPerSecond: number;
  readonly readsPerSecond: number;
  readonly writeLatencyMsP50: number | null;
  /** Operations the open loop could not start: every client busy, or the history congested. */
  readonly skipped: number;
  readonly inflight: number;
  /** Stale reads, read-your-writes and monotonic-read violations found live. */
  readonly consistency: OnlineCounts;
  readonly history: (HistoryStats & { readonly path: string }) | null;
}

interface Client {
  readonly id: string;
  session: string;
  sessionNumber: number;
  busy: boolean;
  /** Beyond the current concurrency: finishes its operation and takes no more. */
  retired: boolean;
  looping: boolean;
  lastWriteIndex: number;
  lastSeenIndex: number;
  stickyNode: NodeId | null;
}

type WriteOutcome =
  | { readonly type: 'ok'; readonly node: NodeId; readonly index: number; readonly term: number }
  | { readonly type: 'fail'; readonly node: NodeId | null; readonly error: string }
  | { readonly type: 'info'; readonly node: NodeId | null; readonly error: string; readonly reason: InfoReason; readonly index: number | null };

const windowMs = 1_000;
const recentMax = 100_000;

export class WorkloadEngine {
  private options: WorkloadOptions = defaultWorkload;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly clients: Client[] = [];
  private nextClient = 0;
  private inflight = 0;
  private idle: (() => void)[] = [];
  private opCounter = 0;
  private credit = 0;
  private lastTickMs = 0;
  private prng = new Prng(1);
  /** Tags values so they stay unique across runs on one data dir. */
  private runTag = '';
  private recorder: HistoryRecorder | null = null;
  /** The recorder of the current or last run, kept after stop for stats() and recent(). */
  private lastRecorder: HistoryRecorder | null = null;
  private historyPath: string | null = null;
  private checker = new OnlineChecker();
  private readonly counts = { writesOk: 0, writesFail: 0, writesInfo: 0, readsOk: 0, readsFail: 0, skipped: 0 };
  /** Acknowledged writes (time, latency) and successful reads of the last second, for stats(). */
  private readonly recentWrites = new RecentSamples(recentMax);
  private readonly recentReads = new RecentSamples(recentMax);
  /** Called with every history record as it is written (the supervisor's mirror of the ring). */
  onRecord: ((record: HistoryRecord) => void) | null = null;

  constructor(private readonly cluster: WorkloadPort) {}

  /** Starts the clients (or changes the options of running ones). */
  start(options: Partial<WorkloadOptions> = {}): void {
    const previous = this.options;
    this.options = checkWorkload({ ...this.options, ...options }, this.cluster.ids);
    if (this.running) {
      this.applyChange(previous);
      return;
    }
    const seed = this.options.seed ?? Math.floor(Math.random() * 2 ** 31);
    // Opening the file may fail (a bad path): before anything has started.
    this.openHistory(seed);
    this.running = true;
    this.prng = new Prng(mixSeed(seed, 'workload'));
    this.runTag = Date.now().toString(36);
    for (const client of this.clients) this.newSession(client);
    this.fitClients();
    this.lastTickMs = this.cluster.mono();
    this.credit = 0;
    this.timer = setInterval(() => this.tick(), workloadTickMs);
    this.startLoops();
  }

  /** Changes options while running (seed and history take effect at the next start). */
  update(options: Partial<WorkloadOptions>): WorkloadOptions {
    const previous = this.options;
    this.options = checkWorkload({ ...this.options, ...options }, this.cluster.ids);
    if (this.running) this.applyChange(previous);
    return this.options;
  }

  /**
   * Starts no more operations; resolves once those in flight have completed and
   * the history is on disk. Safe to call twice, and safe not to await.
   */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.running = false;
    const recorder = this.recorder;
    while (this.inflight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    // start() may have been called again while this one drained: leave the new run alone.
    if (!this.running && this.recorder === recorder) this.recorder = null;
    if (this.recorder !== recorder) await recorder?.close().catch(() => {});
  }

  stats(): WorkloadStats {
    const now = this.cluster.mono();
    const latencies = this.recentWrites.within(now, windowMs).sort((a, b) => a - b);
    const readsPerSecond = this.recentReads.count(now, windowMs);
    return {
      running: this.running,
      options: this.options,
      writes: { ok: this.counts.writesOk, fail: this.counts.writesFail, info: this.counts.writesInfo },
      reads: { ok: this.counts.readsOk, fail: this.counts.readsFail },
      writesPerSecond: latencies.length,
      readsPerSecond,
      writeLatencyMsP50: latencies.length === 0 ? null : latencies[Math.floor(latencies.length / 2)]!,
      skipped: this.counts.skipped,
      inflight: this.inflight,
      consistency: this.checker.counts(),
      history: this.lastRecorder === null || this.historyPath === null ? null : { ...this.lastRecorder.stats(), path: this.historyPath },
    };
  }

  /** The last history records (bounded), oldest first: the TUI's view of what clients did. */
  recent(): HistoryRecord[] {
    return this.lastRecorder?.recent() ?? [];
  }

  /** Where the current (or last) history is written; null when not recording. */
  historyFile(): string | null {
    return this.historyPath;
  }

  // -------------------------------------------------------------------------
  // Clients and scheduling

  private applyChange(previous: WorkloadOptions): void {
    if (previous.sessions !== this.options.sessions || previous.stickyReads !== this.options.stickyReads) {
      for (const client of this.clients) this.newSession(client);
    }
    this.fitClients();
    this.record({ type: 'workload', wall: Date.now(), mono: this.cluster.mono(), options: { ...this.options } });
    this.startLoops();
  }

  /** Grows or shrinks the set of clients to `concurrency`; a shrunk client finishes its operation first. */
  private fitClients(): void {
    while (this.clients.length < this.options.concurrency) {
      const client: Client = { id: `c${this.clients.length + 1}`, session: '', sessionNumber: 0, busy: false, retired: false, looping: false, lastWriteIndex: 0, lastSeenIndex: 0, stickyNode: null };
      this.newSession(client);
      this.clients.push(client);
    }
    this.clients.forEach((client, i) => {
      const retired = i >= this.options.concurrency;
      if (client.retired && !retired) this.newSession(client);
      client.retired = retired;
    });
  }

  private newSession(client: Client): void {
    client.sessionNumber++;
    client.session = `${client.id}.${client.sessionNumber}`;
    client.lastWriteIndex = 0;
    client.lastSeenIndex = 0;
    client.stickyNode = null;
  }

  /** Closed loop: one loop per client, each running operations back to back. */
  private startLoops(): void {
    if (this.options.rate !== null) return;
    for (const client of this.clients) {
      if (client.retired || client.looping) continue;
      client.looping = true;
      void this.loop(client).finally(() => {
        client.looping = false;
      });
    }
  }

  private async loop(client: Client): Promise<void> {
    while (this.running && this.options.rate === null && !client.retired) {
      if (client.busy || this.recorder?.congested() === true) {
        await sleep(workloadTickMs);
        continue;
      }
      const outcome = await this.runOp(client);
      // A refusal comes back at once; back off so a leaderless cluster is not spun against.
      if (outcome !== 'ok') await sleep(workloadTickMs);
    }
  }

  /** Open loop, every workloadTickMs: hands out the operations the rate has earned; none idle means skipped, never queued. */
  private tick(): void {
    if (this.options.rate === null) return;
    this.dispatch();
    while (this.credit >= 1) {
      this.credit--;
      this.counts.skipped++;
    }
  }

  /**
   * Hands out what the rate has earned so far to idle clients. Also called as
   * each operation ends, so a client can start its next one at once rather than
   * at the next tick: with 16 clients, ticks alone capped the rate at 1,600/s.
   */
  private dispatch(): void {
    if (this.options.rate === null || !this.running) return;
    const now = this.cluster.mono();
    this.credit += ((now - this.lastTickMs) / 1000) * this.options.rate;
    this.lastTickMs = now;
    // Never burst more than one second's worth after a stall.
    this.credit = Math.min(this.credit, Math.max(1, this.options.rate));
    while (this.credit >= 1) {
      const client = this.recorder?.congested() === true ? null : this.idleClient();
      if (client === null) return;
      this.credit--;
      void this.runOp(client);
    }
  }

  private idleClient(): Client | null {
    for (let i = 0; i < this.clients.length; i++) {
      const client = this.clients[(this.nextClient + i) % this.clients.length]!;
      if (!client.busy && !client.retired) {
        this.nextClient = (this.nextClient + i + 1) % this.clients.length;
        return client;
      }
    }
    return null;
  }

  private async runOp(client: Client): Promise<'ok' | 'fail' | 'info'> {
    client.busy = true;
    this.inflight++;
    try {
      return this.prng.next() < this.options.readFraction ? await this.read(client) : await this.write(client);
    } finally {
      client.busy = false;
      this.inflight--;
      if (this.inflight === 0) for (const resolve of this.idle.splice(0)) resolve();
      if (this.options.rate !== null) this.dispatch();
    }
  }

  private key(): string {
    return `k${Math.floor(this.prng.next() * this.options.keys)}`;
  }

  // -------------------------------------------------------------------------
  // Operations

  private async write(client: Client): Promise<'ok' | 'fail' | 'info'> {
    const op = ++this.opCounter;
    const key = this.key();
    const value = `${this.runTag}-${op}`.padEnd(this.options.valueBytes, '.');
    const base = { op, f: 'write' as const, client: client.id, session: client.session, key };
    const started = this.cluster.mono();
    const deadline = started + this.options.timeoutMs;
    this.recordOp({ type: 'invoke', ...base, wall: Date.now(), mono: started, node: this.cluster.leader(), value });
    const outcome = await this.attemptWrite(key, value, deadline);
    const mono = this.cluster.mono();
    const done = { ...base, wall: Date.now(), mono };
    switch (outcome.type) {
      case 'ok':
        client.lastWriteIndex = Math.max(client.lastWriteIndex, outcome.index);
        this.counts.writesOk++;
        this.recentWrites.add(mono, mono - started);
        this.complete({ type: 'ok', ...done, node: outcome.node, value, index: outcome.index, term: outcome.term });
        break;
      case 'fail':
        this.counts.writesFail++;
        this.complete({ type: 'fail', ...done, node: outcome.node, error: outcome.error });
        break;
      case 'info':
        this.counts.writesInfo++;
        this.complete({ type: 'info', ...done, node: outcome.node, error: outcome.error, reason: outcome.reason, index: outcome.index });
        break;
    }
    return outcome.type;
  }

  /** Sends to the leader; follows refusals (nothing was proposed) until the deadline; stops at the first attempt that may have reached a log. */
  private async attemptWrite(key: string, value: string, deadline: number): Promise<WriteOutcome> {
    let target = this.cluster.leader();
    let lastRefusal = 'no leader';
    for (;;) {
      if (target === null) target = await this.waitForLeader(deadline);
      if (target === null) return { type: 'fail', node: null, error: `no leader within ${this.options.timeoutMs} ms (last: ${lastRefusal})` };
      try {
        const result = await this.cluster.execute(workloadWriteSql, [key, value], { node: target, timeoutMs: Math.max(1, deadline - this.cluster.mono()) });
        return { type: 'ok', node: result.leader, index: result.index, term: result.term };
      } catch (error) {
        const verdict = classifyWriteError(error);
        if (verdict.kind === 'indeterminate') return { type: 'info', node: target, error: verdict.message, reason: verdict.reason, index: verdict.index };
        lastRefusal = verdict.message;
        if (!verdict.retry || !this.running || this.cluster.mono() >= deadline) return { type: 'fail', node: target, error: verdict.message };
        if (verdict.leader !== null && verdict.leader !== target) {
          target = verdict.leader;
          continue;
        }
        await sleep(workloadTickMs);
        target = this.cluster.leader();
      }
    }
  }

  private async waitForLeader(deadline: number): Promise<NodeId | null> {
    for (;;) {
      const leader = this.cluster.leader();
      if (leader !== null) return leader;
      if (this.cluster.mono() >= deadline || !this.running) return null;
      await sleep(5);
    }
  }

  private async read(client: Client): Promise<'ok' | 'fail'> {
    const op = ++this.opCounter;
    const key = this.key();
    const { readConsistency: consistency, sessions } = this.options;
    const node = this.readNode(client);
    const wanted = sessions === 'none' ? 0 : sessions === 'read-your-writes' ? client.lastWriteIndex : Math.max(client.lastWriteIndex, client.lastSeenIndex);
    const minIndex = wanted > 0 ? wanted : null;
    const base = { op, f: 'read' as const, client: client.id, session: client.session, key };
    this.recordOp({ type: 'invoke', ...base, wall: Date.now(), mono: this.cluster.mono(), node, consistency, minIndex });
    try {
      const result = await this.cluster.query(workloadReadSql, [key], {
        ...(node === null ? {} : { node }),
        consistency,
        ...(minIndex === null ? {} : { minIndex }),
        timeoutMs: this.options.timeoutMs,
      });
      const row = result.rows[0];
      const value = row === undefined || row['v'] === null || row['v'] === undefined ? null : String(row['v']);
      const idx = row === undefined || typeof row['idx'] !== 'number' ? null : row['idx'];
      client.lastSeenIndex = Math.max(client.lastSeenIndex, result.index);
      this.counts.readsOk++;
      this.recentReads.add(this.cluster.mono());
      this.complete({ type: 'ok', ...base, wall: Date.now(), mono: this.cluster.mono(), node: result.node, value, idx, appliedIndex: result.index });
      return 'ok';
    } catch (error) {
      // A read changes nothing, so one without an answer did not happen: fail, never info.
      this.counts.readsFail++;
      if (client.stickyNode !== null && node === client.stickyNode) client.stickyNode = null;
      this.complete({ type: 'fail', ...base, wall: Date.now(), mono: this.cluster.mono(), node, error: error instanceof Error ? error.message : String(error) });
      return 'fail';
    }
  }

  /** The node a local read goes to; null means "the leader" (cluster routing), as for every linearizable read. */
  private readNode(client: Client): NodeId | null {
    const { readTarget: target, readConsistency, stickyReads } = this.options;
    if (readConsistency === 'linearizable' || target === 'leader') return null;
    if (target !== 'follower' && target !== 'any') return target;
    // Once per read: reachableNodes() rather than status(), which merges every node's telemetry.
    const reachable = this.cluster.reachableNodes();
    if (stickyReads && client.stickyNode !== null && reachable.includes(client.stickyNode)) return client.stickyNode;
    const leader = this.cluster.leader();
    const pool = target === 'follower' ? reachable.filter((id) => id !== leader) : reachable;
    if (pool.length === 0) return null;
    const chosen = this.prng.pick(pool);
    if (stickyReads) client.stickyNode = chosen;
    return chosen;
  }

  // -------------------------------------------------------------------------
  // History

  private openHistory(seed: number): void {
    const option = this.options.history;
    if (option === false) {
      this.recorder = null;
      this.lastRecorder = null;
      this.historyPath = null;
      this.checker = new OnlineChecker();
      return;
    }
    const path = historyPathOf(option, this.cluster.dataDir);
    // The first start of this workload starts a new history; a restart continues it.
    const append = this.historyPath === path;
    try {
      // The supervisor truncated a new history already (where a bad path is reported at once): always append here.
      this.recorder = new HistoryRecorder(path, { append: true });
    } catch (error) {
      throw new BadRequestError(`cannot write the history to ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.lastRecorder = this.recorder;
    this.historyPath = path;
    if (!append) {
      this.checker = new OnlineChecker();
      this.record({ type: 'run', version: historyFormatVersion, wall: Date.now(), mono: this.cluster.mono(), dataDir: this.cluster.dataDir, nodes: [...this.cluster.ids], replication: { ...this.cluster.replicationSettings() } });
    }
    this.record({ type: 'workload', wall: Date.now(), mono: this.cluster.mono(), options: { ...this.options, seed } });
  }

  private record(record: HistoryRecord): void {
    if (this.recorder === null) return;
    this.recorder.write(record);
    this.onRecord?.(record);
  }

  private complete(record: CompletionRecord): void {
    this.record(record);
    this.checker.observe(record);
  }

  private recordOp(record: OpRecord): void {
    this.record(record);
    this.checker.observe(record);
  }

  /** Faults, elections, exits and rollbacks go into the history as context for the report. */
  recordEvent({ atMs, event }: ClusterEvent): void {
    const wall = atMs;
    const mono = this.cluster.mono();
    switch (event.type) {
      case 'fault':
      case 'node-started':
      case 'replication-set':
      case 'membership':
        this.record({ type: 'event', wall, mono, event: { ...event } });
        return;
      case 'node-exited':
        this.record({ type: 'event', wall, mono, event: { type: event.type, node: event.node, code: event.code, signal: event.signal, expected: event.expected } });
        return;
      case 'writes-lost':
        // The lost writes themselves are in the final state (rolled-back records); here only where, and how many.
        this.record({ type: 'event', wall, mono, event: { type: event.type, node: event.node, count: event.writes.length, first: event.writes.slice(0, 10).map((w) => ({ index: w.index, term: w.term })), rollbackPath: event.rollbackPath } });
        return;
      case 'leader-elected':
        this.record({ type: 'event', wall, mono, event: { ...event } });
        return;
      default:
        return;
    }
  }
}

/** Where a history goes: `true` means history.jsonl in the data dir. */
export function historyPathOf(option: string | true, dataDir: string): string {
  return option === true ? join(dataDir, 'history.jsonl') : option;
}
