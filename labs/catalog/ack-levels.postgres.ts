// ack-levels on PostgreSQL: the three levels are synchronous_commit's
// remote_write, on and remote_apply. The primary is killed and the
// supervisor's failover manager (one process, the Patroni/repmgr role, not
// consensus) promotes the standby that had received the most WAL; the old
// primary comes back by pg_rewind, and what that removed is checked for
// acknowledged writes. Steps 1, 3 and 4 keep the lab's checks; step 2 looks
// for the promotion instead of an election.

import { engineNames, type EngineKind } from '../../cluster/engine.js';
import { actionsOf, actionsSince, eventsOf, formatMs, plural, writesAcked } from '../analysis.js';
import type { LabVariant, RunSummary, Step } from '../types.js';
import type { AckLevelsFacts as Facts } from './ack-levels.js';
import { otherEngineRun } from './beside.js';
import { leaderAndFollowers, leaderName, someFollower } from './common.js';

/**
 * This run beside the same lab's last passed run on the other engine (both
 * debriefs use it): the latency at each level, what the crash lost, the stale
 * reads outside the acknowledgement. Empty when there is no such run.
 */
export function runBeside(here: Partial<Facts>, run: Pick<RunSummary, 'earlier' | 'engine'>): string[] {
  const other = otherEngineRun<Facts>(run);
  if (other === null) return [];
  const there = other.facts;
  const h = engineNames[other.here];
  const t = engineNames[other.there];
  const lines: string[] = [];
  const levels = (f: Partial<Facts>): string =>
    [
      typeof f.flushedP50Ms === 'number' ? `flushed ${formatMs(f.flushedP50Ms)}` : null,
      typeof f.receivedP50Ms === 'number' ? `received ${formatMs(f.receivedP50Ms)}` : null,
      typeof f.appliedP50Ms === 'number' ? `applied ${formatMs(f.appliedP50Ms)}` : null,
    ]
      .filter((x) => x !== null)
      .join(', ');
  const hereLevels = levels(here);
  const thereLevels = levels(there);
  if (hereLevels && thereLevels) {
    lines.push(
      `${other.besideYour}, median write latency: ${t} ${thereLevels}; ${h} ${hereLevels}. Both wait for the same three points on the copies; what each costs is this machine's, measured by the same clients.`,
    );
  }
  if (typeof here.lostAtCrash === 'number' && typeof there.lostAtCrash === 'number') {
    const took = (engine: EngineKind, f: Partial<Facts>): string =>
      engine === 'postgres'
        ? `${f.promotedBy === 'person' ? 'you promoted' : 'the failover manager promoted'} ${f.newLeader ?? '?'} (timeline ${f.newTerm ?? '?'})`
        : `the followers elected ${f.newLeader ?? '?'} (term ${f.newTerm ?? '?'})`;
    lines.push(
      `The crash at received lost ${plural(there.lostAtCrash, 'acknowledged write')} on ${t} and ${plural(here.lostAtCrash, 'acknowledged write')} on ${h}. Who took over differs: on ${t} ${took(other.there, there)}, on ${h} ${took(other.here, here)}; a vote of a majority on replica-lab, one process's choice on PostgreSQL (the failover manager's, or yours).`,
    );
  }
  if (typeof here.quorumStale === 'number' && typeof there.quorumStale === 'number') {
    lines.push(`Outside the acknowledgement, at applied in quorum mode, reads went stale on both: ${there.quorumStale} of ${there.quorumReads ?? '?'} on ${t}, ${here.quorumStale} of ${here.quorumReads ?? '?'} on ${h}.`);
  }
  return lines;
}

const standbyList = (o: { readonly status: readonly { readonly id: string }[]; readonly leader: string | null }): string =>
  o.status
    .filter((n) => n.id !== o.leader)
    .map((n) => n.id)
    .join(', ');

