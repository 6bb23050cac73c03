// The built-in clients on real node processes: follower reads that miss the
// session's own writes until sessions carry minIndex, options changed while
// running (sessions, closed loop, fewer clients), and the history they leave.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { checkHistory, readHistoryFile, type OpRecord } from '../../cluster/check/index.js';
import { startCluster } from '../cluster/helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the built-in clients', () => {
  it('follower reads miss the session\'s own writes until sessions carry minIndex; options change while running', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'replica-lab-workload-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const cluster = await startCluster({ nodes: 3, seed: 12, dataDir, replication: { mode: 'async' } });
    const leader = await cluster.waitForLeader();
    // Followers hear of every write 80 ms late, so a follower read right after a write is likely to miss it.
    for (const follower of cluster.ids.filter((id) => id !== leader)) cluster.setLink(leader, follower, { delayMs: 80 });
    cluster.workload.start({ rate: 200, concurrency: 8, readFraction: 0.5, keys: 3, readTarget: 'follower', readConsistency: 'local', sessions: 'none', seed: 2 });
    await sleep(2_000);
    cluster.workload.update({ sessions: 'read-your-writes' });
    await sleep(2_000);
    cluster.workload.update({ rate: null, concurrency: 2 });
    const closedLoopFrom = performance.now();
    const okBefore = cluster.workload.stats().writes.ok + cluster.workload.stats().reads.ok;
    await sleep(1_000);
    const stats = cluster.workload.stats();
    expect(stats.writes.ok + stats.reads.ok).toBeGreaterThan(okBefore + 10);
    await cluster.workload.stop();
    // The clients run on their own thread and report every 50 ms; stop() resolves after the final report.
    const final = cluster.workload.stats();

    const path = cluster.workload.historyFile()!;
    expect(path).toBe(join(dataDir, 'history.jsonl'));
    const records = readHistoryFile(path);
    const report = checkHistory(records);
    const plain = report.readYourWrites.filter((v) => v.session.endsWith('.1'));
    const withMinIndex = report.readYourWrites.filter((v) => !v.session.endsWith('.1'));
    expect(plain.length, 'follower reads without minIndex miss the session\'s own writes').toBeGreaterThan(0);
    expect(withMinIndex, 'no read-your-writes violation once reads carry minIndex').toEqual([]);
    expect(report.counts.staleReads).toBeGreaterThan(0);
    // Reads of sessions that carry minIndex asked for the session's last write.
    const minIndexReads = records.filter((r): r is OpRecord => r.type === 'invoke' && r.f === 'read' && r.session.endsWith('.2') && r.minIndex !== null);
    expect(minIndexReads.length).toBeGreaterThan(0);
    // The live checker saw the same history.
    expect(final.consistency.readYourWrites).toBe(report.counts.readYourWrites);
    expect(final.consistency.staleReads).toBe(report.counts.staleReads);
    expect(final.writes.ok + final.writes.fail + final.writes.info + final.reads.ok + final.reads.fail).toBe(report.operations.ok + report.operations.fail + report.operations.info);
    // Closed loop with two clients: only c1 and c2 start operations, one at a time each.
    const later = records.filter((r): r is OpRecord => r.type === 'invoke' && r.mono > closedLoopFrom + 50);
    expect(later.length).toBeGreaterThan(10);
    expect(new Set(later.map((r) => r.client))).toEqual(new Set(['c1', 'c2']));
    // Every operation completed and every record is well-formed (readHistoryFile checked pairing).
    expect(report.operations.ok + report.operations.fail + report.operations.info).toBe(records.filter((r) => r.type === 'invoke').length);
    expect(report.unchecked).toEqual(['lostWrites', 'divergentReplicas']);
  });
});
