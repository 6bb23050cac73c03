// Turns cluster events into the event log's lines: one line per thing a
// learner wants to see (an election with its votes and how long the cluster
// had no leader, a fault, a rollback, a lost write), not one per message.
// Votes and per-node term changes are folded into the election they belong to.

import type { ClusterEvent, NodeId, SupervisorEvent } from '../../cluster/index.js';
import type { NodeEvent } from '../../cluster/index.js';
import type { FailoverDecision } from '../../cluster/postgres/cluster.js';
import type { ServerLogEvent, ServerLogKind } from '../../cluster/postgres/server-log.js';
import type { EngineKind } from '../../cluster/engine.js';
import { formatBytes, formatLsn, formatMs } from '../format.js';
import { denialText } from './message-rows.js';

export type LogLevel = 'info' | 'notice' | 'warn' | 'error';

export interface LogLine {
  readonly atMs: number;
  readonly text: string;
  readonly level: LogLevel;
  /** How many identical lines in a row this one stands for. */
  readonly repeat: number;
}

/** What the log remembers between events to describe elections. */
export interface ElectionTracker {
  /** The leader as the events tell it. */
  readonly leader: NodeId | null;
  /** When the cluster was last seen without a leader (leader lost, or the first campaign). */
  readonly leaderlessSinceMs: number | null;
  /** Why it became leaderless, for the elected line: "leader n1 exited". */
  readonly leaderlessBecause: string | null;
  /** The first campaign since the last election while a leader was still known (a partition, a transfer). */
  readonly campaignSinceMs: number | null;
  /** The highest term any node has announced: a term change is logged once, by its first node. */
  readonly termMax: number;
}

export const initialElections: ElectionTracker = { leader: null, leaderlessSinceMs: null, leaderlessBecause: null, campaignSinceMs: null, termMax: 0 };

/** A campaign older than this while a leader was known is an isolated node's, not part of the next election. */
const campaignRelevantMs = 10_000;

export interface Described {
  readonly line: { readonly text: string; readonly level: LogLevel } | null;
  readonly elections: ElectionTracker;
}

/** The line for one event (or none), and what the tracker learnt from it. */
export function describeEvent(entry: ClusterEvent, elections: ElectionTracker): Described {
  const event = entry.event;
  if (isSupervisorEvent(event)) return describeSupervisorEvent(event, entry.atMs, elections);
  return describeNodeEvent(event, entry.atMs, elections);
}

/**
 * Describes a batch in order. A node that moves to a new term to campaign
 * reports the term change just before the campaign; the campaign's line says
 * both, so that term change gets no line of its own.
 */
export function describeEvents(entries: readonly ClusterEvent[], elections: ElectionTracker, engine: EngineKind = 'replica-lab'): { lines: { atMs: number; text: string; level: LogLevel }[]; elections: ElectionTracker } {
  const campaigns = new Set<string>();
  // A truncation that undoes applied entries reports them (entries-rolled-back) and then the whole range (entries-truncated): one line each range.
  const rolledBack = new Map<string, number>();
  for (const { event } of entries) {
    if (event.type === 'election-started' && !event.pre) campaigns.add(`${event.node}@${event.term}`);
    if (event.type === 'entries-rolled-back') rolledBack.set(`${event.node}@${event.fromIndex}`, event.toIndex);
  }
  const lines: { atMs: number; text: string; level: LogLevel }[] = [];
  let tracker = elections;
  for (const entry of entries) {
    const event = entry.event;
    if (event.type === 'term-changed' && campaigns.has(`${event.node}@${event.to}`)) {
      tracker = { ...tracker, termMax: Math.max(tracker.termMax, event.to) };
      continue;
    }
    if (event.type === 'entries-truncated') {
      const appliedTo = rolledBack.get(`${event.node}@${event.fromIndex}`);
      if (appliedTo !== undefined) {
        const unapplied = event.fromIndex + event.count - 1 - appliedTo;
        if (unapplied > 0) lines.push({ atMs: entry.atMs, text: `${event.node} also drops ${unapplied} never-applied entr${unapplied === 1 ? 'y' : 'ies'} from index ${appliedTo + 1}`, level: 'info' });
        continue;
      }
    }
    const described = (engine === 'postgres' ? describePostgresEvent(entry, tracker) : null) ?? describeEvent(entry, tracker);
    tracker = described.elections;
    if (described.line !== null) lines.push({ atMs: entry.atMs, ...described.line });
  }
  return { lines, elections: tracker };
}

