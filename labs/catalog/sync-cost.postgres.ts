// sync-cost on PostgreSQL: synchronous_standby_names = 'FIRST 2 (…)' makes
// every commit wait for the far standby's round trip; a paused standby blocks
// every commit; PostgreSQL has no timeout or fallback for that wait, so the
// operator lowers synchronous_standby_names by hand (ALTER SYSTEM and a
// reload), which releases the waiting commits; then sync is put back.
//
// From sync-cost.ts only types are imported (that file imports this one);
// steps 1 to 3 come from sync-cost.measure.ts, as the lab's do.

import { actionsOf, actionsSince, earlierOn, formatMs, listing, median, plural, writeLatencies, writesInvoked } from '../analysis.js';
import type { Action, Baseline, CheckResult, LabVariant, Observation } from '../types.js';
import { leaderName, someFollower } from './common.js';
import { standbyNames } from './pg-common.js';
import { farDelayMs, farthest, measuringSteps, syncSince } from './sync-cost.measure.js';
import type { SyncCostFacts as Facts } from './sync-cost.js';

/** The last successful replication change in `actions` that left sync mode (a lowering), or null. */
function lowering(actions: readonly Action[]): (Action & { kind: 'replication' }) | null {
  const changes = actionsOf(actions, 'replication').filter((a) => a.error === null && a.change.mode !== undefined);
  const last = changes[changes.length - 1];
  return last !== undefined && last.change.mode !== 'sync' ? last : null;
}

/** Step 4: with a standby still paused, synchronous_standby_names was lowered and writes are acknowledged again. */
export function loweredCheck(o: Observation, before: Baseline): CheckResult<Facts> {
  const change = lowering(actionsSince(o, before));
  if (change === null || o.replication.mode === 'sync') return { passed: false, detail: `${standbyNames(o)}: commits still wait for every listed standby; lower it with :mode quorum or :mode async` };
  const paused = o.status.filter((n) => n.paused).map((n) => n.id);
  if (paused.length === 0) return { passed: false, detail: 'no standby is paused: pause it again (p) to see writes flow without it' };
  const latencies = writeLatencies(o.history, change.mono);
  if (latencies.length < 3) return { passed: false, detail: `${standbyNames(o)}; waiting for writes to be acknowledged (${latencies.length}/3)` };
  const released = writesInvoked(o.history, -Infinity).filter((w) => w.mono < change.mono && w.end?.type === 'ok' && w.end.mono >= change.mono).length;
  const p50 = median(latencies)!;
  return {
    passed: true,
    detail: `${standbyNames(o)}: ${plural(latencies.length, 'write')} acknowledged without ${listing(paused)} (median ${formatMs(p50)})${released > 0 ? `; ${plural(released, 'commit')} that had been waiting returned at the change` : ''}`,
    facts: { loweredTo: o.replication.mode, loweredSetting: standbyNames(o), ackedWhileLowered: latencies.length, loweredP50Ms: p50, releasedByChange: released },
  };
}

/** Step 5: nothing paused, sync again, and writes acknowledged since (each by both standbys: FIRST 2). */
export function restoredCheck(o: Observation, before: Baseline): CheckResult<Facts> {
  const paused = o.status.filter((n) => n.paused);
  if (paused.length > 0) return { passed: false, detail: `${listing(paused.map((n) => n.id))} still paused` };
  const change = syncSince(actionsSince(o, before));
  if (change === null || o.replication.mode !== 'sync') return { passed: false, detail: `resumed; ${standbyNames(o)}: put sync back with :mode sync` };
  const acked = writesInvoked(o.history, change.mono).filter((w) => w.end?.type === 'ok').length;
  if (acked < 3) return { passed: false, detail: `${standbyNames(o)}; waiting for writes to be acknowledged (${acked}/3)` };
  return { passed: true, detail: `${standbyNames(o)} again: ${plural(acked, 'write')} acknowledged since, each flushed on every listed standby`, facts: { ackedAfterRestore: acked } };
}

