// The message pane: rows made from the nodes' reports (a vote and its answer,
// a message never received, appends summed per pair of nodes), drawn as a
// sequence diagram with one lane per node, with each node's election timer.

import { describe, expect, it } from 'vitest';
import type { LinkCount, MessageRecord, MessagesView, NodeStatus } from '../../cluster/index.js';
import { messageRecord } from '../../cluster/message-report.js';
import { MessagePane, laneColumns, messageScrollMax } from '../../tui/components/message-pane.js';
import { messageRows, notReceivedAfterMs } from '../../tui/state/message-rows.js';
import { frame } from './fixtures/recorded-controller.js';
import { renderAt } from './helpers.js';

const record = (atMs: number, change: Partial<MessageRecord>): MessageRecord => messageRecord({ atMs, dir: 'out', from: 'n1', to: 'n2', type: 'vote', term: 2, ...change });
const count = (fromMs: number, toMs: number, change: Partial<LinkCount>): LinkCount => ({
  dir: 'out',
  from: 'n1',
  to: 'n2',
  fromMs,
  toMs,
  append: 0,
  entries: 0,
  appendResp: 0,
  rejected: 0,
  heartbeat: 0,
  heartbeatResp: 0,
  ...change,
});
const view = (records: MessageRecord[], links: LinkCount[] = []): MessagesView => ({ windowMs: 60_000, records, links, droppedRecords: 0, reportedAtMs: {} });

/** Both ends' records of one message. */
const both = (atMs: number, change: Partial<MessageRecord>, delivered = true): MessageRecord[] => [
  record(atMs, { ...change, dir: 'out' }),
  ...(delivered ? [record(atMs + 1, { ...change, dir: 'in' })] : []),
];

/** An election of term 5 after n1 died: n2 pre-votes and votes, n3 grants, n1 never answers. */
function election(): MessagesView {
  return view(
    [
      ...both(10_000, { from: 'n2', to: 'n1', type: 'vote', pre: true, term: 5, lastIndex: 40, lastTerm: 4 }, false),
      ...both(10_000, { from: 'n2', to: 'n3', type: 'vote', pre: true, term: 5, lastIndex: 40, lastTerm: 4 }),
      ...both(10_002, { from: 'n3', to: 'n2', type: 'vote-resp', pre: true, term: 4, granted: true }),
      ...both(10_004, { from: 'n2', to: 'n3', type: 'vote', term: 5, lastIndex: 40, lastTerm: 4 }),
      ...both(10_006, { from: 'n3', to: 'n2', type: 'vote-resp', term: 5, granted: false, reason: 'log-behind' }),
      ...both(10_010, { from: 'n2', to: 'n3', type: 'append-resp', term: 5, reject: true, index: 41, hintIndex: 38, hintTerm: 3 }),
    ],
    [
      count(1_000, 1_900, { from: 'n1', to: 'n2', append: 200, entries: 300, heartbeat: 20 }),
      count(2_000, 9_000, { from: 'n1', to: 'n2', append: 112, entries: 140, heartbeat: 20 }),
      count(1_000, 9_000, { from: 'n1', to: 'n2', dir: 'in', append: 312, heartbeat: 40 }),
      count(1_000, 9_000, { from: 'n2', to: 'n1', appendResp: 312, rejected: 0, heartbeatResp: 40 }),
      count(1_000, 9_000, { from: 'n1', to: 'n3', append: 312, entries: 440, heartbeat: 40 }),
      count(1_000, 9_000, { from: 'n1', to: 'n3', dir: 'in', append: 100, heartbeat: 10 }),
    ],
  );
}

