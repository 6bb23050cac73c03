// Every message a node receives or sends, as one discriminated union per
// direction, and the validators that guard both ends: a malformed message is
// reported as a reason string and dropped by the caller, never trusted and
// never allowed to crash a process. Three channels carry them (see
// cluster/node/README.md): the supervisor's IPC channel (control, link rules,
// telemetry, events), peer connections on the nodes' sockets (Raft messages),
// and client connections on the same sockets (execute, query, replies).

import type {
  AckLevel,
  ConfChange,
  Membership,
  CoreEvent,
  Entry,
  EntryKind,
  Message,
  NodeId,
  Positions,
  ReplicationMode,
  Role,
  SnapshotMeta,
  SyncFallback,
  VoteDenial,
  WriteReplication,
} from './core/index.js';
import { clockRateMax, clockRateMin, nodeFaultMsMax } from './fault-limits.js';
import { isWellFormed, peerPositionMax } from './limits.js';
import type { ElectionTimer, MessageReport } from './message-report.js';
import { clientBytesMax, recordBytesMax, recordHeaderBytes } from './wal/constants.js';

/** A statement parameter: JSON scalars only, so every replica binds the same value. */
export type Param = string | number | null;

/** The replication settings as people give them (milliseconds, not ticks). */
export interface ReplicationSettings {
  readonly mode: ReplicationMode;
  readonly ackLevel: AckLevel;
  readonly quorum: number | null;
  readonly syncStandbys: readonly NodeId[] | null;
  readonly syncTimeoutMs: number | null;
  readonly syncFallback: SyncFallback;
}

/** `local`: the node as it is; `linearizable`: ReadIndex on the leader; `lease`: on the leader's lease (no round trip), ReadIndex when it has none. */
export type Consistency = 'local' | 'linearizable' | 'lease';
export { clockRateMin, clockRateMax, nodeFaultMsMax };

export type TraceAction = 'arm' | 'report' | 'disarm';

export type ErrorKind = 'not-leader' | 'timeout' | 'unavailable' | 'bad-statement';

/**
 * Why a request failed, as data: callers match on this, never on the message.
 * Each reason says whether the request may have reached a log (see
 * reachedLog in cluster/supervisor/errors.ts).
 */
export const errorReasons = [
  /** This node does not lead; `leader` names who does, if it knows. Nothing was proposed. */
  'not-leader',
  /** No leader was known before the deadline. Nothing was sent. */
  'no-leader',
  /** No answer in time: a write may still commit. */
  'timeout',
  /** The node is not running. Nothing was sent. */
  'down',
  /** The node's process or connection went away with the request: a write may have reached its log. */
  'node-died',
  /** The cluster is stopping or stopped. */
  'stopped',
  /** Too many requests waiting at the node or the connection. Nothing was proposed. */
  'busy',
  /** The leader is handing over leadership. Nothing was proposed. */
  'transfer-in-progress',
  /** The node lost leadership as the write arrived. Nothing was proposed. */
  'leadership-lost',
  /** The leader stepped down after proposing the write (`index` is set): it may still commit. */
  'stepped-down',
  /** The statement was refused before it reached a log. */
  'bad-statement',
  /** The write committed (`index` is set) but failed on every node. */
  'apply-failed',
  /** A linearizable read could not be served. */
  'read-unavailable',
  /** A control request was refused (a transfer, a replication change). */
  'refused',
  /** A reply that did not parse. */
  'malformed-reply',
  /** A membership change was refused for now: another is uncommitted, or the leader has not committed an entry of its term yet. Nothing was proposed. */
  'change-in-progress',
] as const;
export type ErrorReason = (typeof errorReasons)[number];

/** The kind (and so the error class) of each reason. */
export function errorKind(reason: ErrorReason): ErrorKind {
  switch (reason) {
    case 'not-leader':
      return 'not-leader';
    case 'timeout':
      return 'timeout';
    case 'bad-statement':
    case 'apply-failed':
      return 'bad-statement';
    case 'no-leader':
    case 'down':
    case 'node-died':
    case 'stopped':
    case 'busy':
    case 'transfer-in-progress':
    case 'leadership-lost':
    case 'stepped-down':
    case 'read-unavailable':
    case 'refused':
    case 'malformed-reply':
    case 'change-in-progress':
      return 'unavailable';
  }
}

export function errorPayload(reason: ErrorReason, message: string, at: { index?: number | null; leader?: NodeId | null } = {}): ErrorPayload {
  return { kind: errorKind(reason), reason, message, leader: at.leader ?? null, index: at.index ?? null };
}

export interface ErrorPayload {
  readonly kind: ErrorKind;
  readonly reason: ErrorReason;
  readonly message: string;
  /** With not-leader: who leads, if this node knows. */
  readonly leader: NodeId | null;
  /** Set when the write reached the log (it may still commit, or did and failed to apply). */
  readonly index: number | null;
}

/**
 * One directed link's fault rule, as the supervisor (the network's control
 * plane) pushes it to the nodes. The sender applies it to its egress; the
 * receiver applies `cut` to its ingress too, so a message already on the way
 * when a cut is made is not delivered after it.
 */
export interface LinkRule {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly cut: boolean;
  readonly delayMs: number;
  /** Extra delay drawn uniformly from [0, jitterMs] per message; it reorders messages. */
  readonly jitterMs: number;
  /** Probability from 0 to 1 that a message is dropped. */
  readonly loss: number;
  /** Probability from 0 to 1 that a message is sent twice. */
  readonly duplicate: number;
}

