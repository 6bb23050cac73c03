// assembleTrace on made-up stamps: which stage each mode and ack level waits
// for (sync the slowest follower, quorum the fastest, async none), a path
// with no gap, and what is reported when stamps are missing or out of order.

import { describe, expect, it } from 'vitest';
import { assembleTrace, type TraceInput } from '../../cluster/trace/assemble.js';
import type { NodeTraceRecord, TraceRule } from '../../cluster/trace/types.js';
import { Invalid, parseToNode } from '../../cluster/protocol.js';
import { traceTagProblem } from '../../cluster/node/trace.js';
import { traceRecord } from '../../cluster/supervisor/trace.js';

type Level = 'received' | 'flushed' | 'applied';

/** n2 is fast, n3 slow (its fdatasync takes 570 µs against n2's 120). */
const follower = (node: string, base: number, fsyncUs: number): NodeTraceRecord => ({
  node,
  pid: 2,
  tag: 'trace-0123456789abcdef',
  role: 'follower',
  index: 7,
  term: 1,
  fsync: true,
  commitVia: 'heartbeat',
  stamps: {
    receive: base,
    'wal-write-start': base + 10,
    'wal-write-end': base + 20,
    'ack-sent-received': base + 25,
    'fsync-start': base + 30,
    'fsync-end': base + 30 + fsyncUs,
    'ack-sent-flushed': base + 35 + fsyncUs,
    'apply-start': base + 40 + fsyncUs,
    'apply-end': base + 60 + fsyncUs,
    'ack-sent-applied': base + 65 + fsyncUs,
  },
  peers: {},
});

const peers = {
  n2: { 'append-sent': 1170, 'ack-received': 1330, 'ack-flushed': 1460, 'ack-applied': 1490 },
  n3: { 'append-sent': 1170, 'ack-received': 1380, 'ack-flushed': 1960, 'ack-applied': 1990 },
};

function input(mode: TraceRule['mode'], ackLevel: Level, releasedAt: number): TraceInput {
  const leader: NodeTraceRecord = {
    node: 'n1',
    pid: 1,
    tag: 'trace-0123456789abcdef',
    role: 'leader',
    index: 7,
    term: 1,
    fsync: true,
    commitVia: null,
    stamps: {
      receive: 1100,
      validated: 1120,
      appended: 1130,
      'wal-write-start': 1140,
      'wal-write-end': 1160,
      'fsync-start': 1165,
      'fsync-end': 1500,
      commit: 1500,
      'apply-start': releasedAt + 10,
      'apply-end': releasedAt + 30,
      reply: releasedAt + 35,
      'reply-sent': releasedAt + 40,
    },
    peers,
  };
  return {
    sql: 'INSERT INTO kv VALUES (1)',
    leader: 'n1',
    followers: ['n2', 'n3'],
    records: new Map([
      ['n1', leader],
      ['n2', follower('n2', 1250, 120)],
      ['n3', follower('n3', 1300, 570)],
    ]),
    clientPid: 0,
    clientSendUs: 1000,
    clientReceiveUs: releasedAt + 90,
    clientLatencyMs: (releasedAt + 90 - 1000) / 1000,
    index: 7,
    term: 1,
    rule: { mode, ackLevel, quorum: 2, syncStandbys: ['n2', 'n3'] },
  };
}

function labels(mode: TraceRule['mode'], level: Level, releasedAt: number) {
  const trace = assembleTrace(input(mode, level, releasedAt));
  expect(trace.problems).toEqual([]);
  expect(trace.missing).toEqual([]);
  let at = 0;
  for (const step of trace.criticalPath) {
    expect(step.startUs).toBeCloseTo(at, 6);
    at += step.durationUs;
  }
  expect(at).toBe(releasedAt + 90 - 1000);
  expect(trace.summary.totalUs).toBe(at);
  return { trace, path: trace.criticalPath.map((s) => s.label) };
}

