// The dashboard's whole state and the one reducer that changes it. Cluster
// updates (a status() snapshot plus the events since the last one) and user
// intents arrive as actions; everything drawn is derived from this state.

import type { ClusterEvent, MessagesView, NodeId, NodeStatus, ReplicationSettings, WriteTrace } from '../../cluster/index.js';
import { chartSampleMs, chartSamplesMax, commandHistoryMax, eventLogLinesMax, eventsPerUpdateMax, frozenHistoryMs } from '../constants.js';
import type { EngineKind } from '../../cluster/engine.js';
import type { WorkloadView } from '../controller.js';
import { divergentNodes, forgetNode, initialDivergence, trackChecksums, type DivergenceTracker } from './divergence.js';
import type { FailoverDecision } from '../../cluster/postgres/cluster.js';
import type { ServerLogEvent, ServerLogKind } from '../../cluster/postgres/server-log.js';
import { describeEvents, failoverLine, initialElections, serverLogLine, type ElectionTracker, type LogLevel, type LogLine } from './event-log.js';
import { RingBuffer } from './ring-buffer.js';

/** One look at the cluster: plain data, so tests can record and replay it. */
export interface Snapshot {
  readonly atMs: number;
  readonly nodes: readonly NodeStatus[];
  readonly leader: NodeId | null;
  readonly replication: ReplicationSettings | null;
  readonly workload: WorkloadView | null;
  /** Acknowledged writes later rolled back, counted since the start (cluster.lostWrites()). */
  readonly lostWrites: number;
  /** The Raft messages of the last 60 s (cluster.messages()); absent when the controller does not report them. */
  readonly messages?: MessagesView | null;
  /** The engine, when it is not replica-lab's own (absent: replica-lab). */
  readonly engine?: EngineKind;
  /** The engine's own setting behind the mode (controller.pgSetting), where it has one. */
  readonly pgSetting?: string | null;
}

/** What Space froze: the event log and the messages as they were, for scrolling back while the cluster runs on. */
export interface Frozen {
  readonly atMs: number;
  /** Event lines of the last 60 s before atMs. */
  readonly log: readonly LogLine[];
  readonly messages: MessagesView | null;
  readonly nodes: readonly NodeStatus[];
}

/** One point of every chart line. */
export interface Sample {
  readonly atMs: number;
  readonly leader: NodeId | null;
  /** Replay lag of each follower as its leader measures it; a node is absent when nobody measures it. */
  readonly replayLagMs: Readonly<Record<NodeId, number>>;
  /** Null until the workload reports stale reads (the online checker). */
  readonly staleReadsPerSecond: number | null;
  readonly lostWrites: number;
  /** Null on PostgreSQL: its status has no checksum of a replica's state to compare (checksum null), so divergence is not measured. */
  readonly divergentReplicas: number | null;
  /**
   * Entries some node has applied (made visible) beyond the cluster's commit index: reads that may be rolled back.
   * Null on PostgreSQL: it has no cluster commit index (its status says commitIndex 0 while positions are LSN bytes).
   */
  readonly uncommittedVisible: number | null;
}

export interface ResultView {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly note: string | null;
}

export type Overlay =
  | { readonly kind: 'none' }
  | { readonly kind: 'help'; readonly scroll: number }
  | { readonly kind: 'command'; readonly text: string; readonly hint: string | null; readonly historyIndex: number | null }
  | { readonly kind: 'result'; readonly result: ResultView }
  /** `:trace`: the timeline of one write, scrolled by ↑↓. */
  | { readonly kind: 'trace'; readonly trace: WriteTrace; readonly scroll: number };

export type MessageLevel = 'info' | 'ok' | 'busy' | 'error';

export interface Message {
  readonly text: string;
  readonly level: MessageLevel;
}

export interface DashboardState {
  readonly startedAtMs: number | null;
  readonly snapshot: Snapshot | null;
  readonly samples: RingBuffer<Sample>;
  readonly lastSampleAtMs: number | null;
  readonly staleReadsSeen: { readonly atMs: number; readonly count: number } | null;
  readonly log: RingBuffer<LogLine>;
  readonly elections: ElectionTracker;
  readonly divergence: DivergenceTracker;
  /** Nodes whose process exited without being asked to, until they start again. */
  readonly crashed: ReadonlySet<NodeId>;
  readonly selected: number;
  readonly overlay: Overlay;
  readonly message: Message | null;
  readonly commandHistory: readonly string[];
  readonly quitting: boolean;
  /** The first debrief line shown once a lab is finished. */
  readonly labScroll: number;
  /** What takes the event log's place: the log, or the message pane (v). */
  readonly pane: 'events' | 'messages';
  /** Set while Space holds the log and the message pane still. */
  readonly frozen: Frozen | null;
  /** Rows scrolled back from the newest in the frozen log or pane. */
  readonly paneScroll: number;
  /** The complaints each server logged since it last made progress (PostgreSQL), so a standby's retry every second is one line, not one a second. */
  readonly serverLogLast: ReadonlyMap<NodeId, ReadonlySet<string>>;
}

