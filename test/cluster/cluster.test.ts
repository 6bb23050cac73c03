// The Cluster API on real node processes: elections, replication to every
// state.db, failover under load, async data loss with rollback files,
// CheckQuorum, restarts, WAL repair, typed errors, malformed IPC, no ports.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BadStatementError, NotLeaderError, TimeoutError, type Cluster, type ClusterEvent } from '../../cluster/index.js';
import { eventually, inetSocketInodes, socketInodes, startCluster, unixSocketInodes } from './helpers.js';

const upsert = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';

function otherThan(cluster: Cluster, id: string): string[] {
  return cluster.ids.filter((other) => other !== id);
}

async function waitConverged(cluster: Cluster, timeoutMs = 5_000): Promise<void> {
  const ok = await eventually(async () => {
    const nodes = cluster.status().filter((n) => n.up);
    const leader = nodes.find((n) => n.role === 'leader');
    if (leader === undefined) return false;
    return nodes.every((n) => n.appliedIndex === leader.lastIndex && n.lastIndex === leader.lastIndex);
  }, timeoutMs);
  expect(ok, `nodes converge: ${JSON.stringify(cluster.status().map((n) => [n.id, n.role, n.lastIndex, n.appliedIndex]))}`).toBe(true);
}

function kvRows(dbPath: string): { k: string; v: string }[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT k, v FROM kv ORDER BY k').all() as { k: string; v: string }[];
  } finally {
    db.close();
  }
}

describe('a 3-node cluster', () => {
  // How fast a leader is elected is `bench startup`'s and `bench failover`'s to measure, not a test's.
  it('elects a leader and puts 1,000 writes on all three state.db files with identical checksums', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'replica-lab-test-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const cluster = await startCluster({ nodes: 3, seed: 1, dataDir });
    const leader = await cluster.waitForLeader({ timeoutMs: 20_000 });
    expect(cluster.ids).toContain(leader);
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => cluster.execute(upsert, [`k${batch * 100 + i}`, `v${batch * 100 + i}`])));
    }
    await waitConverged(cluster);
    // Each node's WAL figures, from the same report as its indexes: every byte of the log, and no fsync with fsync off.
    for (const node of cluster.status()) expect(node.wal, node.id).toEqual({ bytes: expect.any(Number), fsyncs: 0, fsyncMs: 0 });
    for (const node of cluster.status()) expect(node.wal!.bytes, node.id).toBeGreaterThanOrEqual(node.lastLsn);
    const checksums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
    expect(new Set(checksums.map((c) => c.value)).size).toBe(1);
    expect(new Set(checksums.map((c) => c.index)).size).toBe(1);
    const dirs = cluster.ids.map((id) => cluster.nodeDir(id));
    await cluster.stop();
    const contents = dirs.map((dir) => kvRows(join(dir, 'state.db')));
    expect(contents[0]).toHaveLength(1_000);
    expect(contents[1]).toEqual(contents[0]);
    expect(contents[2]).toEqual(contents[0]);
  });

  it('with fsync on, reports each node\'s WAL fsyncs and their time (pg_stat_wal), fewer fsyncs than concurrent writes', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 2, fsync: true });
    const leader = await cluster.waitForLeader({ timeoutMs: 2_000 });
    await Promise.all(Array.from({ length: 300 }, (_, i) => cluster.execute(upsert, [`k${i}`, `v${i}`])));
    await waitConverged(cluster);
    for (const node of cluster.status()) {
      expect(node.wal!.bytes, node.id).toBeGreaterThanOrEqual(node.lastLsn);
      expect(node.wal!.fsyncs, node.id).toBeGreaterThan(0);
      expect(node.wal!.fsyncMs, node.id).toBeGreaterThan(0);
    }
    // 300 writes in flight at once share fsyncs: group commit on the leader.
    expect(cluster.status().find((n) => n.id === leader)!.wal!.fsyncs).toBeLessThan(300);
  });

  it('answers a write sent to a follower with NotLeader naming the leader, and bad SQL with BadStatement', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 2 });
    const leader = await cluster.waitForLeader();
    const follower = otherThan(cluster, leader)[0]!;
    await cluster.execute(upsert, ['a', '1']);
    const refused = await cluster.execute(upsert, ['b', '2'], { node: follower }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NotLeaderError);
    expect((refused as NotLeaderError).leader).toBe(leader);
    expect((refused as Error).message).toContain(leader);
    for (const bad of ['SELEC nothing', "INSERT INTO kv(k, v) VALUES ('x', random())", 'INSERT INTO nowhere VALUES (1)']) {
      await expect(cluster.execute(bad)).rejects.toBeInstanceOf(BadStatementError);
    }
    // The cluster carries on.
    const after = await cluster.execute(upsert, ['c', '3']);
    expect(after.index).toBeGreaterThan(0);
    const read = await cluster.query('SELECT v FROM kv WHERE k = ?', ['c'], { consistency: 'linearizable' });
    expect(read.rows).toHaveLength(1);
  });

  it('a write sent to a paused node times out with a typed error that names the node and a whole number of ms', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 3 });
    const leader = await cluster.waitForLeader({ timeoutMs: 2_000 });
    cluster.pause(leader);
    // Sent to that node, so no retry elsewhere: it cannot answer while stopped.
    const error = await cluster.execute(upsert, ['k', 'v'], { node: leader, timeoutMs: 300 }).catch((e: unknown) => e);
    cluster.resume(leader);
    expect(error).toBeInstanceOf(TimeoutError);
    // The request's share of the deadline is fractional (deadline minus now); the message is not.
    expect((error as Error).message).toMatch(new RegExp(`^${leader} did not answer within \\d+ ms$`));
  });

  it('counts and drops a malformed IPC message; the node keeps working', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 3 });
    const leader = await cluster.waitForLeader();
    const follower = otherThan(cluster, leader)[0]!;
    expect(cluster.sendRaw(follower, { type: 'raft', messages: [{ type: 'append', from: 'n1', to: follower, term: 'soon' }] })).toBe(true);
    expect(cluster.sendRaw(follower, { hello: 'world' })).toBe(true);
    expect(cluster.sendRaw(follower, 42)).toBe(true);
    const counted = await eventually(() => (cluster.status().find((n) => n.id === follower)?.malformedMessages ?? 0) >= 3, 2_000);
    expect(counted).toBe(true);
    expect(cluster.events().some((e) => e.event.type === 'malformed-message' && e.event.node === follower)).toBe(true);
    await cluster.execute(upsert, ['after', 'malformed']);
    await waitConverged(cluster);
    expect(cluster.status().find((n) => n.id === follower)?.up).toBe(true);
  });

  it('holds no TCP or UDP socket at all: nodes talk over Unix domain sockets only', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 4 });
    await cluster.waitForLeader();
    await cluster.execute(upsert, ['a', '1']);
    const inet = inetSocketInodes();
    const unix = unixSocketInodes();
    for (const node of cluster.status()) {
      const sockets = socketInodes(node.pid!);
      expect(sockets.filter((inode) => inet.has(inode)), `${node.id} holds a TCP or UDP socket`).toEqual([]);
      // Its own listening socket, a connection to each peer, each peer's to it, the IPC channel: all Unix.
      expect(sockets.filter((inode) => unix.has(inode)).length, `${node.id}'s Unix sockets`).toBeGreaterThanOrEqual(5);
    }
  });
});