/**
 * Node-level faults, as the supervisor pushes them to one node: its WAL's
 * fsync takes `diskSlowMs` longer, each entry it applies `applySlowMs`
 * longer. 0 is normal.
 */
export interface NodeFaults {
  readonly diskSlowMs: number;
  readonly applySlowMs: number;
}


/** The first frame on every socket connection: who connects, and the cluster's secret. */
export interface Hello {
  readonly type: 'hello';
  readonly secret: string;
  readonly from: NodeId | 'client';
}

// ---------------------------------------------------------------------------
// To a node: control over IPC, Raft messages from peers, requests from clients

export type ToNode =
  | { readonly type: 'raft'; readonly messages: readonly Message[] }
  | {
      readonly type: 'execute';
      readonly id: number;
      readonly sql: string;
      readonly params: readonly Param[];
      readonly replication: WriteReplication | null;
      readonly client: string | null;
      readonly request: number | null;
    }
  | {
      readonly type: 'query';
      readonly id: number;
      readonly sql: string;
      readonly params: readonly Param[];
      readonly consistency: Consistency;
      /** A follower read waits until it has applied this far (read-your-writes); 0 = no wait. */
      readonly minIndex: number;
      readonly timeoutMs: number;
    }
  | { readonly type: 'promote'; readonly id: number }
  | { readonly type: 'transfer'; readonly id: number; readonly target: NodeId }
  | { readonly type: 'set-replication'; readonly id: number; readonly replication: Partial<ReplicationSettings> }
  | { readonly type: 'checksum'; readonly id: number }
  /** `trace`: arm a tag before the traced write (it travels as the write's client id), report what was stamped, disarm. */
  | { readonly type: 'trace'; readonly id: number; readonly action: TraceAction; readonly tag: string }
  /** Take a snapshot now (Cluster.snapshot): the reply says its index and size, or why not. */
  | { readonly type: 'snapshot'; readonly id: number }
  /** A single-server membership change, proposed at the leader; answered once it commits. */
  | { readonly type: 'conf-change'; readonly id: number; readonly change: ConfChange }
  /** Every node of the cluster whose socket this node may connect to and accept (membership changes add and remove them). */
  | { readonly type: 'peers'; readonly nodes: readonly NodeId[] }
  /** The snapshot policy now (Cluster.setSnapshotPolicy): when to snapshot and how much WAL to keep; the segment size stays what the node started with. */
  | { readonly type: 'snapshot-policy'; readonly everyEntries: number; readonly retainEntries: number; readonly retainBytes: number | null }
  /** The whole rule table; each node keeps the rules of its own links. */
  | { readonly type: 'links'; readonly rules: readonly LinkRule[] }
  /** The clock fault: the node's tick timer runs at `rate` times real speed (1 restores it). */
  | { readonly type: 'clock'; readonly rate: number }
  /** This node's own faults (slow disk, slow apply), the whole set each time. */
  | ({ readonly type: 'node-faults' } & NodeFaults)
  | { readonly type: 'stop' }
  /** Everything for one node from one turn of the supervisor's event loop, in order. */
  | { readonly type: 'batch'; readonly messages: readonly ToNode[] };

// ---------------------------------------------------------------------------
// From a node: telemetry, events and control replies over IPC; replies to clients on their connections

export interface FollowerTelemetry {
  readonly id: NodeId;
  readonly positions: Positions;
  readonly lsn: { readonly received: number; readonly flushed: number; readonly applied: number };
  /** Age of the oldest entry the follower has not yet received / flushed / applied; 0 when caught up. */
  readonly writeLagMs: number;
  readonly flushLagMs: number;
  readonly replayLagMs: number;
  readonly lagEntries: number;
  readonly lagBytes: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly inflight: number;
  readonly active: boolean;
}

export interface NodeTelemetry {
  readonly id: NodeId;
  readonly pid: number;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly lastLsn: number;
  readonly flushedIndex: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** This node's own flushed and applied positions as lsn. */
  readonly flushedLsn: number;
  readonly appliedLsn: number;
  readonly degraded: boolean;
  readonly replication: ReplicationSettings;
  /** On the leader: one row per follower. */
  readonly followers: readonly FollowerTelemetry[];
  readonly checksum: { readonly index: number; readonly value: string } | null;
  readonly malformedMessages: number;
  readonly rssBytes: number;
  /** This node's WAL since it started, as PostgreSQL's pg_stat_wal counts it. */
  readonly wal: WalTelemetry;
  readonly network: NetworkTelemetry;
  /** Set once an error of the node's environment has stopped it (see Wedged); it then only reports and refuses. */
  readonly wedged: Wedged | null;
  /** The first statement of the last batch of entries the node began to apply, with its index (for a node that stops answering). */
  readonly lastStatement: { readonly index: number; readonly sql: string } | null;
  /** The clock fault's rate (1: normal); absent from nodes that predate it. */
  readonly clockRate?: number;
  /** On a leader holding a lease: how long it still holds, by its own clock (ms); else 0. */
  readonly leaseMs?: number;
  readonly atMs: number;
  /** How far this node's election timer has run (cluster/message-report.ts). */
  readonly election: ElectionTimer;
  /** The configuration in force on this node: the latest in its log (voters and learners). */
  readonly membership: Membership;
  /** The Raft messages it sent and received since its last report; set by the node process, not the host. */
  readonly messages?: MessageReport;
  /** Snapshots and compaction (cluster/node/snapshots.ts); absent from nodes of an older build. */
  readonly snapshot?: SnapshotTelemetry;
}

