// sync-cost's measuring steps (a far copy, sync, a paused copy), shared by the
// lab and its PostgreSQL variant: the logic is the same on both engines, only
// the words differ. A module of its own because sync-cost.ts imports its
// variant (no import cycle).

import { actionsOf, actionsSince, delayBetween, formatMs, linkDelays, median, node, slowedAt, writeLatencies, writesInvoked } from '../analysis.js';
import type { Action, Observation, Step } from '../types.js';
import { leaderAndFollowers, slowLink, someFollower } from './common.js';
import type { SyncCostFacts as Facts } from './sync-cost.js';

export const farDelayMs = 50;
const farDelayMsMin = 20;

/** The follower furthest from the leader by the journal's link delays, with its delay. */
export function farthest(o: Observation): { id: string; delayMs: number; action: Action | null } | null {
  const leader = o.leader;
  if (leader === null) return null;
  const delays = linkDelays(o.actions);
  let best: { id: string; delayMs: number; action: Action | null } | null = null;
  for (const n of o.status) {
    if (n.id === leader) continue;
    const delayMs = delayBetween(delays, leader, n.id);
    if (delayMs >= farDelayMsMin && (best === null || delayMs > best.delayMs)) best = { id: n.id, delayMs, action: slowedAt(o.actions, leader, n.id, farDelayMsMin) };
  }
  return best;
}

/** When replication last became sync, by the journal. */
export function syncSince(actions: readonly Action[]): Action | null {
  const changes = actionsOf(actions, 'replication').filter((a) => a.error === null && a.change.mode !== undefined);
  const last = changes[changes.length - 1];
  return last?.change.mode === 'sync' ? last : null;
}

/** The words the measuring checks use on each engine; the logic is the same. */
export interface SyncWords {
  /** A copy: follower / standby. */
  readonly copy: string;
  /** The node that takes writes: leader / primary. */
  readonly leader: string;
  /** What a client waits for: writes / commits. */
  readonly writes: string;
  /** Why it is not sync yet. */
  readonly notSync: (o: Observation) => string;
  /** What the sync writes are called in a passed detail: "sync writes" / "synchronous_standby_names = '…': commits". */
  readonly syncWrites: (o: Observation) => string;
  /** Whether a copy counts for sync: "still a sync follower" / "in synchronous_standby_names" (and without "still"). */
  readonly stillMember: string;
  readonly member: string;
  /** What every write waits for while a copy is paused. */
  readonly waitsFor: string;
}

type Measuring = Pick<Step<Facts>, 'check' | 'autopilot'>;

/** Steps 1 to 3 (far copy, sync, paused copy): their checks and autopilots, with details in `w`'s words. */
export function measuringSteps(w: SyncWords): [Measuring, Measuring, Measuring] {
  return [
    {
      check: (o, before) => {
        if (actionsOf(actionsSince(o, before), 'link').length === 0) return { passed: false, detail: 'no link has been slowed yet' };
        const far = farthest(o);
        if (far === null || far.action === null) return { passed: false, detail: `no ${w.copy} is ${farDelayMsMin} ms or more from the ${w.leader} both ways yet` };
        const latencies = writeLatencies(o.history, far.action.mono);
        if (latencies.length < 10) return { passed: false, detail: `${far.id} is ${far.delayMs} ms away; measuring ${w.writes} (${latencies.length}/10)` };
        const p50 = median(latencies)!;
        return {
          passed: true,
          detail: `${far.id} is ${far.delayMs} ms away; async ${w.writes} still take ${formatMs(p50)} (median of ${latencies.length}): the ${w.leader} does not wait for it`,
          facts: { farFollower: far.id, delayMs: far.delayMs, asyncP50Ms: p50, asyncWrites: latencies.length },
        };
      },
      autopilot: async (context) => {
        const { leader, followers } = await leaderAndFollowers(context);
        const mono = performance.now();
        slowLink(context, leader, followers[followers.length - 1]!, farDelayMs);
        await context.waitFor('10 async writes', (o) => writeLatencies(o.history, mono).length >= 10);
      },
    },
    {
      check: (o, before) => {
        const change = syncSince(actionsSince(o, before));
        if (change === null || o.replication.mode !== 'sync') return { passed: false, detail: w.notSync(o) };
        const far = farthest(o);
        const latencies = writeLatencies(o.history, change.mono);
        if (latencies.length < 10) return { passed: false, detail: `sync; measuring ${w.writes} (${latencies.length}/10)` };
        const p50 = median(latencies)!;
        // A sync write cannot be acknowledged before the far copy's round trip: a physical lower bound, not a timing guess.
        const floor = far === null ? 0 : 2 * far.delayMs * 0.9;
        if (p50 < floor) return { passed: false, detail: `sync ${w.writes} take ${formatMs(p50)}, less than ${far!.id}'s round trip: is ${far!.id} ${w.stillMember}?` };
        return {
          passed: true,
          detail: `${w.syncWrites(o)} take ${formatMs(p50)} (median of ${latencies.length})${far === null ? '' : `: each waits for ${far.id}, ${far.delayMs} ms away each way`}`,
          facts: { syncP50Ms: p50, syncWrites: latencies.length },
        };
      },
      autopilot: async (context) => {
        const mono = performance.now();
        await context.cluster.setReplication({ mode: 'sync' });
        await context.waitFor('10 sync writes', (o) => writeLatencies(o.history, mono).length >= 10);
      },
    },
    {
      check: (o, before) => {
        const pause = actionsOf(actionsSince(o, before), 'pause').find((a) => a.error === null && a.node !== a.leader);
        if (pause === undefined) return { passed: false, detail: `no ${w.copy} has been paused yet` };
        if (node(o, pause.node)?.paused !== true) return { passed: false, detail: `${pause.node} is no longer paused` };
        if (o.replication.mode !== 'sync') return { passed: false, detail: w.notSync(o) };
        const started = writesInvoked(o.history, pause.mono);
        const acked = started.filter((x) => x.end?.type === 'ok').length;
        if (acked > 0) return { passed: false, detail: `${acked} writes were acknowledged after ${pause.node} paused: is it ${w.member}?` };
        if (started.length < 3) return { passed: false, detail: `${pause.node} is paused; watching writes (${started.length}/3 started)` };
        return {
          passed: true,
          detail: `${pause.node} is paused: 0 of ${started.length} writes started since have been acknowledged; ${w.waitsFor}`,
          facts: { pausedNode: pause.node, blockedWrites: started.length },
        };
      },
      autopilot: async (context) => {
        const o = context.observe();
        const far = farthest(o);
        const target = someFollower(o, far === null ? [] : [far.id]);
        const mono = performance.now();
        context.cluster.pause(target);
        await context.waitFor('blocked writes', (x) => writesInvoked(x.history, mono).length >= 3);
      },
    },
  ];
}
