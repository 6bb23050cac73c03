// Pure helpers the checks and debriefs share: events and actions since a step
// began, write latencies and read anomalies from the workload's history, and
// whether a read the person ran was stale. Nothing here touches a process.

import { OnlineChecker, type HistoryRecord, type OnlineCounts, type ReadAnomaly, type WriteOk } from '../cluster/check/index.js';
import type { ClusterEvent, NodeId, NodeStatus } from '../cluster/index.js';
import type { EngineKind } from '../cluster/engine.js';
import type { Action, Baseline, EarlierRun, Observation, RunSummary } from './types.js';

export type LabEvent = ClusterEvent['event'];
export type LabEventType = LabEvent['type'];
export type EventOf<T extends LabEventType> = Extract<LabEvent, { type: T }>;
export interface TimedEvent<T extends LabEventType> {
  readonly atMs: number;
  readonly event: EventOf<T>;
}

/** Events of one type, at or after `sinceWall` (Date.now() ms). */
export function eventsOf<T extends LabEventType>(o: Pick<Observation, 'events'>, type: T, sinceWall = -Infinity): TimedEvent<T>[] {
  const out: TimedEvent<T>[] = [];
  for (const { atMs, event } of o.events) {
    if (event.type === type && atMs >= sinceWall) out.push({ atMs, event: event as EventOf<T> });
  }
  return out;
}

/** Actions taken after the step began. */
export function actionsSince(o: Pick<Observation, 'actions'>, before: Pick<Baseline, 'actionCount'>): Action[] {
  return o.actions.filter((action) => action.seq > before.actionCount);
}

/** The actions of one kind (an intersection, so the node actions sharing one member narrow too). */
export type ActionOf<K extends Action['kind']> = Action & { readonly kind: K };

export function actionsOf<K extends Action['kind']>(actions: readonly Action[], kind: K): ActionOf<K>[] {
  return actions.filter((action): action is ActionOf<K> => action.kind === kind);
}

export function node(o: Pick<Observation, 'status'>, id: NodeId | null): NodeStatus | undefined {
  return id === null ? undefined : o.status.find((n) => n.id === id);
}

/** Running (up, not paused) nodes other than the leader. */
export function liveFollowers(o: Pick<Observation, 'status' | 'leader'>): NodeStatus[] {
  return o.status.filter((n) => n.up && !n.paused && n.id !== o.leader);
}

/** The highest term any node reports. */
export function maxTerm(status: readonly NodeStatus[]): number {
  return Math.max(0, ...status.map((n) => n.term));
}

/** Nodes whose status says they lead, highest term first. */
export function leaders(o: Pick<Observation, 'status'>): NodeStatus[] {
  return o.status.filter((n) => n.up && !n.paused && n.role === 'leader').sort((a, b) => b.term - a.term);
}

/**
 * The delay on each link as the journal leaves it: `setLink` sets one
 * direction, `heal` clears every link. Key `from>to`.
 */
export function linkDelays(actions: readonly Action[]): Map<string, number> {
  const delays = new Map<string, number>();
  for (const action of actions) {
    if (action.kind === 'heal') delays.clear();
    if (action.kind === 'link') {
      const delayMs = action.options.delayMs ?? delays.get(`${action.from}>${action.to}`) ?? 0;
      if (delayMs > 0) delays.set(`${action.from}>${action.to}`, delayMs);
      else delays.delete(`${action.from}>${action.to}`);
    }
  }
  return delays;
}

/** The smaller delay of the two directions between a and b (0 when either is fast). */
export function delayBetween(delays: ReadonlyMap<string, number>, a: NodeId, b: NodeId): number {
  return Math.min(delays.get(`${a}>${b}`) ?? 0, delays.get(`${b}>${a}`) ?? 0);
}

/** The first action after which the link between a and b was slowed by at least `delayMs` both ways. */
export function slowedAt(actions: readonly Action[], a: NodeId, b: NodeId, delayMsMin: number): Action | null {
  for (let i = 0; i < actions.length; i++) {
    if (delayBetween(linkDelays(actions.slice(0, i + 1)), a, b) >= delayMsMin) return actions[i]!;
  }
  return null;
}

