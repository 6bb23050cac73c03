// Snapshots in a node process (issue 14): the host's side of what the core
// decides. The core says *when* (snapshotAt, snapshotTaken, compact,
// Ready.snapshot, the 'snapshot' message, reportSnapshot); cluster/snapshot/
// does the files and the bytes; this file wires the two together:
//
// - on start, `openNodeState`: finish an interrupted install, read the
//   snapshots, open the WAL and the store, put the newest snapshot back when
//   state.db is behind it and the WAL no longer covers the gap, align the log;
// - the policy (`SnapshotPolicy`): every `everyEntries` applied and committed
//   entries, one snapshot at a time, then compaction with a margin;
// - the leader streams its newest snapshot to a follower that needs compacted
//   entries, and hands the core's 'snapshot' message to the link once the
//   follower holds the file; the follower keeps the file until Ready.snapshot
//   names it and installs it before the rest of that Ready.

import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { CorruptStateError } from './corrupt.js';
import { join } from 'node:path';
import type { Entry, Message, NodeId, RaftCore, SnapshotMeta } from '../core/index.js';
import { Invalid, type HostEvent, type SnapshotTelemetry } from '../protocol.js';
import { recordedWrites, Store } from '../store/index.js';
import { pendingRollbacks } from '../store/rollback.js';
import { openWal, type Recovery, type Wal } from '../wal/index.js';
import {
  alignLog,
  installSnapshot,
  openSnapshots,
  parseSnapshotFrame,
  recoverInstall,
  restoreSnapshot,
  SnapshotReceiver,
  SnapshotSender,
  takeSnapshot,
  type ReceivedSnapshot,
  type SavedSnapshot,
  type SnapshotFrame,
} from '../snapshot/index.js';
import { removeFile } from '../snapshot/files.js';
import { snapshotPolicyLimits } from '../snapshot/policy-limits.js';

/** When a node snapshots and how much WAL it keeps (Cluster.start's `snapshot` option). */
export interface SnapshotPolicy {
  /** Take a snapshot once this many entries are applied (and committed) past the last one; 0: only on request. */
  readonly everyEntries: number;
  /** Entries below the snapshot kept in the WAL, so a follower slightly behind catches up from the log (etcd's catch-up entries). */
  readonly retainEntries: number;
  /** The most WAL bytes the margin and lagging followers may keep (PostgreSQL's max_slot_wal_keep_size); null for no cap. */
  readonly retainBytes: number | null;
  /** Size of a WAL segment file: compaction deletes whole segments, so this is its granularity. */
  readonly segmentBytes: number;
  /** The least time between two snapshots `everyEntries` triggers (0: none), so heavy load does not snapshot every second. */
  readonly intervalMsMin: number;
}

/**
 * The defaults: a snapshot every 2,000 entries, 1,000 entries of margin, at
 * most 64 MiB of WAL kept for lagging followers, 1 MiB segments. The
 * dashboard's default load is 20 operations/s, half of them writes: about 10
 * entries/s, 6,000 in a 10-minute session, so the first snapshot comes after
 * about 3 minutes and three are taken in a session; at ~100 bytes an entry a
 * 1 MiB segment holds ~10,000 entries, so compaction frees whole segments
 * within a session of heavier load (`segmentBytes` is the unit it deletes).
 * Under heavy load 2,000 entries come every half second: at most one snapshot
 * per 30 s then (measured: at 4 clients, snapshots every 2,000 entries cost a
 * quarter of the throughput; `bench throughput` with and without them).
 */
export const snapshotPolicyDefault: SnapshotPolicy = { everyEntries: 2_000, retainEntries: 1_000, retainBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024, intervalMsMin: 30_000 };

export { snapshotPolicyLimits };

