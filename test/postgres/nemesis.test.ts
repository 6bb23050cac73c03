// `nemesis --engine postgres` end to end on real servers, briefly: async replication, the
// failover manager with fencing, and a partition that cuts the primary off. Whatever the
// timing, the run must settle with every server holding the same rows, and every lost write
// the checker finds must be one pg_rewind removed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { postgresOptions } from '../../cli/engine.js';
import { startPostgresCluster } from '../../cluster/postgres/index.js';
import { lostNotByRewind, runNemesis } from '../../cluster/supervisor/nemesis.js';
import type { ReplicationEngine } from '../../cluster/engine.js';
import { noPostgres, pgBin, suiteName } from './helpers.js';

let engine: ReplicationEngine | null = null;
let dir: string | null = null;
afterEach(async () => {
  await engine?.stop();
  engine = null;
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

describe.skipIf(noPostgres)(suiteName('nemesis on the postgres engine'), () => {
  it('settles, finds the same rows everywhere, and confirms every lost write in what pg_rewind removed', async () => {
    // The run dir itself becomes the servers' data dir (handed to their OS user): a new one under the temp dir.
    dir = mkdtempSync(join(tmpdir(), 'rl-pg-nemesis-'));
    const result = await runNemesis(
      { nodes: 3, mode: 'async', ackLevel: 'flushed', failover: 'raft', faults: ['partition'], intervalMs: 1_500, durationMs: 3_000, seed: 4, dataDir: dir },
      {
        // The failover manager acts after 500 ms instead of 3 s, so a partition that cuts the primary off ends in a failover.
        startCluster: async (options) => (engine = (await startPostgresCluster({ ...postgresOptions(options, pgBin ?? undefined), failoverTimeoutMs: 500 })) as unknown as ReplicationEngine),
      },
    );
    expect(result.engine).toBe('postgres');
    expect(result.settle.settled, result.settle.detail).toBe(true);
    const pg = result.postgres!;
    expect(result.faults.filter((f) => f.action === 'start').map((f) => f.detail)[0]).toMatch(/^n1 \| /);
    expect(pg.failovers.filter((f) => f.error === null && f.fenced).length).toBeGreaterThanOrEqual(1);
    expect(result.report.counts.lostWrites).toBeGreaterThan(0);
    expect(lostNotByRewind(result.report)).toBe(0);
    expect(pg.lostWrites).toBe(result.report.counts.lostWrites);
    expect(pg.unmatchedRewound).toBe(0);
    expect(result.report.counts.divergentReplicas).toBe(0);
    expect(new Set(result.finalState.finals.map((f) => `${f.appliedIndex} ${f.checksum}`)).size).toBe(1);
    expect(result.finalState.finals).toHaveLength(3);
    expect(result.finalState.committedWrites).toBeGreaterThan(0);
  }, 60_000);
});
