// The deterministic simulator: N copies of the real consensus core on a
// virtual clock, with in-memory storage that loses unflushed writes on a crash,
// a seeded network, and clients writing through the replication modes. The
// same seed always replays the same run, event for event.

import {
  CoreAssertionError,
  Prng,
  RaftCore,
  majority,
  mixSeed,
  type AckLevel,
  type ConfChange,
  type CoreConfig,
  type CoreEvent,
  type Message,
  type NodeId,
  type Ready,
  type ReadResult,
  type ReplicationConfig,
  type ReplicationMode,
  type Role,
  type SnapshotMeta,
  type SyncFallback,
  type WriteAck,
} from '../core/index.js';
import { SafetyChecker, type Invariant, type Violation } from './checker.js';
import { TimedHeap } from './heap.js';
import { defaultLink, SimNetwork, type LinkSettings } from './network.js';
import { SimStorage, type SimSnapshot } from './storage.js';

export interface SimReplication {
  readonly mode: ReplicationMode;
  readonly ackLevel: AckLevel;
  readonly quorum?: number | null;
  readonly syncTimeoutMs?: number | null;
  readonly syncFallback?: SyncFallback;
}

export interface SimulationOptions {
  readonly seed: number;
  /** The initial voters, n1..n<nodes>. */
  readonly nodes: number;
  /**
   * Extra nodes n<nodes+1>.. that run from the start but belong to no
   * configuration (peers []), for membership changes to add; nodes + spares <= 9.
   */
  readonly spares?: number;
  readonly replication: SimReplication;
  readonly tickMs?: number;
  readonly electionTimeoutMs?: readonly [number, number];
  readonly heartbeatMs?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly link?: LinkSettings;
  /** Virtual time a flush (fsync) takes: drawn from [min, max] ms. */
  readonly flushMs?: readonly [number, number];
  /** A client write left unanswered this long is recorded as indeterminate. */
  readonly writeTimeoutMs?: number;
  readonly unsafe?: CoreConfig['unsafe'];
  readonly traceLinesMax?: number;
}

/** What a client was told about one write. */
export interface WriteRecord {
  readonly id: number;
  readonly data: string;
  readonly invokedAtMs: number;
  node: NodeId;
  status: 'pending' | 'ok' | 'fail' | 'info';
  index: number;
  term: number;
  /** Virtual time the client heard "done". */
  ackedAtMs?: number;
}

export type ReadKind = 'lease' | 'read-index';

/** What a client was told about one linearizable read. */
export interface ReadRecord {
  readonly id: number;
  readonly kind: ReadKind;
  readonly node: NodeId;
  readonly invokedAtMs: number;
  status: 'pending' | 'ok' | 'fail';
  /** Served on the leader's lease (a lease read can fall back to ReadIndex). */
  onLease: boolean;
}

export interface LostWrite {
  readonly id: number;
  readonly index: number;
  readonly term: number;
}

interface SimNode {
  readonly id: NodeId;
  /** The host's initial voters for this node: the cluster's, or none for a spare. */
  readonly peers: readonly NodeId[];
  core: RaftCore | null;
  readonly storage: SimStorage;
  /** The state machine, durable across crashes like SQLite: the term of each applied index. */
  readonly appliedTerms: number[];
  incarnation: number;
  paused: boolean;
  /** Work that arrived while paused, run in order on resume (a stopped process's queued input). */
  deferred: (() => void)[];
  checkedCommit: number;
  /** How fast this node's clock runs: its ticks come every tickMs / clockRate (the clock fault). */
  clockRate: number;
  /** The snapshot data received for the message being stepped (the transfer came with it). */
  incoming: SimSnapshot | null;
}

type SimEvent =
  | {
      readonly at: number;
      readonly seq: number;
      readonly kind: 'deliver';
      readonly message: Message;
      /** InstallSnapshot only: the data, the sender's incarnation and the transfer's number. */
      readonly transfer?: { readonly snapshot: SimSnapshot; readonly incarnation: number; readonly id: number };
    }
  | { readonly at: number; readonly seq: number; readonly kind: 'tick'; readonly node: NodeId; readonly incarnation: number }
  | { readonly at: number; readonly seq: number; readonly kind: 'flush'; readonly node: NodeId; readonly incarnation: number }
  | { readonly at: number; readonly seq: number; readonly kind: 'call'; readonly run: () => void };

const deferredMax = 100_000;
/** How long a leader's host takes to notice a snapshot transfer that failed at once (the follower is down or unreachable). */
const snapshotTransferFailMs = 200;
/** How long a leader's host waits for a transfer to finish before it gives up (a paused follower, say). */
const snapshotTransferTimeoutMs = 1_000;
const drainIterationsMax = 1_000;

