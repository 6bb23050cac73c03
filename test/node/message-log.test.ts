// The node's log of Raft messages: rare messages one by one, appends and
// heartbeats counted per link, everything bounded and emptied by each report.

import { describe, expect, it } from 'vitest';
import type { Message } from '../../cluster/core/index.js';
import { MessageLog } from '../../cluster/node/message-log.js';
import { parseMessageReport, InvalidReport, messageRecordsPerReportMax } from '../../cluster/message-report.js';

const positions = { received: 0, flushed: 0, applied: 0 };
const vote = (from: string, to: string, term: number, pre = false): Message => ({ type: 'vote', from, to, term, pre, lastIndex: 7, lastTerm: 2, transfer: false });
const voteResp = (from: string, to: string, term: number, granted: boolean, pre = false): Message => ({ type: 'vote-resp', from, to, term, pre, granted, reason: granted ? null : 'log-behind' });
const append = (from: string, to: string, term: number, entries = 1): Message => ({
  type: 'append',
  from,
  to,
  term,
  prevIndex: 0,
  prevTerm: 0,
  commit: 3,
  entries: Array.from({ length: entries }, (_, i) => ({ index: i + 1, term, lsn: 10 * (i + 1), kind: 'noop' as const, data: '' })),
});
const appendResp = (from: string, to: string, term: number, reject: boolean): Message => ({ type: 'append-resp', from, to, term, index: 5, reject, hintIndex: 3, hintTerm: 1, positions });
const heartbeat = (from: string, to: string, term: number): Message => ({ type: 'heartbeat', from, to, term, commit: 4, context: 0 });

describe('the node message log', () => {
  it('keeps every vote and answer, pre-votes marked, with the candidate log and the denial reason', () => {
    const log = new MessageLog();
    log.sent([vote('n1', 'n2', 3, true), vote('n1', 'n3', 3, true)], 1_000);
    log.received([voteResp('n2', 'n1', 2, true, true), voteResp('n3', 'n1', 3, false)], 1_005);
    const report = log.take();
    expect(report.records.map((r) => [r.dir, r.from, r.to, r.type, r.pre, r.granted, r.reason])).toEqual([
      ['out', 'n1', 'n2', 'vote', true, null, null],
      ['out', 'n1', 'n3', 'vote', true, null, null],
      ['in', 'n2', 'n1', 'vote-resp', true, true, null],
      ['in', 'n3', 'n1', 'vote-resp', false, false, 'log-behind'],
    ]);
    expect(report.records[0]).toMatchObject({ atMs: 1_000, lastIndex: 7, lastTerm: 2, term: 3 });
    expect(parseMessageReport(JSON.parse(JSON.stringify(report)), 'n1')).toEqual(report);
  });

  it('counts appends and heartbeats per link, keeps only the first of a term and rejected appends', () => {
    const log = new MessageLog();
    for (let i = 0; i < 50; i++) log.sent([append('n1', 'n2', 4, 2), heartbeat('n1', 'n2', 4)], 2_000 + i);
    log.received([appendResp('n2', 'n1', 4, false), appendResp('n2', 'n1', 4, true), appendResp('n2', 'n1', 4, false)], 2_100);
    const report = log.take();
    expect(report.records.map((r) => [r.type, r.first, r.reject])).toEqual([
      ['append', true, null],
      ['heartbeat', true, null],
      ['append-resp', false, true],
    ]);
    expect(report.records[0]).toMatchObject({ entries: 2, commit: 3 });
    expect(report.records[2]).toMatchObject({ index: 5, hintIndex: 3, hintTerm: 1 });
    expect(report.links).toEqual([
      { dir: 'out', from: 'n1', to: 'n2', fromMs: 2_000, toMs: 2_049, append: 50, entries: 100, appendResp: 0, rejected: 0, heartbeat: 50, heartbeatResp: 0 },
      { dir: 'in', from: 'n2', to: 'n1', fromMs: 2_100, toMs: 2_100, append: 0, entries: 0, appendResp: 3, rejected: 1, heartbeat: 0, heartbeatResp: 0 },
    ]);
    // A report empties the log; the first append of the next term is kept again, the same term's is not.
    log.sent([append('n1', 'n2', 4)], 3_000);
    expect(log.take().records).toEqual([]);
    log.sent([append('n1', 'n2', 5)], 3_100);
    expect(log.take().records.map((r) => [r.type, r.term, r.first])).toEqual([['append', 5, true]]);
  });

  it('holds at most its bound of records between reports and counts the rest as dropped', () => {
    const log = new MessageLog();
    for (let i = 0; i < messageRecordsPerReportMax + 10; i++) log.sent([vote('n1', 'n2', i + 1)], i);
    const report = log.take();
    expect(report.records).toHaveLength(messageRecordsPerReportMax);
    expect(report.droppedRecords).toBe(10);
    expect(log.take()).toEqual({ records: [], links: [], droppedRecords: 0 });
  });
});

describe('a message report, checked by the supervisor', () => {
  const valid = (): ReturnType<MessageLog['take']> => {
    const log = new MessageLog();
    log.sent([vote('n1', 'n2', 2), append('n1', 'n3', 2)], 10);
    log.received([voteResp('n2', 'n1', 2, true)], 12);
    return JSON.parse(JSON.stringify(log.take()));
  };

  it('refuses a report about another node’s links', () => {
    const problem = parseMessageReport(valid(), 'n2');
    expect(problem).toBeInstanceOf(InvalidReport);
    expect((problem as InvalidReport).reason).toMatch(/not on a link of n2/);
  });

  it.each([
    ['a bad type', (r: any) => (r.records[0].type = 'gossip'), /records\[0\]\.type/],
    ['a bad reason', (r: any) => (r.records[2].reason = 'bored'), /records\[2\]\.reason/],
    ['a negative count', (r: any) => (r.links[0].append = -1), /links\[0\]\.append/],
    ['more rejected than answers', (r: any) => (r.links[0].rejected = 5), /links\[0\]\.rejected/],
    ['too many records', (r: any) => (r.records = Array.from({ length: messageRecordsPerReportMax + 1 }, () => r.records[0])), /at most 256/],
    ['not an object', (r: any) => (r.records = 'x'), /messages\.records/],
  ])('refuses %s, naming the field', (_name, spoil, reason) => {
    const report = valid();
    spoil(report);
    const problem = parseMessageReport(report, 'n1');
    expect(problem).toBeInstanceOf(InvalidReport);
    expect((problem as InvalidReport).reason).toMatch(reason);
  });
});
