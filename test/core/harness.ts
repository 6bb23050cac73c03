// An in-memory network of cores for the paper-rule tests (etcd raft's test
// network): one host loop per core, delivery in FIFO order, `cut`/`isolate`/
// `drop`/`recover`, and everything each node persisted, applied, answered and
// reported collected for assertions. No timers, no randomness of its own.

import { entryBytes, RaftCore, type CoreConfig, type CoreEvent, type CoreEventType, type Entry, type HardState } from '../../cluster/core/index.js';
import type { ConfChange, Message, NodeId, ProposeResult, Ready, ReadResult, ReplicationConfig, SnapshotMeta, WriteAck, WriteReplication } from '../../cluster/core/index.js';

/** A snapshot as a host holds it: the meta and the state machine (the applied entries) up to its index. */
export interface HostSnapshot {
  readonly meta: SnapshotMeta;
  readonly applied: readonly Entry[];
}

export const replicationDefaults: ReplicationConfig = {
  mode: 'quorum', ackLevel: 'flushed', quorum: null, syncStandbys: null, syncTimeoutTicks: null, syncFallback: 'block',
};

export interface NetworkOptions {
  readonly size?: number;
  readonly config?: Partial<Omit<CoreConfig, 'id' | 'peers' | 'replication'>>;
  readonly replication?: Partial<ReplicationConfig>;
  /** Per node, the term of each entry of its durable log from index 1 (already applied). */
  readonly logs?: Readonly<Record<NodeId, readonly number[]>>;
  /** Per node, the durable term; defaults to the last term of its log. */
  readonly terms?: Readonly<Record<NodeId, number>>;
  /** Nodes whose host reports a write durable only when the test calls `flush`. */
  readonly manualFlush?: readonly NodeId[];
  /** With 'manual' the test calls `reportSnapshot`; by default a delivered snapshot is reported done, a dropped one failed. */
  readonly snapshotReports?: 'auto' | 'manual';
}

/** A log of `sql` entries with the given terms, lsn as the core computes it. */
export function makeLog(terms: readonly number[]): Entry[] {
  let lsn = 0;
  return terms.map((term, i) => {
    const data = `t${term}i${i + 1}`;
    lsn += entryBytes('sql', data, undefined);
    return { index: i + 1, term, lsn, kind: 'sql', data };
  });
}

/** One node: its core and what its host did with every Ready. */
export class Host {
  hardState: HardState;
  /** The log as written to "disk". */
  readonly log: Entry[];
  /** The state machine: applied[i] holds index i + 1. */
  readonly applied: Entry[];
  readonly rolledBack: Entry[] = [];
  readonly events: CoreEvent[] = [];
  readonly acks: WriteAck[] = [];
  readonly reads: ReadResult[] = [];
  readonly readies: Ready[] = [];
  /** Writes handed out but not yet reported durable: (last index, last term) of each. */
  readonly unflushed: { index: number; term: number }[] = [];
  /** How much of `log` a crash keeps. */
  durableIndex: number;
  /**
   * The latest snapshot this host holds (durable at once). `log` still has an
   * entry for every index: those up to the snapshot's are the snapshot's state.
   */
  snapshot: HostSnapshot | null = null;
  /** The snapshot data received for the message being stepped (the transfer came first). */
  incoming: HostSnapshot | null = null;

  constructor(readonly core: RaftCore, log: readonly Entry[], applied: readonly Entry[], hardState: HardState, public autoFlush: boolean) {
    this.log = [...log];
    this.applied = [...applied];
    this.hardState = hardState;
    this.durableIndex = log.length;
  }
}

export class Network {
  readonly ids: NodeId[];
  readonly hosts = new Map<NodeId, Host>();
  /** Every message any node sent, in order, delivered or not. */
  readonly sent: Message[] = [];
  dropped = 0;
  /** Extra loss rule: a message for which this returns true is dropped. */
  drop: ((m: Message) => boolean) | null = null;
  private queue: Message[] = [];
  private readonly cuts = new Set<string>();
  private writeId = 0;
  private readonly configs = new Map<NodeId, CoreConfig>();
  private readonly snapshotReports: 'auto' | 'manual';

  constructor(options: NetworkOptions = {}) {
    this.ids = Array.from({ length: options.size ?? 3 }, (_, i) => `n${i + 1}`);
    this.snapshotReports = options.snapshotReports ?? 'auto';
    for (const id of this.ids) {
      const log = makeLog(options.logs?.[id] ?? []);
      const hardState = { term: options.terms?.[id] ?? log.at(-1)?.term ?? 0, vote: null };
      const config: CoreConfig = {
        id, peers: [...this.ids], electionTicks: [10, 20], heartbeatTicks: 2, failover: 'raft', fencing: true, preVote: true,
        checkQuorum: true, seed: 1, ...options.config, replication: { ...replicationDefaults, ...options.replication },
      };
      this.configs.set(id, config);
      const core = new RaftCore(config, { hardState, snapshot: null, entries: log, appliedIndex: log.length });
      this.hosts.set(id, new Host(core, log, log, hardState, !options.manualFlush?.includes(id)));
    }
  }

