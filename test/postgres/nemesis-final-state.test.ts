// The end of a nemesis run on PostgreSQL (cluster/postgres/final-state.ts), with a stand-in
// engine: when the servers count as settled, what settling does to a server that does not
// follow the primary, and the final state it appends to the history for the unchanged checker.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkHistoryFile } from '../../cluster/check/index.js';
import { checksumSql, notFollowing, pgUnsettled, recordPostgresFinalState, settlePostgres, stateSql, type PgServerState } from '../../cluster/postgres/final-state.js';
import { lostNotByRewind } from '../../cluster/supervisor/nemesis.js';
import type { NodeStatus } from '../../cluster/supervisor/types.js';
import type { QueryResult } from '../../cluster/supervisor/requests.js';

const state = (id: string, fields: Partial<PgServerState> = {}): PgServerState => ({ id, up: true, paused: false, recovery: true, timeline: 2, receiver: 'streaming', position: 500, ...fields });
const primary = state('n1', { recovery: false, receiver: null, position: 500 });

describe('when the PostgreSQL servers count as settled', () => {
  it('a standby follows when it streams on the primary timeline', () => {
    expect(notFollowing(state('n2'), primary)).toBeNull();
    expect(notFollowing(state('n2', { recovery: false }), primary)).toBe('runs as a primary too');
    expect(notFollowing(state('n2', { receiver: null }), primary)).toBe('is not streaming (no walreceiver)');
    expect(notFollowing(state('n2', { timeline: 1 }), primary)).toBe('streams timeline 1, the primary is on 2');
    expect(notFollowing(state('n2', { recovery: null }), primary)).toBe('does not answer');
  });

  it('needs every server running, a primary, and every standby replayed up to the target', () => {
    expect(pgUnsettled([primary, state('n2'), state('n3')], 'n1', 500)).toBeNull();
    expect(pgUnsettled([primary, state('n2', { position: 499 }), state('n3')], 'n1', 500)).toBe('n2 replayed 499 of 500');
    expect(pgUnsettled([primary, state('n2', { up: false }), state('n3', { paused: true })], 'n1', 500)).toBe('n2, n3 not running');
    expect(pgUnsettled([primary, state('n2')], null, null)).toBe('no primary');
    expect(pgUnsettled([primary, state('n2', { timeline: 1, position: 900 })], 'n1', 500)).toBe('n2 streams timeline 1, the primary is on 2');
  });
});

/** A stand-in engine: servers whose answers the test sets, and a log of what was done to them. */
class FakeEngine {
  servers = new Map<string, PgServerState>();
  leaderId: string | null = 'n1';
  done: string[] = [];
  rows = new Map<string, [string, string | null, number | null][]>();
  committed: { idx: number; tli: number; k: string; v: string }[] = [];
  lost: { index: number; term: number; node: string; kind: 'sql'; sql: string }[] = [];
  /** What a restart does to a server (default: it comes back following the primary). */
  onRestart = (id: string): void => {
    this.servers.set(id, state(id));
  };

  constructor(states: readonly PgServerState[]) {
    for (const s of states) this.servers.set(s.id, s);
  }

  status(): NodeStatus[] {
    return [...this.servers.values()].map((s) => ({ id: s.id, up: s.up, paused: s.paused }) as unknown as NodeStatus);
  }
  leader(): string | null {
    return this.leaderId;
  }
  heal(): void {
    this.done.push('heal');
  }
  resume(id: string): void {
    this.done.push(`resume ${id}`);
    this.servers.set(id, { ...this.servers.get(id)!, paused: false });
  }
  async kill(id: string): Promise<void> {
    this.done.push(`kill ${id}`);
    this.servers.set(id, { ...this.servers.get(id)!, up: false, recovery: null });
  }
  async restart(id: string): Promise<void> {
    this.done.push(`restart ${id}`);
    this.onRestart(id);
  }
  async promote(id: string): Promise<void> {
    this.done.push(`promote ${id}`);
    this.leaderId = id;
    this.servers.set(id, { ...this.servers.get(id)!, recovery: false, receiver: null });
  }
  lostWrites() {
    return this.lost;
  }
  async query(sql: string, params: readonly (string | number | null)[] = [], options: { node?: string } = {}): Promise<QueryResult> {
    const node = options.node!;
    const s = this.servers.get(node)!;
    const result = (rows: Record<string, unknown>[]): QueryResult => ({ columns: [], rows, truncated: false, node, index: 0, latencyMs: 0 });
    if (sql === stateSql) {
      if (s.recovery === null) throw new Error(`${node} does not answer`);
      return result([{ recovery: s.recovery, timeline: s.timeline, receiver: s.receiver, position: s.position }]);
    }
    const rows = this.rows.get(node) ?? [];
    if (sql === checksumSql) return result([{ checksum: `sum-of-${JSON.stringify(rows)}`, rows: rows.length }]);
    if (sql.startsWith('SELECT k, v, idx FROM kv')) return result(rows.map(([k, v, idx]) => ({ k, v, idx })));
    if (sql.includes('FROM kv_writes')) {
      const [idx, tli, k] = params as [number, number, string];
      const after = this.committed.filter((c) => c.idx > idx || (c.idx === idx && (c.tli > tli || (c.tli === tli && c.k > k))));
      return result(after.slice(0, 5_000));
    }
    throw new Error(`unexpected SQL ${sql}`);
  }
}