export class Simulation {
  readonly options: SimulationOptions;
  readonly prng: Prng;
  readonly network: SimNetwork;
  readonly checker = new SafetyChecker();
  readonly ids: readonly NodeId[];
  readonly writes: WriteRecord[] = [];
  readonly reads: ReadRecord[] = [];
  /** Acknowledged writes in the order their clients heard "done" (for the stale-read checks). */
  private readonly acked: WriteRecord[] = [];
  private readonly pendingReads = new Map<NodeId, Map<number, ReadRecord>>();
  private nextReadId = 1;
  readonly events: { atMs: number; event: CoreEvent }[] = [];
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly queue = new TimedHeap<SimEvent>();
  private readonly pendingByNode = new Map<NodeId, Map<number, WriteRecord>>();
  private readonly trace: string[] = [];
  private readonly coreConfig: Omit<CoreConfig, 'id' | 'seed'>;
  private readonly tickMs: number;
  private seq = 0;
  private nextWriteId = 1;
  private eventsKeptMax = 10_000;
  /** The snapshot transfer under way from a leader to a follower ("n1>n3"), by number: reports of older ones are stale. */
  private readonly transfers = new Map<string, number>();
  private transferIds = 0;
  now = 0;
  messagesDelivered = 0;
  /** Snapshots nodes took, and snapshots followers installed from a leader. */
  snapshotsTaken = 0;
  snapshotsInstalled = 0;
  /** Config entries committed, counted at the leader that committed them. */
  membershipChanges = 0;

  constructor(options: SimulationOptions) {
    if (!(Number.isInteger(options.nodes) && options.nodes >= 1 && options.nodes <= 9)) {
      throw new RangeError(`nodes must be a whole number from 1 to 9, got ${options.nodes}`);
    }
    const spares = options.spares ?? 0;
    if (!(Number.isInteger(spares) && spares >= 0 && options.nodes + spares <= 9)) {
      throw new RangeError(`spares must be a whole number with nodes + spares at most 9, got ${spares}`);
    }
    this.options = options;
    this.prng = new Prng(mixSeed(options.seed, 'simulation'));
    this.network = new SimNetwork(this.prng, options.link ?? defaultLink);
    this.tickMs = options.tickMs ?? 10;
    const ticks = (ms: number): number => Math.max(1, Math.round(ms / this.tickMs));
    const [electionMin, electionMax] = options.electionTimeoutMs ?? [150, 300];
    const replication: ReplicationConfig = {
      mode: options.replication.mode,
      ackLevel: options.replication.ackLevel,
      quorum: options.replication.quorum ?? null,
      syncStandbys: null,
      syncTimeoutTicks: options.replication.syncTimeoutMs == null ? null : ticks(options.replication.syncTimeoutMs),
      syncFallback: options.replication.syncFallback ?? 'block',
    };
    this.ids = Array.from({ length: options.nodes + spares }, (_, i) => `n${i + 1}`);
    const voters = this.ids.slice(0, options.nodes);
    this.coreConfig = {
      peers: voters,
      electionTicks: [ticks(electionMin), ticks(electionMax)],
      heartbeatTicks: ticks(options.heartbeatMs ?? 50),
      failover: 'raft',
      fencing: true,
      preVote: options.preVote ?? true,
      checkQuorum: options.checkQuorum ?? true,
      replication,
      ...(options.unsafe === undefined ? {} : { unsafe: options.unsafe }),
    };
    for (const id of this.ids) {
      const node: SimNode = {
        id,
        peers: voters.includes(id) ? voters : [],
        core: null,
        storage: new SimStorage(),
        appliedTerms: [],
        incarnation: 0,
        paused: false,
        deferred: [],
        checkedCommit: 0,
        clockRate: 1,
        incoming: null,
      };
      this.nodes.set(id, node);
      this.pendingByNode.set(id, new Map());
      this.pendingReads.set(id, new Map());
      this.boot(node);
    }
  }

  // -------------------------------------------------------------------------
  // Running

