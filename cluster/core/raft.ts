// The consensus + replication core of one node (modelled on etcd's raft). It
// owns no timer, file, socket or clock: `tick()`, `step(message)` and client
// calls go in; `ready()` hands the host what to persist, send, apply, roll back
// and answer; `advance()` says it was done. The same inputs always give the
// same outputs, so the simulator and the node process host the very same code.

import { batchBytesMax, batchEntriesMax, eventsPerReadyMax, logEntriesInMemoryMax, pendingReadsMax, pendingWritesMax, termMax } from './constants.js';
import { entryBytes, RaftLog, type LogStorage } from './log.js';
import { applyChange, ConfigHistory, encodeMembership, members, membershipProblem, voterMajority } from './membership.js';
import { Prng, mixSeed } from './prng.js';
import { Progress } from './progress.js';
import { ackReached, laggingNodes, majority, quorumIndex, replicationProblem, type AckRule, type AckView } from './quorum.js';
import {
  assert,
  unreachable,
  type CoreConfig,
  type CoreEvent,
  type CoreStatus,
  type ConfChange,
  type Entry,
  type EntryKind,
  type InitialState,
  type Membership,
  type Message,
  type NodeId,
  type Positions,
  type ProposeResult,
  type ReadResult,
  type Ready,
  type ReplicationConfig,
  type Role,
  type SnapshotMeta,
  type StepDownReason,
  type TransferError,
  type WriteAck,
  type WriteReplication,
} from './types.js';

/** A user-caused configuration problem (bad quorum, unknown standby): the host turns it into a typed error. */
/** What is wrong with a timer configuration in ticks, or null: hosts check it before they start a core. */
export function timingProblem(electionTicks: readonly [number, number], heartbeatTicks: number): string | null {
  const [electionMin, electionMax] = electionTicks;
  if (!(Number.isInteger(electionMin) && Number.isInteger(electionMax) && electionMin >= 2 && electionMax >= electionMin)) {
    return `election ticks must satisfy 2 <= min <= max, got [${electionMin}, ${electionMax}]`;
  }
  if (!(Number.isInteger(heartbeatTicks) && heartbeatTicks >= 1 && heartbeatTicks < electionMin)) {
    return `heartbeat ticks must be at least 1 and below the election minimum (${electionMin}), got ${heartbeatTicks}`;
  }
  return null;
}

export class CoreConfigError extends Error {
  override name = 'CoreConfigError';
}

/** Heartbeat rounds a leader remembers for its lease (older answers renew nothing). */
const leaseRoundsMax = 256;

/** A leader's lease: the rounds it sent and, per follower, when the newest round it answered left. */
class LeaseState {
  wanted = false;
  /** A leadership transfer this term: its target's campaign bypasses the followers' leases. */
  blocked = false;
  rounds: { readonly context: number; readonly tick: number }[] = [];
  readonly acks = new Map<NodeId, number>();

  reset(): void {
    this.wanted = false;
    this.blocked = false;
    this.rounds = [];
    this.acks.clear();
  }
}

export interface Proposal {
  /** The host's token for this write; it comes back in the WriteAck. */
  readonly id: number;
  readonly data: string;
  readonly kind?: EntryKind;
  readonly client?: string;
  readonly request?: number;
  readonly replication?: WriteReplication;
}

interface PendingWrite {
  readonly id: number;
  readonly override: WriteReplication | undefined;
  readonly tick: number;
}

interface PendingRead {
  readonly id: number;
  /** The commit index the read must see applied; -1 until this term has committed an entry. */
  index: number;
  /** The heartbeat round that confirms leadership for this read. */
  context: number;
  readonly acks: Set<NodeId>;
  confirmed: boolean;
  /** Served on the leader's lease: confirmed from the start. */
  readonly lease?: true;
}

export class RaftCore {
  readonly id: NodeId;
  private readonly config: CoreConfig;
  private readonly prng: Prng;
  private readonly log: RaftLog;
  /** The configurations of the log; the latest is in force (membership.ts). */
  private readonly configs: ConfigHistory;
  /** Leader only: the membership change waiting to commit, and the host's token for its ack. */
  private pendingConf: { readonly id: number; readonly index: number } | null = null;
  /** Leader only: the highest config index whose commit was reported. */
  private confReported = 0;
  private replication: ReplicationConfig;

  private role: Role = 'follower';
  private term: number;
  private vote: NodeId | null;
  private leader: NodeId | null = null;
  private commitIndex = 0;
  private appliedIndex: number;
  /** The host's limit on applying (setApplyCap); null: none. */
  private applyCap: number | null = null;
  /** Leader only: the highest index it has made visible (acknowledged or, for old entries, committed). */
  private releasedIndex = 0;
  /** Highest index known to match the current leader's log. */
  private verifiedIndex = 0;

  private tickCount = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private electionTimeout = 0;
  private campaignTick = 0;
  /** campaign-refused was emitted (a core at termMax says so once). */
  private termLimitReported = false;
  private readonly votes = new Map<NodeId, boolean>();

  private readonly progress = new Map<NodeId, Progress>();
  private readonly view: AckView;
  private readonly pendingWrites = new Map<number, PendingWrite>();
  private pendingReads: PendingRead[] = [];
  private readContext = 0;
  private transferTarget: NodeId | null = null;
  private degraded = false;
  /** While degraded: the leader's last index when it degraded; reaching it restores sync. */
  private restoreTarget = 0;
  private waitingReported = 0;
  private ignoredTerm = 0;
  private readonly lease = new LeaseState();

  // Output gathered until the next ready().
  private hardStateDirty = false;
  private messages: Message[] = [];
  private events: CoreEvent[] = [];
  private eventsDropped = 0;
  private acks: WriteAck[] = [];
  private reads: ReadResult[] = [];
  private rollback: Entry[] = [];
  private broadcastDue = false;
  private readHeartbeatDue = false;
  private readonly appendDue = new Set<NodeId>();
  private reportDue = false;
  private inReady: { applyTo: number } | null = null;
  /** The latest snapshot this node holds durably (taken or installed): what a leader sends. */
  private snapshot: SnapshotMeta | null;
  /** Follower: a snapshot to hand to the host in the next Ready. */
  private snapshotToInstall: SnapshotMeta | null = null;

  /** `storage` serves entries that dropped out of memory; without it the whole log stays in memory. */
  constructor(config: CoreConfig, initial: InitialState, storage: LogStorage | null = null) {
    // No check that this node is among the peers: a node added later (or removed)
    // restarts with the host's initial peers, and its log says what it is now.
    const initialMembership: Membership = { voters: config.peers, learners: config.learners ?? [] };
    const membershipError = membershipProblem(initialMembership);
    if (membershipError !== null) throw new CoreConfigError(`peers and learners: ${membershipError}`);
    const timing = timingProblem(config.electionTicks, config.heartbeatTicks);
    if (timing !== null) throw new CoreConfigError(timing);
    // Membership-dependent checks wait for setReplication: the log may hold another configuration.
    const problem = replicationProblem(config.replication, null);
    if (problem !== null) throw new CoreConfigError(problem);
    this.id = config.id;
    this.config = config;
    this.prng = new Prng(mixSeed(config.seed, config.id));
    this.log = new RaftLog(initial.entries, storage, initial.snapshot);
    // The log's configurations start from the snapshot's (or, without one, from the host's peers).
    this.configs = new ConfigHistory(initial.snapshot?.membership ?? initialMembership, initial.snapshot?.index ?? 0);
    for (const entry of initial.entries) this.configs.appended(entry);
    this.log.compact(logEntriesInMemoryMax);
    this.replication = config.replication;
    this.term = initial.hardState.term;
    this.vote = initial.hardState.vote;
    assert(initial.appliedIndex <= this.log.lastIndex(), 'the state machine never applied past the durable log');
    this.snapshot = initial.snapshot;
    assert(initial.appliedIndex >= (initial.snapshot?.index ?? 0), 'the state machine holds at least its snapshot');
    this.appliedIndex = initial.appliedIndex;
    // A snapshot holds committed entries only.
    this.commitIndex = initial.snapshot?.index ?? 0;
    const log = this.log;
    const configs = this.configs;
    this.view = {
      leader: config.id,
      get peers() {
        return configs.current().voters;
      },
      get leaderFlushed() {
        return log.stableIndex;
      },
      progress: this.progress,
    };
    this.resetElectionTimeout();
  }