/** Steps 1 to 3 measure as the lab's do (sync-cost.measure.ts), in PostgreSQL's words. */
const [farStep, syncStep, pauseStep] = measuringSteps({
  copy: 'standby',
  leader: 'primary',
  writes: 'commits',
  notSync: (o) => `${standbyNames(o)}, not sync`,
  syncWrites: (o) => `${standbyNames(o)}: commits`,
  stillMember: 'in synchronous_standby_names',
  member: 'in synchronous_standby_names',
  waitsFor: 'every commit waits for both standbys',
});

export const syncCostOnPostgres: LabVariant<Facts> = {
  summary:
    'Synchronous replication in PostgreSQL (synchronous_standby_names) promises that a commit returns only once the listed standbys have it. You pay for it on every commit: put one standby 50 ms away and each commit waits for its round trip; pause a standby and every commit waits, with no timeout; PostgreSQL never gives up by itself, so you lower synchronous_standby_names by hand to let writes through, and put it back.',
  setup: {
    cluster: { nodes: 3, replication: { mode: 'async', ackLevel: 'flushed' }, failover: 'manual', seed: 31 },
    workload: { rate: 40, concurrency: 16, readFraction: 0, keys: 20, timeoutMs: 2_000, seed: 31 },
  },
  steps: [
    {
      title: 'Put a standby far away',
      instruction: (o) => `The primary ${leaderName(o)} replicates async: ${standbyNames(o)} (the header: async · no sync standby). Put one standby in another region, ${farDelayMs} ms away each way: :delay ${leaderName(o)} ${someFollower(o)} ${farDelayMs}`,
      hint: 'The delay is on the replication connection (the proxy between the standby\'s walreceiver and the primary\'s walsender). Async, a commit returns once the primary has flushed its own WAL: it waits for no standby, so commit latency hardly moves.',
      ...farStep,
    },
    {
      title: 'Switch to sync',
      instruction: 'Make replication synchronous: :mode sync (or press m until the header says sync). The header then shows sync · FIRST 2 (n2, n3): the primary\'s synchronous_standby_names, both standbys synchronous.',
      hint: 'The change is ALTER SYSTEM SET synchronous_standby_names and pg_reload_conf() on the primary, no restart. With FIRST 2 and synchronous_commit = on a commit returns once both standbys have flushed its WAL, so each waits for the far one\'s round trip.',
      ...syncStep,
    },
    {
      title: 'Pause a standby',
      instruction: (o) => `Select the other standby (${o.status.find((n) => n.paused)?.id ?? someFollower(o, farthest(o) === null ? [] : [farthest(o)!.id])}) and press p to pause it. Watch the write rate.`,
      hint: 'p stops every process of that server (SIGSTOP): its walreceiver no longer answers. With FIRST 2 each commit needs both standbys, and PostgreSQL has no timeout for that wait. The workload\'s clients give up after 2 s and cancel their statement; a commit whose wait is cancelled stays committed on the primary (PostgreSQL warns: "The transaction has already committed locally, but might not have been replicated to the standby"), so each timeout is in doubt, not a failure.',
      ...pauseStep,
    },
    {
      title: 'Stop waiting, by hand',
      instruction: 'PostgreSQL never stops waiting by itself: it has no sync timeout and no async fallback (:sync-timeout is refused here). Lower the promise while the standby stays paused: :mode quorum (ANY 1: the far standby alone may answer) or :mode async.',
      hint: 'The PostgreSQL manual\'s advice when you cannot keep as many synchronous standbys as requested: lower the number in synchronous_standby_names (or clear it) and reload the primary\'s configuration. The commits that were waiting return as soon as the new setting is met. MySQL semi-sync does this by itself when rpl_semi_sync_master_timeout expires; PostgreSQL leaves it to the operator or the HA tool (Patroni does it when synchronous_mode_strict is off).',
      check: loweredCheck,
      autopilot: async (context) => {
        const mono = performance.now();
        await context.cluster.setReplication({ mode: 'quorum' });
        await context.waitFor('writes acknowledged after the change', (o) => writeLatencies(o.history, mono).length >= 5);
      },
    },
    {
      title: 'Resume and put sync back',
      instruction: (o) => `Select ${o.status.find((n) => n.paused)?.id ?? 'the paused standby'} and press p to resume it, press h to bring the far standby close again, then :mode sync. Commits flow again, each on both standbys.`,
      hint: 'The resumed standby streams what it missed from the primary. Nothing puts sync back by itself: as with the lowering, it is a change of synchronous_standby_names. Until then the promise is weaker than the one you configured; monitor it (pg_stat_replication\'s sync_state shows async, potential, sync or quorum per standby).',
      check: restoredCheck,
      autopilot: async (context) => {
        for (const n of context.observe().status) if (n.paused) context.cluster.resume(n.id);
        context.cluster.heal();
        const mono = performance.now();
        await context.cluster.setReplication({ mode: 'sync' });
        await context.waitFor('sync writes acknowledged', (o) => writesInvoked(o.history, mono).filter((w) => w.end?.type === 'ok').length >= 3);
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    const raft = earlierOn<Facts>(run, 'replica-lab');
    if (f.asyncP50Ms !== undefined) lines.push(`Async (synchronous_standby_names = ''), with ${f.farFollower} ${f.delayMs} ms away: commits took ${formatMs(f.asyncP50Ms)} (median of ${f.asyncWrites}). The primary answered at its own WAL flush.`);
    if (f.syncP50Ms !== undefined) lines.push(`Sync (FIRST 2): ${formatMs(f.syncP50Ms)} (median of ${f.syncWrites}). Every commit waited for the slower standby's round trip (at least 2 × ${f.delayMs ?? '?'} ms): the price of "a returned commit is flushed on every listed standby".`);
    if (raft !== null && raft.facts.syncP50Ms !== undefined && raft.facts.asyncP50Ms !== undefined && f.syncP50Ms !== undefined) {
      lines.push(`On replica-lab (your run of ${raft.at.slice(0, 10)}), with its far follower ${raft.facts.delayMs ?? '?'} ms away, async writes took ${formatMs(raft.facts.asyncP50Ms)} and sync ${formatMs(raft.facts.syncP50Ms)}. Both engines sit on the same floor, the round trip; what is left above it is each system's own work per write.`);
    }
    if (f.pausedNode !== undefined) lines.push(`With ${f.pausedNode} paused, 0 of ${f.blockedWrites} commits were acknowledged: synchronous replication trades availability for durability, and PostgreSQL waits with no timeout.`);
    if (f.pausedNode !== undefined) lines.push('The clients that gave up after 2 s cancelled their statements. A commit cancelled while it waited for the standbys stays committed on the primary (PostgreSQL warns "The transaction has already committed locally, but might not have been replicated to the standby"): a timeout there is "in doubt", not "failed".');
    if (f.loweredTo !== undefined) {
      lines.push(`Writes flowed again only when you lowered the promise (${f.loweredSetting}): ${plural(f.ackedWhileLowered ?? 0, 'write')} acknowledged without ${f.pausedNode ?? 'the paused standby'}, median ${formatMs(f.loweredP50Ms)}${f.releasedByChange ? `, and ${plural(f.releasedByChange, 'commit')} that had been waiting returned at the change` : ''}. ${f.loweredTo === 'async' ? 'Async, those writes were on the primary alone: had it died then, they could have been lost.' : 'With ANY 1 each was still flushed on one standby, the far one, and paid its round trip.'}`);
      if (raft !== null && raft.facts.degradedAfterMs !== undefined) lines.push(`On replica-lab you gave the leader a ${formatMs(raft.facts.degradedAfterMs)} sync timeout with an async fallback, and it degraded by itself, telling no client (MySQL semi-sync's behaviour). PostgreSQL never does: weakening the promise is always someone's explicit change.`);
    }
    if (f.ackedAfterRestore !== undefined) lines.push(`After :mode sync, ${plural(f.ackedAfterRestore, 'write')} were acknowledged with both standbys answering again.`);
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${run.lostWrites} lost.`);
    return lines;
  },
};
