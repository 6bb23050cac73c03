// quorum-commit: majority writes survive one failure of three with nothing
// lost; with two of three down the cluster refuses writes instead of
// acknowledging what it cannot keep.

import { earlierOn, plural } from '../analysis.js';
import { defineLab } from '../types.js';
import { someFollower } from './common.js';
import { quorumCommitOnPostgres } from './quorum-commit.postgres.js';
import { oneDownAutopilot, oneDownCheck, type QuorumWords, restartedAutopilot, restartedCheck, twoDownAutopilot, twoDownCheck } from './quorum-commit.shared.js';

/** What the checks measure; the PostgreSQL variant (quorum-commit.postgres.ts) fills the same fields. */
export interface QuorumCommitFacts {
  firstDown: string;
  acksWithOneDown: number;
  ackersWithOneDown: string;
  secondDown: string;
  startedWithTwoDown: number;
  refusedWithTwoDown: number;
  pendingWithTwoDown: number;
  timedOutWithTwoDown: number;
  acksAfterRestart: number;
  lostWrites: number;
  leaderAfter: string;
}

type Facts = QuorumCommitFacts;

/** The words replica-lab's check lines use. */
const words: QuorumWords = {
  node: 'node',
  follower: 'follower',
  writes: 'writes',
  alsoFlushedOn: ' with its remaining follower',
  oneDown: 'one node',
  stillAcking: 'is a majority still up?',
  inDoubt: 'ended in doubt (timed out, or the leader stepped down first)',
  stillWaiting: 'still waiting for an answer',
  leads: (leader) => `${leader} leads`,
};

export const quorumCommit = defineLab<Facts>({
  id: 'quorum-commit',
  title: 'Quorum commit: survive one failure, refuse on two',
  engines: ['replica-lab', 'postgres'],
  variants: { postgres: quorumCommitOnPostgres },
  level: 'intermediate',
  minutes: 8,
  concepts: ['quorum', 'majority', 'fault tolerance', 'availability', 'durability'],
  summary:
    'In quorum mode a write is acknowledged once a majority (2 of 3) has it on disk. Kill one node and writes go on, with nothing lost; kill a second and the cluster stops acknowledging: no majority, no "done". Bring them back and count what was lost: nothing.',
  setup: {
    cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'raft', seed: 41 },
    workload: { rate: 40, concurrency: 16, readFraction: 0.2, keys: 20, readTarget: 'leader', readConsistency: 'local', timeoutMs: 1_000, seed: 41 },
  },
  steps: [
    {
      title: 'Kill one follower',
      instruction: (o) => `Select a follower (${someFollower(o)}) and press k. Watch the write rate in the header.`,
      hint: 'A majority of 3 is 2: the leader and the remaining follower still make one, so every write can still be made durable on two nodes.',
      check: oneDownCheck(words),
      autopilot: oneDownAutopilot(words),
    },
    {
      title: 'Kill a second node',
      instruction: (o) => `Kill one more: select ${o.status.find((n) => n.up && n.id !== o.leader)?.id ?? 'the other follower'} and press k. Now only one node of three runs.`,
      hint: 'One node is not a majority. The leader cannot make a write durable on two nodes, so it does not say "done"; after an election timeout it notices it has lost its majority and steps down (CheckQuorum).',
      check: twoDownCheck(words),
      autopilot: twoDownAutopilot(words),
    },
    {
      title: 'Bring them back',
      instruction: 'Select each dead node and press r. A majority returns, a leader is elected, writes flow again.',
      hint: 'Then look at the lost-writes counter: in quorum mode an acknowledged write was on a majority, and any future majority overlaps it, so a new leader always has it.',
      check: restartedCheck(words),
      autopilot: restartedAutopilot,
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.firstDown !== undefined) lines.push(`With ${f.firstDown} dead, ${f.acksWithOneDown} writes were acknowledged by ${f.ackersWithOneDown} and the remaining follower: 2 of 3 is a majority, so one failure costs nothing.`);
    if (f.secondDown !== undefined) {
      lines.push(`With ${f.secondDown} dead as well, none of the ${f.startedWithTwoDown ?? '?'} writes started was acknowledged: ${f.refusedWithTwoDown} were refused outright, ${f.timedOutWithTwoDown} ended in doubt and ${f.pendingWithTwoDown ?? 0} were still waiting for an answer when the check passed. The cluster chose to be unavailable rather than say "done" about a write only one node held (CAP: consistency over availability on the minority side).`);
      lines.push('"In doubt" is not "failed": such a write sits in the lone leader\'s log, and if that node wins the next election it commits it. A client that sees a timeout must check, or retry idempotently.');
    }
    if (f.lostWrites !== undefined) lines.push(`After the restart ${f.leaderAfter} led and ${plural(f.lostWrites, 'acknowledged write was', 'acknowledged writes were')} lost. Every acknowledged write was on 2 of 3 nodes; every future majority shares a node with that one, and Raft elects only a node whose log is at least as up to date.`);
    lines.push('A cluster of 2f+1 nodes survives f failures: 3 survive 1, 5 survive 2. A 4-node cluster also survives only 1, which is why clusters have odd sizes.');
    const pg = earlierOn<Facts>(run, 'postgres');
    if (pg !== null && pg.facts.startedWithTwoDown !== undefined) {
      lines.push(`On PostgreSQL (your run of ${pg.at.slice(0, 10)}) with two servers down ${pg.facts.refusedWithTwoDown ?? 0} of ${pg.facts.startedWithTwoDown} writes were refused and ${pg.facts.timedOutWithTwoDown ?? 0} timed out: PostgreSQL has no CheckQuorum, so a primary left without its standbys does not step down; its commits wait until a standby answers or the client gives up.`);
    }
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${run.lostWrites} lost.`);
    return lines;
  },
  quiz: ['majority-size', 'quorum-overlap', 'timeout-is-indeterminate', 'even-cluster-size', 'mongodb-majority', 'kafka-acks-all', 'quorum-copies', 'leader-completeness', 'learner-nodes'],
});
