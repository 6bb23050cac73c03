// The messages of an election, reported by real node processes: after the
// leader is killed, cluster.messages() holds the votes that elected the next
// one (each answer granted or denied, as sent and as received) and the vote
// the dead node never received; status() carries each node's election timer.

import { describe, expect, it } from 'vitest';
import { eventually, startCluster } from './helpers.js';

describe('cluster.messages()', () => {
  it('holds the votes of an election, sent and received, with their answers, and each election timer', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 16, preVote: true });
    const first = await cluster.waitForLeader({ timeoutMs: 10_000 });
    await cluster.kill(first);
    const next = await cluster.waitForLeader({ timeoutMs: 10_000 });
    const elected = cluster.events().filter((e) => e.event.type === 'leader-elected' && e.event.node === next).at(-1)!.event;
    const term = (elected as { term: number }).term;
    // The winner's granted votes, as the voter sent them and as the winner received them.
    const granted = (dir: 'out' | 'in') => cluster.messages().records.filter((r) => r.type === 'vote-resp' && !r.pre && r.granted === true && r.to === next && r.term === term && r.dir === dir);
    expect(await eventually(() => granted('out').length >= 1 && granted('in').length >= 1, 5_000)).toBe(true);
    const records = cluster.messages().records;
    // Pre-votes come first (preVote on), and are marked as such.
    expect(records.some((r) => r.type === 'vote' && r.pre && r.from === next && r.dir === 'out')).toBe(true);
    // The vote to the dead leader was sent and never received.
    const toDead = records.filter((r) => r.type === 'vote' && !r.pre && r.from === next && r.to === first && r.term === term);
    expect(toDead.map((r) => r.dir)).toEqual(['out']);
    // Appends and heartbeats are counted per link, not recorded one by one.
    expect(await eventually(() => cluster.messages().links.some((c) => c.dir === 'out' && c.from === next && c.heartbeat > 0), 3_000)).toBe(true);
    expect(records.filter((r) => r.type === 'heartbeat' && r.from === next && r.term === term && r.dir === 'out').every((r) => r.first)).toBe(true);
    const status = cluster.status();
    expect(status.find((n) => n.id === first)!.election).toBeNull();
    for (const node of status.filter((n) => n.up)) {
      expect(node.election!.timeoutTicks).toBeGreaterThan(0);
      expect(node.election!.elapsedMs).toBe(node.election!.elapsedTicks * 10);
    }
    const follower = status.find((n) => n.up && n.id !== next)!;
    expect(follower.election!.elapsedTicks).toBeLessThan(follower.election!.timeoutTicks);
  }, 20_000);
});
