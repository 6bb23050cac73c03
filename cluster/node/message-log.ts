// A node's log of the Raft messages it sends and receives, emptied into each
// telemetry report (see cluster/message-report.ts). Rare messages are kept
// one by one; appends and heartbeats (and their answers) are counted per link.
// Everything is bounded: at most messageRecordsPerReportMax records wait for a
// report (more are counted as dropped) and one count per link and direction.

import type { Message } from '../core/index.js';
import { messageRecord, messageRecordsPerReportMax, type LinkCount, type MessageRecord, type MessageReport } from '../message-report.js';

type Counts = { -readonly [K in keyof LinkCount]: LinkCount[K] };

export class MessageLog {
  private records: MessageRecord[] = [];
  private dropped = 0;
  private readonly links = new Map<string, Counts>();
  /** The term of the last append / heartbeat sent on each link, to mark the first of a term. */
  private readonly lastTerm = new Map<string, number>();

  constructor(private readonly maxRecords = messageRecordsPerReportMax) {}

  /** Messages this node handed to its links (before any link rule drops or delays them). */
  sent(messages: readonly Message[], atMs: number): void {
    for (const message of messages) this.add(message, 'out', atMs);
  }

  /** Messages that reached this node from a peer (before the node checks them). */
  received(messages: readonly Message[], atMs: number): void {
    for (const message of messages) this.add(message, 'in', atMs);
  }

  /** Everything since the last call; the log starts again empty. */
  take(): MessageReport {
    const report: MessageReport = { records: this.records, links: [...this.links.values()], droppedRecords: this.dropped };
    this.records = [];
    this.dropped = 0;
    this.links.clear();
    return report;
  }

  private add(m: Message, dir: 'out' | 'in', atMs: number): void {
    let first = false;
    if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'append-resp' || m.type === 'heartbeat-resp') {
      this.count(m, dir, atMs);
      if (m.type === 'append' || m.type === 'heartbeat') {
        const key = `${dir} ${m.from} ${m.to} ${m.type}`;
        first = this.lastTerm.get(key) !== m.term;
        if (first) this.lastTerm.set(key, m.term);
      }
      const rare = first || (m.type === 'append-resp' && m.reject);
      if (!rare) return;
    }
    if (this.records.length >= this.maxRecords) {
      this.dropped++;
      return;
    }
    this.records.push(recordOf(m, dir, atMs, first));
  }

  private count(m: Extract<Message, { type: 'append' | 'heartbeat' | 'append-resp' | 'heartbeat-resp' }>, dir: 'out' | 'in', atMs: number): void {
    const key = `${dir} ${m.from} ${m.to}`;
    let c = this.links.get(key);
    if (c === undefined) {
      c = { dir, from: m.from, to: m.to, fromMs: atMs, toMs: atMs, append: 0, entries: 0, appendResp: 0, rejected: 0, heartbeat: 0, heartbeatResp: 0 };
      this.links.set(key, c);
    }
    c.toMs = Math.max(c.toMs, atMs);
    switch (m.type) {
      case 'append':
        c.append++;
        c.entries += m.entries.length;
        return;
      case 'append-resp':
        c.appendResp++;
        if (m.reject) c.rejected++;
        return;
      case 'heartbeat':
        c.heartbeat++;
        return;
      case 'heartbeat-resp':
        c.heartbeatResp++;
        return;
    }
  }
}

function recordOf(m: Message, dir: 'out' | 'in', atMs: number, first: boolean): MessageRecord {
  const base = messageRecord({ atMs, dir, from: m.from, to: m.to, type: m.type, term: m.term, first });
  switch (m.type) {
    case 'vote':
      return { ...base, pre: m.pre, transfer: m.transfer, lastIndex: m.lastIndex, lastTerm: m.lastTerm };
    case 'vote-resp':
      return { ...base, pre: m.pre, granted: m.granted, reason: m.reason };
    case 'append-resp':
      return { ...base, reject: m.reject, index: m.index, hintIndex: m.hintIndex, hintTerm: m.hintTerm };
    case 'append':
      return { ...base, entries: m.entries.length, commit: m.commit };
    case 'heartbeat':
      return { ...base, commit: m.commit };
    case 'snapshot':
      // The snapshot's last index, where the follower's log will begin.
      return { ...base, index: m.meta.index, lastTerm: m.meta.term };
    case 'heartbeat-resp':
    case 'timeout-now':
      return base;
  }
}

