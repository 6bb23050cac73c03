// ack-levels: what a follower must have done for its acknowledgement to
// count — received (in its OS, not fsynced), flushed (fsynced), applied
// (visible to reads there) — which failures each survives, and which reads
// each makes safe.

import { actionsOf, actionsSince, eventsOf, formatMs, median, node, plural, readsSince, slowedAt, writeLatencies, writesAcked, writesInvoked } from '../analysis.js';
import type { AckLevel } from '../../cluster/index.js';
import type { Action, Observation, Step } from '../types.js';
import { defineLab } from '../types.js';
import { ackLevelsOnPostgres, runBeside } from './ack-levels.postgres.js';
import { leaderAndFollowers, leaderName, slowLink, someFollower } from './common.js';

/** What the checks measure, on either engine (the PostgreSQL variant keeps the same facts so each debrief can set one run beside the other). */
export interface AckLevelsFacts {
  flushedP50Ms: number;
  receivedP50Ms: number;
  receivedReads: number;
  receivedStale: number;
  crashedLeader: string;
  ackedAtReceived: number;
  newLeader: string;
  newTerm: number;
  lostAtCrash: number;
  appliedP50Ms: number;
  appliedReads: number;
  appliedStale: number;
  quorumFollower: string;
  quorumDelayMs: number;
  quorumReads: number;
  quorumStale: number;
  quorumExample: string;
  /** PostgreSQL: who promoted the new primary, the failover manager or the person (:promote). */
  promotedBy: 'failover-manager' | 'person';
}

const slowDelayMs = 200;

type Facts = AckLevelsFacts;

/** What the nodes are called: a leader and followers here, a primary and standbys on PostgreSQL. */
export interface AckWords {
  readonly leader: string;
  readonly follower: string;
}

/** The latest successful change of the ack level to `level` since `after`. */
function ackChange(o: Observation, after: number, level: AckLevel): Action | null {
  return actionsOf(actionsSince(o, { actionCount: after }), 'replication').filter((a) => a.error === null && a.change.ackLevel === level).at(-1) ?? null;
}

function modeChange(o: Observation, after: number, mode: 'quorum'): Action | null {
  return actionsOf(actionsSince(o, { actionCount: after }), 'replication').filter((a) => a.error === null && a.change.mode === mode).at(-1) ?? null;
}

/** The leader runs the level now (its own status says so). */
function leaderRuns(o: Observation, level: AckLevel): boolean {
  return o.replication.ackLevel === level && node(o, o.leader)?.replication?.ackLevel === level;
}

/**
 * The steps, with the check details in `words`. On PostgreSQL
 * (ack-levels.postgres.ts) the first, third and fourth keep their checks and
 * autopilots; the second (a promotion, not an election) is its own.
 */
