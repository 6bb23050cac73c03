// What a lab is: data (id, title, level, minutes, concepts, the cluster it
// runs on) plus code (each step's check and autopilot, and the debrief). A
// check is a pure function of an Observation, a plain-data snapshot of the
// live cluster, so the same check runs against a real cluster and against a
// hand-built snapshot in a unit test.

import type { HistoryRecord } from '../cluster/check/index.js';
import type {
  Cluster,
  ClusterEvent,
  ClusterMembership,
  JoinAs,
  ClusterOptions,
  Consistency,
  LinkOptions,
  NodeId,
  NodeStatus,
  Param,
  ReplicationSettings,
  RolledBackWrite,
  SnapshotPolicy,
  WorkloadOptions,
  WorkloadStats,
} from '../cluster/index.js';
import type { EngineKind, ReplicationEngine } from '../cluster/engine.js';
import type { FailoverDecision } from '../cluster/postgres/cluster.js';
import type { ServerLogEvent } from '../cluster/postgres/server-log.js';

export type LabLevel = 'beginner' | 'intermediate' | 'advanced';

/** The cluster a lab (or a part of it) runs on. */
export interface LabSetup {
  /** Cluster.start options; the lab picks no dataDir (a temporary dir removed on stop, unless the run was given `--data-dir`). */
  readonly cluster: Omit<ClusterOptions, 'dataDir'>;
  /** The built-in clients started once a leader is elected; null for none. History is always recorded. */
  readonly workload: Partial<Omit<WorkloadOptions, 'history'>> | null;
}

// ---------------------------------------------------------------------------
// What the person (or the autopilot) did through the lab's cluster.

export interface ActionBase {
  /** Position in the journal, from 1. */
  readonly seq: number;
  /** performance.now() and Date.now() when it started. */
  readonly mono: number;
  readonly wall: number;
  /** Who led when it started, and that leader's commit index. */
  readonly leader: NodeId | null;
  readonly leaderCommitIndex: number | null;
  readonly by: 'person' | 'autopilot';
}

export interface ActionError {
  /** The ClusterError kind (`not-leader`, `timeout`, …) or `error` for anything else. */
  readonly kind: string;
  readonly message: string;
  /** With not-leader: the leader the refusing node named. */
  readonly leader: NodeId | null;
}

export type ExecuteOutcome =
  | { readonly ok: true; readonly index: number; readonly term: number; readonly leader: NodeId; readonly latencyMs: number }
  | { readonly ok: false; readonly error: ActionError };

export type QueryOutcome =
  | {
      readonly ok: true;
      readonly node: NodeId;
      /** The node's applied index when it read. */
      readonly index: number;
      readonly columns: readonly string[];
      /** At most journalRowsMax rows. */
      readonly rows: readonly Readonly<Record<string, unknown>>[];
      readonly latencyMs: number;
      /** A `lease` read the leader served on its lease, with no round trip. */
      readonly lease?: true;
    }
  | { readonly ok: false; readonly error: ActionError };

export type NodeActionKind = 'kill' | 'restart' | 'pause' | 'resume' | 'promote' | 'transfer';

export type Action =
  | (ActionBase & {
      readonly kind: 'execute';
      readonly sql: string;
      readonly params: readonly Param[];
      /** The node it was sent to; null: through the leader. */
      readonly node: NodeId | null;
      /** The deadline the caller gave (`:write n1 --timeout 2s …`); absent: the engine's default. */
      readonly timeoutMs?: number;
      readonly endMono: number;
      readonly outcome: ExecuteOutcome;
    })
  | (ActionBase & {
      readonly kind: 'query';
      readonly sql: string;
      readonly params: readonly Param[];
      readonly node: NodeId | null;
      readonly consistency: Consistency;
      readonly minIndex: number | null;
      readonly endMono: number;
      readonly outcome: QueryOutcome;
    })
  | (ActionBase & { readonly kind: NodeActionKind; readonly node: NodeId; readonly error: string | null })
  | (ActionBase & { readonly kind: 'partition'; readonly groups: readonly (readonly NodeId[])[] })
  | (ActionBase & { readonly kind: 'link'; readonly from: NodeId; readonly to: NodeId; readonly options: LinkOptions })
  | (ActionBase & { readonly kind: 'heal' })
  | (ActionBase & { readonly kind: 'clock'; readonly node: NodeId; readonly rate: number; readonly error: string | null })
  | (ActionBase & { readonly kind: 'replication'; readonly change: Partial<ReplicationSettings>; readonly error: string | null })
  /** Cluster.addNode: the id it resolved to (null when refused), as what it was added. */
  | (ActionBase & { readonly kind: 'add-node'; readonly as: JoinAs; readonly node: NodeId | null; readonly endMono: number; readonly error: string | null })
  | (ActionBase & { readonly kind: 'promote-learner' | 'remove-node'; readonly node: NodeId; readonly endMono: number; readonly error: string | null })
  /** Cluster.setSnapshotPolicy. */
  | (ActionBase & { readonly kind: 'snapshot-policy'; readonly change: Partial<SnapshotPolicy>; readonly error: string | null })
  /** Cluster.snapshot (`:snapshot n2`). */
  | (ActionBase & { readonly kind: 'snapshot'; readonly node: NodeId; readonly error: string | null });

