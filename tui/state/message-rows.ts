// The message pane's rows, as a pure function of what the nodes reported
// (cluster.messages()): one row per rare message (a vote and its answer, a
// timeout-now, a rejected append, a new leader's first append), and between
// them one summary row per pair of nodes for the appends and heartbeats
// ("n1→n2 append ×312, 0 rejected"). A message is drawn from its sender's
// record; one the receiver never recorded is marked as not received.

import type { LinkCount, MessageRecord, MessagesView, NodeId } from '../../cluster/index.js';

export type MessageRowLevel = 'info' | 'ok' | 'warn' | 'error' | 'dim';

export interface MessageRow {
  readonly kind: 'message' | 'summary';
  readonly atMs: number;
  readonly from: NodeId;
  readonly to: NodeId;
  /** "vote t5", "vote-resp t5 ✓ granted", "append ×312 (640 entries), 0 rejected · heartbeat ×40". */
  readonly text: string;
  readonly level: MessageRowLevel;
  /** An answer (vote-resp, append-resp, heartbeat-resp): drawn after a request of the same millisecond. */
  readonly answer: boolean;
  /** The receiver did not record it: not received (cut, dropped), or the receiver has been silent since (down, paused). */
  readonly lost: boolean;
}

/** A sent message the receiver has not recorded this long after is shown as not received. */
export const notReceivedAfterMs = 1_000;
/** A received record matches a sent one recorded up to this much later (clock reads on one machine). */
const matchWindowMs = 5_000;

/** Every row the view makes, oldest first. */
export function messageRows(view: MessagesView, nowMs: number): MessageRow[] {
  const sent = view.records.filter((r) => r.dir === 'out');
  const received = view.records.filter((r) => r.dir === 'in');
  const matched = new Set<MessageRecord>();
  const byLink = new Map<string, MessageRecord[]>();
  for (const r of received) {
    const key = signature(r);
    const list = byLink.get(key);
    if (list === undefined) byLink.set(key, [r]);
    else list.push(r);
  }
  const messages: MessageRow[] = [];
  for (const r of [...sent].sort((a, b) => a.atMs - b.atMs)) {
    const candidates = byLink.get(signature(r)) ?? [];
    const match = candidates.find((c) => !matched.has(c) && c.atMs >= r.atMs - 50 && c.atMs <= r.atMs + matchWindowMs);
    if (match !== undefined) matched.add(match);
    let fate: Fate = 'received';
    if (match === undefined && nowMs - r.atMs >= notReceivedAfterMs) fate = (view.reportedAtMs[r.to] ?? 0) >= r.atMs + notReceivedAfterMs ? 'not-received' : 'silent';
    messages.push(messageRow(r, fate));
  }
  // Received messages whose sender never reported them (it died first): drawn from the receiver's record.
  for (const r of received) if (!matched.has(r) && !sent.some((s) => signature(s) === signature(r) && Math.abs(s.atMs - r.atMs) <= matchWindowMs)) messages.push(messageRow(r, 'received'));
  messages.sort(byTime);
  return interleave(messages, view.links);
}

/**
 * Oldest first; within one millisecond (nodes read their clocks in whole ms)
 * a request before its answer, and a pair's summary after its messages.
 */
function byTime(a: MessageRow, b: MessageRow): number {
  return a.atMs - b.atMs || rank(a) - rank(b);
}

function rank(row: MessageRow): number {
  if (row.kind === 'summary') return 2;
  return row.answer ? 1 : 0;
}

/** What a sent and a received record of one message share. */
function signature(r: MessageRecord): string {
  return `${r.from}>${r.to} ${r.type} ${r.term} ${r.pre} ${String(r.granted)} ${String(r.reject)} ${r.first}`;
}

/**
 * Rare messages in time order, with the link counts between them folded into
 * one summary per pair of nodes: a pair's summary ends (and is drawn) at the
 * first rare message between those two nodes, or at the end.
 */
function interleave(messages: readonly MessageRow[], links: readonly LinkCount[]): MessageRow[] {
  type Item = { readonly atMs: number; readonly message: MessageRow } | { readonly atMs: number; readonly count: LinkCount };
  const items: Item[] = [...messages.map((message) => ({ atMs: message.atMs, message })), ...links.map((count) => ({ atMs: count.toMs, count }))];
  items.sort((a, b) => a.atMs - b.atMs);
  const open = new Map<string, PairSummary>();
  const rows: MessageRow[] = [];
  const close = (key: string): void => {
    const summary = open.get(key);
    open.delete(key);
    if (summary !== undefined) {
      const row = summaryRow(summary);
      if (row !== null) rows.push(row);
    }
  };
  for (const item of items) {
    if ('message' in item) {
      close(pairKey(item.message.from, item.message.to));
      rows.push(item.message);
      continue;
    }
    const key = pairKey(item.count.from, item.count.to);
    let summary = open.get(key);
    if (summary === undefined) {
      summary = new PairSummary();
      open.set(key, summary);
    }
    summary.add(item.count);
  }
  for (const key of [...open.keys()]) close(key);
  return rows.sort(byTime);
}

function pairKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

