// The public Cluster API, a façade: it starts node processes (spawn.ts), is the
// network's control plane (network.ts: link rules the nodes apply; nodes talk
// to each other directly over their Unix domain sockets), sends reads and
// writes straight to the nodes (requests.ts), control over IPC (control.ts),
// and merges what the nodes report into status() (status.ts), events and
// lost writes (lost-writes.ts). Tests, labs and the TUI all drive this.

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { closeSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mixSeed, voterMajority, type ConfChange, type Membership, type NodeId } from '../core/index.js';
import type { NodeConfig } from '../node/config.js';
import { socketPath } from '../node/peers.js';
import {
  corruptExitCode,
  clockRateMax,
  clockRateMin,
  Invalid,
  nodeFaultMsMax,
  parseFromNode,
  unbatch,
  type FromNode,
  type NetworkTelemetry,
  type NodeEvent,
  type NodeFaults,
  type NodeTelemetry,
  type Param,
  type ReplicationSettings,
  type RolledBackWrite,
  type ToNode,
  type ErrorReason,
} from '../protocol.js';
import { NodeClient, type ReplyBody } from '../wire/client.js';
import { encodeFrame } from '../wire/frames.js';
import { ControlRequests } from './control.js';
import { BadRequestError, ClusterError, TimeoutError, toClusterError, UnavailableError } from './errors.js';
import { LeaderWatch } from './leader-watch.js';
import { LostWrites, type LostWrite } from './lost-writes.js';
import { LinkTable, linkOptionsProblem, type LinkOptions } from './network.js';
import { MessageJournal, type MessagesView } from './message-journal.js';
import { InvalidReport, parseMessageReport } from '../message-report.js';
import { checkExecuteOptions, checkQueryOptions, checkStatement, checkTimeoutMs, Requests, requestTimeoutMsDefault, type ExecuteOptions, type ExecuteResult, type QueryOptions, type QueryResult } from './requests.js';
import { checkReplication, defaultReplication, resolveOptions, type ResolvedOptions } from './settings.js';
import { snapshotPolicyProblem, type SnapshotPolicy } from '../node/snapshots.js';
import { lockDataDir, makeOwnDir, makePrivateDir, openForAppend, prepareNodeDir, refuseLinksInNodeDir, type DataDirLock } from './files.js';
import { Guardian, NodeProcess, type ExitInfo } from './spawn.js';
import { highestSavedTerm, holdsData, mostUpToDateLog, wipeForRebuild } from '../node/rebuild.js';
import { checksumResult, snapshotResult } from './replies.js';
import { Ring } from './ring.js';
import { nodeStatus, wedgedAfterMs } from './status.js';
import type { ClusterEvent, ClusterOptions, NodeStatus, SupervisorEvent } from './types.js';
import { Workload } from './workload.js';
import { runTrace, type TraceOptions } from './trace.js';
import type { WriteTrace } from '../trace/types.js';
import { raftCapabilities, type EngineCapabilities, type ReplicationEngine } from '../engine.js';
import {
  learnerCaughtUpEntries,
  membershipBefore,
  membershipOf,
  membershipTimeoutMsDefault,
  nextNodeId,
  promoteProblem,
  replyMembership,
  type ClusterMembership,
  type JoinAs,
} from './membership.js';

export type { ClusterMembership, JoinAs } from './membership.js';
export type { ClusterEvent, ClusterOptions, ExecuteOptions, ExecuteResult, NodeStatus, Position, QueryOptions, QueryResult, SupervisorEvent } from './types.js';

interface Slot {
  readonly id: NodeId;
  process: NodeProcess | null;
  telemetry: NodeTelemetry | null;
  telemetryAtMs: number;
  /** When the node last resumed from a pause: its silence before then is not a blocked event loop. */
  resumedAtMs: number;
  paused: boolean;
  incarnation: number;
  /** Client requests to this incarnation go straight to its socket. */
  client: NodeClient | null;
  expectingExit: boolean;
  /** The clock fault's rate for this node (1: normal); a restarted process gets it again. */
  clockRate: number;
  /** Set when the node refused to start because its WAL is corrupt (see noteCorrupt); cleared by a rebuild or a report from a later incarnation. */
  corrupt: CorruptState | null;
}

/** What status() shows for a node whose WAL is corrupt. */
export interface CorruptState {
  readonly message: string;
  readonly segment: string | null;
  readonly offset: number | null;
}

/** Longest socket path Linux takes (sun_path is 108 bytes, with its NUL). */
const socketPathBytesMax = 107;
/** Refusals of a membership change that are worth proposing again shortly: nothing was proposed, and a leader may take it soon. */
const changeRetryReasons: ReadonlySet<ErrorReason> = new Set<ErrorReason>(['not-leader', 'no-leader', 'change-in-progress', 'transfer-in-progress', 'leadership-lost', 'busy', 'down']);
/** Whether `membership` is what `change` asks for. */
function changeHolds(change: ConfChange, membership: { readonly voters: readonly NodeId[]; readonly learners: readonly NodeId[] }): boolean {
  switch (change.type) {
    case 'add-learner':
      return membership.learners.includes(change.node);
    case 'add-voter':
    case 'promote-learner':
      return membership.voters.includes(change.node);
    case 'remove':
      return !membership.voters.includes(change.node) && !membership.learners.includes(change.node);
  }
}
/** Failures after which a change may have reached a log (and so may still commit). */
const reachedLogReasons: ReadonlySet<ErrorReason> = new Set<ErrorReason>(['timeout', 'stepped-down', 'node-died']);
const eventsKeptMax = 10_000;
/** A snapshot copies the whole state.db: longer than a request's default deadline on a large state and a busy disk. */
const snapshotTimeoutMs = 60_000;

