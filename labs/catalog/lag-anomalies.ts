// lag-anomalies: reads from a lagging follower break read-your-writes and
// monotonic reads; sessions that carry the index of their last write
// (minIndex) fix the first, reading from one node (sticky) the second.

import type { MonotonicReadViolation, ReadYourWritesViolation } from '../../cluster/check/index.js';
import { actionsSince, delayBetween, formatMs, linkDelays, optionsSatisfiedSince, plural, readsSince, slowedAt, type ReadSummary } from '../analysis.js';
import type { Observation, Step } from '../types.js';
import { defineLab } from '../types.js';
import { leaderAndFollowers, leaderName, slowLink, someFollower } from './common.js';
import { lagAnomaliesOnPostgres, runBeside } from './lag-anomalies.postgres.js';

/** What the checks measure, on either engine (the PostgreSQL variant keeps the same facts so each debrief can set one run beside the other). */
export interface LagAnomaliesFacts {
  slowFollower: string;
  delayMs: number;
  anomalyReads: number;
  rywViolations: number;
  monotonicViolations: number;
  rywExample: string;
  monotonicExample: string;
  rywFixedReads: number;
  slowReadMs: number;
  fastReadMs: number;
  monotonicLeft: number;
  stickyReads: number;
}

const lagDelayMs = 800;
const lagDelayMsMin = 100;
const readsNeeded = 40;

/** The follower slowed from the leader (by the journal), and when. */
function slowFollower(o: Observation, after: number): { id: string; delayMs: number; mono: number } | null {
  const leader = o.leader;
  if (leader === null) return null;
  const since = actionsSince(o, { actionCount: after });
  const delays = linkDelays(o.actions);
  for (const n of o.status) {
    if (n.id === leader) continue;
    const action = slowedAt(since, leader, n.id, lagDelayMsMin);
    const delayMs = delayBetween(delays, leader, n.id);
    if (action !== null && delayMs >= lagDelayMsMin) return { id: n.id, delayMs, mono: action.mono };
  }
  return null;
}

/** Is some follower still slowed from the leader? */
function stillSlow(o: Observation): boolean {
  const delays = linkDelays(o.actions);
  return o.leader !== null && o.status.some((n) => n.id !== o.leader && delayBetween(delays, o.leader!, n.id) >= lagDelayMsMin);
}

function rywExample(summary: ReadSummary): string {
  const v = summary.examples.readYourWrites[0] as ReadYourWritesViolation | undefined;
  return v === undefined ? '' : `session ${v.session} wrote ${v.own.key} at index ${v.own.index}, then read it on ${v.read.node} and got idx ${v.read.idx ?? 0}`;
}

function monotonicExample(summary: ReadSummary): string {
  const v = summary.examples.monotonicReads[0] as MonotonicReadViolation | undefined;
  return v === undefined ? '' : `session ${v.session} read ${v.read.key} at idx ${v.earlier.idx ?? 0} on ${v.earlier.node}, then at idx ${v.read.idx ?? 0} on ${v.read.node}`;
}

const sessionsOn = (options: Readonly<Record<string, unknown>>): boolean => options['sessions'] === 'read-your-writes' || options['sessions'] === 'causal';
const monotonicOn = (options: Readonly<Record<string, unknown>>): boolean => sessionsOn(options) && (options['stickyReads'] === true || options['sessions'] === 'causal');

type Facts = LagAnomaliesFacts;

/** What the nodes are called: a leader and followers here, a primary and standbys on PostgreSQL. */
export interface LagWords {
  readonly leader: string;
  readonly follower: string;
  /** What a session waits for: a log index, a WAL position. */
  readonly position: string;
}

/**
 * The steps, with the check details in `w`'s words: their checks and
 * autopilots hold on PostgreSQL too (lag-anomalies.postgres.ts gives them its
 * own instructions and hints).
 */
