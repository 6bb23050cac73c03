// sync-cost: synchronous replication makes every write wait for the slowest
// sync follower's round trip; a paused follower blocks every write; a sync
// timeout with an async fallback silently turns the cluster async.

import { earlierOn, eventsOf, formatMs, listing, median, node, plural, writesAcked } from '../analysis.js';
import { defineLab } from '../types.js';
import { leaderName, someFollower } from './common.js';
import { farDelayMs, farthest, measuringSteps } from './sync-cost.measure.js';
import { syncCostOnPostgres } from './sync-cost.postgres.js';

/** What the checks measure; the PostgreSQL variant (sync-cost.postgres.ts) fills the same fields where they mean the same, and its own. */
export interface SyncCostFacts {
  farFollower: string;
  delayMs: number;
  asyncP50Ms: number;
  asyncWrites: number;
  syncP50Ms: number;
  syncWrites: number;
  pausedNode: string;
  blockedWrites: number;
  degradedAfterMs: number;
  ackedWhileDegraded: number;
  restoredIndex: number;
  /** PostgreSQL: the mode the person lowered synchronous_standby_names to while the standby was paused, and that setting. */
  loweredTo: string;
  loweredSetting: string;
  /** PostgreSQL: writes acknowledged after the lowering while the standby stayed paused, and their median latency. */
  ackedWhileLowered: number;
  loweredP50Ms: number;
  /** PostgreSQL: commits that had been waiting when the setting changed and returned "done" after it. */
  releasedByChange: number;
  /** PostgreSQL: writes acknowledged once sync was back with every standby answering. */
  ackedAfterRestore: number;
}

type Facts = SyncCostFacts;

const degradeAfterMs = 500;

/** Steps 1 to 3 (sync-cost.measure.ts, shared with the PostgreSQL variant), in replica-lab's words. */
const [farStep, syncStep, pauseStep] = measuringSteps({
  copy: 'follower',
  leader: 'leader',
  writes: 'writes',
  notSync: (o) => `replication is ${o.replication.mode}, not sync`,
  syncWrites: () => 'sync writes',
  stillMember: 'still a sync follower',
  member: 'a sync follower',
  waitsFor: 'every write waits for every sync follower',
});