export class Cluster extends EventEmitter implements ReplicationEngine {
  /** The engine seam (cluster/engine.ts): this is the replica-lab engine, with every capability. */
  readonly engine = 'replica-lab' as const;
  readonly capabilities: EngineCapabilities = raftCapabilities;
  readonly dataDir: string;
  /** The nodes of the cluster now, in the order they joined (membership changes add and remove them). */
  get ids(): readonly NodeId[] {
    return this.members;
  }
  private members: readonly NodeId[];
  /** The nodes the cluster started with: their logs start from this configuration. */
  private readonly founders: readonly NodeId[];
  /** Every id this cluster has used, removed nodes included: an id is never given twice (membership.ts). */
  private readonly usedIds = new Set<NodeId>();
  /** Nodes removed from the cluster; their data dirs stay (rollback files for the final state). */
  private readonly removed: NodeId[] = [];
  /** A membership change in progress (one at a time), for a clear refusal of a second. */
  private changing: string | null = null;
  /** The configuration the last committed change (through this API) produced, and when: newer than a report sent before it. */
  private lastChange: { membership: Membership; atMs: number; from: NodeId } | null = null;
  /** Built-in clients: cluster.workload.start/update/stop. */
  readonly workload: Workload;
  private readonly removeDataDir: boolean;
  /** Holds the data dir for this cluster until stop(). */
  private readonly lock: DataDirLock;
  /** The pid of a dead process whose stale lock on the data dir this cluster took over; null when the dir was free. */
  readonly lockTakenOverFrom: number | null;
  private readonly slots = new Map<NodeId, Slot>();
  private readonly links = new LinkTable();
  /** Node-level faults by node (slow disk, slow apply); a node without one runs normally. Kept across restarts, as a slow disk would be. */
  private readonly faults = new Map<NodeId, NodeFaults>();
  private readonly guardian: Guardian;
  /** Every connection to a node's socket starts with this. */
  private readonly secret = randomBytes(24).toString('hex');
  /** The nodes' sockets: <dataDir>/run, or a short private dir when that path would be too long. */
  readonly socketDir: string;
  private readonly removeSocketDir: boolean;
  private readonly options: ResolvedOptions;
  /** The snapshot policy in force: the start option, as setSnapshotPolicy changed it. */
  private policy: SnapshotPolicy;
  private replication: ReplicationSettings;
  private readonly control = new ControlRequests();
  private readonly requests: Requests;
  private readonly leaderWatch = new LeaderWatch();
  private readonly recentEvents = new Ring<ClusterEvent>(eventsKeptMax);
  private readonly lost = new LostWrites();
  /** The Raft messages the nodes reported, for the last 60 s (the dashboard's message pane). */
  private readonly messageJournal = new MessageJournal();
  /** The newest leader any node reported, by term; leader() also requires it to be running. */
  private knownLeader: { id: NodeId; term: number } | null = null;
  private stopping: Promise<void> | null = null;

  /** Starts every node and returns once all of them are running (not yet once a leader is elected). */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const cluster = new Cluster(options);
    try {
      // Every node's dir is checked before any node starts: something in the way refuses the whole start, changing nothing.
      for (const id of cluster.ids) prepareNodeDir(cluster.nodeDir(id), id, 'start');
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
    // The whole configuration is checked before anything is created or spawned.
    this.options = resolveOptions(options);
    this.policy = this.options.snapshot;
    this.founders = Array.from({ length: this.options.nodes }, (_, i) => `n${i + 1}`);
    this.members = [...this.founders];
    for (const id of this.founders) this.usedIds.add(id);
    this.replication = checkReplication({ ...defaultReplication, ...options.replication }, this.ids, this.options.tickMs);
    if (options.dataDir === undefined) {
      this.dataDir = mkdtempSync(join(tmpdir(), 'replica-lab-'));
      this.removeDataDir = true;
    } else {
      this.dataDir = resolve(options.dataDir);
      makePrivateDir(this.dataDir);
      this.removeDataDir = false;
    }
    // A second cluster on the same data dir is refused here, before anything in it is touched.
    this.lock = lockDataDir(this.dataDir);
    this.lockTakenOverFrom = this.lock.takenOverFrom;
    try {
      this.socketDir = this.makeSocketDir();
    } catch (error) {
      this.lock.release();
      throw error;
    }
    this.removeSocketDir = this.socketDir !== join(this.dataDir, 'run');
    this.requests = new Requests({
      client: (id) => this.slots.get(id)?.client ?? null,
      leader: this.leaderWatch,
      acknowledged: (index, term) => this.lost.acknowledged(index, term),
    });
    this.workload = new Workload(this, { socketDir: this.socketDir, secret: this.secret });
    this.guardian = new Guardian();
    // Only dirs this supervisor made with mkdtemp: if it dies, the guardian removes them.
    if (this.removeDataDir) this.guardian.removeOnExit(this.dataDir);
    if (this.removeSocketDir) this.guardian.removeOnExit(this.socketDir);
    for (const id of this.ids) this.addSlot(id);
  }

  /** <dataDir>/run (0700), or a short private temporary dir when that path would be too long for a socket. */
  private makeSocketDir(): string {
    const runDir = join(this.dataDir, 'run');
    if (Buffer.byteLength(socketPath(runDir, `n${this.options.nodes}`)) <= socketPathBytesMax) {
      makeOwnDir(runDir);
      return runDir;
    }
    return mkdtempSync(join(tmpdir(), 'rl-'));
  }

  // -------------------------------------------------------------------------
  // Processes

  private spawn(id: NodeId): void {
    const slot = this.slot(id);
    const dir = this.nodeDir(id);
    try {
      prepareNodeDir(dir, id, 'restart');
    } catch (error) {
      // Something in the way: the node stays down, and status says why until it starts.
      if (error instanceof BadRequestError) slot.corrupt = { message: error.message, segment: null, offset: null };
      throw error;
    }
    const config: NodeConfig = {
      id,
      // The configuration at the start of the log: the founders', or none for a node added later.
      // What the node is now comes from its log's config entries (or its snapshot), not from here.
      peers: this.founders.includes(id) ? this.founders : [],
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
      ...(this.options.unsafe.includes('allow-nondeterministic') ? { allowNondeterministic: true } : {}),
      snapshot: this.policy,
    };
    // The log is opened here (0600, never through a symbolic link) and handed to the node as its stdout and stderr.
    const logFd = openForAppend(join(dir, 'node.log'));
    let child: NodeProcess;
    try {
      child = new NodeProcess({ config, logFd, onMessage: (message) => this.onNodeMessage(id, message) });
    } finally {
      closeSync(logFd);
    }
    slot.process = child;
    slot.paused = false;
    slot.expectingExit = false;
    slot.client = new NodeClient(id, socketPath(this.socketDir, id), this.secret);
    // The link rules in force, before anything else reaches the node.
    child.send({ type: 'links', rules: this.links.rules() });
    if (slot.clockRate !== 1) child.send({ type: 'clock', rate: slot.clockRate });
    child.send({ type: 'peers', nodes: this.ids });
    const faults = this.faults.get(id);
    if (faults !== undefined) child.send({ type: 'node-faults', ...faults });
    this.guardian.watch(child.pid);
    this.record({ type: 'node-started', node: id, pid: child.pid, incarnation: slot.incarnation });
    this.topologyChanged();
    void child.exited.then((exit) => this.onExit(id, child, exit));
  }

