// Issue 13, rows 5, 6, 7 and 10, on real node processes: what would give each
// node its own value (its file's path or pages, the largest rowid) is refused
// with a reason, log_index() is refused where it would be evaluated outside
// apply, and each test ends with the cluster taking writes and every node at
// the same checksum and applied index.

import { describe, expect, it } from 'vitest';
import { BadStatementError, type Cluster } from '../../cluster/index.js';
import { eventually, expectHealthy, startCluster } from './helpers.js';

const upsert = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';

async function started(): Promise<Cluster> {
  const cluster = await startCluster({ nodes: 3, seed: 13 });
  await cluster.waitForLeader({ timeoutMs: 5_000 });
  await cluster.execute(upsert, ['before', 'ok']);
  return cluster;
}

/** Expects `call` to reject with a BadStatementError whose message contains every one of `words`; returns it. */
async function expectRefused(call: () => Promise<unknown>, words: string[]): Promise<BadStatementError> {
  const error = await call().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BadStatementError);
  for (const word of words) expect((error as Error).message).toContain(word);
  return error as BadStatementError;
}


describe('determinism (issue 13)', () => {
  it("row 5: a table-valued pragma (each node's own file path) is refused before the log", async () => {
    const cluster = await started();
    const error = await expectRefused(() => cluster.execute("INSERT INTO kv(k,v) SELECT 'f', file FROM pragma_database_list WHERE name='main'"), [
      "pragma_database_list is a table-valued pragma: it reports on this node's own file or connection",
      'same result on every node',
    ]);
    expect(error.index).toBeNull();
    await expectRefused(() => cluster.execute("INSERT INTO kv(k,v) VALUES ('v', sqlite_version())"), ['sqlite_version() describes the SQLite library this node runs']);
    await expectHealthy(cluster);
    expect((await cluster.query("SELECT count(*) AS n FROM kv WHERE k IN ('f', 'v')", [], { consistency: 'linearizable' })).rows).toEqual([{ n: 0 }]);
  });

  it('row 6: a write that would leave the largest rowid fails on every node, and later inserts get the same rowids everywhere', async () => {
    const cluster = await started();
    const error = await expectRefused(() => cluster.execute("INSERT INTO kv(rowid,k,v) VALUES (9223372036854775807,'max','x')"), [
      'table kv would hold rowid 9223372036854775807, the largest SQLite has: after it SQLite picks new rowids at random, differently on every node',
    ]);
    // It reached the log and failed at apply, alike on every node.
    expect(error.index).not.toBeNull();
    for (let i = 0; i < 10; i++) await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', [`k${i}`, 'v']);
    await expectHealthy(cluster);
    const rows = await cluster.query("SELECT rowid AS r FROM kv WHERE k LIKE 'k%' ORDER BY rowid", [], { consistency: 'linearizable' });
    // max(rowid) + 1 each time: 'before' took rowid 1.
    expect(rows.rows).toEqual(Array.from({ length: 10 }, (_, i) => ({ r: i + 2 })));
  });

  it("row 7: dbstat (each node's page layout) is refused before the log", async () => {
    const cluster = await started();
    await expectRefused(() => cluster.execute("INSERT INTO kv(k,v) SELECT 'pages', count(*) FROM dbstat"), ["dbstat lists this node's database pages, whose layout differs between nodes"]);
    await expectRefused(() => cluster.execute("INSERT INTO kv(k,v) SELECT name, rootpage FROM sqlite_schema"), ["sqlite_schema holds each table's rootpage"]);
    await expectHealthy(cluster);
  });

  it('row 10: log_index() in a generated column is refused, so checksums (asked for and in the background) keep coming', async () => {
    const cluster = await started();
    await expectRefused(() => cluster.execute('CREATE TABLE g(a, b AS (log_index()))'), [
      'log_index() in CREATE TABLE, CREATE INDEX or CREATE VIEW: SQLite would evaluate it outside apply too',
    ]);
    await cluster.execute('CREATE TABLE g(a, b)');
    await cluster.execute('INSERT INTO g VALUES (1, log_index())');
    await expectHealthy(cluster);
    // Background checksums continue past the refused statement on every node.
    const { index } = await cluster.execute(upsert, ['last', 'ok']);
    const background = await eventually(() => cluster.status().every((n) => n.checksum !== null && n.checksum.index >= index), 10_000);
    expect(background, JSON.stringify(cluster.status().map((n) => [n.id, n.checksum]))).toBe(true);
    await expectHealthy(cluster);
  });
});