  /** Runs the simulation until virtual time `untilMs` (or a violation, when `stopOnViolation`). */
  runUntil(untilMs: number, stopOnViolation = true): void {
    for (;;) {
      const next = this.queue.peek();
      if (next === undefined || next.at > untilMs) break;
      if (stopOnViolation && this.checker.violations.length > 0) return;
      this.queue.pop();
      this.now = next.at;
      this.checker.now = next.at;
      this.dispatch(next);
    }
    this.now = Math.max(this.now, untilMs);
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** Runs until `done()` holds, checking every `stepMs`; false when `withinMs` passed first. */
  runUntilTrue(done: () => boolean, withinMs: number, stepMs = this.tickMs): boolean {
    const deadline = this.now + withinMs;
    while (this.now < deadline) {
      if (done()) return true;
      if (this.checker.violations.length > 0) return false;
      this.runUntil(Math.min(deadline, this.now + stepMs));
    }
    return done();
  }

  /** Schedules `run` at virtual time `atMs` (nemesis actions, client traffic). */
  at(atMs: number, run: () => void): void {
    this.queue.push({ at: atMs, seq: this.seq++, kind: 'call', run });
  }

  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case 'deliver': {
        const node = this.node(event.message.to);
        if (event.message.type === 'snapshot') {
          if (event.transfer === undefined) throw new Error('a snapshot message travels with its data');
          this.deliverSnapshot(node, event.message, event.transfer);
          return;
        }
        this.whenRunning(node, null, () => {
          this.messagesDelivered++;
          this.withCore(node, (core) => core.step(event.message));
        });
        return;
      }
      case 'tick': {
        const node = this.node(event.node);
        if (node.incarnation !== event.incarnation || node.core === null) return;
        this.queue.push({ at: event.at + this.tickMs / node.clockRate, seq: this.seq++, kind: 'tick', node: node.id, incarnation: node.incarnation });
        // A stopped process misses its timer ticks; it does not replay them on resume.
        if (!node.paused) this.withCore(node, (core) => core.tick());
        return;
      }
      case 'flush': {
        const node = this.node(event.node);
        this.whenRunning(node, event.incarnation, () => this.completeFlush(node));
        return;
      }
      case 'call':
        event.run();
        return;
    }
  }

  /** Runs `work` on a live node now, or when it resumes if it is paused; drops it if it crashed. */
  private whenRunning(node: SimNode, incarnation: number | null, work: () => void): void {
    if (node.core === null || (incarnation !== null && incarnation !== node.incarnation)) return;
    if (!node.paused) {
      work();
      return;
    }
    if (node.deferred.length < deferredMax) node.deferred.push(work);
  }

  private withCore(node: SimNode, input: (core: RaftCore) => void): void {
    const core = node.core;
    if (core === null) return;
    try {
      input(core);
      this.drain(node, core);
    } catch (error) {
      if (!(error instanceof CoreAssertionError)) throw error;
      // A failed assertion crashes the node loudly, as it would crash the node process.
      this.checker.report('core-assertion', `${node.id}: ${error.message}`);
      this.crash(node.id);
    }
  }

  // -------------------------------------------------------------------------
  // The host loop: persist, write, roll back, apply, send, answer, advance.

  private drain(node: SimNode, core: RaftCore): void {
    for (let i = 0; core.hasReady(); i++) {
      if (i >= drainIterationsMax) throw new CoreAssertionError(`${node.id} produced Ready without end`);
      const ready = core.ready();
      this.handleReady(node, core, ready);
      core.advance();
    }
    const commit = core.getCommitIndex();
    if (commit > node.checkedCommit && core.getRole() === 'leader') this.checker.configUsed(node.id, core.getTerm(), core.membership().voters, `committing index ${commit}`);
    if (commit > node.checkedCommit) {
      this.checker.commitAdvanced(node.id, core.getTerm(), node.checkedCommit, commit, (lo, hi) => core.entries(lo, hi));
      node.checkedCommit = commit;
      this.checkAcknowledgedAgainstCommitted();
    }
  }

  private handleReady(node: SimNode, core: RaftCore, ready: Ready): void {
    if (ready.snapshot !== null) this.installSnapshot(node, ready.snapshot);
    if (ready.hardState !== null) node.storage.hardState = ready.hardState;
    if (ready.writeFrom !== null) {
      this.checker.entriesWritten(node.id, ready.entries, (index) => this.termAt(node, core, index));
      node.storage.write(ready.writeFrom, ready.entries);
      this.beginFlush(node);
    }
    for (const entry of ready.rollback) {
      if (node.appliedTerms.length !== entry.index || node.appliedTerms[entry.index - 1] !== entry.term) {
        this.checker.report('state-machine', `${node.id} rolled back entry ${entry.index} it had not applied last`);
      }
      node.appliedTerms.length = entry.index - 1;
    }
    for (const entry of ready.apply) {
      if (node.appliedTerms.length !== entry.index - 1) {
        this.checker.report('state-machine', `${node.id} applied entry ${entry.index} after ${node.appliedTerms.length}`);
      }
      node.appliedTerms[entry.index - 1] = entry.term;
    }
    for (const message of ready.messages) {
      if (message.type === 'snapshot') {
        this.sendSnapshot(node, message);
        continue;
      }
      for (const delay of this.network.delays(message.from, message.to)) {
        this.queue.push({ at: this.now + delay, seq: this.seq++, kind: 'deliver', message });
      }
    }
    for (const ack of ready.acks) this.onAck(node, ack);
    for (const read of ready.reads) this.onRead(node, read);
    for (const event of ready.events) this.onEvent(node, core, event);
  }

  private beginFlush(node: SimNode): void {
    if (!node.storage.beginFlush()) return;
    const [min, max] = this.options.flushMs ?? [0.2, 2];
    const at = this.now + min + this.prng.next() * (max - min);
    this.queue.push({ at, seq: this.seq++, kind: 'flush', node: node.id, incarnation: node.incarnation });
  }

  private completeFlush(node: SimNode): void {
    const durable = node.storage.completeFlush();
    this.beginFlush(node);
    if (durable !== null) this.withCore(node, (core) => core.persisted(durable.index, durable.term));
  }

  private onEvent(node: SimNode, core: RaftCore, event: CoreEvent): void {
    if (this.events.length < this.eventsKeptMax) this.events.push({ atMs: this.now, event });
    switch (event.type) {
      case 'leader-elected':
        this.checker.leaderElected(node.id, event.term, (index) => this.termAt(node, core, index));
        this.checker.configUsed(node.id, event.term, core.membership().voters, 'winning the election');
        this.log(`${node.id} elected leader of term ${event.term} with votes ${event.votes.join(',')}`);
        return;
      case 'stepped-down':
        this.log(`${node.id} stepped down in term ${event.term} (${event.reason})`);
        return;
      case 'election-started':
        this.log(`${node.id} starts ${event.pre ? 'a pre-vote' : 'an election'} for term ${event.term}`);
        return;
      case 'entries-rolled-back':
        this.log(`${node.id} rolled back applied entries ${event.fromIndex}..${event.toIndex}`);
        return;
      case 'entries-truncated':
        this.log(`${node.id} truncated ${event.count} entries from ${event.fromIndex}`);
        return;
      case 'snapshot-restored':
        this.log(`${node.id} installed a snapshot at index ${event.index} (term ${event.term})`);
        return;
      case 'sync-degraded':
      case 'sync-restored':
      case 'sync-waiting':
      case 'transfer-started':
      case 'transfer-aborted':
      case 'promoted':
      case 'committed-entries-lost':
      case 'higher-term-ignored':
      case 'events-dropped':
      case 'campaign-refused':
        this.log(`${node.id} ${event.type} ${JSON.stringify(event)}`);
        return;
      case 'membership-changed': {
        const { voters, learners } = event.membership;
        this.log(`${node.id} ${event.committed ? 'committed' : 'appended'} config ${event.index}: voters ${voters.join(',')} learners ${learners.join(',') || '-'}`);
        if (event.committed) this.membershipChanges++;
        else this.checker.configAppended(node.id, event.index, core.membershipAt(event.index - 1).voters, voters);
        return;
      }
      case 'vote-granted':
      case 'vote-denied':
      case 'election-lost':
      case 'term-changed':
      case 'replication-changed':
        return;
    }
  }

  // -------------------------------------------------------------------------
  // Snapshots: the state machine (the applied terms) up to an index, taken by
  // a node, sent by a leader with its InstallSnapshot message, installed by a follower.

  /** The term at `index` as the node holds it: from its snapshot at or below the snapshot's index, else its log. */
  private termAt(node: SimNode, core: RaftCore, index: number): number {
    const snapshot = node.storage.snapshot;
    if (snapshot !== null && index <= snapshot.meta.index) return index === 0 ? 0 : (snapshot.terms[index - 1] ?? -1);
    return core.termAt(index);
  }

  /**
   * `id` snapshots its state at an index it has applied and knows committed
   * (at random between half of that and all of it), then deletes its log up
   * to `retain` entries before the snapshot (never past what is durable).
   * Returns the snapshot's index, or null when the node is down or paused.
   */
  snapshotAndCompact(id: NodeId, retain: number, pick: (lo: number, hi: number) => number = (_, hi) => hi): number | null {
    const node = this.node(id);
    if (node.core === null || node.paused) return null;
    let taken: number | null = null;
    this.withCore(node, (core) => {
      const committed = this.options.unsafe?.snapshotUncommitted === true ? Infinity : core.getCommitIndex();
      const limit = Math.min(core.getAppliedIndex(), committed, node.appliedTerms.length);
      const floor = node.storage.snapshot?.meta.index ?? 0;
      if (limit <= floor) return;
      const meta = core.snapshotAt(pick(Math.max(floor + 1, Math.floor(limit / 2)), limit));
      const terms = node.appliedTerms.slice(0, meta.index);
      this.checkSnapshotCommitted(node.id, 'took', meta.index, terms);
      node.storage.takeSnapshot({ meta, terms });
      core.snapshotTaken(meta);
      const upTo = Math.min(meta.index - retain, core.getStableIndex());
      if (upTo >= core.firstIndex()) {
        core.compact(upTo);
        node.storage.compact(upTo);
      }
      taken = meta.index;
      this.snapshotsTaken++;
      this.log(`${id} snapshot at ${meta.index}, log from ${core.firstIndex()}`);
    });
    return taken;
  }

  /** Invariant: every entry a snapshot holds is committed, as the cluster committed it. */
  private checkSnapshotCommitted(id: NodeId, verb: string, index: number, terms: readonly number[]): void {
    const committed = this.checker.committed;
    if (index > committed.length) {
      this.checker.report('snapshot-uncommitted', `${id} ${verb} a snapshot at ${index} but only ${committed.length} entries are committed`);
      return;
    }
    for (let i = 0; i < index; i++) {
      if (terms[i] !== committed[i]!.term) {
        this.checker.report('snapshot-uncommitted', `${id} ${verb} a snapshot whose entry ${i + 1} has term ${terms[i]}, the committed one term ${committed[i]!.term}`);
        return;
      }
    }
  }

  /** The leader's host streams its snapshot with the message; the network's delay and loss apply to both. */
  private sendSnapshot(node: SimNode, message: Extract<Message, { type: 'snapshot' }>): void {
    const snapshot = node.storage.snapshot;
    if (snapshot === null || snapshot.meta.index !== message.meta.index) {
      throw new CoreAssertionError(`${node.id} sends snapshot ${message.meta.index} but holds ${snapshot?.meta.index ?? 'none'}`);
    }
    const transfer = { snapshot, incarnation: node.incarnation, id: ++this.transferIds };
    this.transfers.set(`${message.from}>${message.to}`, transfer.id);
    const delays = this.network.delays(message.from, message.to);
    if (delays.length === 0) this.reportSnapshot(message, transfer, false, snapshotTransferFailMs);
    else this.reportSnapshot(message, transfer, false, snapshotTransferTimeoutMs);
    for (const delay of delays) this.queue.push({ at: this.now + delay, seq: this.seq++, kind: 'deliver', message, transfer });
  }

  private deliverSnapshot(node: SimNode, message: Extract<Message, { type: 'snapshot' }>, transfer: { readonly snapshot: SimSnapshot; readonly incarnation: number; readonly id: number }): void {
    if (node.core === null) {
      this.reportSnapshot(message, transfer, false, snapshotTransferFailMs);
      return;
    }
    this.whenRunning(node, null, () => {
      this.messagesDelivered++;
      node.incoming = transfer.snapshot;
      this.withCore(node, (core) => core.step(message));
      node.incoming = null;
      this.reportSnapshot(message, transfer, true, this.network.delays(node.id, message.from)[0] ?? snapshotTransferFailMs);
    });
  }

  /** The leader's host learns how the transfer went: the first report of a transfer counts, later ones are stale. */
  private reportSnapshot(message: Message, transfer: { readonly incarnation: number; readonly id: number }, ok: boolean, afterMs: number): void {
    const key = `${message.from}>${message.to}`;
    this.at(this.now + afterMs, () => {
      if (this.transfers.get(key) !== transfer.id) return;
      this.transfers.delete(key);
      const node = this.node(message.from);
      this.whenRunning(node, transfer.incarnation, () => this.withCore(node, (core) => core.reportSnapshot(message.to, ok)));
    });
  }

  /** Ready.snapshot: the state machine becomes the snapshot's, and so does the start of the log. */
  private installSnapshot(node: SimNode, meta: SnapshotMeta): void {
    const snapshot = node.incoming;
    if (snapshot === null || snapshot.meta.index !== meta.index || snapshot.meta.term !== meta.term) {
      throw new CoreAssertionError(`${node.id} installs snapshot ${meta.index} without its data`);
    }
    // Invariant: the installed state equals the state by replay of the committed log.
    this.checkSnapshotCommitted(node.id, 'installed', meta.index, snapshot.terms);
    for (let i = 0; i < Math.min(snapshot.terms.length, node.appliedTerms.length, node.checkedCommit); i++) {
      if (snapshot.terms[i] !== node.appliedTerms[i]) {
        this.checker.report('snapshot-state', `${node.id} had applied term ${node.appliedTerms[i]} at committed index ${i + 1}, the snapshot holds term ${snapshot.terms[i]}`);
        break;
      }
    }
    node.appliedTerms.length = 0;
    node.appliedTerms.push(...snapshot.terms);
    node.storage.installSnapshot(snapshot);
    node.checkedCommit = Math.max(node.checkedCommit, meta.index);
    this.snapshotsInstalled++;
  }

  // -------------------------------------------------------------------------
  // Clients

  /** One client write through `node` (default: whichever node leads). Returns its record. */
  write(node?: NodeId): WriteRecord {
    const target = node ?? this.leader() ?? this.prng.pick(this.ids);
    const id = this.nextWriteId++;
    const record: WriteRecord = { id, data: `w${id}`, invokedAtMs: this.now, node: target, status: 'pending', index: 0, term: 0 };
    this.writes.push(record);
    const simNode = this.node(target);
    if (simNode.core === null) {
      record.status = 'fail';
      return record;
    }
    const propose = (): void => {
      if (record.status !== 'pending') return;
      this.withCore(simNode, (core) => {
        const result = core.propose({ id, data: record.data });
        if (!result.ok) {
          record.status = 'fail';
          return;
        }
        record.index = result.index;
        record.term = result.term;
        this.pendingByNode.get(target)?.set(id, record);
      });
    };
    // A paused leader takes the request when it resumes, like a socket buffer.
    this.whenRunning(simNode, null, propose);
    const timeoutMs = this.options.writeTimeoutMs ?? 2_000;
    this.at(this.now + timeoutMs, () => {
      if (record.status !== 'pending') return;
      record.status = 'info';
      this.pendingByNode.get(record.node)?.delete(id);
    });
    return record;
  }

  private onAck(node: SimNode, ack: WriteAck): void {
    const pending = this.pendingByNode.get(node.id);
    const record = pending?.get(ack.id);
    if (record === undefined || record.status !== 'pending') return;
    pending?.delete(ack.id);
    if (ack.ok) {
      record.status = 'ok';
      record.index = ack.index;
      record.term = ack.term;
      record.ackedAtMs = this.now;
      this.acked.push(record);
      this.checkAcknowledgedAgainstCommitted();
    } else {
      record.status = ack.indeterminate ? 'info' : 'fail';
    }
  }

  /** One linearizable read through `node`: on the leader's lease, or by ReadIndex. */
  read(node: NodeId, kind: ReadKind): ReadRecord {
    const id = this.nextReadId++;
    const record: ReadRecord = { id, kind, node, invokedAtMs: this.now, status: 'pending', onLease: false };
    this.reads.push(record);
    const simNode = this.node(node);
    if (simNode.core === null) {
      record.status = 'fail';
      return record;
    }
    this.whenRunning(simNode, null, () => {
      if (record.status !== 'pending') return;
      this.pendingReads.get(node)?.set(id, record);
      this.withCore(simNode, (core) => (kind === 'lease' ? core.leaseRead(id) : core.readIndex(id)));
    });
    const timeoutMs = this.options.writeTimeoutMs ?? 2_000;
    this.at(this.now + timeoutMs, () => {
      if (record.status !== 'pending') return;
      record.status = 'fail';
      this.pendingReads.get(record.node)?.delete(id);
    });
    return record;
  }

  /**
   * A read answered: in a mode whose acks promise durability, the node's state
   * machine must hold every write acknowledged before the read was invoked.
   */
  private onRead(node: SimNode, result: ReadResult): void {
    const pending = this.pendingReads.get(node.id);
    const record = pending?.get(result.id);
    if (record === undefined || record.status !== 'pending') return;
    pending?.delete(result.id);
    record.status = result.ok ? 'ok' : 'fail';
    if (!result.ok) return;
    record.onLease = result.lease === true;
    if (!this.acksPromiseDurability()) return;
    for (const write of this.acked) {
      if ((write.ackedAtMs ?? Infinity) >= record.invokedAtMs) break;
      if (node.appliedTerms[write.index - 1] === write.term) continue;
      const how = record.onLease ? 'on its lease' : record.kind === 'lease' ? 'by ReadIndex (its lease had lapsed)' : 'by ReadIndex';
      this.checker.report(
        record.onLease ? 'stale-lease-read' : 'stale-read-index',
        `${node.id} (term ${node.core?.getTerm() ?? '?'}, clock x${node.clockRate}) served read ${record.id} ${how} at index ${result.index}, without write ${write.id} (index ${write.index}, term ${write.term}) acknowledged at ${(write.ackedAtMs ?? 0).toFixed(1)} ms, before the read was invoked at ${record.invokedAtMs.toFixed(1)} ms`,
      );
      return;
    }
  }

  /**
   * Writes whose acknowledgement turned out false: the committed log holds
   * another entry at their index or, once every node holds the same fully
   * committed log, ends before it.
   */
  lostWrites(): LostWrite[] {
    const committed = this.checker.committed;
    const final = this.converged();
    const lost: LostWrite[] = [];
    for (const write of this.writes) {
      if (write.status !== 'ok') continue;
      const entry = committed[write.index - 1];
      const gone = entry === undefined ? final : entry.term !== write.term || entry.data !== write.data;
      if (gone) lost.push({ id: write.id, index: write.index, term: write.term });
    }
    return lost;
  }

  /** Only worth a full scan when acks are promised durable; async losses are counted at the end. */
  private checkAcknowledgedAgainstCommitted(): void {
    if (!this.acksPromiseDurability() || this.checker.violations.some((v) => v.invariant === 'acknowledged-write-lost')) return;
    const lost = this.lostWritesSince();
    if (lost !== null) {
      this.checker.report('acknowledged-write-lost', `write ${lost.id} was acknowledged at index ${lost.index} (term ${lost.term}) but another entry committed there`);
    }
  }

  private ackScanFrom = 0;

  private lostWritesSince(): LostWrite | null {
    const committed = this.checker.committed;
    // Writes are scanned in order; stop at the first acknowledged write whose index is not yet committed.
    while (this.ackScanFrom < this.writes.length) {
      const write = this.writes[this.ackScanFrom]!;
      if (write.status === 'pending') return null;
      if (write.status === 'ok') {
        const entry = committed[write.index - 1];
        if (entry === undefined) return null;
        if (entry.term !== write.term || entry.data !== write.data) return { id: write.id, index: write.index, term: write.term };
      }
      this.ackScanFrom++;
    }
    return null;
  }

  /** In quorum (a majority or more) and sync (every follower) at flushed/applied, an ack is a promise. */
  acksPromiseDurability(): boolean {
    const { mode, ackLevel, quorum, syncTimeoutMs, syncFallback } = this.options.replication;
    if (ackLevel === 'received' || mode === 'async') return false;
    if (syncTimeoutMs != null && syncFallback === 'async') return false;
    if (mode === 'quorum') return (quorum ?? majority(this.ids.length)) >= majority(this.ids.length);
    return true;
  }

  // -------------------------------------------------------------------------
  // Membership

  /** Proposes a membership change at the live leader; the result says whether it was taken. */
  changeMembership(change: ConfChange): string {
    const leader = this.leader();
    if (leader === null) return 'no leader';
    let outcome = 'refused';
    this.withCore(this.node(leader), (core) => {
      const result = core.proposeConfChange(this.nextWriteId++, change);
      outcome = result.ok ? `appended at ${result.index}` : result.error;
    });
    this.log(`${leader}: ${change.type} ${change.node}: ${outcome}`);
    return outcome;
  }

  /** The configuration the live leader holds (null without one). */
  membership(): { readonly voters: readonly NodeId[]; readonly learners: readonly NodeId[] } | null {
    const leader = this.leader();
    return leader === null ? null : this.node(leader).core!.membership();
  }

  // -------------------------------------------------------------------------
  // Faults

  crash(id: NodeId): void {
    const node = this.node(id);
    if (node.core === null) return;
    node.core = null;
    node.storage.crash();
    node.incarnation++;
    node.paused = false;
    node.deferred = [];
    node.checkedCommit = 0;
    const pending = this.pendingByNode.get(id);
    for (const record of pending?.values() ?? []) record.status = 'info';
    pending?.clear();
    for (const record of this.pendingReads.get(id)?.values() ?? []) record.status = 'fail';
    this.pendingReads.get(id)?.clear();
    this.log(`${id} crashed`);
  }

  restart(id: NodeId): void {
    const node = this.node(id);
    if (node.core !== null) return;
    this.boot(node);
    this.log(`${id} restarted`);
  }

  pause(id: NodeId): void {
    const node = this.node(id);
    if (node.core === null || node.paused) return;
    node.paused = true;
    this.log(`${id} paused`);
  }

  resume(id: NodeId): void {
    const node = this.node(id);
    if (!node.paused) return;
    node.paused = false;
    this.log(`${id} resumed`);
    // The node's host sees the gap in its timer (ticks were missed), so its lease proves nothing now.
    node.core?.dropLease();
    const work = node.deferred;
    node.deferred = [];
    for (const run of work) {
      if (node.core === null || node.paused) break;
      run();
    }
  }

  /** The clock fault: `id`'s timers run at `rate` times real speed (1 restores). Its lease counts its own ticks. */
  setClockRate(id: NodeId, rate: number): void {
    if (!(Number.isFinite(rate) && rate > 0)) throw new RangeError(`a clock rate must be a number above 0, got ${rate}`);
    const node = this.node(id);
    if (node.clockRate === rate) return;
    node.clockRate = rate;
    this.log(rate === 1 ? `${id}'s clock back to normal` : `${id}'s clock runs at x${rate}`);
  }

  clockRate(id: NodeId): number {
    return this.node(id).clockRate;
  }

  partition(groups: readonly (readonly NodeId[])[]): void {
    this.network.partition(groups);
    this.log(`partition ${groups.map((g) => g.join(' ')).join(' | ')}`);
  }

  isolate(id: NodeId): void {
    this.partition([[id], this.ids.filter((other) => other !== id)]);
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.network.cutOneWay(from, to);
    this.log(`cut ${from} -> ${to}`);
  }

  /** Every node up and running, every link whole. */
  healAll(): void {
    for (const id of this.ids) {
      this.resume(id);
      this.restart(id);
      this.setClockRate(id, 1);
    }
    this.network.heal();
    this.log('healed everything');
  }

  // -------------------------------------------------------------------------
  // Looking in

  isUp(id: NodeId): boolean {
    return this.node(id).core !== null;
  }

  isPaused(id: NodeId): boolean {
    return this.node(id).paused;
  }

  core(id: NodeId): RaftCore | null {
    return this.node(id).core;
  }

  /** The live leader with the highest term, if any. */
  leader(): NodeId | null {
    let best: NodeId | null = null;
    let bestTerm = -1;
    for (const node of this.nodes.values()) {
      const core = node.core;
      if (core === null || node.paused || core.getRole() !== 'leader') continue;
      if (core.getTerm() > bestTerm) {
        best = node.id;
        bestTerm = core.getTerm();
      }
    }
    return best;
  }

  role(id: NodeId): Role | null {
    return this.node(id).core?.getRole() ?? null;
  }

  /** The last trace lines: faults, elections, step-downs, rollbacks. */
  traceLines(): string[] {
    return this.trace.slice();
  }

  violations(): readonly Violation[] {
    return this.checker.violations;
  }

  report(invariant: Invariant, detail: string): void {
    this.checker.now = this.now;
    this.checker.report(invariant, detail);
  }

  /** Nodes in the leader's configuration: the ones that must hold its log (a removed or spare node need not). */
  private members(reference: RaftCore): SimNode[] {
    const { voters, learners } = reference.membership();
    return [...this.nodes.values()].filter((node) => voters.includes(node.id) || learners.includes(node.id));
  }

  /** True when every member is up and holds the same log, fully committed and applied. */
  converged(): boolean {
    const leader = this.leader();
    if (leader === null) return false;
    const reference = this.node(leader).core!;
    const last = reference.getLastIndex();
    for (const node of this.members(reference)) {
      const core = node.core;
      if (core === null || node.paused) return false;
      if (core.getLastIndex() !== last || core.getCommitIndex() !== last || core.getAppliedIndex() !== last) return false;
      if (core.termAt(last) !== reference.termAt(last)) return false;
    }
    return true;
  }

  /** Full comparison of every node's log and state machine (run once, after converging). */
  checkConvergedLogs(): void {
    const leader = this.leader();
    if (leader === null) return;
    const reference = this.fullLog(this.node(leader));
    for (const node of this.members(this.node(leader).core!)) {
      const log = this.fullLog(node);
      const differs =
        log.terms.length !== reference.terms.length ||
        log.terms.some((term, i) => term !== reference.terms[i] || (log.data[i] !== undefined && reference.data[i] !== undefined && log.data[i] !== reference.data[i]));
      if (differs) this.report('convergence', `${node.id}'s log differs from leader ${leader}'s after settling`);
      const applied = node.appliedTerms;
      if (applied.length !== reference.terms.length || applied.some((term, i) => term !== reference.terms[i])) {
        this.report('convergence', `${node.id}'s state machine does not match its log after settling`);
      }
    }
  }

  /** A node's log from index 1: its snapshot's terms (no data), then its log's entries. */
  private fullLog(node: SimNode): { terms: number[]; data: (string | undefined)[] } {
    const core = node.core;
    if (core === null) return { terms: [], data: [] };
    const first = core.firstIndex();
    const snapshotTerms = node.storage.snapshot?.terms ?? [];
    const terms: number[] = [];
    const data: (string | undefined)[] = [];
    for (let index = 1; index < first; index++) {
      terms.push(snapshotTerms[index - 1] ?? -1);
      data.push(undefined);
    }
    for (const entry of core.entries(first, core.getLastIndex() + 1)) {
      terms.push(entry.term);
      data.push(entry.data);
    }
    return { terms, data };
  }

  private node(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new RangeError(`no node ${id} (nodes are ${this.ids.join(', ')})`);
    return node;
  }

  private boot(node: SimNode): void {
    const snapshot = node.storage.snapshot;
    const base = snapshot?.meta.index ?? 0;
    const entries = node.storage.durableEntries();
    const applied = node.appliedTerms;
    const termOf = (index: number): number | undefined => (index <= base ? snapshot?.terms[index - 1] : entries[index - base - 1]?.term);
    if (applied.length < base || applied.length > base + entries.length || applied.some((term, i) => termOf(i + 1) !== term)) {
      this.checker.report('state-machine', `${node.id} had applied entries its durable log and snapshot do not hold`);
      applied.length = 0;
      applied.push(...(snapshot?.terms ?? []));
    }
    node.checkedCommit = base;
    const config: CoreConfig = { ...this.coreConfig, id: node.id, peers: node.peers, seed: mixSeed(this.options.seed, `${node.id}#${node.incarnation}`) };
    node.core = new RaftCore(config, { hardState: node.storage.hardState, snapshot: snapshot?.meta ?? null, entries, appliedIndex: applied.length });
    // Each node's clock starts at its own phase, as real timers do.
    const phase = this.prng.next() * this.tickMs;
    this.queue.push({ at: this.now + phase, seq: this.seq++, kind: 'tick', node: node.id, incarnation: node.incarnation });
  }

  log(line: string): void {
    const max = this.options.traceLinesMax ?? 400;
    if (this.trace.length >= max) this.trace.shift();
    this.trace.push(`${this.now.toFixed(1).padStart(9)}ms  ${line}`);
  }
}