describe('settling PostgreSQL servers', () => {
  it('settles at once when every standby streams and has replayed the primary flush LSN, and says the target', async () => {
    const engine = new FakeEngine([primary, state('n2'), state('n3', { position: 700 })]);
    const result = await settlePostgres(engine, { timeoutMs: 2_000, manualFailover: false });
    expect(result).toMatchObject({ settled: true, leader: 'n1', target: 500, actions: [] });
    expect(engine.done).toEqual(['heal']);
  });

  it('resumes and restarts servers, and kills and restarts a second primary that does not follow', async () => {
    const engine = new FakeEngine([primary, state('n2', { paused: true }), state('n3', { up: false, recovery: null }), state('n4', { recovery: false, receiver: null, timeline: 1 })]);
    const result = await settlePostgres(engine, { timeoutMs: 5_000, manualFailover: false, strayMs: 200 });
    expect(result.settled).toBe(true);
    expect(engine.done).toEqual(expect.arrayContaining(['resume n2', 'restart n3', 'kill n4', 'restart n4']));
    expect(result.actions).toEqual(['n3 restarted', "n4 runs as a primary too: killed and restarted (rewound onto n1's timeline)"]);
  });

  it('with manual failover promotes the standby that replayed the most after a second without a primary', async () => {
    const engine = new FakeEngine([state('n1', { up: false, recovery: null }), state('n2', { position: 400 }), state('n3', { position: 450 })]);
    engine.leaderId = null;
    // The old primary cannot restart until there is a primary to rewind it from.
    engine.onRestart = (id) => {
      if (engine.leaderId === null) throw new Error('no primary to rewind from');
      engine.servers.set(id, state(id, { timeline: 3, position: 450 }));
    };
    engine.promote = async (id: string) => {
      engine.done.push(`promote ${id}`);
      engine.leaderId = id;
      engine.servers.set(id, state(id, { recovery: false, receiver: null, timeline: 3, position: 450 }));
      engine.servers.set('n2', state('n2', { timeline: 3, position: 450 }));
    };
    const result = await settlePostgres(engine, { timeoutMs: 5_000, manualFailover: true });
    expect(result).toMatchObject({ settled: true, leader: 'n3', target: 450 });
    expect(engine.done.filter((d) => d.startsWith('promote'))).toEqual(['promote n3']);
    expect(result.actions).toEqual(['n3 promoted (no primary)', 'n1 restarted']);
  });

  it('gives up at the timeout and says what is still wrong, a failed restart included', async () => {
    const engine = new FakeEngine([primary, state('n2', { up: false, recovery: null })]);
    engine.onRestart = () => {
      throw new Error('pg_rewind failed (exit 1): could not connect');
    };
    const result = await settlePostgres(engine, { timeoutMs: 500, manualFailover: false });
    expect(result.settled).toBe(false);
    expect(result.detail).toBe('n2 not running; n2 would not restart: pg_rewind failed (exit 1): could not connect');
  });
});

