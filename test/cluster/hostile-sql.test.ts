// Issue 13, rows 3 and 4, on real node processes: a statement whose SQLite
// error is not on the environment deny-list is its result on every node (no
// crash, none on replay), and a statement that could run without end is
// refused at once, on the write path and on local and linearizable reads.
// Each test ends with the cluster taking writes and every node at the same
// checksum and applied index.

import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadStatementError } from '../../cluster/index.js';
import { eventually, expectHealthy, startCluster } from './helpers.js';

const upsert = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';


/** Refused as a bad statement (a statement that ran or waited would succeed, wedge or time out instead). */
async function refusedAtOnce(attempt: Promise<unknown>, words: RegExp): Promise<void> {
  const error = await attempt.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BadStatementError);
  expect((error as Error).message).toMatch(words);
}

describe('hostile SQL (issue 13)', () => {
  it("row 3: SQLITE_CORRUPT_VTAB from an fts5 integrity-check is the statement's result; nodes survive it and replay it after a restart", async () => {
    const cluster = await startCluster({ nodes: 3, seed: 31 });
    await cluster.waitForLeader({ timeoutMs: 10_000 });
    await cluster.execute("CREATE VIRTUAL TABLE ft USING fts5(v, content='kv')");
    await cluster.execute(upsert, ['a', 'hello world']);
    const failed = await cluster.execute("INSERT INTO ft(ft, rank) VALUES('integrity-check', 1)").then(
      () => null,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(BadStatementError);
    expect((failed as BadStatementError).reason).toBe('apply-failed');
    await expectHealthy(cluster, { expectedExits: true, timeoutMs: 10_000 });

    // Kill every node; one loses its state.db, so it replays the whole log, the failing entry included.
    for (const id of cluster.ids) await cluster.kill(id);
    const last = cluster.ids.at(-1)!;
    for (const file of ['state.db', 'state.db-wal', 'state.db-shm']) rmSync(join(cluster.nodeDir(last), file), { force: true });
    for (const id of cluster.ids) await cluster.restart(id);
    await cluster.waitForLeader({ timeoutMs: 15_000 });
    await expectHealthy(cluster, { expectedExits: true, timeoutMs: 10_000 });
    expect((await cluster.query('SELECT k FROM kv ORDER BY k', [], { node: last, consistency: 'local' })).rows).toEqual([{ k: 'a' }, { k: 'after' }]);
  }, 90_000);

  it('row 4: a recursive CTE is refused at once on writes and on local and linearizable reads; no node wedges', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 41 });
    const leader = await cluster.waitForLeader({ timeoutMs: 10_000 });
    const before = await cluster.execute(upsert, ['before', 'ok']);
    const loop = "INSERT INTO kv(k,v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT 'loop', max(x) FROM c";
    await refusedAtOnce(cluster.execute(loop), /recursive common table expressions are refused/);
    // RECURSIVE is optional in SQLite: the same loop without it.
    await refusedAtOnce(cluster.execute(loop.replace('RECURSIVE ', '')), /cannot be interrupted/);
    await refusedAtOnce(cluster.execute("INSERT INTO kv(k,v) VALUES ('p', printf('%.*c', 1e9, 'x'))"), /printf\(\)/);
    const read = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT max(x) FROM c';
    const follower = cluster.ids.find((id) => id !== leader)!;
    await refusedAtOnce(cluster.query(read, [], { node: follower, consistency: 'local' }), /cannot be interrupted/);
    await refusedAtOnce(cluster.query(read, [], { consistency: 'linearizable' }), /cannot be interrupted/);
    await refusedAtOnce(cluster.query('SELECT length(zeroblob(?))', [1e9], { node: follower, consistency: 'local' }), /zeroblob\(\) with a size of 1000000000/);
    // A join of a few sources over a large kv passes the text rules; the bound from the tables' sizes refuses it (10,000 rows: 10^16 combinations).
    const hundred = Array.from({ length: 100 }, (_, i) => `(${i})`).join(', ');
    await cluster.execute(`INSERT INTO kv(k,v) SELECT 'r' || a.column1 || '-' || b.column1, 'x' FROM (VALUES ${hundred}) a, (VALUES ${hundred}) b`);
    await refusedAtOnce(cluster.execute("INSERT INTO kv(k,v) SELECT 'x', count(*) FROM kv a, kv b, kv c, kv d"), /row combinations \(kv\(10001\) × kv\(10001\)/);
    expect(await eventually(async () => (await cluster.query('SELECT count(*) AS n FROM kv', [], { node: follower, consistency: 'local' })).rows[0]?.['n'] === 10_001, 10_000)).toBe(true);
    await refusedAtOnce(cluster.query('SELECT count(*) FROM kv a, kv b', [], { node: follower, consistency: 'local' }), /joinCombinationsMax/);
    // The node that was asked still answers at once.
    expect((await cluster.query('SELECT v FROM kv WHERE k = ?', ['before'], { node: follower, consistency: 'local', minIndex: before.index })).rows).toEqual([{ v: 'ok' }]);
    await expectHealthy(cluster, { expectedExits: true, timeoutMs: 10_000 });
  }, 60_000);

  it('an environment error (state.db locked by another process) wedges only that node, shown with the reason in status(); it catches up on restart', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 51 });
    const leader = await cluster.waitForLeader({ timeoutMs: 10_000 });
    await cluster.execute(upsert, ['before', 'ok']);
    const victim = cluster.ids.find((id) => id !== leader)!;
    const locker = new Database(join(cluster.nodeDir(victim), 'state.db'), { timeout: 2_000 });
    try {
      locker.exec('BEGIN EXCLUSIVE');
      await cluster.execute(upsert, ['during', 'ok'], { timeoutMs: 10_000 });
      // The victim waits out SQLite's busy timeout (5 s), then stops making progress rather than record a result: wedged, not gone.
      const environment = /state\.db failed applying entr(y|ies) .* with SQLITE_BUSY.*an error of this node's environment/;
      const wedged = await eventually(() => environment.test(cluster.status().find((n) => n.id === victim)?.wedged?.reason ?? ''), 15_000);
      const status = cluster.status().find((n) => n.id === victim)!;
      expect(wedged, JSON.stringify(status.wedged)).toBe(true);
      expect(status.up).toBe(true);
      expect(status.role).toBe('follower');
      expect(status.wedged?.statement).toBe(upsert);
      expect(cluster.events().some((e) => e.event.type === 'node-wedged' && e.event.node === victim)).toBe(true);
      expect(cluster.events().some((e) => e.event.type === 'node-exited' && e.event.node === victim)).toBe(false);
      // It refuses requests with the reason, at once.
      await expect(cluster.query('SELECT count(*) FROM kv', [], { node: victim, consistency: 'local' })).rejects.toThrow(/is wedged: state\.db failed/);
      // The others go on.
      await cluster.execute(upsert, ['meanwhile', 'ok'], { timeoutMs: 10_000 });
    } finally {
      locker.close();
    }
    // Restart kills the wedged process first, then starts it from its files.
    await cluster.restart(victim);
    const { index } = await cluster.execute(upsert, ['after', 'ok'], { timeoutMs: 10_000 });
    expect(await eventually(() => cluster.status().every((n) => n.up && n.wedged === null && n.appliedIndex >= index), 10_000)).toBe(true);
    const checksums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
    expect(new Set(checksums.map((c) => `${c.index}:${c.value}`)).size, JSON.stringify(checksums)).toBe(1);
  }, 60_000);

  it('a node whose event loop stops answering (stopped behind the supervisor\'s back) shows as wedged with the last statement it began, and recovers', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 52 });
    const leader = await cluster.waitForLeader({ timeoutMs: 10_000 });
    const { index } = await cluster.execute(upsert, ['stall', 'ok']);
    const victim = cluster.ids.find((id) => id !== leader)!;
    expect(await eventually(() => cluster.status().find((n) => n.id === victim)!.appliedIndex >= index, 10_000)).toBe(true);
    const pid = cluster.status().find((n) => n.id === victim)!.pid!;
    // SIGSTOP sent directly, not through pause(): to the supervisor this is a running node that has gone silent, as a blocked event loop is.
    process.kill(pid, 'SIGSTOP');
    try {
      expect(await eventually(() => cluster.status().find((n) => n.id === victim)!.wedged != null, 10_000)).toBe(true);
      const status = cluster.status().find((n) => n.id === victim)!;
      expect(status.wedged!.reason).toMatch(/no report for \d+ ms while running and not paused: its event loop is blocked/);
      expect(status.wedged!.statement).toBe(upsert);
      expect(status.role).toBe('follower');
      // A paused node is not wedged: pause() says why it is silent.
      cluster.pause(victim);
      expect(cluster.status().find((n) => n.id === victim)!.wedged).toBeNull();
      cluster.resume(victim);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(await eventually(() => cluster.status().find((n) => n.id === victim)!.wedged === null, 10_000)).toBe(true);
    await expectHealthy(cluster);
  }, 60_000);
});
