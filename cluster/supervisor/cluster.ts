// The public Cluster API: starts node processes, is the network's control
// plane (it pushes link rules; nodes talk to each other directly over their
// Unix domain sockets), injects faults, sends client requests straight to the
// nodes, and aggregates what the nodes report into status() and events.
// Tests, labs and the TUI all drive this.

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mixSeed, replicationProblem, type Failover, type NodeId, type Role } from '../core/index.js';
import type { NodeConfig } from '../node/config.js';
import {
  Invalid,
  parseFromNode,
  unbatch,
  type Consistency,
  type ErrorPayload,
  type FromNode,
  type NodeEvent,
  type NodeTelemetry,
  type Param,
  type ReplicationSettings,
  type RolledBackWrite,
  type NetworkTelemetry,
  type ToNode,
  type WalTelemetry,
} from '../protocol.js';
import { socketPath } from '../node/peers.js';
import { NodeClient, type ClientRequestBody, type ReplyBody } from '../wire/client.js';
import { BadRequestError, BadStatementError, ClusterError, NotLeaderError, TimeoutError, UnavailableError } from './errors.js';
import { LinkTable, type LinkOptions } from './network.js';
import { RecentSet } from './recent-set.js';
import { Guardian, NodeProcess, type ExitInfo } from './spawn.js';
import { Workload } from './workload.js';

export interface ClusterOptions {
  /** 1 to 9 nodes, n1..nN. Default 3. */
  readonly nodes?: number;
  /** Where node data lives; default a temporary dir removed on stop(). */
  readonly dataDir?: string;
  readonly replication?: Partial<ReplicationSettings>;
  readonly failover?: Failover;
  readonly fencing?: boolean;
  readonly electionTimeoutMs?: readonly [number, number];
  readonly heartbeatMs?: number;
  readonly tickMs?: number;
  readonly fsync?: boolean;
  readonly seed?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly telemetryMs?: number;
}

export interface ExecuteOptions {
  /** Send to this node; default: whichever node leads (following NotLeader hints). */
  readonly node?: NodeId;
  readonly mode?: ReplicationSettings['mode'];
  readonly ackLevel?: ReplicationSettings['ackLevel'];
  readonly quorum?: number;
  readonly timeoutMs?: number;
  readonly client?: string;
  readonly request?: number;
}

export interface ExecuteResult {
  readonly index: number;
  readonly term: number;
  readonly leader: NodeId;
  readonly latencyMs: number;
}

export interface QueryOptions {
  readonly node?: NodeId;
  readonly consistency?: Consistency;
  /** Wait until the node has applied this index (read-your-writes). */
  readonly minIndex?: number;
  readonly timeoutMs?: number;
}

export interface QueryResult {
  readonly columns: readonly string[];
  /** One object per row, keyed by column name. */
  readonly rows: readonly Record<string, unknown>[];
  readonly truncated: boolean;
  readonly node: NodeId;
  /** The node's applied index when it read. */
  readonly index: number;
  readonly latencyMs: number;
}

export interface Position {
  readonly index: number;
  readonly lsn: number;
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly pid: number | null;
  readonly role: Role | 'down';
  readonly term: number;
  readonly leader: NodeId | null;
  readonly up: boolean;
  readonly paused: boolean;
  readonly isolated: boolean;
  readonly lastIndex: number;
  readonly lastLsn: number;
  readonly flushedIndex: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** As the current leader sees this node (for the leader itself: its own log). */
  readonly received: Position;
  readonly flushed: Position;
  readonly applied: Position;
  /** Followers only, measured by the leader; null when there is no leader to measure. */
  readonly lag: { readonly writeLagMs: number; readonly flushLagMs: number; readonly replayLagMs: number; readonly entries: number; readonly bytes: number } | null;
  readonly checksum: { readonly index: number; readonly value: string } | null;
  readonly degraded: boolean;
  readonly replication: ReplicationSettings | null;
  readonly malformedMessages: number;
  readonly rssBytes: number;
  /** The node's WAL since its process started (bytes, fsyncs and their time, as pg_stat_wal); null before its first report. */
  readonly wal: WalTelemetry | null;
  /** How old the node's last report is; large for a paused or dead node. */
  readonly reportAgeMs: number | null;
}

export type SupervisorEvent =
  | { readonly type: 'node-started'; readonly node: NodeId; readonly pid: number; readonly incarnation: number }
  | { readonly type: 'node-exited'; readonly node: NodeId; readonly code: number | null; readonly signal: string | null; readonly expected: boolean; readonly logTail: string }
  | { readonly type: 'fault'; readonly fault: 'kill' | 'restart' | 'pause' | 'resume' | 'partition' | 'cut' | 'link' | 'heal'; readonly detail: string }
  | { readonly type: 'writes-lost'; readonly node: NodeId; readonly writes: readonly RolledBackWrite[]; readonly rollbackPath: string }
  | { readonly type: 'malformed-from-node'; readonly node: NodeId; readonly reason: string }
  | { readonly type: 'replication-set'; readonly replication: ReplicationSettings };

