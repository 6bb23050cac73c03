// Link shaping at the proxy: delay and loss.
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresCluster } from '../../cluster/postgres/index.js';
import { workloadWriteSql } from '../../cluster/supervisor/index.js';
import { eventually, noPostgres, suiteName } from './helpers.js';

let cluster: PostgresCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe.skipIf(noPostgres)(suiteName('postgres engine link shaping'), () => {
  it('a delayed link still carries a sync commit; a lossy link ends connections, and heal lets the standby stream again', async () => {
    cluster = await PostgresCluster.start({ nodes: 2, mode: 'sync', ack: 'applied' });
    cluster.setLink('n1', 'n2', { delayMs: 50, jitterMs: 20 });
    const slow = await cluster.execute(workloadWriteSql, ['slow', 's'], { timeoutMs: 10_000 });
    const read = await cluster.query('SELECT v FROM kv WHERE k = ?', ['slow'], { node: 'n2' });
    // remote_apply: acknowledged once n2 replayed it, so it is visible there at once.
    expect(read.rows).toEqual([{ v: 's' }]);
    expect(read.index).toBeGreaterThanOrEqual(slow.index);

    cluster.setLink('n2', 'n1', { loss: 1 });
    expect(await eventually(() => cluster!.proxyCounts.dropped > 0 && cluster!.replicationRows().length === 0, 10_000)).toBe(true);
    cluster.heal();
    expect(await eventually(() => cluster!.replicationRows().some((r) => r.node === 'n2' && r.state === 'streaming'), 15_000)).toBe(true);
  });
});
