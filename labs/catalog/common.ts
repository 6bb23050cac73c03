// Small pieces the lab definitions share: picking nodes from an observation,
// the actions that succeeded, and autopilot moves that several labs make.

import type { NodeId } from '../../cluster/index.js';
import { actionsOf, actionsSince, liveFollowers, type ActionOf } from '../analysis.js';
import type { AutopilotContext, Baseline, ExecuteOutcome, Observation, QueryOutcome } from '../types.js';

export type OkExecute = ActionOf<'execute'> & { readonly outcome: Extract<ExecuteOutcome, { ok: true }> };
export type OkQuery = ActionOf<'query'> & { readonly outcome: Extract<QueryOutcome, { ok: true }> };

export function okExecutes(o: Pick<Observation, 'actions'>, before: Pick<Baseline, 'actionCount'>): OkExecute[] {
  return actionsOf(actionsSince(o, before), 'execute').filter((a): a is OkExecute => a.outcome.ok);
}

export function okQueries(o: Pick<Observation, 'actions'>, before: Pick<Baseline, 'actionCount'>): OkQuery[] {
  return actionsOf(actionsSince(o, before), 'query').filter((a): a is OkQuery => a.outcome.ok);
}

/** The first running follower by id, or a placeholder a person can read. */
export function someFollower(o: Observation, not: readonly NodeId[] = []): NodeId {
  return liveFollowers(o).find((n) => !not.includes(n.id))?.id ?? '<follower>';
}

export function leaderName(o: Pick<Observation, 'leader'>): string {
  return o.leader ?? '<leader>';
}

/** The ids other than `id`. */
export function others(ids: readonly NodeId[], id: NodeId): NodeId[] {
  return ids.filter((other) => other !== id);
}

/** Slows the link between a and b both ways, as the dashboard's `:delay a b ms` does. */
export function slowLink(context: AutopilotContext, a: NodeId, b: NodeId, delayMs: number): void {
  context.cluster.setLink(a, b, { delayMs });
  context.cluster.setLink(b, a, { delayMs });
}

/** Waits for a leader and returns it with its followers. */
export async function leaderAndFollowers(context: AutopilotContext): Promise<{ leader: NodeId; followers: NodeId[] }> {
  const o = await context.waitFor('a leader', (x) => x.leader !== null);
  const leader = o.leader!;
  return { leader, followers: o.status.filter((n) => n.id !== leader && n.up).map((n) => n.id) };
}

/**
 * A statement that always succeeds on kv (a second run updates the row instead
 * of hitting the primary key), in SQL both engines take: SQLite (3.24 and
 * later) and PostgreSQL both have ON CONFLICT … DO UPDATE; INSERT OR REPLACE
 * is SQLite's alone.
 */
export function upsert(key: string, value: string): string {
  return `INSERT INTO kv(k, v) VALUES ('${key}', '${value}') ON CONFLICT(k) DO UPDATE SET v = excluded.v`;
}