export type DashboardAction =
  /** `serverLog`: what the servers logged since the last update (PostgreSQL), shown in the log among the events, in time order. */
  | { readonly type: 'cluster-update'; readonly snapshot: Snapshot; readonly events: readonly ClusterEvent[]; readonly eventsDropped?: number; readonly serverLog?: readonly ServerLogEvent[]; readonly failovers?: readonly FailoverDecision[] }
  | { readonly type: 'select'; readonly index: number }
  | { readonly type: 'select-step'; readonly step: 1 | -1 }
  | { readonly type: 'open-help' }
  | { readonly type: 'scroll-help'; readonly to: number }
  | { readonly type: 'open-command'; readonly text: string }
  | { readonly type: 'edit-command'; readonly text: string; readonly hint: string | null }
  | { readonly type: 'recall-command'; readonly step: 1 | -1 }
  | { readonly type: 'submit-command'; readonly text: string }
  | { readonly type: 'show-result'; readonly result: ResultView }
  | { readonly type: 'show-trace'; readonly trace: WriteTrace }
  | { readonly type: 'scroll-trace'; readonly to: number }
  | { readonly type: 'close-overlay' }
  | { readonly type: 'message'; readonly message: Message | null }
  | { readonly type: 'scroll-lab'; readonly to: number }
  | { readonly type: 'toggle-pane' }
  | { readonly type: 'freeze' }
  | { readonly type: 'unfreeze' }
  /** Relative, so keys that arrive before the next render each count: `step` rows back (negative: forward), clamped to [0, max]. */
  | { readonly type: 'scroll-pane'; readonly step: number; readonly max: number }
  | { readonly type: 'quitting' };

export function initialDashboardState(): DashboardState {
  return {
    startedAtMs: null,
    snapshot: null,
    samples: RingBuffer.empty(chartSamplesMax),
    lastSampleAtMs: null,
    staleReadsSeen: null,
    log: RingBuffer.empty(eventLogLinesMax),
    elections: initialElections,
    divergence: initialDivergence,
    crashed: new Set(),
    selected: 0,
    overlay: { kind: 'none' },
    message: null,
    commandHistory: [],
    quitting: false,
    labScroll: 0,
    pane: 'events',
    frozen: null,
    paneScroll: 0,
    serverLogLast: new Map(),
  };
}

export function dashboardReducer(state: DashboardState, action: DashboardAction): DashboardState {
  switch (action.type) {
    case 'cluster-update':
      return clusterUpdate(state, action.snapshot, action.events, action.eventsDropped ?? 0, action.serverLog ?? [], action.failovers ?? []);
    case 'select': {
      const count = state.snapshot?.nodes.length ?? 0;
      if (action.index < 0 || action.index >= count) return state;
      return { ...state, selected: action.index };
    }
    case 'select-step': {
      const count = state.snapshot?.nodes.length ?? 0;
      if (count === 0) return state;
      return { ...state, selected: (state.selected + action.step + count) % count };
    }
    case 'open-help':
      return { ...state, overlay: { kind: 'help', scroll: 0 } };
    case 'scroll-help':
      if (state.overlay.kind !== 'help') return state;
      return { ...state, overlay: { kind: 'help', scroll: Math.max(0, action.to) } };
    case 'open-command':
      return { ...state, overlay: { kind: 'command', text: action.text, hint: null, historyIndex: null } };
    case 'edit-command':
      if (state.overlay.kind !== 'command') return state;
      return { ...state, overlay: { ...state.overlay, text: action.text, hint: action.hint } };
    case 'recall-command': {
      if (state.overlay.kind !== 'command' || state.commandHistory.length === 0) return state;
      const last = state.commandHistory.length - 1;
      const current = state.overlay.historyIndex;
      const next = current === null ? (action.step === -1 ? last : null) : current + action.step;
      if (next === null || next > last) return { ...state, overlay: { kind: 'command', text: '', hint: null, historyIndex: null } };
      const index = Math.max(0, next);
      return { ...state, overlay: { kind: 'command', text: state.commandHistory[index]!, hint: null, historyIndex: index } };
    }
    case 'submit-command': {
      const text = action.text.trim();
      const history = text === '' || state.commandHistory[state.commandHistory.length - 1] === text ? state.commandHistory : [...state.commandHistory, text].slice(-commandHistoryMax);
      return { ...state, overlay: { kind: 'none' }, commandHistory: history };
    }
    case 'show-result':
      return { ...state, overlay: { kind: 'result', result: action.result } };
    case 'show-trace':
      return { ...state, overlay: { kind: 'trace', trace: action.trace, scroll: 0 } };
    case 'scroll-trace':
      if (state.overlay.kind !== 'trace') return state;
      return { ...state, overlay: { ...state.overlay, scroll: Math.max(0, action.to) } };
    case 'close-overlay':
      return { ...state, overlay: { kind: 'none' } };
    case 'message':
      return { ...state, message: action.message };
    case 'scroll-lab':
      return { ...state, labScroll: Math.max(0, action.to) };
    case 'toggle-pane':
      return { ...state, pane: state.pane === 'events' ? 'messages' : 'events', paneScroll: 0 };
    case 'freeze':
      return freeze(state);
    case 'unfreeze':
      if (state.frozen === null) return state;
      return { ...state, frozen: null, paneScroll: 0, message: null };
    case 'scroll-pane':
      if (state.frozen === null) return state;
      return { ...state, paneScroll: Math.max(0, Math.min(action.max, state.paneScroll + action.step)) };
    case 'quitting':
      return { ...state, quitting: true, overlay: { kind: 'none' }, message: { text: 'stopping every node…', level: 'busy' } };
    default:
      return assertNever(action);
  }
}