/** A node's snapshot and the WAL it keeps (issue 14). */
export interface SnapshotTelemetry {
  /** Index of its newest snapshot (taken or installed); 0 when it has none. */
  readonly index: number;
  /** Bytes of WAL records it keeps on disk (compaction lowers it, as PostgreSQL's retained WAL). */
  readonly walBytesRetained: number;
  /** First index its WAL still holds. */
  readonly walFirstIndex: number;
  /** Whether a snapshot is being taken right now. */
  readonly taking: boolean;
  /** Transfers to followers in progress (leader). */
  readonly sending: number;
}

/**
 * Why a node cannot make progress: state.db failed with an error of its
 * environment (disk, memory, lock, database file), the WAL could not be
 * written or synced, or the disk is full. The node keeps its process and its
 * reports, and refuses requests with the reason, until it is restarted.
 */
export interface Wedged {
  readonly reason: string;
  /** The statement it was applying when it stopped, when one was. */
  readonly statement: string | null;
}

/** This node's side of the network since it started: its egress, and connections it refused. */
export interface NetworkTelemetry {
  /** Raft messages handed to a peer's socket. */
  readonly delivered: number;
  /** Raft messages lost: cut, lossy link, full outbox, peer unreachable, or cut on ingress. */
  readonly dropped: number;
  /** Raft messages held back by a delay rule. */
  readonly delayed: number;
  /** Connections refused at the handshake (wrong secret, unknown peer, no hello). */
  readonly refused: number;
}

/** Running totals since the node process started (wal_bytes, wal_sync, wal_sync_time). */
export interface WalTelemetry {
  readonly bytes: number;
  readonly fsyncs: number;
  /** Time spent in those fsyncs, in milliseconds. */
  readonly fsyncMs: number;
}

export interface RolledBackWrite {
  readonly index: number;
  readonly term: number;
  readonly kind: EntryKind;
  readonly sql: string | null;
}

/** Events only a node host knows of (the core knows nothing of files). */
export type HostEvent =
  | {
      readonly type: 'wal-recovered';
      readonly node: NodeId;
      readonly records: number;
      readonly lastIndex: number;
      readonly truncatedBytes: number;
      readonly problem: string | null;
    }
  | { readonly type: 'state-rebuilt'; readonly node: NodeId; readonly reason: string; readonly appliedIndex: number }
  | {
      readonly type: 'rollback-written';
      readonly node: NodeId;
      readonly path: string;
      readonly writes: readonly RolledBackWrite[];
    }
  | { readonly type: 'malformed-message'; readonly node: NodeId; readonly reason: string; readonly count: number }
  | { readonly type: 'connection-refused'; readonly node: NodeId; readonly reason: string; readonly count: number }
  | { readonly type: 'node-wedged'; readonly node: NodeId; readonly reason: string; readonly statement: string | null }
  /** A snapshot of this node's state was taken and its WAL compacted (walBytesRetained after it). */
  | { readonly type: 'snapshot-taken'; readonly node: NodeId; readonly index: number; readonly term: number; readonly bytes: number; readonly durationMs: number; readonly walBytesRetained: number; readonly walBytesRemoved: number }
  /** The leader streamed its snapshot to a follower that needed compacted entries. */
  | { readonly type: 'snapshot-sent'; readonly node: NodeId; readonly to: NodeId; readonly index: number; readonly term: number; readonly bytes: number; readonly durationMs: number; readonly rewinds: number }
  /** A leader's snapshot became this follower's state (durationMs: transfer and install; installMs: the install). */
  | { readonly type: 'snapshot-installed'; readonly node: NodeId; readonly from: NodeId; readonly index: number; readonly term: number; readonly bytes: number; readonly durationMs: number; readonly installMs: number; readonly log: 'kept' | 'restarted' }
  /** A snapshot transfer to a follower failed (it is retried). */
  | { readonly type: 'snapshot-failed'; readonly node: NodeId; readonly to: NodeId; readonly index: number; readonly reason: string }
  /** The node's WAL is damaged mid-log (a bad record, valid ones after it): it refused to start and exits with corruptExitCode. */
  | { readonly type: 'node-corrupt'; readonly node: NodeId; readonly segment: string; readonly offset: number; readonly index: number; readonly reason: string; readonly message: string }
  /** A rebuilt node's log reached the last position its old log held: it votes and campaigns again. */
  | { readonly type: 'node-rebuilt'; readonly node: NodeId; readonly index: number; readonly term: number };

/** The exit code of a node that refused to start because its WAL is corrupt (the supervisor shows it as `corrupt`). */
export const corruptExitCode = 3;

export type NodeEvent = CoreEvent | HostEvent;

export interface Reply {
  readonly type: 'reply';
  readonly id: number;
  readonly ok: boolean;
  readonly error: ErrorPayload | null;
  /** execute: { index, term }; query: { columns, rows, index, truncated }; checksum: { index, value }. */
  readonly result: Record<string, unknown> | null;
}

