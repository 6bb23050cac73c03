// quorum-commit's checks and autopilots, written once for both engines
// (quorum-commit.ts and quorum-commit.postgres.ts): they differ only in the
// words each engine's texts use. Its own module because quorum-commit.ts
// imports its PostgreSQL variant.

import { actionsOf, actionsSince, listing, plural, writesInvoked } from '../analysis.js';
import type { Action, AutopilotContext, Baseline, CheckResult, Observation } from '../types.js';
import { leaderAndFollowers } from './common.js';
import type { QuorumCommitFacts as Facts } from './quorum-commit.js';

/** The words one engine's check lines use. */
export interface QuorumWords {
  /** What a cluster member is called: node, server. */
  readonly node: string;
  /** What a member that is not the leader is called: follower, standby. */
  readonly follower: string;
  /** What the cluster acknowledges: writes, commits. */
  readonly writes: string;
  /** Step 1: what follows "acknowledged (by <leader>" with one member down. */
  readonly alsoFlushedOn: string;
  /** Step 1's autopilot: "5 writes acknowledged with <oneDown> down". */
  readonly oneDown: string;
  /** Step 2: the question when a write was acknowledged with two down. */
  readonly stillAcking: string;
  /** Step 2: what the writes that ended with info did. */
  readonly inDoubt: string;
  /** Step 2: what the writes with no answer yet are doing. */
  readonly stillWaiting: string;
  /** Step 3: "<leader> leads" or "<leader> is the primary". */
  readonly leads: (leader: string) => string;
}

/** Kills since the step began that left a node down, oldest first. */
export function kills(o: Observation, after: number): (Action & { kind: 'kill' })[] {
  return actionsOf(actionsSince(o, { actionCount: after }), 'kill').filter((a) => a.error === null && o.status.find((n) => n.id === a.node)?.up === false);
}

/** Writes started after `mono`: how many were acknowledged, refused (fail), left in doubt (info) or are still waiting for an answer; the four add up to `started`. */
export function outcomes(o: Observation, mono: number): { started: number; ok: number; fail: number; info: number; pending: number; nodes: Set<string> } {
  const writes = writesInvoked(o.history, mono);
  const nodes = new Set<string>();
  let ok = 0;
  let fail = 0;
  let info = 0;
  for (const w of writes) {
    if (w.end?.type === 'ok') {
      ok++;
      nodes.add(w.end.node ?? '?');
    } else if (w.end?.type === 'fail') fail++;
    else if (w.end?.type === 'info') info++;
  }
  return { started: writes.length, ok, fail, info, pending: writes.length - ok - fail - info, nodes };
}

/** Step 1: one follower killed, and at least five writes acknowledged since. */
export function oneDownCheck(w: QuorumWords): (o: Observation, before: Baseline) => CheckResult<Facts> {
  return (o, before) => {
    const killed = kills(o, before.actionCount).filter((a) => a.node !== a.leader);
    const down = o.status.filter((n) => !n.up);
    if (killed.length === 0 || down.length === 0) return { passed: false, detail: `no ${w.follower} has been killed yet` };
    if (down.length > 1) return { passed: false, detail: `${listing(down.map((n) => n.id))} are down: only one for this step` };
    const result = outcomes(o, killed[0]!.mono);
    if (result.ok < 5) return { passed: false, detail: `${killed[0]!.node} is down; counting acknowledged writes (${result.ok}/5)` };
    return {
      passed: true,
      detail: `${killed[0]!.node} is down and ${w.writes} go on: ${result.ok} of ${result.started} started since were acknowledged (by ${listing([...result.nodes])}${w.alsoFlushedOn}: 2 of 3)`,
      facts: { firstDown: killed[0]!.node, acksWithOneDown: result.ok, ackersWithOneDown: listing([...result.nodes]) },
    };
  };
}

export function oneDownAutopilot(w: QuorumWords): (context: AutopilotContext) => Promise<void> {
  return async (context) => {
    const { followers } = await leaderAndFollowers(context);
    const mono = performance.now();
    await context.cluster.kill(followers[0]!);
    await context.waitFor(`5 writes acknowledged with ${w.oneDown} down`, (o) => outcomes(o, mono).ok >= 5);
  };
}

/** Step 2: with two of three down, none of the writes started since the second kill was acknowledged, and at least three ended. */
export function twoDownCheck(w: QuorumWords): (o: Observation, before: Baseline) => CheckResult<Facts> {
  return (o, before) => {
    const killed = kills(o, before.actionCount);
    const down = o.status.filter((n) => !n.up);
    if (killed.length === 0 || down.length < 2) return { passed: false, detail: `${plural(down.length, `${w.node} is`, `${w.node}s are`)} down; kill a second one` };
    const second = killed[killed.length - 1]!;
    const result = outcomes(o, second.mono);
    if (result.ok > 0) return { passed: false, detail: `${result.ok} writes started after ${second.node} died were acknowledged: ${w.stillAcking}` };
    const ended = result.fail + result.info;
    if (ended < 3) return { passed: false, detail: `${listing(down.map((n) => n.id))} are down; watching writes (${ended}/3 refused or timed out)` };
    return {
      passed: true,
      detail: `0 of ${result.started} writes started since ${second.node} died were acknowledged: ${result.fail} refused, ${result.info} ${w.inDoubt}, ${result.pending} ${w.stillWaiting}`,
      facts: { secondDown: second.node, startedWithTwoDown: result.started, refusedWithTwoDown: result.fail, timedOutWithTwoDown: result.info, pendingWithTwoDown: result.pending },
    };
  };
}

export function twoDownAutopilot(w: QuorumWords): (context: AutopilotContext) => Promise<void> {
  return async (context) => {
    const o = context.observe();
    const target = o.status.find((n) => n.up && n.id !== o.leader)?.id ?? o.status.find((n) => n.up)?.id;
    if (target === undefined) throw new Error(`no running ${w.node} to kill`);
    const mono = performance.now();
    await context.cluster.kill(target);
    await context.waitFor('3 writes refused or timed out', (x) => {
      const result = outcomes(x, mono);
      return result.fail + result.info >= 3;
    });
  };
}

/** Step 3: every node restarted, a leader, and writes acknowledged again. */
export function restartedCheck(w: QuorumWords): (o: Observation, before: Baseline) => CheckResult<Facts> {
  return (o, before) => {
    const restarts = actionsOf(actionsSince(o, before), 'restart').filter((a) => a.error === null);
    const down = o.status.filter((n) => !n.up);
    if (restarts.length === 0 || down.length > 0) return { passed: false, detail: down.length > 0 ? `${listing(down.map((n) => n.id))} still down` : `restart the dead ${w.node}s (r)` };
    const last = restarts[restarts.length - 1]!;
    const result = outcomes(o, last.mono);
    if (o.leader === null || result.ok < 3) return { passed: false, detail: `every ${w.node} is up; waiting for writes to be acknowledged again (${result.ok}/3)` };
    return {
      passed: true,
      detail: `all three are up, ${w.leads(o.leader)}, ${w.writes} are acknowledged again; ${plural(o.lostWrites.length, 'acknowledged write was', 'acknowledged writes were')} lost in the whole lab`,
      facts: { acksAfterRestart: result.ok, lostWrites: o.lostWrites.length, leaderAfter: o.leader },
    };
  };
}

export async function restartedAutopilot(context: AutopilotContext): Promise<void> {
  for (const n of context.observe().status) if (!n.up) await context.cluster.restart(n.id);
  const mono = performance.now();
  await context.waitFor('writes acknowledged again', (o) => o.leader !== null && outcomes(o, mono).ok >= 3);
}
