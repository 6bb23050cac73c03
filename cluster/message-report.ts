// What a node reports of the Raft messages it sends and receives, and of its
// election timer, for the dashboard's message pane. Since the direct links the
// supervisor no longer relays Raft messages, so it learns of them only here.
//
// Rare messages are reported one by one: votes and pre-votes with their
// answers (granted, or denied and why), timeout-now, rejected appends with
// the follower's hint, and the first append and heartbeat on each link in a
// term. The frequent ones (appends, heartbeats and their answers) are only
// counted per link. Shared by the node (which fills it) and the supervisor
// (which checks it, then keeps the last 60 s).

import type { MessageType, NodeId, VoteDenial } from './core/index.js';

/** One Raft message, as the node that sent it (`out`) or received it (`in`) saw it; entries are never copied. */
export interface MessageRecord {
  /** Wall-clock ms at the recording node, when it handed the message to its links or got it from them. */
  readonly atMs: number;
  readonly dir: 'out' | 'in';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly type: MessageType;
  readonly term: number;
  /** A pre-vote (vote and vote-resp). */
  readonly pre: boolean;
  /** A vote asked for by a leadership transfer or promote. */
  readonly transfer: boolean;
  /** vote: the candidate's last index and term. */
  readonly lastIndex: number | null;
  readonly lastTerm: number | null;
  /** vote-resp: granted, or denied and why. */
  readonly granted: boolean | null;
  readonly reason: VoteDenial | null;
  /** append-resp: rejected, at which prevIndex, and the follower's hint. */
  readonly reject: boolean | null;
  readonly index: number | null;
  readonly hintIndex: number | null;
  readonly hintTerm: number | null;
  /** append: entries carried (the first append of a term on a link); heartbeat and append: the commit index. */
  readonly entries: number | null;
  readonly commit: number | null;
  /** The first append or heartbeat on this link in its term (the new leader announcing itself). */
  readonly first: boolean;
}

/** A record whose type-specific fields are empty, with what `fields` sets: the one place that lists every field's empty value. */
export function messageRecord(fields: Pick<MessageRecord, 'atMs' | 'dir' | 'from' | 'to' | 'type' | 'term'> & Partial<MessageRecord>): MessageRecord {
  return {
    pre: false,
    transfer: false,
    lastIndex: null,
    lastTerm: null,
    granted: null,
    reason: null,
    reject: null,
    index: null,
    hintIndex: null,
    hintTerm: null,
    entries: null,
    commit: null,
    first: false,
    ...fields,
  };
}

/** Appends and heartbeats on one directed link, counted over [fromMs, toMs] by the sender (`out`) or the receiver (`in`). */
export interface LinkCount {
  readonly dir: 'out' | 'in';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly fromMs: number;
  readonly toMs: number;
  readonly append: number;
  /** Entries those appends carried. */
  readonly entries: number;
  readonly appendResp: number;
  /** Of the append-resps, how many rejected the append. */
  readonly rejected: number;
  readonly heartbeat: number;
  readonly heartbeatResp: number;
}

/** What a node ships with one telemetry report: what it recorded since the one before. */
export interface MessageReport {
  readonly records: readonly MessageRecord[];
  readonly links: readonly LinkCount[];
  /** Records the node could not keep since the last report (over messageRecordsPerReportMax). */
  readonly droppedRecords: number;
}

/** A node's election timer: how far it has run, and when it fires (on a leader: its CheckQuorum window). */
export interface ElectionTimer {
  readonly elapsedTicks: number;
  readonly timeoutTicks: number;
  /** The same, in ms: ticks times the tick length. */
  readonly elapsedMs: number;
  readonly timeoutMs: number;
}

/** Records a node keeps between two reports; more are counted as dropped. */
export const messageRecordsPerReportMax = 256;
/** Link counts in one report: two directions per peer at most, 9 nodes. */
export const linkCountsPerReportMax = 64;

export class InvalidReport {
  constructor(readonly reason: string) {}
}

const messageTypes: readonly MessageType[] = ['vote', 'vote-resp', 'append', 'append-resp', 'heartbeat', 'heartbeat-resp', 'timeout-now', 'snapshot'];
const voteDenials: readonly VoteDenial[] = ['stale-term', 'already-voted', 'log-behind', 'leader-alive'];

type Rec = Record<string, unknown>;
const isRecord = (value: unknown): value is Rec => typeof value === 'object' && value !== null && !Array.isArray(value);

function bad(path: string, expected: string): never {
  throw new InvalidReport(`${path}: expected ${expected}`);
}

const countAt = (v: unknown, p: string): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : bad(p, 'a whole number >= 0'));
const timeAt = (v: unknown, p: string): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : bad(p, 'a time in ms'));
const nodeAt = (v: unknown, p: string): NodeId => (typeof v === 'string' && /^n[1-9][0-9]?$/.test(v) ? v : bad(p, 'a node id like n1'));
const boolAt = (v: unknown, p: string): boolean => (typeof v === 'boolean' ? v : bad(p, 'a boolean'));
const dirAt = (v: unknown, p: string): 'out' | 'in' => (v === 'out' || v === 'in' ? v : bad(p, 'out | in'));
const countOrNull = (v: unknown, p: string): number | null => (v === null ? null : countAt(v, p));
const boolOrNull = (v: unknown, p: string): boolean | null => (v === null ? null : boolAt(v, p));

