// A write sent through execute (a lab's proof key, a dashboard :write), not only the
// workload's, is confirmed lost when pg_rewind removes its COMMIT record: execute learns
// its transaction id in the same transaction.
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresCluster } from '../../cluster/postgres/index.js';
import { eventually, noPostgres, suiteName } from './helpers.js';

let cluster: PostgresCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

const upsert = (k: string, v: string): string => `INSERT INTO kv(k, v) VALUES ('${k}', '${v}') ON CONFLICT(k) DO UPDATE SET v = excluded.v`;

describe.skipIf(noPostgres)(suiteName('postgres engine: writes sent through execute are confirmed lost'), () => {
  it('lists the cut-off primary\'s own statements among the lost writes, and not those a standby had', async () => {
    cluster = await PostgresCluster.start({ nodes: 2, replication: { mode: 'async' } });
    const kept = await cluster.execute(upsert('kept', 'a'));
    await cluster.query('SELECT v FROM kv WHERE k = ?', ['kept'], { node: 'n2', minIndex: kept.index });
    cluster.partition([['n1'], ['n2']]);
    expect(await eventually(() => cluster!.replicationRows().length === 0, 5_000)).toBe(true);
    const proof = await cluster.execute(upsert('proof', 'only on n1'), [], { node: 'n1' });
    const withParams = await cluster.execute('UPDATE kv SET v = ? WHERE k = ?', ['changed on n1', 'kept']);
    // Neither a refused statement nor one that writes nothing leaves anything to confirm.
    await expect(cluster.execute('INSERT INTO nowhere VALUES (1)')).rejects.toThrow(/nowhere/);
    await cluster.execute("DELETE FROM kv WHERE k = 'absent'");
    // The connection is usable after the refused one: its transaction did not linger.
    const after = await cluster.execute(upsert('last', 'n1'));
    await cluster.kill('n1');
    await cluster.promote('n2');
    cluster.heal();
    await cluster.restart('n1');

    const lost = cluster.lostWrites();
    const key = (w: { index: number; term: number }): string => `${w.index}:${w.term}`;
    expect(lost.map(key).sort()).toEqual([proof, withParams, after].map(key).sort());
    expect(lost.every((w) => w.node === 'n1' && w.term === 1)).toBe(true);
    expect(lost.find((w) => key(w) === key(proof))?.sql).toContain("'proof'");
    const event = cluster.events().find((e) => e.event.type === 'writes-lost');
    expect(event?.event).toMatchObject({ node: 'n1', rollbackPath: expect.stringMatching(/n1\/pg_rewind\.log$/) });
    // What the primary had before the cut survived; the proof key is gone everywhere.
    const read = await cluster.query("SELECT k, v FROM kv WHERE k IN ('kept', 'proof') ORDER BY k", [], { node: 'n2' });
    expect(read.rows).toEqual([{ k: 'kept', v: 'a' }]);
  });
});
