// The supervisor's failover manager (the Patroni/repmgr role, not consensus): it promotes
// the most advanced standby once the primary is unreachable, and with fencing kills an old
// primary that still runs before it does.
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresCluster } from '../../cluster/postgres/index.js';
import { workloadWriteSql } from '../../cluster/supervisor/index.js';
import { eventually, noPostgres, suiteName } from './helpers.js';

let cluster: PostgresCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe.skipIf(noPostgres)(suiteName('postgres engine automatic failover'), () => {
  it('promotes a standby after the primary is killed, then fences a primary cut from every standby', async () => {
    cluster = await PostgresCluster.start({ nodes: 3, mode: 'async', failover: 'auto', failoverTimeoutMs: 500, fencing: true });
    await cluster.execute(workloadWriteSql, ['a', '1']);
    await cluster.kill('n1');
    expect(await eventually(() => cluster!.failovers().length === 1, 10_000)).toBe(true);
    const first = cluster.leader()!;
    expect(first).not.toBe('n1');
    expect(cluster.failovers()[0]).toMatchObject({ from: 'n1', to: first, fenced: false, error: null });
    expect((await cluster.execute(workloadWriteSql, ['b', '2'])).term).toBe(2);

    // The new primary, running but cut from every standby: fenced (killed), and another promoted.
    const pid = cluster.status().find((n) => n.id === first)!.pid!;
    cluster.partition([[first], cluster.ids.filter((id) => id !== first)]);
    expect(await eventually(() => cluster!.failovers().length === 2, 10_000)).toBe(true);
    const second = cluster.failovers()[1]!;
    expect(second).toMatchObject({ from: first, fenced: true, error: null });
    expect(second.to).not.toBe(first);
    expect(cluster.leader()).toBe(second.to);
    expect(cluster.status().find((n) => n.id === first)!.role).toBe('down');
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