function assertNever(action: never): never {
  throw new Error(`unknown dashboard action ${JSON.stringify(action)}`);
}

/**
 * Holds the log and the messages as they are now: the cluster keeps running
 * and the live state keeps updating underneath, but what is drawn stays put
 * so a person can scroll back through the last 60 s.
 */
function freeze(state: DashboardState): DashboardState {
  if (state.frozen !== null || state.snapshot === null) return state;
  const atMs = state.snapshot.atMs;
  const frozen: Frozen = {
    atMs,
    log: state.log.toArray().filter((line) => line.atMs >= atMs - frozenHistoryMs),
    messages: state.snapshot.messages ?? null,
    nodes: state.snapshot.nodes,
  };
  return { ...state, frozen, paneScroll: 0, message: { text: 'FROZEN: the cluster keeps running · ↑↓ PgUp PgDn scroll back 60 s · Space or Esc resumes', level: 'info' } };
}

/** What a standby logs again at every retry while it cannot stream. */
const repeatingComplaints: ReadonlySet<ServerLogKind> = new Set<ServerLogKind>(['primary-unreachable', 'timeline-fork', 'streaming-ended']);
/** What a server logs once it is well again: its complaints may be said anew after it. */
const progressKinds: ReadonlySet<ServerLogKind> = new Set<ServerLogKind>(['ready', 'promoted', 'timeline-selected', 'streaming-started', 'shutdown']);
/** Distinct complaints remembered per server. */
const serverLogComplaintsMax = 16;

function clusterUpdate(state: DashboardState, snapshot: Snapshot, events: readonly ClusterEvent[], eventsDropped: number, serverLog: readonly ServerLogEvent[], failovers: readonly FailoverDecision[]): DashboardState {
  let { log, elections, crashed, divergence, serverLogLast } = state;
  // Nodes report in batches; in time order, a rollback reads before the lost writes it caused.
  const ordered = [...events].sort((a, b) => a.atMs - b.atMs);
  const shown = ordered.length > eventsPerUpdateMax ? ordered.slice(ordered.length - eventsPerUpdateMax) : ordered;
  const skipped = eventsDropped + events.length - shown.length;
  if (skipped > 0) log = appendLine(log, snapshot.atMs, `${skipped} events not shown (too many at once)`, 'warn');
  const described = describeEvents(shown, elections, snapshot.engine);
  elections = described.elections;
  const kept = serverLog.length > eventsPerUpdateMax ? serverLog.slice(serverLog.length - eventsPerUpdateMax) : serverLog;
  if (kept.length < serverLog.length) log = appendLine(log, snapshot.atMs, `${serverLog.length - kept.length} server log lines not shown (too many at once)`, 'warn');
  // A standby that cannot stream retries every wal_retrieve_retry_interval and logs each failure
  // (its primary unreachable, a timeline it cannot follow): each complaint is said once, until the
  // server makes progress again (streams, becomes ready, is promoted).
  const logged: ServerLogEvent[] = [];
  if (kept.length > 0) {
    const shown = new Map(serverLogLast);
    for (const entry of kept) {
      const complaints = shown.get(entry.node) ?? new Set<string>();
      if (!repeatingComplaints.has(entry.kind)) {
        logged.push(entry);
        if (progressKinds.has(entry.kind)) shown.delete(entry.node);
        continue;
      }
      if (complaints.has(entry.text)) continue;
      logged.push(entry);
      // Bounded: a server whose complaints keep changing starts again from none.
      shown.set(entry.node, complaints.size >= serverLogComplaintsMax ? new Set([entry.text]) : new Set([...complaints, entry.text]));
    }
    serverLogLast = shown;
  }
  // The servers' own lines among the events, in time order (a stable sort keeps each source's order).
  const decided = failovers.slice(-eventsPerUpdateMax).map(failoverLine);
  const lines = [...described.lines, ...logged.map(serverLogLine), ...decided].sort((a, b) => a.atMs - b.atMs);
  for (const line of lines) log = appendLine(log, line.atMs, line.text, line.level);
  for (const entry of shown) {
    crashed = trackCrashes(crashed, entry);
    const changed = stateReplacedOn(entry);
    if (changed !== null) divergence = forgetNode(divergence, changed);
  }
  divergence = trackChecksums(divergence, snapshot.nodes);
  const next: DashboardState = {
    ...state,
    startedAtMs: state.startedAtMs ?? snapshot.atMs,
    snapshot,
    log,
    elections,
    crashed,
    divergence,
    serverLogLast,
    selected: Math.min(state.selected, Math.max(0, snapshot.nodes.length - 1)),
  };
  const due = state.lastSampleAtMs === null || snapshot.atMs - state.lastSampleAtMs >= chartSampleMs;
  return due ? addSample(next, snapshot) : next;
}