// ---------------------------------------------------------------------------
// History

export function writesAcked(history: readonly HistoryRecord[], sinceMono = -Infinity): WriteOk[] {
  return history.filter((r): r is WriteOk => r.type === 'ok' && r.f === 'write' && r.mono >= sinceMono);
}

/** Writes invoked at or after `sinceMono`, each with how it ended (null: still running). */
export function writesInvoked(history: readonly HistoryRecord[], sinceMono: number): { op: number; node: string | null; mono: number; end: HistoryRecord | null }[] {
  const byOp = new Map<number, { op: number; node: string | null; mono: number; end: HistoryRecord | null }>();
  for (const r of history) {
    if (r.type === 'invoke' && r.f === 'write' && r.mono >= sinceMono) byOp.set(r.op, { op: r.op, node: r.node, mono: r.mono, end: null });
    else if ((r.type === 'ok' || r.type === 'fail' || r.type === 'info') && r.f === 'write') {
      const write = byOp.get(r.op);
      if (write !== undefined) write.end = r;
    }
  }
  return [...byOp.values()];
}

/** Latencies (ms) of the writes invoked at or after `sinceMono` and acknowledged. */
export function writeLatencies(history: readonly HistoryRecord[], sinceMono: number): number[] {
  return writesInvoked(history, sinceMono).flatMap((w) => (w.end?.type === 'ok' ? [w.end.mono - w.mono] : []));
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export interface ReadSummary {
  readonly counts: OnlineCounts;
  readonly examples: { readonly staleReads: readonly ReadAnomaly[]; readonly readYourWrites: readonly ReadAnomaly[]; readonly monotonicReads: readonly ReadAnomaly[] };
  /** Reads invoked since, acknowledged, per node. */
  readonly readsByNode: ReadonlyMap<string, number>;
  /** Median and highest latency of those reads per node (ms). */
  readonly readLatencyByNode: ReadonlyMap<string, { readonly median: number; readonly max: number }>;
}

/**
 * The read checks of cluster/check over the reads invoked at or after
 * `sinceMono`, judged against writes acknowledged at or after it: what a
 * setting changed at `sinceMono` guarantees from then on.
 */
export function readsSince(history: readonly HistoryRecord[], sinceMono: number): ReadSummary {
  const checker = new OnlineChecker();
  const reads = new Map<number, number>();
  const readsByNode = new Map<string, number>();
  const latencies = new Map<string, number[]>();
  for (const r of history) {
    if (r.type === 'invoke') {
      if (r.f === 'read' && r.mono >= sinceMono) {
        reads.set(r.op, r.mono);
        checker.observe(r);
      }
      continue;
    }
    if (r.type === 'ok' && r.f === 'write') {
      if (r.mono >= sinceMono) checker.observe(r);
      continue;
    }
    if ((r.type === 'ok' || r.type === 'fail') && r.f === 'read') {
      const invoked = reads.get(r.op);
      if (invoked === undefined) continue;
      checker.observe(r);
      if (r.type === 'ok') {
        readsByNode.set(r.node, (readsByNode.get(r.node) ?? 0) + 1);
        const list = latencies.get(r.node) ?? [];
        list.push(r.mono - invoked);
        latencies.set(r.node, list);
      }
    }
  }
  const readLatencyByNode = new Map<string, { median: number; max: number }>();
  for (const [id, list] of latencies) readLatencyByNode.set(id, { median: median(list)!, max: Math.max(...list) });
  return { counts: checker.counts(), examples: checker.examples(), readsByNode, readLatencyByNode };
}

/** The latest `workload` history record (the options in force), with when it was written. */
export function latestWorkloadOptions(history: readonly HistoryRecord[]): { mono: number; options: Readonly<Record<string, unknown>> } | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const r = history[i]!;
    if (r.type === 'workload') return { mono: r.mono, options: r.options };
  }
  return null;
}