export type ActionKind = Action['kind'];

// ---------------------------------------------------------------------------
// Observations

/** One rolled-back entry as a node's rollback file holds it. */
export interface RolledBackEntry {
  readonly index: number;
  readonly term: number;
  readonly kind: string;
  readonly sql: string | null;
  readonly params: readonly unknown[] | null;
}

export interface RollbackFile {
  readonly node: NodeId;
  readonly path: string;
  readonly entries: readonly RolledBackEntry[];
}

/**
 * The live cluster as a check sees it: plain data, so a check is a pure
 * function and a test can build one by hand. Lists run from the start of the
 * lab's current cluster; a check compares against the Baseline taken when
 * its step began.
 */
export interface Observation {
  /** performance.now() (the clock of history records and actions) and Date.now() (of events). */
  readonly mono: number;
  readonly wall: number;
  readonly tickMs: number;
  readonly status: readonly NodeStatus[];
  readonly leader: NodeId | null;
  readonly replication: ReplicationSettings;
  /** Cluster events, oldest first (bounded). */
  readonly events: readonly ClusterEvent[];
  /** What was done through the lab's cluster, oldest first (bounded). */
  readonly actions: readonly Action[];
  /** The workload's history records, oldest first (bounded). */
  readonly history: readonly HistoryRecord[];
  readonly workload: WorkloadStats | null;
  /** Acknowledged writes a node later rolled back. */
  readonly lostWrites: readonly (RolledBackWrite & { readonly node: NodeId })[];
  /** The rollback files the nodes wrote, read once each. */
  readonly rollbackFiles: readonly RollbackFile[];
  /** Each follower's write/flush/replay lag as its leader measured it, sampled at observations, oldest first (bounded). */
  readonly lagSamples: readonly LagSample[];
  /** Every node's log positions, snapshot and retained WAL, sampled at observations, oldest first (bounded): when a node caught up, how the WAL grew. */
  readonly nodeSamples: readonly NodeSample[];
  /** The configuration (voters, learners, the quorum size) as the leader reports it; null before any report. */
  readonly membership: ClusterMembership | null;
  /** The engine the cluster runs on. */
  readonly engine: EngineKind;
  /** PostgreSQL: what the servers' own logs said (promotion, timeline, walreceiver connects and disconnects), oldest first (bounded); empty on replica-lab. */
  readonly serverLog: readonly ServerLogEvent[];
  /** PostgreSQL with failover 'auto': each decision of the supervisor's failover manager; empty otherwise. */
  readonly failovers: readonly FailoverDecision[];
}

/** One node at one observation: how far its log and state are, its newest snapshot and the WAL it keeps. */
export interface NodeSample {
  /** performance.now() when it was read. */
  readonly mono: number;
  readonly node: NodeId;
  readonly up: boolean;
  /** It has reported since its process started (a restarted node is up at once, reporting once it has opened its WAL and state). */
  readonly reporting: boolean;
  readonly role: NodeStatus['role'];
  readonly lastIndex: number;
  /** Byte position of its last entry in its WAL (the lsn). */
  readonly lastLsn: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly snapshotIndex: number;
  /** null before its first report. */
  readonly walBytesRetained: number | null;
}

/** One follower's lag at one observation (pg_stat_replication's write_lag, flush_lag, replay_lag, as live figures). */
export interface LagSample {
  /** performance.now() when it was read. */
  readonly mono: number;
  readonly node: NodeId;
  readonly leader: NodeId;
  readonly writeLagMs: number;
  readonly flushLagMs: number;
  readonly replayLagMs: number;
}

/** The cluster when a step began: what its check compares against. */
export interface Baseline {
  readonly mono: number;
  readonly wall: number;
  readonly status: readonly NodeStatus[];
  readonly leader: NodeId | null;
  readonly replication: ReplicationSettings;
  readonly actionCount: number;
  readonly lostWriteCount: number;
}

// ---------------------------------------------------------------------------
// Steps and labs

export interface CheckResult<F> {
  readonly passed: boolean;
  /** One line: what was seen (when passed) or what is still missing. */
  readonly detail: string;
  /** Figures the debrief quotes, measured from the observation. */
  readonly facts?: Partial<F>;
}

