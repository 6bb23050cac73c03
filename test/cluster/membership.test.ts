// Membership change on real node processes (Cluster.addNode, promoteLearner,
// removeNode): a learner joins and catches up under writes, is promoted, and
// the leader removes itself, with no acknowledged write lost; and a voter
// added to 3 nodes with one dead makes 3 of 4 the majority.

import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BadRequestError, ClusterError, type Cluster, type ClusterEvent, type NodeTelemetry } from '../../cluster/index.js';
import { learnerCaughtUpEntries, nextNodeId, promoteProblem } from '../../cluster/supervisor/membership.js';
import { eventually, startCluster } from './helpers.js';

const upsert = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';

/** Writers that keep writing new keys until stopped; they remember every key acknowledged. */
function writeLoop(cluster: Cluster, writers: number): { acknowledged: Set<string>; failed: () => number; stop: () => Promise<void> } {
  const acknowledged = new Set<string>();
  let failures = 0;
  let running = true;
  let next = 0;
  const loops = Array.from({ length: writers }, async () => {
    while (running) {
      const key = `w${next++}`;
      try {
        await cluster.execute(upsert, [key, 'v'], { timeoutMs: 2_000 });
        acknowledged.add(key);
      } catch {
        failures++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  });
  return {
    acknowledged,
    failed: () => failures,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** A write that succeeds once the cluster has a leader with a majority: retried through elections, for up to 10 s. */
async function writeSoon(cluster: Cluster, key: string): Promise<void> {
  let last: unknown = null;
  const ok = await eventually(async () => {
    try {
      await cluster.execute(upsert, [key, 'v'], { timeoutMs: 2_000 });
      return true;
    } catch (error) {
      last = error;
      return false;
    }
  }, 10_000, 50);
  expect(ok, `write ${key}: ${String(last)}`).toBe(true);
}

async function waitConverged(cluster: Cluster): Promise<void> {
  const ok = await eventually(async () => {
    const nodes = cluster.status().filter((n) => n.up);
    const leader = nodes.find((n) => n.role === 'leader');
    return leader !== undefined && nodes.every((n) => n.appliedIndex === leader.lastIndex && n.lastIndex === leader.lastIndex);
  }, 10_000);
  expect(ok, `nodes converge: ${JSON.stringify(cluster.status().map((n) => [n.id, n.role, n.lastIndex, n.appliedIndex]))}`).toBe(true);
}

function membershipEvents(events: readonly ClusterEvent[]) {
  return events.flatMap((e) => (e.event.type === 'membership' ? [e.event] : []));
}

describe('membership change on real processes', () => {
  it('adds a learner that catches up under writes, promotes it, removes the leader: no acknowledged write lost, equal checksums', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 14 });
    await cluster.waitForLeader({ timeoutMs: 5_000 });
    // A log for the learner to copy.
    await Promise.all(Array.from({ length: 300 }, (_, i) => cluster.execute(upsert, [`pre${i}`, 'v'])));
    const writes = writeLoop(cluster, 4);
    try {
      const learner = await cluster.addNode({ as: 'learner' });
      expect(learner).toBe('n4');
      expect(cluster.ids).toEqual(['n1', 'n2', 'n3', 'n4']);
      expect(cluster.membership()).toMatchObject({ voters: ['n1', 'n2', 'n3'], learners: ['n4'], quorum: 2 });
      expect(cluster.status().find((n) => n.id === 'n4')?.member).toBe('learner');
      // A learner never counts: the quorum is still 2 of the 3 voters, and it is refused as a voter until current.
      await expect(cluster.promoteLearner('n1')).rejects.toThrow(/already a voter/);
      const caughtUp = await eventually(async () => {
        try {
          await cluster.promoteLearner(learner);
          return true;
        } catch (error) {
          if (error instanceof ClusterError && error.reason === 'refused' && /has not caught up|cannot be promoted yet/.test(error.message)) return false;
          throw error;
        }
      }, 10_000, 50);
      expect(caughtUp).toBe(true);
      expect(cluster.membership()).toMatchObject({ voters: ['n1', 'n2', 'n3', 'n4'], learners: [], quorum: 3 });
      const leader = cluster.leader()!;
      await cluster.removeNode(leader);
      expect(cluster.ids).not.toContain(leader);
      expect(cluster.removedNodes()).toEqual([leader]);
      expect(cluster.membership()?.quorum).toBe(2);
      const next = await cluster.waitForLeader({ timeoutMs: 5_000 });
      expect(next).not.toBe(leader);
      // Writes go on under the new leader.
      const before = writes.acknowledged.size;
      expect(await eventually(() => writes.acknowledged.size >= before + 50, 10_000)).toBe(true);
    } finally {
      await writes.stop();
    }
    await waitConverged(cluster);
    expect(writes.acknowledged.size).toBeGreaterThan(100);
    for (const id of cluster.ids) {
      const rows = await cluster.query('SELECT k FROM kv', [], { node: id, consistency: 'local' });
      const present = new Set(rows.rows.map((row) => String(row['k'])));
      const missing = [...writes.acknowledged].filter((key) => !present.has(key));
      expect(missing, `${id} lost acknowledged writes`).toEqual([]);
    }
    const checksums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
    expect(new Set(checksums.map((c) => `${c.index}:${c.value}`)).size).toBe(1);
    expect(cluster.lostWrites()).toEqual([]);
    const changes = membershipEvents(cluster.events()).map((e) => [e.change, e.node, e.as, e.majorityBefore, e.majorityAfter]);
    expect(changes).toEqual([
      ['joined', 'n4', 'learner', 2, 2],
      ['promoted', 'n4', 'voter', 2, 3],
      ['left', expect.stringMatching(/^n[1-3]$/), null, 3, 2],
    ]);
    expect(cluster.events().some((e) => e.event.type === 'stepped-down' && e.event.reason === 'removed')).toBe(true);
  }, 30_000);

  it('a voter added to 3 nodes with one dead makes the majority 3 of 4: writes stop while the new node cannot ack, and it restarts from its own log', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 15 });
    const leader = await cluster.waitForLeader({ timeoutMs: 5_000 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => cluster.execute(upsert, [`pre${i}`, 'v'])));
    const dead = cluster.ids.find((id) => id !== leader)!;
    await cluster.kill(dead);
    // The change itself commits only once n4 holds it: the leader and one live follower are 2 of the 3 it needs.
    const added = await cluster.addNode({ as: 'voter' });
    expect(cluster.membership()).toMatchObject({ voters: ['n1', 'n2', 'n3', added], quorum: 3 });
    expect(cluster.status().find((n) => n.id === added)?.member).toBe('voter');
    await writeSoon(cluster, 'with-n4');
    // Without n4 only 2 of the 4 voters run: no write commits.
    cluster.pause(added);
    await expect(cluster.execute(upsert, ['without-n4', 'v'], { timeoutMs: 1_500 })).rejects.toThrow();
    cluster.resume(added);
    await writeSoon(cluster, 'n4-back');
    // Started again with peers [], it is a voter again from the config entry in its own log.
    await cluster.kill(added);
    await cluster.restart(added);
    await cluster.restart(dead);
    await writeSoon(cluster, 'all-back');
    await waitConverged(cluster);
    const rows = await cluster.query('SELECT k FROM kv WHERE k = ?', ['all-back'], { node: added, consistency: 'local' });
    expect(rows.rows).toHaveLength(1);
    expect(cluster.membership()).toMatchObject({ voters: ['n1', 'n2', 'n3', added], quorum: 3 });
    const checksums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
    expect(new Set(checksums.map((c) => `${c.index}:${c.value}`)).size).toBe(1);
  }, 30_000);

  it('refuses what it cannot do with a clear error, takes one change at a time, and never gives an id twice', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 16 });
    await cluster.waitForLeader({ timeoutMs: 5_000 });
    await expect(cluster.removeNode('n7')).rejects.toThrow(BadRequestError);
    await expect(cluster.promoteLearner('n2')).rejects.toThrow(/n2 is already a voter/);
    // @ts-expect-error: a bad `as` from an untyped caller
    await expect(cluster.addNode({ as: 'witness' })).rejects.toThrow(/learner or voter/);
    // Two changes at once: the second is refused while the first runs.
    const first = cluster.addNode({ as: 'learner' });
    await expect(cluster.addNode({ as: 'learner' })).rejects.toThrow(/one membership change at a time/);
    expect(await first).toBe('n4');
    await cluster.removeNode('n4');
    expect(cluster.ids).toEqual(['n1', 'n2', 'n3']);
    // n4 is never given again: the next node is n5.
    expect(await cluster.addNode()).toBe('n5');
  }, 30_000);

  it('stops a new node and frees its id when no leader takes the change (nothing was proposed)', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 17 });
    const leader = await cluster.waitForLeader({ timeoutMs: 5_000 });
    const followers = cluster.ids.filter((id) => id !== leader);
    for (const id of followers) await cluster.kill(id);
    // CheckQuorum: alone, the leader steps down within an election timeout.
    expect(await eventually(() => cluster.leader() === null, 5_000)).toBe(true);
    const refused = await cluster.addNode({ as: 'voter', timeoutMs: 1_000 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ClusterError);
    expect((refused as ClusterError).reason).toBe('no-leader');
    expect((refused as Error).message).toMatch(/nothing was proposed/);
    expect(cluster.ids).toEqual(['n1', 'n2', 'n3']);
    expect(existsSync(cluster.nodeDir('n4'))).toBe(false);
    for (const id of followers) await cluster.restart(id);
    await cluster.waitForLeader({ timeoutMs: 5_000 });
    expect(await cluster.addNode()).toBe('n4');
  }, 30_000);
});