/**
 * The events whose replica-lab words are not PostgreSQL's: a promotion starts
 * a timeline at an LSN (the engine reports them as term and lastIndex), a
 * rewind (not a Raft rollback) removes lost writes, and a cluster without its
 * primary has no primary. Null: the replica-lab line holds.
 */
function describePostgresEvent(entry: ClusterEvent, elections: ElectionTracker): Described | null {
  const event = entry.event;
  switch (event.type) {
    case 'promoted':
      return {
        line: { text: `${event.node} promoted to primary (pg_ctl promote): timeline ${event.term}, WAL at ${formatLsn(event.lastIndex)}`, level: 'notice' },
        elections: { ...initialElections, leader: event.node, termMax: Math.max(elections.termMax, event.term) },
      };
    case 'writes-lost': {
      const count = event.writes.length;
      return { line: { text: `LOST ${count} acknowledged write${count === 1 ? '' : 's'}: pg_rewind removed ${count === 1 ? 'its commit' : 'their commits'} from ${event.node}, the old primary (${event.rollbackPath})`, level: 'error' }, elections };
    }
    case 'node-exited': {
      const described = describeEvent(entry, elections);
      if (described.line === null) return described;
      return { ...described, line: { ...described.line, text: described.line.text.replace(': the cluster has no leader', ': the cluster has no primary') } };
    }
    default:
      return null;
  }
}

const supervisorEventTypes: ReadonlySet<string> = new Set<SupervisorEvent['type']>([
  'node-started',
  'node-exited',
  'fault',
  'writes-lost',
  'malformed-from-node',
  'replication-set',
  'membership',
]);

function isSupervisorEvent(event: NodeEvent | SupervisorEvent): event is SupervisorEvent {
  return supervisorEventTypes.has(event.type);
}

function leaderLost(elections: ElectionTracker, atMs: number, because: string): ElectionTracker {
  return { ...elections, leader: null, leaderlessSinceMs: elections.leaderlessSinceMs ?? atMs, leaderlessBecause: elections.leaderlessBecause ?? because };
}