function lagSteps(w: LagWords): Step<Facts>[] {
  return [
    {
      title: 'Slow one follower',
      instruction: (o) => `Put ${lagDelayMs} ms between the leader and one follower: :delay ${leaderName(o)} ${someFollower(o)} ${lagDelayMs}. Watch the consistency chart.`,
      hint: 'In quorum mode the leader and the fast follower make the majority, so writes stay fast; the slow follower applies each write almost a second late. Half the reads go there.',
      check: (o, before) => {
        const slow = slowFollower(o, before.actionCount);
        if (slow === null) return { passed: false, detail: `no ${w.follower} is ${lagDelayMsMin} ms or more from the ${w.leader} yet` };
        const summary = readsSince(o.history, slow.mono);
        const { readYourWrites, monotonicReads, reads } = summary.counts;
        if (readYourWrites === 0 || monotonicReads === 0) return { passed: false, detail: `${slow.id} is slow; so far ${readYourWrites} read-your-writes and ${monotonicReads} monotonic-read violations in ${reads.ok} reads` };
        return {
          passed: true,
          detail: `with ${slow.id} ${slow.delayMs} ms behind: ${readYourWrites} of ${reads.ok} reads missed the session's own write, ${monotonicReads} went back in time`,
          facts: {
            slowFollower: slow.id,
            delayMs: slow.delayMs,
            anomalyReads: reads.ok,
            rywViolations: readYourWrites,
            monotonicViolations: monotonicReads,
            rywExample: rywExample(summary),
            monotonicExample: monotonicExample(summary),
          },
        };
      },
      autopilot: async (context) => {
        const { leader, followers } = await leaderAndFollowers(context);
        const mono = performance.now();
        slowLink(context, leader, followers[0]!, lagDelayMs);
        await context.waitFor('both anomalies', (o) => {
          const { readYourWrites, monotonicReads } = readsSince(o.history, mono).counts;
          return readYourWrites > 0 && monotonicReads > 0;
        });
      },
    },
    {
      title: 'Fix read-your-writes',
      instruction: 'Give each client a session that remembers the index of its last write: :sessions read-your-writes. A follower then waits until it has applied that far before it answers.',
      hint: 'This is minIndex: MongoDB\'s causally consistent sessions (afterClusterTime), or an app that sends its last commit LSN and waits for pg_last_wal_replay_lsn() to pass it. Keep the follower slow: the fix should work under lag.',
      check: (o) => {
        const since = optionsSatisfiedSince(o.history, sessionsOn);
        if (since === null) return { passed: false, detail: 'sessions are off (:sessions read-your-writes)' };
        if (!stillSlow(o)) return { passed: false, detail: `no ${w.follower} is slow any more: keep it slow to see the fix work under lag` };
        const summary = readsSince(o.history, since);
        const { readYourWrites, monotonicReads, reads } = summary.counts;
        if (readYourWrites > 0) return { passed: false, detail: `${readYourWrites} reads still missed their own write since sessions were turned on` };
        if (reads.ok < readsNeeded) return { passed: false, detail: `sessions on; counting reads (${reads.ok}/${readsNeeded})` };
        const latencies = [...summary.readLatencyByNode].sort((a, b) => b[1].max - a[1].max);
        const slow = latencies[0];
        const fast = latencies[latencies.length - 1];
        return {
          passed: true,
          detail: `since sessions: 0 of ${reads.ok} reads missed their own write${slow === undefined ? '' : `; reads on ${slow[0]} waited up to ${formatMs(slow[1].max)} for their ${w.position}, on ${fast![0]} up to ${formatMs(fast![1].max)}`}${monotonicReads > 0 ? `; ${monotonicReads} still went back in time` : ''}`,
          facts: { rywFixedReads: reads.ok, slowReadMs: slow?.[1].max ?? 0, fastReadMs: fast?.[1].max ?? 0, monotonicLeft: monotonicReads },
        };
      },
      autopilot: async (context) => {
        context.cluster.workload.update({ sessions: 'read-your-writes' });
        await context.waitFor(`${readsNeeded} reads with sessions`, (o) => {
          const since = optionsSatisfiedSince(o.history, sessionsOn);
          return since !== null && readsSince(o.history, since).counts.reads.ok >= readsNeeded;
        });
      },
    },
    {
      title: 'Fix monotonic reads',
      instruction: 'Make each session read from one node: :sticky on. (Or :sessions causal, which also waits for the highest index the session has seen.)',
      hint: 'Read-your-writes covers your own writes only. A session that reads k from the fast follower and then from the slow one sees k go back in time. A node\'s state only moves forward, so reading one node keeps each session\'s view monotonic.',
      check: (o) => {
        const since = optionsSatisfiedSince(o.history, monotonicOn);
        if (since === null) return { passed: false, detail: 'reads are not sticky yet (:sticky on, with sessions kept on)' };
        if (!stillSlow(o)) return { passed: false, detail: `no ${w.follower} is slow any more: keep it slow to see the fix work under lag` };
        const { readYourWrites, monotonicReads, reads } = readsSince(o.history, since).counts;
        if (readYourWrites > 0 || monotonicReads > 0) return { passed: false, detail: `since then: ${readYourWrites} read-your-writes and ${monotonicReads} monotonic-read violations` };
        if (reads.ok < readsNeeded) return { passed: false, detail: `sticky reads on; counting reads (${reads.ok}/${readsNeeded})` };
        return { passed: true, detail: `since then: 0 of ${reads.ok} reads missed their own write or went back in time`, facts: { stickyReads: reads.ok } };
      },
      autopilot: async (context) => {
        context.cluster.workload.update({ stickyReads: true });
        await context.waitFor(`${readsNeeded} sticky reads`, (o) => {
          const since = optionsSatisfiedSince(o.history, monotonicOn);
          return since !== null && readsSince(o.history, since).counts.reads.ok >= readsNeeded;
        });
      },
    },
  ];
}

