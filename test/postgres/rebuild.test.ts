// restart(id, { rebuild: true }): a standby's data removed and copied again by pg_basebackup through its proxy.
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresCluster } from '../../cluster/postgres/index.js';
import { BadRequestError, workloadWriteSql } from '../../cluster/supervisor/index.js';
import { noPostgres, suiteName } from './helpers.js';

let cluster: PostgresCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe.skipIf(noPostgres)(suiteName('postgres engine rebuild'), () => {
  it('copies a standby again from the primary, and refuses to rebuild the primary', async () => {
    cluster = await PostgresCluster.start({ nodes: 2, mode: 'sync', ack: 'applied' });
    await cluster.execute(workloadWriteSql, ['before', 'b']);
    const pid = cluster.status()[1]!.pid;
    await cluster.restart('n2', { rebuild: true });
    expect(cluster.status()[1]!.pid).not.toBe(pid);
    const after = await cluster.execute(workloadWriteSql, ['rebuilt', 'r'], { timeoutMs: 10_000 });
    const copied = await cluster.query('SELECT count(*)::int AS n FROM kv WHERE k IN (?, ?)', ['before', 'rebuilt'], { node: 'n2', minIndex: after.index });
    expect(copied.rows).toEqual([{ n: 2 }]);
    expect(cluster.events().some((e) => e.event.type === 'fault' && e.event.fault === 'rebuild')).toBe(true);
    await expect(cluster.restart('n1', { rebuild: true })).rejects.toBeInstanceOf(BadRequestError);
  });
});