function record(v: unknown, p: string): MessageRecord {
  if (!isRecord(v)) bad(p, 'a message record');
  const type = v['type'];
  if (typeof type !== 'string' || !(messageTypes as readonly string[]).includes(type)) bad(`${p}.type`, messageTypes.join(' | '));
  const reason = v['reason'];
  if (reason !== null && (typeof reason !== 'string' || !(voteDenials as readonly string[]).includes(reason))) bad(`${p}.reason`, `null | ${voteDenials.join(' | ')}`);
  return {
    atMs: timeAt(v['atMs'], `${p}.atMs`),
    dir: dirAt(v['dir'], `${p}.dir`),
    from: nodeAt(v['from'], `${p}.from`),
    to: nodeAt(v['to'], `${p}.to`),
    type: type as MessageType,
    term: countAt(v['term'], `${p}.term`),
    pre: boolAt(v['pre'], `${p}.pre`),
    transfer: boolAt(v['transfer'], `${p}.transfer`),
    lastIndex: countOrNull(v['lastIndex'], `${p}.lastIndex`),
    lastTerm: countOrNull(v['lastTerm'], `${p}.lastTerm`),
    granted: boolOrNull(v['granted'], `${p}.granted`),
    reason: reason as VoteDenial | null,
    reject: boolOrNull(v['reject'], `${p}.reject`),
    index: countOrNull(v['index'], `${p}.index`),
    hintIndex: countOrNull(v['hintIndex'], `${p}.hintIndex`),
    hintTerm: countOrNull(v['hintTerm'], `${p}.hintTerm`),
    entries: countOrNull(v['entries'], `${p}.entries`),
    commit: countOrNull(v['commit'], `${p}.commit`),
    first: boolAt(v['first'], `${p}.first`),
  };
}

function linkCount(v: unknown, p: string): LinkCount {
  if (!isRecord(v)) bad(p, 'a link count');
  const fromMs = timeAt(v['fromMs'], `${p}.fromMs`);
  const toMs = timeAt(v['toMs'], `${p}.toMs`);
  if (toMs < fromMs) bad(`${p}.toMs`, `a time not before fromMs ${fromMs}`);
  const appendResp = countAt(v['appendResp'], `${p}.appendResp`);
  const rejected = countAt(v['rejected'], `${p}.rejected`);
  if (rejected > appendResp) bad(`${p}.rejected`, `at most appendResp (${appendResp})`);
  return {
    dir: dirAt(v['dir'], `${p}.dir`),
    from: nodeAt(v['from'], `${p}.from`),
    to: nodeAt(v['to'], `${p}.to`),
    fromMs,
    toMs,
    append: countAt(v['append'], `${p}.append`),
    entries: countAt(v['entries'], `${p}.entries`),
    appendResp,
    rejected,
    heartbeat: countAt(v['heartbeat'], `${p}.heartbeat`),
    heartbeatResp: countAt(v['heartbeatResp'], `${p}.heartbeatResp`),
  };
}

/**
 * Checks a node's message report, and that it speaks only of its own links:
 * what it sent comes from it, what it received goes to it. Returns the report
 * or why it is refused (the supervisor drops it whole and says so).
 */
export function parseMessageReport(value: unknown, node: NodeId): MessageReport | InvalidReport {
  try {
    if (!isRecord(value)) bad('messages', 'a message report');
    const records = value['records'];
    const links = value['links'];
    if (!Array.isArray(records) || records.length > messageRecordsPerReportMax) bad('messages.records', `an array of at most ${messageRecordsPerReportMax}`);
    if (!Array.isArray(links) || links.length > linkCountsPerReportMax) bad('messages.links', `an array of at most ${linkCountsPerReportMax}`);
    const report: MessageReport = {
      records: records.map((r, i) => record(r, `messages.records[${i}]`)),
      links: links.map((l, i) => linkCount(l, `messages.links[${i}]`)),
      droppedRecords: countAt(value['droppedRecords'], 'messages.droppedRecords'),
    };
    for (const [i, item] of [...report.records, ...report.links].entries()) {
      const own = item.dir === 'out' ? item.from : item.to;
      if (own !== node || item.from === item.to) return new InvalidReport(`messages: item ${i} is ${item.dir === 'out' ? 'sent' : 'received'} ${item.from}→${item.to}, not on a link of ${node}`);
    }
    return report;
  } catch (error) {
    if (error instanceof InvalidReport) return error;
    throw error;
  }
}

/** Checks an election timer as a node reports it; null when absent or malformed. */
export function parseElectionTimer(value: unknown): ElectionTimer | null {
  if (!isRecord(value)) return null;
  const fields = ['elapsedTicks', 'timeoutTicks', 'elapsedMs', 'timeoutMs'] as const;
  if (!fields.every((key) => typeof value[key] === 'number' && Number.isFinite(value[key]) && (value[key] as number) >= 0)) return null;
  return { elapsedTicks: value['elapsedTicks'] as number, timeoutTicks: value['timeoutTicks'] as number, elapsedMs: value['elapsedMs'] as number, timeoutMs: value['timeoutMs'] as number };
}