  private onExit(id: NodeId, child: NodeProcess, exit: ExitInfo): void {
    this.guardian.forget(child.pid);
    const slot = this.slots.get(id);
    if (slot === undefined || slot.process !== child) return;
    slot.process = null;
    slot.paused = false;
    slot.client?.close(`${id} exited before answering`);
    slot.client = null;
    this.control.failAll('node-died', `${id} exited before answering`, id);
    this.noteCorruptExit(slot, exit);
    // A leader that exited leads no more: a later incarnation starts as a follower (and one refused as corrupt never runs).
    if (this.knownLeader?.id === id) this.knownLeader = null;
    this.record({ type: 'node-exited', node: id, code: exit.code, signal: exit.signal, expected: slot.expectingExit, logTail: slot.expectingExit ? '' : this.logTail(id) });
    this.topologyChanged();
  }

  /** A node that exits with corruptExitCode refused to start on a corrupt WAL; its event usually said where first. */
  private noteCorruptExit(slot: Slot, exit: ExitInfo): void {
    if (exit.code !== corruptExitCode || slot.corrupt !== null) return;
    const line = this.logTail(slot.id).split('\n').reverse().find((text) => /corrupt (WAL|meta|wal\/base|rebuild\.json|state\.db):/.test(text)) ?? '';
    slot.corrupt = { message: line === '' ? `${slot.id} exited with code ${corruptExitCode}: its WAL or meta is corrupt (see ${join(this.nodeDir(slot.id), 'node.log')})` : line, segment: null, offset: null };
  }

