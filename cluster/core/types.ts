// The vocabulary of the consensus core: entries, messages, events, and the
// Ready that a host drains after every step. Everything here is plain data so
// it can cross IPC, be recorded, and be replayed.

export type NodeId = string;

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Who is in the cluster. A config entry's data is the whole new Membership as JSON. */
export interface Membership {
  /** In priority order. */
  readonly voters: readonly NodeId[];
  /** Receive the log, never vote, never count for commit, quorum or sync acks. */
  readonly learners: readonly NodeId[];
}

/** One single-server membership change, proposed at the leader. */
export interface ConfChange {
  readonly type: 'add-learner' | 'add-voter' | 'promote-learner' | 'remove';
  readonly node: NodeId;
}

export type EntryKind = 'sql' | 'noop' | 'config';

export interface Entry {
  readonly index: number;
  readonly term: number;
  /** Byte position of the end of this entry in the node's log stream (PostgreSQL's LSN). */
  readonly lsn: number;
  readonly kind: EntryKind;
  /** Opaque to the core: the host's encoded statement and parameters. */
  readonly data: string;
  /** Client id and request id: the state machine applies a duplicate request once. */
  readonly client?: string;
  readonly request?: number;
}

/** What a snapshot of the state machine holds: everything up to `index`, all of it committed. */
export interface SnapshotMeta {
  /** Last index the snapshot's state includes (applied). */
  readonly index: number;
  /** Term of that entry. */
  readonly term: number;
  /** Lsn of that entry, so the log after it keeps its lsn chain. */
  readonly lsn: number;
  /** The configuration in force at `index`. */
  readonly membership: Membership;
}

/** What must be durable before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
}

// ---------------------------------------------------------------------------
// Replication modes: when the client hears "done" and when the leader makes a
// write visible. The Raft commit index is tracked in every mode regardless.

export type ReplicationMode = 'async' | 'sync' | 'quorum';
/** What a follower must have done with an entry to count towards an ack. */
export type AckLevel = 'received' | 'flushed' | 'applied';
export type SyncFallback = 'block' | 'async';
export type Failover = 'raft' | 'manual';

export interface ReplicationConfig {
  readonly mode: ReplicationMode;
  readonly ackLevel: AckLevel;
  /** Nodes, the leader included, that must reach the ack level in `quorum` mode; null = a majority. */
  readonly quorum: number | null;
  /** Followers that must all reach the ack level in `sync` mode; null = every follower. */
  readonly syncStandbys: readonly NodeId[] | null;
  /** Ticks a sync/quorum write may wait for its followers before the fallback acts; null = no limit. */
  readonly syncTimeoutTicks: number | null;
  readonly syncFallback: SyncFallback;
}

/** A single write may override the cluster's mode, ack level and quorum. */
export type WriteReplication = Partial<Pick<ReplicationConfig, 'mode' | 'ackLevel' | 'quorum'>>;

/** How far a follower has got, as indexes into the leader's log (pg_stat_replication's positions). */
export interface Positions {
  readonly received: number;
  readonly flushed: number;
  readonly applied: number;
}

// ---------------------------------------------------------------------------
// Messages between cores. The host routes them; the core never opens a socket.

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export type VoteDenial =
  | 'stale-term' // the candidate's term is older than the voter's
  | 'already-voted' // the voter gave its vote in this term to someone else
  | 'log-behind' // the candidate's log is less up to date than the voter's
  | 'leader-alive'; // the voter heard from a live leader within the election timeout

