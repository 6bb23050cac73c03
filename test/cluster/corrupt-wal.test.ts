// Issue 13, row 9, on real node processes: a bit flipped in the middle of two
// nodes' WALs (valid records after it) is corruption, not a torn tail. With
// the third node down, both refuse to start and say where (`✕ corrupt`)
// instead of electing a leader without the entries after the flip; rebuilt
// one at a time with the third node back, they are copied again from it, and
// no committed entry is lost.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadRequestError, type Cluster, type NodeId } from '../../cluster/index.js';
import { eventually, startCluster } from './helpers.js';

const rows = 30;

/** The first segment of a node's WAL. */
function firstSegment(cluster: Cluster, id: NodeId): string {
  const walDir = join(cluster.nodeDir(id), 'wal');
  const name = readdirSync(walDir).filter((n) => n.endsWith('.seg')).sort()[0]!;
  return join(walDir, name);
}

/** Flips one bit in the data of the `nth` record (1-based) of a segment; returns the record's offset. */
function flipBitInRecord(file: string, nth: number): number {
  const bytes = readFileSync(file);
  let offset = 0;
  for (let i = 1; i < nth; i++) offset += bytes.readUInt32LE(offset);
  const length = bytes.readUInt32LE(offset);
  expect(length).toBeGreaterThan(40);
  bytes[offset + 40]! ^= 0x10;
  writeFileSync(file, bytes);
  return offset;
}

async function countRows(cluster: Cluster): Promise<number> {
  const result = await cluster.query('SELECT count(*) AS n FROM kv', [], { consistency: 'linearizable', timeoutMs: 5_000 });
  return Number(result.rows[0]!['n']);
}