/** Appends and heartbeats between two nodes over a stretch of time, as the sender and the receiver counted them. */
class PairSummary {
  fromMs = Infinity;
  toMs = -Infinity;
  /** Sent, by sender: appends, entries, heartbeats. */
  readonly sent = new Map<NodeId, { to: NodeId; append: number; entries: number; heartbeat: number }>();
  /** Received by the other side, by sender. */
  readonly arrived = new Map<NodeId, { append: number; heartbeat: number }>();
  /** Appends rejected, by who rejected them (the follower's side of the pair). */
  readonly rejected = new Map<NodeId, number>();
  add(count: LinkCount): void {
    this.fromMs = Math.min(this.fromMs, count.fromMs);
    this.toMs = Math.max(this.toMs, count.toMs);
    if (count.dir === 'out') {
      const s = this.sent.get(count.from) ?? { to: count.to, append: 0, entries: 0, heartbeat: 0 };
      s.append += count.append;
      s.entries += count.entries;
      s.heartbeat += count.heartbeat;
      this.sent.set(count.from, s);
      this.rejected.set(count.from, (this.rejected.get(count.from) ?? 0) + count.rejected);
    } else {
      const a = this.arrived.get(count.from) ?? { append: 0, heartbeat: 0 };
      a.append += count.append;
      a.heartbeat += count.heartbeat;
      this.arrived.set(count.from, a);
    }
  }
}

/** "append ×312 (640 entries), 0 rejected · heartbeat ×40 · over 8.1 s", from the side that sent appends and heartbeats. */
function summaryRow(summary: PairSummary): MessageRow | null {
  let leader: NodeId | null = null;
  let best = -1;
  for (const [from, s] of summary.sent) {
    if (s.append + s.heartbeat > best) {
      best = s.append + s.heartbeat;
      leader = from;
    }
  }
  if (leader === null || best <= 0) return null;
  const s = summary.sent.get(leader)!;
  const arrived = summary.arrived.get(leader);
  const parts: string[] = [];
  if (s.append > 0) parts.push(`append ×${s.append} (${s.entries} entr${s.entries === 1 ? 'y' : 'ies'}), ${summary.rejected.get(s.to) ?? 0} rejected`);
  if (s.heartbeat > 0) parts.push(`heartbeat ×${s.heartbeat}`);
  const total = s.append + s.heartbeat;
  const got = arrived === undefined ? 0 : arrived.append + arrived.heartbeat;
  const missing = total - got;
  // Counts at the edges of a stretch can fall either side of it: only a clear gap is a loss.
  const lost = missing > Math.max(2, total * 0.1);
  if (lost) parts.push(`only ${got} arrived`);
  const spanMs = summary.toMs - summary.fromMs;
  if (spanMs >= 1_000) parts.push(`over ${(spanMs / 1_000).toFixed(1)} s`);
  return { kind: 'summary', atMs: summary.toMs, from: leader, to: s.to, text: parts.join(' · '), level: lost ? 'warn' : 'dim', lost, answer: false };
}

/** A short reason a vote was denied. */
export function denialText(reason: string | null): string {
  switch (reason) {
    case 'stale-term':
      return 'its term is stale';
    case 'already-voted':
      return 'already voted';
    case 'log-behind':
      return 'its log is behind';
    case 'leader-alive':
      return 'a leader is alive';
    default:
      return reason ?? 'no reason given';
  }
}

/**
 * What became of a sent message: its receiver recorded it; or it has reported
 * since without it (not received: cut, dropped, or a full outbox); or it has
 * not reported since at all (down or paused, or it died before it could say).
 */
type Fate = 'received' | 'not-received' | 'silent';

function messageRow(r: MessageRecord, fate: Fate): MessageRow {
  const lost = fate !== 'received';
  const base = { kind: 'message' as const, atMs: r.atMs, from: r.from, to: r.to, lost, answer: r.type.endsWith('-resp') };
  const vote = r.pre ? 'pre-vote' : 'vote';
  const mark = fate === 'not-received' ? ' ✕ not received' : fate === 'silent' ? ` ✕ ${r.to} silent since` : '';
  const row = (text: string, level: MessageRowLevel): MessageRow => ({ ...base, text: `${text}${mark}`, level: lost ? 'error' : level });
  switch (r.type) {
    case 'vote':
      return row(`${vote} t${r.term}${r.transfer ? ' (transfer)' : ''} · log ${r.lastIndex ?? '?'}@t${r.lastTerm ?? '?'}`, 'info');
    case 'vote-resp':
      return r.granted === true ? row(`${vote} t${r.term} ✓ granted`, 'ok') : row(`${vote} t${r.term} ✗ denied: ${denialText(r.reason)}`, 'warn');
    case 'timeout-now':
      return row(`timeout-now t${r.term}: campaign now (transfer)`, 'info');
    case 'snapshot':
      return row(`snapshot t${r.term} · state up to ${r.index ?? '?'}@t${r.lastTerm ?? '?'} (InstallSnapshot)`, 'info');
    case 'append-resp':
      return r.reject === true
        ? row(`append t${r.term} ✗ rejected at ${r.index ?? '?'}, hint ${r.hintIndex ?? '?'}@t${r.hintTerm ?? '?'}`, 'warn')
        : row(`append t${r.term} ✓ accepted to ${r.index ?? '?'}`, 'ok');
    case 'append':
      return row(`append t${r.term}${r.first ? ' first of term' : ''} · ${r.entries ?? 0} entr${r.entries === 1 ? 'y' : 'ies'}, commit ${r.commit ?? '?'}`, 'info');
    case 'heartbeat':
      return row(`heartbeat t${r.term}${r.first ? ' first of term' : ''} · commit ${r.commit ?? '?'}`, 'info');
    case 'heartbeat-resp':
      return row(`heartbeat-resp t${r.term}`, 'info');
  }
}