  /**
   * Starts a brand-new, empty node that knows no configuration (peers []): it
   * learns one from the leader's log once a membership change names it.
   */
  addNode(id: NodeId): Host {
    if (this.hosts.has(id)) throw new Error(`node ${id} exists`);
    const base = this.configs.get(this.ids[0]!) as CoreConfig;
    const config: CoreConfig = { ...base, id, peers: [] };
    this.configs.set(id, config);
    const hardState = { term: 0, vote: null };
    const host = new Host(new RaftCore(config, { hardState, snapshot: null, entries: [], appliedIndex: 0 }), [], [], hardState, true);
    this.hosts.set(id, host);
    this.ids.push(id);
    return host;
  }

  /** A membership change at `leader`, with the host's token for its ack. */
  confChange(leader: NodeId, change: ConfChange): ProposeResult & { id: number } {
    const writeId = ++this.writeId;
    return { ...this.core(leader).proposeConfChange(writeId, change), id: writeId };
  }

  host(id: NodeId): Host {
    const host = this.hosts.get(id);
    if (host === undefined) throw new Error(`no node ${id}`);
    return host;
  }

  core(id: NodeId): RaftCore {
    return this.host(id).core;
  }

  /** One turn of the host loop: persist, write, roll back, apply, send, answer, advance. */
  process(id: NodeId): boolean {
    const host = this.host(id);
    if (!host.core.hasReady()) return false;
    const rd = host.core.ready();
    host.readies.push(rd);
    if (rd.snapshot !== null) this.install(id, rd.snapshot);
    if (rd.hardState !== null) host.hardState = rd.hardState;
    if (rd.writeFrom !== null) {
      host.log.length = rd.writeFrom - 1;
      host.durableIndex = Math.min(host.durableIndex, host.log.length);
      host.log.push(...rd.entries);
    }
    for (const entry of rd.rollback) {
      const undone = host.applied.pop();
      if (undone?.index !== entry.index) throw new Error(`${id} rolls back ${entry.index} but last applied ${undone?.index}`);
      host.rolledBack.push(entry);
    }
    for (const entry of rd.apply) {
      if (entry.index !== host.applied.length + 1) throw new Error(`${id} applies ${entry.index} after ${host.applied.length}`);
      host.applied.push(entry);
    }
    this.queue.push(...rd.messages);
    this.sent.push(...rd.messages);
    host.acks.push(...rd.acks);
    host.reads.push(...rd.reads);
    host.events.push(...rd.events);
    host.core.advance();
    const last = rd.entries.at(-1);
    if (last !== undefined) host.unflushed.push({ index: last.index, term: last.term });
    if (host.autoFlush) this.flush(id);
    return true;
  }

  /** Ready.snapshot: the state becomes the snapshot's; the log keeps its suffix only if it matched. */
  private install(id: NodeId, meta: SnapshotMeta): void {
    const host = this.host(id);
    const data = host.incoming;
    if (data === null || data.meta.index !== meta.index || data.meta.term !== meta.term) throw new Error(`${id} installs snapshot ${meta.index} without its data`);
    const keep = host.log[meta.index - 1]?.term === meta.term;
    host.applied.length = 0;
    host.applied.push(...data.applied);
    if (keep) host.log.splice(0, meta.index, ...data.applied);
    else host.log.splice(0, host.log.length, ...data.applied);
    host.durableIndex = keep ? Math.max(host.durableIndex, meta.index) : meta.index;
    host.snapshot = data;
  }

  /** `id` snapshots its state at `index` (default: its applied index) and tells its core. */
  takeSnapshot(id: NodeId, index?: number): SnapshotMeta {
    const host = this.host(id);
    const at = index ?? host.core.status().appliedIndex;
    const meta = host.core.snapshotAt(at);
    host.snapshot = { meta, applied: host.applied.slice(0, at) };
    host.core.snapshotTaken(meta);
    return meta;
  }

  /** `id`'s host deletes its log up to `upTo` (the core forgets it first). */
  compact(id: NodeId, upTo: number): void {
    this.host(id).core.compact(upTo);
  }

  /** The leader's host reports the snapshot transfer to `to` done or failed. */
  reportSnapshot(leader: NodeId, to: NodeId, ok: boolean): void {
    this.core(leader).reportSnapshot(to, ok);
    while (this.process(leader));
  }

  /** Reports every outstanding write of `id` durable (the fsync finished). */
  flush(id: NodeId): void {
    const host = this.host(id);
    for (const write of host.unflushed.splice(0)) {
      if (host.log[write.index - 1]?.term === write.term) host.durableIndex = Math.max(host.durableIndex, write.index);
      host.core.persisted(write.index, write.term);
    }
  }