export interface ClusterEvent {
  readonly atMs: number;
  readonly event: NodeEvent | SupervisorEvent;
}

interface Slot {
  readonly id: NodeId;
  process: NodeProcess | null;
  telemetry: NodeTelemetry | null;
  telemetryAtMs: number;
  paused: boolean;
  incarnation: number;
  /** Client requests to this incarnation go straight to its socket. */
  client: NodeClient | null;
  expectingExit: boolean;
}

interface PendingRequest {
  readonly node: NodeId;
  readonly resolve: (reply: { ok: boolean; error: ErrorPayload | null; result: Record<string, unknown> | null }) => void;
  /** performance.now() after which the request is answered with a timeout. */
  readonly deadlineMs: number;
  readonly timeoutMs: number;
}

const defaults = {
  nodes: 3,
  electionTimeoutMs: [150, 300] as const,
  heartbeatMs: 50,
  tickMs: 10,
  telemetryMs: 100,
  requestTimeoutMs: 5_000,
};
const defaultReplication: ReplicationSettings = {
  mode: 'quorum',
  ackLevel: 'flushed',
  quorum: null,
  syncStandbys: null,
  syncTimeoutMs: null,
  syncFallback: 'block',
};
/** Longest socket path Linux takes (sun_path is 108 bytes, with its NUL). */
const socketPathBytesMax = 107;
const pendingRequestsMax = 100_000;
const eventsKeptMax = 10_000;
const ackedWritesMax = 200_000;
const lostWritesMax = 10_000;

export class Cluster extends EventEmitter {
  readonly dataDir: string;
  readonly ids: readonly NodeId[];
  /** Built-in clients: cluster.workload.start/update/stop. */
  readonly workload: Workload = new Workload(this);
  private readonly removeDataDir: boolean;
  private readonly slots = new Map<NodeId, Slot>();
  private readonly links = new LinkTable();
  private readonly guardian: Guardian;
  /** Every connection to a node's socket starts with this. */
  private readonly secret = randomBytes(24).toString('hex');
  /** The nodes' sockets: <dataDir>/run, or a short private dir when that path would be too long. */
  private readonly socketDir: string;
  private readonly removeSocketDir: boolean;
  private readonly options: Required<Omit<ClusterOptions, 'dataDir' | 'replication'>>;
  private replication: ReplicationSettings;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly recentEvents: ClusterEvent[] = [];
  /** Acknowledged writes by "index:term" (a new leader reuses indexes), to recognise them when rolled back. */
  private readonly acked = new RecentSet(ackedWritesMax);
  private readonly lost: (RolledBackWrite & { node: NodeId })[] = [];
  private readonly lostKeys = new RecentSet(ackedWritesMax);
  private nextRequestId = 1;
  private sweepTimer: NodeJS.Timeout | null = null;
  private knownLeader: { id: NodeId; term: number } | null = null;
  private stopping: Promise<void> | null = null;