export type FromNode =
  | Reply
  | { readonly type: 'telemetry'; readonly telemetry: NodeTelemetry }
  | { readonly type: 'events'; readonly events: readonly { readonly atMs: number; readonly event: NodeEvent }[] }
  /** Everything one Ready loop produced, in order: one IPC message instead of many. */
  | { readonly type: 'batch'; readonly messages: readonly FromNode[] };

// ---------------------------------------------------------------------------
// Validation. Each validator returns the typed value or a string saying what
// is wrong; callers count and drop the message.

export class Invalid {
  constructor(readonly reason: string) {}
}

type Check<T> = (value: unknown, path: string) => T;

function fail(path: string, expected: string): never {
  throw new Invalid(`${path}: expected ${expected}`);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const str: Check<string> = (v, p) => (typeof v === 'string' ? v : fail(p, 'a string'));
const nodeId: Check<string> = (v, p) => (typeof v === 'string' && /^n[1-9][0-9]?$/.test(v) ? v : fail(p, 'a node id like n1'));
const bool: Check<boolean> = (v, p) => (typeof v === 'boolean' ? v : fail(p, 'a boolean'));
const count: Check<number> = (v, p) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(p, 'a whole number >= 0'));
const finite: Check<number> = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(p, 'a finite number'));
const nullable =
  <T>(check: Check<T>): Check<T | null> =>
  (v, p) =>
    v === null ? null : check(v, p);
const optional =
  <T>(check: Check<T>): Check<T | undefined> =>
  (v, p) =>
    v === undefined ? undefined : check(v, p);
const oneOf =
  <T extends string>(allowed: readonly T[]): Check<T> =>
  (v, p) =>
    typeof v === 'string' && (allowed as readonly string[]).includes(v) ? (v as T) : fail(p, allowed.join(' | '));
const arrayOf =
  <T>(check: Check<T>, max: number): Check<T[]> =>
  (v, p) => {
    if (!Array.isArray(v)) fail(p, 'an array');
    if (v.length > max) fail(p, `at most ${max} items`);
    return v.map((item, i) => check(item, `${p}[${i}]`));
  };
const field = (record: Record<string, unknown>, key: string): unknown => record[key];

const entryKinds: readonly EntryKind[] = ['sql', 'noop', 'config'];
const voteDenials: readonly VoteDenial[] = ['stale-term', 'already-voted', 'log-behind', 'leader-alive'];
const modes: readonly ReplicationMode[] = ['async', 'sync', 'quorum'];
const ackLevels: readonly AckLevel[] = ['received', 'flushed', 'applied'];
const fallbacks: readonly SyncFallback[] = ['block', 'async'];
const probability: Check<number> = (v, p) => (typeof v === 'number' && v >= 0 && v <= 1 ? v : fail(p, 'a probability from 0 to 1'));
const millis: Check<number> = (v, p) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 3_600_000 ? v : fail(p, 'milliseconds from 0 to 3600000'));

const linkRule: Check<LinkRule> = (v, p) => {
  if (!isRecord(v)) fail(p, 'a link rule');
  return {
    from: nodeId(field(v, 'from'), `${p}.from`),
    to: nodeId(field(v, 'to'), `${p}.to`),
    cut: bool(field(v, 'cut'), `${p}.cut`),
    delayMs: millis(field(v, 'delayMs'), `${p}.delayMs`),
    jitterMs: millis(field(v, 'jitterMs'), `${p}.jitterMs`),
    loss: probability(field(v, 'loss'), `${p}.loss`),
    duplicate: probability(field(v, 'duplicate'), `${p}.duplicate`),
  };
};

/** The first frame of a connection, or the reason it is refused. */
export function parseHello(value: unknown): Hello | Invalid {
  try {
    if (!isRecord(value) || field(value, 'type') !== 'hello') fail('first frame', 'a hello');
    const from = field(value, 'from');
    return { type: 'hello', secret: str(field(value, 'secret'), 'secret'), from: from === 'client' ? 'client' : nodeId(from, 'from') };
  } catch (error) {
    if (error instanceof Invalid) return error;
    throw error;
  }
}

/** Bounds on what one IPC message may carry, so a corrupt one cannot exhaust memory. */
export const ipcLimits = { messagesPerEnvelope: 100_000, entriesPerMessage: 100_000, params: 10_000 } as const;

/** A term or an index a peer names: a whole number below 2^40 (peerPositionMax). */
const position: Check<number> = (v, p) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= peerPositionMax ? v : fail(p, `a whole number from 0 to ${peerPositionMax} (peerPositionMax)`);
const isPosition = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= peerPositionMax;

/**
 * Bytes of an entry's record, as the core counts them into its lsn, or why
 * the entry cannot be one record the WAL accepts (text that is not
 * well-formed UTF-16, a client id or a record over the WAL's limits).
 */
function recordSize(e: Entry, at: () => string): number {
  if (!isWellFormed(e.data)) fail(`${at()}.data`, 'well-formed UTF-16 text (no lone surrogate)');
  let clientBytes = 0;
  if (e.client !== undefined) {
    if (!isWellFormed(e.client)) fail(`${at()}.client`, 'well-formed UTF-16 text (no lone surrogate)');
    clientBytes = Buffer.byteLength(e.client, 'utf8');
    if (clientBytes > clientBytesMax) fail(`${at()}.client`, `at most ${clientBytesMax} bytes`);
  }
  const bytes = recordHeaderBytes + e.kind.length + clientBytes + Buffer.byteLength(e.data, 'utf8');
  if (bytes > recordBytesMax) fail(at(), `an entry whose record is at most ${recordBytesMax} bytes (recordBytesMax), not ${bytes}`);
  return bytes;
}

