// Cluster.setSnapshotPolicy (the snapshot-catch-up lab's :retain): the IPC
// message a node accepts, and on a running cluster the bad values refused,
// the policy in force returned, and a node started later taking it.

import { afterEach, describe, expect, it } from 'vitest';
import { BadRequestError, type Cluster } from '../../cluster/index.js';
import { Invalid, parseToNode } from '../../cluster/protocol.js';
import { snapshotPolicyProblem } from '../../cluster/node/snapshots.js';
import { startCluster } from './helpers.js';

describe('the snapshot-policy message', () => {
  it('parses a well-formed one, with or without a cap', () => {
    expect(parseToNode({ type: 'snapshot-policy', everyEntries: 1000, retainEntries: 200, retainBytes: 262_144 })).toEqual({ type: 'snapshot-policy', everyEntries: 1000, retainEntries: 200, retainBytes: 262_144 });
    expect(parseToNode({ type: 'snapshot-policy', everyEntries: 0, retainEntries: 0, retainBytes: null })).toEqual({ type: 'snapshot-policy', everyEntries: 0, retainEntries: 0, retainBytes: null });
  });

  it.each([
    { type: 'snapshot-policy', everyEntries: -1, retainEntries: 0, retainBytes: null },
    { type: 'snapshot-policy', everyEntries: 1, retainEntries: 0 },
    { type: 'snapshot-policy', everyEntries: 1, retainEntries: 0, retainBytes: '1MB' },
    { type: 'snapshot-policy', everyEntries: 1.5, retainEntries: 0, retainBytes: null },
  ])('refuses %j', (message) => {
    expect(parseToNode(message)).toBeInstanceOf(Invalid);
  });
});

describe('snapshotPolicyProblem', () => {
  it('names a bad number as it is (NaN, not null)', () => {
    expect(snapshotPolicyProblem({ retainBytes: NaN })).toMatch(/snapshot\.retainBytes: expected .* got NaN$/);
    expect(snapshotPolicyProblem({ everyEntries: Infinity })).toMatch(/got Infinity$/);
    expect(snapshotPolicyProblem({ retainEntries: '1MB' })).toMatch(/got "1MB"$/);
  });
});

describe('Cluster.setSnapshotPolicy', () => {
  let cluster: Cluster | null = null;
  afterEach(async () => {
    await cluster?.stop();
    cluster = null;
  });

  it('refuses bad values and the segment size, returns the policy in force, and a restarted node runs with it', { timeout: 20_000 }, async () => {
    cluster = await startCluster({ nodes: 3, snapshot: { everyEntries: 0, retainBytes: null, segmentBytes: 64 * 1024, intervalMsMin: 0 } });
    expect(() => cluster!.setSnapshotPolicy({ retainBytes: 1 })).toThrow(BadRequestError);
    expect(() => cluster!.setSnapshotPolicy({ segmentBytes: 128 * 1024 } as never)).toThrow(/segmentBytes is fixed/);
    expect(() => cluster!.setSnapshotPolicy({ everyEntries: -5 })).toThrow(/everyEntries/);
    expect(cluster.snapshotPolicy()).toMatchObject({ everyEntries: 0, retainBytes: null, segmentBytes: 64 * 1024 });
    expect(cluster.setSnapshotPolicy({ retainBytes: 256 * 1024, everyEntries: 50 })).toEqual({ everyEntries: 50, retainEntries: 1_000, retainBytes: 256 * 1024, segmentBytes: 64 * 1024, intervalMsMin: 0 });
    // The nodes took it: with everyEntries 50 each one snapshots once 50 entries are applied.
    await cluster.waitForLeader({ timeoutMs: 10_000 });
    for (let i = 0; i < 60; i++) await cluster.execute('INSERT OR REPLACE INTO kv(k, v) VALUES (?, ?)', [`k${i % 5}`, String(i)]);
    const deadline = performance.now() + 10_000;
    while (cluster.status().some((n) => n.snapshotIndex === 0) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cluster.status().map((n) => n.snapshotIndex > 0)).toEqual([true, true, true]);
    // A node started later runs with the policy in force, not the start option (which took no snapshots).
    const before = cluster.status().find((n) => n.id === 'n2')!.snapshotIndex;
    await cluster.kill('n2');
    await cluster.restart('n2');
    for (let i = 0; i < 120; i++) await cluster.execute('INSERT OR REPLACE INTO kv(k, v) VALUES (?, ?)', [`k${i % 5}`, String(i)]);
    const later = performance.now() + 10_000;
    while ((cluster.status().find((n) => n.id === 'n2')?.snapshotIndex ?? 0) <= before + 50 && performance.now() < later) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cluster.status().find((n) => n.id === 'n2')!.snapshotIndex).toBeGreaterThan(before + 50);
    // Nothing malformed reached a node on the way.
    expect(cluster.status().map((n) => n.malformedMessages)).toEqual([0, 0, 0]);
  });
});