/** Step 2 on PostgreSQL: the primary is killed, the failover manager promotes a standby holding every acknowledged write. */
const crashThePrimary: Step<Facts> = {
  title: 'Crash the primary',
  instruction: (o, before) =>
    `Select the primary (${before.leader ?? leaderName(o)}) and press k. The failover manager (the supervisor: one process watching, the role Patroni or repmgr plays, not consensus) promotes the standby that received the most WAL about 3 s later. Were any writes acknowledged at remote_write lost?`,
  hint: "Every synchronous standby had written each acknowledged commit to its operating system. Killing the primary's processes cannot take that back; only an operating-system crash or power cut of that standby before its fsync could (the manual: remote_write survives a crash of the standby's PostgreSQL, not of its operating system). Before it leaves recovery, a promoted standby replays all the WAL it has in pg_wal.",
  check: (o, before) => {
    const kill = actionsOf(actionsSince(o, before), 'kill').find((a) => a.error === null && a.node === a.leader);
    if (kill === undefined) return { passed: false, detail: 'the primary has not been killed yet' };
    const promoted = eventsOf(o, 'promoted', kill.wall).find((e) => e.event.node !== kill.node);
    if (promoted === undefined || o.leader !== promoted.event.node) return { passed: false, detail: `${kill.node} is dead; waiting for the failover manager to promote a standby` };
    const acked = writesAcked(o.history).filter((w) => w.node === kill.node && w.mono <= kill.mono);
    const newest = acked.reduce((best, w) => Math.max(best, w.index), -1);
    // A write's index is where its row went into the WAL; its commit record follows. The promoted
    // server's WAL ends at lastIndex: a write at or past it cannot be there.
    if (newest >= promoted.event.lastIndex) {
      return { passed: false, detail: `${promoted.event.node} was promoted with WAL up to ${promoted.event.lastIndex}, short of a write ${kill.node} acknowledged at ${newest}` };
    }
    // The failover manager promotes unless the person did first (:promote, journaled).
    const byPerson = actionsOf(actionsSince(o, before), 'promote').some((a) => a.error === null && a.node === promoted.event.node && a.by === 'person');
    const change = actionsOf(o.actions, 'replication').filter((a) => a.error === null && a.change.ackLevel === 'received').at(-1);
    const received = acked.filter((w) => w.mono >= (change?.mono ?? before.mono)).length;
    return {
      passed: true,
      detail: `${kill.node} had acknowledged ${plural(received, 'write')} at remote_write; ${byPerson ? 'you' : 'the failover manager'} promoted ${promoted.event.node} (timeline ${promoted.event.term}) with WAL up to ${promoted.event.lastIndex}, past the newest of them (${newest})`,
      facts: { crashedLeader: kill.node, ackedAtReceived: received, newLeader: promoted.event.node, newTerm: promoted.event.term, promotedBy: byPerson ? 'person' : 'failover-manager' },
    };
  },
  autopilot: async (context) => {
    const { leader } = await leaderAndFollowers(context);
    await context.cluster.kill(leader);
    await context.waitFor('a promoted standby', (o) => o.leader !== null && o.leader !== leader, 30_000);
  },
};