describe('failover', () => {
  it('after SIGKILL of the leader under load (quorum/flushed), a new leader takes writes and no acknowledged write is missing', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 5, fsync: true });
    const first = await cluster.waitForLeader();
    const acknowledged = new Map<string, string>();
    let stop = false;
    let n = 0;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      while (!stop) {
        const key = `w${w}-${n++}`;
        try {
          await cluster.execute(upsert, [key, key], { timeoutMs: 3_000 });
          acknowledged.set(key, key);
        } catch {
          // Refused or indeterminate: not acknowledged, so not promised.
        }
      }
    });
    await eventually(() => acknowledged.size >= 200, 5_000);
    await cluster.kill(first);
    const before = acknowledged.size;
    const tookWrites = await eventually(() => cluster.leader() !== null && cluster.leader() !== first && acknowledged.size > before + 10, 20_000, 5);
    stop = true;
    await Promise.all(writers);
    expect(tookWrites, 'a new leader acknowledged writes').toBe(true);
    await cluster.restart(first);
    await waitConverged(cluster);
    const rows = await cluster.query('SELECT k, v FROM kv', [], { consistency: 'linearizable' });
    const present = new Set((rows.rows as { k: string }[]).map((r) => r.k));
    const missing = [...acknowledged.keys()].filter((k) => !present.has(k));
    expect(missing).toEqual([]);
    expect(cluster.lostWrites()).toEqual([]);
  });

  it('async: writes acknowledged while followers were cut off are lost after failover, reported, and in the old leader\'s rollback/', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 6, replication: { mode: 'async' } });
    const old = await cluster.waitForLeader();
    await cluster.execute(upsert, ['before', '1']);
    await waitConverged(cluster);
    cluster.partition([[old], otherThan(cluster, old)]);
    const doomed = [];
    for (let i = 0; i < 5; i++) doomed.push(await cluster.execute(upsert, [`doomed${i}`, 'x'], { node: old }));
    await cluster.kill(old);
    cluster.heal();
    const fresh = await cluster.waitForLeader({ timeoutMs: 3_000 });
    expect(fresh).not.toBe(old);
    await cluster.execute(upsert, ['after', '1']);
    await cluster.restart(old);
    await waitConverged(cluster);
    const lost = cluster.lostWrites();
    expect(lost.map((w) => w.index).sort((a, b) => a - b)).toEqual(doomed.map((d) => d.index));
    expect(cluster.events().some((e) => e.event.type === 'writes-lost')).toBe(true);
    const rollbackDir = join(cluster.nodeDir(old), 'rollback');
    const files = readdirSync(rollbackDir);
    expect(files.length).toBeGreaterThan(0);
    const rolledBack = files.flatMap((f) => readFileSync(join(rollbackDir, f), 'utf8').trim().split('\n')).join('\n');
    for (let i = 0; i < 5; i++) expect(rolledBack).toContain(`doomed${i}`);
    const rows = await cluster.query("SELECT k FROM kv WHERE k LIKE 'doomed%'", [], { node: old });
    expect(rows.rows).toEqual([]);
  });

  it('a leader cut into a minority cannot acknowledge a quorum write, steps down, and the majority elects a new leader', async () => {
    const cluster = await startCluster({ nodes: 5, seed: 7 });
    const old = await cluster.waitForLeader();
    const others = otherThan(cluster, old);
    const events: ClusterEvent[] = [];
    cluster.on('event', (e: ClusterEvent) => events.push(e));
    cluster.partition([[old, others[0]!], others.slice(1)]);
    const write = await cluster.execute(upsert, ['minority', 'x'], { node: old, timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(write).toBeInstanceOf(Error);
    const steppedDown = await eventually(() => events.some((e) => e.event.type === 'stepped-down' && e.event.node === old), 2_000);
    expect(steppedDown).toBe(true);
    const elected = await eventually(() => {
      const leader = cluster.status().find((n) => n.role === 'leader' && n.id !== old);
      return leader !== undefined && others.slice(1).includes(leader.id);
    }, 3_000);
    expect(elected).toBe(true);
  });
});

