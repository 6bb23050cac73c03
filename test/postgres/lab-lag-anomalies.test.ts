// lag-anomalies run by its autopilot on three real PostgreSQL servers: a
// slowed replication link makes hot-standby reads miss their own writes and go
// back in time, and the session fixes (WAL position, sticky reads) clear both.

import { describe, expect, it } from 'vitest';
import { postgresOptions } from '../../cli/engine.js';
import { startPostgresCluster } from '../../cluster/postgres/index.js';
import type { ReplicationEngine } from '../../cluster/engine.js';
import { findLab, runLabAuto } from '../../labs/index.js';
import { noPostgres, pgBin, suiteName } from './helpers.js';

describe.skipIf(noPostgres)(suiteName('lag-anomalies on PostgreSQL'), () => {
  it('passes every step by its autopilot, in the variant\'s words, and stops every server', async () => {
    const started: ReplicationEngine[] = [];
    const result = await runLabAuto(findLab('lag-anomalies')!, {
      progress: null,
      engine: 'postgres',
      startCluster: async (options) => {
        const cluster = (await startPostgresCluster(postgresOptions(options, pgBin ?? undefined))) as unknown as ReplicationEngine;
        started.push(cluster);
        return cluster;
      },
    });
    try {
      expect(result.steps.map((s) => [s.title, s.passed, s.detail])).toEqual([
        ['Slow one standby', true, expect.stringMatching(/^with n\d 800 ms behind: \d+ of \d+ reads missed/)],
        ['Fix read-your-writes', true, expect.stringMatching(/0 of \d+ reads missed their own write; reads on n\d waited up to .* for their WAL position/)],
        ['Fix monotonic reads', true, expect.stringMatching(/0 of \d+ reads missed their own write or went back in time/)],
      ]);
      expect(result.summary.engine).toBe('postgres');
      expect(result.debrief.join('\n')).toMatch(/standby reads missed their own session's write/);
    } finally {
      for (const cluster of started) await cluster.stop().catch(() => undefined);
    }
  }, 30_000);
});
