import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../cluster/index.js';
import { dashboardReducer, initialDashboardState, type Snapshot } from '../../tui/state/dashboard-state.js';
import { describeEvents, initialElections } from '../../tui/state/event-log.js';
import { frame, recording } from './fixtures/recorded-controller.js';

function texts(events: readonly ClusterEvent[]): string[] {
  return describeEvents(events, initialElections).lines.map((line) => line.text);
}

describe('event log lines (recorded events)', () => {
  it('tells the story of the recorded run: elections with votes and durations, faults, exits', () => {
    const lines = texts(recording.events);
    expect(lines).toEqual([
      'n1 started (pid 2547)',
      'n2 started (pid 2548)',
      'n3 started (pid 2549)',
      'n2 campaigns for term 1',
      'n2 elected leader of term 1, votes n2 n1, 6ms without a leader after n2 timed out',
      'fault: n2 killed (SIGKILL)',
      'n2 exited (SIGKILL): the cluster has no leader',
      'n1 campaigns for term 2',
      'n1 elected leader of term 2, votes n1 n3, 128ms without a leader after leader n2 exited',
      'fault: n3 paused (SIGSTOP)',
      'n1 steps down in term 2: lost contact with a majority',
      'fault: n3 resumed (SIGCONT) with 11 queued messages',
      'n2 started (pid 2590, restart 1)',
      'fault: n2 restarted from /tmp/replica-lab-LteySe/n2',
      'n2 recovered its WAL: 41 records up to index 41',
      'n1 campaigns for term 3',
      'n3 denies n1 its vote in term 3: a leader is alive',
      'n1 elected leader of term 3, votes n1 n2, 772ms without a leader after n1 stepped down',
      'n1 exited (exit code 0): the cluster has no leader',
      'n3 exited (exit code 0)',
      'n2 exited (exit code 0)',
    ]);
  });

  it('says once when a term begins that no campaign announced', () => {
    const event = (e: ClusterEvent['event']): ClusterEvent => ({ atMs: 1, event: e });
    expect(
      texts([
        event({ type: 'term-changed', node: 'n2', from: 3, to: 4 }),
        event({ type: 'term-changed', node: 'n3', from: 3, to: 4 }),
      ]),
    ).toEqual(['term 4 begins (n2 moved from term 3)']);
  });

  it('names lost writes, rollbacks, crashes and split brain loudly', () => {
    const at = (atMs: number, e: ClusterEvent['event']): ClusterEvent => ({ atMs, event: e });
    const described = describeEvents(
      [
        at(1, { type: 'writes-lost', node: 'n1', rollbackPath: '/d/n1/rollback/1.jsonl', writes: [{ index: 41, term: 2, kind: 'sql', sql: 'INSERT' }, { index: 43, term: 2, kind: 'sql', sql: 'INSERT' }] }),
        at(2, { type: 'entries-rolled-back', node: 'n1', fromIndex: 41, toIndex: 43, leader: 'n2' }),
        at(3, { type: 'node-exited', node: 'n3', code: 1, signal: null, expected: false, logTail: 'boot\nAssertionError: commit went backwards\n' }),
        at(4, { type: 'higher-term-ignored', node: 'n1', term: 2, seen: 3, from: 'n2' }),
      ],
      initialElections,
    ).lines;
    expect(described.map((line) => [line.level, line.text])).toEqual([
      ['error', 'LOST 2 acknowledged writes: n1 rolled back indexes 41–43 (/d/n1/rollback/1.jsonl)'],
      ['warn', "n1 rolls back applied entries 41–43: leader n2's log does not hold them"],
      ['error', 'n3 CRASHED (exit code 1): AssertionError: commit went backwards'],
      ['error', 'SPLIT BRAIN: n1 ignores term 3 from n2 and keeps leading term 2 (fencing off)'],
    ]);
  });

  it('reads link faults as delay and loss', () => {
    const link = (detail: string): ClusterEvent => ({ atMs: 1, event: { type: 'fault', fault: 'link', detail } });
    expect(texts([link('n1 -> n2: {"delayMs":80,"jitterMs":20,"loss":0}'), link('n3 -> n1: {"delayMs":0,"jitterMs":0,"loss":0.2}')])).toEqual([
      'fault: link n1 → n2: 80ms ±20ms delay',
      'fault: link n3 → n1: 20% loss',
    ]);
  });

  it('says what a snapshot took, sent and installed, with sizes and times', () => {
    const at = (event: ClusterEvent['event']): ClusterEvent => ({ atMs: 1, event });
    expect(
      texts([
        at({ type: 'snapshot-taken', node: 'n1', index: 40_000, term: 2, bytes: 3_460_000, durationMs: 42, walBytesRetained: 1_153_434, walBytesRemoved: 4_194_304 }),
        at({ type: 'snapshot-sent', node: 'n1', to: 'n3', index: 40_000, term: 2, bytes: 3_460_000, durationMs: 310, rewinds: 0 }),
        at({ type: 'snapshot-installed', node: 'n3', from: 'n1', index: 40_000, term: 2, bytes: 3_460_000, durationMs: 350, installMs: 40, log: 'restarted' }),
        at({ type: 'snapshot-failed', node: 'n1', to: 'n2', index: 40_000, reason: 'no progress for 6 timeouts of 2000 ms' }),
      ]),
    ).toEqual([
      'n1 took a snapshot at index 40000 (3.3MiB, 42ms); WAL kept 1.1MiB, 4.0MiB compacted away',
      'n1 sent its snapshot at index 40000 to n3: 3.3MiB in 310ms',
      "n3 installed n1's snapshot at index 40000: 3.3MiB in 350ms (install 40ms), log restarted after it",
      'n1 could not send its snapshot at index 40000 to n2 (retried): no progress for 6 timeouts of 2000 ms',
    ]);
  });

  it('shows an event kind it does not know rather than hiding it', () => {
    const unknown = { atMs: 1, event: { type: 'brand-new', node: 'n1' } } as unknown as ClusterEvent;
    expect(texts([unknown])).toEqual(['event brand-new: {"type":"brand-new","node":"n1"}']);
  });
});

