// The postgres engine on real servers: start, write on the primary, read it on a standby.
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresCluster } from '../../cluster/postgres/index.js';
import { workloadWriteSql } from '../../cluster/supervisor/index.js';
import { eventually, noPostgres, suiteName } from './helpers.js';

let cluster: PostgresCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe.skipIf(noPostgres)(suiteName('postgres engine basics'), () => {
  it('starts a primary and two standbys, and a write on the primary is read on a standby', async () => {
    cluster = await PostgresCluster.start({ nodes: 3, replication: { mode: 'async' } });
    expect(cluster.leader()).toBe('n1');
    const written = await cluster.execute(workloadWriteSql, ['k1', 'v1']);
    expect(written.leader).toBe('n1');
    expect(written.index).toBeGreaterThan(0);
    const read = await cluster.query('SELECT v, idx FROM kv WHERE k = ?', ['k1'], { node: 'n2', minIndex: written.index });
    expect(read.rows).toEqual([{ v: 'v1', idx: written.index }]);
    expect(read.node).toBe('n2');
    // status() comes from the servers: n1 leads, the standbys follow on the same timeline.
    const ok = await eventually(() => {
      const status = cluster!.status();
      return status.every((n) => n.reportAgeMs !== null) && status[0]!.role === 'leader' && status.slice(1).every((n) => n.role === 'follower' && n.lag !== null && n.appliedIndex >= written.index);
    }, 5_000);
    expect(ok).toBe(true);
    const status = cluster.status();
    expect(status.map((n) => n.term)).toEqual([1, 1, 1]);
    expect(status[0]!.lastLsn).toBeGreaterThanOrEqual(written.index);
    expect(cluster.replicationRows().map((r) => r.node).sort()).toEqual(['n2', 'n3']);
  });
});
