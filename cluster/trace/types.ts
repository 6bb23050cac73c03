// The X-ray of one write: what each node records about a traced entry, and
// the timeline the supervisor assembles from it. Every time is microseconds of
// CLOCK_MONOTONIC (process.hrtime.bigint() / 1000): on Linux every process
// reads the same clock, so a time one node recorded compares with another's.

import type { AckLevel, NodeId, ReplicationMode } from '../core/index.js';

export const ackLevelsTraced: readonly AckLevel[] = ['received', 'flushed', 'applied'];

/** The stages one node stamps for the traced entry (each at most once: the first time it happens). */
export const nodeStamps = [
  /** Leader: the client's frame reached the node (host.receive). Follower: the append holding the entry arrived. */
  'receive',
  /** Leader: the statement passed the limits and SQLite's validation. */
  'validated',
  /** Leader: the core appended the entry to its in-memory log (propose). */
  'appended',
  'wal-write-start',
  'wal-write-end',
  /** A flush was already running when the entry was written: it waits for the next round (group commit). */
  'fsync-queued',
  /** The group-commit round that covers the entry started (fdatasync, or a no-op with fsync off). */
  'fsync-start',
  'fsync-end',
  /** Leader: the core's commit index reached the entry (a majority has it on disk). */
  'commit',
  /** Follower: a message from the leader carried a commit index at or past the entry. */
  'commit-learned',
  'apply-start',
  'apply-end',
  /** Leader: the answer to the client was queued, then handed to the client's connection. */
  'reply',
  'reply-sent',
  /** Follower: the first report to the leader whose position at each level reached the entry. */
  'ack-sent-received',
  'ack-sent-flushed',
  'ack-sent-applied',
] as const;
export type NodeStamp = (typeof nodeStamps)[number];

/** What a leader stamps per follower. */
export const peerStamps = ['append-sent', 'commit-sent', 'ack-received', 'ack-flushed', 'ack-applied'] as const;
export type PeerStamp = (typeof peerStamps)[number];

/** One node's record of the traced entry, as it reports it to the supervisor. */
export interface NodeTraceRecord {
  readonly node: NodeId;
  readonly pid: number;
  readonly tag: string;
  /** How this node met the entry: it proposed it (leader) or received it in an append (follower); null: not yet. */
  readonly role: 'leader' | 'follower' | null;
  readonly index: number | null;
  readonly term: number | null;
  /** False when the node runs with fsync off: its "fdatasync" is a no-op round. */
  readonly fsync: boolean;
  /** Which message first told a follower the commit index. */
  readonly commitVia: 'append' | 'heartbeat' | null;
  readonly stamps: Partial<Record<NodeStamp, number>>;
  /** Leader only: per follower. */
  readonly peers: Readonly<Record<NodeId, Partial<Record<PeerStamp, number>>>>;
  /** Leader only: the statement's text was new to it, so its check did the analysis it does once per text and keeps. */
  readonly firstText?: boolean;
}

/** 'wait' only for the client's whole request: the critical path splits it into the other three. */
export type SpanCategory = 'network' | 'disk' | 'cpu' | 'wait';

/** An interval on one lane (a process), or between two lanes for the network. */
export interface TraceSpan {
  /** 'client' or a node id: the process whose clock took both ends (the receiver's lane for network spans). */
  readonly lane: string;
  readonly label: string;
  readonly category: SpanCategory;
  /** Microseconds after the client sent the write. */
  readonly startUs: number;
  readonly durationUs: number;
}

/** An instant on one lane: an ack sent or received, the commit. */
export interface TraceMark {
  readonly lane: string;
  readonly label: string;
  /** One letter for the timeline: r f a (acks), C (commit), c (commit learned), R (release). */
  readonly glyph: string;
  readonly atUs: number;
}

export interface TraceLane {
  readonly id: string;
  readonly role: 'client' | 'leader' | 'follower';
  readonly pid: number | null;
  readonly spans: readonly TraceSpan[];
  readonly marks: readonly TraceMark[];
}

/** When each follower's report at each level reached the leader, in µs after the client sent. */
export type FollowerAcks = Readonly<Record<NodeId, Readonly<Record<AckLevel, number | null>>>>;

export interface TraceRule {
  readonly mode: ReplicationMode;
  readonly ackLevel: AckLevel;
  /** Quorum mode: nodes (the leader included) that must reach the level. */
  readonly quorum: number;
  /** Sync mode: the followers waited for. */
  readonly syncStandbys: readonly NodeId[];
}

export interface TraceSummary {
  readonly totalUs: number;
  readonly networkUs: number;
  /** WAL writes and fdatasync on the critical path, per node. */
  readonly diskUs: Readonly<Record<string, number>>;
  /** Work and event-loop turns on the critical path, per process. */
  readonly cpuUs: Readonly<Record<string, number>>;
  /** After its own fdatasync, how long the leader waited for the follower ack that completed its rule (0 when its fdatasync came last). */
  readonly quorumWaitUs: number;
}

export interface WriteTrace {
  readonly sql: string;
  readonly index: number;
  readonly term: number;
  readonly leader: NodeId;
  readonly followers: readonly NodeId[];
  readonly rule: TraceRule;
  readonly fsync: boolean;
  /** The client's own measure (performance.now() around the request). */
  readonly clientLatencyUs: number;
  /** The client's send, in µs of CLOCK_MONOTONIC: every other time is relative to it. */
  readonly originUs: number;
  readonly lanes: readonly TraceLane[];
  /** From the client's send to its receive, contiguous: their durations sum to `summary.totalUs`. */
  readonly criticalPath: readonly TraceSpan[];
  readonly acks: FollowerAcks;
  /** What released the write (made the leader apply and answer): 'leader-fsync' or the follower whose ack did. */
  readonly decidedBy: string;
  readonly summary: TraceSummary;
  /** Why the write waited for what it waited for, in sentences. */
  readonly explanation: readonly string[];
  /** Stages that were not seen (a follower down or cut off, or the settle time ran out). */
  readonly missing: readonly string[];
  /** Spans that ended before they began: would mean the processes' clocks are not comparable. */
  readonly problems: readonly string[];
  readonly clock: string;
}
