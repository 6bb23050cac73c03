// Damaged files that read like a clean log, on real node processes. A zeroed
// last WAL segment looks like a preallocated segment's unused space, so the
// scan alone cannot tell; but the node applied entries its log held, so a
// state.db ahead of the log means the log lost its end: the node refuses to
// start (`✕ corrupt`) instead of electing a leader without acknowledged
// writes. A `meta` that does not read back is refused the same way, and a
// rebuild brings both back.

import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Cluster, NodeId } from '../../cluster/index.js';
import { eventually, startCluster } from './helpers.js';

const rows = 24;

function lastSegment(cluster: Cluster, id: NodeId): string {
  const walDir = join(cluster.nodeDir(id), 'wal');
  return join(walDir, readdirSync(walDir).filter((n) => n.endsWith('.seg')).sort().at(-1)!);
}

async function countRows(cluster: Cluster): Promise<number> {
  const result = await cluster.query('SELECT count(*) AS n FROM kv', [], { consistency: 'linearizable', timeoutMs: 5_000 });
  return Number(result.rows[0]!['n']);
}

async function sameEverywhere(cluster: Cluster, index: number): Promise<void> {
  expect(await eventually(() => cluster.status().every((n) => n.up && n.appliedIndex >= index), 10_000)).toBe(true);
  const sums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
  expect(new Set(sums.map((s) => `${s.index}:${s.value}`)).size, JSON.stringify(sums)).toBe(1);
}