function ackSteps(words: AckWords): Step<Facts>[] {
  return [
      {
        title: 'Acknowledge on receipt',
        instruction: 'The cluster runs sync at ack level flushed. Press a until the header says received (or :ack received): a follower now counts as soon as the write is in its hands, before its fsync.',
        hint: 'PostgreSQL calls this synchronous_commit = remote_write: the standby has written the WAL to its operating system, which has not necessarily put it on disk.',
        check: (o, before) => {
          const change = ackChange(o, before.actionCount, 'received');
          if (change === null || !leaderRuns(o, 'received')) return { passed: false, detail: `the ack level is ${o.replication.ackLevel}, not received` };
          const latencies = writeLatencies(o.history, change.mono);
          if (latencies.length < 20) return { passed: false, detail: `received; measuring writes (${latencies.length}/20)` };
          // At flushed: writes that ended before the first change of the ack level (pressing a may pass through applied first).
          const firstChange = actionsOf(actionsSince(o, before), 'replication').find((a) => a.error === null && a.change.ackLevel !== undefined);
          const until = firstChange?.mono ?? change.mono;
          const flushed = writesInvoked(o.history, -Infinity).flatMap((w) => (w.end?.type === 'ok' && w.end.mono < until ? [w.end.mono - w.mono] : []));
          const p50 = median(latencies)!;
          const flushedP50 = median(flushed);
          return {
            passed: true,
            detail: `writes take ${formatMs(p50)} at received (median of ${latencies.length})${flushedP50 === null ? '' : `, ${formatMs(flushedP50)} at flushed before`}`,
            facts: flushedP50 === null ? { receivedP50Ms: p50 } : { receivedP50Ms: p50, flushedP50Ms: flushedP50 },
          };
        },
        autopilot: async (context) => {
          const mono = performance.now();
          await context.cluster.setReplication({ ackLevel: 'received' });
          await context.waitFor('20 writes at received', (o) => writeLatencies(o.history, mono).length >= 20);
        },
      },
      {
        title: 'Crash the leader',
        instruction: (o) => `Select the leader (${leaderName(o)}) and press k. Were any writes acknowledged at received lost?`,
        hint: 'Every follower had each acknowledged write in its operating system. A killed process cannot take back what the kernel already holds; only a kernel crash or power cut on that follower, before its fsync, could.',
        check: (o, before) => {
          const kill = actionsOf(actionsSince(o, before), 'kill').find((a) => a.error === null && a.node === a.leader);
          if (kill === undefined) return { passed: false, detail: `the ${words.leader} has not been killed yet` };
          const elected = eventsOf(o, 'leader-elected', kill.wall).find((e) => e.event.node !== kill.node);
          if (elected === undefined) return { passed: false, detail: `${kill.node} is dead; waiting for a new ${words.leader}` };
          const lost = o.lostWrites.length - before.lostWriteCount;
          if (lost > 0) return { passed: false, detail: `${lost} acknowledged writes were lost: sync at received should not lose any on a process crash` };
          const change = ackChange(o, 0, 'received');
          const acked = writesAcked(o.history, change?.mono ?? before.mono).filter((w) => w.node === kill.node && w.mono <= kill.mono).length;
          return {
            passed: true,
            detail: `${kill.node} had acknowledged ${plural(acked, 'write')} at received; ${elected.event.node} took over in term ${elected.event.term} with all of them: 0 lost`,
            facts: { crashedLeader: kill.node, ackedAtReceived: acked, newLeader: elected.event.node, newTerm: elected.event.term, lostAtCrash: lost },
          };
        },
        autopilot: async (context) => {
          const { leader } = await leaderAndFollowers(context);
          await context.cluster.kill(leader);
          await context.waitFor('a new leader', (o) => o.leader !== null && o.leader !== leader);
        },
      },
      {
        title: 'Restart it and wait for visibility',
        instruction: (o) => `Select ${o.status.find((n) => !n.up)?.id ?? 'the dead node'} and press r (sync writes wait for it until it is back), then press a until the header says applied (or :ack applied). Watch the stale-reads line: the workload reads from followers.`,
        hint: 'At applied (PostgreSQL remote_apply) a sync follower acknowledges only once the write is visible in its SQLite, so any read there after the acknowledgement sees it.',
        check: (o, before) => {
          const down = o.status.filter((n) => !n.up);
          if (down.length > 0) return { passed: false, detail: `${down.map((n) => n.id).join(', ')} still down (r)` };
          const change = ackChange(o, before.actionCount, 'applied');
          if (change === null || !leaderRuns(o, 'applied')) return { passed: false, detail: `every node is up; the ack level is ${o.replication.ackLevel}, not applied` };
          const restart = actionsOf(actionsSince(o, before), 'restart').at(-1);
          const since = Math.max(change.mono, restart?.mono ?? 0);
          const summary = readsSince(o.history, since);
          const latencies = writeLatencies(o.history, since);
          if (summary.counts.staleReads > 0 || summary.counts.readYourWrites > 0) return { passed: false, detail: `${summary.counts.staleReads} stale ${words.follower} reads at applied: is every ${words.follower} a sync ${words.follower}?` };
          if (summary.counts.reads.ok < 50 || latencies.length < 10) return { passed: false, detail: `applied; counting ${words.follower} reads (${summary.counts.reads.ok}/50) and writes (${latencies.length}/10)` };
          return {
            passed: true,
            detail: `at applied: 0 of ${summary.counts.reads.ok} ${words.follower} reads missed a write acknowledged before they began; writes take ${formatMs(median(latencies))} (median)`,
            facts: { appliedReads: summary.counts.reads.ok, appliedStale: 0, appliedP50Ms: median(latencies)! },
          };
        },
        autopilot: async (context) => {
          for (const n of context.observe().status) if (!n.up) await context.cluster.restart(n.id);
          await context.cluster.setReplication({ ackLevel: 'applied' });
          const mono = performance.now();
          await context.waitFor('50 follower reads at applied', (o) => readsSince(o.history, mono).counts.reads.ok >= 50 && writeLatencies(o.history, mono).length >= 10, 30_000);
        },
      },
      {
        title: 'Quorum: reads outside the ack',
        instruction: (o) => `Switch to quorum (2 of 3, leader included): :mode quorum, and put one follower ${slowDelayMs} ms away: :delay ${leaderName(o)} ${someFollower(o)} ${slowDelayMs}. The ack level stays applied.`,
        hint: 'Now the leader and the fast follower acknowledge each write. The slow follower was never waited for, so "applied" says nothing about reads there.',
        check: (o, before) => {
          const mode = modeChange(o, before.actionCount, 'quorum');
          if (mode === null || o.replication.mode !== 'quorum') return { passed: false, detail: `replication is ${o.replication.mode}, not quorum` };
          if (o.replication.ackLevel !== 'applied') return { passed: false, detail: `the ack level is ${o.replication.ackLevel}: keep it at applied` };
          const leader = o.leader;
          const since = actionsSince(o, before);
          const slow = leader === null ? undefined : o.status.map((n) => ({ id: n.id, action: slowedAt(since, leader, n.id, 100) })).find((x) => x.id !== leader && x.action !== null);
          if (slow === undefined || slow.action === null) return { passed: false, detail: `quorum; now slow one ${words.follower} (:delay)` };
          const summary = readsSince(o.history, Math.max(mode.mono, slow.action.mono));
          const stale = summary.counts.staleReads;
          if (stale === 0) return { passed: false, detail: `quorum, ${slow.id} slow; no stale read yet in ${summary.counts.reads.ok}` };
          const example = summary.examples.staleReads[0];
          const text = example?.kind === 'stale-read' ? `${example.read.node} returned ${example.read.key} at idx ${example.read.idx ?? 0} after index ${example.missed.index} was acknowledged` : '';
          return {
            passed: true,
            detail: `quorum at applied, ${slow.id} slow: ${stale} of ${summary.counts.reads.ok} ${words.follower} reads were stale${text ? ` (${text})` : ''}`,
            facts: { quorumFollower: slow.id, quorumDelayMs: slowDelayMs, quorumReads: summary.counts.reads.ok, quorumStale: stale, quorumExample: text },
          };
        },
        autopilot: async (context) => {
          const { leader, followers } = await leaderAndFollowers(context);
          await context.cluster.setReplication({ mode: 'quorum' });
          const mono = performance.now();
          slowLink(context, leader, followers[0]!, slowDelayMs);
          await context.waitFor('a stale follower read', (o) => readsSince(o.history, mono).counts.staleReads > 0);
        },
      },
  ];
}