  /** A node's own report of a corrupt WAL; a later incarnation that reports telemetry has started, so it is no longer shown corrupt. */
  private noteCorrupt(id: NodeId, event: NodeEvent | null): void {
    // A node removed from the cluster has no slot left to mark.
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    if (event === null) slot.corrupt = null;
    else if (event.type === 'node-corrupt') slot.corrupt = { message: event.message, segment: event.segment, offset: event.offset };
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
  // Messages from nodes (IPC: replies to control requests, telemetry, events)

  private onNodeMessage(id: NodeId, raw: unknown): void {
    for (const part of unbatch(raw)) {
      const message = parseFromNode(part);
      if (message instanceof Invalid) this.record({ type: 'malformed-from-node', node: id, reason: message.reason });
      else this.handleNodeMessage(id, message);
    }
  }

  private handleNodeMessage(id: NodeId, message: FromNode): void {
    switch (message.type) {
      case 'reply':
        this.control.answer(id, message);
        return;
      case 'telemetry': {
        const slot = this.slots.get(id);
        if (slot === undefined) return;
        slot.telemetry = message.telemetry;
        slot.telemetryAtMs = performance.now();
        if (slot.corrupt !== null) this.noteCorrupt(id, null);
        this.noteMessages(id, message.telemetry.messages);
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

  /** A node's report of the Raft messages it sent and received: kept if it checks out, else dropped and said. */
  private noteMessages(id: NodeId, raw: unknown): void {
    if (raw === undefined) return;
    const report = parseMessageReport(raw, id);
    if (report instanceof InvalidReport) this.record({ type: 'malformed-from-node', node: id, reason: report.reason });
    else this.messageJournal.add(id, report, Date.now());
  }

  private onNodeEvent(id: NodeId, atMs: number, event: NodeEvent): void {
    this.emitEvent({ atMs, event });
    if (event.type === 'leader-elected' && event.node === id) this.noteLeader(id, true, event.term);
    if (event.type === 'stepped-down' && event.node === id) this.noteLeader(id, false, event.term);
    if (event.type === 'rollback-written') this.checkLostWrites(id, event.writes, event.path);
    if (event.type === 'node-corrupt') this.noteCorrupt(id, event);
  }

  private noteLeader(id: NodeId, isLeader: boolean, term: number): void {
    if (isLeader) {
      if (this.knownLeader === null || term >= this.knownLeader.term) this.knownLeader = { id, term };
    } else if (this.knownLeader?.id === id) {
      this.knownLeader = null;
    }
    this.topologyChanged();
  }

  /** Who leads or which nodes run may have changed: wake leader waits, tell the workload's thread. */
  private topologyChanged(): void {
    this.leaderWatch.set(this.leader());
    this.workload.topologyChanged();
  }

  /** Nodes running, and those of them not paused (the workload's thread routes by these). */
  topology(): { up: NodeId[]; reachable: NodeId[] } {
    return { up: this.ids.filter((id) => this.slot(id).process !== null), reachable: this.reachableNodes() };
  }

  /** An acknowledged write that a node just rolled back is a lost write: count it and say so. */
  private checkLostWrites(node: NodeId, writes: readonly RolledBackWrite[], path: string): void {
    const lostNow = this.lost.rolledBack(node, writes);
    if (lostNow.length > 0) this.record({ type: 'writes-lost', node, writes: lostNow, rollbackPath: path });
  }

  /** A write acknowledged to a client the supervisor does not host (the workload's thread). */
  noteAcknowledged(positions: readonly number[]): void {
    for (let i = 0; i + 1 < positions.length; i += 2) this.lost.acknowledged(positions[i]!, positions[i + 1]!);
  }

  /** A control message over the node's IPC channel (a paused node reads it when it resumes). */
  private deliver(to: NodeId, message: ToNode): boolean {
    return this.slots.get(to)?.process?.send(message) ?? false;
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
    this.recentEvents.push(event);
    this.emit('event', event);
  }

  // -------------------------------------------------------------------------
  // Requests

  /** A control request over the node's IPC channel. */
  private request(id: NodeId, message: (id: number) => ToNode, timeoutMs = requestTimeoutMsDefault): Promise<ReplyBody> {
    return this.control.request(id, timeoutMs, (requestId) => this.deliver(id, message(requestId)));
  }

  /** A write. Without `node` it goes to the leader, following NotLeader hints, until `timeoutMs`. */
  async execute(sql: string, params: readonly Param[] = [], options: ExecuteOptions = {}): Promise<ExecuteResult> {
    this.checkRunning();
    checkStatement(sql, params);
    checkExecuteOptions(options);
    if (options.node !== undefined) this.slot(options.node);
    const overridden = options.mode !== undefined || options.ackLevel !== undefined || options.quorum !== undefined;
    const override = overridden
      ? {
          ...(options.mode === undefined ? {} : { mode: options.mode }),
          ...(options.ackLevel === undefined ? {} : { ackLevel: options.ackLevel }),
          ...(options.quorum === undefined ? {} : { quorum: options.quorum }),
        }
      : null;
    if (override !== null) checkReplication({ ...this.replication, ...override }, this.ids, this.options.tickMs);
    return this.requests.execute(sql, params, options, override);
  }

  /** A read: `local` on the chosen node (default the leader), `linearizable` through the leader's ReadIndex. */
  async query(sql: string, params: readonly Param[] = [], options: QueryOptions = {}): Promise<QueryResult> {
    this.checkRunning();
    checkStatement(sql, params);
    checkQueryOptions(options);
    if (options.node !== undefined) this.slot(options.node);
    return this.requests.query(sql, params, options);
  }

  /**
   * One write, traced through every process it touches: the timeline of its
   * stages on each node's monotonic clock, the critical path from the client's
   * send to its receive, and where the time went (see cluster/trace/).
   */
  async trace(sql: string, params: readonly Param[] = [], options: TraceOptions = {}): Promise<WriteTrace> {
    this.checkRunning();
    checkStatement(sql, params);
    if (typeof options !== 'object' || options === null) throw new BadRequestError('trace options must be an object');
    checkTimeoutMs(options.timeoutMs);
    const override = {
      ...(options.mode === undefined ? {} : { mode: options.mode }),
      ...(options.ackLevel === undefined ? {} : { ackLevel: options.ackLevel }),
      ...(options.quorum === undefined ? {} : { quorum: options.quorum }),
    };
    checkReplication({ ...this.replication, ...override }, this.ids, this.options.tickMs);
    return runTrace(
      {
        ids: this.ids,
        reachable: () => this.reachableNodes(),
        waitForLeader: (timeoutMs) => this.waitForLeader({ timeoutMs }),
        control: (id, message, timeoutMs) => this.request(id, message, timeoutMs),
        // Checked above: straight to the request, so the client's stamps are taken right around it.
        execute: (statement, values, write) => this.requests.execute(statement, values, write, Object.keys(override).length === 0 ? null : override),
        replication: () => this.replication,
      },
      sql,
      params,
      options,
    );
  }

  // -------------------------------------------------------------------------
  // Leadership

  /** Resolves with the leader's id once one is elected; rejects with Timeout otherwise. */
  async waitForLeader(options: { timeoutMs?: number } = {}): Promise<NodeId> {
    this.checkRunning();
    checkTimeoutMs(options.timeoutMs);
    const timeoutMs = options.timeoutMs ?? requestTimeoutMsDefault;
    const leader = await this.leaderWatch.elected(performance.now() + timeoutMs);
    if (leader === null) throw new TimeoutError(`no leader within ${timeoutMs} ms`);
    return leader;
  }

  /** The node currently leading (highest term among live leaders), or null. */
  leader(): NodeId | null {
    const known = this.knownLeader;
    if (known === null) return null;
    const slot = this.slots.get(known.id);
    return slot !== undefined && slot.process !== null && !slot.paused ? known.id : null;
  }

  async promote(id: NodeId): Promise<void> {
    this.checkRunning();
    this.slot(id);
    const reply = await this.request(id, (requestId) => ({ type: 'promote', id: requestId }));
    if (!reply.ok) throw toClusterError(reply.error!, id);
  }

  async transferLeadership(id: NodeId): Promise<void> {
    this.checkRunning();
    this.slot(id);
    const leader = this.leader();
    if (leader === null) throw new UnavailableError('there is no leader to hand leadership over', null, 'no-leader');
    const reply = await this.request(leader, (requestId) => ({ type: 'transfer', id: requestId, target: id }));
    if (!reply.ok) throw toClusterError(reply.error!, leader);
  }

  /** Changes the replication setting on every running node (a node started later gets it too). */
  async setReplication(change: Partial<ReplicationSettings>): Promise<ReplicationSettings> {
    this.checkRunning();
    const gone = Array.isArray(change.syncStandbys) ? change.syncStandbys.filter((id) => this.removed.includes(id)) : [];
    if (gone.length > 0) throw new BadRequestError(`sync standbys: ${gone.join(', ')} ${gone.length === 1 ? 'was' : 'were'} removed from the cluster; only voters are standbys (${this.ids.join(', ')})`);
    const next = checkReplication({ ...this.replication, ...change }, this.ids, this.options.tickMs);
    return this.applyReplication(next, null);
  }

  /** Puts `next` in force on every running node, recording why when it was not asked for (a removal). */
  private async applyReplication(next: ReplicationSettings, reason: string | null): Promise<ReplicationSettings> {
    this.replication = next;
    this.record(reason === null ? { type: 'replication-set', replication: next } : { type: 'replication-set', replication: next, reason });
    this.workload.replicationChanged(next);
    const running = this.ids.filter((id) => this.slot(id).process !== null);
    // A paused node reads the setting from its IPC channel when it resumes; nobody waits for it.
    for (const id of running.filter((id) => this.slot(id).paused)) this.deliver(id, { type: 'set-replication', id: 0, replication: next });
    await Promise.all(
      running.filter((id) => !this.slot(id).paused).map((id) => this.request(id, (requestId) => ({ type: 'set-replication', id: requestId, replication: next }))),
    );
    return next;
  }

  // -------------------------------------------------------------------------
  // Membership (membership.ts): single-server changes, one at a time, proposed at the leader

  /**
   * Adds a node: spawns it with an empty data dir and no configuration (it
   * learns it from the leader's log), tells every node its socket, then
   * proposes it at the leader as a learner (default) or a voter, and resolves
   * with its id once the change has committed. Adding a voter commits only
   * once the new node holds the config entry, and from then on the majority
   * counts it: with a node down, writes wait until the new one catches up.
   */
  async addNode(options: { readonly as?: JoinAs; readonly timeoutMs?: number } = {}): Promise<NodeId> {
    this.checkRunning();
    const as = options.as ?? 'learner';
    if (as !== 'learner' && as !== 'voter') throw new BadRequestError(`as must be learner or voter, got ${String(as)}`);
    const timeoutMs = this.changeTimeout(options.timeoutMs);
    const id = nextNodeId(this.usedIds, this.members.length);
    return this.oneChangeAtATime(`adding ${id}`, async () => {
      this.usedIds.add(id);
      this.addSlot(id);
      // Replaced, never changed in place: a caller holding `ids` keeps the list it read.
      this.members = [...this.members, id];
      this.pushPeers();
      this.spawn(id);
      const change: ConfChange = { type: as === 'voter' ? 'add-voter' : 'add-learner', node: id };
      try {
        await this.proposeChange(change, timeoutMs, false);
      } catch (error) {
        // Refused before anything reached a log: the node was never a member, so it goes, id and all.
        // Otherwise (a timeout, a leader that stepped down) the change may still commit: the node stays.
        if (error instanceof ClusterError && (error.reason === null || !reachedLogReasons.has(error.reason))) {
          await this.retire(id);
          this.usedIds.delete(id);
          rmSync(this.nodeDir(id), { recursive: true, force: true });
        }
        throw error;
      }
      return id;
    });
  }

  /**
   * Makes a learner a voter, once it has caught up: within
   * learnerCaughtUpEntries of the leader's commit index, as the leader's last
   * report says. Refused (UnavailableError) before that, saying how far it is.
   */
  async promoteLearner(id: NodeId, options: { readonly timeoutMs?: number } = {}): Promise<void> {
    this.checkRunning();
    this.slot(id);
    const timeoutMs = this.changeTimeout(options.timeoutMs);
    const leader = this.leader();
    const telemetry = leader === null ? null : this.slot(leader).telemetry;
    if (leader === null || telemetry === null) throw new UnavailableError(`there is no leader to promote ${id}; a learner is promoted once it is within ${learnerCaughtUpEntries} entries of the leader's commit index`, null, 'no-leader');
    const membership = this.membership() ?? membershipOf(telemetry);
    const problem = promoteProblem(id, telemetry, membership);
    if (problem !== null) {
      if (!membership.learners.includes(id)) throw new BadRequestError(problem);
      throw new UnavailableError(problem, null, 'refused');
    }
    await this.oneChangeAtATime(`promoting ${id}`, () => this.proposeChange({ type: 'promote-learner', node: id }, timeoutMs, true));
  }

  /**
   * Removes a node: proposes it at the leader and, once the change has
   * committed, stops its process and drops it from the cluster (its data dir
   * stays). Removing the leader works the same: it leads until the change
   * commits, then steps down and hands over to an up-to-date voter.
   */
  async removeNode(id: NodeId, options: { readonly timeoutMs?: number } = {}): Promise<void> {
    this.checkRunning();
    this.slot(id);
    const timeoutMs = this.changeTimeout(options.timeoutMs);
    await this.oneChangeAtATime(`removing ${id}`, async () => {
      await this.proposeChange({ type: 'remove', node: id }, timeoutMs, true);
      await this.retire(id);
      this.removed.push(id);
      await this.replicationAfterRemoval(id);
    });
  }

  /**
   * Keeps the replication setting true to the configuration once `id` has
   * left: a removed node is no sync standby (the core already skips it, and
   * falls back to every voting follower when no named standby is left), and
   * an explicit quorum is at most the nodes there are. Without this the
   * setting would name a node no API call may name, and every setReplication
   * or write override would be refused for it.
   */
  private async replicationAfterRemoval(id: NodeId): Promise<void> {
    const current = this.replication;
    const reasons: string[] = [];
    let next = current;
    if (current.syncStandbys?.includes(id) === true) {
      const rest = current.syncStandbys.filter((standby) => standby !== id);
      next = { ...next, syncStandbys: rest.length > 0 ? rest : null };
      reasons.push(
        rest.length > 0
          ? `${id} left the cluster, so it is no longer a sync standby (standbys now ${rest.join(' ')})`
          : `${id} left the cluster and was the only named sync standby: sync writes now wait for every voting follower`,
      );
    }
    if (current.quorum !== null && current.quorum > this.ids.length) {
      next = { ...next, quorum: this.ids.length };
      reasons.push(`${id} left the cluster: quorum ${current.quorum} lowered to ${this.ids.length}, every node there is`);
    }
    if (next !== current) await this.applyReplication(next, reasons.join('; '));
  }

  /** The configuration as the leader reports it (or, with no leader, the running node with the highest term); null before any report. */
  membership(): ClusterMembership | null {
    const leader = this.leader();
    let best: Slot | null = leader === null ? null : this.slot(leader);
    if (best?.telemetry === null) best = null;
    if (best === null) {
      for (const id of this.ids) {
        const slot = this.slot(id);
        if (slot.process === null || slot.telemetry === null) continue;
        if (best === null || slot.telemetry.term > best.telemetry!.term) best = slot;
      }
    }
    // A change that committed after the report was sent is newer than the report.
    const change = this.lastChange;
    if (change !== null && (best === null || best.telemetryAtMs < change.atMs)) {
      return { voters: change.membership.voters, learners: change.membership.learners, quorum: voterMajority(change.membership), from: change.from };
    }
    return best === null ? null : membershipOf(best.telemetry!);
  }

  /** Nodes removed from the cluster (membership change); their data dirs stay. */
  removedNodes(): readonly NodeId[] {
    return [...this.removed];
  }

  private changeTimeout(timeoutMs: number | undefined): number {
    const value = timeoutMs ?? membershipTimeoutMsDefault;
    if (!Number.isFinite(value) || value <= 0 || value > 3_600_000) throw new BadRequestError(`timeoutMs must be from 1 to 3600000, got ${String(timeoutMs)}`);
    return value;
  }

  private async oneChangeAtATime<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (this.changing !== null) throw new BadRequestError(`one membership change at a time: ${this.changing} is still in progress`);
    this.changing = what;
    try {
      return await run();
    } finally {
      this.changing = null;
    }
  }

  /**
   * Proposes `change` at the leader until it commits or `timeoutMs` passes:
   * a change refused for now (no leader yet, a new leader that has not
   * committed an entry of its term, a transfer) is proposed again. Records
   * the `membership` event once it has committed.
   */
  private async proposeChange(change: ConfChange, timeoutMs: number, existing: boolean): Promise<Membership> {
    const deadline = performance.now() + timeoutMs;
    const wasVoter = existing && this.membership()?.voters.includes(change.node) === true;
    // Set once a leader took the change and stepped down before it committed: it may have committed anyway.
    let mayHaveCommitted = false;
    for (;;) {
      const remaining = deadline - performance.now();
      const leader = remaining <= 0 ? null : await this.leaderWatch.elected(performance.now() + remaining);
      if (leader === null) {
        // Every refusal so far said nothing was proposed: the change never reached a log.
        if (!mayHaveCommitted) throw new UnavailableError(`no leader took ${change.type} ${change.node} within ${timeoutMs} ms; nothing was proposed`, null, 'no-leader');
        throw new TimeoutError(`${change.type} ${change.node}: the leader stepped down before it committed, and no leader confirmed it within ${timeoutMs} ms; it may still commit (membership() says)`);
      }
      const reply = await this.request(leader, (requestId) => ({ type: 'conf-change', id: requestId, change }), Math.max(1, deadline - performance.now()));
      if (reply.ok) {
        const after = replyMembership(reply.result) ?? { voters: [], learners: [] };
        this.changeCommitted(change, after, leader, wasVoter, typeof reply.result?.['index'] === 'number' ? reply.result['index'] : null);
        return after;
      }
      const error = reply.error!;
      if (error.reason === 'stepped-down' || error.reason === 'timeout' || error.reason === 'node-died') mayHaveCommitted = true;
      else if (error.reason === 'refused' && mayHaveCommitted) {
        // Refused as a change that makes no sense now, with no change uncommitted: if the leader's
        // configuration is the one asked for, the earlier proposal committed under a later leader.
        await new Promise((resolve) => setTimeout(resolve, 2 * this.options.telemetryMs));
        const now = this.membership();
        if (now !== null && changeHolds(change, now)) {
          const after = { voters: now.voters, learners: now.learners };
          this.changeCommitted(change, after, now.from, wasVoter, null);
          return after;
        }
        throw toClusterError(error, leader);
      } else if (!changeRetryReasons.has(error.reason)) throw toClusterError(error, leader);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A change committed: membership() says so at once, and the `membership` event says who joined or left and the majorities. */
  private changeCommitted(change: ConfChange, after: Membership, leader: NodeId, wasVoter: boolean, index: number | null): void {
    this.lastChange = { membership: after, atMs: performance.now(), from: leader };
    const before = membershipBefore(after, change, wasVoter);
    this.record({
      type: 'membership',
      change: change.type === 'remove' ? 'left' : change.type === 'promote-learner' ? 'promoted' : 'joined',
      node: change.node,
      as: change.type === 'add-voter' || change.type === 'promote-learner' ? 'voter' : change.type === 'add-learner' ? 'learner' : null,
      voters: after.voters,
      learners: after.learners,
      majorityBefore: voterMajority(before),
      majorityAfter: voterMajority(after),
      index,
    });
  }

  /** Takes a node out of the supervisor: stops its process (gracefully, SIGKILL after 1 s), drops its links and slot, and tells the others. */
  private async retire(id: NodeId): Promise<void> {
    const slot = this.slot(id);
    this.members = this.members.filter((member) => member !== id);
    if (this.knownLeader?.id === id) this.knownLeader = null;
    this.links.forget(id);
    this.pushLinks();
    this.pushPeers();
    const child = slot.process;
    if (child !== null) {
      slot.expectingExit = true;
      if (slot.paused) child.signal('SIGCONT');
      child.send({ type: 'stop' });
      const forced = setTimeout(() => child.signal('SIGKILL'), 1_000);
      await child.exited.finally(() => clearTimeout(forced));
    }
    slot.client?.close(`${id} was removed from the cluster`);
    this.slots.delete(id);
    this.faults.delete(id);
    this.topologyChanged();
  }

  private addSlot(id: NodeId): void {
    this.slots.set(id, { id, process: null, telemetry: null, telemetryAtMs: 0, resumedAtMs: 0, paused: false, incarnation: 0, client: null, expectingExit: false, clockRate: 1, corrupt: null });
  }

  /** Tells every running node which nodes the cluster has now: their direct links follow. */
  private pushPeers(): void {
    const message: ToNode = { type: 'peers', nodes: [...this.ids] };
    for (const id of this.ids) this.deliver(id, message);
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

  /**
   * Starts a dead node again from its data dir; a wedged one (see NodeStatus.wedged) is killed first.
   * With `rebuild`, its log and state are wiped first and it is copied again from the leader (see rebuildNode).
   */
  async restart(id: NodeId, options: { rebuild?: boolean } = {}): Promise<void> {
    this.checkRunning();
    if (options.rebuild === true && this.removed.includes(id)) {
      throw new BadRequestError(`${id} was removed from the cluster (membership change): it is not rebuilt, since no configuration holds it; add a node instead (addNode)`);
    }
    const slot = this.slot(id);
    if (options.rebuild === true) return this.rebuildNode(id);
    if (slot.process !== null && this.status().find((n) => n.id === id)?.wedged != null) await this.kill(id);
    if (slot.process !== null) return;
    slot.incarnation++;
    slot.telemetry = null;
    this.spawn(id);
    this.record({ type: 'fault', fault: 'restart', detail: `${id} restarted from ${this.nodeDir(id)}` });
  }

  /**
   * `restart(id, { rebuild: true })`: stops the node if it runs, wipes its WAL,
   * state.db and snapshots (keeping `meta`, its term and vote, so it never votes
   * twice in a term), and starts it empty; the leader copies the log to it by
   * ordinary replication. Before the wipe the position of the last record its
   * old log held is written as its floor (cluster/node/rebuild.ts): until it
   * has caught up to there it neither campaigns nor votes for a log less up to
   * date, so it cannot help elect a leader without entries it had acknowledged.
   * Refused for a single-node cluster, and when no other node holds a log to
   * copy from (each other node is empty or awaiting a rebuild itself): that
   * would leave the cluster with no copy of what it committed. A node removed
   * from the configuration (removeNode) is refused in restart: it has no slot,
   * and rebuilding it would bring back a node no configuration holds.
   * With snapshots the leader may copy it by InstallSnapshot instead of the
   * whole log; the floor is then met by the snapshot's (term, index).
   */
  private async rebuildNode(id: NodeId): Promise<void> {
    const slot = this.slot(id);
    if (this.ids.length === 1) throw new BadRequestError(`${id} is the only node: a rebuild would copy it from nobody and lose everything it holds`);
    const sources = this.ids.filter((other) => other !== id && holdsData(this.nodeDir(other)));
    if (sources.length === 0) {
      throw new BadRequestError(`no other node holds a log to copy ${id} from (each is empty or awaiting a rebuild itself): a rebuild now would leave no copy of what the cluster committed`);
    }
    // A node dir that is not a dir, or a link in it, is refused before anything in it is removed (see refuseLinksInNodeDir).
    makeOwnDir(this.nodeDir(id));
    refuseLinksInNodeDir(this.nodeDir(id));
    if (slot.process !== null) {
      slot.expectingExit = true;
      slot.process.signal('SIGKILL');
      await slot.process.exited;
    }
    // The highest term any node saved or reported: a corrupt meta is replaced by one that cannot vote twice in a term (rebuild.ts).
    const others = [...this.ids, ...this.removed].filter((other) => other !== id);
    const reported = [...this.slots.values()].map((s) => s.telemetry?.term ?? 0);
    const termSeen = Math.max(highestSavedTerm(others.map((other) => this.nodeDir(other))), this.knownLeader?.term ?? 0, ...reported);
    const keptAside: string[] = [];
    const floorSeen = () => mostUpToDateLog(others.map((other) => this.nodeDir(other)));
    const floor = wipeForRebuild(this.nodeDir(id), new Date(), { id, termSeen, keptAside, floorSeen });
    slot.corrupt = null;
    slot.incarnation++;
    slot.telemetry = null;
    this.spawn(id);
    const held = floor === null ? '' : `; it votes only for logs at least as up to date as term ${floor.term}, index ${floor.index} (where its old log ended) until it has caught up there`;
    const aside = keptAside.length === 0 ? '' : `; kept aside, not deleted: ${keptAside.join(', ')}`;
    this.record({ type: 'fault', fault: 'rebuild', detail: `${id} rebuilt: its WAL, state.db and snapshots wiped (meta kept), restarted empty to be copied from the leader${held}${aside}` });
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
    this.topologyChanged();
  }

  resume(id: NodeId): void {
    this.checkRunning();
    const slot = this.slot(id);
    if (slot.process === null || !slot.paused) return;
    slot.paused = false;
    slot.resumedAtMs = performance.now();
    slot.process.signal('SIGCONT');
    this.record({ type: 'fault', fault: 'resume', detail: `${id} resumed (SIGCONT)` });
    this.topologyChanged();
  }

  /**
   * The clock fault: `id`'s timers run at `rate` times real speed (0.5: every tick comes twice as
   * late; 1 restores). Its elections, heartbeats and lease all count its own ticks.
   */
  setClockRate(id: NodeId, rate: number): void {
    this.checkRunning();
    const slot = this.slot(id);
    if (!(Number.isFinite(rate) && rate >= clockRateMin && rate <= clockRateMax)) {
      throw new BadRequestError(`a clock rate must be from ${clockRateMin} to ${clockRateMax} (1 is normal), got ${String(rate)}`);
    }
    slot.clockRate = rate;
    this.deliver(id, { type: 'clock', rate });
    this.record({ type: 'fault', fault: 'clock', detail: rate === 1 ? `${id}'s clock back to normal` : `${id}'s clock runs at ×${rate} (its ticks come every ${Math.round(this.options.tickMs / rate)} ms)` });
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
    const problem = linkOptionsProblem(options);
    if (problem !== null) throw new BadRequestError(problem);
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

  /**
   * Node-level faults: `diskSlowMs`, the node's WAL fsync takes that much
   * longer; `applySlowMs`, every entry it applies takes that much longer. A
   * field left out keeps its value; 0 is normal. Pushed to the node at once
   * (a paused node gets it when it resumes) and again whenever it restarts.
   */
  setNodeFault(id: NodeId, change: Partial<NodeFaults>): NodeFaults {
    this.checkRunning();
    this.slot(id);
    for (const [name, value] of Object.entries(change)) {
      if (name !== 'diskSlowMs' && name !== 'applySlowMs') throw new BadRequestError(`${name}: a node fault is diskSlowMs or applySlowMs`);
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > nodeFaultMsMax) throw new BadRequestError(`${name} must be from 0 to ${nodeFaultMsMax} ms`);
    }
    const next: NodeFaults = { ...this.nodeFaults(id), ...change };
    if (next.diskSlowMs === 0 && next.applySlowMs === 0) this.faults.delete(id);
    else this.faults.set(id, next);
    this.deliver(id, { type: 'node-faults', ...next });
    const said = (ms: number): string => (ms === 0 ? 'normal' : `${ms} ms slower`);
    if (change.diskSlowMs !== undefined) this.record({ type: 'fault', fault: 'disk', detail: `${id} disk: fsync ${said(next.diskSlowMs)}` });
    if (change.applySlowMs !== undefined) this.record({ type: 'fault', fault: 'apply', detail: `${id} apply: each entry ${said(next.applySlowMs)}` });
    return next;
  }

  /** A node's node-level faults (zeros when it has none). */
  nodeFaults(id: NodeId): NodeFaults {
    this.slot(id);
    return this.faults.get(id) ?? { diskSlowMs: 0, applySlowMs: 0 };
  }

  // -------------------------------------------------------------------------
  // Looking in

  status(): NodeStatus[] {
    const now = performance.now();
    const leaderId = this.leader();
    const leaderTelemetry = leaderId === null ? null : this.slot(leaderId).telemetry;
    const membership = this.membership();
    const memberOf = (id: NodeId): 'voter' | 'learner' | null =>
      membership === null ? null : membership.voters.includes(id) ? 'voter' : membership.learners.includes(id) ? 'learner' : null;
    return this.ids.map((id) => {
      const slot = this.slot(id);
      const view = {
        id,
        pid: slot.process?.pid ?? null,
        up: slot.process !== null,
        paused: slot.paused,
        isolated: this.links.isIsolated(id, this.ids),
        telemetry: slot.telemetry,
        reportAgeMs: now - slot.telemetryAtMs,
        clockRate: slot.clockRate,
        faults: this.nodeFaults(id),
        silentMs: now - Math.max(slot.telemetryAtMs, slot.resumedAtMs),
        wedgedAfterMs: wedgedAfterMs(this.options.heartbeatMs, this.options.telemetryMs),
        corrupt: slot.corrupt,
        member: memberOf(id),
      };
      return nodeStatus(view, leaderTelemetry);
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
    this.slot(id);
    const reply = await this.request(id, (requestId) => ({ type: 'checksum', id: requestId }));
    if (!reply.ok) throw toClusterError(reply.error!, id);
    const result = checksumResult(reply.result);
    if (result === null) throw new UnavailableError(`${id} sent a checksum reply that does not parse`, null, 'malformed-reply');
    return result;
  }

  /**
   * Takes a snapshot of a node's state now (`:snapshot n2`), compacting its
   * WAL after it. Resolves once the snapshot is durable with its index, term,
   * size, how long it took and the WAL the node keeps; rejects with a
   * ClusterError: 'down', 'busy' (a follower that has applied past what it
   * knows committed, or is receiving a snapshot), 'refused' (nothing applied
   * since its last snapshot, or the copy failed: the message says why).
   */
  /**
   * Changes the snapshot policy of every node now and of every node started
   * later (the WAL segment size stays what the cluster started with):
   * `retainBytes` works like a reload of PostgreSQL's max_slot_wal_keep_size,
   * a lower cap compacts at once. Returns the policy in force.
   */
  setSnapshotPolicy(change: Partial<Omit<SnapshotPolicy, 'segmentBytes' | 'intervalMsMin'>>): SnapshotPolicy {
    this.checkRunning();
    if (typeof change !== 'object' || change === null || Object.hasOwn(change, 'segmentBytes') || Object.hasOwn(change, 'intervalMsMin')) {
      throw new BadRequestError('snapshot policy: everyEntries, retainEntries and retainBytes may change; segmentBytes is fixed when the cluster starts, and so is intervalMsMin');
    }
    const problem = snapshotPolicyProblem(change);
    if (problem !== null) throw new BadRequestError(problem);
    this.policy = { ...this.policy, ...change };
    const { everyEntries, retainEntries, retainBytes } = this.policy;
    for (const id of this.ids) this.deliver(id, { type: 'snapshot-policy', everyEntries, retainEntries, retainBytes });
    return this.policy;
  }

  /** The snapshot policy in force (Cluster.start's `snapshot`, as setSnapshotPolicy last changed it). */
  snapshotPolicy(): SnapshotPolicy {
    return this.policy;
  }

  async snapshot(id: NodeId): Promise<{ index: number; term: number; bytes: number; durationMs: number; walBytesRetained: number }> {
    this.checkRunning();
    this.slot(id);
    const reply = await this.request(id, (requestId) => ({ type: 'snapshot', id: requestId }), snapshotTimeoutMs);
    if (!reply.ok) throw toClusterError(reply.error!, id);
    const result = snapshotResult(reply.result);
    if (result === null) throw new UnavailableError(`${id} sent a snapshot reply that does not parse`, null, 'malformed-reply');
    return result;
  }

  /** The last events (bounded), oldest first. */
  events(): readonly ClusterEvent[] {
    return this.recentEvents.toArray();
  }

  /**
   * The Raft messages of the last 60 s, as the nodes reported them: every
   * vote, pre-vote and answer, timeout-now and rejected append one by one;
   * appends and heartbeats counted per link.
   */
  messages(): MessagesView {
    return this.messageJournal.view(Date.now());
  }

  /** Acknowledged writes that a node later rolled back (bounded). */
  lostWrites(): readonly LostWrite[] {
    return this.lost.list();
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

  /**
   * The hello frame a connection to a node's socket opens with, as `from` (a
   * node id or 'client'), for tests of the socket boundary only: with it a
   * test speaks to a node as a raw client or as a peer would, past the checks
   * of the Cluster API. It carries the cluster's secret; nothing else uses it.
   */
  helloFrameForTests(from: NodeId | 'client'): Buffer {
    return encodeFrame({ type: 'hello', secret: this.secret, from });
  }

  /** Sends a raw, possibly malformed message to a node's IPC channel (tests of that boundary). */
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
    await this.workload.close();
    this.leaderWatch.release();
    this.control.failAll('node-died', 'the cluster is stopping');
    this.control.close();
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
    this.lock.release();
    if (this.removeSocketDir) rmSync(this.socketDir, { recursive: true, force: true });
    if (this.removeDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  private checkRunning(): void {
    if (this.stopping !== null) throw new UnavailableError('the cluster has been stopped', null, 'stopped');
  }

  private slot(id: NodeId): Slot {
    const slot = this.slots.get(id);
    if (slot === undefined) throw new BadRequestError(`no node ${String(id)}; nodes are ${this.ids.join(', ')}`);
    return slot;
  }
}

/** The Raft cluster behind an engine, for the members only replica-lab has; null on any other engine. */
export function raftCluster(engine: ReplicationEngine): Cluster | null {
  return engine instanceof Cluster ? engine : null;
}
