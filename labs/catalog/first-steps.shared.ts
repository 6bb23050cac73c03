// first-steps' checks and autopilots that both engines share (first-steps.ts
// and first-steps.postgres.ts), written once and given each engine's words.
// The refusal and catch-up checks differ in logic and stay in each file.
// Its own module because first-steps.ts imports its PostgreSQL variant.

import type { NodeStatus } from '../../cluster/index.js';
import { actionsOf, actionsSince, delayBetween, linkDelays, listing, node } from '../analysis.js';
import type { AutopilotContext, Baseline, CheckResult, Observation } from '../types.js';
import { leaderAndFollowers, okExecutes, okQueries, slowLink, upsert } from './common.js';
import type { FirstStepsFacts as Facts } from './first-steps.js';

export const lagDelayMs = 300;
export const lagDelayMsMin = 100;

/** The words one engine's check lines use. */
export interface FirstStepsWords {
  /** What a member that is not the leader is called: follower, standby. */
  readonly follower: string;
  /** Step 1: what the write's outcome was. */
  readonly wrote: (leader: string, index: number, term: number, latencyMs: number) => string;
  /** Step 3: the line while no read on a follower has been seen. */
  readonly noRead: string;
  /** Step 3: where the reading node's copy stood. */
  readonly readAt: (index: number) => string;
  /** Step 4: the line while there is no leader. */
  readonly noLeader: string;
  /** Step 4: the name of the replay lag column. */
  readonly replayLag: string;
  /** Step 4: the passed line and facts, for a node whose replay lag reached the link's delay. */
  readonly lagged: (lagging: NodeStatus & { lag: NonNullable<NodeStatus['lag']> }, leader: string, delay: number) => CheckResult<Facts>;
}

/** Step 1: a write acknowledged through the leader. */
export function writeCheck(w: FirstStepsWords): (o: Observation, before: Baseline) => CheckResult<Facts> {
  return (o, before) => {
    const write = okExecutes(o, before)[0];
    if (write === undefined) return { passed: false, detail: 'no write acknowledged yet' };
    const { leader, index, term, latencyMs } = write.outcome;
    return {
      passed: true,
      detail: w.wrote(leader, index, term, latencyMs),
      facts: { writeLeader: leader, writeIndex: index, writeTerm: term, writeLatencyMs: latencyMs },
    };
  };
}

export async function writeAutopilot(context: AutopilotContext): Promise<void> {
  await leaderAndFollowers(context);
  await context.cluster.execute(upsert('greeting', 'hello'));
}

export async function writeToFollowerAutopilot(context: AutopilotContext): Promise<void> {
  const { followers } = await leaderAndFollowers(context);
  await context.cluster.execute(upsert('greeting', 'hi'), [], { node: followers[0]! }).catch(() => {});
}

/** Step 3: a local read answered by a follower. */
export function readCheck(w: FirstStepsWords): (o: Observation, before: Baseline) => CheckResult<Facts> {
  return (o, before) => {
    const read = okQueries(o, before).find((a) => a.consistency === 'local' && a.node !== null && a.node !== a.leader);
    if (read === undefined) return { passed: false, detail: w.noRead };
    const first = read.outcome.rows[0];
    const row = first === undefined ? 'no rows' : Object.entries(first).map(([k, v]) => `${k}=${String(v)}`).join(' ');
    return {
      passed: true,
      detail: `${read.outcome.node} answered from its own copy${w.readAt(read.outcome.index)}: ${row}`,
      facts: { readNode: read.outcome.node, readIndex: read.outcome.index, readRow: row },
    };
  };
}

export async function readAutopilot(context: AutopilotContext): Promise<void> {
  const { followers } = await leaderAndFollowers(context);
  await context.cluster.query("SELECT k, v FROM kv WHERE k = 'greeting'", [], { node: followers[0]!, consistency: 'local' });
}

/** Step 4: a link slowed, and a follower on it whose replay lag reached the link's delay. */
export function lagCheck(w: FirstStepsWords): (o: Observation, before: Baseline) => CheckResult<Facts> {
  return (o, before) => {
    if (actionsOf(actionsSince(o, before), 'link').length === 0) return { passed: false, detail: 'no link has been slowed yet' };
    const delays = linkDelays(o.actions);
    const leader = o.leader;
    if (leader === null) return { passed: false, detail: w.noLeader };
    const slowed = o.status.filter((n) => n.id !== leader && delayBetween(delays, leader, n.id) >= lagDelayMsMin);
    if (slowed.length === 0) return { passed: false, detail: `no ${w.follower} is ${lagDelayMsMin} ms or more from ${leader} both ways yet` };
    // At least the one-way delay: nothing can be applied (replayed) sooner than it arrives.
    const lagging = slowed.find((n) => n.lag !== null && n.lag.replayLagMs >= delayBetween(delays, leader, n.id));
    if (lagging === undefined || lagging.lag === null) return { passed: false, detail: `${listing(slowed.map((n) => n.id))} slowed; waiting for its ${w.replayLag} to reach the link's delay` };
    return w.lagged({ ...lagging, lag: lagging.lag }, leader, delayBetween(delays, leader, lagging.id));
  };
}

export function lagAutopilot(w: FirstStepsWords): (context: AutopilotContext) => Promise<void> {
  return async (context) => {
    const { leader, followers } = await leaderAndFollowers(context);
    slowLink(context, leader, followers[0]!, lagDelayMs);
    await context.waitFor(`the ${w.follower} to lag`, (o) => {
      const n = node(o, followers[0]!);
      return n?.lag != null && n.lag.replayLagMs >= lagDelayMs;
    });
  };
}