/** What is wrong with a policy (whole or partial), or null. */
export function snapshotPolicyProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'snapshot: expected an object { everyEntries, retainEntries, retainBytes, segmentBytes, intervalMsMin }';
  const v = value as Record<string, unknown>;
  const known = ['everyEntries', 'retainEntries', 'retainBytes', 'segmentBytes', 'intervalMsMin'];
  const unknown = Object.keys(v).filter((key) => !known.includes(key));
  if (unknown.length > 0) return `snapshot: unknown option ${unknown.join(', ')} (expected ${known.join(', ')})`;
  const L = snapshotPolicyLimits;
  const whole = (key: string, min: number, max: number, what: string): string | null => {
    const n = v[key];
    if (n === undefined) return null;
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max ? null : `snapshot.${key}: expected ${what} from ${min} to ${max}, got ${typeof n === 'number' ? String(n) : (JSON.stringify(n) ?? String(n))}`;
  };
  return (
    whole('everyEntries', 0, L.everyEntriesMax, 'a whole number of entries (0: only on request)') ??
    whole('retainEntries', 0, L.retainEntriesMax, 'a whole number of entries') ??
    (v.retainBytes === null ? null : whole('retainBytes', L.retainBytesMin, L.retainBytesMax, 'a whole number of bytes (or null for no cap)')) ??
    whole('segmentBytes', L.segmentBytesMin, L.segmentBytesMax, 'a whole number of bytes') ??
    whole('intervalMsMin', 0, L.intervalMsMinMax, 'a whole number of ms (0: none)')
  );
}

/** A policy from a partial one, defaults filled in; throws an Error naming the bad field. */
export function resolveSnapshotPolicy(value: Partial<SnapshotPolicy> | undefined): SnapshotPolicy {
  if (value === undefined) return snapshotPolicyDefault;
  const problem = snapshotPolicyProblem(value);
  if (problem !== null) throw new Error(problem);
  return { ...snapshotPolicyDefault, ...value };
}

function retention(policy: SnapshotPolicy): { retainEntries: number; retainBytes: number } {
  return { retainEntries: policy.retainEntries, retainBytes: policy.retainBytes ?? Number.POSITIVE_INFINITY };
}

// ---------------------------------------------------------------------------
// Start

export interface OpenedState {
  readonly wal: Wal;
  readonly recovery: Recovery;
  readonly store: Store;
  /** The newest usable snapshot; its meta is the core's InitialState.snapshot. */
  readonly snapshot: SavedSnapshot | null;
  /** The durable log after the snapshot (from index 1 without one). */
  readonly entries: Entry[];
  readonly appliedIndex: number;
  /** What start had to do: finish an install, restore a snapshot, rebuild the state. */
  readonly events: readonly HostEvent[];
}

/**
 * Opens a node's WAL, snapshots and store, consistent with each other:
 * recoverInstall, openSnapshots, the WAL, Store.open; then, with a snapshot,
 * state.db goes back to it (restoreSnapshot) when it is behind it, or has
 * applied entries the log does not hold, and the log is aligned to it.
 */