/** What an autopilot works with: the lab's cluster and bounded waits on outcomes. */
export interface AutopilotContext {
  /** The lab's cluster: everything done through it is journaled like a person's actions. */
  readonly cluster: ReplicationEngine;
  /**
   * The same journaled cluster with the replica-lab engine's own API (membership,
   * node and clock faults, snapshots): only a lab that runs on replica-lab alone
   * (Lab.engines) may use it.
   */
  readonly raft: Cluster;
  readonly before: Baseline;
  observe(): Observation;
  /**
   * Resolves with the first observation for which `until` holds; rejects with
   * "timed out waiting for <what>" after `timeoutMs` (default generous).
   */
  waitFor(what: string, until: (o: Observation) => boolean, timeoutMs?: number): Promise<Observation>;
  /** Lets time pass (for a rate to show), never used as a check. */
  pause(ms: number): Promise<void>;
}

/** Text that may name what is live (the leader, a follower). */
export type LiveText = string | ((o: Observation, before: Baseline) => string);

export interface Step<F> {
  readonly title: string;
  /** What to do, naming the dashboard's keys or `:` commands. */
  readonly instruction: LiveText;
  readonly hint: LiveText;
  /** Passes once the step has been done; never looks at a clock to decide. */
  readonly check: (o: Observation, before: Baseline) => CheckResult<F>;
  /** Does the step through the Cluster API, waiting (bounded) for its effect. */
  readonly autopilot: (context: AutopilotContext) => Promise<void>;
  /** Starts a new cluster before this step: for what can only be chosen at start (fencing, PreVote). */
  readonly freshCluster?: LabSetup;
}

/** The whole run, for the debrief: facts from the passed steps and totals. */
export interface RunSummary {
  readonly stepsPassed: number;
  readonly steps: number;
  readonly elapsedMs: number;
  /** Workload writes acknowledged over every cluster of the run. */
  readonly writesAcknowledged: number;
  readonly lostWrites: number;
  /** The run keeps its data dirs (`--data-dir`); false or absent: temporary dirs, removed when each cluster stops. */
  readonly dataKept?: boolean;
  /** The engine this run is on; absent: replica-lab. */
  readonly engine?: EngineKind;
  /**
   * The last passed run of the same lab on each other engine (from the
   * progress file), newest per engine: what a debrief compares this run with.
   * Absent or empty when the person has run it on one engine only.
   */
  readonly earlier?: readonly EarlierRun[];
}

/** A passed run of the same lab on another engine, as the progress file keeps it. */
export interface EarlierRun {
  readonly engine: EngineKind;
  /** ISO 8601. */
  readonly at: string;
  readonly autopilot: boolean;
  /** The facts its checks measured (the lab's own fact type, as JSON kept them). */
  readonly facts: Readonly<Record<string, unknown>>;
}

/** What the catalog lists of any lab, a cluster lab or a replay. */
export interface LabEntry {
  readonly id: string;
  readonly title: string;
  readonly level: LabLevel;
  /** How long it takes a person. */
  readonly minutes: number;
  readonly concepts: readonly string[];
  /** One paragraph: what the lab shows. */
  readonly summary: string;
  /**
   * The engines (`--engine`) it runs on; absent: the replica-lab engine only.
   * A lab names another engine only when its steps use the members every
   * engine shares (cluster/engine.ts) and its texts hold for that system.
   */
  readonly engines?: readonly EngineKind[];
}

export interface Lab<F = Record<string, unknown>> extends LabEntry {
  readonly setup: LabSetup;
  readonly steps: readonly Step<F>[];
  /** Lines built from the run's own figures. */
  readonly debrief: (facts: Partial<F>, run: RunSummary) => readonly string[];
  /** Question ids in the quiz bank. */
  readonly quiz: readonly string[];
  /**
   * The same lab on another engine where its steps or texts differ (a
   * PostgreSQL primary is promoted, not elected; it rewinds, not rolls back):
   * that engine's cluster, steps and debrief. The engine must be in `engines`.
   * An engine listed in `engines` with no variant runs the steps above.
   */
  readonly variants?: { readonly [E in Exclude<EngineKind, 'replica-lab'>]?: LabVariant<F> };
}

/** What a lab replaces to run on another engine; its id, level, concepts and quiz stay (its title too, unless the variant names its own). */
export interface LabVariant<F> {
  /** When what the lab shows differs there. */
  readonly title?: string;
  readonly summary?: string;
  readonly minutes?: number;
  readonly setup: LabSetup;
  readonly steps: readonly Step<F>[];
  readonly debrief: (facts: Partial<F>, run: RunSummary) => readonly string[];
}

/** A lab with its fact type erased, for lists of labs. */
export type AnyLab = Lab<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Keeps the fact type of one lab checked while it is defined. */
export function defineLab<F>(lab: Lab<F>): Lab<F> {
  return lab;
}