export type Message =
  | (MessageBase & {
      readonly type: 'vote';
      readonly pre: boolean;
      readonly lastIndex: number;
      readonly lastTerm: number;
      /** Set by leadership transfer and promote: bypasses the leader lease. */
      readonly transfer: boolean;
    })
  | (MessageBase & {
      readonly type: 'vote-resp';
      readonly pre: boolean;
      readonly granted: boolean;
      readonly reason: VoteDenial | null;
    })
  | (MessageBase & {
      readonly type: 'append';
      readonly prevIndex: number;
      readonly prevTerm: number;
      readonly entries: readonly Entry[];
      readonly commit: number;
    })
  | (MessageBase & {
      readonly type: 'append-resp';
      /** On reject: the prevIndex that did not match. On success: the last index known to match. */
      readonly index: number;
      readonly reject: boolean;
      /** On reject, where the leader should look next: the follower's best guess and its term there. */
      readonly hintIndex: number;
      readonly hintTerm: number;
      readonly positions: Positions;
    })
  | (MessageBase & {
      readonly type: 'heartbeat';
      readonly commit: number;
      /** ReadIndex round this heartbeat confirms; 0 when none. */
      readonly context: number;
    })
  | (MessageBase & {
      readonly type: 'heartbeat-resp';
      readonly context: number;
      readonly positions: Positions;
    })
  | (MessageBase & { readonly type: 'timeout-now' })
  | (MessageBase & {
      /**
       * InstallSnapshot: the leader's host streamed the snapshot's data for
       * `meta` to the follower's host before handing over this message. The
       * follower answers with an `append-resp` (success, index = meta.index).
       */
      readonly type: 'snapshot';
      readonly meta: SnapshotMeta;
    });

export type MessageType = Message['type'];

// ---------------------------------------------------------------------------
// Events: every state change a learner would want to see.

export type StepDownReason = 'higher-term' | 'check-quorum' | 'same-term-leader' | 'removed';

export type CoreEvent =
  | { readonly type: 'election-started'; readonly node: NodeId; readonly term: number; readonly pre: boolean; readonly transfer: boolean }
  | { readonly type: 'vote-granted'; readonly node: NodeId; readonly candidate: NodeId; readonly term: number; readonly pre: boolean }
  | {
      readonly type: 'vote-denied';
      readonly node: NodeId;
      readonly candidate: NodeId;
      readonly term: number;
      readonly pre: boolean;
      readonly reason: VoteDenial;
    }
  | {
      readonly type: 'leader-elected';
      readonly node: NodeId;
      readonly term: number;
      readonly votes: readonly NodeId[];
      /** Ticks from the start of this node's campaign to winning it. */
      readonly electionTicks: number;
    }
  | {
      /** The next term would pass termMax (constants.ts), the highest term peers accept: this node does not campaign. */
      readonly type: 'campaign-refused';
      readonly node: NodeId;
      readonly term: number;
      readonly reason: 'term-limit';
      readonly termMax: number;
    }
  | { readonly type: 'election-lost'; readonly node: NodeId; readonly term: number; readonly pre: boolean; readonly denials: readonly NodeId[] }
  | { readonly type: 'stepped-down'; readonly node: NodeId; readonly term: number; readonly reason: StepDownReason }
  | { readonly type: 'term-changed'; readonly node: NodeId; readonly from: number; readonly to: number }
  | {
      readonly type: 'entries-rolled-back';
      readonly node: NodeId;
      /** Applied entries undone because the new leader's log does not hold them. */
      readonly fromIndex: number;
      readonly toIndex: number;
      readonly leader: NodeId | null;
    }
  | { readonly type: 'entries-truncated'; readonly node: NodeId; readonly fromIndex: number; readonly count: number }
  | {
      /** Only with manual failover: a promoted node lacked entries this node had seen committed. */
      readonly type: 'committed-entries-lost';
      readonly node: NodeId;
      readonly fromIndex: number;
      readonly commitIndex: number;
    }
  | { readonly type: 'sync-waiting'; readonly node: NodeId; readonly index: number; readonly waitedTicks: number; readonly lagging: readonly NodeId[] }
  | { readonly type: 'sync-degraded'; readonly node: NodeId; readonly index: number; readonly waitedTicks: number; readonly lagging: readonly NodeId[] }
  | { readonly type: 'sync-restored'; readonly node: NodeId; readonly index: number }
  | { readonly type: 'replication-changed'; readonly node: NodeId; readonly replication: ReplicationConfig }
  | { readonly type: 'transfer-started'; readonly node: NodeId; readonly target: NodeId; readonly term: number }
  | { readonly type: 'transfer-aborted'; readonly node: NodeId; readonly target: NodeId; readonly term: number }
  | { readonly type: 'promoted'; readonly node: NodeId; readonly term: number; readonly lastIndex: number }
  | {
      /** Only with fencing off: a leader saw a newer term and kept leading (split brain). */
      readonly type: 'higher-term-ignored';
      readonly node: NodeId;
      readonly term: number;
      readonly seen: number;
      readonly from: NodeId;
    }
  | {
      /** Emitted by the leader when it appends a config entry (committed: false) and when that entry commits. */
      readonly type: 'membership-changed';
      readonly node: NodeId;
      readonly index: number;
      readonly membership: Membership;
      readonly majorityBefore: number;
      readonly majorityAfter: number;
      readonly committed: boolean;
    }
  | { readonly type: 'events-dropped'; readonly node: NodeId; readonly count: number }
  /** A follower installed a leader's snapshot (Ready.snapshot). */
  | { readonly type: 'snapshot-restored'; readonly node: NodeId; readonly index: number; readonly term: number };