let dir: string | null = null;
afterEach(() => {
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

const op = (fields: Record<string, unknown>) => JSON.stringify({ client: 'c1', session: 'c1.1', wall: 0, ...fields });

describe('the final state a PostgreSQL run appends', () => {
  it('lets the checker find a lost write confirmed by pg_rewind, and counts a read of a write that did not survive', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rl-pg-final-'));
    const history = join(dir, 'history.jsonl');
    writeFileSync(
      history,
      [
        // Acknowledged on timeline 1 by n1 and kept.
        op({ type: 'invoke', op: 1, f: 'write', key: 'a', mono: 1, node: 'n1', value: 'v1' }),
        op({ type: 'ok', op: 1, f: 'write', key: 'a', mono: 2, node: 'n1', value: 'v1', index: 100, term: 1 }),
        // Acknowledged by n1 on timeline 1, then removed by pg_rewind: lost.
        op({ type: 'invoke', op: 2, f: 'write', key: 'b', mono: 3, node: 'n1', value: 'v2' }),
        op({ type: 'ok', op: 2, f: 'write', key: 'b', mono: 4, node: 'n1', value: 'v2', index: 200, term: 1 }),
        // Timed out (its sync wait cancelled), seen by a read, then gone: a read of a write that did not survive.
        op({ type: 'invoke', op: 3, f: 'write', key: 'c', mono: 5, node: 'n1', value: 'v3' }),
        op({ type: 'info', op: 3, f: 'write', key: 'c', mono: 6, node: 'n1', error: 'timeout', reason: 'timeout', index: null }),
        op({ type: 'invoke', op: 4, f: 'read', key: 'c', mono: 7, node: null, consistency: 'linearizable', minIndex: null }),
        op({ type: 'ok', op: 4, f: 'read', key: 'c', mono: 8, node: 'n1', value: 'v3', idx: 210, appliedIndex: 220 }),
        // A read of the lost write: left to that lost write.
        op({ type: 'invoke', op: 5, f: 'read', key: 'b', mono: 9, node: null, consistency: 'linearizable', minIndex: null }),
        op({ type: 'ok', op: 5, f: 'read', key: 'b', mono: 10, node: 'n1', value: 'v2', idx: 200, appliedIndex: 220 }),
        // Acknowledged by the new primary n2 on timeline 2.
        op({ type: 'invoke', op: 6, f: 'write', key: 'b', mono: 11, node: 'n2', value: 'v4' }),
        op({ type: 'ok', op: 6, f: 'write', key: 'b', mono: 12, node: 'n2', value: 'v4', index: 180, term: 2 }),
        '',
      ].join('\n'),
    );
    const engine = new FakeEngine([state('n1', { position: 300 }), state('n2', { recovery: false, receiver: null, position: 250 }), state('n3', { position: 260 })]);
    engine.leaderId = 'n2';
    const rows: [string, string | null, number | null][] = [
      ['a', 'v1', 100],
      ['b', 'v4', 180],
    ];
    for (const id of ['n1', 'n2', 'n3']) engine.rows.set(id, rows);
    engine.committed = [
      { idx: 100, tli: 1, k: 'a', v: 'v1' },
      { idx: 180, tli: 2, k: 'b', v: 'v4' },
    ];
    engine.lost = [{ index: 200, term: 1, node: 'n1', kind: 'sql', sql: 'the workload write' }];
    const summary = await recordPostgresFinalState(engine, history, 250);
    expect(summary).toMatchObject({ committedWrites: 2, rolledBackWrites: 1, unmatchedRewound: 0, vanishedReads: 1 });
    expect(summary.vanishedExamples).toEqual([{ op: 4, key: 'c', value: 'v3', node: 'n1', mono: 8 }]);
    // Every server that replayed past the target is recorded at the target, so equal rows compare as equal.
    expect(summary.finals.map((f) => [f.node, f.appliedIndex])).toEqual([
      ['n1', 250],
      ['n2', 250],
      ['n3', 250],
    ]);
    expect(summary.log).toEqual({ type: 'log', node: 'n2', commitIndex: 250, lastIndex: 250 });

    const { report } = await checkHistoryFile(history);
    expect(report.counts).toMatchObject({ lostWrites: 1, divergentReplicas: 0, staleReads: 0, indeterminate: 1 });
    expect(report.lostWrites[0]).toMatchObject({ write: { op: 2 }, confirmation: { by: 'rollback', nodes: ['n1'] } });
    expect(lostNotByRewind(report)).toBe(0);
    expect(report.indeterminate[0]).toMatchObject({ outcome: 'absent' });
  });

  it('a server whose rows differ at the same target is a divergent replica', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rl-pg-final-'));
    const history = join(dir, 'history.jsonl');
    writeFileSync(history, '');
    const engine = new FakeEngine([state('n1', { recovery: false, receiver: null, position: 90 }), state('n2', { position: 95 })]);
    engine.rows.set('n1', [['a', 'x', 10]]);
    engine.rows.set('n2', [['a', 'y', 10]]);
    const summary = await recordPostgresFinalState(engine, history, 90);
    expect(summary.vanishedReads).toBe(0);
    const { report } = await checkHistoryFile(history);
    expect(report.counts.divergentReplicas).toBe(1);
    expect(report.valid).toBe(false);
  });
});
