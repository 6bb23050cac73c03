// The last 60 s of Raft messages the nodes reported (cluster/message-report.ts),
// for cluster.messages() and the dashboard's message pane. Records come from
// every node, sent and received; link counts are merged per link and
// direction into runs of at most one second. Both are bounded by age and by
// count.

import type { NodeId } from '../core/index.js';
import type { LinkCount, MessageRecord, MessageReport } from '../message-report.js';

/** How far back the journal reaches. */
export const messageWindowMs = 60_000;
/** Records kept at most (every vote of many elections fits). */
export const messageRecordsMax = 5_000;
/** Link counts kept at most: one a second per link and direction of 9 nodes for 60 s would be 8,640. */
export const linkCountsMax = 10_000;
/** Counts of one link closer together than this are merged into one. */
const linkCountMergeMs = 1_000;

export interface MessagesView {
  /** How far back the journal reaches, in ms. */
  readonly windowMs: number;
  /** Rare messages, sent and received, oldest first (by the recording node's clock). */
  readonly records: readonly MessageRecord[];
  /** Appends and heartbeats counted per link and direction, oldest first. */
  readonly links: readonly LinkCount[];
  /** Records lost because a node or the journal was over its bound. */
  readonly droppedRecords: number;
  /** When each node last reported (wall-clock ms). */
  readonly reportedAtMs: Readonly<Record<NodeId, number>>;
}

type OpenCount = { -readonly [K in keyof LinkCount]: LinkCount[K] };

export class MessageJournal {
  private records: MessageRecord[] = [];
  private links: OpenCount[] = [];
  /** The newest count of each link and direction, merged into while it is young. */
  private readonly open = new Map<string, OpenCount>();
  private droppedRecords = 0;
  private readonly reportedAtMs: Record<NodeId, number> = {};

  add(node: NodeId, report: MessageReport, atMs: number): void {
    this.reportedAtMs[node] = Math.max(this.reportedAtMs[node] ?? 0, atMs);
    this.droppedRecords += report.droppedRecords;
    for (const record of report.records) this.records.push(record);
    for (const count of report.links) this.addCount(count);
    this.prune(atMs);
  }

  private addCount(count: LinkCount): void {
    const key = `${count.dir} ${count.from} ${count.to}`;
    const open = this.open.get(key);
    if (open !== undefined && count.toMs - open.fromMs < linkCountMergeMs && count.fromMs >= open.fromMs) {
      open.toMs = Math.max(open.toMs, count.toMs);
      open.append += count.append;
      open.entries += count.entries;
      open.appendResp += count.appendResp;
      open.rejected += count.rejected;
      open.heartbeat += count.heartbeat;
      open.heartbeatResp += count.heartbeatResp;
      return;
    }
    const fresh: OpenCount = { ...count };
    this.links.push(fresh);
    this.open.set(key, fresh);
  }

  /** Drops what is older than the window, and the oldest past each bound (a quarter at a time, so pruning stays cheap). */
  private prune(nowMs: number): void {
    const since = nowMs - messageWindowMs;
    if (this.records.length > messageRecordsMax * 1.25 || (this.records.length > 0 && this.records[0]!.atMs < since - messageWindowMs / 4)) {
      const kept = this.records.filter((r) => r.atMs >= since);
      const over = Math.max(0, kept.length - messageRecordsMax);
      this.droppedRecords += over;
      this.records = kept.slice(over);
    }
    if (this.links.length > linkCountsMax * 1.25 || (this.links.length > 0 && this.links[0]!.toMs < since - messageWindowMs / 4)) {
      const kept = this.links.filter((c) => c.toMs >= since);
      this.links = kept.slice(Math.max(0, kept.length - linkCountsMax));
      const live = new Set(this.links);
      for (const [key, count] of this.open) if (!live.has(count)) this.open.delete(key);
    }
  }

  /** The last `windowMs` (60 s) before `nowMs`, oldest first, at most the bounds. */
  view(nowMs: number): MessagesView {
    const since = nowMs - messageWindowMs;
    const records = this.records.filter((r) => r.atMs >= since);
    const links = this.links.filter((c) => c.toMs >= since);
    return {
      windowMs: messageWindowMs,
      records: records.slice(Math.max(0, records.length - messageRecordsMax)),
      links: links.slice(Math.max(0, links.length - linkCountsMax)).map((c) => ({ ...c })),
      droppedRecords: this.droppedRecords,
      reportedAtMs: { ...this.reportedAtMs },
    };
  }
}
