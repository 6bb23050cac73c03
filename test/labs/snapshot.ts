// Hand-built observations for testing checks as pure functions: a cluster's
// status, its events, the journal and the workload history, as plain data.

import type { HistoryRecord } from '../../cluster/check/index.js';
import type { ClusterEvent, NodeStatus, ReplicationSettings } from '../../cluster/index.js';
import { baselineOf } from '../../labs/observe.js';
import type { Action, Baseline, Observation } from '../../labs/types.js';

export const replication = (change: Partial<ReplicationSettings> = {}): ReplicationSettings => ({
  mode: 'quorum',
  ackLevel: 'flushed',
  quorum: null,
  syncStandbys: null,
  syncTimeoutMs: null,
  syncFallback: 'block',
  ...change,
});

export function nodeStatus(id: string, change: Partial<NodeStatus> = {}): NodeStatus {
  const role = change.role ?? 'follower';
  return {
    id,
    pid: 1000 + Number(id.slice(1)),
    role,
    term: 2,
    leader: 'n1',
    up: true,
    paused: false,
    isolated: false,
    lastIndex: 100,
    lastLsn: 10_000,
    flushedIndex: 100,
    commitIndex: 100,
    appliedIndex: 100,
    received: { index: 100, lsn: 10_000 },
    flushed: { index: 100, lsn: 10_000 },
    applied: { index: 100, lsn: 10_000 },
    lag: role === 'leader' ? null : { writeLagMs: 0, flushLagMs: 0, replayLagMs: 0, entries: 0, bytes: 0 },
    checksum: null,
    degraded: false,
    replication: replication(),
    malformedMessages: 0,
    rssBytes: 0,
    wal: { bytes: 0, fsyncs: 0, fsyncMs: 0 },
    network: null,
    reportAgeMs: 10,
    election: null,
    faults: { diskSlowMs: 0, applySlowMs: 0 },
    snapshotIndex: 0,
    walBytesRetained: 0,
    member: 'voter',
    ...change,
  };
}

/** Three nodes, n1 leading term 2, nothing done yet. */
export function observation(change: Partial<Observation> = {}): Observation {
  return {
    mono: 1_000,
    wall: 1_700_000_001_000,
    tickMs: 10,
    status: [nodeStatus('n1', { role: 'leader' }), nodeStatus('n2'), nodeStatus('n3')],
    leader: 'n1',
    replication: replication(),
    events: [],
    actions: [],
    history: [],
    workload: null,
    lostWrites: [],
    rollbackFiles: [],
    lagSamples: [],
    nodeSamples: [],
    membership: { voters: ['n1', 'n2', 'n3'], learners: [], quorum: 2, from: 'n1' },
    engine: 'replica-lab',
    serverLog: [],
    failovers: [],
    ...change,
  };
}

/** The baseline of a step that began at mono 1000 / wall …1000 on `o` (without its actions). */
export function baseline(o: Observation = observation(), change: Partial<Baseline> = {}): Baseline {
  return { ...baselineOf({ ...o, actions: [] }), mono: 1_000, wall: 1_700_000_001_000, ...change };
}

let seq = 0;
type Body = Action extends infer A ? (A extends Action ? Omit<A, 'seq' | 'mono' | 'wall' | 'leader' | 'leaderCommitIndex' | 'by'> : never) : never;

/** An action taken `atMs` after the step began (mono 1000 + atMs), while `leader` led. */
export function action(body: Body, atMs = 10, leader: string | null = 'n1'): Action {
  return { seq: ++seq + 1000, mono: 1_000 + atMs, wall: 1_700_000_001_000 + atMs, leader, leaderCommitIndex: 100, by: 'person', ...body } as Action;
}

/** A cluster event `atMs` after the step began. */
export function event(atMs: number, e: ClusterEvent['event']): ClusterEvent {
  return { atMs: 1_700_000_001_000 + atMs, event: e };
}

let op = 0;
const opFields = (key: string, mono: number, session = 'c1.1') => ({ op: ++op, client: session.split('.')[0]!, session, key, wall: 1_700_000_000_000 + mono, mono });

/** A write acknowledged at `mono` (invoked 2 ms earlier), as the workload records it. */
export function ackedWrite(key: string, index: number, mono: number, node = 'n1', session = 'c1.1'): HistoryRecord[] {
  const invoke = { ...opFields(key, mono - 2, session), type: 'invoke' as const, f: 'write' as const, node, value: `v${index}` };
  return [invoke, { ...invoke, type: 'ok' as const, mono, wall: 1_700_000_000_000 + mono, node, index, term: 2 }];
}

/** A write invoked at `mono` and still running (or ended as `end`). */
export function write(key: string, mono: number, end: 'none' | 'info' | 'fail' | { index: number } = 'none', node = 'n1'): HistoryRecord[] {
  const invoke = { ...opFields(key, mono), type: 'invoke' as const, f: 'write' as const, node, value: `w${mono}` };
  if (end === 'none') return [invoke];
  const at = { mono: mono + 5, wall: 1_700_000_000_000 + mono + 5 };
  if (end === 'info') return [invoke, { ...invoke, ...at, type: 'info' as const, error: 'timed out', reason: 'timeout' as const, index: null }];
  if (end === 'fail') return [invoke, { ...invoke, ...at, type: 'fail' as const, error: 'no leader' }];
  return [invoke, { ...invoke, ...at, type: 'ok' as const, index: end.index, term: 2 }];
}

/** A local read of `key` on `node` invoked at `mono` that saw idx `idx`. */
export function read(key: string, node: string, idx: number | null, mono: number, session = 'c2.1'): HistoryRecord[] {
  const invoke = { ...opFields(key, mono, session), type: 'invoke' as const, f: 'read' as const, node, consistency: 'local' as const, minIndex: null };
  return [invoke, { ...invoke, mono: mono + 1, wall: 1_700_000_000_000 + mono + 1, type: 'ok' as const, node, value: idx === null ? null : `v${idx}`, idx, appliedIndex: idx ?? 0 }];
}

export function workloadRecord(mono: number, options: Record<string, unknown>): HistoryRecord {
  return { type: 'workload', wall: 1_700_000_000_000 + mono, mono, options };
}
