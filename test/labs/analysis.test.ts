// The pure helpers behind the checks, the journal that records what a person
// does through the lab's cluster, and the history tap.

import { describe, expect, it } from 'vitest';
import type { HistoryRecord } from '../../cluster/check/index.js';
import { NotLeaderError, type Cluster } from '../../cluster/index.js';
import { delayBetween, keysNamed, linkDelays, optionsSatisfiedSince, readsSince, staleness, writeLatencies, type ActionOf } from '../../labs/analysis.js';
import { splitTerms } from '../../labs/catalog/raft-election.js';
import { lostWriteDetails } from '../../labs/catalog/lost-writes.js';
import { Journal, recordingCluster } from '../../labs/journal.js';
import { HistoryTap } from '../../labs/observe.js';
import { ackedWrite, action, event, observation, read, workloadRecord, write } from './snapshot.js';

const query = (rows: Record<string, unknown>[], sql = 'SELECT k, v, idx FROM kv', columns = ['k', 'v', 'idx'], index = 100): ActionOf<'query'> =>
  action({ kind: 'query', sql, params: [], node: 'n2', consistency: 'local', minIndex: null, endMono: 1_030, outcome: { ok: true, node: 'n2', index, columns, rows, latencyMs: 1 } }, 20) as ActionOf<'query'>;

describe('staleness', () => {
  const history = [...ackedWrite('k1', 120, 900), ...ackedWrite('k2', 130, 950), ...ackedWrite('k1', 140, 1_500)];

  it('compares each row with the newest write to its key acknowledged before the read began', () => {
    expect(staleness(query([{ k: 'k1', v: 'a', idx: 110 }]), history)).toMatchObject({ stale: true, basis: 'key', key: 'k1', seen: 110, newest: { index: 120 } });
    // The write at 140 was acknowledged after the read began: concurrent, so 120 is enough.
    expect(staleness(query([{ k: 'k1', v: 'a', idx: 120 }]), history)).toMatchObject({ stale: false, key: 'k1' });
  });

  it('counts a missing row as version 0 when the statement names the key', () => {
    expect(staleness(query([], "SELECT k, v, idx FROM kv WHERE k = 'k2'"), history)).toMatchObject({ stale: true, key: 'k2', seen: 0, newest: { index: 130 } });
  });

  it('falls back to the node\'s applied index when rows carry no idx', () => {
    expect(staleness(query([{ n: 3 }], 'SELECT count(*) AS n FROM kv', ['n'], 125), history)).toMatchObject({ stale: true, basis: 'index', seen: 125, newest: { index: 130 } });
    expect(staleness(query([{ n: 3 }], 'SELECT count(*) AS n FROM kv', ['n'], 135), history)).toMatchObject({ stale: false, basis: 'index' });
  });

  it('has nothing to say when nothing was acknowledged before the read', () => {
    expect(staleness(query([{ k: 'k1', v: 'a', idx: 1 }]), ackedWrite('k1', 5, 2_000))).toBeNull();
  });
});

describe('keysNamed', () => {
  it('finds keys in equality, IN lists and bound parameters', () => {
    expect(keysNamed("SELECT * FROM kv WHERE k = 'a'", [])).toEqual(['a']);
    expect(keysNamed("SELECT * FROM kv WHERE k IN ('a', 'b')", []).sort()).toEqual(['a', 'b']);
    expect(keysNamed('SELECT * FROM kv WHERE k = ?', ['c'])).toEqual(['c']);
    expect(keysNamed('SELECT * FROM kv', [])).toEqual([]);
  });
});

describe('link delays from the journal', () => {
  it('sets one direction per setLink, keeps unchanged fields, and clears everything on heal', () => {
    const actions = [
      action({ kind: 'link', from: 'n1', to: 'n2', options: { delayMs: 100 } }),
      action({ kind: 'link', from: 'n2', to: 'n1', options: { delayMs: 80 } }),
      action({ kind: 'link', from: 'n2', to: 'n1', options: { loss: 0.1 } }),
    ];
    expect(delayBetween(linkDelays(actions), 'n1', 'n2')).toBe(80);
    expect(delayBetween(linkDelays(actions.slice(0, 1)), 'n1', 'n2')).toBe(0);
    expect(linkDelays([...actions, action({ kind: 'heal' })]).size).toBe(0);
  });
});

describe('history', () => {
  it('write latencies count writes invoked since, paired with their acknowledgement', () => {
    const history = [...write('k1', 900, { index: 1 }), ...write('k2', 1_100, { index: 2 }), ...write('k3', 1_200, 'info')];
    expect(writeLatencies(history, 1_000)).toEqual([5]);
  });

  it('readsSince judges reads invoked since against writes acknowledged since', () => {
    const history = [...ackedWrite('k1', 50, 900, 'n1', 'c1.1'), ...read('k1', 'n2', 40, 1_010, 'c1.1'), ...ackedWrite('k1', 60, 1_020, 'n1', 'c1.1'), ...read('k1', 'n2', 50, 1_030, 'c1.1')];
    const summary = readsSince(history, 1_000);
    expect(summary.counts.reads.ok).toBe(2);
    // The write at 50 was acknowledged before `since`, so the first read is not held to it; the second misses its own write at 60.
    expect(summary.counts.readYourWrites).toBe(1);
    expect(summary.counts.staleReads).toBe(1);
    expect(summary.readsByNode.get('n2')).toBe(2);
  });

  it('optionsSatisfiedSince is when the options last started to hold, and null once they stop', () => {
    const on = (mono: number, sessions: string) => workloadRecord(mono, { sessions });
    const history: HistoryRecord[] = [on(10, 'none'), on(20, 'read-your-writes'), on(30, 'causal')];
    const wanted = (o: Readonly<Record<string, unknown>>) => o['sessions'] !== 'none';
    expect(optionsSatisfiedSince(history, wanted)).toBe(20);
    expect(optionsSatisfiedSince([...history, on(40, 'none')], wanted)).toBeNull();
  });
});

