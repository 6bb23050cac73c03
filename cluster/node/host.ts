// The host of one node: it runs the consensus core over a real WAL and a
// SQLite state machine, following the Ready loop (persist, write, roll back,
// apply, send, answer, advance). It does no process, socket or timer handling
// itself (main.ts and peers.ts do), so tests can drive it in-process with
// fake channels.

import {
  applyChange,
  entryBytes,
  RaftCore,
  type ConfChange,
  type CoreConfig,
  type CoreEvent,
  type Entry,
  type Message,
  type NodeId,
  type Proposal,
  type ReadResult,
  type ReplicationConfig,
  type WriteAck,
} from '../core/index.js';
import {
  parseToNode,
  unbatch,
  Invalid,
  errorPayload,
  type ErrorReason,
  type FollowerTelemetry,
  type FromNode,
  type LinkRule,
  type NetworkTelemetry,
  type NodeEvent,
  type NodeTelemetry,
  type Param,
  type ReplicationSettings,
  type RolledBackWrite,
  type ToNode,
  type WalTelemetry,
  type Wedged,
} from '../protocol.js';
import { decodeStatement, encodeStatement, EnvironmentError, statementTextKnown, Store, validateStatement, type RollbackRecord } from '../store/index.js';
import { WalError, type Wal } from '../wal/index.js';
import type { SnapshotFrame } from '../snapshot/index.js';
import { recordBytesMax, recordHeaderBytes } from '../wal/constants.js';
import { clientIdProblem, peerTermProblem, statementLimitProblem } from '../limits.js';
import { replicationTicks, toTicks } from '../ticks.js';
import type { NodeConfig } from './config.js';
import { LagTracker } from './lag.js';
import { TraceRecorder, traceTagProblem } from './trace.js';
import { ApplyPacer } from './apply-pacer.js';
import { AckFold } from './ack-fold.js';
import { atLeastAsUpToDate, clearRebuildFloor, readRebuildFloor, type LogPoint } from './rebuild.js';
import { NodeSnapshots, openNodeState, snapshotPolicyDefault } from './snapshots.js';

/** Where the answers to a request go: the supervisor's IPC channel, or a client's connection. */
export interface ReplyChannel {
  send(message: FromNode): void;
}

/** What a message is allowed to do depends on the channel it came on. */
export type Origin = 'supervisor' | 'client';

export interface HostIo {
  /** The supervisor's IPC channel: telemetry, events, control replies. */
  send(message: FromNode): void;
  /** Raft messages to peers, over the direct links; they are written at the end of the loop's turn, one frame per peer. */
  sendRaft(messages: readonly Message[]): void;
  /** Writes the Raft messages handed over so far now, not at the end of the turn. Absent in hosts without links (tests). */
  flushRaft?(): void;
  /** A snapshot transfer's frame to a peer, as a frame of its own on the direct link; false when dropped. */
  sendSnapshotFrame(to: NodeId, frame: SnapshotFrame): boolean;
  /** The supervisor's link rules, for the direct links to apply. */
  setLinks(rules: readonly LinkRule[]): void;
  /** Every node of the cluster now (membership changes add and remove them): the direct links follow. Absent in hosts without links (tests). */
  setPeers?(nodes: readonly NodeId[]): void;
  network(): NetworkTelemetry;
  /** Monotonic milliseconds, for lag and timeouts. */
  nowMs(): number;
  /** Wall-clock milliseconds, for event timestamps. */
  wallMs(): number;
  rssBytes(): number;
  /** Ends the process (after a 'stop', once files are closed). */
  exit(code: number): void;
  pid: number;
  /**
   * Tests only: called at each step of a rollback, so a test can stop the
   * node there (by throwing) as a crash would, and restart it from its files.
   */
  rollbackStep?(step: RollbackStep): void;
}

/** The steps of a rollback, in order: its file durable, the log truncated (in the page cache), state.db undone. */
export type RollbackStep = 'recorded' | 'truncated' | 'undone';

/** Reads waiting for this node to apply far enough (read-your-writes); bounded. */
const waitingReadsMax = 10_000;
const eventsBufferedMax = 10_000;
/** Membership changes waiting to commit at once; the core takes one at a time, so more is a bug of the caller. */
const confChangesWaitingMax = 16;
/** Ready rounds in one drain; more means the core never settles, a bug to crash on. */
const drainRoundsMax = 10_000;

interface WaitingRead {
  readonly channel: ReplyChannel;
  readonly id: number;
  readonly sql: string;
  readonly params: readonly Param[];
  readonly minIndex: number;
  readonly deadlineMs: number;
}

interface PendingExecute {
  readonly channel: ReplyChannel;
  readonly id: number;
  readonly proposal: number;
  readonly startedMs: number;
}

export class NodeHost {
  readonly id: NodeId;
  private readonly config: NodeConfig;
  private readonly io: HostIo;
  private readonly wal: Wal;
  private store: Store;
  private readonly core: RaftCore;
  /** Snapshots, compaction and InstallSnapshot (snapshots.ts). */
  private readonly snapshots: NodeSnapshots;
  private readonly lag = new LagTracker();
  private replication: ReplicationSettings;

  /** Replies of this loop, per channel, sent together at its end. */
  private replies = new Map<ReplyChannel, FromNode[]>();
  private readonly supervisor: ReplyChannel;
  private events: { atMs: number; event: NodeEvent }[] = [];
  /** Client writes proposed here, by log index. */
  private readonly executes = new Map<number, PendingExecute>();
  /** Membership changes proposed here, by log index, until they commit (the core takes one at a time). */
  private readonly confChanges = new Map<number, PendingExecute>();
  /** Apply results of entries with a waiting client, until the ack goes out. */
  private readonly applyErrors = new Map<number, string>();
  /** Linearizable reads waiting for ReadIndex, by read id. */
  private readonly linearizable = new Map<number, { channel: ReplyChannel; id: number; sql: string; params: readonly Param[]; deadlineMs: number }>();
  /** ReadIndex contexts are this node's own numbers: clients' request ids may collide. */
  private nextReadContext = 1;
  private nextProposal = 1;
  private waiting: WaitingRead[] = [];
  private flushing = false;
  private flushAgain = false;
  private malformed = 0;
  private lastMalformedEventMs = -Infinity;
  private checksumCache: { index: number; value: string } | null = null;
  private checksumRunning = false;
  /** Bumped by every rollback, so a checksum started before one is not reported after it. */
  private checksumGeneration = 0;
  private wasLeader = false;
  private closed = false;
  /** The clock fault: this node's timers run at this many times real speed (main.ts stretches its tick). */
  private rate = 1;
  /** When the last tick ran, by this node's (possibly faulty) clock; null before the first. */
  private lastTickMs: number | null = null;