describe('damaged files that read like a clean log', () => {
  it('a zeroed last segment below state.db is refused as corrupt; a rebuild loses no acknowledged write', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 131, snapshot: { everyEntries: 0, segmentBytes: 64 * 1024 } });
    await cluster.waitForLeader({ timeoutMs: 10_000 });
    let last = 0;
    for (let i = 0; i < rows; i++) last = (await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', [`k${i}`, 'v'.repeat(10_000)])).index;
    expect(await eventually(() => cluster.status().every((n) => n.appliedIndex >= last), 10_000)).toBe(true);
    for (const id of cluster.ids) await cluster.kill(id);
    const zeroed: Record<string, string> = {};
    for (const id of ['n1', 'n2']) {
      const file = lastSegment(cluster, id);
      expect(file).not.toMatch(/0{19}1\.seg$/);
      writeFileSync(file, Buffer.alloc(statSync(file).size));
      zeroed[id] = file.split('/').at(-1)!;
    }

    await cluster.restart('n1');
    await cluster.restart('n2');
    const refused = await eventually(() => cluster.status().filter((n) => n.corrupt != null && !n.up).length === 2, 10_000);
    expect(refused, JSON.stringify(cluster.status().map((n) => [n.id, n.up, n.corrupt]))).toBe(true);
    for (const id of ['n1', 'n2']) {
      const status = cluster.status().find((n) => n.id === id)!;
      expect(status.corrupt).toMatchObject({ segment: zeroed[id], offset: 0 });
      expect(status.corrupt!.message).toMatch(new RegExp(`corrupt WAL: segment ${zeroed[id]}, offset 0: the log ends at index \\d+ but state.db applied up to index ${last}`));
      expect(readFileSync(join(cluster.nodeDir(id), 'node.log'), 'utf8')).toContain(`state.db applied up to index ${last}`);
    }
    expect(cluster.leader()).toBeNull();

    await cluster.restart('n3');
    for (const id of ['n1', 'n2']) {
      await cluster.restart(id, { rebuild: true });
      // The floor covers what state.db had applied, above where the damaged log ended.
      const floor = JSON.parse(readFileSync(join(cluster.nodeDir(id), 'rebuild.json'), 'utf8')) as { index: number };
      expect(floor.index).toBe(last);
      expect(await eventually(() => cluster.events().some((e) => e.event.type === 'node-rebuilt' && e.event.node === id), 20_000), `${id} rebuilt`).toBe(true);
    }
    const { index } = await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', ['after', 'rebuild'], { timeoutMs: 10_000 });
    expect(await countRows(cluster)).toBe(rows + 1);
    await sameEverywhere(cluster, index);
  }, 60_000);

  it('a corrupt meta is refused as corrupt; a rebuild keeps it aside and holds a vote in the highest term', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 132 });
    const leader = await cluster.waitForLeader({ timeoutMs: 10_000 });
    for (let i = 0; i < 5; i++) await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', [`k${i}`, 'v']);
    const victim = cluster.ids.find((id) => id !== leader)!;
    await cluster.kill(victim);
    writeFileSync(join(cluster.nodeDir(victim), 'meta'), '{"term":"garbage"');

    await cluster.restart(victim);
    expect(await eventually(() => cluster.status().some((n) => n.id === victim && n.corrupt != null && !n.up), 10_000)).toBe(true);
    const status = cluster.status().find((n) => n.id === victim)!;
    expect(status.up).toBe(false);
    expect(status.corrupt).toMatchObject({ segment: 'meta', offset: 0 });
    expect(status.corrupt!.message).toMatch(/^corrupt meta: .*meta is not JSON.*does not start; rebuild it/);

    const leaderTerm = JSON.parse(readFileSync(join(cluster.nodeDir(leader), 'meta'), 'utf8')) as { term: number };
    await cluster.restart(victim, { rebuild: true });
    const meta = JSON.parse(readFileSync(join(cluster.nodeDir(victim), 'meta'), 'utf8')) as { term: number; vote: string | null };
    // Its own vote in a term no other node has passed: it cannot vote a second time in any term it may have voted in.
    expect(meta.term).toBeGreaterThanOrEqual(leaderTerm.term);
    expect(meta.vote).toBe(victim);
    const aside = readdirSync(cluster.nodeDir(victim)).filter((n) => n.startsWith('meta-corrupt-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(cluster.nodeDir(victim), aside[0]!), 'utf8')).toBe('{"term":"garbage"');

    const { index } = await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', ['after', 'rebuild'], { timeoutMs: 10_000 });
    expect(await eventually(() => cluster.status().find((n) => n.id === victim)!.corrupt == null, 10_000)).toBe(true);
    expect(await countRows(cluster)).toBe(6);
    await sameEverywhere(cluster, index);
  }, 40_000);

  it('a state.db damaged past its header is refused as corrupt, not a stack trace; a rebuild copies the state again', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 134 });
    const leader = await cluster.waitForLeader({ timeoutMs: 10_000 });
    let last = 0;
    for (let i = 0; i < 5; i++) last = (await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', [`k${i}`, 'v'])).index;
    expect(await eventually(() => cluster.status().every((n) => n.appliedIndex >= last), 10_000)).toBe(true);
    const victim = cluster.ids.find((id) => id !== leader)!;
    await cluster.kill(victim);
    const file = join(cluster.nodeDir(victim), 'state.db');
    const bytes = readFileSync(file);
    bytes.fill(0x5a, 100);
    writeFileSync(file, bytes);
    for (const name of ['state.db-wal', 'state.db-shm']) rmSync(join(cluster.nodeDir(victim), name), { force: true });

    await cluster.restart(victim);
    expect(await eventually(() => cluster.status().some((n) => n.id === victim && n.corrupt != null && !n.up), 10_000)).toBe(true);
    expect(cluster.status().find((n) => n.id === victim)!.corrupt).toMatchObject({ segment: 'state.db', message: expect.stringMatching(/^corrupt state\.db: SQLite says .* \(SQLITE_(CORRUPT|NOTADB)\)/) as unknown });
    expect(cluster.events().some((e) => e.event.type === 'node-exited' && e.event.node === victim && e.event.code === 3)).toBe(true);

    await cluster.restart(victim, { rebuild: true });
    const { index } = await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', ['after', 'rebuild'], { timeoutMs: 10_000 });
    expect(await countRows(cluster)).toBe(6);
    await sameEverywhere(cluster, index);
  }, 40_000);
});