const entry: Check<Entry> = (v, p) => {
  if (!isRecord(v)) fail(p, 'an entry');
  const index = position(field(v, 'index'), `${p}.index`);
  const term = position(field(v, 'term'), `${p}.term`);
  if (index < 1) fail(`${p}.index`, 'an index >= 1');
  const base = {
    index,
    term,
    lsn: count(field(v, 'lsn'), `${p}.lsn`),
    kind: oneOf(entryKinds)(field(v, 'kind'), `${p}.kind`),
    data: str(field(v, 'data'), `${p}.data`),
  };
  const client = optional(str)(field(v, 'client'), `${p}.client`);
  const request = optional(count)(field(v, 'request'), `${p}.request`);
  if (client === undefined) return base;
  return request === undefined ? { ...base, client } : { ...base, client, request };
};

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The entries of an append: the common case (every entry well formed) is
 * checked without building a path string per field, which cost more than
 * parsing the JSON; only a bad entry goes through `entry` for its message.
 */
const appendEntries: Check<Entry[]> = (v, p) => {
  if (!Array.isArray(v)) fail(p, 'an array');
  if (v.length > ipcLimits.entriesPerMessage) fail(p, `at most ${ipcLimits.entriesPerMessage} items`);
  const out: Entry[] = new Array<Entry>(v.length);
  for (let i = 0; i < v.length; i++) {
    const e: unknown = v[i];
    const ok =
      isRecord(e) &&
      isPosition(e['index']) &&
      e['index'] >= 1 &&
      isPosition(e['term']) &&
      isCount(e['lsn']) &&
      typeof e['kind'] === 'string' &&
      (entryKinds as readonly string[]).includes(e['kind']) &&
      typeof e['data'] === 'string' &&
      (e['client'] === undefined || typeof e['client'] === 'string') &&
      (e['request'] === undefined || isCount(e['request']));
    if (!ok) {
      entry(e, `${p}[${i}]`); // throws, naming the field
      fail(`${p}[${i}]`, 'an entry');
    }
    const [index, term, lsn, kind, data] = [e['index'] as number, e['term'] as number, e['lsn'] as number, e['kind'] as EntryKind, e['data'] as string];
    const client = e['client'] as string | undefined;
    const request = e['request'] as number | undefined;
    out[i] =
      client === undefined
        ? { index, term, lsn, kind, data }
        : request === undefined
          ? { index, term, lsn, kind, data, client }
          : { index, term, lsn, kind, data, client, request };
  }
  return out;
};

const positions: Check<Positions> = (v, p) => {
  if (!isRecord(v)) fail(p, 'positions');
  return {
    received: position(field(v, 'received'), `${p}.received`),
    flushed: position(field(v, 'flushed'), `${p}.flushed`),
    applied: position(field(v, 'applied'), `${p}.applied`),
  };
};

/**
 * What an append's entries must be, as far as the message itself tells:
 * contiguous after prevIndex; terms never below prevTerm, never decreasing,
 * never above the message's term (the leader's); each fits one WAL record;
 * and each lsn is the one before plus the entry's record size (the first
 * entry's lsn is the record size when prevIndex is 0; against the receiver's
 * own log it is checked by the host, see peerMessageProblem in node/host.ts).
 */
function checkAppendedEntries(entries: readonly Entry[], at: { prevIndex: number; prevTerm: number; term: number }, p: string): void {
  let term = at.prevTerm;
  let lsn = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    // The path is built only for an error: one per entry cost more than the checks.
    const path = (): string => `${p}[${i}]`;
    if (e.index !== at.prevIndex + i + 1) fail(`${path()}.index`, `index ${at.prevIndex + i + 1} (contiguous after prevIndex)`);
    if (e.term < term) fail(`${path()}.term`, `a term of at least ${term} (terms never decrease along the log)`);
    if (e.term > at.term) fail(`${path()}.term`, `a term not above the message's term ${at.term}`);
    term = e.term;
    const size = recordSize(e, path);
    if (!Number.isSafeInteger(e.lsn) || e.lsn < size) fail(`${path()}.lsn`, `an lsn of at least its record size ${size}`);
    if (i === 0 && at.prevIndex === 0 && e.lsn !== size) fail(`${path()}.lsn`, `lsn ${size} (the first entry's record size)`);
    if (i > 0 && e.lsn !== lsn + size) fail(`${path()}.lsn`, `lsn ${lsn + size} (the entry before's lsn ${lsn} plus its record size ${size})`);
    lsn = e.lsn;
  }
}

const raftTypes = oneOf(['vote', 'vote-resp', 'append', 'append-resp', 'heartbeat', 'heartbeat-resp', 'timeout-now', 'snapshot'] as const);
const voteDenial = nullable(oneOf(voteDenials));
const isNodeId = (v: unknown): v is string => typeof v === 'string' && /^n[1-9][0-9]?$/.test(v);
const isPositions = (v: unknown): v is Positions => isRecord(v) && isPosition(v['received']) && isPosition(v['flushed']) && isPosition(v['applied']);

