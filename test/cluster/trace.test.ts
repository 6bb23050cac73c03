// Cluster.trace on real node processes: in every mode and ack level, the
// traced write's stages are all seen on every process, in order on each
// process and across them (one CLOCK_MONOTONIC), and the critical path runs
// from the client's send to its receive without a gap.

import { describe, expect, it } from 'vitest';
import { ClusterError, type Cluster, type TraceOptions, type WriteTrace } from '../../cluster/index.js';
import { startCluster } from './helpers.js';

const leaderStages = ['validate', 'append to log', 'WAL write', 'fdatasync', 'apply (SQLite)', 'reply'];
const followerStages = (leader: string, id: string) => [`append ${leader} → ${id}`, 'WAL write', 'fdatasync', 'apply (SQLite)'];

function checkTrace(trace: WriteTrace): void {
  const where = `${trace.rule.mode}/${trace.rule.ackLevel}`;
  expect(trace.problems, `${where}: every span ends after it starts`).toEqual([]);
  expect(trace.missing, `${where}: every stage was seen`).toEqual([]);
  for (const lane of trace.lanes) {
    if (lane.role === 'client') continue;
    const expected = lane.role === 'leader' ? leaderStages : followerStages(trace.leader, lane.id);
    expect(lane.spans.map((s) => s.label), `${where}: ${lane.id}'s stages: ${JSON.stringify(lane)}`).toEqual(expected);
    // On one process the stages happen in this order (apply may come before fsync ends only on the leader, when followers complete the quorum).
    for (let i = 1; i < lane.spans.length; i++) expect(lane.spans[i]!.startUs, `${where}: ${lane.id} ${lane.spans[i]!.label} after ${lane.spans[i - 1]!.label}`).toBeGreaterThanOrEqual(lane.spans[i - 1]!.startUs);
    if (lane.role === 'follower') {
      expect(lane.marks.map((m) => m.glyph).filter((g) => g !== 'c').sort(), `${where}: ${lane.id} sent every ack`).toEqual(['a', 'f', 'r']);
      const [write, fsync, apply] = [lane.spans[1]!, lane.spans[2]!, lane.spans[3]!];
      expect(fsync.startUs).toBeGreaterThanOrEqual(write.startUs + write.durationUs);
      expect(apply.startUs).toBeGreaterThanOrEqual(fsync.startUs + fsync.durationUs);
    }
  }
  // The critical path: contiguous from the client's send (0) to its receive.
  let at = 0;
  for (const step of trace.criticalPath) {
    expect(step.startUs, `${where}: ${step.label} starts where the step before ended`).toBeCloseTo(at, 3);
    at = step.startUs + step.durationUs;
  }
  expect(at).toBeCloseTo(trace.lanes[0]!.spans[0]!.durationUs, 3);
  expect(trace.summary.totalUs).toBeCloseTo(at, 3);
  // The path passes through what the rule waited for: the leader counts once its own fdatasync is done,
  // sync waits for every one (the slowest decides), quorum for the first `quorum` of them (the fastest that complete it).
  const fsync = trace.lanes[1]!.spans.find((s) => s.label === 'fdatasync')!;
  const candidates = [{ who: 'leader-fsync', at: fsync.startUs + fsync.durationUs }, ...trace.followers.map((f) => ({ who: f, at: trace.acks[f]![trace.rule.ackLevel]! }))].sort((a, b) => a.at - b.at);
  if (trace.rule.mode === 'async') expect(trace.decidedBy).toBe('leader-fsync');
  if (trace.rule.mode === 'sync') expect(trace.decidedBy, `${where}: sync waits for the slowest`).toBe(candidates.at(-1)!.who);
  if (trace.rule.mode === 'quorum') expect(trace.decidedBy, `${where}: quorum waits for the fastest ${trace.rule.quorum}`).toBe(candidates[trace.rule.quorum - 1]!.who);
  if (trace.decidedBy !== 'leader-fsync') expect(trace.criticalPath.some((s) => s.label === `${trace.decidedBy} → ${trace.leader}: ack '${trace.rule.ackLevel}'`)).toBe(true);
  if (trace.rule.ackLevel === 'applied' && trace.decidedBy !== 'leader-fsync') {
    expect(trace.criticalPath.some((s) => s.label === `${trace.decidedBy} apply (SQLite)`), `${where}: an applied ack waits for the follower's apply`).toBe(true);
  }
}

/** A new cluster's first leader may still step down: a write caught in that is tried again (warm-ups and traces alike). */
async function retryOnElection<T>(cluster: Cluster, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const moved = error instanceof ClusterError && ['not-leader', 'no-leader', 'stepped-down', 'leadership-lost'].includes(error.reason ?? '');
      if (!moved || attempt >= 3) throw error;
      await cluster.waitForLeader({ timeoutMs: 5_000 });
    }
  }
}

const traced = (cluster: Cluster, sql: string, params: string[], options: TraceOptions = {}) => retryOnElection(cluster, () => cluster.trace(sql, params, options));

describe('Cluster.trace', () => {
  it('traces one write through all three processes in every mode and ack level', async () => {
    const cluster = await startCluster({ nodes: 3, fsync: true });
    await cluster.waitForLeader({ timeoutMs: 5_000 });
    for (let i = 0; i < 5; i++) await retryOnElection(cluster, () => cluster.execute("INSERT OR REPLACE INTO kv (k, v) VALUES ('warm', ?)", [String(i)]));
    for (const mode of ['async', 'sync', 'quorum'] as const) {
      for (const ackLevel of ['received', 'flushed', 'applied'] as const) {
        const trace = await traced(cluster, "INSERT OR REPLACE INTO kv (k, v) VALUES ('traced', ?)", [`${mode}/${ackLevel}`], { mode, ackLevel });
        expect(trace.rule).toMatchObject({ mode, ackLevel });
        checkTrace(trace);
      }
    }
    // The traced writes are ordinary writes: the last one is there, and no request row was kept for the tags.
    const rows = await cluster.query("SELECT v FROM kv WHERE k = 'traced'", [], { consistency: 'linearizable' });
    expect(rows.rows).toEqual([{ v: 'quorum/applied' }]);
    const requests = await cluster.query("SELECT count(*) AS n FROM _replica_requests WHERE client LIKE 'trace-%'");
    expect(requests.rows).toEqual([{ n: 0 }]);
  }, 30_000);

  it('refuses a bad statement before arming anything, and says which followers it never heard from', async () => {
    const cluster = await startCluster({ nodes: 3 });
    const leader = await cluster.waitForLeader({ timeoutMs: 5_000 });
    await expect(cluster.trace('')).rejects.toThrow();
    const follower = cluster.ids.find((id) => id !== leader)!;
    cluster.partition([[follower], cluster.ids.filter((id) => id !== follower)]);
    const trace = await traced(cluster, "INSERT INTO kv (k, v) VALUES ('cut', 'x')", [], { settleMs: 300 });
    expect(trace.missing.some((m) => m.startsWith(`${follower}: never received`))).toBe(true);
    expect(trace.problems).toEqual([]);
    expect(trace.decidedBy).not.toBe(follower);
  }, 20_000);
});