export const syncCost = defineLab<Facts>({
  id: 'sync-cost',
  title: 'What synchronous replication costs',
  engines: ['replica-lab', 'postgres'],
  variants: { postgres: syncCostOnPostgres },
  level: 'intermediate',
  minutes: 10,
  concepts: ['sync replication', 'write latency', 'availability', 'semi-sync timeout', 'silent degradation'],
  summary:
    'Synchronous replication promises that an acknowledged write is on every sync follower. You pay for it on every write: put one follower 50 ms away and each write waits for its round trip; pause a follower and every write waits forever; add a timeout with an async fallback and the cluster quietly stops keeping the promise.',
  setup: {
    cluster: { nodes: 3, replication: { mode: 'async', ackLevel: 'flushed' }, failover: 'raft', seed: 31 },
    workload: { rate: 40, concurrency: 16, readFraction: 0, keys: 20, timeoutMs: 2_000, seed: 31 },
  },
  steps: [
    {
      title: 'Put a follower far away',
      instruction: (o) => `The cluster runs async. Put one follower in another region, ${farDelayMs} ms away each way: :delay ${leaderName(o)} ${someFollower(o)} ${farDelayMs}`,
      hint: 'Watch the header: async write latency hardly moves, because the leader does not wait for any follower.',
      ...farStep,
    },
    {
      title: 'Switch to sync',
      instruction: 'Make replication synchronous: :mode sync (or press m until the header says sync). Every follower is now a sync follower.',
      hint: 'A sync write is acknowledged only when every sync follower has it on disk: PostgreSQL synchronous_standby_names = \'FIRST 2 (n2, n3)\', MySQL semi-sync waiting for every replica.',
      ...syncStep,
    },
    {
      title: 'Pause a follower',
      instruction: (o) => `Select the other follower (${someFollower(o, farthest(o) === null ? [] : [farthest(o)!.id])}) and press p to pause it. Watch the write rate.`,
      hint: 'A paused process (SIGSTOP) answers nothing. A sync leader cannot acknowledge a write until every sync follower has it, so it waits — PostgreSQL waits forever in this case.',
      ...pauseStep,
    },
    {
      title: 'Let the leader stop waiting',
      instruction: `Give sync writes a deadline and an escape: :fallback async, then :sync-timeout ${degradeAfterMs}`,
      hint: 'After the timeout the leader degrades to async: it acknowledges what waited and carries on without the paused follower. MySQL semi-sync does this when rpl_semi_sync_master_timeout expires; PostgreSQL never does.',
      check: (o, before) => {
        const degraded = eventsOf(o, 'sync-degraded', before.wall).at(-1);
        if (degraded === undefined) return { passed: false, detail: `no sync-degraded event yet (fallback ${o.replication.syncFallback}, sync timeout ${o.replication.syncTimeoutMs ?? 'off'})` };
        const paused = o.status.filter((n) => n.paused).map((n) => n.id);
        const after = writesAcked(o.history).filter((w) => w.wall > degraded.atMs);
        if (after.length === 0) return { passed: false, detail: 'degraded; waiting for writes to be acknowledged again' };
        const waitedMs = degraded.event.waitedTicks * o.tickMs;
        return {
          passed: true,
          detail: `${degraded.event.node} waited ${formatMs(waitedMs)} for ${listing([...degraded.event.lagging])}, then degraded to async: ${plural(after.length, 'write')} acknowledged since${paused.length > 0 ? ` without ${listing(paused)}` : ''}`,
          facts: { degradedAfterMs: waitedMs, ackedWhileDegraded: after.length },
        };
      },
      autopilot: async (context) => {
        // Not awaited: the paused follower cannot confirm the change, and the leader degrades meanwhile.
        void context.cluster.setReplication({ syncFallback: 'async', syncTimeoutMs: degradeAfterMs }).catch(() => {});
        await context.waitFor('degraded writes', (o) => {
          const degraded = eventsOf(o, 'sync-degraded', context.before.wall).at(-1);
          return degraded !== undefined && writesAcked(o.history).filter((w) => w.wall > degraded.atMs).length >= 5;
        });
      },
    },
    {
      title: 'Resume the follower',
      instruction: (o) => `Select ${o.status.find((n) => n.paused)?.id ?? 'the paused follower'} and press p to resume it, then press h to bring the far follower close again. Both catch up, and the leader goes back to sync.`,
      hint: 'When it degraded, the leader noted its last log index. It returns to sync once every sync follower has reached that fixed index, so a follower that is slow but catching up gets there even while writes keep flowing; the heal only makes it quicker. MySQL semi-sync likewise switches back once a replica catches up. Look for sync-restored in the event log: it names that index.',
      check: (o, before) => {
        const paused = o.status.filter((n) => n.paused);
        if (paused.length > 0) return { passed: false, detail: `${listing(paused.map((n) => n.id))} still paused` };
        const restored = eventsOf(o, 'sync-restored', before.wall).at(-1);
        if (restored === undefined) return { passed: false, detail: 'resumed; waiting for the leader to return to sync' };
        return { passed: true, detail: `the follower reached index ${restored.event.index}, ${restored.event.node}'s last index when it degraded, and ${restored.event.node} went back to sync`, facts: { restoredIndex: restored.event.index } };
      },
      autopilot: async (context) => {
        for (const n of context.observe().status) if (n.paused) context.cluster.resume(n.id);
        context.cluster.heal();
        await context.waitFor('sync-restored', (o) => eventsOf(o, 'sync-restored', context.before.wall).length > 0);
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.asyncP50Ms !== undefined) lines.push(`Async, with ${f.farFollower} ${f.delayMs} ms away: writes took ${formatMs(f.asyncP50Ms)} (median of ${f.asyncWrites}). The leader answered at its own flush.`);
    if (f.syncP50Ms !== undefined) lines.push(`Sync: ${formatMs(f.syncP50Ms)} (median of ${f.syncWrites}). Every write waited for the slowest sync follower's round trip (at least 2 × ${f.delayMs ?? '?'} ms). That is the price of "an acknowledged write is on every sync follower".`);
    if (f.pausedNode !== undefined) lines.push(`With ${f.pausedNode} paused, 0 of ${f.blockedWrites} writes were acknowledged: synchronous replication trades availability for durability. A PostgreSQL primary whose only sync standby is down blocks commits the same way until the standby returns or synchronous_standby_names changes.`);
    if (f.degradedAfterMs !== undefined) lines.push(`With a ${formatMs(f.degradedAfterMs)} timeout and fallback async, the leader gave up and acknowledged ${plural(f.ackedWhileDegraded ?? 0, 'write')} the paused follower did not have, telling no client: MySQL semi-sync's rpl_semi_sync_master_timeout. Had the leader died then, those writes could have been lost.`);
    if (f.restoredIndex !== undefined) lines.push(`Once every sync follower had reached index ${f.restoredIndex}, the leader's last index when it degraded, the leader went back to sync. The promise is only as good as the time spent degraded: monitor it.`);
    const pg = earlierOn<Facts>(run, 'postgres');
    if (pg !== null && pg.facts.syncP50Ms !== undefined && pg.facts.asyncP50Ms !== undefined) {
      lines.push(`On PostgreSQL (your run of ${pg.at.slice(0, 10)}), with a standby ${pg.facts.delayMs ?? '?'} ms away, async commits took ${formatMs(pg.facts.asyncP50Ms)} and sync ${formatMs(pg.facts.syncP50Ms)}: the same round-trip floor. There the primary never degraded by itself; ${pg.facts.loweredTo !== undefined ? `writes flowed again only when you lowered synchronous_standby_names (${pg.facts.loweredTo})` : 'only a change of synchronous_standby_names releases the waiting commits'}.`);
    }
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${run.lostWrites} lost.`);
    return lines;
  },
  quiz: ['sync-latency-floor', 'sync-blocks-on-standby', 'semi-sync-timeout', 'pg-first-any', 'pg-first-priority', 'sync-availability', 'mysql-after-sync'],
});