describe('the dashboard reducer', () => {
  const snapshotOf = (label: string, atMs?: number): Snapshot => {
    const f = frame(label);
    return { atMs: atMs ?? f.atMs, nodes: f.nodes, leader: f.leader, replication: f.replication, workload: f.workload, lostWrites: f.lostWrites };
  };

  it('counts repeated lines instead of repeating them, and keeps the log bounded', () => {
    let state = initialDashboardState();
    const heal: ClusterEvent = { atMs: 5, event: { type: 'fault', fault: 'heal', detail: 'every link restored' } };
    state = dashboardReducer(state, { type: 'cluster-update', snapshot: snapshotOf('steady'), events: [heal, heal, heal] });
    expect(state.log.toArray().map((line) => [line.text, line.repeat])).toEqual([['fault: every link restored', 3]]);
    for (let i = 0; i < 600; i++) {
      state = dashboardReducer(state, { type: 'cluster-update', snapshot: snapshotOf('steady'), events: [{ atMs: i, event: { type: 'fault', fault: 'kill', detail: `n${(i % 3) + 1} killed` } }] });
    }
    expect(state.log.size).toBe(500);
  });

  it('samples the charts every 500 ms and keeps 60 s of history', () => {
    let state = initialDashboardState();
    const start = frame('steady').atMs;
    for (let i = 0; i < 400; i++) state = dashboardReducer(state, { type: 'cluster-update', snapshot: snapshotOf(i < 200 ? 'steady' : 'new leader', start + i * 250), events: [] });
    expect(state.samples.size).toBe(120);
    const newest = state.samples.newest()!;
    expect(newest.leader).toBe('n1');
    expect(newest.replayLagMs).toEqual({ n2: frame('new leader').nodes[1]!.lag!.replayLagMs, n3: 0 });
  });

  it('turns the online checker’s stale-read count into a rate', () => {
    let state = initialDashboardState();
    const base = snapshotOf('steady', 0);
    const withStale = (atMs: number, staleReads: number): Snapshot => ({ ...base, atMs, workload: { ...base.workload!, consistency: { staleReads } } });
    state = dashboardReducer(state, { type: 'cluster-update', snapshot: withStale(0, 10), events: [] });
    state = dashboardReducer(state, { type: 'cluster-update', snapshot: withStale(1_000, 16), events: [] });
    expect(state.samples.toArray().map((s) => s.staleReadsPerSecond)).toEqual([0, 6]);
  });

  it('finds divergent replicas: a different checksum at the same applied index', () => {
    const base = snapshotOf('steady', 0);
    const withChecksums = (atMs: number, values: Record<string, [number, string]>): Snapshot => ({
      ...base,
      atMs,
      nodes: base.nodes.map((n) => ({ ...n, checksum: values[n.id] === undefined ? null : { index: values[n.id]![0], value: values[n.id]![1] } })),
    });
    let state = initialDashboardState();
    state = dashboardReducer(state, { type: 'cluster-update', snapshot: withChecksums(0, { n1: [10, 'aaa'], n2: [12, 'bbb'] }), events: [] });
    expect(state.samples.newest()!.divergentReplicas).toBe(0);
    // n3 reaches index 10 later, with a different state than n1 had there; then n2 agrees with n1 at 12.
    state = dashboardReducer(state, { type: 'cluster-update', snapshot: withChecksums(1_000, { n1: [12, 'bbb'], n3: [10, 'zzz'] }), events: [] });
    state = dashboardReducer(state, { type: 'cluster-update', snapshot: withChecksums(2_000, { n1: [12, 'bbb'], n2: [10, 'aaa'], n3: [10, 'zzz'] }), events: [] });
    expect(state.samples.newest()!.divergentReplicas).toBe(1);
    expect([...state.divergence.verdicts].filter(([, v]) => v.divergent).map(([id]) => id)).toEqual(['n3']);
  });

  it('judges divergence against the newest term, and forgets a node that rolled back', () => {
    const base = snapshotOf('steady', 0);
    // n1 led term 1 and applied writes nobody else has; n2 and n3 moved on in term 2.
    const snapshot = (atMs: number, reports: Record<string, [number, number, string]>): Snapshot => ({
      ...base,
      atMs,
      nodes: base.nodes.map((n) => (reports[n.id] === undefined ? { ...n, checksum: null } : { ...n, term: reports[n.id]![0], checksum: { index: reports[n.id]![1], value: reports[n.id]![2] } })),
    });
    let state = initialDashboardState();
    state = dashboardReducer(state, { type: 'cluster-update', snapshot: snapshot(0, { n1: [1, 50, 'old'], n2: [2, 50, 'new'] }), events: [] });
    expect(state.samples.newest()!.divergentReplicas).toBe(1);
    expect([...state.divergence.verdicts].filter(([, v]) => v.divergent).map(([id]) => id)).toEqual(['n1']);
    const rolledBack: ClusterEvent = { atMs: 600, event: { type: 'entries-rolled-back', node: 'n1', fromIndex: 41, toIndex: 50, leader: 'n2' } };
    state = dashboardReducer(state, { type: 'cluster-update', snapshot: snapshot(600, {}), events: [rolledBack] });
    expect(state.samples.newest()!.divergentReplicas).toBe(0);
  });
});

describe('replication-set lines', () => {
  it('name the sync standbys and, when the supervisor changed the setting itself, why', () => {
    const replication = { mode: 'sync' as const, ackLevel: 'flushed' as const, quorum: null, syncStandbys: ['n3'], syncTimeoutMs: null, syncFallback: 'block' as const };
    const at = 1_700_000_000_000;
    expect(texts([{ atMs: at, event: { type: 'replication-set', replication } }])).toEqual(['replication set to sync (standbys n3), ack flushed']);
    const reason = 'n2 left the cluster, so it is no longer a sync standby (standbys now n3)';
    expect(texts([{ atMs: at, event: { type: 'replication-set', replication, reason } }])).toEqual([`replication set to sync (standbys n3), ack flushed: ${reason}`]);
  });
});