export function openNodeState(options: { id: NodeId; dataDir: string; fsync: boolean; allowNondeterministic: boolean; policy: SnapshotPolicy; log: (line: string) => void }): OpenedState {
  const { id, dataDir: nodeDir, fsync, policy, log } = options;
  const events: HostEvent[] = [];
  const recovered = recoverInstall(nodeDir, log, { fsync });
  if (recovered.action === 'completed') {
    events.push({ type: 'state-rebuilt', node: id, reason: `finished installing the snapshot at index ${recovered.meta.index} that a crash interrupted`, appliedIndex: recovered.meta.index });
  }
  const { snapshots } = openSnapshots(nodeDir, log);
  const snapshot = snapshots[0] ?? null;
  const { wal, recovery, entries: walEntries, base } = openWal({ dir: nodeDir, fsync, segmentBytesMax: policy.segmentBytes });
  const openStore = (): Store => Store.open({ dir: nodeDir, allowNondeterministic: options.allowNondeterministic });
  let store = openStore();
  try {
    const firstIndex = walEntries[0]?.index ?? wal.lastIndex() + 1;
    // state.db applied entries the log no longer holds: refuse (or, after a machine restart with fsync off, say why it is rebuilt).
    const lostEntries = (applied: number, term: number): string => {
      const lsnBefore = (index: number): number => (index <= base.index ? base.lsn : (walEntries[index - 1 - firstIndex]?.lsn ?? base.lsn));
      const segment = lastSegment(nodeDir);
      const offset = segment === null || wal.lastIndex() < segment.firstIndex ? 0 : lsnBefore(wal.lastIndex() + 1) - lsnBefore(segment.firstIndex);
      return refuseLostEntries({ nodeDir, fsync, logLast: wal.lastIndex(), applied, term, segment: segment?.name ?? '(none)', offset });
    };
    if (snapshot === null) {
      if (firstIndex > 1) {
        throw new Error(
          `${nodeDir}: the WAL begins at index ${firstIndex} (compacted) but no usable snapshot is left in ${join(nodeDir, 'snapshots')}; the state cannot be rebuilt: move ${nodeDir} away so the node is rebuilt from the leader`,
        );
      }
      const appliedIndex = reconcileWithLog(store, walEntries, id, events, lostEntries);
      recordBoot(nodeDir);
      return { wal, recovery, store, snapshot, entries: walEntries, appliedIndex, events };
    }
    const meta = snapshot.meta;
    if (firstIndex - 1 > meta.index) {
      throw new Error(`${nodeDir}: the WAL begins at index ${firstIndex}, after the newest usable snapshot (index ${meta.index}); entries between them are lost: move ${nodeDir} away so the node is rebuilt from the leader`);
    }
    const applied = store.appliedIndex();
    // Past the snapshot and past the log's end: entries the log made durable before they were applied are gone,
    // unless a rollback a crash interrupted explains it (its record is durable before the log is cut; restored below).
    const interrupted = (): boolean => pendingRollbacks(nodeDir, { index: applied, term: store.appliedTerm() }, () => false).length > 0;
    const lostReason = applied > meta.index && applied > wal.lastIndex() && !interrupted() ? lostEntries(applied, store.appliedTerm()) : '';
    const termOf = (index: number): number => (index === meta.index ? meta.term : (walEntries[index - firstIndex]?.term ?? -1));
    const inLog = applied >= meta.index && applied <= wal.lastIndex() && termOf(applied) === store.appliedTerm();
    const sameAsSnapshot = applied === meta.index && store.appliedTerm() === meta.term;
    if (!inLog && !sameAsSnapshot) {
      // Behind the snapshot (the log may no longer hold the gap), or ahead on entries the log lost: the snapshot, then the log.
      store.close();
      restoreSnapshot({ nodeDir, snapshot, fsync });
      store = openStore();
      const reason =
        applied < meta.index
          ? `state.db had applied index ${applied}, behind the snapshot at ${meta.index}`
          : `state.db had applied index ${applied} (term ${store.appliedTerm()}), which the log does not hold${lostReason}`;
      events.push({ type: 'state-rebuilt', node: id, reason: `${reason}: restored the snapshot, the log after it replays`, appliedIndex: meta.index });
    }
    const aligned = alignLog(wal, meta, retention(policy));
    const entries = aligned === 'restarted' ? [] : walEntries.filter((entry) => entry.index > meta.index && entry.index <= wal.lastIndex());
    recordBoot(nodeDir);
    return { wal, recovery, store, snapshot, entries, appliedIndex: Math.max(meta.index, store.appliedIndex()), events };
  } catch (error) {
    store.close();
    void wal.close();
    throw error;
  }
}

/**
 * Without a snapshot: a rollback a crash interrupted is completed from its
 * durable record; then a state.db ahead of its repaired WAL is rebuilt from
 * the log (index 1 on). (With a snapshot, such a state is restored from the
 * snapshot and the log after it, and the record stays as it was written.)
 */
function reconcileWithLog(store: Store, entries: readonly Entry[], id: NodeId, events: HostEvent[], lostEntries: (applied: number, term: number) => string): number {
  const resumed = store.finishInterruptedRollback(entries);
  if (resumed !== null) {
    events.push({ type: 'state-rebuilt', node: id, reason: `a crash interrupted the rollback recorded in ${resumed.path}; completed it`, appliedIndex: store.appliedIndex() });
    // The crash came before the rollback was reported: reported now, so the supervisor counts the lost writes among them.
    events.push({ type: 'rollback-written', node: id, path: resumed.path, writes: recordedWrites(resumed) });
  }
  const applied = store.appliedIndex();
  const inLog = applied <= entries.length && (applied === 0 || entries[applied - 1]!.term === store.appliedTerm());
  if (inLog) return applied;
  const lostReason = applied > entries.length ? lostEntries(applied, store.appliedTerm()) : '';
  let kept = Math.min(applied, entries.length);
  while (kept > 0 && entries[kept - 1]!.term > store.appliedTerm()) kept--;
  store.rebuild(entries.slice(0, kept));
  events.push({ type: 'state-rebuilt', node: id, reason: `state.db had applied index ${applied}, the log holds ${entries.length} entries${lostReason}`, appliedIndex: kept });
  return kept;
}

