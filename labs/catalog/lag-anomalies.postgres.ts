// lag-anomalies on PostgreSQL: the same anomalies on hot standbys. A standby
// replays WAL as it arrives and answers reads from what it has replayed (the
// manual: its data is "eventually consistent" with the primary's), so a
// standby whose replication link is slow breaks read-your-writes and
// monotonic reads exactly as a slow follower does. The checks are the
// lab's own (same workload, same online checker); the words are PostgreSQL's.

import type { EngineKind } from '../../cluster/engine.js';
import { formatMs, plural } from '../analysis.js';
import type { LabVariant, RunSummary, Step } from '../types.js';
import { otherEngineRun } from './beside.js';
import { leaderName, someFollower } from './common.js';
import type { LagAnomaliesFacts as Facts } from './lag-anomalies.js';

const engineWords: Readonly<Record<EngineKind, { readonly name: string; readonly copy: string; readonly position: string }>> = {
  'replica-lab': { name: 'replica-lab', copy: 'follower', position: 'a Raft log index' },
  postgres: { name: 'PostgreSQL', copy: 'standby', position: 'a WAL LSN' },
};

/**
 * This run beside the same lab's last passed run on the other engine (both
 * debriefs use it): the anomalies and what the fix cost on each. Empty when the person has not
 * passed it there or neither run measured the anomalies.
 */
export function runBeside(here: Partial<Facts>, run: Pick<RunSummary, 'earlier' | 'engine'>): string[] {
  const other = otherEngineRun<Facts>(run);
  if (other === null) return [];
  const there = other.facts;
  const h = engineWords[other.here];
  const t = engineWords[other.there];
  const lines: string[] = [];
  const seen = (f: Partial<Facts>): boolean => typeof f.rywViolations === 'number' && typeof f.anomalyReads === 'number' && typeof f.monotonicViolations === 'number';
  if (seen(here) && seen(there)) {
    lines.push(
      `${other.besideYour}: there, with a ${t.copy} ${there.delayMs ?? '?'} ms behind, ${there.rywViolations} of ${there.anomalyReads} reads missed their own write and ${there.monotonicViolations} went back in time; here, on ${h.name}, ${here.rywViolations} of ${here.anomalyReads} and ${here.monotonicViolations}. The counts depend on how long the step ran before its check passed; that both anomalies appeared on both engines does not: they come from reading a copy that is behind, a Raft follower's SQLite or a hot standby alike.`,
    );
  }
  if (typeof here.slowReadMs === 'number' && typeof there.slowReadMs === 'number') {
    lines.push(
      `The fix was the same on both, a session carrying the position of its last write (${t.position} on ${t.name}, ${h.position} on ${h.name}), and it cost the same kind of wait: reads on the slow ${t.copy} there waited up to ${formatMs(there.slowReadMs)}, on the slow ${h.copy} here up to ${formatMs(here.slowReadMs)}.`,
    );
  }
  return lines;
}

/**
 * The variant: the lab's own steps (checks and autopilots, with their
 * details in PostgreSQL's words) with PostgreSQL's instructions and hints.
 */
export function lagAnomaliesOnPostgres(steps: readonly Step<Facts>[], constants: { readonly delayMs: number }): LabVariant<Facts> {
  const { delayMs } = constants;
  const [slow, ryw, monotonic] = steps;
  if (slow === undefined || ryw === undefined || monotonic === undefined || steps.length !== 3) throw new Error('lag-anomalies on PostgreSQL: expected the lab\'s three steps');
  return {
    summary:
      'The workload writes through the primary and reads from the hot standbys, as an app scaling reads would. Slow one standby\'s replication link and its clients stop seeing their own writes and see time go backwards: a standby answers from the WAL it has replayed so far. Then fix each anomaly: sessions that carry the WAL position of their last write and wait for the standby to replay past it, and reads that stick to one standby.',
    // Nothing fails over here: PostgreSQL as it ships (manual failover).
    setup: {
      cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'manual', seed: 81 },
      workload: { rate: 80, concurrency: 8, readFraction: 0.5, keys: 3, readTarget: 'follower', readConsistency: 'local', sessions: 'none', stickyReads: false, timeoutMs: 3_000, seed: 81 },
    },
    steps: [
      {
        ...slow,
        title: 'Slow one standby',
        instruction: (o) => `Put ${delayMs} ms on the replication link between the primary and one standby: :delay ${leaderName(o)} ${someFollower(o)} ${delayMs}. Watch the consistency chart.`,
        hint:
          "synchronous_standby_names is 'ANY 1 (…)' (quorum with synchronous_commit = on): each commit waits for whichever standby flushes it first, the fast one, so writes stay fast. The slow standby receives and replays each commit almost a second late (its replay_lag in pg_stat_replication shows about twice that: the standby's reply crosses the slow link too), and about half the reads go to it.",
      },
      {
        ...ryw,
        instruction:
          'Give each client a session that remembers where its last write ended in the WAL: :sessions read-your-writes. A read on a standby then waits until pg_last_wal_replay_lsn() has passed that position before it runs.',
        hint:
          'PostgreSQL 15 has no such wait built in: an application keeps the WAL position of its commit and polls pg_last_wal_replay_lsn() on the standby, or sends the session\'s reads to the primary. The server-side way is synchronous_commit = remote_apply: every commit waits until the synchronous standbys have replayed it (the ack-levels lab). Keep the standby slow: the fix should work under lag.',
      },
      {
        ...monotonic,
        instruction: 'Make each session read from one standby: :sticky on. (Or :sessions causal, which also waits for the highest position the session has seen.)',
        hint:
          "Read-your-writes covers your own writes only. A session that reads k on the fast standby and then on the slow one sees k go back in time. A standby's replay only moves forward, so reading one standby keeps each session's view monotonic.",
      },
    ],
    debrief: (f, run) => {
      const lines: string[] = [];
      if (f.slowFollower !== undefined) {
        lines.push(
          `With ${f.slowFollower} ${f.delayMs} ms behind on its replication link, ${f.rywViolations} of ${f.anomalyReads} standby reads missed their own session's write, and ${f.monotonicViolations} went back in time. Nothing failed: each read returned what that standby had replayed so far, the primary's data as of some moment before (the manual calls a standby's data eventually consistent with the primary's; a commit becomes visible there once its commit record is replayed). Here no server failed, so what the reads showed was old, not undone.`,
        );
        if (f.rywExample) lines.push(`For example, ${f.rywExample} (positions here are WAL LSNs in bytes).`);
        if (f.monotonicExample) lines.push(`And ${f.monotonicExample}.`);
      }
      if (f.rywFixedReads !== undefined) {
        lines.push(
          `Sessions carrying the WAL position of their last write fixed the first: 0 of ${f.rywFixedReads} reads missed it. The cost is waiting for replay: a read on the slow standby took up to ${formatMs(f.slowReadMs)}, on the fast one up to ${formatMs(f.fastReadMs)}.${(f.monotonicLeft ?? 0) > 0 ? ` Monotonic reads were still broken (${f.monotonicLeft}): read-your-writes says nothing about other clients' writes.` : ''}`,
        );
      }
      if (f.stickyReads !== undefined) {
        lines.push(
          `Sticky reads fixed the second: 0 anomalies in ${f.stickyReads} reads. If the standby a session sticks to fails, the session moves and may go back in time unless it also carries the highest position it has seen (causal sessions).`,
        );
      }
      lines.push(...runBeside(f, run));
      lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${plural(run.lostWrites, 'lost write')}.`);
      return lines;
    },
  };
}