/**
 * The messages of every write (an append and its answer, a heartbeat and
 * its answer), when well formed, checked without a path string per field: those
 * strings cost several times the JSON parse. Exactly the rules of the checks
 * in raftMessage below; a message that breaks one goes through them for its
 * error, and every other type always does.
 */
function wellFormedHotMessage(v: Record<string, unknown>, p: string): Message | null {
  const { type, from, to, term } = v;
  if (!isNodeId(from) || !isNodeId(to) || !isPosition(term)) return null;
  switch (type) {
    case 'append': {
      const { prevIndex, prevTerm, commit } = v;
      if (!isPosition(prevIndex) || !isPosition(prevTerm) || prevTerm > term || !isPosition(commit)) return null;
      // The entries' own checks build a path only for an error, and name the same path as below.
      const entries = appendEntries(v['entries'], `${p}.entries`);
      checkAppendedEntries(entries, { prevIndex, prevTerm, term }, `${p}.entries`);
      return { from, to, term, type, prevIndex, prevTerm, entries, commit };
    }
    case 'append-resp': {
      const { index, reject, hintIndex, hintTerm, positions } = v;
      if (!isPosition(index) || typeof reject !== 'boolean' || !isPosition(hintIndex) || !isPosition(hintTerm) || !isPositions(positions)) return null;
      return { from, to, term, type, index, reject, hintIndex, hintTerm, positions: { received: positions.received, flushed: positions.flushed, applied: positions.applied } };
    }
    case 'heartbeat': {
      const { commit, context } = v;
      return isPosition(commit) && isCount(context) ? { from, to, term, type, commit, context } : null;
    }
    case 'heartbeat-resp': {
      const { context, positions } = v;
      if (!isCount(context) || !isPositions(positions)) return null;
      return { from, to, term, type, context, positions: { received: positions.received, flushed: positions.flushed, applied: positions.applied } };
    }
    default:
      return null;
  }
}

/** One Raft message, checked field by field (entries included). */
export const raftMessage: Check<Message> = (v, p) => {
  if (!isRecord(v)) fail(p, 'a raft message');
  const hot = wellFormedHotMessage(v, p);
  if (hot !== null) return hot;
  const base = { from: nodeId(field(v, 'from'), `${p}.from`), to: nodeId(field(v, 'to'), `${p}.to`), term: position(field(v, 'term'), `${p}.term`) };
  const type = raftTypes(field(v, 'type'), `${p}.type`);
  switch (type) {
    case 'vote':
      return {
        ...base,
        type,
        pre: bool(field(v, 'pre'), `${p}.pre`),
        lastIndex: position(field(v, 'lastIndex'), `${p}.lastIndex`),
        lastTerm: position(field(v, 'lastTerm'), `${p}.lastTerm`),
        transfer: bool(field(v, 'transfer'), `${p}.transfer`),
      };
    case 'vote-resp':
      return {
        ...base,
        type,
        pre: bool(field(v, 'pre'), `${p}.pre`),
        granted: bool(field(v, 'granted'), `${p}.granted`),
        reason: voteDenial(field(v, 'reason'), `${p}.reason`),
      };
    case 'append': {
      const prevIndex = position(field(v, 'prevIndex'), `${p}.prevIndex`);
      const prevTerm = position(field(v, 'prevTerm'), `${p}.prevTerm`);
      if (prevTerm > base.term) fail(`${p}.prevTerm`, `a term not above the message's term ${base.term}`);
      const entries = appendEntries(field(v, 'entries'), `${p}.entries`);
      checkAppendedEntries(entries, { prevIndex, prevTerm, term: base.term }, `${p}.entries`);
      return { ...base, type, prevIndex, prevTerm, entries, commit: position(field(v, 'commit'), `${p}.commit`) };
    }
    case 'append-resp':
      return {
        ...base,
        type,
        index: position(field(v, 'index'), `${p}.index`),
        reject: bool(field(v, 'reject'), `${p}.reject`),
        hintIndex: position(field(v, 'hintIndex'), `${p}.hintIndex`),
        hintTerm: position(field(v, 'hintTerm'), `${p}.hintTerm`),
        positions: positions(field(v, 'positions'), `${p}.positions`),
      };
    case 'heartbeat':
      return { ...base, type, commit: position(field(v, 'commit'), `${p}.commit`), context: count(field(v, 'context'), `${p}.context`) };
    case 'heartbeat-resp':
      return { ...base, type, context: count(field(v, 'context'), `${p}.context`), positions: positions(field(v, 'positions'), `${p}.positions`) };
    case 'timeout-now':
      return { ...base, type };
    case 'snapshot':
      return { ...base, type, meta: snapshotMessageMeta(field(v, 'meta'), base.term, `${p}.meta`) };
  }
};

/** Members a snapshot's configuration may name: every node id n1..n99 once. */
const snapshotMembersMax = 99;

/**
 * The meta of an InstallSnapshot message: index and term from 1 (a snapshot
 * holds at least one entry), the term not above the message's (the leader's),
 * an lsn of at least a record header an entry, and a configuration with at
 * least one voter naming each node once.
 */