describe('assembleTrace', () => {
  it('async waits for the leader fdatasync only', () => {
    const { trace, path } = labels('async', 'flushed', 1500);
    expect(trace.decidedBy).toBe('leader-fsync');
    expect(path).toContain('n1 fdatasync');
    expect(path.some((l) => l.startsWith('n2') || l.startsWith('n3'))).toBe(false);
    expect(trace.summary.diskUs['n1']).toBe(20 + 335);
    expect(trace.summary.quorumWaitUs).toBe(0);
  });

  it('sync waits for the slowest follower, quorum for the fastest', () => {
    const sync = labels('sync', 'flushed', 1960);
    expect(sync.trace.decidedBy).toBe('n3');
    expect(sync.path).toContain("n3 → n1: ack 'flushed'");
    expect(sync.path).toContain('n3 fdatasync');
    // n1's own fdatasync ended at 1500; n3's flushed ack, the last one sync needs, arrived at 1960.
    expect(sync.trace.summary.quorumWaitUs).toBe(460);
    const quorum = labels('quorum', 'flushed', 1500);
    // n2's flushed ack (1460) came before n1's own fdatasync ended (1500): the leader's fsync completes the quorum.
    expect(quorum.trace.decidedBy).toBe('leader-fsync');
    const received = labels('quorum', 'received', 1380);
    // 'received' needs two of three: n2 (1330) and n3 (1380) before the leader's fsync (1500); the second one decides.
    expect(received.trace.decidedBy).toBe('n3');
    expect(received.path).toContain("n3 → n1: ack 'received'");
    expect(received.path).not.toContain('n3 fdatasync');
    expect(received.trace.explanation.join(' ')).toContain('before its fdatasync');
  });

  it('a leader that sent its appends before its own WAL write: the path runs from its log to the send, with no span backwards', () => {
    const base = input('sync', 'flushed', 1960);
    const leader = base.records.get('n1')!;
    // Sent at 1135, before the WAL write that starts at 1140 (node/host.ts sends a leader's appends first).
    const early = { n2: { ...peers.n2, 'append-sent': 1135 }, n3: { ...peers.n3, 'append-sent': 1135 } };
    const trace = assembleTrace({ ...base, records: new Map([...base.records, ['n1', { ...leader, peers: early }]]) });
    expect(trace.problems).toEqual([]);
    expect(trace.missing).toEqual([]);
    const path = trace.criticalPath.map((s) => s.label);
    expect(path).toContain('n1 sends the append, before its own WAL write');
    expect(path).not.toContain('n1 WAL write');
    expect(trace.criticalPath.find((s) => s.label === 'n1 sends the append, before its own WAL write')?.durationUs).toBe(5);
    expect(trace.criticalPath.reduce((sum, s) => sum + s.durationUs, 0)).toBe(1960 + 90 - 1000);
  });

  it("says when the statement's text was new to the leader, as the leader reports it", () => {
    const base = input('quorum', 'flushed', 1500);
    const withLeader = (firstText: boolean): TraceInput => ({ ...base, records: new Map([...base.records, ['n1', { ...base.records.get('n1')!, firstText }]]) });
    expect(assembleTrace(withLeader(true)).explanation[0]).toContain('n1 met this statement\'s text for the first time');
    expect(assembleTrace(withLeader(false)).explanation.join(' ')).not.toContain('for the first time');
    expect(assembleTrace(base).explanation.join(' ')).not.toContain('for the first time');
  });

  it("quorum with one required follower takes the fastest: n2's flushed ack", () => {
    const trace = assembleTrace({ ...input('quorum', 'flushed', 1460), rule: { mode: 'quorum', ackLevel: 'flushed', quorum: 1, syncStandbys: [] } });
    expect(trace.decidedBy).toBe('n2');
    expect(trace.criticalPath.map((s) => s.label)).toContain('n2 fdatasync');
  });

  it("'applied' goes through the follower's apply", () => {
    const { trace, path } = labels('sync', 'applied', 1990);
    expect(trace.decidedBy).toBe('n3');
    expect(path).toContain('n3 apply (SQLite)');
    expect(path).toContain('n3 fdatasync');
    expect(trace.acks['n2']).toEqual({ received: 330, flushed: 460, applied: 490 });
  });

  it('names what was not seen, and spans that end before they start', () => {
    const base = input('sync', 'flushed', 1960);
    const records = new Map(base.records);
    records.set('n3', null);
    const missing = assembleTrace({ ...base, records });
    expect(missing.missing.some((m) => m.startsWith('n3: never received'))).toBe(true);
    expect(missing.missing.some((m) => m.startsWith('critical path'))).toBe(true);
    const early = follower('n2', 1100, 120);
    const skewed = assembleTrace({ ...input('quorum', 'received', 1330), rule: { mode: 'quorum', ackLevel: 'received', quorum: 1, syncStandbys: [] }, records: new Map([...base.records, ['n2', early]]) });
    expect(skewed.problems.join(' ')).toContain('n1 → n2: the append');
  });
});

describe('trace messages', () => {
  it('parses a trace control message and refuses malformed ones', () => {
    expect(parseToNode({ type: 'trace', id: 3, action: 'arm', tag: 'trace-0123456789abcdef' })).toEqual({ type: 'trace', id: 3, action: 'arm', tag: 'trace-0123456789abcdef' });
    expect(parseToNode({ type: 'trace', id: 3, action: 'explode', tag: 'trace-01234567' })).toBeInstanceOf(Invalid);
    expect(parseToNode({ type: 'trace', id: 3, action: 'arm', tag: 'x'.repeat(65) })).toBeInstanceOf(Invalid);
    expect(traceTagProblem('trace-0123456789abcdef')).toBeNull();
    expect(traceTagProblem('client-1')).toMatch(/trace tag/);
  });

  it('reads a node report field by field: a malformed one is no record', () => {
    const good = follower('n2', 1250, 120);
    expect(traceRecord(JSON.parse(JSON.stringify(good)))).toEqual(good);
    expect(traceRecord({ ...good, role: 'boss' })).toBeNull();
    expect(traceRecord({ ...good, stamps: { receive: 'soon', 'fsync-end': 5, bogus: 1 } })?.stamps).toEqual({ 'fsync-end': 5 });
    expect(traceRecord(null)).toBeNull();
    expect(traceRecord({ ...good, firstText: true })?.firstText).toBe(true);
    expect(traceRecord({ ...good, firstText: 'yes' })).toEqual(good);
  });
});