  get clockRate(): number {
    return this.rate;
  }
  /** Stamps of traced writes (`trace`): idle unless the supervisor armed a tag. */
  private readonly trace: TraceRecorder;
  /** The slow-apply fault (node-faults); idle when it is off. */
  private readonly pacer: ApplyPacer;
  /** A follower's received ack held while its fsync runs, so the flushed ack goes alone (ack-fold.ts). */
  private readonly ackFold: AckFold;
  /** Set when an error of this node's environment stopped it: it then only reports, and refuses requests with the reason. */
  private wedged: Wedged | null = null;
  /** Set while this node is being rebuilt (see rebuild.ts): the last position its wiped log held, which it must reach before it votes freely or campaigns. */
  private rebuildFloor: LogPoint | null = null;
  /** The last batch handed to the store, for the statement a report names (a reference: nothing is decoded per batch). */
  private lastApplied: readonly Entry[] = [];
  /** The entry being applied that may run long (see mayRunLong), reported before it runs; null once it has. */
  private runningLong: Entry | null = null;
  /** The same for a read: the query that may run long, reported before it runs. */
  private runningQuery: string | null = null;

  get isClosed(): boolean {
    return this.closed;
  }

  constructor(config: NodeConfig, io: HostIo) {
    this.id = config.id;
    this.config = config;
    this.io = io;
    this.supervisor = { send: (message) => io.send(message) };
    this.replication = config.replication;
    this.trace = new TraceRecorder(config.id, io.pid, config.fsync);
    const policy = config.snapshot ?? snapshotPolicyDefault;
    const log = (line: string): void => {
      process.stderr.write(`${config.id}: ${line}\n`);
    };
    const opened = openNodeState({ id: config.id, dataDir: config.dataDir, fsync: config.fsync, allowNondeterministic: config.allowNondeterministic === true, policy, log });
    const { wal, recovery, entries } = opened;
    this.wal = wal;
    this.store = opened.store;
    this.emit({
      type: 'wal-recovered',
      node: this.id,
      records: recovery.records,
      lastIndex: recovery.lastIndex,
      truncatedBytes: recovery.truncatedBytes,
      problem: recovery.problem === null ? null : `${recovery.problem.reason} in ${recovery.problem.segment} at byte ${recovery.problem.offset}`,
    });
    for (const event of opened.events) this.emit(event);
    // The core keeps recent entries in memory and reads older ones back from the WAL.
    this.core = new RaftCore(this.coreConfig(), { hardState: wal.hardState(), snapshot: opened.snapshot?.meta ?? null, entries, appliedIndex: opened.appliedIndex }, wal);
    this.snapshots = new NodeSnapshots({
      id: config.id,
      nodeDir: config.dataDir,
      fsync: config.fsync,
      policy,
      latest: opened.snapshot,
      hooks: {
        core: () => this.core,
        wal,
        swapStore: (fn) => this.swapStore(fn),
        sendFrame: (to, frame) => io.sendSnapshotFrame(to, frame),
        sendRaft: (messages) => io.sendRaft(messages),
        emit: (event) => this.emit(event),
        log,
        drain: () => {
          if (!this.closed) this.drain();
        },
        isClosed: () => this.closed,
      },
    });
    this.pacer = new ApplyPacer({
      appliedIndex: () => this.core.getAppliedIndex(),
      applicableIndex: () => this.core.applicableIndex(),
      setApplyCap: (index) => this.core.setApplyCap(index),
      drain: () => {
        if (!this.closed) this.drain();
      },
    });
    this.ackFold = new AckFold((messages) => {
      if (this.closed || this.wedged !== null) return;
      this.sendRaftNow(messages);
    });
    this.loadRebuildFloor();
    this.drain();
  }

  /** A node started after a rebuild holds back (see rebuild.ts) until its log reaches the floor. */
  private loadRebuildFloor(): void {
    this.rebuildFloor = readRebuildFloor(this.config.dataDir);
    if (this.rebuildFloor !== null) {
      process.stderr.write(`${this.id}: rebuilding: no campaign, and votes only for a log at least as up to date as term ${this.rebuildFloor.term}, index ${this.rebuildFloor.index} (where its old log ended), until its own log gets there\n`);
      // The durable log's end: after a compaction or a snapshot install, an empty log ends at its base (the snapshot's index and term).
      this.checkRebuilt(this.wal.lastIndex() === 0 ? null : { index: this.wal.lastIndex(), term: this.wal.lastTerm() });
    }
  }

  /** Lifts the rebuild's restrictions once the durable log is at least as up to date as the floor. */
  private checkRebuilt(durable: LogPoint | null): void {
    const floor = this.rebuildFloor;
    if (floor === null || durable === null || !atLeastAsUpToDate(durable, floor)) return;
    clearRebuildFloor(this.config.dataDir);
    this.rebuildFloor = null;
    process.stderr.write(`${this.id}: rebuilt: its log reached term ${durable.term}, index ${durable.index}; it votes and campaigns again\n`);
    this.emit({ type: 'node-rebuilt', node: this.id, index: durable.index, term: durable.term });
  }

  /**
   * While rebuilding, a Raft message that would let this node help elect a
   * leader its old log would have refused, or lead itself, is dropped as if it
   * never arrived (the node is, for elections, down): a vote request from a
   * log less up to date than the floor, and a leadership handed over.
   */
  private heldBackWhileRebuilding(message: Message): boolean {
    const floor = this.rebuildFloor;
    if (floor === null) return false;
    if (message.type === 'timeout-now') return true;
    return message.type === 'vote' && !atLeastAsUpToDate({ index: message.lastIndex, term: message.lastTerm }, floor);
  }

  private coreConfig(): CoreConfig {
    const { config } = this;
    return {
      id: config.id,
      peers: config.peers,
      electionTicks: [toTicks(config.electionTimeoutMs[0], config.tickMs), toTicks(config.electionTimeoutMs[1], config.tickMs)],
      heartbeatTicks: toTicks(config.heartbeatMs, config.tickMs),
      failover: config.failover,
      fencing: config.fencing,
      preVote: config.preVote,
      checkQuorum: config.checkQuorum,
      replication: this.replicationTicks(config.replication),
      seed: config.seed,
    };
  }

  private replicationTicks(settings: ReplicationSettings): ReplicationConfig {
    return replicationTicks(settings, this.config.tickMs);
  }

  // -------------------------------------------------------------------------
  // Inputs

