// The direct links between nodes, on real processes: the data plane does not
// depend on the caller's event loop, the socket refuses strangers, a one-way
// cut does what the textbook says, and a peer that does not drain costs its
// senders bounded memory.

import { statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BadRequestError, type ClusterEvent } from '../../cluster/index.js';
import { encodeFrame } from '../../cluster/wire/frames.js';
import { eventually, startCluster } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Blocks this thread's event loop, as a slow frame of the dashboard would. */
function blockMainThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Connects to a socket, writes `bytes`, and resolves once the node has closed the connection (or after 3 s). */
function knock(path: string, bytes: Buffer): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const socket = createConnection(path, () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('open');
    }, 3_000);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

describe('direct links', () => {
  it('a blocked main thread delays no heartbeat and no operation: the term holds and writes applied on followers commit during the block', async () => {
    // quorum/applied: an acknowledged write was applied by a majority, so by at least one follower.
    const cluster = await startCluster({ nodes: 3, seed: 21, replication: { mode: 'quorum', ackLevel: 'applied' } });
    const leader = await cluster.waitForLeader();
    const elections: ClusterEvent[] = [];
    cluster.on('event', (e: ClusterEvent) => {
      if (e.event.type === 'election-started' || e.event.type === 'leader-elected') elections.push(e);
    });
    cluster.workload.start({ rate: 300, concurrency: 8, readFraction: 0, keys: 50, history: false });
    expect(await eventually(() => cluster.workload.stats().writes.ok >= 20, 5_000)).toBe(true);
    const term = cluster.status().find((n) => n.id === leader)!.term;
    const before = cluster.workload.stats().writes.ok;
    const blockStart = performance.now();
    blockMainThread(1_000);
    const blockEnd = performance.now();
    expect(blockEnd - blockStart).toBeGreaterThanOrEqual(990);
    // The worker's reports queued during the block arrive now.
    await sleep(300);
    const after = cluster.workload.stats().writes.ok;
    await cluster.workload.stop();
    // 300 ops/s for a second: the clients, on their own thread, kept going while this one was blocked.
    expect(after - before, 'writes acknowledged during the block').toBeGreaterThan(150);
    expect(elections, 'no election started').toEqual([]);
    expect(cluster.leader()).toBe(leader);
    for (const node of cluster.status()) expect(node.term, node.id).toBe(term);
  });

  it('refuses and counts a connection without the secret, with a wrong one, or with garbage, and keeps working', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 22 });
    const leader = await cluster.waitForLeader();
    const path = cluster.socketPath(leader);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(cluster.socketDir).mode & 0o777).toBe(0o700);
    const refusedBefore = cluster.status().find((n) => n.id === leader)!.network?.refused ?? 0;
    expect(await knock(path, encodeFrame({ type: 'hello', secret: 'not-the-secret-at-all-000000000000000000', from: 'client' }))).toBe('closed');
    expect(await knock(path, encodeFrame({ type: 'execute', id: 1, sql: 'DELETE FROM kv', params: [], replication: null, client: null, request: null }))).toBe('closed');
    expect(await knock(path, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe('closed');
    expect(await knock(path, Buffer.from([0xff, 0xff, 0xff, 0xff]))).toBe('closed');
    const counted = await eventually(() => (cluster.status().find((n) => n.id === leader)!.network?.refused ?? 0) >= refusedBefore + 4, 3_000);
    expect(counted, JSON.stringify(cluster.status().find((n) => n.id === leader)!.network)).toBe(true);
    const refusals = cluster.events().filter((e) => e.event.type === 'connection-refused' && e.event.node === leader);
    expect(refusals.length).toBeGreaterThan(0);
    expect(JSON.stringify(refusals[0]!.event)).toContain('wrong secret');
    expect(cluster.leader()).toBe(leader);
    await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', ['after', 'intruders']);
  });

  it('a one-way cut from the leader: its followers elect a new leader, and it hears them and steps down', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 23 });
    const old = await cluster.waitForLeader();
    await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', ['before', 'cut']);
    const followers = cluster.ids.filter((id) => id !== old);
    for (const follower of followers) cluster.cut(old, follower);
    const elected = await eventually(() => {
      const leader = cluster.leader();
      return leader !== null && leader !== old;
    }, 5_000);
    expect(elected, 'the followers, who no longer hear the leader, elect one of themselves').toBe(true);
    const fresh = cluster.leader()!;
    expect(followers).toContain(fresh);
    // The old leader still hears them: it learns the new term and follows.
    const newTerm = cluster.status().find((n) => n.id === fresh)!.term;
    const heard = await eventually(() => {
      const o = cluster.status().find((n) => n.id === old)!;
      return o.role === 'follower' && o.term >= newTerm;
    }, 3_000);
    expect(heard, JSON.stringify(cluster.status().map((n) => [n.id, n.role, n.term]))).toBe(true);
    // The cut stays one way: writes through the new leader commit on its side.
    await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', ['after', 'cut'], { timeoutMs: 3_000 });
    expect(cluster.networkStats().dropped).toBeGreaterThan(0);
  });

  it('a paused follower costs its peers bounded memory under full load for 30 s', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 24, replication: { mode: 'async' } });
    const leader = await cluster.waitForLeader();
    const paused = cluster.ids.find((id) => id !== leader)!;
    cluster.pause(paused);
    cluster.workload.start({ rate: null, concurrency: 32, readFraction: 0, keys: 1_000, valueBytes: 200, history: false });
    const rssMb = (): number => (cluster.status().find((n) => n.id === leader)!.rssBytes ?? 0) / 2 ** 20;
    await sleep(10_000);
    const at10 = rssMb();
    let peak = at10;
    for (let i = 0; i < 20; i++) {
      await sleep(1_000);
      peak = Math.max(peak, rssMb());
    }
    const written = cluster.workload.stats().writes.ok;
    await cluster.workload.stop();
    cluster.resume(paused);
    expect(written, 'the load went on').toBeGreaterThan(10_000);
    // Raft's in-flight window stops appends to a follower that does not answer, and the outbox to it holds
    // at most 8 MiB (peers.test.ts fills one): no growth with the load once the window is full.
    expect(peak - at10, `leader RSS ${at10.toFixed(1)} MB at 10 s, peak ${peak.toFixed(1)} MB after`).toBeLessThan(40);
    expect(peak).toBeLessThan(200);
    // Resumed, it catches up through the log like any lagging follower.
    expect(await eventually(() => {
      const nodes = cluster.status();
      const l = nodes.find((n) => n.id === leader)!;
      return nodes.find((n) => n.id === paused)!.appliedIndex >= l.commitIndex && l.commitIndex > 0;
    }, 20_000)).toBe(true);
  });

  it('refuses a timing configuration the core would refuse before any process starts', async () => {
    await expect(startCluster({ nodes: 3, tickMs: 10, heartbeatMs: 15, electionTimeoutMs: [20, 40] })).rejects.toBeInstanceOf(BadRequestError);
    await expect(startCluster({ nodes: 3, tickMs: 10, heartbeatMs: 15, electionTimeoutMs: [20, 40] })).rejects.toThrow(/heartbeat/);
    await expect(startCluster({ nodes: 3, tickMs: 0 })).rejects.toBeInstanceOf(BadRequestError);
  });
});