function snapshotMessageMeta(v: unknown, term: number, p: string): SnapshotMeta {
  if (!isRecord(v)) fail(p, 'a snapshot meta { index, term, lsn, membership }');
  const index = position(field(v, 'index'), `${p}.index`);
  const metaTerm = position(field(v, 'term'), `${p}.term`);
  if (index < 1) fail(`${p}.index`, 'an index >= 1');
  if (metaTerm < 1 || metaTerm > term) fail(`${p}.term`, `a term from 1 to the message's term ${term}`);
  const lsn = count(field(v, 'lsn'), `${p}.lsn`);
  if (lsn < index * recordHeaderBytes) fail(`${p}.lsn`, `an lsn of at least ${recordHeaderBytes} bytes an entry (${index * recordHeaderBytes})`);
  const membership = field(v, 'membership');
  if (!isRecord(membership)) fail(`${p}.membership`, 'a membership { voters, learners }');
  const voters = arrayOf(nodeId, snapshotMembersMax)(field(membership, 'voters'), `${p}.membership.voters`);
  const learners = arrayOf(nodeId, snapshotMembersMax)(field(membership, 'learners'), `${p}.membership.learners`);
  if (voters.length === 0) fail(`${p}.membership.voters`, 'at least one voter');
  const all = [...voters, ...learners];
  if (new Set(all).size !== all.length) fail(`${p}.membership`, 'each node once, as a voter or a learner');
  return { index, term: metaTerm, lsn, membership: { voters, learners } };
}

const param: Check<Param> = (v, p) => {
  if (v === null || typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  return fail(p, 'a string, a finite number or null');
};

const writeReplication: Check<WriteReplication> = (v, p) => {
  if (!isRecord(v)) fail(p, 'replication overrides');
  const mode = optional(oneOf(modes))(field(v, 'mode'), `${p}.mode`);
  const ackLevel = optional(oneOf(ackLevels))(field(v, 'ackLevel'), `${p}.ackLevel`);
  const quorum = optional(nullable(count))(field(v, 'quorum'), `${p}.quorum`);
  return { ...(mode === undefined ? {} : { mode }), ...(ackLevel === undefined ? {} : { ackLevel }), ...(quorum === undefined ? {} : { quorum }) };
};

const replicationChange: Check<Partial<ReplicationSettings>> = (v, p) => {
  if (!isRecord(v)) fail(p, 'replication settings');
  const out: { -readonly [K in keyof ReplicationSettings]?: ReplicationSettings[K] } = {};
  if (field(v, 'mode') !== undefined) out.mode = oneOf(modes)(field(v, 'mode'), `${p}.mode`);
  if (field(v, 'ackLevel') !== undefined) out.ackLevel = oneOf(ackLevels)(field(v, 'ackLevel'), `${p}.ackLevel`);
  if (field(v, 'quorum') !== undefined) out.quorum = nullable(count)(field(v, 'quorum'), `${p}.quorum`);
  if (field(v, 'syncStandbys') !== undefined) out.syncStandbys = nullable(arrayOf(nodeId, 64))(field(v, 'syncStandbys'), `${p}.syncStandbys`);
  if (field(v, 'syncTimeoutMs') !== undefined) out.syncTimeoutMs = nullable(count)(field(v, 'syncTimeoutMs'), `${p}.syncTimeoutMs`);
  if (field(v, 'syncFallback') !== undefined) out.syncFallback = oneOf(fallbacks)(field(v, 'syncFallback'), `${p}.syncFallback`);
  return out;
};

/**
 * The messages of an IPC message: the parts of a batch (at most the envelope
 * limit), or the message itself. Each part is then checked on its own, so one
 * malformed part never costs its neighbours.
 */
export function unbatch(value: unknown): readonly unknown[] {
  if (isRecord(value) && value['type'] === 'batch' && Array.isArray(value['messages'])) {
    return value['messages'].slice(0, ipcLimits.messagesPerEnvelope);
  }
  return [value];
}

/** Checks what a node receives; returns the message or the reason it was dropped. */
export function parseToNode(value: unknown): ToNode | Invalid {
  try {
    return toNode(value);
  } catch (error) {
    if (error instanceof Invalid) return error;
    throw error;
  }
}

/** Nodes a 'peers' message may name: n1..n99 at most (a configuration holds at most 9 at a time). */
const peersMax = 99;
const confChangeTypes = ['add-learner', 'add-voter', 'promote-learner', 'remove'] as const;
const confChange: Check<ConfChange> = (v, p) => {
  if (!isRecord(v)) fail(p, 'a membership change');
  return { type: oneOf(confChangeTypes)(field(v, 'type'), `${p}.type`), node: nodeId(field(v, 'node'), `${p}.node`) };
};

const faultMs: Check<number> = (v, p) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= nodeFaultMsMax ? v : fail(p, `a number of ms from 0 to ${nodeFaultMsMax}`));