export type CoreEventType = CoreEvent['type'];

// ---------------------------------------------------------------------------
// Client-facing results, returned later through Ready.

export type WriteError =
  | 'not-leader' // this node does not lead; `leader` names who does, if known
  | 'transfer-in-progress' // leadership is being handed over; retry at the new leader
  | 'busy' // too many writes pending on this leader
  | 'leadership-lost' // the leader stepped down before the write was acknowledged
  | 'change-in-progress' // a membership change is uncommitted, or this leader has not committed an entry of its term yet
  | 'bad-change'; // the membership change names an unknown or duplicate node, removes the last voter, ...

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly error: WriteError; readonly leader: NodeId | null };

export type WriteAck =
  | { readonly id: number; readonly ok: true; readonly index: number; readonly term: number }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: WriteError;
      readonly leader: NodeId | null;
      readonly index: number;
      /** True when the write may still commit: the client must not assume it failed. */
      readonly indeterminate: boolean;
    };

export type ReadError = 'not-leader' | 'busy' | 'leadership-lost';

export type ReadResult =
  | {
      readonly id: number;
      readonly ok: true;
      readonly index: number;
      /** Set when a lease read was served on the leader's lease, without a round trip. */
      readonly lease?: true;
    }
  | { readonly id: number; readonly ok: false; readonly error: ReadError; readonly leader: NodeId | null };

export type TransferError = 'not-leader' | 'unknown-node' | 'transfer-in-progress';

// ---------------------------------------------------------------------------
// Ready: everything the host must do, in this order:
//   0. install `snapshot`, if any (see Ready.snapshot);
//   1. persist `hardState` durably (before sending anything);
//   2. write `entries` to the log (replacing the log from `writeFrom` on) and
//      start flushing; report completion later with `persisted(index, term)`;
//   3. send `messages` (they claim nothing about what step 4 applies, so they
//      may go before it; sending early keeps the apply off the commit path);
//   4. undo `rollback` (highest index first), then apply `apply` in order;
//   5. deliver `acks` and `reads` to clients (after 4: an acked write is
//      visible); record `events`;
//   6. call `advance()`.