describe('membership rules (pure)', () => {
  it('gives the lowest unused id, and a typed error past nine nodes or once every id was used', () => {
    expect(nextNodeId(new Set(['n1', 'n2', 'n3']), 3)).toBe('n4');
    expect(nextNodeId(new Set(['n1', 'n2', 'n3', 'n4']), 3)).toBe('n5');
    expect(() => nextNodeId(new Set(['n1']), 9)).toThrow(BadRequestError);
    expect(() => nextNodeId(new Set(['n1']), 9)).toThrow(/already has 9 nodes/);
    const all = new Set(Array.from({ length: 9 }, (_, i) => `n${i + 1}`));
    expect(() => nextNodeId(all, 5)).toThrow(/every node id n1..n9 has been used/);
  });

  it('promotes a learner only within the catch-up margin of the leader commit index', () => {
    const leader = (flushed: number): NodeTelemetry =>
      ({
        id: 'n1',
        commitIndex: 5_000,
        membership: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] },
        followers: [{ id: 'n4', positions: { received: flushed, flushed, applied: flushed } }],
      }) as unknown as NodeTelemetry;
    expect(promoteProblem('n4', leader(5_000 - learnerCaughtUpEntries))).toBeNull();
    expect(promoteProblem('n4', leader(5_000 - learnerCaughtUpEntries - 1))).toMatch(/n4 has not caught up yet: it holds up to index 4899, the leader n1 has committed 5000/);
    expect(promoteProblem('n2', leader(0))).toMatch(/already a voter/);
    // The leader's report predates the node (no progress row): say so, not '0 behind'.
    const unreported = { ...leader(0), commitIndex: 0, followers: [] } as unknown as NodeTelemetry;
    const said = promoteProblem('n4', unreported);
    expect(said).toMatch(/n4 cannot be promoted yet: the leader n1 has not reported n4's progress since it joined/);
    expect(said).not.toMatch(/0 behind|holds up to index 0/);
    // A row, but nothing acknowledged yet.
    expect(promoteProblem('n4', leader(0))).toMatch(/n4 has not caught up yet: it has acknowledged no entry so far, and the leader n1 has committed up to index 5000/);
    expect(promoteProblem('n5', leader(0))).toMatch(/not a learner/);
  });
});