  /** Starts every node and returns once all of them are running (not yet once a leader is elected). */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const cluster = new Cluster(options);
    try {
      for (const id of cluster.ids) cluster.spawn(id);
      if (cluster.options.failover === 'manual') {
        // Manual failover runs no elections: n1 starts as the primary, as a PostgreSQL primary would.
        await cluster.promote(cluster.ids[0]!);
      }
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  private constructor(options: ClusterOptions) {
    super();
    const nodes = options.nodes ?? defaults.nodes;
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) throw new BadRequestError(`nodes must be a whole number from 1 to 9, got ${String(nodes)}`);
    const [electionMin, electionMax] = options.electionTimeoutMs ?? defaults.electionTimeoutMs;
    const tickMs = options.tickMs ?? defaults.tickMs;
    const heartbeatMs = options.heartbeatMs ?? defaults.heartbeatMs;
    if (!(tickMs >= 1 && electionMin >= 2 * tickMs && electionMax >= electionMin)) {
      throw new BadRequestError(`electionTimeoutMs must be [min, max] with min >= 2 ticks (${2 * tickMs} ms) and max >= min`);
    }
    if (!(heartbeatMs >= tickMs && heartbeatMs < electionMin)) {
      throw new BadRequestError(`heartbeatMs must be at least one tick (${tickMs} ms) and below the election timeout (${electionMin} ms)`);
    }
    this.options = {
      nodes,
      failover: options.failover ?? 'raft',
      fencing: options.fencing ?? true,
      electionTimeoutMs: [electionMin, electionMax],
      heartbeatMs,
      tickMs,
      fsync: options.fsync ?? true,
      seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
      preVote: options.preVote ?? true,
      checkQuorum: options.checkQuorum ?? true,
      telemetryMs: options.telemetryMs ?? defaults.telemetryMs,
    };
    this.ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
    this.replication = this.checkedReplication({ ...defaultReplication, ...options.replication });
    if (options.dataDir === undefined) {
      this.dataDir = mkdtempSync(join(tmpdir(), 'replica-lab-'));
      this.removeDataDir = true;
    } else {
      this.dataDir = resolve(options.dataDir);
      mkdirSync(this.dataDir, { recursive: true });
      this.removeDataDir = false;
    }
    const runDir = join(this.dataDir, 'run');
    if (Buffer.byteLength(socketPath(runDir, `n${nodes}`)) <= socketPathBytesMax) {
      mkdirSync(runDir, { recursive: true, mode: 0o700 });
      chmodSync(runDir, 0o700);
      this.socketDir = runDir;
      this.removeSocketDir = false;
    } else {
      this.socketDir = mkdtempSync(join(tmpdir(), 'rl-'));
      this.removeSocketDir = true;
    }
    this.guardian = new Guardian();
    for (const id of this.ids) {
      this.slots.set(id, { id, process: null, telemetry: null, telemetryAtMs: 0, paused: false, incarnation: 0, client: null, expectingExit: false });
    }
  }

  // -------------------------------------------------------------------------
  // Processes

  private spawn(id: NodeId): void {
    const slot = this.slot(id);
    const dir = this.nodeDir(id);
    mkdirSync(dir, { recursive: true });
    const config: NodeConfig = {
      id,
      peers: this.ids,
      dataDir: dir,
      tickMs: this.options.tickMs,
      electionTimeoutMs: this.options.electionTimeoutMs,
      heartbeatMs: this.options.heartbeatMs,
      failover: this.options.failover,
      fencing: this.options.fencing,
      preVote: this.options.preVote,
      checkQuorum: this.options.checkQuorum,
      replication: this.replication,
      fsync: this.options.fsync,
      seed: mixSeed(this.options.seed, `${id}#${slot.incarnation}`),
      telemetryMs: this.options.telemetryMs,
      socketDir: this.socketDir,
      secret: this.secret,
    };
    const child = new NodeProcess({ config, logPath: join(dir, 'node.log'), onMessage: (message) => this.onNodeMessage(id, message) });
    slot.process = child;
    slot.paused = false;
    slot.expectingExit = false;
    slot.client = new NodeClient(id, socketPath(this.socketDir, id), this.secret);
    // The link rules in force, before anything else reaches the node.
    child.send({ type: 'links', rules: this.links.rules() });
    this.guardian.watch(child.pid);
    this.record({ type: 'node-started', node: id, pid: child.pid, incarnation: slot.incarnation });
    void child.exited.then((exit) => this.onExit(id, child, exit));
  }

  private onExit(id: NodeId, child: NodeProcess, exit: ExitInfo): void {
    this.guardian.forget(child.pid);
    const slot = this.slot(id);
    if (slot.process !== child) return;
    slot.process = null;
    slot.paused = false;
    slot.client?.close(`${id} exited before answering`);
    slot.client = null;
    if (this.knownLeader?.id === id) this.knownLeader = null;
    for (const [requestId, request] of this.pending) {
      if (request.node !== id) continue;
      this.pending.delete(requestId);
      request.resolve({ ok: false, result: null, error: { kind: 'unavailable', message: `${id} exited before answering`, leader: null, index: null } });
    }
    this.record({ type: 'node-exited', node: id, code: exit.code, signal: exit.signal, expected: slot.expectingExit, logTail: slot.expectingExit ? '' : this.logTail(id) });
  }