function toNode(value: unknown): ToNode {
  if (!isRecord(value)) fail('message', 'an object');
  const type = oneOf(['raft', 'execute', 'query', 'promote', 'transfer', 'set-replication', 'checksum', 'trace', 'snapshot', 'snapshot-policy', 'conf-change', 'peers', 'links', 'node-faults', 'clock', 'stop', 'batch'] as const)(field(value, 'type'), 'type');
  switch (type) {
    case 'batch':
      // The receiver unpacks a batch and checks each message on its own (see unbatch).
      return fail('type', 'a single message (batches are unpacked first)');
    case 'raft':
      return { type, messages: arrayOf(raftMessage, ipcLimits.messagesPerEnvelope)(field(value, 'messages'), 'messages') };
    case 'execute':
      return {
        type,
        id: count(field(value, 'id'), 'id'),
        sql: sqlText(field(value, 'sql')),
        params: arrayOf(param, ipcLimits.params)(field(value, 'params'), 'params'),
        replication: nullable(writeReplication)(field(value, 'replication'), 'replication'),
        client: nullable(str)(field(value, 'client'), 'client'),
        request: nullable(count)(field(value, 'request'), 'request'),
      };
    case 'query':
      return {
        type,
        id: count(field(value, 'id'), 'id'),
        sql: sqlText(field(value, 'sql')),
        params: arrayOf(param, ipcLimits.params)(field(value, 'params'), 'params'),
        consistency: oneOf(['local', 'linearizable', 'lease'] as const)(field(value, 'consistency'), 'consistency'),
        minIndex: count(field(value, 'minIndex'), 'minIndex'),
        timeoutMs: count(field(value, 'timeoutMs'), 'timeoutMs'),
      };
    case 'promote':
    case 'checksum':
    case 'snapshot':
      return { type, id: count(field(value, 'id'), 'id') };
    case 'transfer':
      return { type, id: count(field(value, 'id'), 'id'), target: nodeId(field(value, 'target'), 'target') };
    case 'set-replication':
      return { type, id: count(field(value, 'id'), 'id'), replication: replicationChange(field(value, 'replication'), 'replication') };
    case 'trace': {
      const tag = str(field(value, 'tag'), 'tag');
      if (tag.length > 64) fail('tag', 'at most 64 characters');
      return { type, id: count(field(value, 'id'), 'id'), action: oneOf(['arm', 'report', 'disarm'] as const)(field(value, 'action'), 'action'), tag };
    }
    case 'links':
      return { type, rules: arrayOf(linkRule, 100)(field(value, 'rules'), 'rules') };
    case 'clock': {
      const rate = finite(field(value, 'rate'), 'rate');
      if (!(rate >= clockRateMin && rate <= clockRateMax)) fail('rate', `a clock rate from ${clockRateMin} to ${clockRateMax}`);
      return { type, rate };
    }
    case 'snapshot-policy': {
      const retainBytes = field(value, 'retainBytes');
      return { type, everyEntries: count(field(value, 'everyEntries'), 'everyEntries'), retainEntries: count(field(value, 'retainEntries'), 'retainEntries'), retainBytes: retainBytes === null ? null : count(retainBytes, 'retainBytes') };
    }
    case 'conf-change':
      return { type, id: count(field(value, 'id'), 'id'), change: confChange(field(value, 'change'), 'change') };
    case 'peers':
      return { type, nodes: arrayOf(nodeId, peersMax)(field(value, 'nodes'), 'nodes') };
    case 'node-faults':
      return { type, diskSlowMs: faultMs(field(value, 'diskSlowMs'), 'diskSlowMs'), applySlowMs: faultMs(field(value, 'applySlowMs'), 'applySlowMs') };
    case 'stop':
      return { type };
  }
}

/**
 * The SQL of an execute or a query: a string of any length here (the frame
 * bounds it); the node checks it against statementBytesMax and answers with a
 * 'bad-statement' reply naming the limit, rather than dropping the request
 * and leaving its caller to wait out the deadline.
 */
function sqlText(value: unknown): string {
  return str(value, 'sql');
}

/**
 * Checks what the supervisor or a client receives from a node: replies,
 * telemetry and events in the fields used to dispatch them.
 */
export function parseFromNode(value: unknown): FromNode | Invalid {
  try {
    return fromNode(value);
  } catch (error) {
    if (error instanceof Invalid) return error;
    throw error;
  }
}

function fromNode(value: unknown): FromNode {
  if (!isRecord(value)) fail('message', 'an object');
  const type = oneOf(['reply', 'telemetry', 'events', 'batch'] as const)(field(value, 'type'), 'type');
  switch (type) {
    case 'batch':
      return fail('type', 'a single message (batches are unpacked first)');
    case 'reply': {
      const error = field(value, 'error');
      if (error !== null) {
        if (!isRecord(error)) fail('error', 'an error payload');
        const reason = oneOf(errorReasons)(error['reason'], 'error.reason');
        if (error['kind'] !== errorKind(reason)) fail('error.kind', errorKind(reason));
        str(error['message'], 'error.message');
        nullable(nodeId)(error['leader'], 'error.leader');
        nullable(count)(error['index'], 'error.index');
      }
      const result = field(value, 'result');
      if (result !== null && !isRecord(result)) fail('result', 'an object or null');
      return { type, id: count(field(value, 'id'), 'id'), ok: bool(field(value, 'ok'), 'ok'), error: error as ErrorPayload | null, result: result as Record<string, unknown> | null };
    }
    case 'telemetry': {
      const telemetry = field(value, 'telemetry');
      if (!isRecord(telemetry)) fail('telemetry', 'an object');
      nodeId(telemetry['id'], 'telemetry.id');
      finite(telemetry['term'], 'telemetry.term');
      return { type, telemetry: telemetry as unknown as NodeTelemetry };
    }
    case 'events': {
      const events = arrayOf((v, p) => {
        if (!isRecord(v) || !isRecord(v['event']) || typeof v['event']['type'] !== 'string') fail(p, 'a timed event');
        finite(v['atMs'], `${p}.atMs`);
        return v as unknown as { atMs: number; event: NodeEvent };
      }, 100_000)(field(value, 'events'), 'events');
      return { type, events };
    }
  }
}
