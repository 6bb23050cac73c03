// first-steps: one leader, followers; writes only through the leader (a
// follower refuses and names it), reads from any node, and replication lag.

import { actionsOf, actionsSince, earlierOn, formatMs, listing, plural } from '../analysis.js';
import { defineLab } from '../types.js';
import { leaderName, someFollower, upsert } from './common.js';
import { firstStepsOnPostgres } from './first-steps.postgres.js';
import { type FirstStepsWords, lagAutopilot, lagCheck, lagDelayMs, readAutopilot, readCheck, writeAutopilot, writeCheck, writeToFollowerAutopilot } from './first-steps.shared.js';

/** What the checks measure; the PostgreSQL variant (first-steps.postgres.ts) fills the same fields, and a few of its own. */
export interface FirstStepsFacts {
  writeLeader: string;
  writeIndex: number;
  writeTerm: number;
  writeLatencyMs: number;
  refusedBy: string;
  namedLeader: string;
  readNode: string;
  readIndex: number;
  readRow: string;
  laggingNode: string;
  lagDelayMs: number;
  lagEntries: number;
  lagMs: number;
  caughtUpNode: string;
  caughtUpIndex: number;
  /** PostgreSQL: the standby's own words when it refused the write. */
  refusalText: string;
  /** PostgreSQL: how many bytes of WAL the slowed standby had not replayed when the lag check passed. */
  lagBytes: number;
}

type Facts = FirstStepsFacts;

/** The words replica-lab's check lines use. */
const words: FirstStepsWords = {
  follower: 'follower',
  wrote: (leader, index, term, latencyMs) => `${leader} acknowledged it at log index ${index}, term ${term}, in ${formatMs(latencyMs)}`,
  noRead: 'no local read on a follower yet',
  readAt: (index) => ` at applied index ${index}`,
  noLeader: 'waiting for a leader',
  replayLag: 'replay lag',
  lagged: (lagging, leader, delay) => ({
    passed: true,
    detail: `${lagging.id}'s replay lag (the table's replay column) was ${formatMs(lagging.lag.replayLagMs)} when this check passed, ${plural(lagging.lag.entries, 'entry', 'entries')} behind ${leader}; the live column keeps moving and settles near ${formatMs(2 * delay)}, the entry's ${delay} ms out plus the report's ${delay} ms back`,
    facts: { laggingNode: lagging.id, lagDelayMs: delay, lagEntries: lagging.lag.entries, lagMs: lagging.lag.replayLagMs },
  }),
};