describe('the message rows', () => {
  it('draws every vote with its result, and summarizes appends and heartbeats per pair', () => {
    const rows = messageRows(election(), 12_000);
    expect(rows.map((r) => `${r.from}→${r.to} ${r.text}`)).toEqual([
      'n1→n2 append ×312 (440 entries), 0 rejected · heartbeat ×40 · over 8.0 s',
      'n1→n3 append ×312 (440 entries), 0 rejected · heartbeat ×40 · only 110 arrived · over 8.0 s',
      'n2→n1 pre-vote t5 · log 40@t4 ✕ n1 silent since',
      'n2→n3 pre-vote t5 · log 40@t4',
      'n3→n2 pre-vote t4 ✓ granted',
      'n2→n3 vote t5 · log 40@t4',
      'n3→n2 vote t5 ✗ denied: its log is behind',
      'n2→n3 append t5 ✗ rejected at 41, hint 38@t3',
    ]);
    expect(rows.map((r) => r.level)).toEqual(['dim', 'warn', 'error', 'info', 'ok', 'info', 'warn', 'warn']);
    expect(rows.filter((r) => r.lost).map((r) => `${r.from}→${r.to}`)).toEqual(['n1→n3', 'n2→n1']);
  });

  it('waits a moment before calling a message not received, and says when the receiver has not reported since', () => {
    const fresh = { ...view(both(10_000, { from: 'n2', to: 'n1' }, false)), reportedAtMs: { n1: 10_000 + notReceivedAfterMs } };
    expect(messageRows(fresh, 10_000 + notReceivedAfterMs - 1)[0]!.lost).toBe(false);
    const late = messageRows(fresh, 10_000 + notReceivedAfterMs)[0]!;
    expect([late.lost, late.text]).toEqual([true, 'vote t2 · log ?@t? ✕ not received']);
    const silent = messageRows({ ...fresh, reportedAtMs: { n1: 10_500 } }, 10_000 + notReceivedAfterMs)[0]!;
    expect([silent.lost, silent.text]).toEqual([true, 'vote t2 · log ?@t? ✕ n1 silent since']);
  });

  it('draws a message only its receiver reported (the sender died first), and matches each copy once', () => {
    const onlyReceived = view([record(5_000, { dir: 'in', from: 'n1', to: 'n3', type: 'timeout-now', term: 7 })]);
    expect(messageRows(onlyReceived, 9_000).map((r) => [r.from, r.to, r.text, r.lost])).toEqual([['n1', 'n3', 'timeout-now t7: campaign now (transfer)', false]]);
    // Sent twice, received once: the second copy was not received.
    const twice = view([record(1_000, {}), record(1_200, {}), record(1_001, { dir: 'in' })]);
    expect(messageRows(twice, 9_000).map((r) => r.lost)).toEqual([false, true]);
  });

  it('counts only the appends the follower rejected, not a stale leader’s rejection of the other side', () => {
    const rows = messageRows(
      view([], [
        count(1_000, 2_000, { from: 'n1', to: 'n2', append: 10, entries: 10 }),
        count(1_000, 2_000, { from: 'n1', to: 'n2', append: 10, dir: 'in' }),
        count(1_000, 2_000, { from: 'n2', to: 'n1', appendResp: 10, rejected: 3 }),
        count(1_000, 2_000, { from: 'n1', to: 'n2', appendResp: 1, rejected: 1 }),
      ]),
      9_000,
    );
    expect(rows.map((r) => `${r.from}→${r.to} ${r.text}`)).toEqual(['n1→n2 append ×10 (10 entries), 3 rejected · over 1.0 s']);
  });

  it('draws a request before its answer recorded in the same millisecond, whatever order the reports came in', () => {
    const rows = messageRows(view([...both(7_000, { from: 'n1', to: 'n2', type: 'vote-resp', term: 3, granted: true }), ...both(7_000, { from: 'n2', to: 'n1', type: 'vote', term: 3 })]), 9_000);
    expect(rows.map((r) => r.text)).toEqual(['vote t3 · log ?@t?', 'vote t3 ✓ granted']);
  });

  it('ends a pair’s summary at a rare message between the two, so the order of events holds', () => {
    const rows = messageRows(
      view(both(5_000, { from: 'n2', to: 'n1', type: 'vote', term: 3 }), [
        count(1_000, 4_000, { from: 'n1', to: 'n2', heartbeat: 60 }),
        count(1_000, 4_000, { from: 'n1', to: 'n2', heartbeat: 59, dir: 'in' }),
        count(6_000, 8_000, { from: 'n2', to: 'n1', heartbeat: 40 }),
        count(6_000, 8_000, { from: 'n2', to: 'n1', heartbeat: 40, dir: 'in' }),
      ]),
      9_000,
    );
    expect(rows.map((r) => `${r.from}→${r.to} ${r.text}`)).toEqual(['n1→n2 heartbeat ×60 · over 3.0 s', 'n2→n1 vote t3 · log ?@t?', 'n2→n1 heartbeat ×40 · over 2.0 s']);
  });
});

