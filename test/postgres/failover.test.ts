// Kill, manual promotion, and the old primary's return by pg_rewind: the acknowledged
// async writes it alone held are listed as lost, each confirmed by its COMMIT record
// in the WAL pg_rewind removed.
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresCluster } from '../../cluster/postgres/index.js';
import { workloadWriteSql } from '../../cluster/supervisor/index.js';
import { eventually, isAlive, noPostgres, suiteName } from './helpers.js';

let cluster: PostgresCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe.skipIf(noPostgres)(suiteName('postgres engine failover'), () => {
  it('kill + promote + old primary rejoins via pg_rewind, with its unreplicated acknowledged writes listed as lost', async () => {
    cluster = await PostgresCluster.start({ nodes: 3, replication: { mode: 'async' } });
    const kept = await cluster.execute(workloadWriteSql, ['kept', 'a']);
    for (const id of ['n2', 'n3'] as const) {
      const read = await cluster.query('SELECT v FROM kv WHERE k = ?', ['kept'], { node: id, minIndex: kept.index });
      expect(read.rows).toEqual([{ v: 'a' }]);
    }
    // n1 alone: async writes are acknowledged without any standby.
    cluster.partition([['n1'], ['n2', 'n3']]);
    expect(await eventually(() => cluster!.replicationRows().length === 0, 5_000)).toBe(true);
    const orphans = [];
    for (let i = 0; i < 3; i++) orphans.push(await cluster.execute(workloadWriteSql, [`orphan${i}`, 'b']));
    const n1 = cluster.status()[0]!.pid!;
    await cluster.kill('n1');
    expect(isAlive(n1)).toBe(false);
    expect(cluster.status()[0]!.role).toBe('down');
    cluster.heal();

    await cluster.promote('n2');
    expect(cluster.leader()).toBe('n2');
    expect(cluster.events().some((e) => e.event.type === 'promoted' && e.event.node === 'n2' && e.event.term === 2)).toBe(true);
    const after = await cluster.execute(workloadWriteSql, ['after', 'c']);
    expect(after.term).toBe(2);

    await cluster.restart('n1');
    const lost = cluster.lostWrites();
    expect(lost.map((w) => w.index).sort()).toEqual(orphans.map((w) => w.index).sort());
    expect(lost.every((w) => w.node === 'n1' && w.term === 1)).toBe(true);
    expect(cluster.events().some((e) => e.event.type === 'writes-lost' && e.event.node === 'n1')).toBe(true);

    // n1 now follows n2 on timeline 2, and so does n3 (through its proxy, which forwards to the new primary).
    for (const id of ['n1', 'n3'] as const) {
      const read = await cluster.query('SELECT v FROM kv WHERE k = ?', ['after'], { node: id, minIndex: after.index, timeoutMs: 15_000 });
      expect(read.rows).toEqual([{ v: 'c' }]);
      const gone = await cluster.query('SELECT count(*)::int AS n FROM kv WHERE k LIKE ?', ['orphan%'], { node: id });
      expect(gone.rows).toEqual([{ n: 0 }]);
    }
    expect(await eventually(() => cluster!.status().every((n) => n.term === 2 && n.role === (n.id === 'n2' ? 'leader' : 'follower')), 10_000)).toBe(true);
    // What the servers' own logs said: n2's promotion and new timeline, n1 and n3 streaming from it on timeline 2.
    const said = (node: string, kind: string, text?: RegExp) => cluster!.serverLog().some((e) => e.node === node && e.kind === kind && (text === undefined || text.test(e.text)));
    expect(await eventually(() => said('n1', 'streaming-started', /on timeline 2/) && said('n3', 'streaming-started', /on timeline 2/), 5_000)).toBe(true);
    expect(said('n2', 'promoted')).toBe(true);
    expect(said('n2', 'timeline-selected', /ID: 2/)).toBe(true);
    expect(said('n3', 'streaming-ended')).toBe(true);
  });
});
