// first-steps on PostgreSQL: one primary streams its WAL to two hot
// standbys. A standby refuses a write (read-only, naming no primary), serves a
// read as of what it has replayed, and a slowed replication link shows up in
// pg_stat_replication's lag columns and drains after the heal. Positions are
// LSNs (bytes of WAL), the term column is the timeline.
//
// Imports from first-steps.ts are types only: that file imports this one.
// The checks and autopilots shared with it are in first-steps.shared.ts.

import { actionsOf, actionsSince, earlierOn, formatMs, listing } from '../analysis.js';
import type { Baseline, CheckResult, LabVariant, Observation } from '../types.js';
import { leaderName, someFollower, upsert } from './common.js';
import type { FirstStepsFacts as Facts } from './first-steps.js';
import { type FirstStepsWords, lagAutopilot, lagCheck, lagDelayMs, readAutopilot, readCheck, writeAutopilot, writeCheck, writeToFollowerAutopilot } from './first-steps.shared.js';

/** The words PostgreSQL's check lines use. */
const words: FirstStepsWords = {
  follower: 'standby',
  wrote: (leader, index, term, latencyMs) => `${leader} committed it in ${formatMs(latencyMs)}; its WAL was then at position ${index} (bytes), timeline ${term}`,
  noRead: 'no read on a standby yet',
  readAt: (index) => `, replayed to WAL position ${index}`,
  noLeader: 'waiting for the primary',
  replayLag: 'replay_lag',
  lagged: (lagging, leader, delay) => ({
    passed: true,
    detail: `${lagging.id}'s replay_lag was ${formatMs(lagging.lag.replayLagMs)} when this check passed, ${lagging.lag.bytes} bytes of WAL behind ${leader}; it settles near ${formatMs(2 * delay)}, the WAL's ${delay} ms out plus the reply's ${delay} ms back`,
    facts: { laggingNode: lagging.id, lagDelayMs: delay, lagMs: lagging.lag.replayLagMs, lagBytes: lagging.lag.bytes },
  }),
};

/** The primary's WAL position (its lastIndex, an LSN) when the heal was done: the last sample of it at or before the heal, else at the step's start. */
export function primaryLsnAt(o: Pick<Observation, 'nodeSamples'>, before: Pick<Baseline, 'status'>, primary: string, mono: number): number {
  let lsn: number | null = null;
  for (const sample of o.nodeSamples) if (sample.node === primary && sample.mono <= mono && sample.up) lsn = sample.lastIndex;
  return lsn ?? before.status.find((n) => n.id === primary)?.lastIndex ?? 0;
}

/** Step 5: after the heal every running standby has replayed past the primary's WAL position at the heal. */
export function caughtUpCheck(o: Observation, before: Baseline): CheckResult<Facts> {
  const heal = actionsOf(actionsSince(o, before), 'heal')[0];
  if (heal === undefined) return { passed: false, detail: 'the links have not been healed yet (h)' };
  if (heal.leader === null) return { passed: false, detail: 'healed while no primary ran; waiting for one' };
  const target = primaryLsnAt(o, before, heal.leader, heal.mono);
  const standbys = o.status.filter((n) => n.up && n.id !== heal.leader);
  const behind = standbys.filter((n) => n.appliedIndex < target);
  if (behind.length > 0) return { passed: false, detail: `healed; ${listing(behind.map((n) => `${n.id} (replayed to ${n.appliedIndex}, ${target - n.appliedIndex} bytes short of ${target})`))} still catching up` };
  if (standbys.length === 0) return { passed: false, detail: 'healed; no standby is running' };
  const slowest = standbys.reduce((a, b) => (b.appliedIndex < a.appliedIndex ? b : a));
  return {
    passed: true,
    detail: `every standby has replayed past WAL position ${target}, where ${heal.leader}'s WAL stood when you healed (${slowest.id} is at ${slowest.appliedIndex})`,
    facts: { caughtUpNode: slowest.id, caughtUpIndex: slowest.appliedIndex },
  };
}

