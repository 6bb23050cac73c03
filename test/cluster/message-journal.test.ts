// The supervisor's journal of reported Raft messages: 60 s back at most,
// bounded in count, link counts merged into runs of at most a second.

import { describe, expect, it } from 'vitest';
import { messageRecord, type LinkCount, type MessageRecord } from '../../cluster/message-report.js';
import { linkCountsMax, MessageJournal, messageRecordsMax, messageWindowMs } from '../../cluster/supervisor/message-journal.js';

const record = (atMs: number, change: Partial<MessageRecord> = {}): MessageRecord =>
  messageRecord({ atMs, dir: 'out', from: 'n1', to: 'n2', type: 'vote', term: 2, lastIndex: 0, lastTerm: 0, ...change });
const count = (fromMs: number, toMs: number, change: Partial<LinkCount> = {}): LinkCount => ({
  dir: 'out',
  from: 'n1',
  to: 'n2',
  fromMs,
  toMs,
  append: 3,
  entries: 5,
  appendResp: 0,
  rejected: 0,
  heartbeat: 2,
  heartbeatResp: 0,
  ...change,
});

describe('the message journal', () => {
  it('merges a link’s counts into runs of at most a second, per link and direction', () => {
    const journal = new MessageJournal();
    for (let t = 0; t < 2_500; t += 100) journal.add('n1', { records: [], links: [count(t, t + 90)], droppedRecords: 0 }, t + 100);
    journal.add('n2', { records: [], links: [count(50, 60, { dir: 'in' })], droppedRecords: 0 }, 100);
    const view = journal.view(2_600);
    const out = view.links.filter((c) => c.dir === 'out');
    expect(out.map((c) => [c.fromMs, c.toMs, c.append])).toEqual([
      [0, 990, 30],
      [1_000, 1_990, 30],
      [2_000, 2_490, 15],
    ]);
    expect(out.reduce((sum, c) => sum + c.heartbeat, 0)).toBe(50);
    expect(view.links.filter((c) => c.dir === 'in')).toHaveLength(1);
    expect(view.reportedAtMs).toEqual({ n1: 2_500, n2: 100 });
  });

  it('forgets what is older than 60 s', () => {
    const journal = new MessageJournal();
    journal.add('n1', { records: [record(1_000)], links: [count(1_000, 1_000)], droppedRecords: 0 }, 1_000);
    journal.add('n1', { records: [record(50_000)], links: [], droppedRecords: 0 }, 50_000);
    expect(journal.view(50_000).records).toHaveLength(2);
    const later = journal.view(1_000 + messageWindowMs + 1);
    expect(later.records.map((r) => r.atMs)).toEqual([50_000]);
    expect(later.links).toEqual([]);
    // Pruned for good once it is well past the window.
    journal.add('n1', { records: [], links: [], droppedRecords: 0 }, 100_000);
    expect(journal.view(0).records.map((r) => r.atMs)).toEqual([50_000]);
  });

  it('keeps at most its bounds, and counts the records it had to drop', () => {
    const journal = new MessageJournal();
    const batch = Array.from({ length: 250 }, (_, i) => record(10_000 + i));
    for (let i = 0; i < 30; i++) journal.add('n1', { records: batch, links: [], droppedRecords: 1 }, 10_000);
    const view = journal.view(10_000);
    expect(view.records.length).toBeLessThanOrEqual(messageRecordsMax);
    expect(view.droppedRecords).toBeGreaterThanOrEqual(30 + 30 * 250 - messageRecordsMax * 1.25);
    for (let i = 0; i < linkCountsMax * 1.5; i++) journal.add('n1', { records: [], links: [count(20_000, 20_000, { to: i % 2 === 0 ? 'n2' : 'n3', dir: i % 4 < 2 ? 'out' : 'in', fromMs: 20_000 + i * 2_000, toMs: 20_000 + i * 2_000 })], droppedRecords: 0 }, 20_000);
    expect(journal.view(20_000).links.length).toBeLessThanOrEqual(linkCountsMax);
  });
});