export const lagAnomalies = defineLab<Facts>({
  id: 'lag-anomalies',
  title: 'Lag anomalies: read-your-writes and monotonic reads',
  level: 'intermediate',
  minutes: 10,
  engines: ['replica-lab', 'postgres'],
  concepts: ['replication lag', 'read-your-writes', 'monotonic reads', 'session guarantees', 'sticky reads', 'causal consistency'],
  summary:
    'The workload writes through the leader and reads from followers, as an app scaling reads would. Slow one follower and its clients stop seeing their own writes and see time go backwards. Then fix each anomaly: sessions that wait for the index of their last write, and reads that stick to one node.',
  setup: {
    cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'raft', seed: 81 },
    workload: { rate: 80, concurrency: 8, readFraction: 0.5, keys: 3, readTarget: 'follower', readConsistency: 'local', sessions: 'none', stickyReads: false, timeoutMs: 3_000, seed: 81 },
  },
  steps: lagSteps({ leader: 'leader', follower: 'follower', position: 'index' }),
  variants: { postgres: lagAnomaliesOnPostgres(lagSteps({ leader: 'primary', follower: 'standby', position: 'WAL position' }), { delayMs: lagDelayMs }) },
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.slowFollower !== undefined) {
      lines.push(`With ${f.slowFollower} ${f.delayMs} ms behind, ${f.rywViolations} of ${f.anomalyReads} follower reads missed their own session's write, and ${f.monotonicViolations} went back in time. Nothing failed: every read returned what that follower had applied so far. That is not always committed: a follower applies entries as they arrive, before the leader has counted them on a majority, and had the leader failed, some could have been rolled back. Here no leader failed, so what they showed was old, not undone.`);
      if (f.rywExample) lines.push(`For example, ${f.rywExample}.`);
      if (f.monotonicExample) lines.push(`And ${f.monotonicExample}.`);
    }
    if (f.rywFixedReads !== undefined) lines.push(`Sessions carrying their last write's index fixed the first: 0 of ${f.rywFixedReads} reads missed it. The cost is waiting: a read on the slow follower took up to ${formatMs(f.slowReadMs)}, on the fast one up to ${formatMs(f.fastReadMs)}.${(f.monotonicLeft ?? 0) > 0 ? ` Monotonic reads were still broken (${f.monotonicLeft}): read-your-writes says nothing about other clients' writes.` : ''}`);
    if (f.stickyReads !== undefined) lines.push(`Sticky reads fixed the second: 0 anomalies in ${f.stickyReads} reads. If the node a session sticks to fails, the session moves and may go back in time unless it also carries the highest index it has seen (causal sessions).`);
    lines.push(...runBeside(f, run));
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${plural(run.lostWrites, 'lost write')}.`);
    return lines;
  },
  quiz: ['read-your-writes', 'monotonic-reads', 'min-index-session', 'sticky-reads', 'causal-session', 'consistent-prefix', 'follower-read-staleness'],
});