const nodes = (): NodeStatus[] =>
  frame('steady').nodes.map((node, i) => ({
    ...node,
    role: i === 0 ? 'leader' : 'follower',
    election: i === 0 ? { elapsedTicks: 3, timeoutTicks: 15, elapsedMs: 30, timeoutMs: 150 } : i === 1 ? { elapsedTicks: 5, timeoutTicks: 20, elapsedMs: 50, timeoutMs: 200 } : { elapsedTicks: 27, timeoutTicks: 30, elapsedMs: 270, timeoutMs: 300 },
  }));

describe('the message pane', () => {
  it('draws one lane per node, arrows between lanes, and each election timer as a bar of the time left', () => {
    const rows = messageRows(election(), 12_000);
    const pane = renderAt(<MessagePane rows={rows} ids={['n1', 'n2', 'n3']} nodes={nodes()} width={100} height={7} scroll={0} frozenAtMs={null} color={false} />, 100);
    const lines = (pane.lastFrame() ?? '').split('\n');
    expect(lines).toHaveLength(8);
    expect(lines[0]).toMatch(/^messages live {2}n1 leads +n2 ████████░░ 150ms +n3 █░░░░░░░░░ 30ms/);
    expect(lines[1]).toMatch(/^ {13} {5}n1 {8}n2 {8}n3 {4}3–8 of 8$/);
    const lane = laneColumns(100, 3);
    expect(lane).toBe(10);
    // n2 (lane 1) to n1 (lane 0), never received: the arrow ends in ✕ at n1's line.
    expect(lines[2]).toContain('     ✕─────────●         │     n2→n1 pre-vote t5 · log 40@t4 ✕ n1 silent since');
    expect(lines[3]).toContain('     │         ●─────────▶     n2→n3 pre-vote t5');
    expect(lines[4]).toContain('     │         ◀─────────●     n3→n2 pre-vote t4 ✓ granted');
    expect(lines[5]).toContain('     │         ●─────────▶     n2→n3 vote t5');
    expect(lines[6]).toContain('     │         ◀─────────●     n3→n2 vote t5 ✗ denied: its log is behind');
    pane.unmount();
  });

  it('scrolls back when frozen, says so, and fits 80 columns with seven nodes', () => {
    const rows = messageRows(election(), 12_000);
    const pane = renderAt(<MessagePane rows={rows} ids={['n1', 'n2', 'n3']} nodes={nodes()} width={80} height={4} scroll={99} frozenAtMs={12_000} color={false} />, 80);
    const lines = (pane.lastFrame() ?? '').split('\n');
    expect(messageScrollMax(rows.length, 4)).toBe(5);
    expect(lines[0]).toMatch(/^messages FROZEN at \d\d:\d\d:12\.000 /);
    expect(lines[1]).toContain('1–3 of 8 · ↑↓ PgUp PgDn');
    expect(lines[2]).toContain('═▶');
    expect(lines[2]).toContain('n1→n2 append ×312');
    expect(lines[3]).toContain('═✕');
    expect(lines[3]).toContain('n1→n3 append ×312');
    pane.unmount();
    const seven = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'];
    const wide = renderAt(<MessagePane rows={rows} ids={seven} nodes={nodes()} width={80} height={6} scroll={0} frozenAtMs={null} color={false} />, 80);
    for (const line of (wide.lastFrame() ?? '').split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(laneColumns(80, 7)).toBe(4);
    wide.unmount();
  });
});