describe('a WAL damaged in the middle (issue 13, row 9)', () => {
  it('is refused as corrupt, not cut; a rebuild copies the node again and loses no committed entry', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 93 });
    await cluster.waitForLeader({ timeoutMs: 10_000 });
    let last = 0;
    for (let i = 0; i < rows; i++) last = (await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', [`k${i}`, `v${i}`])).index;
    expect(await eventually(() => cluster.status().every((n) => n.appliedIndex >= last), 10_000)).toBe(true);
    for (const id of cluster.ids) await cluster.kill(id);

    // A bit flipped in the 9th record of n1's and n2's log: 20-odd valid records follow it.
    const damaged: Record<string, { file: string; offset: number; bytes: Buffer }> = {};
    for (const id of ['n1', 'n2']) {
      const file = firstSegment(cluster, id);
      const offset = flipBitInRecord(file, 9);
      damaged[id] = { file, offset, bytes: readFileSync(file) };
    }

    // n3 stays down; n1 and n2 refuse to start instead of electing a leader without the entries after the flip.
    await cluster.restart('n1');
    await cluster.restart('n2');
    const refused = await eventually(() => cluster.status().filter((n) => n.corrupt?.segment != null && !n.up).length === 2, 10_000);
    expect(refused, JSON.stringify(cluster.status().map((n) => [n.id, n.up, n.corrupt]))).toBe(true);
    for (const id of ['n1', 'n2']) {
      const status = cluster.status().find((n) => n.id === id)!;
      const segment = damaged[id]!.file.split('/').at(-1)!;
      expect(status.corrupt).toMatchObject({ segment, offset: damaged[id]!.offset });
      expect(status.corrupt!.message).toContain(`corrupt WAL: segment ${segment}, offset ${damaged[id]!.offset}`);
      expect(status.role).toBe('down');
      expect(readFileSync(join(cluster.nodeDir(id), 'node.log'), 'utf8')).toContain(`corrupt WAL: segment ${segment}, offset ${damaged[id]!.offset}`);
      expect(cluster.events().some((e) => e.event.type === 'node-corrupt' && e.event.node === id)).toBe(true);
      // Nothing was cut: the log is on disk as the damage left it.
      expect(readFileSync(damaged[id]!.file).equals(damaged[id]!.bytes)).toBe(true);
    }
    expect(cluster.leader()).toBeNull();

    // n3 back; n1 and n2 rebuilt one at a time from it.
    await cluster.restart('n3');
    for (const id of ['n1', 'n2']) {
      await cluster.restart(id, { rebuild: true });
      const rebuilt = await eventually(() => cluster.events().some((e) => e.event.type === 'node-rebuilt' && e.event.node === id), 20_000);
      expect(rebuilt, `${id} caught up to its old log's end`).toBe(true);
      expect(cluster.status().find((n) => n.id === id)!.corrupt ?? null).toBeNull();
    }

    // Writes go on, nothing committed is lost, and every node holds the same state.
    const { index } = await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', ['after', 'rebuild'], { timeoutMs: 10_000 });
    expect(await countRows(cluster)).toBe(rows + 1);
    expect(await eventually(() => cluster.status().every((n) => n.up && n.appliedIndex >= index), 10_000)).toBe(true);
    const sums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
    expect(new Set(sums.map((s) => s.index)).size, JSON.stringify(sums)).toBe(1);
    expect(new Set(sums.map((s) => s.value)).size, JSON.stringify(sums)).toBe(1);
    expect(cluster.lostWrites()).toEqual([]);
  }, 60_000);

  it('a rebuilt node whose leader compacted its log catches up by InstallSnapshot, and the snapshot meets its floor', async () => {
    // Small segments and no margin: after a snapshot on every node, no node's log reaches back to index 1.
    const cluster = await startCluster({ nodes: 3, seed: 95, snapshot: { everyEntries: 0, retainEntries: 0, retainBytes: 64 * 1024, segmentBytes: 64 * 1024 } });
    const leader = await cluster.waitForLeader({ timeoutMs: 10_000 });
    const target = cluster.ids.find((id) => id !== leader)!;
    let last = 0;
    for (let done = 0; done < 3_000; done += 200) {
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', [`k${done + i}`, 'x'.repeat(40)])));
      last = Math.max(last, ...results.map((r) => r.index));
    }
    expect(await eventually(() => cluster.status().every((n) => n.appliedIndex >= last), 10_000)).toBe(true);
    for (const id of cluster.ids) await cluster.snapshot(id);
    const leaderWal = readdirSync(join(cluster.nodeDir(leader), 'wal'));
    expect(leaderWal).toContain('base');
    expect(leaderWal).not.toContain('00000000000000000001.seg');

    await cluster.restart(target, { rebuild: true });
    const floor = JSON.parse(readFileSync(join(cluster.nodeDir(target), 'rebuild.json'), 'utf8')) as { index: number; term: number };
    expect(floor.index).toBeGreaterThanOrEqual(last);
    // The leader learns the node lost its log at its next append: one write, and the node is far behind its compacted log.
    const { index } = await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', ['after', 'rebuild'], { timeoutMs: 10_000 });
    const rebuilt = await eventually(() => cluster.events().some((e) => e.event.type === 'node-rebuilt' && e.event.node === target), 20_000);
    expect(rebuilt, JSON.stringify(cluster.events().filter((e) => 'node' in e.event && e.event.node === target).map((e) => e.event.type))).toBe(true);
    const installed = cluster.events().find((e) => e.event.type === 'snapshot-installed' && e.event.node === target)?.event;
    const done = cluster.events().find((e) => e.event.type === 'node-rebuilt' && e.event.node === target)?.event;
    expect(installed?.type).toBe('snapshot-installed');
    // The snapshot itself met the floor (its term and index), not a later flush of the log after it.
    if (installed?.type === 'snapshot-installed' && done?.type === 'node-rebuilt') {
      expect(installed.index).toBeGreaterThanOrEqual(floor.index);
      expect(done).toMatchObject({ index: installed.index, term: installed.term });
    }
    expect(existsSync(join(cluster.nodeDir(target), 'rebuild.json'))).toBe(false);
    expect(await countRows(cluster)).toBe(3_001);
    expect(await eventually(() => cluster.status().every((n) => n.up && n.appliedIndex >= index), 10_000)).toBe(true);
    const sums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
    expect(new Set(sums.map((s) => s.value)).size, JSON.stringify(sums)).toBe(1);
  }, 60_000);

  it('a node removed from the cluster is not rebuilt', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 96 });
    const leader = await cluster.waitForLeader({ timeoutMs: 10_000 });
    const removed = cluster.ids.find((id) => id !== leader)!;
    await cluster.removeNode(removed);
    await expect(cluster.restart(removed, { rebuild: true })).rejects.toThrow(/was removed from the cluster .* not rebuilt/);
    expect(existsSync(join(cluster.nodeDir(removed), 'rebuild.json'))).toBe(false);
  }, 30_000);

  it('a rebuild is refused for the only node', async () => {
    const cluster = await startCluster({ nodes: 1, seed: 94 });
    await expect(cluster.restart('n1', { rebuild: true })).rejects.toThrow(BadRequestError);
    await expect(cluster.restart('n1', { rebuild: true })).rejects.toThrow(/only node/);
  }, 20_000);
});
