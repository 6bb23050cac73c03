// Link faults at the proxy: a cut standby stops counting for a quorum commit, and heal brings it back.
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresCluster } from '../../cluster/postgres/index.js';
import { TimeoutError, workloadWriteSql } from '../../cluster/supervisor/index.js';
import { eventually, noPostgres, suiteName } from './helpers.js';

let cluster: PostgresCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe.skipIf(noPostgres)(suiteName('postgres engine link faults'), () => {
  it('a cut at the proxy blocks a quorum commit; a cancelled one stays on the primary, an abandoned one waits unseen; heal unblocks both', async () => {
    cluster = await PostgresCluster.start({ nodes: 2, replication: { mode: 'quorum', ackLevel: 'flushed' } });
    expect(await cluster.pgSettings()).toEqual({ synchronousStandbyNames: 'ANY 1 (n2)', synchronousCommit: 'on' });
    await cluster.execute(workloadWriteSql, ['before', 'x']);

    cluster.cut('n2', 'n1');
    expect(await eventually(() => cluster!.replicationRows().length === 0, 5_000), 'pg_stat_replication emptied').toBe(true);
    // The commit waits for n2, which cannot connect (its backend waits on SyncRep); the wait is
    // cancelled at the deadline, and PostgreSQL keeps the row committed locally (a cancelled
    // wait is not an abort).
    const during = cluster.execute(workloadWriteSql, ['during', 'y'], { timeoutMs: 6_000, cancelAtDeadline: true });
    const waiting = async () => {
      const result = await cluster!.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'SyncRep'", [], { node: 'n1' });
      return (result.rows[0] as { n: number }).n === 1;
    };
    expect(await eventually(waiting, 5_000, 50), 'the commit waits for its standby').toBe(true);
    await expect(during).rejects.toBeInstanceOf(TimeoutError);
    // Visible on the primary once the cancel (pg_cancel_backend, sent at the deadline) has ended the wait.
    const local = async () => (await cluster!.query('SELECT v FROM kv WHERE k = ?', ['during'], { node: 'n1' })).rows;
    expect(await eventually(async () => (await local()).length === 1, 5_000, 50)).toBe(true);
    expect(await local()).toEqual([{ v: 'y' }]);

    // Without cancelAtDeadline (the default) the client gives up at its deadline and the server goes on
    // waiting: the commit is visible nowhere until its standby answers (as on replica-lab, where a
    // client's deadline stops nothing).
    await expect(cluster.execute(workloadWriteSql, ['left', 'w'], { timeoutMs: 1_000 })).rejects.toBeInstanceOf(TimeoutError);
    expect(await eventually(waiting, 5_000, 50), 'the abandoned commit still waits for its standby').toBe(true);
    expect((await cluster.query('SELECT v FROM kv WHERE k = ?', ['left'], { node: 'n1' })).rows).toEqual([]);

    let settled = false;
    const blocked = cluster.execute(workloadWriteSql, ['healed', 'z'], { timeoutMs: 15_000 }).finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(settled).toBe(false);
    cluster.heal();
    const done = await blocked;
    expect(done.leader).toBe('n1');
    const replica = await cluster.query('SELECT v FROM kv WHERE k = ?', ['healed'], { node: 'n2', minIndex: done.index });
    expect(replica.rows).toEqual([{ v: 'z' }]);
    // The abandoned commit finished once its standby answered: on both now.
    expect((await cluster.query('SELECT v FROM kv WHERE k = ?', ['left'], { node: 'n2', minIndex: done.index })).rows).toEqual([{ v: 'w' }]);
    expect(cluster.proxyCounts.refused + cluster.proxyCounts.dropped).toBeGreaterThan(0);
  });

  it('maps the replication knobs one to one, changed live', async () => {
    cluster = await PostgresCluster.start({ nodes: 3, replication: { mode: 'async' } });
    expect(await cluster.pgSettings()).toEqual({ synchronousStandbyNames: '', synchronousCommit: 'on' });
    await cluster.setReplication({ mode: 'sync', ackLevel: 'applied' });
    expect(await cluster.pgSettings()).toEqual({ synchronousStandbyNames: 'FIRST 2 (n2, n3)', synchronousCommit: 'remote_apply' });
    // The primary's log says it, and pg_stat_replication shows it.
    expect(await eventually(() => cluster!.serverLog().some((e) => e.node === 'n1' && e.kind === 'sync-standby' && /"n3" is now a synchronous standby/.test(e.text)), 15_000)).toBe(true);
    expect(await eventually(() => cluster!.replicationRows().every((r) => r.syncState === 'sync') && cluster!.replicationRows().length === 2, 15_000)).toBe(true);
    await cluster.setReplication({ mode: 'quorum', ackLevel: 'received', quorum: 3 });
    expect(await cluster.pgSettings()).toEqual({ synchronousStandbyNames: 'ANY 2 (n2, n3)', synchronousCommit: 'remote_write' });
    await expect(cluster.setReplication({ syncTimeoutMs: 100 })).rejects.toThrow(/no PostgreSQL setting/);
    expect(cluster.replicationSettings().quorum).toBe(3);
    expect(() => cluster!.setLink('n1', 'n2', { duplicate: 0.1 })).toThrow(/byte stream/);
  });
});