export const firstSteps = defineLab<Facts>({
  id: 'first-steps',
  title: 'First steps: a leader, followers and lag',
  engines: ['replica-lab', 'postgres'],
  variants: { postgres: firstStepsOnPostgres },
  level: 'beginner',
  minutes: 6,
  concepts: ['leader', 'followers', 'write path', 'follower reads', 'replication lag'],
  summary:
    'Three nodes: one leader takes every write, appends it to its log and ships the log to two followers. You write through the leader, watch a follower refuse a write and name the leader, read from a follower, and slow a link to see replication lag appear and drain.',
  setup: {
    cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'raft', seed: 11 },
    workload: { rate: 10, concurrency: 4, readFraction: 0.5, keys: 20, readTarget: 'any', readConsistency: 'local', seed: 11 },
  },
  steps: [
    {
      title: 'Write through the leader',
      instruction: (o) =>
        `The node table shows one leader (${leaderName(o)}) and two followers. Write a row through the leader: :sql ${upsert('greeting', 'hello')}`,
      hint: ': opens the command line. :sql sends the statement to whichever node leads; the result shows the log index and term the write got.',
      check: writeCheck(words),
      autopilot: writeAutopilot,
    },
    {
      title: 'Write to a follower',
      instruction: (o) => `Send a write straight to a follower, as a client with an old address would: :write ${someFollower(o)} ${upsert('greeting', 'hi')}`,
      hint: 'Followers never take writes: a MongoDB secondary answers NotWritablePrimary, a PostgreSQL standby "cannot execute INSERT in a read-only transaction". Here the refusal also names the leader, so a client can retry there at once (Raft\'s leader hint). Those two do not name the primary: a MongoDB driver finds it from the replica set\'s topology (the hello command), and a PostgreSQL client from its connection string (target_session_attrs=read-write).',
      check: (o, before) => {
        const refused = actionsOf(actionsSince(o, before), 'execute').find((a) => a.node !== null && !a.outcome.ok && a.outcome.error.kind === 'not-leader');
        if (refused === undefined || refused.outcome.ok) return { passed: false, detail: 'no write has been sent to a follower yet' };
        const named = refused.outcome.error.leader;
        if (named === null) return { passed: false, detail: `${refused.node} refused, but knew no leader to name yet; try again` };
        return { passed: true, detail: `${refused.node} refused the write and named ${named} as the leader`, facts: { refusedBy: refused.node!, namedLeader: named } };
      },
      autopilot: writeToFollowerAutopilot,
    },
    {
      title: 'Read from a follower',
      instruction: (o) => `Read the row on a follower, from its own SQLite: :read ${someFollower(o)} SELECT k, v FROM kv WHERE k = 'greeting'`,
      hint: ':read runs the query on that node as it is, without asking the leader. Any node can serve such a read; its answer is as fresh as that node.',
      check: readCheck(words),
      autopilot: readAutopilot,
    },
    {
      title: 'Slow a link and watch lag',
      instruction: (o) => `Put ${lagDelayMs} ms on the link between the leader and a follower: :delay ${leaderName(o)} ${someFollower(o)} ${lagDelayMs}. Watch that follower's lag column grow.`,
      hint: "The leader keeps writing; the slowed follower receives each entry later. The table's write, flush and replay columns are times, like pg_stat_replication's write_lag, flush_lag and replay_lag: how long ago the leader flushed the oldest entry the follower has not yet written, flushed or applied, as far as the leader has heard (the follower's report crosses the slow link too, so it settles near twice the delay). PostgreSQL gives positions as LSNs, byte positions in the WAL (sent_lsn … replay_lsn), not as a count of entries; the wide table's behind column counts entries, bytes the byte difference.",
      check: lagCheck(words),
      autopilot: lagAutopilot(words),
    },
    {
      title: 'Heal and catch up',
      instruction: 'Press h to heal every link, and watch the follower catch up.',
      hint: 'Nothing was lost while it lagged: the leader kept every entry and ships what the follower is missing as soon as the link is fast again.',
      check: (o, before) => {
        const heal = actionsOf(actionsSince(o, before), 'heal')[0];
        if (heal === undefined) return { passed: false, detail: 'the links have not been healed yet (h)' };
        const target = heal.leaderCommitIndex ?? 0;
        const behind = o.status.filter((n) => n.up && n.appliedIndex < target);
        if (behind.length > 0) return { passed: false, detail: `healed; ${listing(behind.map((n) => `${n.id} (${n.appliedIndex}/${target})`))} still catching up` };
        const slowest = o.status.filter((n) => n.up).reduce((a, b) => (b.appliedIndex < a.appliedIndex ? b : a));
        return {
          passed: true,
          detail: `every node has applied past index ${target}, where the leader's commit stood when you healed (${slowest.id} is at ${slowest.appliedIndex})`,
          facts: { caughtUpNode: slowest.id, caughtUpIndex: slowest.appliedIndex },
        };
      },
      autopilot: async (context) => {
        context.cluster.heal();
        const target = context.observe().status.find((n) => n.role === 'leader')?.commitIndex ?? 0;
        await context.waitFor('every node to catch up', (o) => o.status.every((n) => !n.up || n.appliedIndex >= target));
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.writeLeader !== undefined) lines.push(`Your write went to ${f.writeLeader}, the leader: it became log entry ${f.writeIndex} in term ${f.writeTerm} and was acknowledged in ${formatMs(f.writeLatencyMs)}, once a majority had it on disk.`);
    if (f.refusedBy !== undefined) lines.push(`${f.refusedBy} refused a write and named ${f.namedLeader}: only the leader orders writes, so there is one history. Clients follow the hint and retry at the leader.`);
    if (f.readNode !== undefined) lines.push(`${f.readNode} served a read from its own copy at applied index ${f.readIndex} (${f.readRow}): reads scale out across followers, but each answers as of its own progress.`);
    if (f.laggingNode !== undefined) lines.push(`With ${f.lagDelayMs} ms on its link each way, ${f.laggingNode}'s replay lag was ${formatMs(f.lagMs)} (${plural(f.lagEntries ?? 0, 'entry', 'entries')} behind) when the check passed: the oldest entry it had not applied had been on the leader's disk that long. It settles near ${formatMs(2 * (f.lagDelayMs ?? 0))}, because the leader learns of the follower's progress over the same slow link. A read there shows data about that much older.`);
    if (f.caughtUpIndex !== undefined) lines.push(`After the heal every node caught up (the slowest, ${f.caughtUpNode}, reached index ${f.caughtUpIndex}): lag costs freshness, not data, as long as the leader survives.`);
    const pg = earlierOn<Facts>(run, 'postgres');
    if (pg !== null && pg.facts.writeLatencyMs !== undefined && f.writeLatencyMs !== undefined) {
      lines.push(`On PostgreSQL (your run of ${pg.at.slice(0, 10)}) the same write took ${formatMs(pg.facts.writeLatencyMs)} against ${formatMs(f.writeLatencyMs)} here${pg.facts.refusedBy !== undefined ? `, and the standby's refusal named no primary: PostgreSQL leaves finding it to the client's connection string` : ''}.`);
    }
    lines.push(`Over the lab the workload had ${run.writesAcknowledged} writes acknowledged and ${run.lostWrites} lost.`);
    return lines;
  },
  quiz: ['leader-only-writes', 'not-leader-hint', 'follower-read-staleness', 'lag-metrics', 'apply-in-order', 'nondeterministic-sql', 'replica-lag-alert'],
});