  /**
   * One message from the supervisor (IPC) or a client (its connection), as it
   * arrived (often a batch): each part checked, then handled or counted and
   * dropped; then one Ready loop for all of them, so writes that arrived
   * together travel in one append.
   */
  receive(raw: unknown, origin: Origin = 'supervisor', channel: ReplyChannel = this.supervisor): void {
    if (this.closed) return;
    if (origin === 'client' && this.trace.armed) this.trace.clientFrame();
    for (const part of unbatch(raw)) {
      const message = parseToNode(part);
      if (message instanceof Invalid) {
        this.countMalformed(message.reason);
        this.answerMalformed(part, message.reason, channel);
      } else if (!allowedFrom(origin, message)) this.countMalformed(`a ${message.type} message from a ${origin} connection`);
      else if (this.wedged !== null && message.type !== 'stop' && message.type !== 'links') {
        if ('id' in message) this.fail(channel, message.id, 'down', `${this.id} is wedged: ${this.wedged.reason}`, null);
      } else this.handle(message, channel);
      if (this.closed) return;
    }
    this.drain();
  }

  /**
   * A request that did not parse but says what it is and carries an id (a
   * raw client's, or one sent past the Cluster API): answered with a typed
   * 'bad-statement' reply at once, so its caller does not wait out the deadline.
   */
  private answerMalformed(part: unknown, reason: string, channel: ReplyChannel): void {
    if (typeof part !== 'object' || part === null) return;
    const { type, id } = part as { type?: unknown; id?: unknown };
    if ((type !== 'execute' && type !== 'query') || typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return;
    this.fail(channel, id, 'bad-statement', `${this.id} refused a malformed ${type}: ${reason}`, null);
  }

  /**
   * Raft messages from peers, each field already range-checked at the link
   * (raftMessage). What only this node's log can tell is checked here: a
   * message that fails is dropped and counted, never stepped into the core.
   */
  receiveRaft(messages: readonly Message[]): void {
    if (this.closed || this.wedged !== null) return;
    if (this.trace.armed) this.trace.raftIn(messages);
    for (const message of messages) {
      const problem = peerMessageProblem(message, this.core);
      if (problem !== null) this.countMalformed(`${message.from}: ${problem}`);
      else if (this.heldBackWhileRebuilding(message)) continue;
      // InstallSnapshot only with its data here: without it the leader finds this node behind and sends it again.
      else if (message.type === 'snapshot' && !this.snapshots.accepts(message)) continue;
      else this.core.step(message);
    }
    this.drain();
  }

  /** A snapshot transfer's frame from a peer's direct link (checked by the snapshot code). */
  receiveSnapshotFrame(from: NodeId, frame: unknown): void {
    if (this.closed) return;
    this.snapshots.onFrame(from, frame);
    this.flushOutput();
  }

  /** Closes the store, lets `fn` replace state.db (a snapshot install or restore), reopens it. */
  private swapStore<T>(fn: () => T): T {
    this.store.close();
    try {
      return fn();
    } finally {
      this.store = Store.open({ dir: this.config.dataDir, allowNondeterministic: this.config.allowNondeterministic === true });
      this.checksumCache = null;
      this.checksumGeneration++;
    }
  }

  /** Cluster.snapshot: answered once the snapshot is durable (or refused, with why). */
  private snapshotNow(channel: ReplyChannel, id: number): void {
    void this.snapshots.takeNow().then((result) => {
      if (this.closed) return;
      if (result.ok) this.reply(channel, id, { index: result.index, term: result.term, bytes: result.bytes, durationMs: result.durationMs, walBytesRetained: result.walBytesRetained });
      else this.fail(channel, id, result.reason, result.message, null);
      this.flushOutput();
    });
  }

  private refusedConnections = 0;
  private lastRefusedEventMs = -Infinity;

  /** A connection refused at the handshake: counted, and its reason logged (at most once a second). */
  connectionRefused(reason: string): void {
    this.refusedConnections++;
    const now = this.io.nowMs();
    if (now - this.lastRefusedEventMs < 1000) return;
    this.lastRefusedEventMs = now;
    process.stderr.write(`${this.id}: refused a connection: ${reason}\n`);
    this.emit({ type: 'connection-refused', node: this.id, reason, count: this.refusedConnections });
    this.flushOutput();
  }

  countMalformed(reason: string): void {
    this.malformed++;
    const now = this.io.nowMs();
    if (now - this.lastMalformedEventMs >= 1000) {
      this.lastMalformedEventMs = now;
      this.emit({ type: 'malformed-message', node: this.id, reason, count: this.malformed });
    }
  }

  tick(): void {
    if (this.closed || this.wedged !== null) return;
    // By this node's own clock (the clock fault scales it): a tick that comes more than two tick
    // periods late means the process stopped (SIGSTOP, a stalled event loop) and missed ticks, so the
    // ticks its lease counted prove nothing. A clock that merely runs slow gives no such sign.
    const now = this.io.nowMs() * this.rate;
    if (this.lastTickMs !== null && now - this.lastTickMs > 2 * this.config.tickMs) this.core.dropLease();
    this.lastTickMs = now;
    // A node being rebuilt runs no election timer: it must not campaign before its log reaches the floor.
    if (this.rebuildFloor === null) this.core.tick();
    this.expireReads();
    this.drain();
  }

  private handle(message: ToNode, channel: ReplyChannel): void {
    switch (message.type) {
      case 'raft':
        // Refused from every origin by allowedFrom: peers' messages arrive through receiveRaft.
        return;
      case 'execute':
        this.execute(message, channel);
        return;
      case 'query':
        this.query(message, channel);
        return;
      case 'promote':
        if (this.rebuildFloor !== null) {
          this.fail(channel, message.id, 'refused', `${this.id} is being rebuilt and cannot lead before its log reaches term ${this.rebuildFloor.term}, index ${this.rebuildFloor.index}`, null);
          return;
        }
        this.core.promote();
        this.reply(channel, message.id, { promoted: this.id });
        return;
      case 'transfer': {
        const problem = this.core.transferLeadership(message.target);
        if (problem === null) this.reply(channel, message.id, { target: message.target });
        else this.fail(channel, message.id, problem === 'not-leader' ? 'not-leader' : 'refused', transferMessage(problem, message.target), null);
        return;
      }
      case 'set-replication': {
        const next = { ...this.replication, ...message.replication };
        const problem = this.core.setReplication(this.replicationTicks(next));
        if (problem === null) {
          this.replication = next;
          this.reply(channel, message.id, { replication: next });
        } else this.fail(channel, message.id, 'refused', problem, null);
        return;
      }
      case 'checksum':
        this.reply(channel, message.id, this.checksum());
        return;
      case 'trace':
        this.traceControl(message, channel);
        return;
      case 'snapshot':
        this.snapshotNow(channel, message.id);
        return;
      case 'snapshot-policy': {
        const { type: _type, ...change } = message;
        const problem = this.snapshots.setPolicy(change);
        if (problem !== null) this.countMalformed(`supervisor: ${problem}`);
        this.drain();
        return;
      }
      case 'links':
        this.io.setLinks(message.rules);
        return;
      case 'clock':
        this.rate = message.rate;
        this.lastTickMs = null;
        return;
      case 'conf-change':
        this.confChange(message.id, message.change, channel);
        return;
      case 'peers':
        this.io.setPeers?.(message.nodes);
        return;
      case 'node-faults':
        this.wal.setSyncDelay(message.diskSlowMs);
        this.pacer.set(message.applySlowMs);
        return;
      case 'batch':
        // Unpacked in receive(); a batch never reaches here.
        return;
      case 'stop':
        void this.close().finally(() => this.io.exit(0));
        return;
    }
  }

  private execute(message: Extract<ToNode, { type: 'execute' }>, channel: ReplyChannel): void {
    const traced = this.trace.armed && this.trace.executing(message.client);
    // Asked before the check below keeps what it finds: a text met for the first time pays for its analysis once.
    const firstText = traced && !statementTextKnown(message.sql);
    // The limits first (a raw client bypasses the Cluster API's check): nothing proposed here may make a record the WAL refuses.
    const problem =
      statementLimitProblem(message.sql, message.params) ??
      (message.client === null ? null : clientIdProblem(message.client)) ??
      validateStatement(message.sql, message.params, { allowNondeterministic: this.config.allowNondeterministic === true }) ??
      // The join bound in this node's applied state: an early error only, apply decides (the state there may differ).
      this.store.joinBound(message.sql);
    if (problem !== null) {
      this.fail(channel, message.id, 'bad-statement', problem, null);
      return;
    }
    if (traced) this.trace.validated(message.client!, firstText);
    const data = encodeStatement(message.sql, message.params);
    // Counted exactly only near the limit: a UTF-16 code unit is at most 3 bytes of UTF-8 (the core counts every entry anyway).
    const mayBeTooLarge = recordHeaderBytes + 'sql'.length + 3 * (data.length + (message.client ?? '').length) > recordBytesMax;
    const bytes = mayBeTooLarge ? entryBytes('sql', data, message.client ?? undefined) : 0;
    if (bytes > recordBytesMax) {
      // Unreachable while the limits are derived from the record size; refused rather than crash the WAL if they ever drift.
      this.fail(channel, message.id, 'bad-statement', `the write would be a ${bytes}-byte log record, over the WAL's limit of ${recordBytesMax} bytes (recordBytesMax)`, null);
      return;
    }
    // The core's proposal id is this node's own number: clients on different connections reuse request ids.
    const proposal: { -readonly [K in keyof Proposal]: Proposal[K] } = { id: this.nextProposal++, data };
    if (message.client !== null) proposal.client = message.client;
    if (message.request !== null) proposal.request = message.request;
    if (message.replication !== null) proposal.replication = message.replication;
    const result = this.core.propose(proposal);
    if (result.ok) {
      if (traced) this.trace.proposed(message.client!, result.index, result.term);
      this.executes.set(result.index, { channel, id: message.id, proposal: proposal.id, startedMs: this.io.nowMs() });
      return;
    }
    switch (result.error) {
      case 'not-leader':
        this.fail(channel, message.id, 'not-leader', notLeaderMessage(this.id, result.leader), null, result.leader);
        return;
      case 'transfer-in-progress':
        this.fail(channel, message.id, 'transfer-in-progress', `${this.id} is handing leadership over; retry at the new leader`, null);
        return;
      case 'busy':
        this.fail(channel, message.id, 'busy', `${this.id} has too many writes waiting for acknowledgement; retry shortly`, null);
        return;
      case 'leadership-lost':
        this.fail(channel, message.id, 'leadership-lost', `${this.id} lost leadership`, null);
        return;
    }
  }

  /** A membership change (supervisor only): proposed at once, answered when it commits, or refused with the reason. */
  private confChange(id: number, change: ConfChange, channel: ReplyChannel): void {
    if (this.confChanges.size >= confChangesWaitingMax) {
      this.fail(channel, id, 'busy', `${this.id} already has ${this.confChanges.size} membership changes waiting to commit`, null);
      return;
    }
    const proposal = this.nextProposal++;
    const result = this.core.proposeConfChange(proposal, change);
    if (result.ok) {
      this.confChanges.set(result.index, { channel, id, proposal, startedMs: this.io.nowMs() });
      return;
    }
    const what = `${change.type} ${change.node}`;
    switch (result.error) {
      case 'not-leader':
        this.fail(channel, id, 'not-leader', notLeaderMessage(this.id, result.leader), null, result.leader);
        return;
      case 'change-in-progress':
        this.fail(channel, id, 'change-in-progress', `${this.id} refused ${what} for now: a membership change is still uncommitted, or it has not yet committed an entry of its own term`, null);
        return;
      case 'bad-change': {
        const reason = applyChange(this.core.membership(), change);
        this.fail(channel, id, 'refused', `${this.id} refused ${what}: ${typeof reason === 'string' ? reason : 'the change is not a single-server change'}`, null);
        return;
      }
      case 'transfer-in-progress':
        this.fail(channel, id, 'transfer-in-progress', `${this.id} is handing leadership over; retry at the new leader`, null);
        return;
      case 'busy':
        this.fail(channel, id, 'busy', `${this.id} has too many writes waiting for acknowledgement; retry shortly`, null);
        return;
      case 'leadership-lost':
        this.fail(channel, id, 'leadership-lost', `${this.id} lost leadership`, null);
        return;
    }
  }

  private query(message: Extract<ToNode, { type: 'query' }>, channel: ReplyChannel): void {
    const problem = statementLimitProblem(message.sql, message.params) ?? queryProblem(message.sql);
    if (problem !== null) {
      this.fail(channel, message.id, 'bad-statement', problem, null);
      return;
    }
    const deadlineMs = this.io.nowMs() + message.timeoutMs;
    if (message.consistency === 'linearizable' || message.consistency === 'lease') {
      if (this.linearizable.size >= waitingReadsMax) {
        this.fail(channel, message.id, 'busy', `${this.id} has too many reads waiting; retry shortly`, null);
        return;
      }
      const context = this.nextReadContext++;
      this.linearizable.set(context, { channel, id: message.id, sql: message.sql, params: message.params, deadlineMs });
      if (message.consistency === 'lease') this.core.leaseRead(context);
      else this.core.readIndex(context);
      return;
    }
    if (message.minIndex <= this.core.getAppliedIndex()) {
      this.runQuery(channel, message.id, message.sql, message.params);
      return;
    }
    if (this.waiting.length >= waitingReadsMax) {
      this.fail(channel, message.id, 'busy', `${this.id} has too many reads waiting; retry shortly`, null);
      return;
    }
    this.waiting.push({ channel, id: message.id, sql: message.sql, params: message.params, minIndex: message.minIndex, deadlineMs });
  }

  private runQuery(channel: ReplyChannel, id: number, sql: string, params: readonly Param[], onLease = false): void {
    this.runningQuery = queryMayRunLong(sql) ? sql : null;
    if (this.runningQuery !== null) this.supervisor.send({ type: 'telemetry', telemetry: this.telemetry(false) });
    try {
      const { columns, rows, truncated } = this.store.query(sql, params);
      const result = { columns, rows, truncated, index: this.core.getAppliedIndex(), node: this.id };
      this.reply(channel, id, onLease ? { ...result, lease: true } : result);
    } catch (error) {
      this.fail(channel, id, 'bad-statement', error instanceof Error ? error.message : String(error), null);
    } finally {
      this.runningQuery = null;
    }
  }

  /** Local reads waiting for an index, and linearizable reads, time out here rather than hang. */
  private expireReads(): void {
    const now = this.io.nowMs();
    const applied = this.core.getAppliedIndex();
    const still: WaitingRead[] = [];
    for (const read of this.waiting) {
      if (read.minIndex <= applied) this.runQuery(read.channel, read.id, read.sql, read.params);
      else if (now >= read.deadlineMs) {
        this.fail(read.channel, read.id, 'timeout', `${this.id} had applied up to ${applied}, not ${read.minIndex}, when the read timed out`, null);
      } else still.push(read);
    }
    this.waiting = still;
    for (const [context, read] of this.linearizable) {
      if (now < read.deadlineMs) continue;
      this.linearizable.delete(context);
      this.fail(read.channel, read.id, 'timeout', `${this.id} could not confirm its leadership with a majority in time`, null);
    }
  }

  // -------------------------------------------------------------------------
  // The Ready loop

  /** One Ready loop; an error of the node's environment (see environmentProblem) wedges the node instead of crashing it. */
  private drain(): void {
    if (this.wedged !== null) {
      this.flushOutput(); // refusals of requests that came in
      return;
    }
    try {
      this.drainReady();
    } catch (error) {
      const reason = environmentProblem(error);
      if (reason === null) throw error;
      this.wedge(reason, error instanceof EnvironmentError ? firstStatement(this.lastApplied) : null);
    }
  }

  /**
   * Stops taking part: no tick, no Raft message in or out, no apply; every
   * request waiting here is answered, and every later one refused, with the
   * reason. Telemetry goes on, so status() and the TUI show the node as
   * wedged, not down. A restart recovers from the files.
   */
  private wedge(reason: string, entry: Entry | null): void {
    if (this.wedged !== null || this.closed) return;
    const statement = entry === null ? null : statementText(entry.data);
    this.wedged = { reason, statement };
    this.ackFold.drop();
    process.stderr.write(`${this.id}: wedged: ${reason}${statement === null ? '' : ` (applying: ${statement.slice(0, 200)})`}\n`);
    const message = `${this.id} is wedged: ${reason}`;
    for (const [index, pending] of this.executes) this.fail(pending.channel, pending.id, 'node-died', `${message}; the write may still commit elsewhere`, index);
    this.executes.clear();
    for (const read of this.waiting) this.fail(read.channel, read.id, 'down', message, null);
    this.waiting = [];
    for (const read of this.linearizable.values()) this.fail(read.channel, read.id, 'down', message, null);
    this.linearizable.clear();
    this.emit({ type: 'node-wedged', node: this.id, reason, statement });
    this.flushOutput();
  }

  private drainReady(): void {
    for (let round = 0; this.core.hasReady(); round++) {
      if (round >= drainRoundsMax) throw new Error(`assertion failed: ${this.id} produced Ready without end (${JSON.stringify(this.core.status()).slice(0, 500)})`);
      if (this.trace.armed) this.trace.commitIndex(this.core.getCommitIndex());
      const ready = this.core.ready();
      // Before anything else in this Ready: the received snapshot becomes the state, the log agrees with it.
      if (ready.snapshot !== null) {
        this.snapshots.install(ready.snapshot);
        // A rebuilt node may catch up by the snapshot alone: it is durable, and the log now begins after it.
        this.checkRebuilt({ index: ready.snapshot.index, term: ready.snapshot.term });
      }
      if (ready.hardState !== null) this.wal.saveHardState(ready.hardState);
      // A leader's appends leave before its own WAL write and fsync, which then run while they travel (Raft thesis
      // §10.2.1; etcd's raft allows the same): the leader counts itself only once its fsync is done, so an entry still
      // commits only when a majority holds it durably. Not in async mode, where the leader's own fsync is what a write
      // waits for: there the write comes first. Everything else a node sends waits for what it persists.
      const leaderSendsFirst = ready.messages.length > 0 && ready.rollback.length === 0 && this.replication.mode !== 'async' && this.core.getRole() === 'leader';
      if (leaderSendsFirst) this.sendReadyMessages(ready.messages, true);
      // The rollback file is durable before the truncation that forgets its entries (a crash in between loses no record).
      const rollback = ready.rollback.length > 0 ? this.store.recordRollback(ready.rollback) : null;
      if (rollback !== null) this.io.rollbackStep?.('recorded');
      if (ready.writeFrom !== null) {
        if (this.trace.armed) this.trace.beforeWrite(ready.entries);
        this.wal.write(ready.writeFrom, ready.entries);
        if (this.trace.armed) this.trace.afterWrite();
        // The fsync starts on the thread pool now, while this thread sends and applies.
        this.startFlush();
      }
      if (rollback !== null) this.io.rollbackStep?.('truncated');
      // Raft messages leave before the (slower) SQLite apply, so followers' acks are not held up by it.
      if (!leaderSendsFirst && ready.messages.length > 0) this.sendReadyMessages(ready.messages, ready.apply.length > 0 && this.core.getRole() !== 'leader');
      if (rollback !== null) this.rollBack(ready.rollback, rollback);
      if (ready.apply.length > 0) this.apply(ready.apply);
      for (const ack of ready.acks) this.answerWrite(ack);
      for (const read of ready.reads) this.answerRead(read);
      for (const event of ready.events) this.onCoreEvent(event);
      this.core.advance();
    }
    if (this.waiting.length > 0) this.expireReads();
    this.snapshots.afterReady();
    this.snapshots.maybeTake();
    this.pacer.schedule();
    this.flushOutput();
  }

  /**
   * A Ready's messages, at the end of the loop's turn (one frame per peer), or now when `now`: a leader's appends
   * before its own write, a follower's ack before its SQLite apply (the leader commits on a flushed ack, so a write's
   * latency would otherwise include this follower's apply).
   */
  private sendReadyMessages(readyMessages: readonly Message[], now: boolean): void {
    // A 'snapshot' message waits for its data to reach the follower (snapshots.ts).
    const messages = this.ackFold.outgoing(this.snapshots.outgoing(readyMessages), this.mayHoldAcks());
    if (messages.length === 0) return;
    this.sendRaftNow(messages);
    if (now) this.io.flushRaft?.();
  }

  private sendRaftNow(messages: readonly Message[]): void {
    if (this.trace.armed) this.trace.raftOut(messages);
    this.io.sendRaft(messages);
  }

  /**
   * A follower may hold back an ack while its fsync runs, when the leader
   * counts flushed acks only: the fsync's own ack, a moment later, says the
   * same and more (ack-fold.ts). At ack level received or applied the leader
   * waits on exactly the ack that would be held, so none is.
   */
  private mayHoldAcks(): boolean {
    return this.flushing && this.replication.ackLevel === 'flushed' && this.core.getRole() !== 'leader';
  }

  /** One SQLite transaction for the whole batch: the WAL, not state.db, is what makes a write durable. */
  private apply(entries: readonly Entry[]): void {
    this.lastApplied = entries;
    // A statement cannot be interrupted once it runs: before one that may run long, a report names it, so that if
    // the event loop then blocks, the supervisor's last report (✕ wedged) says which statement (issue 13).
    this.runningLong = entries.find(mayRunLong) ?? null;
    if (this.runningLong !== null) this.supervisor.send({ type: 'telemetry', telemetry: this.telemetry(false) });
    if (this.trace.armed) this.trace.beforeApply(entries);
    let results;
    try {
      results = this.store.applyBatch(entries);
    } finally {
      this.runningLong = null;
    }
    if (this.trace.armed) this.trace.afterApply();
    results.forEach((result, i) => {
      const index = entries[i]!.index;
      if (!result.ok && this.executes.has(index)) this.applyErrors.set(index, result.error);
    });
  }

  private rollBack(undone: readonly Entry[], record: RollbackRecord): void {
    const keepTo = undone[undone.length - 1]!.index - 1;
    // Once compacted, the log no longer replays from index 1: back to the snapshot, then the log after it.
    if (this.core.firstIndex() > 1) {
      this.snapshots.rollBack(keepTo, (store, entries) => store.applyBatch(entries), () => this.store);
    } else {
      this.store.completeRollback(record, this.core.entries(1, keepTo + 1));
    }
    this.io.rollbackStep?.('undone');
    const { path } = record;
    const writes: RolledBackWrite[] = [...undone].reverse().map((entry) => ({
      index: entry.index,
      term: entry.term,
      kind: entry.kind,
      sql: entry.kind === 'sql' ? statementText(entry.data) : null,
    }));
    this.emit({ type: 'rollback-written', node: this.id, path, writes });
    this.checksumCache = null;
    this.checksumGeneration++;
  }

  private startFlush(): void {
    if (this.flushing) {
      this.flushAgain = true;
      if (this.trace.armed) this.trace.flushQueued();
      return;
    }
    this.flushing = true;
    if (this.trace.armed) this.trace.flushStarted(this.wal.lastIndex());
    const startedMs = this.io.nowMs();
    this.wal.flush().then(
      (durable) => {
        this.flushing = false;
        if (this.closed) return;
        this.ackFold.flushTook(this.io.nowMs() - startedMs);
        if (durable !== null) {
          if (this.trace.armed) this.trace.flushed(durable.index);
          this.core.persisted(durable.index, durable.term);
          this.checkRebuilt(durable);
          if (this.core.getRole() === 'leader') this.lag.flushed(this.core.getStableIndex(), this.io.nowMs());
        }
        if (this.flushAgain) {
          this.flushAgain = false;
          this.startFlush();
        }
        this.drain();
        // The fsync a held ack waited for is done: if its own ack did not supersede it, it goes now.
        this.ackFold.release();
      },
      (error: unknown) => {
        // A failed fsync leaves durability unknown: stop (wedged, saying why) rather than acknowledge anything.
        this.flushing = false;
        this.wedge(`WAL fsync failed: ${error instanceof Error ? error.message : String(error)}; restart the node to recover from its files`, null);
      },
    );
  }

  private answerWrite(ack: WriteAck): void {
    const conf = this.confChanges.get(ack.index);
    if (conf !== undefined && conf.proposal === ack.id) {
      this.confChanges.delete(ack.index);
      if (ack.ok) this.reply(conf.channel, conf.id, { index: ack.index, term: ack.term, leader: this.id, membership: this.core.membership() });
      else this.fail(conf.channel, conf.id, 'stepped-down', `${this.id} stepped down before the membership change at index ${ack.index} committed; it may still commit`, ack.index, ack.leader);
      return;
    }
    const pending = this.executes.get(ack.index);
    if (pending === undefined || pending.proposal !== ack.id) return;
    this.executes.delete(ack.index);
    const applyError = this.applyErrors.get(ack.index);
    this.applyErrors.delete(ack.index);
    if (this.trace.armed) this.trace.replied(ack.index);
    if (ack.ok && applyError === undefined) {
      this.reply(pending.channel, pending.id, { index: ack.index, term: ack.term, leader: this.id });
    } else if (ack.ok) {
      this.fail(pending.channel, pending.id, 'apply-failed', `the write committed at index ${ack.index} but failed on every node: ${applyError}`, ack.index);
    } else {
      const message = `${this.id} stepped down before the write at index ${ack.index} was acknowledged; it may still commit`;
      this.fail(pending.channel, pending.id, 'stepped-down', message, ack.index, ack.leader);
    }
  }

  private answerRead(read: ReadResult): void {
    const pending = this.linearizable.get(read.id);
    if (pending === undefined) return;
    this.linearizable.delete(read.id);
    if (read.ok) this.runQuery(pending.channel, pending.id, pending.sql, pending.params, read.lease === true);
    else if (read.error === 'not-leader') this.fail(pending.channel, pending.id, 'not-leader', notLeaderMessage(this.id, read.leader), null, read.leader);
    else this.fail(pending.channel, pending.id, 'read-unavailable', `${this.id} could not serve the linearizable read (${read.error})`, null, read.leader);
  }

  private onCoreEvent(event: CoreEvent): void {
    this.emit(event);
    if (event.type === 'leader-elected' && event.node === this.id) this.lag.reset(this.core.getStableIndex(), this.io.nowMs());
  }

  // -------------------------------------------------------------------------
  // Output

  private reply(channel: ReplyChannel, id: number, result: Record<string, unknown>): void {
    this.queueReply(channel, { type: 'reply', id, ok: true, error: null, result });
  }

  private fail(channel: ReplyChannel, id: number, reason: ErrorReason, message: string, index: number | null, leader: NodeId | null = null): void {
    this.queueReply(channel, { type: 'reply', id, ok: false, error: errorPayload(reason, message, { index, leader }), result: null });
  }

  private queueReply(channel: ReplyChannel, reply: FromNode): void {
    const queued = this.replies.get(channel);
    if (queued === undefined) this.replies.set(channel, [reply]);
    else queued.push(reply);
  }

  private emit(event: NodeEvent): void {
    if (this.events.length < eventsBufferedMax) this.events.push({ atMs: this.io.wallMs(), event });
  }

  /** Replies and events of a loop as one message per channel, not one each. */
  private flushOutput(): void {
    if (this.events.length > 0) {
      this.queueReply(this.supervisor, { type: 'events', events: this.events });
      this.events = [];
    }
    if (this.replies.size === 0) return;
    const replies = this.replies;
    this.replies = new Map();
    for (const [channel, out] of replies) channel.send(out.length === 1 ? out[0]! : { type: 'batch', messages: out });
    if (this.trace.armed) this.trace.outputFlushed();
  }

  /** `trace` over IPC: arm a tag before the traced write, report its stamps, disarm (see trace.ts). */
  private traceControl(message: Extract<ToNode, { type: 'trace' }>, channel: ReplyChannel): void {
    const problem = traceTagProblem(message.tag);
    if (problem !== null) {
      this.fail(channel, message.id, 'refused', problem, null);
      return;
    }
    switch (message.action) {
      case 'arm': {
        const refused = this.trace.arm(message.tag);
        if (refused === null) this.reply(channel, message.id, { armed: message.tag });
        else this.fail(channel, message.id, 'busy', refused, null);
        return;
      }
      case 'report':
        this.reply(channel, message.id, { record: this.trace.report(message.tag) });
        return;
      case 'disarm':
        this.trace.disarm(message.tag);
        this.reply(channel, message.id, { disarmed: message.tag });
        return;
    }
  }

  /** The checksum at the applied index now, computed on the spot (for a 'checksum' request). */
  checksum(): { index: number; value: string } {
    const index = this.core.getAppliedIndex();
    if (this.checksumCache?.index !== index) this.checksumCache = { index, value: this.store.checksum() };
    return this.checksumCache;
  }

  /**
   * Telemetry's checksum: when the applied index has moved, one is started in
   * the background (see Store.checksumInBackground) and reported, with the
   * index it is for, once done. A rollback in the meantime discards it: its
   * index would name an entry the log no longer holds.
   */
  private refreshChecksum(): void {
    if (this.checksumRunning || this.closed || this.checksumCache?.index === this.core.getAppliedIndex()) return;
    const generation = this.checksumGeneration;
    this.checksumRunning = true;
    this.store.checksumInBackground().then(
      (result) => {
        this.checksumRunning = false;
        if (result === null || this.closed || generation !== this.checksumGeneration) return;
        if (this.checksumCache === null || result.index >= this.checksumCache.index) this.checksumCache = { index: result.index, value: result.digest };
      },
      (error: unknown) => {
        this.checksumRunning = false;
        process.stderr.write(`${this.id}: background checksum failed: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  }

  telemetry(withChecksum: boolean): NodeTelemetry {
    if (withChecksum) this.refreshChecksum();
    const status = this.core.status();
    const now = this.io.nowMs();
    const isLeader = status.role === 'leader' && this.wedged === null;
    if (isLeader !== this.wasLeader && isLeader) this.lag.reset(status.stableIndex, now);
    this.wasLeader = isLeader;
    const lsnAt = (index: number): number => this.core.lsnAt(index);
    const followers: FollowerTelemetry[] = isLeader
      ? status.progress.map((p) => {
          const positions = { received: p.received, flushed: p.flushed, applied: p.applied };
          const applied = Math.min(p.applied, status.lastIndex);
          return {
            id: p.id,
            positions,
            lsn: { received: lsnAt(p.received), flushed: lsnAt(p.flushed), applied: lsnAt(applied) },
            ...this.lag.lagOf(positions, status.stableIndex, now),
            lagEntries: Math.max(0, status.lastIndex - p.applied),
            lagBytes: Math.max(0, status.lastLsn - lsnAt(applied)),
            state: p.state,
            inflight: p.inflight,
            active: p.active,
          };
        })
      : [];
    return {
      id: this.id,
      pid: this.io.pid,
      // A wedged node leads and follows no one, whatever its core last said.
      role: this.wedged === null ? status.role : 'follower',
      term: status.term,
      vote: status.vote,
      leader: this.wedged === null ? status.leader : null,
      lastIndex: status.lastIndex,
      lastTerm: status.lastTerm,
      lastLsn: status.lastLsn,
      flushedIndex: status.stableIndex,
      commitIndex: status.commitIndex,
      appliedIndex: status.appliedIndex,
      flushedLsn: lsnAt(status.stableIndex),
      appliedLsn: lsnAt(status.appliedIndex),
      degraded: status.degraded,
      replication: this.replication,
      followers,
      checksum: this.checksumCache,
      malformedMessages: this.malformed,
      rssBytes: this.io.rssBytes(),
      wal: this.walTelemetry(),
      network: this.io.network(),
      wedged: this.wedged,
      lastStatement: this.lastStatement(),
      clockRate: this.rate,
      leaseMs: this.core.leaseRemainingTicks() * this.config.tickMs,
      atMs: this.io.wallMs(),
      snapshot: this.snapshots.telemetry(),
      membership: status.membership,
      election: { elapsedTicks: status.electionElapsed, timeoutTicks: status.electionTimeout, elapsedMs: status.electionElapsed * this.config.tickMs, timeoutMs: status.electionTimeout * this.config.tickMs },
    };
  }

  /** Decoded at report time only (about ten times a second), never per entry. */
  private lastStatement(): { index: number; sql: string } | null {
    if (this.runningQuery !== null) {
      const sql = `(a read at applied index ${this.core.getAppliedIndex()}) ${this.runningQuery}`;
      return { index: this.core.getAppliedIndex(), sql: sql.length > lastStatementCharsMax ? `${sql.slice(0, lastStatementCharsMax)}…` : sql };
    }
    const entry = this.runningLong ?? firstStatement(this.lastApplied);
    if (entry === null) return null;
    const sql = statementText(entry.data);
    return sql === null ? null : { index: entry.index, sql: sql.length > lastStatementCharsMax ? `${sql.slice(0, lastStatementCharsMax)}…` : sql };
  }

  private walTelemetry(): WalTelemetry {
    const stats = this.wal.stats();
    return { bytes: stats.bytesWritten, fsyncs: stats.fsyncs, fsyncMs: stats.fsyncMs };
  }

  /** Stops taking input and closes the WAL (after a flush in progress) and the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pacer.cancel();
    this.ackFold.drop();
    this.snapshots.close();
    this.flushOutput();
    this.store.close();
    await this.wal.close();
  }
}

/** The first entry of a batch that holds a statement. */
function firstStatement(entries: readonly Entry[]): Entry | null {
  return entries.find((entry) => entry.kind === 'sql') ?? null;
}

/**
 * A statement that reads rows besides the ones it writes (a SELECT: a join, a
 * subquery) may run long; the workload's upserts do not. Tested on the raw
 * payload (no decoding per entry), whose SQL comes first: a word in a
 * parameter is a false alarm that costs one report.
 */
function mayRunLong(entry: Entry): boolean {
  return entry.kind === 'sql' && /select|join/i.test(entry.data.length > 70_000 ? entry.data.slice(0, 70_000) : entry.data);
}

/** A read that joins or nests (after its first FROM: a comma, a JOIN, another SELECT) may run long; the workload's point reads do not. */
function queryMayRunLong(sql: string): boolean {
  const from = sql.search(/\bfrom\b/i);
  return from >= 0 && /,|\bjoin\b|\bselect\b/i.test(sql.slice(from, from + 70_000));
}

/** How much of a statement a report carries. */
const lastStatementCharsMax = 500;

/**
 * The reason, when `error` is one of the node's environment rather than a bug:
 * state.db's (EnvironmentError: I/O, disk full, memory, lock, corrupt file),
 * the WAL's when it failed to write or sync, or a system call's (ENOSPC, EIO,
 * EDQUOT, EROFS, …: an error carrying the syscall that failed). Null otherwise.
 */
export function environmentProblem(error: unknown): string | null {
  if (error instanceof EnvironmentError) return error.message;
  if (error instanceof WalError && error.code === 'failed') return `the WAL failed: ${error.message}`;
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string' && typeof (error as NodeJS.ErrnoException).code === 'string') {
    const { code, syscall } = error as NodeJS.ErrnoException;
    const full = code === 'ENOSPC' || code === 'EDQUOT' ? ' (the disk is full)' : '';
    return `a file operation failed with ${code}${full} in ${syscall}: ${error.message}`;
  }
  return null;
}

function notLeaderMessage(id: NodeId, leader: NodeId | null): string {
  return leader === null ? `${id} is not the leader and knows of no leader right now; retry shortly` : `${id} is not the leader; send writes to ${leader}`;
}

function transferMessage(problem: string, target: NodeId): string {
  switch (problem) {
    case 'not-leader':
      return `only the leader can hand leadership to ${target}`;
    case 'unknown-node':
      return `${target} is not a member of this cluster`;
    default:
      return `a leadership transfer is already in progress`;
  }
}

/**
 * Clients may only read and write; the rest is the supervisor's. Raft messages
 * come only from peers' connections, checked there and handed to receiveRaft,
 * so no channel that reaches receive() may carry one.
 */
function allowedFrom(origin: Origin, message: ToNode): boolean {
  switch (message.type) {
    case 'execute':
    case 'query':
      return true;
    case 'raft':
      return false;
    case 'promote':
    case 'transfer':
    case 'set-replication':
    case 'checksum':
    case 'trace':
    case 'snapshot':
    case 'snapshot-policy':
    case 'links':
    case 'clock':
    case 'conf-change':
    case 'peers':
    case 'node-faults':
    case 'stop':
    case 'batch':
      return origin === 'supervisor';
  }
}

/** Reads go through query(); a statement that would write is refused before it reaches SQLite. */
function queryProblem(sql: string): string | null {
  return sql.trim().length === 0 ? 'the query is empty' : null;
}

/** The SQL of an entry, for reports; a malformed payload is reported as such, not thrown. */
function statementText(data: string): string | null {
  try {
    return decodeStatement(data).sql;
  } catch {
    return null;
  }
}

/**
 * What a peer's message (already range-checked) says that this node's own log
 * contradicts, or null. Only facts every correct peer agrees on are checked:
 * - an append's first entry's lsn is the lsn at prevIndex plus its size, when
 *   this log matches the leader's at prevIndex (the lsn is the running sum of
 *   entry sizes, so matching logs have the same lsn there); the WAL asserts it;
 * - a follower's answer to this leader, in its term, names only indexes of
 *   this leader's log, which never shrinks during its term;
 * - a term this node may take leaves room for the elections after it
 *   (peerTermProblem, cluster/limits.ts).
 */
export function peerMessageProblem(m: Message, core: RaftCore): string | null {
  const termProblem = peerTermProblem(core.getTerm(), m.term);
  if (termProblem !== null) return termProblem;
  const last = core.getLastIndex();
  if (m.type === 'append' && m.entries.length > 0 && m.prevIndex <= last && core.termAt(m.prevIndex) === m.prevTerm) {
    const first = m.entries[0]!;
    const expected = core.lsnAt(m.prevIndex) + entryBytes(first.kind, first.data, first.client);
    if (first.lsn !== expected) return `append entry ${first.index} has lsn ${first.lsn}, but this log's lsn at ${m.prevIndex} makes it ${expected}`;
  }
  if ((m.type === 'append-resp' || m.type === 'heartbeat-resp') && m.term === core.getTerm() && core.getRole() === 'leader') {
    const { received, flushed, applied } = m.positions;
    const highest = Math.max(received, flushed, applied, m.type === 'append-resp' ? m.index : 0);
    if (highest > last) return `${m.type} names index ${highest}, past this leader's last index ${last}`;
  }
  return null;
}