/**
 * State.db applied up to `applied`, but the log ends at `logLast` (and no
 * snapshot covers the gap). A node applies only entries its log holds
 * (flushed, with fsync on; written to the page cache, with it off) and a
 * rollback record is durable before the log is cut, so the log lost its end:
 * a zeroed or cut last segment reads like a clean end, and entries this node
 * acknowledged may be among the lost. Throws CorruptStateError (the node
 * refuses to start, as for corruption in the middle). The one exception: with
 * fsync off, after the machine restarted (another boot id than at the node's
 * last start, or none recorded), a log behind state.db is what fsync off
 * promises after a machine crash: then the reason to add to the state-rebuilt
 * event is returned, and the state is rebuilt from the log as before.
 */
function refuseLostEntries(o: { nodeDir: string; fsync: boolean; logLast: number; applied: number; term: number; segment: string; offset: number }): string {
  if (!o.fsync && machineRestarted(o.nodeDir)) {
    return ` (fsync is off and the machine restarted since the node last started: the log's unsynced end was lost, as fsync off allows)`;
  }
  throw new CorruptStateError(
    `corrupt WAL: segment ${o.segment}, offset ${o.offset}: the log ends at index ${o.logLast} but state.db applied up to index ${o.applied} (term ${o.term}): ` +
      `entries ${o.logLast + 1}..${o.applied} were in the log before they were applied and are gone (its end was zeroed, cut or removed); ` +
      `they may be committed, so the node does not start; rebuild it from the others (restart with { rebuild: true }, or :rebuild in the dashboard)`,
    { segment: o.segment, offset: o.offset, index: o.logLast + 1, reason: 'log-behind-state' },
  );
}

/** The WAL's last segment file (name and the index it is named for), or null. */
function lastSegment(nodeDir: string): { name: string; firstIndex: number } | null {
  let names: string[];
  try {
    names = readdirSync(join(nodeDir, 'wal')).filter((name) => /^[0-9]{20}\.seg$/.test(name));
  } catch {
    return null;
  }
  const name = names.sort().at(-1);
  return name === undefined ? null : { name, firstIndex: Number(name.slice(0, 20)) };
}

/** `<node dir>/boot-id`: the machine's boot id when the node last started (fsync off: a restart of the machine may lose the log's end). */
export const bootIdFile = 'boot-id';

function currentBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

/** True unless the recorded boot id is this boot's (unknown counts as restarted: nothing says it did not). */
function machineRestarted(nodeDir: string): boolean {
  const now = currentBootId();
  if (now === null) return true;
  try {
    return readFileSync(join(nodeDir, bootIdFile), 'utf8').trim() !== now;
  } catch {
    return true;
  }
}

