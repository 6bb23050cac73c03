// A standby that received async WAL the promoted standby never got cannot follow the new
// timeline as it is; restart rewinds it first, then it follows.
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresCluster } from '../../cluster/postgres/index.js';
import { workloadWriteSql } from '../../cluster/supervisor/index.js';
import { eventually, noPostgres, suiteName } from './helpers.js';

let cluster: PostgresCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe.skipIf(noPostgres)(suiteName('postgres engine standby rewind'), () => {
  it('rewinds a standby that was ahead of the promoted one, and lists the old primary writes it alone had kept as lost', async () => {
    cluster = await PostgresCluster.start({ nodes: 3, mode: 'async' });
    cluster.partition([['n1', 'n3'], ['n2']]);
    expect(await eventually(() => cluster!.replicationRows().map((r) => r.node).join() === 'n3', 5_000)).toBe(true);
    const ahead = await cluster.execute(workloadWriteSql, ['ahead', 'x']);
    await cluster.query('SELECT v FROM kv WHERE k = ?', ['ahead'], { node: 'n3', minIndex: ahead.index });
    await cluster.kill('n3');
    await cluster.kill('n1');
    cluster.heal();
    await cluster.promote('n2');
    const after = await cluster.execute(workloadWriteSql, ['after', 'y']);

    await cluster.restart('n3');
    const read = await cluster.query('SELECT v FROM kv WHERE k IN (?, ?) ORDER BY k', ['after', 'ahead'], { node: 'n3', minIndex: after.index, timeoutMs: 15_000 });
    expect(read.rows).toEqual([{ v: 'y' }]);
    await cluster.restart('n1');
    expect(cluster.lostWrites().map((w) => w.index)).toEqual([ahead.index]);
    expect(await eventually(() => cluster!.status().every((n) => n.term === 2 && n.up), 10_000)).toBe(true);
  });
});