/** When the workload's options last started to satisfy `wanted` (and still do), or null. */
export function optionsSatisfiedSince(history: readonly HistoryRecord[], wanted: (options: Readonly<Record<string, unknown>>) => boolean): number | null {
  let since: number | null = null;
  for (const r of history) {
    if (r.type !== 'workload') continue;
    if (wanted(r.options)) since ??= r.mono;
    else since = null;
  }
  return since;
}

// ---------------------------------------------------------------------------
// Reads the person ran

export interface Staleness {
  readonly stale: boolean;
  /** `key`: a row's idx against the newest acknowledged write to its key; `index`: the node's applied index against the newest acknowledged write. */
  readonly basis: 'key' | 'index';
  readonly key: string | null;
  /** What the read saw: the row's idx (0 when absent) or the node's applied index. */
  readonly seen: number;
  /** The newest write acknowledged before the read began that it should at least show. */
  readonly newest: { readonly index: number; readonly key: string | null } | null;
}

/** Keys a statement names as `k = '…'` or `k IN ('…', …)`, and string parameters. */
export function keysNamed(sql: string, params: readonly unknown[]): string[] {
  const keys = new Set<string>();
  for (const match of sql.matchAll(/\bk\s*=\s*'([^']*)'/gi)) keys.add(match[1]!);
  for (const match of sql.matchAll(/\bk\s+in\s*\(([^)]*)\)/gi)) for (const item of match[1]!.matchAll(/'([^']*)'/g)) keys.add(item[1]!);
  if (/\bk\s*=\s*\?/i.test(sql)) for (const param of params) if (typeof param === 'string') keys.add(param);
  return [...keys];
}

/**
 * Whether a read returned less than was acknowledged before it began. Per key
 * when the rows carry `k` and `idx` (or the statement names its keys): a row
 * whose idx is below the index of a write to that key acknowledged before the
 * read began is stale. Otherwise by the node's applied index against the
 * newest acknowledged write. Null when nothing acknowledged could be compared.
 */
export function staleness(read: ActionOf<'query'>, history: readonly HistoryRecord[]): Staleness | null {
  if (!read.outcome.ok) return null;
  const acked = writesAcked(history).filter((w) => w.mono < read.mono);
  if (acked.length === 0) return null;
  const newestFor = (key: string): WriteOk | null => acked.reduce<WriteOk | null>((best, w) => (w.key === key && (best === null || w.index > best.index) ? w : best), null);
  const seenFor = new Map<string, number>();
  for (const row of read.outcome.rows) {
    if (typeof row['k'] === 'string') seenFor.set(row['k'], typeof row['idx'] === 'number' ? row['idx'] : 0);
  }
  const hasIdx = read.outcome.columns.includes('idx');
  const keys = new Set([...(hasIdx ? seenFor.keys() : []), ...(hasIdx || read.outcome.rows.length === 0 ? keysNamed(read.sql, read.params) : [])]);
  let verdict: Staleness | null = null;
  for (const key of keys) {
    const newest = newestFor(key);
    if (newest === null) continue;
    const seen = seenFor.get(key) ?? 0;
    const candidate: Staleness = { stale: seen < newest.index, basis: 'key', key, seen, newest: { index: newest.index, key } };
    if (verdict === null || (candidate.stale && !verdict.stale)) verdict = candidate;
  }
  if (verdict !== null) return verdict;
  const newest = acked.reduce((best, w) => (w.index > best.index ? w : best));
  return { stale: read.outcome.index < newest.index, basis: 'index', key: null, seen: read.outcome.index, newest: { index: newest.index, key: newest.key } };
}

// ---------------------------------------------------------------------------
// Words

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '?';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** "n1, n2 and n3". */
export function listing(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * The person's last passed run of this lab on `engine` (from the progress
 * file), with its facts as the lab's own type, or null when they have not
 * passed it there: what a debrief compares the run with. The facts came from
 * a JSON file, so a debrief reads each one as possibly absent.
 */
export function earlierOn<F>(run: Pick<RunSummary, 'earlier'>, engine: EngineKind): (Omit<EarlierRun, 'facts'> & { readonly facts: Partial<F> }) | null {
  const found = run.earlier?.find((earlier) => earlier.engine === engine);
  return found === undefined ? null : { ...found, facts: found.facts as Partial<F> };
}
