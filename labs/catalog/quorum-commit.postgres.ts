// quorum-commit on PostgreSQL: synchronous_standby_names = 'ANY 1 (n2, n3)'
// with synchronous_commit = on. A commit returns once the primary and any one
// standby have flushed it. Kill one standby: commits go on. Kill the other:
// no commit returns, the primary does not step down (no CheckQuorum) and each
// waits until the client gives up; a commit whose wait is cancelled stays
// committed on the primary. Restart them: they stream what they missed.
//
// From quorum-commit.ts only types and function declarations are imported
// (that file imports this one; its declarations are hoisted).

import { actionsOf, actionsSince, earlierOn, listing, plural } from '../analysis.js';
import type { Baseline, CheckResult, LabVariant, Observation } from '../types.js';
import { leaderAndFollowers, someFollower } from './common.js';
import { kills, outcomes, type QuorumCommitFacts as Facts } from './quorum-commit.js';
import { standbyNames } from './pg-common.js';

/** Step 2: with two of three down, none of the writes started since the second kill was acknowledged, and at least three ended. */
export function twoDownCheck(o: Observation, before: Baseline): CheckResult<Facts> {
  const killed = kills(o, before.actionCount);
  const down = o.status.filter((n) => !n.up);
  if (killed.length === 0 || down.length < 2) return { passed: false, detail: `${plural(down.length, 'server is', 'servers are')} down; kill a second one` };
  const second = killed[killed.length - 1]!;
  const result = outcomes(o, second.mono);
  if (result.ok > 0) return { passed: false, detail: `${result.ok} writes started after ${second.node} died were acknowledged: is a standby still streaming?` };
  const ended = result.fail + result.info;
  if (ended < 3) return { passed: false, detail: `${listing(down.map((n) => n.id))} are down; watching writes (${ended}/3 refused or timed out)` };
  return {
    passed: true,
    detail: `0 of ${result.started} writes started since ${second.node} died were acknowledged: ${result.fail} refused, ${result.info} timed out (in doubt: each may be committed on the primary), ${result.pending} still waiting`,
    facts: { secondDown: second.node, startedWithTwoDown: result.started, refusedWithTwoDown: result.fail, timedOutWithTwoDown: result.info, pendingWithTwoDown: result.pending },
  };
}

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
      check: (o, before) => {
        const killed = kills(o, before.actionCount).filter((a) => a.node !== a.leader);
        const down = o.status.filter((n) => !n.up);
        if (killed.length === 0 || down.length === 0) return { passed: false, detail: 'no standby has been killed yet' };
        if (down.length > 1) return { passed: false, detail: `${listing(down.map((n) => n.id))} are down: only one for this step` };
        const result = outcomes(o, killed[0]!.mono);
        if (result.ok < 5) return { passed: false, detail: `${killed[0]!.node} is down; counting acknowledged writes (${result.ok}/5)` };
        return {
          passed: true,
          detail: `${killed[0]!.node} is down and commits go on: ${result.ok} of ${result.started} started since were acknowledged (by ${listing([...result.nodes])}, each flushed on the remaining standby too: 2 of 3)`,
          facts: { firstDown: killed[0]!.node, acksWithOneDown: result.ok, ackersWithOneDown: listing([...result.nodes]) },
        };
      },
      autopilot: async (context) => {
        const { followers } = await leaderAndFollowers(context);
        const mono = performance.now();
        await context.cluster.kill(followers[0]!);
        await context.waitFor('5 writes acknowledged with one standby down', (o) => outcomes(o, mono).ok >= 5);
      },
    },
    {
      title: 'Kill the other standby',
      instruction: (o) => `Kill the other standby: select ${o.status.find((n) => n.up && n.id !== o.leader)?.id ?? 'it'} and press k. Now only the primary runs.`,
      hint: 'No standby is left to flush a commit, so none returns. PostgreSQL has no CheckQuorum: the primary does not step down or refuse; each commit is written and flushed on the primary and then waits, with no timeout, for a standby. The workload\'s clients give up after 1 s and cancel; a commit whose wait is cancelled stays committed on the primary (PostgreSQL warns "The transaction has already committed locally, but might not have been replicated to the standby"). A client that timed out cannot tell which happened.',
      check: twoDownCheck,
      autopilot: async (context) => {
        const o = context.observe();
        const target = o.status.find((n) => n.up && n.id !== o.leader)?.id ?? o.status.find((n) => n.up)?.id;
        if (target === undefined) throw new Error('no running server to kill');
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
      instruction: 'Select each dead server and press r. Each standby restarts, reconnects to the primary and streams the WAL it missed; commits flow again.',
      hint: 'No election here: the primary stayed the primary. Then look at the lost-writes counter: every acknowledged commit was flushed on the primary and on a standby.',
      check: (o, before) => {
        const restarts = actionsOf(actionsSince(o, before), 'restart').filter((a) => a.error === null);
        const down = o.status.filter((n) => !n.up);
        if (restarts.length === 0 || down.length > 0) return { passed: false, detail: down.length > 0 ? `${listing(down.map((n) => n.id))} still down` : 'restart the dead servers (r)' };
        const last = restarts[restarts.length - 1]!;
        const result = outcomes(o, last.mono);
        if (o.leader === null || result.ok < 3) return { passed: false, detail: `every server is up; waiting for writes to be acknowledged again (${result.ok}/3)` };
        return {
          passed: true,
          detail: `all three are up, ${o.leader} is the primary, commits are acknowledged again; ${plural(o.lostWrites.length, 'acknowledged write was', 'acknowledged writes were')} lost in the whole lab`,
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