/** Notes this boot's id for the next start (not synced: after a machine crash, a lost or older id also reads as "restarted"). */
function recordBoot(nodeDir: string): void {
  const id = currentBootId();
  if (id === null) return;
  const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants;
  const fd = openSync(join(nodeDir, bootIdFile), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, `${id}\n`);
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------
// Running

export interface SnapshotHooks {
  core(): RaftCore;
  readonly wal: Wal;
  /** Closes the store, runs `fn` (state.db is replaced), reopens the store. */
  swapStore<T>(fn: () => T): T;
  /** A snapshot frame to a peer, over the direct link; false when the link dropped it. */
  sendFrame(to: NodeId, frame: SnapshotFrame): boolean;
  /** Raft messages to peers (the held 'snapshot' message, once its data is there). */
  sendRaft(messages: readonly Message[]): void;
  emit(event: HostEvent): void;
  /** A line for the node's log (stderr). */
  log(line: string): void;
  /** Runs the Ready loop (after the core was told something outside one). */
  drain(): void;
  isClosed(): boolean;
}

export type SnapshotNowResult = { ok: true; index: number; term: number; bytes: number; durationMs: number; walBytesRetained: number } | { ok: false; reason: 'refused' | 'busy'; message: string };

/** Transfers in progress from a leader at most: one per follower. */
const sendersMax = 99;
/** How long Cluster.snapshot waits for a follower to learn that what it applied is committed: several heartbeats. */
const COMMIT_WAIT_MS = 2_000;

export class NodeSnapshots {
  /** The newest snapshot on disk (taken or installed). */
  private latest: SavedSnapshot | null;
  private taking: Promise<SnapshotNowResult> | null = null;
  /** When `everyEntries` last started one (performance.now()); the first may come at once. */
  private lastAutomaticMs = Number.NEGATIVE_INFINITY;
  /** Bumped by every install or restore: a take that began before one is not trusted after it. */
  private generation = 0;
  private readonly senders = new Map<NodeId, { sender: SnapshotSender; meta: SnapshotMeta }>();
  private readonly receiver: SnapshotReceiver;
  /** Who the frames being handled came from: the receiver's answers go back there. */
  private replyTo: NodeId | null = null;
  /** A complete, verified file from the leader, kept until Ready.snapshot names its meta. */
  private received: (ReceivedSnapshot & { from: NodeId; stepped: boolean }) | null = null;
  private receivingFrom: NodeId | null = null;
  private closed = false;

  constructor(
    private readonly options: { id: NodeId; nodeDir: string; fsync: boolean; policy: SnapshotPolicy; latest: SavedSnapshot | null; hooks: SnapshotHooks; sender?: { ackTimeoutMs?: number; retriesMax?: number } },
  ) {
    this.latest = options.latest;
    const hooks = options.hooks;
    this.receiver = new SnapshotReceiver({
      nodeDir: options.nodeDir,
      fsync: options.fsync,
      send: (frame) => (this.replyTo === null ? false : hooks.sendFrame(this.replyTo, frame)),
      onReceived: (received) => this.onReceived(received),
      log: (line) => hooks.log(line),
    });
  }

  get policy(): SnapshotPolicy {
    return this.options.policy;
  }

  /**
   * A new policy from the supervisor (Cluster.setSnapshotPolicy; the segment
   * size stays). A lower cap compacts at once, as a reload of PostgreSQL's
   * max_slot_wal_keep_size takes effect at the next checkpoint. Returns what
   * is wrong with it, or null.
   */
  setPolicy(change: Omit<SnapshotPolicy, 'segmentBytes' | 'intervalMsMin'>): string | null {
    const problem = snapshotPolicyProblem(change);
    if (problem !== null) return problem;
    this.options.policy = { ...change, segmentBytes: this.options.policy.segmentBytes, intervalMsMin: this.options.policy.intervalMsMin };
    if (this.taking === null && !this.closed) this.compact();
    return null;
  }

  telemetry(): SnapshotTelemetry {
    const { wal } = this.options.hooks;
    return { index: this.latest?.meta.index ?? 0, walBytesRetained: wal.retainedBytes(), walFirstIndex: wal.firstIndex(), taking: this.taking !== null, sending: this.senders.size };
  }

  // --- taking ---------------------------------------------------------------

  /** After each Ready loop: a snapshot is due every `everyEntries` applied and committed entries. */
  maybeTake(): void {
    const every = this.options.policy.everyEntries;
    if (every === 0 || this.taking !== null || this.closed) return;
    const core = this.options.hooks.core();
    if (core.getAppliedIndex() - (this.latest?.meta.index ?? 0) < every) return;
    if (performance.now() - this.lastAutomaticMs < this.options.policy.intervalMsMin) return;
    if (this.takeProblem(core) !== null) return;
    // The floor counts from a snapshot that was taken: one that failed is tried again at the next loop.
    void this.take().then((result) => {
      if (result.ok) this.lastAutomaticMs = performance.now();
    });
  }

  /**
   * Cluster.snapshot: one now (or the one being taken). A follower learns
   * that what it applied is committed from the leader's next append or
   * heartbeat, so right after a burst of writes it waits for that (up to
   * COMMIT_WAIT_MS) rather than refusing a request that works a moment later.
   */
  async takeNow(): Promise<SnapshotNowResult> {
    const deadline = performance.now() + COMMIT_WAIT_MS;
    for (;;) {
      if (this.taking !== null) return this.taking;
      const core = this.options.hooks.core();
      const problem = this.takeProblem(core);
      if (problem === null) return this.take();
      if (!problem.commitLag || this.closed || performance.now() >= deadline) return { ok: false, reason: problem.reason, message: problem.message };
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Why a snapshot cannot be taken now, or null. */
  private takeProblem(core: RaftCore): { reason: 'refused' | 'busy'; message: string; commitLag?: true } | null {
    const { id } = this.options;
    const applied = core.getAppliedIndex();
    if (applied === 0) return { reason: 'refused', message: `${id} has applied nothing yet: there is no state to snapshot` };
    if (applied <= (this.latest?.meta.index ?? 0)) return { reason: 'refused', message: `${id} has applied nothing since its snapshot at index ${this.latest?.meta.index}` };
    // A follower applies entries it has flushed before it knows them committed: a snapshot holds committed entries only.
    if (applied > core.getCommitIndex()) return { reason: 'busy', message: `${id} has applied up to ${applied} but knows entries committed only up to ${core.getCommitIndex()}; retry in a moment`, commitLag: true };
    if (this.received !== null || this.receiver.busy) return { reason: 'busy', message: `${id} is receiving a snapshot from the leader` };
    return null;
  }

  /**
   * Takes a snapshot of state.db at its applied index (read synchronously as
   * the copy's read transaction starts: committed, checked above), tells the
   * core, compacts the WAL. One at a time.
   */
  private take(): Promise<SnapshotNowResult> {
    const { hooks, nodeDir, fsync, id } = this.options;
    const generation = this.generation;
    const taking = (async (): Promise<SnapshotNowResult> => {
      try {
        const taken = await takeSnapshot({ nodeDir, fsync, metaFor: (index) => hooks.core().snapshotAt(index) });
        if (this.closed || hooks.isClosed()) return { ok: false, reason: 'busy', message: `${id} is stopping` };
        const meta = taken.saved.meta;
        if (generation !== this.generation || (this.latest !== null && meta.index <= this.latest.meta.index)) {
          return { ok: false, reason: 'busy', message: `${id} installed a newer snapshot while this one was taken` };
        }
        hooks.core().snapshotTaken(meta);
        this.latest = taken.saved;
        const compacted = this.compact();
        hooks.emit({ type: 'snapshot-taken', node: id, index: meta.index, term: meta.term, bytes: taken.saved.bytes, durationMs: taken.durationMs, walBytesRetained: compacted.retainedBytes, walBytesRemoved: compacted.removedBytes });
        return { ok: true, index: meta.index, term: meta.term, bytes: taken.saved.bytes, durationMs: taken.durationMs, walBytesRetained: compacted.retainedBytes };
      } catch (error) {
        const message = `${id} could not take a snapshot: ${error instanceof Error ? error.message : String(error)}`;
        hooks.log(message);
        return { ok: false, reason: 'refused', message };
      }
    })();
    this.taking = taking.finally(() => {
      this.taking = null;
      if (!this.closed && !hooks.isClosed()) hooks.drain();
    });
    return this.taking;
  }

  /**
   * Deletes WAL segments the newest snapshot covers, keeping the margin and,
   * on a leader, what lagging followers still need (like a replication slot),
   * up to retainBytes. The core forgets the entries first.
   */
  private compact(): { retainedBytes: number; removedBytes: number } {
    const { hooks, policy } = this.options;
    const { wal } = hooks;
    const core = hooks.core();
    if (this.latest === null) return { retainedBytes: wal.retainedBytes(), removedBytes: 0 };
    const status = core.status();
    const needed = status.role === 'leader' ? Math.min(Number.POSITIVE_INFINITY, ...status.progress.map((p) => p.flushed + 1)) : Number.POSITIVE_INFINITY;
    const options = { snapshotIndex: Math.min(this.latest.meta.index, wal.lastIndex()), ...retention(policy), needed };
    const firstKept = wal.compactionPoint(options);
    // Only durable entries may be compacted (the core asserts it); the next snapshot compacts the rest.
    if (firstKept - 1 > core.getStableIndex()) return { retainedBytes: wal.retainedBytes(), removedBytes: 0 };
    if (firstKept > core.firstIndex()) core.compact(firstKept - 1);
    const result = wal.compact(options);
    return { retainedBytes: result.retainedBytes, removedBytes: result.removedBytes };
  }

  // --- leader: sending ----------------------------------------------------------------

  /**
   * The core's messages on their way out: a 'snapshot' message is held while
   * its data streams to the follower, then sent; the rest pass.
   */
  outgoing(messages: readonly Message[]): readonly Message[] {
    if (!messages.some((m) => m.type === 'snapshot')) return messages;
    const out: Message[] = [];
    for (const message of messages) {
      if (message.type === 'snapshot') this.send(message);
      else out.push(message);
    }
    return out;
  }

  private send(message: Extract<Message, { type: 'snapshot' }>): void {
    const { hooks, id } = this.options;
    const to = message.to;
    const running = this.senders.get(to);
    if (running !== undefined) {
      if (running.meta.index === message.meta.index && running.meta.term === message.meta.term) return;
      running.sender.abandon('a newer snapshot is to be sent');
    }
    const latest = this.latest;
    if (latest === null || latest.meta.index !== message.meta.index || latest.meta.term !== message.meta.term || this.senders.size >= sendersMax) {
      const reason = latest === null ? 'this node has no snapshot on disk' : `the core asked for the snapshot at ${message.meta.index}, the newest on disk is at ${latest.meta.index}`;
      hooks.emit({ type: 'snapshot-failed', node: id, to, index: message.meta.index, reason });
      queueMicrotask(() => this.report(to, false));
      return;
    }
    const sender = new SnapshotSender({ snapshot: latest, send: (frame) => hooks.sendFrame(to, frame), ...this.options.sender });
    const entry = { sender, meta: latest.meta };
    this.senders.set(to, entry);
    const term = message.term;
    sender.start().then(
      (result) => {
        if (this.senders.get(to) === entry) this.senders.delete(to);
        if (this.closed || hooks.isClosed()) return;
        const core = hooks.core();
        // The follower holds the data: the core's message may go (only while this leadership lasts).
        if (core.getRole() === 'leader' && core.getTerm() === term) {
          hooks.sendRaft([message]);
          hooks.emit({ type: 'snapshot-sent', node: id, to, index: message.meta.index, term: message.meta.term, bytes: result.bytes, durationMs: result.durationMs, rewinds: result.rewinds });
        }
        this.report(to, true);
      },
      (error: unknown) => {
        if (this.senders.get(to) === entry) this.senders.delete(to);
        if (this.closed || hooks.isClosed()) return;
        const reason = error instanceof Error ? error.message : String(error);
        hooks.log(`snapshot to ${to}: ${reason}`);
        hooks.emit({ type: 'snapshot-failed', node: id, to, index: message.meta.index, reason: reason.slice(0, 500) });
        this.report(to, false);
      },
    );
  }

  private report(to: NodeId, ok: boolean): void {
    const { hooks } = this.options;
    if (this.closed || hooks.isClosed()) return;
    hooks.core().reportSnapshot(to, ok);
    hooks.drain();
  }

  /** After each Ready loop: a node that no longer leads stops its transfers. */
  afterReady(): void {
    // The core took the message without installing (its log or snapshot already covered it): the file is not needed.
    if (this.received?.stepped === true) {
      removeQuietly(this.received.file);
      this.received = null;
    }
    if (this.senders.size === 0) return;
    if (this.options.hooks.core().getRole() === 'leader') return;
    for (const { sender } of [...this.senders.values()]) sender.abandon('this node no longer leads');
  }

  // --- both: frames from peers ----------------------------------------------------------

  /** A frame from a peer's direct link whose type is a snapshot frame's: checked, then to the sender or the receiver. */
  onFrame(from: NodeId, value: unknown): void {
    if (this.closed) return;
    const frame = parseSnapshotFrame(value);
    if (frame instanceof Invalid) {
      this.options.hooks.log(`${from}: snapshot frame dropped: ${frame.reason}`);
      return;
    }
    const sending = this.senders.get(from);
    if (frame.type === 'snap-ack' || frame.type === 'snap-done' || (frame.type === 'snap-abort' && sending?.sender.transfer === frame.transfer)) {
      sending?.sender.onFrame(frame);
      return;
    }
    if (frame.type === 'snap-begin') {
      if (this.receivingFrom !== null && this.receivingFrom !== from) this.receiver.abandon(`${from} began another transfer`);
      this.receivingFrom = from;
    }
    this.replyTo = from;
    try {
      this.receiver.onFrame(value);
    } finally {
      this.replyTo = null;
    }
  }

  // --- follower: installing ----------------------------------------------------------------

  private onReceived(received: ReceivedSnapshot): void {
    const from = this.receivingFrom ?? this.replyTo;
    if (from === null) return;
    // One file kept at most: a newer one replaces it.
    if (this.received !== null && this.received.file !== received.file) removeQuietly(this.received.file);
    this.received = { ...received, from, stepped: false };
  }

  /**
   * A 'snapshot' message from the leader may be stepped only when this node
   * holds its data (else the core would install a state the host cannot
   * produce); without it the message is dropped, the leader finds the
   * follower still behind and sends the snapshot again.
   */
  accepts(message: Extract<Message, { type: 'snapshot' }>): boolean {
    const r = this.received;
    const ok = r !== null && r.from === message.from && sameMeta(r.meta, message.meta) && existsSync(r.file);
    if (ok) r.stepped = true;
    return ok;
  }

  /**
   * Ready.snapshot: the received file becomes state.db (crash-safe, see
   * cluster/snapshot/install.ts) and the WAL agrees with it, before anything
   * else in that Ready.
   */
  install(meta: SnapshotMeta): void {
    const { hooks, nodeDir, fsync, id, policy } = this.options;
    const received = this.received;
    if (received === null || !sameMeta(received.meta, meta)) {
      throw new Error(`assertion failed: ${id} was told to install the snapshot at ${meta.index} (term ${meta.term}) but holds no such file`);
    }
    this.received = null;
    this.generation++;
    const installed = hooks.swapStore(() => installSnapshot({ nodeDir, file: received.file, meta, bytes: received.bytes, sha256: received.sha256, fsync, step: installStepHook(id) }));
    const aligned = alignLog(hooks.wal, meta, retention(policy));
    this.latest = installed.saved;
    hooks.emit({
      type: 'snapshot-installed',
      node: id,
      from: received.from,
      index: meta.index,
      term: meta.term,
      bytes: installed.bytes,
      durationMs: received.durationMs + installed.durationMs,
      installMs: installed.durationMs,
      log: aligned,
    });
  }

  /**
   * A rollback once the log no longer starts at index 1: the undone entries
   * are written down, the newest snapshot (committed, so at or below what is
   * kept) is put back and the log from it to `keepTo` replayed.
   */
  /**
   * Rolls the state back to `keepTo` once the log is compacted (it no longer
   * replays from index 1): the newest snapshot, then the log after it. The host
   * wrote the rollback file (the record of what is undone) before this.
   */
  rollBack(keepTo: number, apply: (store: Store, entries: readonly Entry[]) => void, store: () => Store): void {
    const { hooks, nodeDir, fsync, id } = this.options;
    const latest = this.latest;
    if (latest === null || latest.meta.index > keepTo) {
      throw new Error(`assertion failed: ${id} must roll back to ${keepTo}, below its snapshot at ${latest?.meta.index ?? 'none'} and its compacted log`);
    }
    this.generation++;
    hooks.swapStore(() => restoreSnapshot({ nodeDir, snapshot: latest, fsync }));
    if (keepTo > latest.meta.index) apply(store(), hooks.core().entries(latest.meta.index + 1, keepTo + 1));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { sender } of this.senders.values()) sender.abandon('the node is stopping');
    this.senders.clear();
    this.receiver.close();
  }
}

function sameMeta(a: SnapshotMeta, b: SnapshotMeta): boolean {
  return a.index === b.index && a.term === b.term && a.lsn === b.lsn;
}

function removeQuietly(file: string): void {
  try {
    removeFile(file);
  } catch {
    // Already gone; openSnapshots removes a leftover on the next start anyway.
  }
}

/**
 * Test hook: `REPLICA_LAB_TEST_CRASH_INSTALL=<node>:<step>` makes that node's
 * process exit at once (as a SIGKILL would) before that step of an install,
 * so a test can crash it at a chosen point. Read once, at start.
 */
const crashAt = parseCrashHook(process.env['REPLICA_LAB_TEST_CRASH_INSTALL']);

function parseCrashHook(value: string | undefined): { node: string; step: string } | null {
  const match = value === undefined ? null : /^(n[1-9][0-9]?):(verify|intent|keep|clear|swap|finish)$/.exec(value);
  return match === null ? null : { node: match[1]!, step: match[2]! };
}

function installStepHook(id: NodeId): ((step: string) => void) | undefined {
  if (crashAt === null || crashAt.node !== id) return undefined;
  return (step) => {
    if (step === crashAt.step) {
      process.stderr.write(`${id}: REPLICA_LAB_TEST_CRASH_INSTALL: exiting before the install's ${step} step\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  };
}