describe('split terms', () => {
  it('are terms with two real candidates and no winner; pre-votes do not count', () => {
    const started = (node: string, term: number, pre = false) => event(100, { type: 'election-started', node, term, pre, transfer: false });
    const o = observation({
      events: [started('n2', 3, true), started('n3', 3, true), started('n2', 4), started('n3', 4), started('n2', 5), started('n3', 5), event(300, { type: 'leader-elected', node: 'n3', term: 5, votes: ['n3', 'n2'], electionTicks: 1 })],
    });
    expect(splitTerms(o, 0)).toEqual([{ term: 4, candidates: ['n2', 'n3'] }]);
  });
});

describe('lost write details', () => {
  it('take the key and value from the rollback file of the node that lost them', () => {
    const o = observation({
      lostWrites: [{ node: 'n1', index: 9, term: 1, kind: 'sql', sql: 'INSERT …' }, { node: 'n1', index: 10, term: 1, kind: 'sql', sql: null }],
      rollbackFiles: [
        { node: 'n2', path: '/n2/rollback/a.jsonl', entries: [{ index: 9, term: 1, kind: 'sql', sql: 'x', params: ['wrong', 'node'] }] },
        { node: 'n1', path: '/n1/rollback/b.jsonl', entries: [{ index: 9, term: 1, kind: 'sql', sql: 'INSERT …', params: ['k3', 'v9'] }] },
      ],
    });
    expect(lostWriteDetails(o)).toEqual([
      { node: 'n1', index: 9, term: 1, path: '/n1/rollback/b.jsonl', key: 'k3', value: 'v9', sql: 'INSERT …' },
      { node: 'n1', index: 10, term: 1, path: null, key: null, value: null, sql: null },
    ]);
  });
});

describe('the journal', () => {
  /** Just enough of a Cluster for the proxy: two methods that answer, one that refuses. */
  function fakeCluster(): Cluster {
    return {
      leader: () => 'n1',
      status: () => [{ id: 'n1', commitIndex: 42 }],
      execute: async (_sql: string, _params: unknown[], options: { node?: string } = {}) => {
        if (options.node === 'n2') throw new NotLeaderError('n2 is not the leader; send writes to n1', 'n2', 'n1');
        return { index: 43, term: 2, leader: 'n1', latencyMs: 1.5 };
      },
      partition: () => {},
      dataDir: '/tmp/x',
    } as unknown as Cluster;
  }

  it('records each request with its outcome and who led, and passes everything else through', async () => {
    const journal = new Journal();
    const cluster = recordingCluster(fakeCluster(), journal);
    await cluster.execute('INSERT 1');
    await expect(cluster.execute('INSERT 2', [], { node: 'n2' })).rejects.toThrow(NotLeaderError);
    journal.autopilot = true;
    cluster.partition([['n1'], ['n2', 'n3']]);
    expect(cluster.dataDir).toBe('/tmp/x');
    const [ok, refused, cut] = journal.actions();
    expect(ok).toMatchObject({ seq: 1, kind: 'execute', node: null, leader: 'n1', leaderCommitIndex: 42, by: 'person', outcome: { ok: true, index: 43 } });
    expect(refused).toMatchObject({ kind: 'execute', node: 'n2', outcome: { ok: false, error: { kind: 'not-leader', leader: 'n1' } } });
    expect(cut).toMatchObject({ kind: 'partition', groups: [['n1'], ['n2', 'n3']], by: 'autopilot' });
  });
});

describe('the history tap', () => {
  it('keeps every record the workload ring showed, across a restarted recorder', () => {
    let ring: HistoryRecord[] = [];
    let total = 0;
    const cluster = { workload: { stats: () => ({ history: { records: total } }), recent: () => ring } } as unknown as Cluster;
    const tap = new HistoryTap(cluster);
    const records = (n: number, from: number) => Array.from({ length: n }, (_, i) => workloadRecord(from + i, {}));
    ring = records(3, 0);
    total = 3;
    expect(tap.records().length).toBe(3);
    ring = [...ring, ...records(2, 3)];
    total = 5;
    expect(tap.records().map((r) => (r as { mono: number }).mono)).toEqual([0, 1, 2, 3, 4]);
    // A restarted workload starts a new recorder: its count begins again.
    ring = records(1, 10);
    total = 1;
    expect(tap.records().length).toBe(6);
    expect(tap.missed).toBe(0);
  });
});
