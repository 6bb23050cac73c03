// Checked runs on real node processes: a short quorum/flushed nemesis run under
// kills and partitions is valid, and an async failover scripted to lose
// acknowledged writes is caught, with every lost write named and confirmed.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { checkHistory, formatText, readHistoryFile, type HistoryRecord, type WriteOk } from '../../cluster/check/index.js';
import { recordFinalState, runNemesis, settle } from '../../cluster/index.js';
import { eventually, startCluster } from '../cluster/helpers.js';

function runDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'replica-lab-nemesis-test-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const acknowledgedWrite = (r: HistoryRecord): r is WriteOk => r.type === 'ok' && r.f === 'write';

describe('nemesis', () => {
  it('quorum/flushed under kills and partitions: valid, no lost write, no stale linearizable read', async () => {
    const dir = runDir();
    const result = await runNemesis(
      { nodes: 3, mode: 'quorum', ackLevel: 'flushed', failover: 'raft', faults: ['kill', 'partition'], intervalMs: 1_200, durationMs: 8_000, seed: 4, dataDir: dir, fsync: false },
      { startCluster },
    );
    expect(result.settle.settled, result.settle.detail).toBe(true);
    expect(result.faults.filter((f) => f.action === 'start').length).toBeGreaterThanOrEqual(3);
    expect(result.summary).toMatchObject({ valid: true, anomalies: { lostWrites: 0, staleReads: 0, readYourWrites: 0, monotonicReads: 0, divergentReplicas: 0 }, unchecked: [], runDir: dir });
    expect(result.summary.operations.ok).toBeGreaterThan(200);
    expect(result.finalState.finals.map((f) => f.node).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(new Set(result.finalState.finals.map((f) => f.checksum)).size).toBe(1);
    expect(result.finalState.committedWrites).toBeGreaterThanOrEqual(result.report.writes.ok);
    // Everything is in the run directory.
    expect(result.historyPath).toBe(join(dir, 'history.jsonl'));
    expect(readFileSync(result.reportPath, 'utf8')).toMatch(/\*\*Verdict: VALID\*\*/);
    for (const node of ['n1', 'n2', 'n3']) expect(existsSync(join(dir, node, 'node.log'))).toBe(true);
    // The file on disk gives the same verdict.
    expect(checkHistory(readHistoryFile(result.historyPath)).counts).toEqual(result.report.counts);
  });

  it('quorum/flushed with membership changes alongside pauses: nodes join and leave, the run stays valid', async () => {
    const dir = runDir();
    const result = await runNemesis(
      { nodes: 3, mode: 'quorum', ackLevel: 'flushed', failover: 'raft', faults: ['membership', 'pause'], intervalMs: 600, durationMs: 4_000, seed: 2, dataDir: dir, fsync: false },
      { startCluster },
    );
    expect(result.settle.settled, result.settle.detail).toBe(true);
    const changes = result.faults.filter((f) => f.fault === 'membership' && f.action === 'end');
    expect(changes.filter((f) => / (added as a (learner|voter)|promoted to voter|removed)$/.test(f.detail)).length, JSON.stringify(changes)).toBeGreaterThanOrEqual(1);
    expect(result.summary).toMatchObject({ valid: true, anomalies: { lostWrites: 0, staleReads: 0, divergentReplicas: 0 } });
    // Every node in the configuration at the end reported the same state.
    expect(result.finalState.finals.length).toBeGreaterThanOrEqual(3);
    expect(new Set(result.finalState.finals.map((f) => f.checksum)).size).toBe(1);
  });

  it('async: writes the partitioned leader acknowledged are lost after failover, and the checker names each one', async () => {
    const dir = runDir();
    const cluster = await startCluster({ nodes: 3, seed: 11, dataDir: dir, replication: { mode: 'async' } });
    const old = await cluster.waitForLeader();
    cluster.workload.start({ rate: 200, concurrency: 8, readFraction: 0.2, keys: 10, readTarget: 'leader', readConsistency: 'linearizable', timeoutMs: 1_000, seed: 1 });
    expect(await eventually(() => cluster.workload.stats().writes.ok >= 20, 5_000)).toBe(true);

    const partitionedAt = performance.now();
    cluster.partition([[old], cluster.ids.filter((id) => id !== old)]);
    const ackedBy = (node: string, after: number): WriteOk[] => cluster.workload.recent().filter(acknowledgedWrite).filter((r) => r.node === node && r.mono > after);
    expect(await eventually(() => ackedBy(old, partitionedAt).length >= 5, 3_000), 'the cut-off leader acknowledged writes').toBe(true);
    await cluster.kill(old);
    const killedAt = performance.now();
    cluster.heal();
    const fresh = await cluster.waitForLeader({ timeoutMs: 3_000 });
    expect(fresh).not.toBe(old);
    expect(await eventually(() => ackedBy(fresh, killedAt).length >= 5, 3_000), 'the new leader takes writes').toBe(true);
    await cluster.restart(old);

    await cluster.workload.stop();
    const settled = await settle(cluster, { timeoutMs: 10_000, manualFailover: false });
    expect(settled.settled, settled.detail).toBe(true);
    const rolledBackBySupervisor = cluster.lostWrites().map((w) => `${w.index}:${w.term}`);
    const path = cluster.workload.historyFile()!;
    await recordFinalState(cluster, path);

    const report = checkHistory(readHistoryFile(path));
    expect(report.valid).toBe(false);
    expect(report.counts.lostWrites).toBeGreaterThan(0);
    expect(report.counts.staleReads).toBe(0);
    expect(report.counts.divergentReplicas).toBe(0);
    for (const lost of report.lostWrites) {
      // Acknowledged by the old leader around or after the cut, and found again in its rollback file.
      expect(lost.write.node).toBe(old);
      expect(lost.write.mono).toBeGreaterThan(partitionedAt - 100);
      expect(lost.confirmation).toEqual({ by: 'rollback', nodes: [old] });
    }
    // The supervisor's own count of rolled-back acknowledged writes agrees exactly.
    expect(report.lostWrites.map((l) => `${l.write.index}:${l.write.term}`).sort()).toEqual([...rolledBackBySupervisor].sort());
    const text = formatText(report, { examplesShown: 1_000 });
    for (const lost of report.lostWrites) expect(text).toContain(`op ${lost.write.op} (${lost.write.session}) write ${lost.write.key}=`);
  });
});