  /** Crashes `id` and starts a new core from what survives: hard state, durable log, state machine. */
  restart(id: NodeId): void {
    const { hardState, log, applied, durableIndex, autoFlush, snapshot } = this.host(id);
    const kept = log.slice(0, durableIndex);
    const state = applied.slice(0, durableIndex);
    const base = snapshot?.meta.index ?? 0;
    const core = new RaftCore(this.configs.get(id) as CoreConfig, { hardState, snapshot: snapshot?.meta ?? null, entries: kept.slice(base), appliedIndex: state.length });
    const host = new Host(core, kept, state, hardState, autoFlush);
    host.snapshot = snapshot;
    this.hosts.set(id, host);
  }

  /** Runs every host loop until no core has anything ready. */
  processAll(): void {
    for (let busy = true; busy; ) {
      busy = false;
      for (const id of this.ids) while (this.process(id)) busy = true;
    }
  }

  /** Delivers the queued messages that match `filter` in order; the rest stay queued. */
  deliver(filter: (m: Message) => boolean = () => true): number {
    const batch = this.queue;
    this.queue = [];
    let delivered = 0;
    for (const m of batch) {
      if (!filter(m)) this.queue.push(m);
      // A node never started is as good as dead.
      else if (!this.hosts.has(m.to) || this.cuts.has(`${m.from}>${m.to}`) || this.drop?.(m) === true) {
        this.dropped++;
        if (m.type === 'snapshot' && this.snapshotReports === 'auto') this.reportSnapshot(m.from, m.to, false);
      } else {
        delivered++;
        const receiver = this.host(m.to);
        if (m.type === 'snapshot') {
          // The transfer: the sender's host streamed its snapshot's data before the message.
          const data = this.host(m.from).snapshot;
          if (data?.meta.index !== m.meta.index) throw new Error(`${m.from} sent snapshot ${m.meta.index} but holds ${data?.meta.index}`);
          receiver.incoming = data;
        }
        receiver.core.step(m);
        while (this.process(m.to));
        receiver.incoming = null;
        if (m.type === 'snapshot' && this.snapshotReports === 'auto') this.reportSnapshot(m.from, m.to, true);
      }
    }
    return delivered;
  }

  /** Messages sent and not yet delivered or dropped. */
  pending(): readonly Message[] {
    return this.queue;
  }

  /** Delivers everything until the network is quiet. */
  stabilize(roundsMax = 1_000): void {
    for (let round = 0; round < roundsMax; round++) {
      this.processAll();
      if (this.queue.length === 0) return;
      this.deliver();
    }
    throw new Error(`network not quiet after ${roundsMax} rounds`);
  }

  /** `n` ticks of logical time for the given nodes, the network settling after each. */
  tick(ids: NodeId | readonly NodeId[], n = 1): void {
    const list = typeof ids === 'string' ? [ids] : ids;
    for (let i = 0; i < n; i++) {
      for (const id of list) this.core(id).tick();
      this.stabilize();
    }
  }

  /** Ticks only `id` until its election timeout fires, then lets the election run. */
  campaign(id: NodeId): void {
    const core = this.core(id);
    for (let i = 0; i <= 1_000 && core.status().role === 'follower'; i++) core.tick();
    this.stabilize();
  }

  /** Campaigns and asserts `id` won. */
  elect(id: NodeId): void {
    this.campaign(id);
    if (this.core(id).status().role !== 'leader') throw new Error(`${id} did not win its election`);
  }

  propose(id: NodeId, data: string, replication?: WriteReplication): ProposeResult & { id: number } {
    const writeId = ++this.writeId;
    const proposal = replication === undefined ? { id: writeId, data } : { id: writeId, data, replication };
    return { ...this.core(id).propose(proposal), id: writeId };
  }

  ack(id: NodeId, writeId: number): WriteAck | undefined {
    return this.host(id).acks.find((ack) => ack.id === writeId);
  }

  leaders(): NodeId[] {
    return this.ids.filter((id) => this.core(id).status().role === 'leader');
  }

  events<T extends CoreEventType>(type: T, id?: NodeId): Extract<CoreEvent, { type: T }>[] {
    const hosts = id === undefined ? [...this.hosts.values()] : [this.host(id)];
    return hosts.flatMap((host) => host.events.filter((e): e is Extract<CoreEvent, { type: T }> => e.type === type));
  }

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(`${a}>${b}`).add(`${b}>${a}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.ids) if (other !== id) this.cut(id, other);
  }

  /** Cuts every link between nodes of different groups. */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    for (const a of groups) for (const b of groups) if (a !== b) for (const x of a) for (const y of b) this.cut(x, y);
  }

  recover(): void {
    this.cuts.clear();
    this.drop = null;
  }
}

/** The (index, term) pairs of a log, for comparing logs at a glance. */
export function shape(entries: readonly Entry[]): string {
  return entries.map((e) => `${e.index}:${e.term}`).join(' ');
}