/** The variant: the lab's own steps 1, 3 and 4 (checks in PostgreSQL's words) with PostgreSQL's texts, and step 2 its own. */
export function ackLevelsOnPostgres(steps: readonly Step<Facts>[], constants: { readonly slowDelayMs: number }): LabVariant<Facts> {
  const { slowDelayMs } = constants;
  const [received, , applied, quorum] = steps;
  if (received === undefined || applied === undefined || quorum === undefined || steps.length !== 4) throw new Error("ack-levels on PostgreSQL: expected the lab's four steps");
  return {
    summary:
      'synchronous_commit decides what a synchronous standby must have done before a commit returns: written the WAL to its operating system (remote_write), flushed it to disk (on) or replayed it so queries there see it (remote_apply). You switch between them, crash the primary to see what remote_write survives (a failover manager promotes a standby; pg_rewind brings the old primary back), measure standby reads at remote_apply, and then see that remote_apply protects reads only on the standbys the commit waited for.',
    setup: {
      cluster: { nodes: 3, replication: { mode: 'sync', ackLevel: 'flushed' }, failover: 'raft', seed: 91 },
      workload: { rate: 100, concurrency: 16, readFraction: 0.5, keys: 5, readTarget: 'follower', readConsistency: 'local', timeoutMs: 2_000, seed: 91 },
    },
    steps: [
      {
        ...received,
        instruction: (o) =>
          `The cluster runs sync (synchronous_standby_names = 'FIRST ${Math.max(1, o.status.length - 1)} (${standbyList(o)})') with synchronous_commit = on (flushed). Press a until the header says received (or :ack received): synchronous_commit = remote_write, a standby now counts once it has written the WAL to its operating system, before its fsync.`,
        hint: "The manual: remote_write survives a crash of the standby's PostgreSQL but not an operating-system crash of the standby, since the WAL has not necessarily reached its disk. pg_stat_replication's write_lag estimates this wait, flush_lag that of on.",
      },
      crashThePrimary,
      {
        ...applied,
        title: 'Rewind it and wait for visibility',
        check: (o, before) => {
          const result = applied.check(o, before);
          if (!result.passed) return result;
          const lost = o.lostWrites.length - before.lostWriteCount;
          if (lost > 0) return { passed: false, detail: `pg_rewind removed ${plural(lost, 'acknowledged write')}: sync at remote_write should lose none when only the primary's processes die` };
          return { ...result, detail: `${result.detail}; pg_rewind removed no acknowledged write`, facts: { ...result.facts, lostAtCrash: lost } };
        },
        instruction: (o, before) =>
          `Select ${before.status.find((n) => !n.up)?.id ?? o.status.find((n) => !n.up)?.id ?? 'the dead server'} and press r: it may hold WAL past the point where ${leaderName(o)}'s new timeline forked, so it is first rewound with pg_rewind (an acknowledged write among what that removes counts as lost), then follows ${leaderName(o)}. Sync commits wait for it until it is back (FIRST names it). Then press a until the header says applied (or :ack applied: remote_apply). Watch the stale-reads line: the workload reads from the standbys.`,
        hint: 'At remote_apply a commit waits until the synchronous standbys report they have replayed its commit record, so it is visible to queries there: a read on them that starts after the commit returned sees it (the manual: load balancing with causal consistency).',
      },
      {
        ...quorum,
        instruction: (o) =>
          `Switch to quorum: :mode quorum (synchronous_standby_names = 'ANY 1 (${standbyList(o)})': any one standby), and put one standby ${slowDelayMs} ms away: :delay ${leaderName(o)} ${someFollower(o)} ${slowDelayMs}. synchronous_commit stays remote_apply.`,
        hint: 'Now each commit waits for whichever standby replays it first: the fast one. The slow standby was never waited for, so remote_apply says nothing about reads there.',
      },
    ],
    debrief: (f, run) => {
      const lines: string[] = [];
      if (f.receivedP50Ms !== undefined) {
        lines.push(
          `Write latency (median): ${f.flushedP50Ms === undefined ? '' : `on ${formatMs(f.flushedP50Ms)}, `}remote_write ${formatMs(f.receivedP50Ms)}${f.appliedP50Ms === undefined ? '' : `, remote_apply ${formatMs(f.appliedP50Ms)}`}. Each waits for a later point on the standby: in its operating system, on its disk, replayed for its readers (pg_stat_replication's write_lag, flush_lag and replay_lag estimate each wait). On one machine the gaps are small; across a WAN with slow disks they are not.`,
        );
      }
      if (f.crashedLeader !== undefined) {
        lines.push(
          `${f.crashedLeader} was killed having acknowledged ${plural(f.ackedAtReceived ?? 0, 'write')} at remote_write; ${f.promotedBy === 'person' ? 'you promoted' : 'the failover manager promoted'} ${f.newLeader} (timeline ${f.newTerm})${f.lostAtCrash === undefined ? '' : `, and when ${f.crashedLeader} came back pg_rewind removed ${plural(f.lostAtCrash, 'acknowledged write')}`}. A commit acknowledged at remote_write is already in the standby's operating system, so killing the primary cannot lose it; an operating-system crash or power cut of that standby before its fsync, with the primary lost too, could: on, the default, survives that. The promotion was one process's decision, not a vote of the servers: PostgreSQL itself promotes no one; without a failover manager it waits for someone to run pg_ctl promote.`,
        );
      }
      if (f.appliedReads !== undefined) lines.push(`At remote_apply, ${f.appliedStale} of ${f.appliedReads} standby reads were stale: each commit waited until every synchronous standby had replayed it, so reads there after it are safe.`);
      if (f.quorumStale !== undefined) {
        lines.push(
          `With ANY 1, ${f.quorumFollower} (${f.quorumDelayMs} ms away) was not part of the acknowledgement: ${f.quorumStale} of ${f.quorumReads} standby reads were stale${f.quorumExample ? `, e.g. ${f.quorumExample}` : ''}. remote_apply protects reads only on the standbys the commit waited for.`,
        );
      }
      lines.push(...runBeside(f, run));
      lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${run.lostWrites} lost.`);
      return lines;
    },
  };
}