export const firstStepsOnPostgres: LabVariant<Facts> = {
  summary:
    'Three PostgreSQL servers: one primary takes every write and streams its WAL to two hot standbys. You write through the primary, watch a standby refuse a write (it is read-only and names no primary), read from a standby, and slow a replication link to see pg_stat_replication\'s lag appear and drain.',
  setup: {
    cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'manual', seed: 11 },
    workload: { rate: 10, concurrency: 4, readFraction: 0.5, keys: 20, readTarget: 'any', readConsistency: 'local', seed: 11 },
  },
  steps: [
    {
      title: 'Write through the primary',
      instruction: (o) =>
        `The node table shows one primary (${leaderName(o)}, the leader row) and two standbys streaming its WAL. Write a row through the primary: :sql ${upsert('greeting', 'hello')}`,
      hint: ': opens the command line. :sql sends the statement to the primary. The check line then shows where the commit left the primary\'s WAL (an LSN: a byte position in the write-ahead log; the table prints it as PostgreSQL does, 0/90CD78) and the timeline (the tli column). The header\'s quorum · ANY 1 (n2, n3)/flushed is synchronous_standby_names = \'ANY 1 (n2, n3)\' with synchronous_commit = on: the commit returned once the primary and one standby had flushed it.',
      check: writeCheck(words),
      autopilot: writeAutopilot,
    },
    {
      title: 'Write to a standby',
      instruction: (o) => `Send a write straight to a standby, as a client with an old address would: :write ${someFollower(o)} ${upsert('greeting', 'hi')}`,
      hint: 'Every connection to a hot standby is read-only: PostgreSQL answers "cannot execute INSERT in a read-only transaction" (SQLSTATE 25006) and does not say which server is the primary. A client finds the primary from its connection string: libpq\'s target_session_attrs=read-write tries the listed hosts until one takes writes. A Raft follower\'s refusal names the leader instead.',
      check: (o, before) => {
        const refused = actionsOf(actionsSince(o, before), 'execute').find((a) => a.node !== null && !a.outcome.ok && a.outcome.error.kind === 'not-leader');
        if (refused === undefined || refused.outcome.ok) return { passed: false, detail: 'no write has been refused by a standby yet' };
        // The standby's own words, after the engine's "<id> is a standby (read-only): " prefix.
        const text = refused.outcome.error.message.replace(/^.*?\(read-only\):\s*/, '');
        return { passed: true, detail: `${refused.node} refused the write: "${text}"`, facts: { refusedBy: refused.node!, refusalText: text } };
      },
      autopilot: writeToFollowerAutopilot,
    },
    {
      title: 'Read from a standby',
      instruction: (o) => `Read the row on a standby: :read ${someFollower(o)} SELECT k, v FROM kv WHERE k = 'greeting'`,
      hint: ':read runs the query on that server as it is. A hot standby answers from what it has replayed so far (pg_last_wal_replay_lsn()): any standby can serve reads, each as fresh as its replay.',
      check: readCheck(words),
      autopilot: readAutopilot,
    },
    {
      title: 'Slow a link and watch lag',
      instruction: (o) => `Put ${lagDelayMs} ms on the replication link between the primary and a standby: :delay ${leaderName(o)} ${someFollower(o)} ${lagDelayMs}. Watch that standby's lag columns grow.`,
      hint: "The delay is in the proxy the standby's WAL stream goes through. The table's write, flush and replay columns are pg_stat_replication's write_lag, flush_lag and replay_lag: the time between the primary flushing recent WAL and hearing that the standby has written, flushed, replayed it. The standby's reply crosses the slow link too, so they settle near twice the delay. How far behind it is in bytes is the primary's last lsn minus the standby's replay lsn, the table's two position columns. Commits do not slow down: with ANY 1 the other standby answers.",
      check: lagCheck(words),
      autopilot: lagAutopilot(words),
    },
    {
      title: 'Heal and catch up',
      instruction: 'Press h to heal every link, and watch the standby catch up.',
      hint: 'Nothing was lost while it lagged: the primary still had the WAL the standby was missing and streams it as soon as the link is fast again. That holds for seconds of lag; a standby that falls far enough behind can find that WAL already recycled, unless a replication slot or wal_keep_size keeps it. The check compares each standby\'s replay position with the primary\'s WAL position when you healed.',
      check: caughtUpCheck,
      autopilot: async (context) => {
        context.cluster.heal();
        const o = context.observe();
        const target = o.status.find((n) => n.role === 'leader')?.lastIndex ?? 0;
        await context.waitFor('every standby to catch up', (x) => x.status.every((n) => !n.up || n.role === 'leader' || n.appliedIndex >= target));
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    const raft = earlierOn<Facts>(run, 'replica-lab');
    if (f.writeLeader !== undefined) lines.push(`Your write went to ${f.writeLeader}, the primary, and was committed in ${formatMs(f.writeLatencyMs)}: once its commit record was flushed on the primary and on one standby (ANY 1). After it the primary's WAL stood at byte ${f.writeIndex} on timeline ${f.writeTerm}: PostgreSQL counts WAL in bytes and numbers timelines, where Raft numbers log entries and terms.`);
    if (raft !== null && raft.facts.writeLatencyMs !== undefined && f.writeLatencyMs !== undefined) {
      lines.push(`On replica-lab (your run of ${raft.at.slice(0, 10)}) the same write took ${formatMs(raft.facts.writeLatencyMs)}${raft.facts.writeIndex !== undefined ? ` and became log entry ${raft.facts.writeIndex} in term ${raft.facts.writeTerm}` : ''}; here ${formatMs(f.writeLatencyMs)}. Both wait for 2 of 3 copies on disk.`);
    }
    if (f.refusedBy !== undefined) lines.push(`${f.refusedBy} refused a write${f.refusalText !== undefined ? ` ("${f.refusalText}")` : ''}: only the primary writes, so there is one history. Unlike a Raft follower it did not name the primary; clients list every host and ask for a read-write session (target_session_attrs=read-write).`);
    if (f.readNode !== undefined) lines.push(`${f.readNode} served a read from its own copy, replayed to WAL position ${f.readIndex} (${f.readRow}): reads scale out across standbys, each as fresh as its replay.`);
    if (f.laggingNode !== undefined) lines.push(`With ${f.lagDelayMs} ms on its link each way, ${f.laggingNode}'s replay_lag was ${formatMs(f.lagMs)} (${f.lagBytes ?? 0} bytes of WAL behind) when the check passed. It settles near ${formatMs(2 * (f.lagDelayMs ?? 0))}, because the primary hears of the standby's progress over the same slow link. A read there shows data about that much older.`);
    if (raft !== null && raft.facts.lagMs !== undefined && f.lagMs !== undefined && raft.facts.lagDelayMs === f.lagDelayMs) {
      lines.push(`On replica-lab, with the same ${f.lagDelayMs} ms, the follower's replay lag was ${formatMs(raft.facts.lagMs)} when its check passed (each check passes once the lag reaches the one-way delay, on the way up). Both are timed on the leader's or primary's side, from its flush to hearing the other side has replayed it (replica-lab: the age of the oldest entry not yet heard replayed; PostgreSQL: at each standby reply, for the WAL that reply covers), so both settle near ${formatMs(2 * (f.lagDelayMs ?? 0))}.`);
    }
    if (f.caughtUpIndex !== undefined) lines.push(`After the heal every standby caught up (the slowest, ${f.caughtUpNode}, replayed to ${f.caughtUpIndex}): lag costs freshness, not data, as long as the primary survives.`);
    lines.push(`Over the lab the workload had ${run.writesAcknowledged} writes acknowledged and ${run.lostWrites} lost.`);
    return lines;
  },
};