  // -------------------------------------------------------------------------
  // Inputs

  /** One unit of logical time. */
  tick(): void {
    this.assertNotInReady();
    this.tickCount++;
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  /** A message from another core, routed by the host. */
  step(m: Message): void {
    this.assertNotInReady();
    // Any sender: a node outside our configuration (a leader adding us, a voter we have not
    // heard of yet, a removed node) is handled by the term rules like anyone else.
    if (m.to !== this.id || m.from === this.id) return;
    if (m.term > this.term) {
      if (!this.onHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.onLowerTerm(m);
      return;
    }
    switch (m.type) {
      case 'vote':
        this.handleVote(m);
        return;
      case 'vote-resp':
        if ((this.role === 'pre-candidate' && m.pre) || (this.role === 'candidate' && !m.pre)) this.handleVoteResp(m);
        return;
      case 'append':
        if (this.acceptLeader(m.from)) this.handleAppend(m);
        return;
      case 'heartbeat':
        if (this.acceptLeader(m.from)) this.handleHeartbeat(m);
        return;
      case 'append-resp':
        if (this.role === 'leader') this.handleAppendResp(m);
        return;
      case 'heartbeat-resp':
        if (this.role === 'leader') this.handleHeartbeatResp(m);
        return;
      case 'timeout-now':
        if (this.role !== 'leader' && this.isVoter()) this.campaign(false, true);
        return;
      case 'snapshot':
        if (this.acceptLeader(m.from)) this.handleSnapshot(m);
        return;
      default:
        unreachable(m);
    }
  }

  /** A client write. Only a leader takes it; the answer comes later as a WriteAck. */
  propose(proposal: Proposal): ProposeResult {
    this.assertNotInReady();
    if (this.role !== 'leader') return { ok: false, error: 'not-leader', leader: this.leader };
    if (this.transferTarget !== null) return { ok: false, error: 'transfer-in-progress', leader: this.id };
    if (this.pendingWrites.size >= pendingWritesMax) return { ok: false, error: 'busy', leader: this.id };
    if (proposal.replication !== undefined) {
      const problem = replicationProblem({ ...this.replication, ...proposal.replication }, this.voters());
      if (problem !== null) throw new CoreConfigError(problem);
    }
    const entry = this.appendEntry(proposal.kind ?? 'sql', proposal.data, proposal.client, proposal.request);
    this.pendingWrites.set(entry.index, { id: proposal.id, override: proposal.replication, tick: this.tickCount });
    this.broadcastDue = true;
    return { ok: true, index: entry.index, term: entry.term };
  }

  /**
   * A single-server membership change (thesis §4.1). Appends a config entry
   * holding the whole new membership; it takes effect at once, on this node and
   * on each follower as it receives it. One change at a time: refused while a
   * config entry is uncommitted, and until this leader has committed an entry
   * of its own term (Ongaro's 2015 correction: otherwise a change from an
   * earlier term that is about to be lost and this one can form two majorities
   * that do not overlap). The ack comes back as a WriteAck once it commits.
   */
  proposeConfChange(id: number, change: ConfChange): ProposeResult {
    this.assertNotInReady();
    if (this.role !== 'leader') return { ok: false, error: 'not-leader', leader: this.leader };
    if (this.transferTarget !== null) return { ok: false, error: 'transfer-in-progress', leader: this.id };
    if (this.pendingConf !== null || this.configs.currentIndex() > this.commitIndex || this.log.term(this.commitIndex) !== this.term) {
      return { ok: false, error: 'change-in-progress', leader: this.id };
    }
    if (this.pendingWrites.size >= pendingWritesMax) return { ok: false, error: 'busy', leader: this.id };
    const before = this.configs.current();
    const next = applyChange(before, change);
    if (typeof next === 'string') return { ok: false, error: 'bad-change', leader: this.id };
    const entry = this.appendEntry('config', encodeMembership(next), undefined, undefined);
    this.pendingConf = { id, index: entry.index };
    this.emit({
      type: 'membership-changed', node: this.id, index: entry.index, membership: next,
      majorityBefore: voterMajority(before), majorityAfter: voterMajority(next), committed: false,
    });
    this.broadcastDue = true;
    return { ok: true, index: entry.index, term: entry.term };
  }

  /** A linearizable read (ReadIndex): answered once leadership is confirmed and the read index is applied. */
  readIndex(id: number): void {
    this.assertNotInReady();
    if (this.role !== 'leader') {
      this.reads.push({ id, ok: false, error: 'not-leader', leader: this.leader });
      return;
    }
    if (this.pendingReads.length >= pendingReadsMax) {
      this.reads.push({ id, ok: false, error: 'busy', leader: this.id });
      return;
    }
    const read: PendingRead = { id, index: -1, context: 0, acks: new Set([this.id]), confirmed: this.soleVoter() };
    // A new leader does not know the commit index until an entry of its own term commits.
    if (this.log.term(this.commitIndex) === this.term) this.startReadRound(read);
    this.pendingReads.push(read);
  }

  /** Hands leadership to `target` once its log is current (etcd's MsgTransferLeader). */
  transferLeadership(target: NodeId): TransferError | null {
    this.assertNotInReady();
    if (this.role !== 'leader') return 'not-leader';
    if (target === this.id) return null;
    const progress = this.progress.get(target);
    // Only a voter can lead: a learner is as unknown here as a stranger.
    if (progress === undefined || !this.voters().includes(target)) return 'unknown-node';
    if (this.transferTarget !== null) return 'transfer-in-progress';
    this.transferTarget = target;
    // Its target's campaign bypasses the followers' leases: no lease read in this term any more.
    this.lease.blocked = true;
    this.electionElapsed = 0;
    progress.timeoutNowSent = false;
    this.emit({ type: 'transfer-started', node: this.id, target, term: this.term });
    this.maybeSendTimeoutNow(target, progress);
    this.appendDue.add(target);
    return null;
  }

  /**
   * Makes this node leader. With manual failover it simply takes over at a new
   * term, however far behind it is (pg_promote); with Raft it starts an
   * election at once, which its log must still win.
   */
  promote(): void {
    this.assertNotInReady();
    // A learner or a removed node never leads; the host refuses it with a reason first.
    if (this.role === 'leader' || !this.isVoter()) return;
    if (this.config.failover === 'raft') {
      this.campaign(false, true);
      return;
    }
    if (this.termLimitReached()) return;
    this.setTerm(this.term + 1);
    this.vote = this.id;
    this.hardStateDirty = true;
    this.campaignTick = this.tickCount;
    this.emit({ type: 'promoted', node: this.id, term: this.term, lastIndex: this.log.lastIndex() });
    this.becomeLeader([this.id]);
  }

  /** Changes the replication setting live; returns a reason when it cannot be used. */
  setReplication(change: Partial<ReplicationConfig>): string | null {
    this.assertNotInReady();
    const next: ReplicationConfig = { ...this.replication, ...change };
    const problem = replicationProblem(next, this.voters());
    if (problem !== null) return problem;
    this.replication = next;
    this.degraded = false;
    this.emit({ type: 'replication-changed', node: this.id, replication: next });
    this.updateReleases();
    return null;
  }

  /** The host finished a write whose last entry was (index, term): it is durable now. */
  persisted(index: number, term: number): void {
    this.assertNotInReady();
    if (!this.log.markPersisted(index, term)) return;
    if (this.role === 'leader') {
      this.maybeCommit();
      this.updateReleases();
    } else {
      this.reportDue = true;
    }
  }

  // -------------------------------------------------------------------------
  // Snapshots and compaction

  /**
   * The meta for a snapshot the host takes of its state at `index`: its term,
   * lsn and configuration. A snapshot holds committed entries only, so `index`
   * must be applied and committed (a follower may apply past what it knows is
   * committed: it waits for the commit index first).
   */
  snapshotAt(index: number): SnapshotMeta {
    const committed = index <= this.commitIndex || this.config.unsafe?.snapshotUncommitted === true;
    assert(
      index >= this.log.baseIndex() && index <= this.appliedIndex && committed,
      `snapshot index ${index} is applied (${this.appliedIndex}), committed (${this.commitIndex}) and still in the log (from ${this.log.baseIndex()})`,
    );
    if (this.snapshot !== null && this.snapshot.index === index) return this.snapshot;
    return { index, term: this.log.term(index), lsn: this.log.lsn(index), membership: this.membershipAt(index) };
  }

  /** The host holds a durable snapshot for `meta`: a leader sends it to followers that need compacted entries. */
  snapshotTaken(meta: SnapshotMeta): void {
    this.assertNotInReady();
    if (this.snapshot !== null && meta.index <= this.snapshot.index) return;
    const committed = meta.index <= this.commitIndex || this.config.unsafe?.snapshotUncommitted === true;
    assert(committed && this.log.term(meta.index) === meta.term, `snapshot ${meta.index} (term ${meta.term}) is a committed entry of this log`);
    this.snapshot = meta;
  }

  /** The host deleted (or is about to delete) its log entries up to `upTo`; call before deleting, at most up to the latest snapshot. */
  compact(upTo: number): void {
    this.assertNotInReady();
    const snapshotIndex = this.snapshot?.index ?? 0;
    assert(upTo <= snapshotIndex, `compact to ${upTo}: the latest snapshot is at ${snapshotIndex}`);
    this.log.compactTo(upTo);
  }

  /** First index still in the log (snapshot index + 1 once compacted). */
  firstIndex(): number {
    return this.log.firstIndex();
  }

  /** Leader host: the snapshot transfer to `to` finished (ok) or failed; either way the leader probes again. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    this.assertNotInReady();
    if (this.role !== 'leader') return;
    const progress = this.progress.get(to);
    if (progress === undefined || progress.state !== 'snapshot') return;
    // On success the follower holds the snapshot: probe right after it. On failure probe from what it
    // has, which finds it still behind the log and sends the snapshot again. Either way wait for the
    // follower's answer or the next heartbeat's first (etcd's MsgSnapStatus), so a failing transfer
    // is retried once a heartbeat interval, not in a loop.
    progress.becomeProbe(ok ? Math.max(progress.flushed, progress.pendingSnapshot) + 1 : progress.flushed + 1);
    progress.probeSent = true;
  }

  // -------------------------------------------------------------------------
  // Output

  hasReady(): boolean {
    return (
      this.snapshotToInstall !== null ||
      this.hardStateDirty ||
      this.log.hasUnwritten() ||
      this.messages.length > 0 ||
      this.events.length > 0 ||
      this.acks.length > 0 ||
      this.reads.length > 0 ||
      this.rollback.length > 0 ||
      this.broadcastDue ||
      this.readHeartbeatDue ||
      this.appendDue.size > 0 ||
      (this.reportDue && this.canReport()) ||
      this.applyLimit() > this.appliedIndex ||
      this.confDue(Math.max(this.appliedIndex, this.applyLimit())) ||
      this.pendingReads.some((read) => this.readServable(read, this.appliedIndex))
    );
  }

  /** Drains everything the host must do now; call `advance()` once it is done. */
  ready(): Ready {
    this.assertNotInReady();
    const applyTo = Math.max(this.appliedIndex, this.applyLimit());
    // Reports name only what is already applied, so the host may send before it applies.
    this.flushSends();
    const { writeFrom, entries } = this.log.takeUnwritten();
    const apply = applyTo > this.appliedIndex ? this.log.slice(this.appliedIndex + 1, applyTo + 1) : [];
    if (this.role === 'leader') {
      for (const entry of apply) {
        const pending = this.pendingWrites.get(entry.index);
        if (pending === undefined) continue;
        this.acks.push({ id: pending.id, ok: true, index: entry.index, term: entry.term });
        this.pendingWrites.delete(entry.index);
      }
      this.serveReads(applyTo);
      this.finishConfChange(applyTo);
    }
    if (this.eventsDropped > 0) {
      this.events.push({ type: 'events-dropped', node: this.id, count: this.eventsDropped });
      this.eventsDropped = 0;
    }
    const ready: Ready = {
      snapshot: this.snapshotToInstall,
      hardState: this.hardStateDirty ? { term: this.term, vote: this.vote } : null,
      writeFrom,
      entries,
      rollback: this.rollback,
      apply,
      messages: this.messages,
      acks: this.acks,
      reads: this.reads,
      events: this.events,
    };
    this.snapshotToInstall = null;
    this.hardStateDirty = false;
    this.rollback = [];
    this.messages = [];
    this.acks = [];
    this.reads = [];
    this.events = [];
    this.inReady = { applyTo };
    return ready;
  }

  /** The host persisted, sent, rolled back and applied what the last `ready()` gave it. */
  advance(): void {
    assert(this.inReady !== null, 'advance() follows ready()');
    if (this.inReady.applyTo > this.appliedIndex) {
      this.appliedIndex = this.inReady.applyTo;
      // Tell the leader what is now visible here (it counts for ack level 'applied').
      if (this.role !== 'leader') this.reportDue = true;
    }
    this.inReady = null;
    this.log.compact(logEntriesInMemoryMax);
  }

  status(): CoreStatus {
    const progress = [...this.progress].map(([id, p]) => ({
      id,
      next: p.next,
      received: p.received,
      flushed: p.flushed,
      applied: p.applied,
      state: p.state,
      inflight: p.inflightCount(),
      active: p.recentActive,
    }));
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      lastIndex: this.log.lastIndex(),
      lastTerm: this.log.lastTerm(),
      lastLsn: this.log.lsn(this.log.lastIndex()),
      stableIndex: this.log.stableIndex,
      snapshotIndex: this.snapshot?.index ?? 0,
      firstIndex: this.log.firstIndex(),
      commitIndex: this.commitIndex,
      appliedIndex: this.appliedIndex,
      replication: this.replication,
      degraded: this.degraded,
      transferTarget: this.transferTarget,
      electionElapsed: this.electionElapsed,
      electionTimeout: this.electionTimeout,
      progress,
      membership: this.configs.current(),
    };
  }

  // Cheap reads for hosts and checkers that run after every step (status() allocates).
  getRole(): Role {
    return this.role;
  }

  getTerm(): number {
    return this.term;
  }

  getCommitIndex(): number {
    return this.commitIndex;
  }

  getLastIndex(): number {
    return this.log.lastIndex();
  }

  getAppliedIndex(): number {
    return this.appliedIndex;
  }

  getStableIndex(): number {
    return this.log.stableIndex;
  }

  /** The lsn (byte position in the log stream) at `index` (clamped to the log, from the compaction point on). */
  lsnAt(index: number): number {
    return this.log.lsn(Math.max(this.log.baseIndex(), Math.min(index, this.log.lastIndex())));
  }

  /** Entries [lo, hi) of this node's log, for hosts and checkers. */
  entries(lo: number, hi: number): Entry[] {
    return this.log.slice(lo, hi);
  }

  termAt(index: number): number {
    return this.log.term(index);
  }

  /** The configuration in force: the latest in this node's log. */
  membership(): Membership {
    return this.configs.current();
  }

  /** The configuration in force at `index` (for a snapshot of the state at `index`). */
  membershipAt(index: number): Membership {
    return this.configs.at(index);
  }

  // -------------------------------------------------------------------------
  // Membership

  private voters(): readonly NodeId[] {
    return this.configs.current().voters;
  }

  private isVoter(): boolean {
    return this.configs.current().voters.includes(this.id);
  }

  /** This node alone decides: it is the only voter. */
  private soleVoter(): boolean {
    const voters = this.voters();
    return voters.length === 1 && voters[0] === this.id;
  }

  /** The configuration changed (a config entry appended, truncated away, or committed). */
  private onConfigChanged(): void {
    if (this.role !== 'leader') return;
    // Replicate to every member, and to the nodes a pending change removes until it commits.
    const keep = new Set(members(this.configs.current()));
    if (this.configs.currentIndex() > this.commitIndex) for (const id of members(this.configs.previous())) keep.add(id);
    keep.delete(this.id);
    for (const id of [...this.progress.keys()]) {
      if (keep.has(id)) continue;
      this.progress.delete(id);
      this.appendDue.delete(id);
      if (this.transferTarget === id) {
        this.emit({ type: 'transfer-aborted', node: this.id, target: id, term: this.term });
        this.transferTarget = null;
      }
    }
    for (const id of keep) {
      if (this.progress.has(id)) continue;
      this.progress.set(id, new Progress(this.log.lastIndex() + 1));
      this.appendDue.add(id);
    }
  }

  /** Leader: config entries that just committed are reported once each. */
  private reportCommittedConfigs(): void {
    const reported = this.confReported;
    for (const { index, membership } of this.configs.since(this.confReported)) {
      if (index > this.commitIndex) break;
      this.confReported = index;
      const before = this.configs.before(index);
      this.emit({
        type: 'membership-changed', node: this.id, index, membership,
        majorityBefore: voterMajority(before), majorityAfter: voterMajority(membership), committed: true,
      });
    }
    if (this.confReported === reported) return;
    this.configs.committed(this.commitIndex);
    this.onConfigChanged(); // nodes the committed change removed get nothing more
  }

  /** True when a change's ack, or a removed leader's step-down, is due once `applyTo` is applied. */
  private confDue(applyTo: number): boolean {
    if (this.role !== 'leader') return false;
    const conf = this.pendingConf;
    if (conf !== null && conf.index <= this.commitIndex && conf.index <= applyTo) return true;
    const index = this.configs.currentIndex();
    return !this.isVoter() && index <= this.commitIndex && index <= applyTo;
  }

  /**
   * Acknowledges a committed change and, when it removed this leader, steps
   * down: it kept replicating until the change committed (thesis §4.2.2), and
   * hands over with TimeoutNow to the first voter that holds its whole log, so
   * nobody waits for an election timeout.
   */
  private finishConfChange(applyTo: number): void {
    const conf = this.pendingConf;
    if (conf !== null && conf.index <= this.commitIndex && conf.index <= applyTo) {
      this.acks.push({ id: conf.id, ok: true, index: conf.index, term: this.log.term(conf.index) });
      this.pendingConf = null;
    }
    if (!this.confDue(applyTo)) return;
    const last = this.log.lastIndex();
    const successor = this.voters().find((id) => (this.progress.get(id)?.flushed ?? 0) >= last);
    if (successor !== undefined) this.send({ type: 'timeout-now', from: this.id, to: successor, term: this.term });
    this.becomeFollower(this.term, null, 'removed');
  }

  // -------------------------------------------------------------------------
  // Terms and roles

  private onHigherTerm(m: Message): boolean {
    if (this.role === 'leader' && !this.config.fencing) {
      // Without fencing a leader never learns it was replaced: split brain.
      if (m.term > this.ignoredTerm) {
        this.ignoredTerm = m.term;
        this.emit({ type: 'higher-term-ignored', node: this.id, term: this.term, seen: m.term, from: m.from });
      }
      return false;
    }
    if (m.type === 'vote') {
      if (!m.transfer && this.inLease()) {
        this.emit({ type: 'vote-denied', node: this.id, candidate: m.from, term: m.term, pre: m.pre, reason: 'leader-alive' });
        return false;
      }
      if (m.pre) return true; // a pre-vote never changes our term
      this.becomeFollower(m.term, null, 'higher-term');
      return true;
    }
    if (m.type === 'vote-resp' && m.pre && m.granted) return true;
    const leader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'timeout-now' || m.type === 'snapshot' ? m.from : null;
    this.becomeFollower(m.term, leader, 'higher-term');
    return true;
  }

  private onLowerTerm(m: Message): void {
    if ((m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') && (this.config.checkQuorum || this.config.preVote)) {
      // Tell a stale leader our term so it steps down instead of disrupting us forever.
      this.send({ type: 'append-resp', from: this.id, to: m.from, term: this.term, index: 0, reject: true, hintIndex: 0, hintTerm: 0, positions: this.positions() });
    } else if (m.type === 'vote') {
      this.emit({ type: 'vote-denied', node: this.id, candidate: m.from, term: m.term, pre: m.pre, reason: 'stale-term' });
      this.send({ type: 'vote-resp', from: this.id, to: m.from, term: this.term, pre: m.pre, granted: false, reason: 'stale-term' });
    }
  }

  /** A leader's message at our term: follow it, unless we lead this term ourselves. */
  private acceptLeader(from: NodeId): boolean {
    if (this.role === 'leader') {
      // Two leaders in one term only happen when a person promotes twice by hand.
      if (!this.config.fencing) return false;
      this.becomeFollower(this.term, null, 'same-term-leader');
      return false;
    }
    if (this.role !== 'follower' || this.leader !== from) this.becomeFollower(this.term, from, 'higher-term');
    this.electionElapsed = 0;
    return true;
  }

  private inLease(): boolean {
    return this.config.checkQuorum && this.leader !== null && this.electionElapsed < this.config.electionTicks[0];
  }

  private setTerm(term: number): void {
    assert(term > this.term, `terms only grow (${this.term} -> ${term})`);
    this.emit({ type: 'term-changed', node: this.id, from: this.term, to: term });
    this.term = term;
    this.vote = null;
    this.hardStateDirty = true;
  }

  private becomeFollower(term: number, leader: NodeId | null, reason: StepDownReason): void {
    const newTerm = term > this.term;
    if (newTerm) this.setTerm(term);
    if (this.role === 'leader') {
      this.emit({ type: 'stepped-down', node: this.id, term: this.term, reason });
      this.abandonLeadership(leader);
    }
    // What matched a leader's log in an earlier term (even the same node's) proves nothing now.
    if (newTerm || leader !== this.leader) this.verifiedIndex = 0;
    this.role = 'follower';
    this.leader = leader;
    this.electionElapsed = 0;
    this.resetElectionTimeout();
  }

  /** Everything a leader promised and can no longer keep. */
  private abandonLeadership(newLeader: NodeId | null): void {
    for (const [index, pending] of this.pendingWrites) {
      this.acks.push({ id: pending.id, ok: false, error: 'leadership-lost', leader: newLeader, index, indeterminate: true });
    }
    this.pendingWrites.clear();
    for (const read of this.pendingReads) this.reads.push({ id: read.id, ok: false, error: 'leadership-lost', leader: newLeader });
    this.pendingReads = [];
    if (this.pendingConf !== null) {
      const { id, index } = this.pendingConf;
      this.acks.push({ id, ok: false, error: 'leadership-lost', leader: newLeader, index, indeterminate: true });
      this.pendingConf = null;
    }
    this.progress.clear();
    this.appendDue.clear();
    this.broadcastDue = false;
    this.readHeartbeatDue = false;
    this.transferTarget = null;
    this.degraded = false;
  }

  private becomeLeader(votes: readonly NodeId[]): void {
    this.role = 'leader';
    this.leader = this.id;
    this.transferTarget = null;
    this.degraded = false;
    this.progress.clear();
    this.pendingConf = null;
    this.confReported = this.commitIndex;
    this.onConfigChanged();
    this.releasedIndex = this.appliedIndex;
    this.lease.reset();
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.emit({ type: 'leader-elected', node: this.id, term: this.term, votes, electionTicks: this.tickCount - this.campaignTick });
    // An entry of the new term lets the leader commit (and learn) everything before it.
    this.appendEntry('noop', '', undefined, undefined);
    this.broadcastDue = true;
  }

  private campaign(pre: boolean, transfer: boolean): void {
    if (this.termLimitReached()) return;
    if (this.role !== 'pre-candidate') this.campaignTick = this.tickCount;
    if (pre) {
      this.role = 'pre-candidate';
    } else {
      this.setTerm(this.term + 1);
      this.vote = this.id;
      this.role = 'candidate';
    }
    this.leader = null;
    this.verifiedIndex = 0;
    this.electionElapsed = 0;
    this.resetElectionTimeout();
    this.votes.clear();
    this.votes.set(this.id, true);
    const voteTerm = pre ? this.term + 1 : this.term;
    this.emit({ type: 'election-started', node: this.id, term: voteTerm, pre, transfer });
    if (this.soleVoter()) {
      if (pre) this.campaign(false, transfer);
      else this.becomeLeader([this.id]);
      return;
    }
    for (const peer of this.voters()) {
      if (peer === this.id) continue;
      this.send({ type: 'vote', from: this.id, to: peer, term: voteTerm, pre, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), transfer });
    }
  }

  /**
   * True when the next term would pass termMax, the highest term peers accept:
   * no campaign then (it would only send messages every peer drops); said once.
   */
  private termLimitReached(): boolean {
    if (this.term + 1 <= termMax) return false;
    this.electionElapsed = 0;
    if (!this.termLimitReported) {
      this.termLimitReported = true;
      this.emit({ type: 'campaign-refused', node: this.id, term: this.term, reason: 'term-limit', termMax });
    }
    return true;
  }

  private handleVote(m: Extract<Message, { type: 'vote' }>): void {
    const canVote = this.vote === m.from || (this.vote === null && this.leader === null) || (m.pre && m.term > this.term);
    const upToDate = this.log.isUpToDate(m.lastIndex, m.lastTerm) || this.config.unsafe?.skipVoteLogCheck === true;
    if (canVote && upToDate) {
      this.emit({ type: 'vote-granted', node: this.id, candidate: m.from, term: m.term, pre: m.pre });
      this.send({ type: 'vote-resp', from: this.id, to: m.from, term: m.term, pre: m.pre, granted: true, reason: null });
      if (!m.pre) {
        this.vote = m.from;
        this.hardStateDirty = true;
        this.electionElapsed = 0;
      }
      return;
    }
    const reason = upToDate ? 'already-voted' : 'log-behind';
    this.emit({ type: 'vote-denied', node: this.id, candidate: m.from, term: m.term, pre: m.pre, reason });
    this.send({ type: 'vote-resp', from: this.id, to: m.from, term: this.term, pre: m.pre, granted: false, reason });
  }

  private handleVoteResp(m: Extract<Message, { type: 'vote-resp' }>): void {
    // Only voters of our configuration count: a learner's (or a stranger's) answer is no vote.
    const voters = this.voters();
    if (this.votes.has(m.from) || !voters.includes(m.from)) return;
    this.votes.set(m.from, m.granted);
    const granted = [...this.votes].filter(([id, yes]) => yes && voters.includes(id)).map(([id]) => id);
    const needed = majority(voters.length);
    if (granted.length >= needed) {
      if (this.role === 'pre-candidate') this.campaign(false, false);
      else this.becomeLeader(granted);
      return;
    }
    const denials = [...this.votes].filter(([, yes]) => !yes).map(([id]) => id);
    if (voters.length - denials.length < needed) {
      this.emit({ type: 'election-lost', node: this.id, term: m.pre ? this.term + 1 : this.term, pre: m.pre, denials });
      this.becomeFollower(this.term, null, 'higher-term');
    }
  }

  // -------------------------------------------------------------------------
  // Time

  private resetElectionTimeout(): void {
    const [min, max] = this.config.electionTicks;
    this.electionTimeout = this.prng.int(min, max);
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.config.failover !== 'raft' || this.electionElapsed < this.electionTimeout) return;
    // A learner, a removed node and a new node that knows no configuration yet never
    // campaign; their clock runs on, so they stop treating a silent leader as alive.
    if (!this.isVoter()) return;
    this.electionElapsed = 0;
    this.campaign(this.config.preVote, false);
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks[0]) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum && this.config.fencing && this.config.failover === 'raft' && !this.quorumActive()) {
        this.becomeFollower(this.term, null, 'check-quorum');
        return;
      }
      for (const progress of this.progress.values()) progress.recentActive = false;
      if (this.transferTarget !== null) {
        this.emit({ type: 'transfer-aborted', node: this.id, target: this.transferTarget, term: this.term });
        this.transferTarget = null;
      }
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
      if (this.degraded) this.checkRestore();
    }
    this.checkSyncTimeout();
  }

  /** CheckQuorum: a majority of the voters (this leader among them, unless it is removing itself) heard from lately. */
  private quorumActive(): boolean {
    const voters = this.voters();
    let active = 0;
    for (const id of voters) if (id === this.id || this.progress.get(id)?.recentActive === true) active++;
    return active >= majority(voters.length);
  }

  // -------------------------------------------------------------------------
  // Log replication

  private appendEntry(kind: EntryKind, data: string, client: string | undefined, request: number | undefined): Entry {
    const last = this.log.lastIndex();
    const [index, term, lsn] = [last + 1, this.term, this.log.lsn(last) + entryBytes(kind, data, client)];
    // Literals, not spreads: a spread copy is an order of magnitude slower on this per-write path.
    const entry: Entry =
      client === undefined
        ? { index, term, lsn, kind, data }
        : request === undefined
          ? { index, term, lsn, kind, data, client }
          : { index, term, lsn, kind, data, client, request };
    this.log.append(entry);
    if (this.configs.appended(entry)) {
      this.onConfigChanged();
      this.maybeCommit(); // the new voters may already hold a majority (removing a laggard)
    } else if (this.soleVoter()) this.maybeCommit();
    return entry;
  }

  private handleAppend(message: Extract<Message, { type: 'append' }>): void {
    let m = message;
    const base = this.log.baseIndex();
    if (m.prevIndex < base) {
      // Our snapshot holds every entry up to the base, all committed: skip what the leader resends of them.
      const atBase = m.entries.find((entry) => entry.index === base);
      if (atBase === undefined || atBase.term === this.log.term(base)) {
        m = { ...m, prevIndex: base, prevTerm: this.log.term(base), entries: m.entries.filter((entry) => entry.index > base) };
      }
    }
    if (m.prevIndex > this.log.lastIndex() || this.log.term(m.prevIndex) !== m.prevTerm) {
      const hintIndex = this.log.lastIndexAtOrBefore(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
      this.send({
        type: 'append-resp',
        from: this.id,
        to: m.from,
        term: this.term,
        index: m.prevIndex,
        reject: true,
        hintIndex,
        hintTerm: this.log.term(hintIndex),
        positions: this.positions(),
      });
      return;
    }
    for (const entry of m.entries) {
      if (entry.index <= this.log.lastIndex()) {
        if (this.log.term(entry.index) === entry.term) continue;
        this.truncate(entry.index);
      }
      this.log.append(entry);
      this.configs.appended(entry);
    }
    const matched = m.prevIndex + m.entries.length;
    this.verifiedIndex = Math.max(this.verifiedIndex, matched);
    this.advanceCommit(Math.min(m.commit, matched));
    this.reportDue = true;
  }

  /** Drops our entries from `index` on because the leader's log differs there. */
  private truncate(index: number): void {
    if (index <= this.commitIndex) {
      assert(this.config.failover === 'manual', `committed entry ${index} (commit ${this.commitIndex}) is never overwritten`);
      this.emit({ type: 'committed-entries-lost', node: this.id, fromIndex: index, commitIndex: this.commitIndex });
      this.commitIndex = index - 1;
    }
    if (index <= this.appliedIndex) {
      for (let i = this.appliedIndex; i >= index; i--) this.rollback.push(this.log.entry(i));
      this.emit({ type: 'entries-rolled-back', node: this.id, fromIndex: index, toIndex: this.appliedIndex, leader: this.leader });
      this.appliedIndex = index - 1;
    }
    this.emit({ type: 'entries-truncated', node: this.id, fromIndex: index, count: this.log.lastIndex() - index + 1 });
    this.log.truncateFrom(index);
    // A configuration whose entry is gone no longer holds: back to the one before it.
    this.configs.truncatedFrom(index);
  }

  /** InstallSnapshot: the host holds the data for m.meta; take it unless our log already covers it. */
  private handleSnapshot(m: Extract<Message, { type: 'snapshot' }>): void {
    const { meta } = m;
    const base = this.log.baseIndex();
    const matched = meta.index >= base && this.log.term(meta.index) === meta.term;
    // Already covered: by our own snapshot (committed entries match every later leader's log), or by
    // applied entries of a matching log. Installing would only take the state back.
    if (this.snapshotToInstall !== null || meta.index <= base || (matched && this.appliedIndex >= meta.index)) {
      if (this.snapshotToInstall === null) {
        this.verifiedIndex = Math.max(this.verifiedIndex, Math.min(meta.index, this.log.lastIndex()), base);
        this.advanceCommit(Math.min(meta.index, this.log.lastIndex()));
        this.reportDue = true;
      }
      return;
    }
    // The entries known to equal the leader's: up to meta.index when the log matches there; otherwise
    // the last one of meta.term before it (log matching), and under Raft everything committed.
    let same = meta.index;
    if (!matched) {
      const atTerm = this.log.lastIndexAtOrBefore(Math.min(meta.index, this.log.lastIndex()), meta.term);
      same = this.log.term(atTerm) === meta.term ? atTerm : base;
      if (this.config.failover === 'raft') same = Math.max(same, Math.min(this.commitIndex, meta.index));
      if (this.commitIndex > same) {
        assert(this.config.failover === 'manual', `committed entry ${same + 1} (commit ${this.commitIndex}) is never overwritten`);
        this.emit({ type: 'committed-entries-lost', node: this.id, fromIndex: same + 1, commitIndex: this.commitIndex });
      }
      if (this.log.lastIndex() > same) this.emit({ type: 'entries-truncated', node: this.id, fromIndex: same + 1, count: this.log.lastIndex() - same });
    }
    if (this.appliedIndex > same) {
      this.emit({ type: 'entries-rolled-back', node: this.id, fromIndex: same + 1, toIndex: this.appliedIndex, leader: this.leader });
    }
    // The snapshot replaces the state machine: nothing is left to undo entry by entry.
    this.rollback = [];
    this.log.restore(meta, matched);
    // The configurations of the dropped entries go with them; the snapshot's is the new base.
    if (!matched) this.configs.truncatedFrom(1);
    this.configs.restore(meta.index, meta.membership);
    this.commitIndex = matched ? Math.max(this.commitIndex, meta.index) : meta.index;
    this.appliedIndex = meta.index;
    this.verifiedIndex = matched ? Math.max(this.verifiedIndex, meta.index) : meta.index;
    this.snapshot = meta;
    this.snapshotToInstall = meta;
    this.emit({ type: 'snapshot-restored', node: this.id, index: meta.index, term: meta.term });
    this.reportDue = true;
  }

  private handleHeartbeat(m: Extract<Message, { type: 'heartbeat' }>): void {
    this.advanceCommit(Math.min(m.commit, this.log.lastIndex()));
    this.send({ type: 'heartbeat-resp', from: this.id, to: m.from, term: this.term, context: m.context, positions: this.positions() });
  }

  private advanceCommit(index: number): void {
    if (index > this.commitIndex) this.commitIndex = index;
  }

  /** Our progress as indexes of the current leader's log: only what is verified to match counts. */
  private positions(): Positions {
    const verified = this.verifiedIndex;
    return {
      received: verified,
      flushed: Math.min(this.log.stableIndex, verified),
      applied: Math.min(this.appliedIndex, verified),
    };
  }

  private canReport(): boolean {
    return this.role !== 'leader' && this.leader !== null && this.verifiedIndex > 0;
  }

  private handleAppendResp(m: Extract<Message, { type: 'append-resp' }>): void {
    const progress = this.progress.get(m.from);
    if (progress === undefined) return;
    progress.recentActive = true;
    if (m.reject) {
      if (progress.state === 'snapshot') return; // stale: an answer to an append sent before the snapshot
      if (progress.state === 'replicate') {
        if (m.index <= progress.flushed) return; // stale: an answer to an append sent before the last probe
        progress.becomeProbe(progress.flushed + 1);
      } else {
        if (m.index !== progress.next - 1) return; // stale: not the probe we are waiting for
        const hint = m.hintTerm > 0 ? this.log.lastIndexAtOrBefore(m.hintIndex, m.hintTerm) : m.hintIndex;
        const next = Math.max(1, Math.min(m.index, hint + 1));
        // Below what it had flushed: its disk lost entries (a repaired WAL). Believe the disk.
        if (next <= progress.flushed) progress.forget(next - 1);
        progress.becomeProbe(next);
      }
      this.appendDue.add(m.from);
      return;
    }
    progress.update(m.positions, this.tickCount);
    this.maybeSnapshotDone(progress);
    if (progress.state === 'probe') {
      progress.next = Math.max(progress.next, m.index + 1);
      progress.becomeReplicate();
    }
    this.onFollowerProgress(m.from, progress);
  }

  private handleHeartbeatResp(m: Extract<Message, { type: 'heartbeat-resp' }>): void {
    const progress = this.progress.get(m.from);
    if (progress === undefined) return;
    progress.recentActive = true;
    // Behind what we hold for it: the follower restarted (or restored its state from a snapshot) and
    // verifies nothing past its report until an append says where its log matches ours; what was not on
    // its disk is lost, and its state machine may have gone back.
    const p = m.positions;
    const forgot = p.received < progress.received || p.flushed < progress.flushed || p.applied < progress.applied;
    if (forgot) {
      progress.received = progress.flushed;
      progress.applied = Math.min(progress.applied, p.applied);
    }
    progress.update(p, this.tickCount);
    if ((forgot && progress.state !== 'snapshot') || progress.stalled(this.tickCount, 2 * this.config.heartbeatTicks)) {
      // Probe right after what it had flushed: its disk usually still holds that, so one append (empty
      // when it held our whole log) verifies it and lets it apply without waiting for a new write; a
      // disk that lost it rejects, and the reject's hint takes the probe back further.
      progress.becomeProbe(progress.flushed + 1);
      this.appendDue.add(m.from);
    }
    this.maybeSnapshotDone(progress);
    progress.probeSent = false;
    if (m.context > 0) {
      this.confirmReads(m.from, m.context);
      this.noteLeaseAck(m.from, m.context);
    }
    this.onFollowerProgress(m.from, progress);
  }

  /**
   * A follower in state snapshot that now holds everything up to the log's start goes back to probing,
   * whichever snapshot brought it there (as etcd: the log can serve it now).
   */
  private maybeSnapshotDone(progress: Progress): void {
    if (progress.state === 'snapshot' && progress.received >= this.log.baseIndex()) {
      progress.becomeProbe(progress.received + 1);
    }
  }

  private onFollowerProgress(id: NodeId, progress: Progress): void {
    this.maybeCommit();
    this.updateReleases();
    if (progress.next <= this.log.lastIndex() || progress.flushed < this.log.lastIndex()) this.appendDue.add(id);
    if (this.transferTarget === id) this.maybeSendTimeoutNow(id, progress);
  }

  private maybeSendTimeoutNow(target: NodeId, progress: Progress): void {
    if (progress.timeoutNowSent || progress.flushed < this.log.lastIndex()) return;
    progress.timeoutNowSent = true;
    this.send({ type: 'timeout-now', from: this.id, to: target, term: this.term });
  }

  /** Raft's commit: a majority has the entry durably, and it is of the current term. */
  private maybeCommit(): void {
    // The configuration in force counts, committed or not; a leader removing itself is not in it.
    const voters = this.voters();
    const flushed = voters.map((id) => (id === this.id ? this.log.stableIndex : (this.progress.get(id)?.flushed ?? 0)));
    const candidate = quorumIndex(flushed, majority(voters.length));
    if (candidate <= this.commitIndex) return;
    const currentTerm = this.log.term(candidate) === this.term;
    if (!currentTerm && this.config.unsafe?.commitPreviousTermByCount !== true) return;
    // Followers learn the new commit index from the next append or heartbeat.
    this.commitIndex = candidate;
    if (currentTerm) {
      for (const read of this.pendingReads) if (read.index < 0) this.startReadRound(read);
    }
    if (this.configs.currentIndex() > this.confReported) this.reportCommittedConfigs();
  }

  /** Moves the leader's visibility frontier as far as the replication rule allows. */
  private updateReleases(): void {
    if (this.role !== 'leader') return;
    const last = this.log.lastIndex();
    while (this.releasedIndex < last && this.releasable(this.releasedIndex + 1)) this.releasedIndex++;
  }

  private releasable(index: number): boolean {
    const flushedHere = index <= this.log.stableIndex;
    if (this.degraded) return flushedHere;
    const pending = this.pendingWrites.get(index);
    if (pending === undefined) return this.replication.mode === 'async' ? flushedHere : index <= this.commitIndex;
    return ackReached(index, this.ackRule(pending), this.view);
  }

  private ackRule(pending: PendingWrite | undefined): AckRule {
    const override = pending?.override;
    return {
      mode: override?.mode ?? this.replication.mode,
      ackLevel: override?.ackLevel ?? this.replication.ackLevel,
      quorum: override?.quorum ?? this.replication.quorum,
      syncStandbys: this.replication.syncStandbys,
    };
  }

  /**
   * How far this node may apply: a leader what it has released; anyone else
   * what is durable and verified to match the current leader's log, so a
   * deposed leader never exposes writes it had held back unacknowledged.
   */
  private applyLimit(): number {
    const limit = this.applicableIndex();
    return this.applyCap === null ? limit : Math.max(this.appliedIndex, Math.min(limit, this.applyCap));
  }

  /** How far this node may apply now, before the host's cap (setApplyCap). */
  applicableIndex(): number {
    if (this.role === 'leader') return this.releasedIndex;
    return Math.max(this.appliedIndex, Math.min(this.log.stableIndex, this.verifiedIndex));
  }

  /**
   * The host's own limit on applying: ready() hands out no entry past `index`
   * (null: no limit). A host that paces its applies (a slowed-apply fault)
   * raises it one entry at a time; what it reports as applied stays true.
   */
  setApplyCap(index: number | null): void {
    assert(index === null || (Number.isSafeInteger(index) && index >= 0), 'an apply cap is an index or null');
    this.applyCap = index;
  }

  private checkSyncTimeout(): void {
    const timeoutTicks = this.replication.syncTimeoutTicks;
    if (timeoutTicks === null || this.degraded) return;
    const index = this.releasedIndex + 1;
    const pending = this.pendingWrites.get(index);
    if (pending === undefined || index > this.log.stableIndex) return;
    const rule = this.ackRule(pending);
    const waitedTicks = this.tickCount - pending.tick;
    if (rule.mode === 'async' || waitedTicks < timeoutTicks) return;
    const lagging = laggingNodes(index, rule, this.view);
    if (this.replication.syncFallback === 'async') {
      this.degraded = true;
      this.restoreTarget = this.log.lastIndex();
      this.emit({ type: 'sync-degraded', node: this.id, index, waitedTicks, lagging });
      this.updateReleases();
    } else if (this.waitingReported !== index) {
      this.waitingReported = index;
      this.emit({ type: 'sync-waiting', node: this.id, index, waitedTicks, lagging });
    }
  }

  /**
   * Degraded to async: back to the configured mode once the laggards hold
   * everything the leader had when it degraded. A fixed target, so a follower
   * whose round trip exceeds a heartbeat still gets there under load; writes
   * after the restore wait for it to catch up the rest, as semi-sync does.
   */
  private checkRestore(): void {
    if (!ackReached(this.restoreTarget, this.ackRule(undefined), this.view)) return;
    this.degraded = false;
    this.emit({ type: 'sync-restored', node: this.id, index: this.restoreTarget });
  }

  // -------------------------------------------------------------------------
  // Reads

  private startReadRound(read: PendingRead): void {
    read.index = this.commitIndex;
    if (read.confirmed) return;
    read.context = ++this.readContext;
    this.readHeartbeatDue = true;
  }

  private confirmReads(from: NodeId, context: number): void {
    // Only voters confirm leadership: a learner's answer proves nothing about a majority.
    const voters = this.voters();
    if (!voters.includes(from)) return;
    const needed = majority(voters.length);
    for (const read of this.pendingReads) {
      if (read.confirmed || read.index < 0 || read.context > context) continue;
      read.acks.add(from);
      let count = 0;
      for (const id of read.acks) if (voters.includes(id)) count++;
      if (count >= needed) read.confirmed = true;
    }
  }

  private readServable(read: PendingRead, appliedTo: number): boolean {
    return read.confirmed && read.index >= 0 && read.index <= appliedTo;
  }

  private serveReads(appliedTo: number): void {
    if (this.pendingReads.length === 0) return;
    const waiting: PendingRead[] = [];
    for (const read of this.pendingReads) {
      if (this.readServable(read, appliedTo)) this.reads.push(read.lease ? { id: read.id, ok: true, index: read.index, lease: true } : { id: read.id, ok: true, index: read.index });
      else waiting.push(read);
    }
    this.pendingReads = waiting;
  }

  // -------------------------------------------------------------------------
  // Sending

  private send(message: Message): void {
    this.messages.push(message);
  }

  private emit(event: CoreEvent): void {
    if (this.events.length >= eventsPerReadyMax) this.eventsDropped++;
    else this.events.push(event);
  }

  /** Sends what accumulated since the last ready(): one batch per follower instead of one per write. */
  private flushSends(): void {
    if (this.role === 'leader') {
      for (const [id, progress] of this.progress) {
        if (this.broadcastDue || this.appendDue.has(id)) this.sendAppend(id, progress);
      }
      if (this.readHeartbeatDue) this.broadcastHeartbeat();
    } else if (this.reportDue && this.canReport() && this.leader !== null) {
      const positions = this.positions();
      this.send({ type: 'append-resp', from: this.id, to: this.leader, term: this.term, index: this.verifiedIndex, reject: false, hintIndex: 0, hintTerm: 0, positions });
    }
    this.broadcastDue = false;
    this.readHeartbeatDue = false;
    this.appendDue.clear();
    if (this.role === 'leader' || this.canReport()) this.reportDue = false;
  }

  private sendAppend(to: NodeId, progress: Progress): void {
    const last = this.log.lastIndex();
    if (progress.state === 'snapshot') return; // heartbeats go on; appends wait for the snapshot
    if (progress.next <= this.log.baseIndex()) {
      // The follower needs entries compacted into the snapshot: its host streams the snapshot instead.
      const snapshot = this.snapshot;
      assert(snapshot !== null && snapshot.index >= this.log.baseIndex(), `a snapshot covers the compacted log up to ${this.log.baseIndex()}`);
      this.send({ type: 'snapshot', from: this.id, to, term: this.term, meta: snapshot });
      progress.becomeSnapshot(snapshot.index);
      return;
    }
    for (;;) {
      if (progress.state === 'probe' ? progress.probeSent : progress.windowFull()) return;
      const entries = this.log.batch(progress.next, batchEntriesMax, batchBytesMax);
      if (entries.length === 0 && progress.state === 'replicate') return;
      const prevIndex = progress.next - 1;
      const prevTerm = this.log.term(prevIndex);
      if (!(prevTerm >= 0)) assert(false, `follower ${to} next index ${progress.next} is within the leader's log (${last})`);
      this.send({ type: 'append', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.commitIndex });
      if (entries.length > 0 || progress.state === 'probe') progress.sent(prevIndex + entries.length, this.tickCount);
      if (progress.state === 'probe' || progress.next > last || entries.length === 0) return;
    }
  }

  private broadcastHeartbeat(): void {
    const context = this.lease.wanted ? this.leaseRound() : this.pendingReads.some((read) => !read.confirmed && read.index >= 0) ? this.readContext : 0;
    for (const [id, progress] of this.progress) {
      this.send({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit: Math.min(progress.flushed, this.commitIndex), context });
    }
  }

  // -------------------------------------------------------------------------
  // Lease reads (etcd's ReadOnlyLeaseBased, made explicit): the leader answers
  // at its commit index without a round trip while a majority has answered
  // heartbeats it sent less than the election timeout minimum ago. Every
  // follower of that majority refuses votes until the minimum has passed since
  // it heard the heartbeat (CheckQuorum's leader stickiness), so no other
  // leader can exist yet, as long as every clock runs at the same rate. A
  // clock that runs slow on the leader, or fast on a follower, breaks it.

  /**
   * A read served on the leader's lease when it holds; otherwise (no lease yet,
   * lease lapsed, CheckQuorum off, a transfer this term) it is a ReadIndex read.
   * The first lease read of a term starts the lease: heartbeats carry a round
   * number from then on, and each answer renews a follower's share of it.
   */
  leaseRead(id: number): void {
    this.assertNotInReady();
    if (this.role === 'leader' && this.leaseUsable()) this.lease.wanted = true;
    if (!this.hasLease()) {
      this.readIndex(id);
      return;
    }
    if (this.pendingReads.length >= pendingReadsMax) {
      this.reads.push({ id, ok: false, error: 'busy', leader: this.id });
      return;
    }
    this.pendingReads.push({ id, index: this.commitIndex, context: 0, acks: new Set([this.id]), confirmed: true, lease: true });
  }

  /** True while this leader may serve lease reads (by its own clock: ticks). */
  hasLease(): boolean {
    return this.leaseRemainingTicks() > 0;
  }

  /** Ticks of this node's clock until its lease lapses; 0 without one. */
  leaseRemainingTicks(): number {
    if (this.role !== 'leader' || !this.leaseUsable() || this.log.term(this.commitIndex) !== this.term) return 0;
    // Only the voters in force promise anything (a learner's answer holds no vote back), and this
    // node counts itself only while it is one of them.
    const voters = this.voters();
    const needed = majority(voters.length) - (voters.includes(this.id) ? 1 : 0);
    let start = this.tickCount;
    if (needed > 0) {
      const sent = [...this.lease.acks].filter(([id]) => id !== this.id && voters.includes(id)).map(([, tick]) => tick).sort((a, b) => b - a);
      if (sent.length < needed) return 0;
      start = sent[needed - 1]!;
    }
    return Math.max(0, start + this.leaseTicks() - this.tickCount);
  }

  /**
   * The host saw this node stop (a pause, a stalled event loop): ticks were
   * missed, so its clock proves nothing; the lease restarts from new answers.
   * A clock that merely runs slow gives no such sign.
   */
  dropLease(): void {
    this.lease.acks.clear();
  }

  /** One tick less than the minimum: the followers' timers may start up to a tick earlier than ours. */
  private leaseTicks(): number {
    return this.config.electionTicks[0] - 1;
  }

  /** Followers hold the lease for us only with CheckQuorum (they refuse votes while they hear a leader). */
  private leaseUsable(): boolean {
    return this.config.checkQuorum && this.config.fencing && this.config.failover === 'raft' && !this.lease.blocked;
  }

  /** A heartbeat round: its number goes out with the heartbeat, and the tick it left at is kept. */
  private leaseRound(): number {
    const context = ++this.readContext;
    this.lease.rounds.push({ context, tick: this.tickCount });
    while (this.lease.rounds.length > leaseRoundsMax || this.tickCount - this.lease.rounds[0]!.tick >= this.leaseTicks()) this.lease.rounds.shift();
    return context;
  }

  private noteLeaseAck(from: NodeId, context: number): void {
    const round = this.lease.rounds.find((r) => r.context === context);
    if (round === undefined) return;
    if (round.tick > (this.lease.acks.get(from) ?? -1)) this.lease.acks.set(from, round.tick);
  }

  private assertNotInReady(): void {
    assert(this.inReady === null, 'the host calls advance() before feeding the core again');
  }
}