export const ackLevels = defineLab<Facts>({
  id: 'ack-levels',
  title: 'Ack levels: received, flushed, applied',
  level: 'advanced',
  minutes: 12,
  engines: ['replica-lab', 'postgres'],
  concepts: ['ack level', 'remote_write', 'fsync', 'remote_apply', 'durability', 'read safety'],
  summary:
    'Sync replication can count a follower once it has received a write, flushed it to disk, or applied it so reads there see it — PostgreSQL\'s remote_write, on and remote_apply. You switch between them, crash the leader to see what "received" survives, measure follower reads at "applied", and then see that "applied" protects reads only on the nodes the acknowledgement waited for.',
  setup: {
    cluster: { nodes: 3, replication: { mode: 'sync', ackLevel: 'flushed' }, failover: 'raft', seed: 91 },
    workload: { rate: 100, concurrency: 16, readFraction: 0.5, keys: 5, readTarget: 'follower', readConsistency: 'local', timeoutMs: 2_000, seed: 91 },
  },
  steps: ackSteps({ leader: 'leader', follower: 'follower' }),
  variants: { postgres: ackLevelsOnPostgres(ackSteps({ leader: 'primary', follower: 'standby' }), { slowDelayMs }) },
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.receivedP50Ms !== undefined) lines.push(`Write latency (median): ${f.flushedP50Ms === undefined ? '' : `flushed ${formatMs(f.flushedP50Ms)}, `}received ${formatMs(f.receivedP50Ms)}${f.appliedP50Ms === undefined ? '' : `, applied ${formatMs(f.appliedP50Ms)}`}. Each level waits for a later point on the follower: in its hands, on its disk, visible to its readers. On one machine the gaps are small; across a WAN with slow disks they are not.`);
    if (f.crashedLeader !== undefined) lines.push(`${f.crashedLeader} died having acknowledged ${plural(f.ackedAtReceived ?? 0, 'write')} at received; ${f.newLeader} took over (term ${f.newTerm}) and ${plural(f.lostAtCrash ?? 0, 'acknowledged write was', 'acknowledged writes were')} lost. A received write is already in the follower's operating system, so a process crash on either side cannot lose it; a kernel crash or power cut of that follower before its fsync, with the leader lost too, could — flushed survives that, which is why PostgreSQL's default (on) waits for the standby's flush.`);
    if (f.appliedReads !== undefined) lines.push(`At applied, ${f.appliedStale} of ${f.appliedReads} follower reads were stale: the acknowledgement waited until every sync follower could show the write (remote_apply), so reads there after it are safe.`);
    if (f.quorumStale !== undefined) lines.push(`In quorum mode ${f.quorumFollower} (${f.quorumDelayMs} ms away) was not part of the acknowledgement: ${f.quorumStale} of ${f.quorumReads} follower reads were stale${f.quorumExample ? `, e.g. ${f.quorumExample}` : ''}. "applied" protects reads only on the nodes the acknowledgement waited for; MongoDB's w:"majority" likewise says nothing about reads on a secondary outside the majority.`);
    lines.push(...runBeside(f, run));
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${run.lostWrites} lost.`);
    return lines;
  },
  quiz: ['ack-received', 'ack-flushed', 'ack-applied', 'pg-levels-order', 'pg-remote-apply', 'ack-quorum-reads', 'mongodb-journal'],
});
