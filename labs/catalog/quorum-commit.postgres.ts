// quorum-commit on PostgreSQL: synchronous_standby_names = 'ANY 1 (n2, n3)'
// with synchronous_commit = on. A commit returns once the primary and any one
// standby have flushed it. Kill one standby: commits go on. Kill the other:
// no commit returns, the primary does not step down (no CheckQuorum) and each
// waits until the client gives up; a commit whose wait is cancelled stays
// committed on the primary. Restart them: they stream what they missed.
//
// From quorum-commit.ts only types are imported (that file imports this one);
// the checks and autopilots shared with it are in quorum-commit.shared.ts.

import { earlierOn, plural } from '../analysis.js';
import type { LabVariant } from '../types.js';
import { someFollower } from './common.js';
import type { QuorumCommitFacts as Facts } from './quorum-commit.js';
import { standbyNames } from './pg-common.js';
import { oneDownAutopilot, oneDownCheck, type QuorumWords, restartedAutopilot, restartedCheck, twoDownAutopilot, twoDownCheck } from './quorum-commit.shared.js';

/** The words PostgreSQL's check lines use. */
const words: QuorumWords = {
  node: 'server',
  follower: 'standby',
  writes: 'commits',
  alsoFlushedOn: ', each flushed on the remaining standby too',
  oneDown: 'one standby',
  stillAcking: 'is a standby still streaming?',
  inDoubt: 'timed out (in doubt: each may be committed on the primary)',
  stillWaiting: 'still waiting',
  leads: (leader) => `${leader} is the primary`,
};

export const quorumCommitOnPostgres: LabVariant<Facts> = {
  summary:
    "PostgreSQL's quorum commit: synchronous_standby_names = 'ANY 1 (n2, n3)' makes a commit return once the primary and any one standby have flushed it, 2 of 3. Kill one standby and commits go on, with nothing lost; kill the other and no commit returns: the primary does not step down, every commit waits. Bring them back and count what was lost: nothing.",
  setup: {
    cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'manual', seed: 41 },
    workload: { rate: 40, concurrency: 16, readFraction: 0.2, keys: 20, readTarget: 'leader', readConsistency: 'local', timeoutMs: 1_000, seed: 41 },
  },
  steps: [
    {
      title: 'Kill one standby',
      instruction: (o) => `The header's quorum · ANY 1 (…)/flushed is ${standbyNames(o)} with synchronous_commit = on. Select a standby (${someFollower(o)}) and press k. Watch the write rate in the header.`,
      hint: 'k kills the standby\'s postmaster and every process of it (SIGKILL). ANY 1 needs one standby\'s flush per commit: the primary and the other standby still make 2 of 3, so commits go on.',
      check: oneDownCheck(words),
      autopilot: oneDownAutopilot(words),
    },
    {
      title: 'Kill the other standby',
      instruction: (o) => `Kill the other standby: select ${o.status.find((n) => n.up && n.id !== o.leader)?.id ?? 'it'} and press k. Now only the primary runs.`,
      hint: 'No standby is left to flush a commit, so none returns. PostgreSQL has no CheckQuorum: the primary does not step down or refuse; each commit is written and flushed on the primary and then waits, with no timeout, for a standby. The workload\'s clients give up after 1 s and cancel; a commit whose wait is cancelled stays committed on the primary (PostgreSQL warns "The transaction has already committed locally, but might not have been replicated to the standby"). A client that timed out cannot tell which happened.',
      check: twoDownCheck(words),
      autopilot: twoDownAutopilot(words),
    },
    {
      title: 'Bring them back',
      instruction: 'Select each dead server and press r. Each standby restarts, reconnects to the primary and streams the WAL it missed; commits flow again.',
      hint: 'No election here: the primary stayed the primary. Then look at the lost-writes counter: every acknowledged commit was flushed on the primary and on a standby.',
      check: restartedCheck(words),
      autopilot: restartedAutopilot,
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    const raft = earlierOn<Facts>(run, 'replica-lab');
    if (f.firstDown !== undefined) lines.push(`With ${f.firstDown} dead, ${f.acksWithOneDown} commits were acknowledged by ${f.ackersWithOneDown}, each flushed on the remaining standby too: ANY 1 of two standbys survives one of them failing.`);
    if (f.secondDown !== undefined) {
      lines.push(`With ${f.secondDown} dead as well, none of the ${f.startedWithTwoDown ?? '?'} writes started was acknowledged: ${f.refusedWithTwoDown} refused, ${f.timedOutWithTwoDown} timed out and ${f.pendingWithTwoDown ?? 0} still waiting when the check passed. The primary said "done" about nothing only one server held.`);
      if (f.timedOutWithTwoDown !== undefined && f.timedOutWithTwoDown > 0) {
        lines.push('"Timed out" is not "failed": a commit whose wait for a standby is cancelled stays committed on the primary (cancelling the wait does not abort the transaction), becomes visible there and reaches the standbys once they return. A client that sees a timeout must check, or retry idempotently.');
      }
    }
    if (raft !== null && raft.facts.startedWithTwoDown !== undefined && f.startedWithTwoDown !== undefined) {
      lines.push(`On replica-lab (your run of ${raft.at.slice(0, 10)}), with two nodes down, ${raft.facts.refusedWithTwoDown ?? 0} of ${raft.facts.startedWithTwoDown} writes were refused and ${raft.facts.timedOutWithTwoDown ?? 0} ended in doubt: a lone Raft leader steps down once an election timeout passes without a majority (CheckQuorum), and from then on writes are refused${(raft.facts.refusedWithTwoDown ?? 0) === 0 ? ' (in that run every client gave up first)' : ''}. Here ${f.refusedWithTwoDown ?? 0} were refused: a PostgreSQL primary never steps down for want of standbys; it takes each commit and makes it wait.`);
    }
    if (f.lostWrites !== undefined) lines.push(`After the restart ${f.leaderAfter} was still the primary and ${plural(f.lostWrites, 'acknowledged write was', 'acknowledged writes were')} lost: nothing failed over, the standbys streamed what they had missed.`);
    lines.push('Quorum commit is half of what Raft does. Had the primary died, PostgreSQL would pick no successor: whoever promotes (a person, Patroni, repmgr) must choose a standby that has every acknowledged commit, and with ANY 1 only one of the two may have the latest: compare pg_last_wal_receive_lsn() on each first. Raft elects only a node whose log is at least as up to date as a majority\'s, so it cannot get this wrong.');
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${run.lostWrites} lost.`);
    return lines;
  },
};