function describeSupervisorEvent(event: SupervisorEvent, atMs: number, elections: ElectionTracker): Described {
  const say = (text: string, level: LogLevel = 'info'): Described => ({ line: { text, level }, elections });
  switch (event.type) {
    case 'node-started':
      return say(`${event.node} started (pid ${event.pid}${event.incarnation > 0 ? `, restart ${event.incarnation}` : ''})`);
    case 'node-exited': {
      const how = event.signal !== null ? event.signal : `exit code ${String(event.code)}`;
      const wasLeader = elections.leader === event.node;
      const next = wasLeader ? leaderLost(elections, atMs, `leader ${event.node} exited`) : elections;
      if (event.expected) return { line: { text: `${event.node} exited (${how})${wasLeader ? ': the cluster has no leader' : ''}`, level: 'notice' }, elections: next };
      const lastLine = event.logTail.trim().split('\n').pop() ?? '';
      return { line: { text: `${event.node} CRASHED (${how})${lastLine === '' ? '' : `: ${lastLine}`}`, level: 'error' }, elections: next };
    }
    case 'fault': {
      const next = leaderHitBy(event, elections) ? leaderLost(elections, atMs, `leader ${elections.leader} ${event.fault === 'pause' ? 'paused' : 'cut off'}`) : elections;
      const what = event.fault === 'partition' ? `partition ${event.detail}` : event.fault === 'link' ? linkText(event.detail) : event.detail;
      return { line: { text: `fault: ${what}`, level: event.fault === 'heal' || event.fault === 'resume' || event.fault === 'restart' ? 'notice' : 'warn' }, elections: next };
    }
    case 'writes-lost':
      return say(`LOST ${event.writes.length} acknowledged write${event.writes.length === 1 ? '' : 's'}: ${event.node} rolled back ${indexes(event.writes.map((w) => w.index))} (${event.rollbackPath})`, 'error');
    case 'malformed-from-node':
      return say(`${event.node} sent a malformed message (dropped): ${event.reason}`, 'warn');
    case 'replication-set': {
      const r = event.replication;
      const quorum = r.mode === 'quorum' && r.quorum !== null ? ` k=${r.quorum}` : '';
      const standbys = r.mode === 'sync' && r.syncStandbys !== null ? ` (standbys ${r.syncStandbys.join(' ')})` : '';
      const why = event.reason === undefined ? '' : `: ${event.reason}`;
      return say(`replication set to ${r.mode}${quorum}${standbys}, ack ${r.ackLevel}${r.syncTimeoutMs === null ? '' : `, sync timeout ${r.syncTimeoutMs}ms then ${r.syncFallback}`}${why}`, 'notice');
    }
    case 'membership':
      return say(membershipText(event), 'notice');
    default:
      return unknownEvent(event, elections);
  }
}

/** "n4 joined as a learner: voters n1 n2 n3, learners n4; majority 2 -> 2 (index 41)". */
export function membershipText(event: Extract<SupervisorEvent, { type: 'membership' }>): string {
  const what = event.change === 'joined' ? `joined as a ${event.as ?? 'member'}` : event.change === 'promoted' ? 'promoted from learner to voter' : 'left the cluster';
  const members = `voters ${event.voters.join(' ')}${event.learners.length > 0 ? `, learners ${event.learners.join(' ')}` : ''}`;
  return `${event.node} ${what}: ${members}; majority ${event.majorityBefore} -> ${event.majorityAfter}${event.index === null ? '' : ` (index ${event.index})`}`;
}

/** Whether a fault took the leader away: paused, or partitioned into a smaller group than another. */
function leaderHitBy(event: Extract<SupervisorEvent, { type: 'fault' }>, elections: ElectionTracker): boolean {
  const leader = elections.leader;
  if (leader === null) return false;
  if (event.fault === 'pause') return event.detail.startsWith(`${leader} `);
  if (event.fault !== 'partition') return false;
  const groups = event.detail.split('|').map((group) => group.trim().split(/\s+/).filter((id) => id !== ''));
  const own = groups.find((group) => group.includes(leader));
  return own !== undefined && groups.some((group) => group !== own && group.length > own.length);
}