/** Repeats of the newest line are counted on it instead of filling the log. */
function appendLine(log: RingBuffer<LogLine>, atMs: number, text: string, level: LogLevel): RingBuffer<LogLine> {
  const newest = log.newest();
  if (newest !== undefined && newest.text === text) return log.replaceNewest({ ...newest, atMs, repeat: newest.repeat + 1 });
  return log.push({ atMs, text, level, repeat: 1 });
}

/** The node whose state a rollback, a rebuild or a restart just replaced, if any. */
function stateReplacedOn(entry: ClusterEvent): NodeId | null {
  const event = entry.event;
  switch (event.type) {
    case 'entries-rolled-back':
    case 'state-rebuilt':
    case 'node-started':
      return event.node;
    default:
      return null;
  }
}

function trackCrashes(crashed: ReadonlySet<NodeId>, entry: ClusterEvent): ReadonlySet<NodeId> {
  const event = entry.event;
  if (event.type === 'node-exited' && !event.expected && !crashed.has(event.node)) return new Set([...crashed, event.node]);
  if (event.type === 'node-started' && crashed.has(event.node)) return new Set([...crashed].filter((id) => id !== event.node));
  return crashed;
}

function addSample(state: DashboardState, snapshot: Snapshot): DashboardState {
  const replayLagMs: Record<NodeId, number> = {};
  for (const node of snapshot.nodes) if (node.lag !== null && node.id !== snapshot.leader) replayLagMs[node.id] = node.lag.replayLagMs;
  const staleCount = snapshot.workload?.consistency?.staleReads;
  let staleReadsPerSecond: number | null = null;
  let staleReadsSeen = state.staleReadsSeen;
  if (typeof staleCount === 'number') {
    const previous = state.staleReadsSeen;
    staleReadsPerSecond = previous === null || snapshot.atMs <= previous.atMs ? 0 : Math.max(0, ((staleCount - previous.count) * 1_000) / (snapshot.atMs - previous.atMs));
    staleReadsSeen = { atMs: snapshot.atMs, count: staleCount };
  }
  const sample: Sample = {
    atMs: snapshot.atMs,
    leader: snapshot.leader,
    replayLagMs,
    staleReadsPerSecond,
    lostWrites: snapshot.lostWrites,
    divergentReplicas: snapshot.engine === 'postgres' ? null : divergentNodes(state.divergence).length,
    uncommittedVisible: snapshot.engine === 'postgres' ? null : uncommittedVisible(snapshot.nodes),
  };
  return { ...state, samples: state.samples.push(sample), lastSampleAtMs: snapshot.atMs, staleReadsSeen };
}

/** The cluster's commit index: the highest any live node knows of. */
export function clusterCommitIndex(nodes: readonly NodeStatus[]): number {
  return Math.max(0, ...nodes.filter((node) => node.up).map((node) => node.commitIndex));
}

/** How far the most eager live node has applied past the commit index. */
export function uncommittedVisible(nodes: readonly NodeStatus[]): number {
  const commit = clusterCommitIndex(nodes);
  return Math.max(0, ...nodes.filter((node) => node.up).map((node) => node.appliedIndex - commit));
}