describe('restarts and WAL repair', () => {
  it('a node restarted after SIGKILL comes back with its data', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 8 });
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 50; i++) await cluster.execute(upsert, [`r${i}`, `${i}`]);
    await waitConverged(cluster);
    const victim = otherThan(cluster, leader)[0]!;
    await cluster.kill(victim);
    await cluster.restart(victim);
    const local = await eventually(async () => {
      const rows = await cluster.query('SELECT count(*) AS n FROM kv', [], { node: victim }).catch(() => null);
      return (rows?.rows[0] as { n: number } | undefined)?.n === 50;
    }, 3_000);
    expect(local).toBe(true);
  });

  it('catches up a follower that missed more entries than the leader keeps in memory (read back from the WAL)', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 10 });
    const leader = await cluster.waitForLeader();
    const victim = otherThan(cluster, leader)[0]!;
    await cluster.kill(victim);
    for (let batch = 0; batch < 12; batch++) {
      await Promise.all(Array.from({ length: 1_000 }, (_, i) => cluster.execute(upsert, [`c${(batch * 1000 + i) % 3000}`, `${batch}-${i}`])));
    }
    await cluster.restart(victim);
    await waitConverged(cluster, 15_000);
    const checksums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
    expect(checksums[0]!.index).toBeGreaterThan(12_000);
    expect(new Set(checksums.map((c) => c.value)).size).toBe(1);
  });

  // A torn tail is a record written after the last one the node applied (it never made it whole to disk): here a copy
  // of the segment's last record, cut short or with a byte flipped, after it. (Damage to a record the node had
  // applied is refused as corrupt instead: test/cluster/corrupt-files.test.ts.)
  const tornCopyOfLast = (path: string, tear: (record: Buffer) => Buffer): void => {
    const bytes = readFileSync(path);
    let offset = 0;
    while (offset + bytes.readUInt32LE(offset) < bytes.length) offset += bytes.readUInt32LE(offset);
    writeFileSync(path, Buffer.concat([bytes, tear(Buffer.from(bytes.subarray(offset)))]));
  };
  it.each([
    ['cut mid-record', (path: string) => tornCopyOfLast(path, (record) => record.subarray(0, record.length - 7))],
    [
      'one flipped byte',
      (path: string) =>
        tornCopyOfLast(path, (record) => {
          record[record.length - 3] = record[record.length - 3]! ^ 0xff;
          return record;
        }),
    ],
  ])('repairs a WAL %s on start without applying garbage', async (_, damage) => {
    const cluster = await startCluster({ nodes: 3, seed: 9 });
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 20; i++) await cluster.execute(upsert, [`d${i}`, `${i}`]);
    await waitConverged(cluster);
    const victim = otherThan(cluster, leader)[0]!;
    await cluster.kill(victim);
    const walDir = join(cluster.nodeDir(victim), 'wal');
    const segments = readdirSync(walDir).sort();
    damage(join(walDir, segments[segments.length - 1]!));
    await cluster.restart(victim);
    const recovered = await eventually(
      () => cluster.events().some((e) => e.event.type === 'wal-recovered' && e.event.node === victim && e.event.problem !== null),
      3_000,
    );
    expect(recovered).toBe(true);
    await cluster.execute(upsert, ['after-repair', 'ok']);
    await waitConverged(cluster);
    const checksums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
    expect(new Set(checksums.map((c) => c.value)).size).toBe(1);
  });
});