function describeNodeEvent(event: NodeEvent, atMs: number, elections: ElectionTracker): Described {
  const say = (text: string, level: LogLevel = 'info'): Described => ({ line: { text, level }, elections });
  const quiet: Described = { line: null, elections };
  switch (event.type) {
    case 'election-started': {
      const next =
        elections.leader === null
          ? { ...elections, leaderlessSinceMs: elections.leaderlessSinceMs ?? atMs, leaderlessBecause: elections.leaderlessBecause ?? `${event.node} timed out` }
          : { ...elections, campaignSinceMs: elections.campaignSinceMs ?? atMs };
      if (event.pre) return { line: null, elections: next };
      return {
        line: { text: `${event.node} campaigns for term ${event.term}${event.transfer ? ' (leadership transfer)' : ''}`, level: 'info' },
        elections: { ...next, termMax: Math.max(next.termMax, event.term) },
      };
    }
    case 'vote-granted':
      return quiet;
    case 'vote-denied':
      if (event.pre) return quiet;
      return say(`${event.node} denies ${event.candidate} its vote in term ${event.term}: ${denialText(event.reason)}`);
    case 'leader-elected': {
      const campaign = elections.campaignSinceMs !== null && atMs - elections.campaignSinceMs <= campaignRelevantMs ? elections.campaignSinceMs : null;
      const since = elections.leaderlessSinceMs ?? campaign;
      const took = since === null ? '' : `, ${formatMs(atMs - since)} without a leader`;
      const because = since === null || elections.leaderlessBecause === null ? '' : ` after ${elections.leaderlessBecause}`;
      return {
        line: { text: `${event.node} elected leader of term ${event.term}, votes ${event.votes.join(' ')}${took}${because}`, level: 'notice' },
        elections: { ...initialElections, leader: event.node, termMax: Math.max(elections.termMax, event.term) },
      };
    }
    case 'election-lost':
      if (event.pre) return quiet;
      return say(`${event.node} lost the election for term ${event.term}${event.denials.length > 0 ? ` (denied by ${event.denials.join(' ')})` : ''}`);
    case 'stepped-down': {
      const next = elections.leader === event.node ? leaderLost(elections, atMs, `${event.node} stepped down`) : elections;
      return { line: { text: `${event.node} steps down in term ${event.term}: ${stepDown(event.reason)}`, level: 'warn' }, elections: next };
    }
    case 'term-changed':
      if (event.to <= elections.termMax) return quiet;
      return { line: { text: `term ${event.to} begins (${event.node} moved from term ${event.from})`, level: 'info' }, elections: { ...elections, termMax: event.to } };
    case 'entries-rolled-back':
      return say(`${event.node} rolls back applied entries ${range(event.fromIndex, event.toIndex)}${event.leader === null ? '' : `: leader ${event.leader}'s log does not hold them`}`, 'warn');
    case 'entries-truncated':
      return say(`${event.node} truncates ${event.count} entr${event.count === 1 ? 'y' : 'ies'} from its log, from index ${event.fromIndex}: the leader's log differs there`);
    case 'committed-entries-lost':
      return say(`${event.node} lost committed entries from ${event.fromIndex} (it had seen commit ${event.commitIndex}): the promoted node was behind`, 'error');
    case 'sync-waiting':
      return say(`${event.node} waits for sync standby ${event.lagging.join(' ')} at index ${event.index}`, 'warn');
    case 'sync-degraded':
      return say(`${event.node} degrades to async: ${event.lagging.join(' ')} did not ack index ${event.index} in time`, 'warn');
    case 'sync-restored':
      return say(`${event.node} is synchronous again from index ${event.index}`, 'notice');
    case 'replication-changed':
      // The supervisor's replication-set says it once for the whole cluster.
      return quiet;
    case 'transfer-started':
      return say(`${event.node} hands leadership to ${event.target} (term ${event.term})`, 'notice');
    case 'transfer-aborted':
      return say(`${event.node} gave up handing leadership to ${event.target} (term ${event.term})`, 'warn');
    case 'promoted':
      return {
        line: { text: `${event.node} promoted to leader of term ${event.term} at index ${event.lastIndex}`, level: 'notice' },
        elections: { ...initialElections, leader: event.node, termMax: Math.max(elections.termMax, event.term) },
      };
    case 'higher-term-ignored':
      return say(`SPLIT BRAIN: ${event.node} ignores term ${event.seen} from ${event.from} and keeps leading term ${event.term} (fencing off)`, 'error');
    case 'membership-changed': {
      const { voters, learners } = event.membership;
      const members = `voters ${voters.join(' ')}${learners.length > 0 ? `, learners ${learners.join(' ')}` : ''}`;
      const majority = `majority ${event.majorityBefore} -> ${event.majorityAfter}`;
      return say(`${event.node} ${event.committed ? 'committed' : 'proposed'} membership at index ${event.index}: ${members} (${majority})`, 'notice');
    }
    case 'campaign-refused':
      return say(`${event.node} does not campaign: term ${event.term} is the highest its peers accept (${event.termMax})`, 'error');
    case 'events-dropped':
      return say(`${event.node} dropped ${event.count} events (too many to report)`, 'warn');
    case 'snapshot-restored':
      return say(`${event.node} installed the leader's snapshot at index ${event.index} (term ${event.term})`, 'notice');
    case 'snapshot-taken':
      return say(
        `${event.node} took a snapshot at index ${event.index} (${formatBytes(event.bytes)}, ${formatMs(event.durationMs)}); WAL kept ${formatBytes(event.walBytesRetained)}${event.walBytesRemoved > 0 ? `, ${formatBytes(event.walBytesRemoved)} compacted away` : ''}`,
        'info',
      );
    case 'snapshot-sent':
      return say(`${event.node} sent its snapshot at index ${event.index} to ${event.to}: ${formatBytes(event.bytes)} in ${formatMs(event.durationMs)}${event.rewinds > 0 ? ` (${event.rewinds} resends)` : ''}`, 'notice');
    case 'snapshot-installed':
      return say(
        `${event.node} installed ${event.from}'s snapshot at index ${event.index}: ${formatBytes(event.bytes)} in ${formatMs(event.durationMs)} (install ${formatMs(event.installMs)}), log ${event.log === 'kept' ? 'kept after it' : 'restarted after it'}`,
        'notice',
      );
    case 'snapshot-failed':
      return say(`${event.node} could not send its snapshot at index ${event.index} to ${event.to} (retried): ${event.reason}`, 'warn');
    case 'wal-recovered': {
      const torn = event.truncatedBytes > 0 ? `, cut a torn tail of ${event.truncatedBytes} bytes` : '';
      const problem = event.problem === null ? '' : ` (${event.problem})`;
      if (event.records === 0 && torn === '' && problem === '') return quiet;
      return say(`${event.node} recovered its WAL: ${event.records} records up to index ${event.lastIndex}${torn}${problem}`, torn === '' && problem === '' ? 'info' : 'warn');
    }
    case 'state-rebuilt':
      return say(`${event.node} rebuilt its SQLite state up to index ${event.appliedIndex}: ${event.reason}`, 'warn');
    case 'rollback-written':
      return say(`${event.node} wrote ${event.writes.length} rolled-back write${event.writes.length === 1 ? '' : 's'} to ${event.path}`, 'warn');
    case 'malformed-message':
      return say(`${event.node} dropped a malformed message (${event.count} so far): ${event.reason}`, 'warn');
    case 'connection-refused':
      return say(`${event.node} refused a connection to its socket (${event.count} so far): ${event.reason}`, 'warn');
    case 'node-wedged':
      return say(`${event.node} is wedged: ${event.reason}${event.statement === null ? '' : ` (applying: ${event.statement})`}`, 'error');
    case 'node-corrupt':
      return say(`${event.node} refused to start: ${event.message}`, 'error');
    case 'node-rebuilt':
      return say(`${event.node} is rebuilt: its log reached index ${event.index} of term ${event.term}, where its old log ended; it votes again`, 'notice');
    default:
      return unknownEvent(event, elections);
  }
}

/** How loud each thing a PostgreSQL server logged is in the event log. */
const serverLogLevels: Readonly<Record<ServerLogKind, LogLevel>> = {
  ready: 'info',
  promoted: 'notice',
  'timeline-selected': 'notice',
  'streaming-started': 'notice',
  'streaming-ended': 'warn',
  'primary-unreachable': 'warn',
  'sync-standby': 'notice',
  'timeline-fork': 'error',
  shutdown: 'info',
};

/**
 * One line a server wrote to its log, marked as such and in its own words
 * (`n2 logged: selected new timeline ID: 2`); the everyday `LOG:` severity is
 * left out, any other (`FATAL:`) kept.
 */
export function serverLogLine(event: ServerLogEvent): { atMs: number; text: string; level: LogLevel } {
  return { atMs: event.atMs, text: `${event.node} logged: ${event.text.replace(/^LOG:\s+/, '')}`, level: serverLogLevels[event.kind] ?? 'info' };
}

/**
 * The PostgreSQL failover manager's decision, said as what it is: one process
 * in the supervisor that decided (the role Patroni or repmgr plays), not a vote.
 */
export function failoverLine(decision: FailoverDecision): { atMs: number; text: string; level: LogLevel } {
  const lost = decision.from === null ? 'with no primary' : `with ${decision.from} unreachable`;
  const fenced = decision.fenced ? `, after killing ${decision.from} first (fencing)` : '';
  if (decision.error !== null) return { atMs: decision.atMs, text: `failover manager (not consensus), ${lost}: could not promote ${decision.to}${fenced}: ${decision.error}`, level: 'error' };
  return { atMs: decision.atMs, text: `failover manager (not consensus), ${lost}: promoted ${decision.to}, the standby that had received the most WAL (${formatLsn(decision.receivedLsn)})${fenced}`, level: 'notice' };
}

/**
 * The entries of `all` (an engine's bounded log, oldest first, the same
 * objects from call to call) after `lastSeen`; all of them when `lastSeen` is
 * null, or has been dropped from the log (then every entry there is newer).
 */
export function serverLogSince<T>(all: readonly T[], lastSeen: T | null): readonly T[] {
  if (lastSeen === null) return all;
  const at = all.lastIndexOf(lastSeen);
  return at === -1 ? all : all.slice(at + 1);
}

/** A kind of event this build does not know yet: show it raw rather than hide it or crash. */
function unknownEvent(event: never, elections: ElectionTracker): Described {
  const raw = event as { type?: unknown };
  return { line: { text: `event ${String(raw.type)}: ${JSON.stringify(event)}`, level: 'info' }, elections };
}

/** "n1 -> n2: {"delayMs":80,"jitterMs":20,"loss":0}" as a person reads it: "link n1 → n2: 80ms ±20ms delay, 0% loss". */
function linkText(detail: string): string {
  const match = /^(\S+) -> (\S+): (\{.*\})$/.exec(detail);
  if (match === null) return detail;
  try {
    const link = JSON.parse(match[3]!) as { delayMs?: unknown; jitterMs?: unknown; loss?: unknown };
    const delay = Number(link.delayMs ?? 0);
    const jitter = Number(link.jitterMs ?? 0);
    const loss = Number(link.loss ?? 0);
    if (![delay, jitter, loss].every(Number.isFinite)) return detail;
    const parts = [delay > 0 || jitter > 0 ? `${delay}ms${jitter > 0 ? ` ±${jitter}ms` : ''} delay` : null, loss > 0 ? `${Math.round(loss * 1000) / 10}% loss` : null].filter((part) => part !== null);
    return `link ${match[1]} → ${match[2]}: ${parts.length === 0 ? 'normal' : parts.join(', ')}`;
  } catch {
    return detail;
  }
}


function stepDown(reason: string): string {
  switch (reason) {
    case 'higher-term':
      return 'saw a higher term';
    case 'check-quorum':
      return 'lost contact with a majority';
    case 'same-term-leader':
      return 'another leader in its term';
    case 'removed':
      return 'the membership change that removes it committed';
    default:
      return reason;
  }
}

function range(from: number, to: number): string {
  return from === to ? `${from}` : `${from}–${to}`;
}

function indexes(values: readonly number[]): string {
  if (values.length === 0) return 'nothing';
  const sorted = [...values].sort((a, b) => a - b);
  return `index${sorted.length === 1 ? '' : 'es'} ${range(sorted[0]!, sorted[sorted.length - 1]!)}`;
}