  private logTail(id: NodeId): string {
    try {
      return readFileSync(join(this.nodeDir(id), 'node.log'), 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '';
    }
  }

  nodeDir(id: NodeId): string {
    return join(this.dataDir, id);
  }

  // -------------------------------------------------------------------------
  // Messages from nodes

  private onNodeMessage(id: NodeId, raw: unknown): void {
    for (const part of unbatch(raw)) {
      const message = parseFromNode(part);
      if (message instanceof Invalid) this.record({ type: 'malformed-from-node', node: id, reason: message.reason });
      else this.handleNodeMessage(id, message);
    }
  }

  private handleNodeMessage(id: NodeId, message: FromNode): void {
    switch (message.type) {
      case 'reply': {
        const request = this.pending.get(message.id);
        if (request === undefined || request.node !== id) return;
        this.pending.delete(message.id);
        request.resolve(message);
        return;
      }
      case 'telemetry': {
        const slot = this.slot(id);
        slot.telemetry = message.telemetry;
        slot.telemetryAtMs = performance.now();
        this.noteLeader(id, message.telemetry.role === 'leader', message.telemetry.term);
        return;
      }
      case 'events':
        for (const { atMs, event } of message.events) this.onNodeEvent(id, atMs, event);
        return;
      case 'batch':
        // Unpacked in onNodeMessage; a batch never reaches here.
        return;
    }
  }

  private onNodeEvent(id: NodeId, atMs: number, event: NodeEvent): void {
    this.emitEvent({ atMs, event });
    if (event.type === 'leader-elected' && event.node === id) this.noteLeader(id, true, event.term);
    if (event.type === 'stepped-down' && event.node === id) this.noteLeader(id, false, event.term);
    if (event.type === 'rollback-written') this.checkLostWrites(id, event.writes, event.path);
  }

  private noteLeader(id: NodeId, isLeader: boolean, term: number): void {
    if (isLeader) {
      if (this.knownLeader === null || term >= this.knownLeader.term) this.knownLeader = { id, term };
    } else if (this.knownLeader?.id === id) {
      this.knownLeader = null;
    }
  }

  /** An acknowledged write that a node just rolled back is a lost write: count it and say so. */
  private checkLostWrites(node: NodeId, writes: readonly RolledBackWrite[], path: string): void {
    const lostNow: RolledBackWrite[] = [];
    for (const write of writes) {
      const key = writeKey(write.index, write.term);
      if (!this.acked.has(key) || this.lostKeys.has(key)) continue;
      this.lostKeys.add(key);
      lostNow.push(write);
      if (this.lost.length < lostWritesMax) this.lost.push({ ...write, node });
    }
    if (lostNow.length > 0) this.record({ type: 'writes-lost', node, writes: lostNow, rollbackPath: path });
  }

  /** A control message over the node's IPC channel (a paused node reads it when it resumes). */
  private deliver(to: NodeId, message: ToNode): void {
    this.slots.get(to)?.process?.send(message);
  }

  /** Pushes the link table to every running node, so each applies its own links' rules. */
  private pushLinks(): void {
    const message: ToNode = { type: 'links', rules: this.links.rules() };
    for (const id of this.ids) this.deliver(id, message);
  }

  private record(event: SupervisorEvent): void {
    this.emitEvent({ atMs: Date.now(), event });
  }

  private emitEvent(event: ClusterEvent): void {
    if (this.recentEvents.length >= eventsKeptMax) this.recentEvents.shift();
    this.recentEvents.push(event);
    this.emit('event', event);
  }

  // -------------------------------------------------------------------------
  // Requests

  /** A read or write, over a client connection straight to the node's socket. */
  private clientRequest(id: NodeId, message: ClientRequestBody, timeoutMs: number): Promise<ReplyBody> {
    const client = this.slot(id).client;
    if (client === null) return Promise.resolve({ ok: false, result: null, error: { kind: 'unavailable', message: `${id} is down`, leader: null, index: null } });
    return client.request(message, timeoutMs);
  }

  /** A control request over the node's IPC channel. */
  private request(id: NodeId, message: ToNode & { id: number }, timeoutMs: number): Promise<ReplyBody> {
    const slot = this.slot(id);
    if (slot.process === null) {
      return Promise.resolve({ ok: false, result: null, error: { kind: 'unavailable', message: `${id} is down`, leader: null, index: null } });
    }
    if (this.pending.size >= pendingRequestsMax) {
      return Promise.resolve({ ok: false, result: null, error: { kind: 'unavailable', message: 'too many requests in flight; slow down', leader: null, index: null } });
    }
    return new Promise((resolve) => {
      this.pending.set(message.id, { node: id, resolve, deadlineMs: performance.now() + timeoutMs, timeoutMs });
      this.sweepTimeouts();
      this.deliver(id, message);
    });
  }

  /** One timer sweeps every request's deadline (every 20 ms) instead of one timer per request. */
  private sweepTimeouts(): void {
    if (this.sweepTimer !== null) return;
    this.sweepTimer = setInterval(() => {
      const now = performance.now();
      for (const [requestId, request] of this.pending) {
        if (now < request.deadlineMs) continue;
        this.pending.delete(requestId);
        request.resolve({ ok: false, result: null, error: { kind: 'timeout', message: `${request.node} did not answer within ${Math.round(request.timeoutMs)} ms`, leader: null, index: null } });
      }
      if (this.pending.size === 0 && this.sweepTimer !== null) {
        clearInterval(this.sweepTimer);
        this.sweepTimer = null;
      }
    }, 20);
  }

  /** A write. Without `node` it goes to the leader, following NotLeader hints, until `timeoutMs`. */
  async execute(sql: string, params: readonly Param[] = [], options: ExecuteOptions = {}): Promise<ExecuteResult> {
    this.checkRunning();
    checkParams(params);
    if (options.node !== undefined) this.slot(options.node);
    const timeoutMs = options.timeoutMs ?? defaults.requestTimeoutMs;
    const started = performance.now();
    const deadline = started + timeoutMs;
    const overridden = options.mode !== undefined || options.ackLevel !== undefined || options.quorum !== undefined;
    const override = overridden
      ? {
          ...(options.mode === undefined ? {} : { mode: options.mode }),
          ...(options.ackLevel === undefined ? {} : { ackLevel: options.ackLevel }),
          ...(options.quorum === undefined ? {} : { quorum: options.quorum }),
        }
      : null;
    if (override !== null) this.checkedReplication({ ...this.replication, ...override });
    let target = options.node ?? this.knownLeader?.id ?? null;
    for (;;) {
      if (target === null) target = await this.waitForLeaderUntil(deadline);
      if (target === null) throw new UnavailableError(`no leader was elected within ${timeoutMs} ms; is a majority of nodes up and connected?`);
      const reply = await this.clientRequest(
        target,
        {
          type: 'execute',
          sql,
          params,
          replication: override,
          client: options.client ?? null,
          request: options.request ?? null,
        },
        Math.max(1, deadline - performance.now()),
      );
      if (reply.ok && reply.result !== null) {
        const index = Number(reply.result['index']);
        const term = Number(reply.result['term']);
        this.acked.add(writeKey(index, term));
        return { index, term, leader: target, latencyMs: performance.now() - started };
      }
      const error = reply.error!;
      const retry = options.node === undefined && performance.now() < deadline && error.index === null;
      if (error.kind === 'not-leader' && retry) {
        // Follow the hint; without one, wait for the next leader (below).
        target = error.leader !== null && error.leader !== target ? error.leader : null;
        if (target === null) await this.leaderChange(this.knownLeader?.id ?? null, deadline);
        continue;
      }
      if (error.kind === 'unavailable' && retry) {
        await this.leaderChange(target, deadline);
        target = this.leader();
        continue;
      }
      throw toClusterError(error, target);
    }
  }

  /** A read: `local` on the chosen node (default the leader), `linearizable` through the leader's ReadIndex. */
  async query(sql: string, params: readonly Param[] = [], options: QueryOptions = {}): Promise<QueryResult> {
    this.checkRunning();
    checkParams(params);
    const consistency = options.consistency ?? 'local';
    const timeoutMs = options.timeoutMs ?? defaults.requestTimeoutMs;
    const started = performance.now();
    const deadline = started + timeoutMs;
    let target = options.node ?? null;
    if (target !== null) this.slot(target);
    for (;;) {
      if (target === null) target = await this.waitForLeaderUntil(deadline);
      if (target === null) throw new UnavailableError(`no leader was elected within ${timeoutMs} ms to serve the read`);
      const reply = await this.clientRequest(
        target,
        { type: 'query', sql, params, consistency, minIndex: options.minIndex ?? 0, timeoutMs: Math.max(1, Math.round(deadline - performance.now())) },
        Math.max(1, deadline - performance.now() + 50),
      );
      if (reply.ok && reply.result !== null) {
        const result = reply.result as { columns: string[]; rows: unknown[][]; truncated: boolean; index: number };
        const rows = result.rows.map((values) => Object.fromEntries(result.columns.map((column, i) => [column, values[i]])));
        return { columns: result.columns, rows, truncated: result.truncated, index: result.index, node: target, latencyMs: performance.now() - started };
      }
      const error = reply.error!;
      if (error.kind === 'not-leader' && options.node === undefined && performance.now() < deadline) {
        target = error.leader !== target ? error.leader : null;
        continue;
      }
      throw toClusterError(error, target);
    }
  }

  // -------------------------------------------------------------------------
  // Leadership

  /** Resolves with the leader's id once one is elected; rejects with Timeout otherwise. */
  async waitForLeader(options: { timeoutMs?: number } = {}): Promise<NodeId> {
    this.checkRunning();
    const timeoutMs = options.timeoutMs ?? defaults.requestTimeoutMs;
    const leader = await this.waitForLeaderUntil(performance.now() + timeoutMs);
    if (leader === null) throw new TimeoutError(`no leader within ${timeoutMs} ms`);
    return leader;
  }

  private async waitForLeaderUntil(deadline: number): Promise<NodeId | null> {
    for (;;) {
      const leader = this.leader();
      if (leader !== null) return leader;
      if (performance.now() >= deadline || this.stopping !== null) return null;
      await sleep(1);
    }
  }

  /** Waits (briefly, polling each millisecond) until the leader is someone other than `old`, or a moment passed. */
  private async leaderChange(old: NodeId | null, deadline: number): Promise<void> {
    const until = Math.min(deadline, performance.now() + 50);
    while (performance.now() < until && this.stopping === null) {
      const leader = this.leader();
      if (leader !== null && leader !== old) return;
      await sleep(1);
    }
  }

  /** The node currently leading (highest term among live leaders), or null. */
  leader(): NodeId | null {
    const known = this.knownLeader;
    if (known === null) return null;
    const slot = this.slot(known.id);
    return slot.process !== null && !slot.paused ? known.id : null;
  }

  async promote(id: NodeId): Promise<void> {
    this.checkRunning();
    const reply = await this.request(id, { type: 'promote', id: this.nextRequestId++ }, defaults.requestTimeoutMs);
    if (!reply.ok) throw toClusterError(reply.error!, id);
  }

  async transferLeadership(id: NodeId): Promise<void> {
    this.checkRunning();
    this.slot(id);
    const leader = this.leader();
    if (leader === null) throw new UnavailableError('there is no leader to hand leadership over');
    const reply = await this.request(leader, { type: 'transfer', id: this.nextRequestId++, target: id }, defaults.requestTimeoutMs);
    if (!reply.ok) throw toClusterError(reply.error!, leader);
  }

  /** Changes the replication setting on every running node (a node started later gets it too). */
  async setReplication(change: Partial<ReplicationSettings>): Promise<ReplicationSettings> {
    this.checkRunning();
    const next = this.checkedReplication({ ...this.replication, ...change });
    this.replication = next;
    this.record({ type: 'replication-set', replication: next });
    const running = this.ids.filter((id) => this.slot(id).process !== null);
    // A paused node gets the setting when it resumes (its input waits in the backlog); nobody waits for it.
    for (const id of running.filter((id) => this.slot(id).paused)) this.deliver(id, { type: 'set-replication', id: this.nextRequestId++, replication: next });
    await Promise.all(
      running
        .filter((id) => !this.slot(id).paused)
        .map((id) => this.request(id, { type: 'set-replication', id: this.nextRequestId++, replication: next }, defaults.requestTimeoutMs)),
    );
    return next;
  }

  private checkedReplication(settings: ReplicationSettings): ReplicationSettings {
    const ticks = settings.syncTimeoutMs === null ? null : Math.max(1, Math.round(settings.syncTimeoutMs / this.tickMsForCheck()));
    const problem = replicationProblem({ ...settings, syncTimeoutTicks: ticks }, this.ids);
    if (problem !== null) throw new BadRequestError(problem);
    if (!['async', 'sync', 'quorum'].includes(settings.mode)) throw new BadRequestError(`mode must be async, sync or quorum, got ${String(settings.mode)}`);
    if (!['received', 'flushed', 'applied'].includes(settings.ackLevel)) throw new BadRequestError(`ackLevel must be received, flushed or applied, got ${String(settings.ackLevel)}`);
    if (!['block', 'async'].includes(settings.syncFallback)) throw new BadRequestError(`syncFallback must be block or async, got ${String(settings.syncFallback)}`);
    return settings;
  }

  private tickMsForCheck(): number {
    return this.options?.tickMs ?? defaults.tickMs;
  }

  // -------------------------------------------------------------------------
  // Faults

  /** SIGKILL: the process dies at once, with whatever it had not flushed. */
  async kill(id: NodeId): Promise<void> {
    this.checkRunning();
    const slot = this.slot(id);
    const child = slot.process;
    if (child === null) return;
    slot.expectingExit = true;
    child.signal('SIGKILL');
    this.record({ type: 'fault', fault: 'kill', detail: `${id} killed (SIGKILL)` });
    await child.exited;
  }

  /** Starts a dead node again from its data dir. */
  async restart(id: NodeId): Promise<void> {
    this.checkRunning();
    const slot = this.slot(id);
    if (slot.process !== null) return;
    slot.incarnation++;
    slot.telemetry = null;
    this.spawn(id);
    this.record({ type: 'fault', fault: 'restart', detail: `${id} restarted from ${this.nodeDir(id)}` });
  }

  /** SIGSTOP: the process freezes; what is sent to it waits in socket buffers and its peers' bounded outboxes. */
  pause(id: NodeId): void {
    this.checkRunning();
    const slot = this.slot(id);
    if (slot.process === null || slot.paused) return;
    slot.paused = true;
    slot.process.signal('SIGSTOP');
    if (this.knownLeader?.id === id) this.knownLeader = null;
    this.record({ type: 'fault', fault: 'pause', detail: `${id} paused (SIGSTOP)` });
  }

  resume(id: NodeId): void {
    this.checkRunning();
    const slot = this.slot(id);
    if (slot.process === null || !slot.paused) return;
    slot.paused = false;
    slot.process.signal('SIGCONT');
    this.record({ type: 'fault', fault: 'resume', detail: `${id} resumed (SIGCONT)` });
  }

  /** Cuts every link between the groups, both ways; nodes left out of every group keep their links. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.checkRunning();
    for (const group of groups) for (const id of group) this.slot(id);
    this.links.partition(groups);
    this.pushLinks();
    this.record({ type: 'fault', fault: 'partition', detail: groups.map((g) => g.join(' ')).join(' | ') });
  }

  /** Shapes one direction of a link: delay (with jitter, which reorders), loss and duplication. */
  setLink(from: NodeId, to: NodeId, options: LinkOptions): void {
    this.checkRunning();
    this.slot(from);
    this.slot(to);
    const { delayMs = 0, jitterMs = 0, loss = 0, duplicate = 0 } = options;
    const ms = (value: number): boolean => Number.isFinite(value) && value >= 0 && value <= 3_600_000;
    const probability = (value: number): boolean => value >= 0 && value <= 1;
    if (!(ms(delayMs) && ms(jitterMs) && probability(loss) && probability(duplicate))) {
      throw new BadRequestError('delayMs and jitterMs must be from 0 to 3600000, loss and duplicate from 0 to 1');
    }
    this.links.setLink(from, to, options);
    this.pushLinks();
    this.record({ type: 'fault', fault: 'link', detail: `${from} -> ${to}: ${JSON.stringify(this.links.link(from, to))}` });
  }

  /** Cuts one direction: `from`'s messages to `to` are lost, `to`'s still reach `from`. */
  cut(from: NodeId, to: NodeId): void {
    this.checkRunning();
    this.slot(from);
    this.slot(to);
    if (from === to) throw new BadRequestError(`a node has no link to itself (${from})`);
    this.links.cutOneWay(from, to);
    this.pushLinks();
    this.record({ type: 'fault', fault: 'cut', detail: `${from} -> ${to} cut (one way)` });
  }

  /** Restores every link (partitions, cuts, delay, loss). Dead or paused nodes stay as they are. */
  heal(): void {
    this.checkRunning();
    this.links.heal();
    this.pushLinks();
    this.record({ type: 'fault', fault: 'heal', detail: 'every link restored' });
  }

  // -------------------------------------------------------------------------
  // Looking in

  status(): NodeStatus[] {
    const now = performance.now();
    const leaderId = this.leader();
    const leaderTelemetry = leaderId === null ? null : this.slot(leaderId).telemetry;
    return this.ids.map((id) => {
      const slot = this.slot(id);
      const t = slot.telemetry;
      const up = slot.process !== null;
      const follower = leaderTelemetry?.followers.find((f) => f.id === id);
      return {
        id,
        pid: slot.process?.pid ?? null,
        role: up && t !== null ? t.role : up ? 'follower' : 'down',
        term: t?.term ?? 0,
        leader: t?.leader ?? null,
        up,
        paused: slot.paused,
        isolated: this.links.isIsolated(id, this.ids),
        lastIndex: t?.lastIndex ?? 0,
        lastLsn: t?.lastLsn ?? 0,
        flushedIndex: t?.flushedIndex ?? 0,
        commitIndex: t?.commitIndex ?? 0,
        appliedIndex: t?.appliedIndex ?? 0,
        received: follower ? { index: follower.positions.received, lsn: follower.lsn.received } : { index: t?.lastIndex ?? 0, lsn: t?.lastLsn ?? 0 },
        flushed: follower ? { index: follower.positions.flushed, lsn: follower.lsn.flushed } : { index: t?.flushedIndex ?? 0, lsn: t?.flushedLsn ?? 0 },
        applied: follower ? { index: follower.positions.applied, lsn: follower.lsn.applied } : { index: t?.appliedIndex ?? 0, lsn: t?.appliedLsn ?? 0 },
        lag: follower
          ? { writeLagMs: follower.writeLagMs, flushLagMs: follower.flushLagMs, replayLagMs: follower.replayLagMs, entries: follower.lagEntries, bytes: follower.lagBytes }
          : null,
        checksum: t?.checksum ?? null,
        degraded: t?.degraded ?? false,
        replication: t?.replication ?? null,
        malformedMessages: t?.malformedMessages ?? 0,
        rssBytes: t?.rssBytes ?? 0,
        wal: t?.wal ?? null,
        reportAgeMs: t === null ? null : now - slot.telemetryAtMs,
      };
    });
  }

  /** Nodes that are up and not paused: cheap (no telemetry merging), for choosing where a read goes. */
  reachableNodes(): NodeId[] {
    return this.ids.filter((id) => {
      const slot = this.slot(id);
      return slot.process !== null && !slot.paused;
    });
  }

  /** The checksum of a node's state at its applied index, asked for now. */
  async checksum(id: NodeId): Promise<{ index: number; value: string }> {
    this.checkRunning();
    const reply = await this.request(id, { type: 'checksum', id: this.nextRequestId++ }, defaults.requestTimeoutMs);
    if (!reply.ok || reply.result === null) throw toClusterError(reply.error!, id);
    return { index: Number(reply.result['index']), value: String(reply.result['value']) };
  }

  /** The last events (bounded), oldest first. */
  events(): readonly ClusterEvent[] {
    return this.recentEvents;
  }

  /** Acknowledged writes that a node later rolled back (bounded). */
  lostWrites(): readonly (RolledBackWrite & { node: NodeId })[] {
    return this.lost;
  }

  replicationSettings(): ReplicationSettings {
    return this.replication;
  }

  /** The nodes' network figures (their egress, and connections they refused), summed over the running nodes. */
  networkStats(): NetworkTelemetry {
    const total = { delivered: 0, dropped: 0, delayed: 0, refused: 0 };
    for (const slot of this.slots.values()) {
      const network = slot.process === null ? undefined : slot.telemetry?.network;
      if (network === undefined) continue;
      total.delivered += network.delivered;
      total.dropped += network.dropped;
      total.delayed += network.delayed;
      total.refused += network.refused;
    }
    return total;
  }

  /** The socket a node listens on (tests of the handshake). */
  socketPath(id: NodeId): string {
    this.slot(id);
    return socketPath(this.socketDir, id);
  }

  /** Sends a raw, possibly malformed message to a node (tests of the IPC boundary). */
  sendRaw(id: NodeId, message: unknown): boolean {
    return this.slot(id).process?.send(message) ?? false;
  }

  // -------------------------------------------------------------------------
  // Stopping

  /** Stops every node (gracefully, then SIGKILL after 1 s) and removes a temporary data dir. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    this.workload.stop();
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    for (const [requestId, request] of this.pending) {
      request.resolve({ ok: false, result: null, error: { kind: 'unavailable', message: 'the cluster is stopping', leader: null, index: null } });
      this.pending.delete(requestId);
    }
    const exits: Promise<ExitInfo>[] = [];
    for (const slot of this.slots.values()) {
      const child = slot.process;
      if (child === null) continue;
      slot.expectingExit = true;
      if (slot.paused) child.signal('SIGCONT');
      child.send({ type: 'stop' });
      const forced = setTimeout(() => child.signal('SIGKILL'), 1_000);
      exits.push(child.exited.finally(() => clearTimeout(forced)));
    }
    await Promise.all(exits);
    for (const slot of this.slots.values()) slot.client?.close('the cluster is stopping');
    await this.guardian.stop();
    if (this.removeSocketDir) rmSync(this.socketDir, { recursive: true, force: true });
    if (this.removeDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  private checkRunning(): void {
    if (this.stopping !== null) throw new UnavailableError('the cluster has been stopped');
  }

  private slot(id: NodeId): Slot {
    const slot = this.slots.get(id);
    if (slot === undefined) throw new BadRequestError(`no node ${String(id)}; nodes are ${this.ids.join(', ')}`);
    return slot;
  }
}

function checkParams(params: readonly Param[]): void {
  if (!Array.isArray(params)) throw new BadStatementError('params must be an array');
  params.forEach((param, i) => {
    const ok = param === null || typeof param === 'string' || (typeof param === 'number' && Number.isFinite(param));
    if (!ok) throw new BadStatementError(`parameter ${i + 1} must be a string, a finite number or null, got ${typeof param}`);
  });
}

function toClusterError(error: ErrorPayload, node: NodeId): ClusterError {
  switch (error.kind) {
    case 'not-leader':
      return new NotLeaderError(error.message, node, error.leader);
    case 'timeout':
      return new TimeoutError(error.message, error.index);
    case 'unavailable':
      return new UnavailableError(error.message, error.index);
    case 'bad-statement':
      return new BadStatementError(error.message, error.index);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How the supervisor names a write in the log: a new leader reuses indexes, so the term goes with it. */
function writeKey(index: number, term: number): string {
  return `${index}:${term}`;
}
