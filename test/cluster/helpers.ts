// Helpers for tests that run real node processes: every cluster a test starts
// is stopped in afterEach, even when the test failed, and the test then checks
// that none of the node processes it saw is still alive.

import { readdirSync, readlinkSync, readFileSync } from 'node:fs';
import { afterEach, expect } from 'vitest';
import { Cluster, type ClusterEvent, type ClusterOptions } from '../../cluster/index.js';

const running: Cluster[] = [];
const seenPids = new Set<number>();

/** Starts a cluster that afterEach will stop. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const cluster = await Cluster.start({ fsync: false, ...options });
  running.push(cluster);
  cluster.on('event', (e: ClusterEvent) => {
    if (e.event.type === 'node-started') seenPids.add(e.event.pid);
  });
  for (const node of cluster.status()) if (node.pid !== null) seenPids.add(node.pid);
  return cluster;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `check` holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

afterEach(async () => {
  const clusters = running.splice(0);
  await Promise.all(clusters.map((cluster) => cluster.stop()));
  const pids = [...seenPids];
  seenPids.clear();
  const gone = await eventually(() => pids.every((pid) => !isAlive(pid)), 2_000);
  expect(gone, `node processes left behind: ${pids.filter(isAlive).join(', ')}`).toBe(true);
});

/** Every TCP and UDP socket's inode, in any state, from /proc/net/{tcp,tcp6,udp,udp6}. */
export function inetSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length >= 10) inodes.add(fields[9]!);
    }
  }
  return inodes;
}

/** Every Unix domain socket's inode, from /proc/net/unix. */
export function unixSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 7) inodes.add(fields[6]!);
  }
  return inodes;
}

/** Socket inodes a process holds open. */
export function socketInodes(pid: number): string[] {
  const out: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) out.push(match[1]!);
    } catch {
      // fd closed meanwhile
    }
  }
  return out;
}

/**
 * No node exited (unexpectedly, with `expectedExits`), the cluster takes a
 * write, and every node has applied the same index with the same checksum:
 * how a test of bad input ends.
 */
export async function expectHealthy(cluster: Cluster, options: { readonly expectedExits?: boolean; readonly timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const exits = cluster.events().filter((e) => e.event.type === 'node-exited' && !(options.expectedExits === true && e.event.expected));
  expect(exits, JSON.stringify(exits)).toEqual([]);
  const { index } = await cluster.execute(healthUpsert, ['after', 'ok'], { timeoutMs });
  const converged = await eventually(() => cluster.status().every((n) => n.up && n.appliedIndex >= index), timeoutMs);
  expect(converged, JSON.stringify(cluster.status().map((n) => [n.id, n.up, n.appliedIndex]))).toBe(true);
  const checksums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
  expect(new Set(checksums.map((c) => c.index)).size, JSON.stringify(checksums)).toBe(1);
  expect(new Set(checksums.map((c) => c.value)).size, JSON.stringify(checksums)).toBe(1);
}

const healthUpsert = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';