export interface Ready {
  /**
   * Follower only: install the snapshot data received for this meta, before
   * anything else in this Ready: the state machine becomes the snapshot's
   * state (appliedIndex and commitIndex are meta.index); the log now starts
   * after meta.index. The entries after it stay when the host's log holds
   * meta.index with meta.term, and are dropped otherwise, in the same atomic
   * step. `writeFrom` (meta.index + 1 when the core dropped its suffix) then
   * rewrites what follows. Applied entries the snapshot replaced are reported
   * by `entries-rolled-back` only: they are not in `rollback`.
   */
  readonly snapshot: SnapshotMeta | null;
  readonly hardState: HardState | null;
  /** First index written by `entries`; the host drops any log entries at or after it first. */
  readonly writeFrom: number | null;
  readonly entries: readonly Entry[];
  readonly rollback: readonly Entry[];
  readonly apply: readonly Entry[];
  readonly messages: readonly Message[];
  readonly acks: readonly WriteAck[];
  readonly reads: readonly ReadResult[];
  readonly events: readonly CoreEvent[];
}

// ---------------------------------------------------------------------------
// Configuration and the durable state a core starts from.

export interface CoreConfig {
  readonly id: NodeId;
  /**
   * The initial voters, in priority order, used while the log holds no config
   * entry. A brand-new node joining a running cluster starts with [] (and
   * learns its configuration from the leader's log).
   */
  readonly peers: readonly NodeId[];
  /** The initial learners (default none). */
  readonly learners?: readonly NodeId[];
  /** The election timeout is drawn at random from [min, max] ticks each time it is reset. */
  readonly electionTicks: readonly [number, number];
  readonly heartbeatTicks: number;
  readonly failover: Failover;
  /** With fencing, a higher term makes a leader step down; without, it keeps leading. */
  readonly fencing: boolean;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly replication: ReplicationConfig;
  readonly seed: number;
  /** Test-only switches that break Raft on purpose, to prove the checkers can fail. */
  readonly unsafe?: {
    /** Commit an earlier term's entry by counting replicas (the paper's figure 8 warns against it). */
    readonly commitPreviousTermByCount?: boolean;
    /** Grant votes without the log up-to-date check, so a leader may lack committed entries. */
    readonly skipVoteLogCheck?: boolean;
    /** Let a snapshot hold applied entries not yet known committed (a follower applies before it knows). */
    readonly snapshotUncommitted?: boolean;
  };
}

export interface InitialState {
  readonly hardState: HardState;
  /** The latest durable snapshot; entries then start at snapshot.index + 1 (or 1 when null). */
  readonly snapshot: SnapshotMeta | null;
  /** The durable log, contiguous from snapshot.index + 1 (index 1 without a snapshot). */
  readonly entries: readonly Entry[];
  /** Highest index the state machine had applied before this start (at least the snapshot's). */
  readonly appliedIndex: number;
}

export interface ProgressStatus {
  readonly id: NodeId;
  readonly next: number;
  readonly received: number;
  readonly flushed: number;
  readonly applied: number;
  /** snapshot: an InstallSnapshot is in flight; no appends until it is done. */
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly inflight: number;
  readonly active: boolean;
}

export interface CoreStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly leader: NodeId | null;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly lastLsn: number;
  readonly stableIndex: number;
  /** Index of the latest snapshot this node holds (taken or installed); 0 when none. */
  readonly snapshotIndex: number;
  /** First index still in the log (snapshot index + 1 once compacted). */
  readonly firstIndex: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly replication: ReplicationConfig;
  readonly degraded: boolean;
  readonly transferTarget: NodeId | null;
  /** Ticks since the election timer was last reset, and the (randomized) ticks at which it fires; on a leader, elapsed counts towards CheckQuorum. */
  readonly electionElapsed: number;
  readonly electionTimeout: number;
  /** On a leader: one row per follower. */
  readonly progress: readonly ProgressStatus[];
  /** The configuration in force: the latest in this node's log. */
  readonly membership: Membership;
}

/** Raised when an invariant of the core breaks: a bug, never user input. */
export class CoreAssertionError extends Error {
  override name = 'CoreAssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CoreAssertionError(`assertion failed: ${message}`);
}

/** Ends every switch over a discriminated union. */
export function unreachable(value: never): never {
  throw new CoreAssertionError(`assertion failed: unexpected ${JSON.stringify(value)}`);
}
