// quorum-commit: majority writes survive one failure of three with nothing
// lost; with two of three down the cluster refuses writes instead of
// acknowledging what it cannot keep.

import type { NodeId } from '../../cluster/index.js';
import { actionsOf, actionsSince, earlierOn, listing, plural, writesInvoked } from '../analysis.js';
import type { Action, Observation } from '../types.js';
import { defineLab } from '../types.js';
import { leaderAndFollowers, someFollower } from './common.js';
import { quorumCommitOnPostgres } from './quorum-commit.postgres.js';

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

/** Kills since the step began that left a node down, oldest first. */
export function kills(o: Observation, after: number): (Action & { kind: 'kill' })[] {
  return actionsOf(actionsSince(o, { actionCount: after }), 'kill').filter((a) => a.error === null && o.status.find((n) => n.id === a.node)?.up === false);
}

/** Writes started after `mono`: how many were acknowledged, refused (fail), left in doubt (info) or are still waiting for an answer; the four add up to `started`. */
export function outcomes(o: Observation, mono: number): { started: number; ok: number; fail: number; info: number; pending: number; nodes: Set<string> } {
  const writes = writesInvoked(o.history, mono);
  const nodes = new Set<string>();
  let ok = 0;
  let fail = 0;
  let info = 0;
  for (const w of writes) {
    if (w.end?.type === 'ok') {
      ok++;
      nodes.add(w.end.node ?? '?');
    } else if (w.end?.type === 'fail') fail++;
    else if (w.end?.type === 'info') info++;
  }
  return { started: writes.length, ok, fail, info, pending: writes.length - ok - fail - info, nodes };
}

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
      check: (o, before) => {
        const killed = kills(o, before.actionCount).filter((a) => a.node !== a.leader);
        const down = o.status.filter((n) => !n.up);
        if (killed.length === 0 || down.length === 0) return { passed: false, detail: 'no follower has been killed yet' };
        if (down.length > 1) return { passed: false, detail: `${listing(down.map((n) => n.id))} are down: only one for this step` };
        const result = outcomes(o, killed[0]!.mono);
        if (result.ok < 5) return { passed: false, detail: `${killed[0]!.node} is down; counting acknowledged writes (${result.ok}/5)` };
        return {
          passed: true,
          detail: `${killed[0]!.node} is down and writes go on: ${result.ok} of ${result.started} started since were acknowledged (by ${listing([...result.nodes])} with its remaining follower: 2 of 3)`,
          facts: { firstDown: killed[0]!.node, acksWithOneDown: result.ok, ackersWithOneDown: listing([...result.nodes]) },
        };
      },
      autopilot: async (context) => {
        const { followers } = await leaderAndFollowers(context);
        const mono = performance.now();
        await context.cluster.kill(followers[0]!);
        await context.waitFor('5 writes acknowledged with one node down', (o) => outcomes(o, mono).ok >= 5);
      },
    },
    {
      title: 'Kill a second node',
      instruction: (o) => `Kill one more: select ${o.status.find((n) => n.up && n.id !== o.leader)?.id ?? 'the other follower'} and press k. Now only one node of three runs.`,
      hint: 'One node is not a majority. The leader cannot make a write durable on two nodes, so it does not say "done"; after an election timeout it notices it has lost its majority and steps down (CheckQuorum).',
      check: (o, before) => {
        const killed = kills(o, before.actionCount);
        const down = o.status.filter((n) => !n.up);
        if (killed.length === 0 || down.length < 2) return { passed: false, detail: `${plural(down.length, 'node is', 'nodes are')} down; kill a second one` };
        const second = killed[killed.length - 1]!;
        const result = outcomes(o, second.mono);
        if (result.ok > 0) return { passed: false, detail: `${result.ok} writes started after ${second.node} died were acknowledged: is a majority still up?` };
        const ended = result.fail + result.info;
        if (ended < 3) return { passed: false, detail: `${listing(down.map((n) => n.id))} are down; watching writes (${ended}/3 refused or timed out)` };
        return {
          passed: true,
          detail: `0 of ${result.started} writes started since ${second.node} died were acknowledged: ${result.fail} refused, ${result.info} ended in doubt (timed out, or the leader stepped down first), ${result.pending} still waiting for an answer`,
          facts: { secondDown: second.node, startedWithTwoDown: result.started, refusedWithTwoDown: result.fail, timedOutWithTwoDown: result.info, pendingWithTwoDown: result.pending },
        };
      },
      autopilot: async (context) => {
        const o = context.observe();
        const target: NodeId | undefined = o.status.find((n) => n.up && n.id !== o.leader)?.id ?? o.status.find((n) => n.up)?.id;
        if (target === undefined) throw new Error('no running node to kill');
        const mono = performance.now();
        await context.cluster.kill(target);
        await context.waitFor('3 writes refused or timed out', (x) => {
          const result = outcomes(x, mono);
          return result.fail + result.info >= 3;
        });
      },
    },
    {
      title: 'Bring them back',
      instruction: 'Select each dead node and press r. A majority returns, a leader is elected, writes flow again.',
      hint: 'Then look at the lost-writes counter: in quorum mode an acknowledged write was on a majority, and any future majority overlaps it, so a new leader always has it.',
      check: (o, before) => {
        const restarts = actionsOf(actionsSince(o, before), 'restart').filter((a) => a.error === null);
        const down = o.status.filter((n) => !n.up);
        if (restarts.length === 0 || down.length > 0) return { passed: false, detail: down.length > 0 ? `${listing(down.map((n) => n.id))} still down` : 'restart the dead nodes (r)' };
        const last = restarts[restarts.length - 1]!;
        const result = outcomes(o, last.mono);
        if (o.leader === null || result.ok < 3) return { passed: false, detail: `every node is up; waiting for writes to be acknowledged again (${result.ok}/3)` };
        return {
          passed: true,
          detail: `all three are up, ${o.leader} leads, writes are acknowledged again; ${plural(o.lostWrites.length, 'acknowledged write was', 'acknowledged writes were')} lost in the whole lab`,
          facts: { acksAfterRestart: result.ok, lostWrites: o.lostWrites.length, leaderAfter: o.leader },
        };
      },
      autopilot: async (context) => {
        for (const n of context.observe().status) if (!n.up) await context.cluster.restart(n.id);
        const mono = performance.now();
        await context.waitFor('writes acknowledged again', (o) => o.leader !== null && outcomes(o, mono).ok >= 3);
      },
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
