// raft-election: terms and votes; a split vote when two candidates stand at
// once (tight timeouts, slow link between them); and PreVote keeping an
// isolated node from deposing a healthy leader when it returns — shown with
// PreVote on, then on a new cluster with it off.

import type { NodeId } from '../../cluster/index.js';
import { actionsOf, actionsSince, eventsOf, formatMs, listing, maxTerm, node, plural, type TimedEvent } from '../analysis.js';
import type { Action, Baseline, LabSetup, Observation } from '../types.js';
import { defineLab } from '../types.js';
import { leaderAndFollowers, leaderName, others, slowLink, someFollower } from './common.js';

interface Facts {
  killedLeader: string;
  firstWinner: string;
  firstTerm: number;
  firstVotes: string;
  firstElectionMs: number;
  firstCampaign: string;
  rejoinedNode: string;
  rejoinedFromTerm: number;
  rejoinedTerm: number;
  splitTerm: number;
  splitCandidates: string;
  healedWinner: string;
  healedTerm: number;
  splitRounds: number;
  leaderlessMs: number;
  preVoteNode: string;
  preVoteRounds: number;
  preVoteTerm: number;
  preVoteLeader: string;
  noPreVoteNode: string;
  climbedTo: number;
  deposedLeader: string;
  deposedTerm: number;
}

const electionTimeoutMs = [200, 220] as const;
const splitDelayMs = 150;

const cluster = (preVote: boolean): LabSetup => ({
  cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'raft', electionTimeoutMs, heartbeatMs: 50, preVote, checkQuorum: true, seed: 51 },
  workload: { rate: 10, concurrency: 4, readFraction: 0, keys: 10, timeoutMs: 1_000, seed: 51 },
});

/** Terms (since `sinceWall`) in which two or more nodes stood as real candidates and nobody won. */
export function splitTerms(o: Observation, sinceWall: number): { term: number; candidates: NodeId[] }[] {
  const candidates = new Map<number, Set<NodeId>>();
  for (const e of eventsOf(o, 'election-started', sinceWall)) {
    if (e.event.pre) continue;
    const set = candidates.get(e.event.term) ?? new Set<NodeId>();
    set.add(e.event.node);
    candidates.set(e.event.term, set);
  }
  const won = new Set(eventsOf(o, 'leader-elected', sinceWall).map((e) => e.event.term));
  return [...candidates]
    .filter(([term, set]) => set.size >= 2 && !won.has(term))
    .map(([term, set]) => ({ term, candidates: [...set].sort() }))
    .sort((a, b) => a.term - b.term);
}

/** Terms (since `sinceWall`) in which someone stood and nobody won. */
function roundsWithoutWinner(o: Observation, sinceWall: number): number {
  const stood = new Set(eventsOf(o, 'election-started', sinceWall).filter((e) => !e.event.pre).map((e) => e.event.term));
  const won = new Set(eventsOf(o, 'leader-elected', sinceWall).map((e) => e.event.term));
  return [...stood].filter((term) => !won.has(term)).length;
}

/** The latest partition since the step began that left one node (not the leader then) alone. */
function isolatedFollower(o: Observation, before: Baseline): { action: Action; node: NodeId } | null {
  const partitions = actionsOf(actionsSince(o, before), 'partition');
  for (let i = partitions.length - 1; i >= 0; i--) {
    const alone = partitions[i]!.groups.find((group) => group.length === 1)?.[0];
    if (alone !== undefined && alone !== partitions[i]!.leader) return { action: partitions[i]!, node: alone };
  }
  return null;
}

/** "under one tick" or "3 ticks (30 ms)". */
function campaignTime(ticks: number, tickMs: number): string {
  return ticks === 0 ? 'under one tick' : `${plural(ticks, 'tick')} (${ticks * tickMs} ms)`;
}

function electionsBy(o: Observation, id: NodeId, sinceWall: number, pre: boolean): TimedEvent<'election-started'>[] {
  return eventsOf(o, 'election-started', sinceWall).filter((e) => e.event.node === id && e.event.pre === pre);
}

export const raftElection = defineLab<Facts>({
  id: 'raft-election',
  title: 'Raft elections: terms, votes, split votes and PreVote',
  level: 'advanced',
  minutes: 14,
  concepts: ['raft', 'terms', 'votes', 'election timeout', 'split vote', 'prevote', 'checkquorum'],
  summary:
    'Kill a leader and watch the followers time out, stand as candidates in a new term and vote. Then make two candidates stand at once — the election timeouts here are deliberately tight (200–220 ms) and the link between them slow — and watch terms go by with no winner. Finally isolate a follower and bring it back: with PreVote it is harmless; on a second cluster without PreVote it deposes a healthy leader.',
  setup: cluster(true),
  steps: [
    {
      title: 'Kill the leader',
      instruction: (o) => `Select the leader (${leaderName(o)}) and press k. Watch the event log: election-started, vote-granted, leader-elected.`,
      hint: 'Each follower waits a random election timeout (here 200–220 ms) without hearing from a leader, asks for pre-votes, then stands in term + 1 and votes for itself. A majority of votes (2 of 3) wins.',
      check: (o, before) => {
        const kill = actionsOf(actionsSince(o, before), 'kill').find((a) => a.node === a.leader && a.error === null);
        if (kill === undefined) return { passed: false, detail: 'the leader has not been killed yet' };
        const elected = eventsOf(o, 'leader-elected', kill.wall).find((e) => e.event.node !== kill.node);
        if (elected === undefined) return { passed: false, detail: `${kill.node} is dead; waiting for an election` };
        const ms = elected.atMs - kill.wall;
        return {
          passed: true,
          detail: `${elected.event.node} won term ${elected.event.term} with votes from ${listing([...elected.event.votes])}, ${formatMs(ms)} after ${kill.node} died (its campaign took ${campaignTime(elected.event.electionTicks, o.tickMs)})`,
          facts: {
            killedLeader: kill.node,
            firstWinner: elected.event.node,
            firstTerm: elected.event.term,
            firstVotes: listing([...elected.event.votes]),
            firstElectionMs: ms,
            firstCampaign: campaignTime(elected.event.electionTicks, o.tickMs),
          },
        };
      },
      autopilot: async (context) => {
        const { leader } = await leaderAndFollowers(context);
        await context.cluster.kill(leader);
        await context.waitFor('a new leader', (o) => o.leader !== null && o.leader !== leader);
      },
    },
    {
      title: 'Restart it',
      instruction: (o) => `Select ${o.status.find((n) => !n.up)?.id ?? 'the dead node'} and press r. It comes back with the term it had on disk.`,
      hint: 'It hears the leader of a newer term, adopts that term and follows. A term only ever grows; a node that sees a higher term steps back.',
      check: (o, before) => {
        const restart = actionsOf(actionsSince(o, before), 'restart').find((a) => a.error === null);
        if (restart === undefined) return { passed: false, detail: 'the dead node has not been restarted yet' };
        const back = node(o, restart.node);
        const leader = node(o, o.leader);
        if (back === undefined || !back.up || leader === undefined) return { passed: false, detail: `${restart.node} is starting` };
        if (back.role !== 'follower' || back.term !== leader.term || back.leader !== leader.id) return { passed: false, detail: `${restart.node} is up (term ${back.term}); waiting for it to follow ${leader.id}` };
        const changed = eventsOf(o, 'term-changed', restart.wall).find((e) => e.event.node === restart.node);
        const from = changed?.event.from ?? back.term;
        return {
          passed: true,
          detail: `${restart.node} came back in term ${from} and now follows ${leader.id} in term ${back.term}`,
          facts: { rejoinedNode: restart.node, rejoinedFromTerm: from, rejoinedTerm: back.term },
        };
      },
      autopilot: async (context) => {
        const dead = context.observe().status.find((n) => !n.up);
        if (dead === undefined) throw new Error('no dead node to restart');
        await context.cluster.restart(dead.id);
        await context.waitFor('it to follow the leader', (o) => {
          const back = node(o, dead.id);
          const leader = node(o, o.leader);
          return back?.role === 'follower' && leader !== undefined && back.term === leader.term && back.leader === leader.id;
        });
      },
    },
    {
      title: 'Split the vote',
      instruction: (o) => {
        const [a, b] = o.status.filter((n) => n.id !== o.leader).map((n) => n.id);
        return `Slow the link between the two followers: :delay ${a ?? '<follower>'} ${b ?? '<follower>'} ${splitDelayMs}, then select the leader (${leaderName(o)}) and press k.`;
      },
      hint: `Both followers time out within 20 ms of each other, but each one's vote request takes ${splitDelayMs} ms to reach the other: both stand in the same term, each votes for itself, neither gets 2 votes. Terms go by with no leader (watch the term column).`,
      check: (o, before) => {
        const splits = splitTerms(o, before.wall);
        if (splits.length === 0) return { passed: false, detail: o.leader === null ? 'no leader; waiting for a term with two candidates' : `${o.leader} still leads; kill it once the link is slow` };
        const first = splits[0]!;
        return {
          passed: true,
          detail: `term ${first.term}: ${listing(first.candidates)} both stood and each voted for itself; nobody won (${plural(splits.length, 'split term')} so far)`,
          facts: { splitTerm: first.term, splitCandidates: listing(first.candidates) },
        };
      },
      autopilot: async (context) => {
        const { leader, followers } = await leaderAndFollowers(context);
        slowLink(context, followers[0]!, followers[1]!, splitDelayMs);
        await context.cluster.kill(leader);
        await context.waitFor('a split vote', (o) => splitTerms(o, context.before.wall).length > 0);
      },
    },
    {
      title: 'Heal and restart',
      instruction: (o) => `Press h to heal the link, then select ${o.status.find((n) => !n.up)?.id ?? 'the dead node'} and press r.`,
      hint: 'With messages fast again, the first candidate to time out gathers a vote before the other stands. Randomized timeouts break ties only when their spread is larger than a message round trip.',
      check: (o, before) => {
        const heal = actionsOf(actionsSince(o, before), 'heal')[0];
        if (heal === undefined) return { passed: false, detail: 'the link has not been healed yet (h)' };
        const down = o.status.filter((n) => !n.up);
        if (down.length > 0) return { passed: false, detail: `healed; ${listing(down.map((n) => n.id))} still down (r)` };
        const elected = eventsOf(o, 'leader-elected', heal.wall)[0];
        if (elected === undefined || o.leader === null) return { passed: false, detail: 'healed; waiting for a leader' };
        const kill = [...actionsOf(o.actions, 'kill')].filter((a) => a.wall <= heal.wall).at(-1);
        const leaderlessMs = kill === undefined ? 0 : elected.atMs - kill.wall;
        const rounds = kill === undefined ? 0 : roundsWithoutWinner(o, kill.wall);
        return {
          passed: true,
          detail: `${elected.event.node} won term ${elected.event.term} after the heal; the cluster was without a leader for ${formatMs(leaderlessMs)} and ${plural(rounds, 'term')} with no winner`,
          facts: { healedWinner: elected.event.node, healedTerm: elected.event.term, splitRounds: rounds, leaderlessMs },
        };
      },
      autopilot: async (context) => {
        context.cluster.heal();
        for (const n of context.observe().status) if (!n.up) await context.cluster.restart(n.id);
        await context.waitFor('a leader and every node up', (o) => o.leader !== null && o.status.every((n) => n.up) && eventsOf(o, 'leader-elected', context.before.wall).length > 0);
      },
    },
    {
      title: 'Isolate a follower (PreVote on)',
      instruction: (o) => `Select a follower (${someFollower(o)}) and press i. Its timer fires again and again; watch its election-started (pre) events. After a few, press h.`,
      hint: 'With PreVote a node first asks "would you vote for me?" without raising its term. Alone it never gets a majority of pre-votes, so its term stays put, and when it returns it simply follows the leader.',
      check: (o, before) => {
        const cut = isolatedFollower(o, before);
        if (cut === null) return { passed: false, detail: 'no follower has been isolated yet' };
        const preVotes = electionsBy(o, cut.node, cut.action.wall, true);
        const real = electionsBy(o, cut.node, cut.action.wall, false);
        if (real.length > 0) return { passed: false, detail: `${cut.node} stood in a real election (term ${real[0]!.event.term}): is PreVote off?` };
        if (preVotes.length < 2) return { passed: false, detail: `${cut.node} is isolated; ${plural(preVotes.length, 'pre-vote round')} so far (wait for 2)` };
        const heal = actionsOf(actionsSince(o, before), 'heal').find((a) => a.mono > cut.action.mono);
        if (heal === undefined) return { passed: false, detail: `${cut.node} has tried ${plural(preVotes.length, 'pre-vote')} without raising its term; now heal (h)` };
        const back = node(o, cut.node);
        const leader = node(o, o.leader);
        if (back === undefined || leader === undefined || back.role !== 'follower' || back.leader !== leader.id) return { passed: false, detail: `healed; waiting for ${cut.node} to follow the leader` };
        const disrupted = eventsOf(o, 'leader-elected', before.wall).length > 0 || eventsOf(o, 'stepped-down', before.wall).length > 0;
        if (disrupted) return { passed: false, detail: 'the leader changed during this step: was it the leader you isolated?' };
        return {
          passed: true,
          detail: `${cut.node} tried ${plural(preVotes.length, 'pre-vote')} alone and stayed in term ${back.term}; back, it follows ${leader.id}, who never stopped leading`,
          facts: { preVoteNode: cut.node, preVoteRounds: preVotes.length, preVoteTerm: back.term, preVoteLeader: leader.id },
        };
      },
      autopilot: async (context) => {
        const { leader, followers } = await leaderAndFollowers(context);
        const target = followers[0]!;
        const wall = Date.now();
        context.cluster.partition([[target], others(context.cluster.ids, target)]);
        await context.waitFor('3 pre-vote rounds', (o) => electionsBy(o, target, wall, true).length >= 3);
        context.cluster.heal();
        await context.waitFor('it to follow the leader', (o) => node(o, target)?.role === 'follower' && node(o, target)?.leader === leader);
      },
    },
    {
      title: 'The same without PreVote',
      freshCluster: cluster(false),
      instruction: (o) => `This is a new cluster with PreVote off. Select a follower (${someFollower(o)}) and press i; watch its term climb in the node table. After a few terms, press h.`,
      hint: 'Without PreVote, each timeout makes the lonely node stand for real: term + 1 every time. When it comes back, the leader sees its higher term in a reply and must step down, and the cluster holds an election it did not need.',
      check: (o, before) => {
        const cut = isolatedFollower(o, before);
        if (cut === null) return { passed: false, detail: 'no follower has been isolated yet' };
        const stood = electionsBy(o, cut.node, cut.action.wall, false);
        if (stood.length < 2) return { passed: false, detail: `${cut.node} is isolated; it has stood ${plural(stood.length, 'time')} (wait for 2)` };
        const heal = actionsOf(actionsSince(o, before), 'heal').find((a) => a.mono > cut.action.mono);
        if (heal === undefined) return { passed: false, detail: `${cut.node} has climbed to term ${stood.at(-1)!.event.term}; now heal (h)` };
        const deposed = eventsOf(o, 'stepped-down', heal.wall).find((e) => e.event.node === cut.action.leader && e.event.reason === 'higher-term');
        if (deposed === undefined) return { passed: false, detail: `healed; waiting for ${cut.action.leader ?? 'the leader'} to meet the higher term` };
        const climbed = Math.max(...stood.map((e) => e.event.term));
        return {
          passed: true,
          detail: `${cut.node} climbed to term ${climbed} alone; back, its term made ${deposed.event.node} (a healthy leader) step down — an election nobody needed`,
          facts: { noPreVoteNode: cut.node, climbedTo: climbed, deposedLeader: deposed.event.node, deposedTerm: eventsOf(o, 'leader-elected').filter((e) => e.event.node === deposed.event.node && e.atMs <= heal.wall).at(-1)?.event.term ?? 0 },
        };
      },
      autopilot: async (context) => {
        const { leader, followers } = await leaderAndFollowers(context);
        const target = followers[0]!;
        const wall = Date.now();
        context.cluster.partition([[target], others(context.cluster.ids, target)]);
        await context.waitFor('3 terms climbed', (o) => electionsBy(o, target, wall, false).length >= 3);
        const healWall = Date.now();
        context.cluster.heal();
        await context.waitFor('the leader to step down', (o) => eventsOf(o, 'stepped-down', healWall).some((e) => e.event.node === leader));
        await context.waitFor('a leader again', (o) => o.leader !== null && maxTerm(o.status) > 0);
      },
    },
  ],
  debrief: (f) => {
    const lines: string[] = [];
    if (f.firstWinner !== undefined) lines.push(`When ${f.killedLeader} died, ${f.firstWinner} won term ${f.firstTerm} with votes from ${f.firstVotes}, ${formatMs(f.firstElectionMs)} after the kill; most of that was waiting out the election timeout; the campaign itself (pre-vote, then vote) took ${f.firstCampaign}.`);
    if (f.rejoinedNode !== undefined) lines.push(`${f.rejoinedNode} came back with term ${f.rejoinedFromTerm} from its disk and followed the leader of term ${f.rejoinedTerm}: a higher term always wins, and every node persists its term and vote before answering.`);
    if (f.splitTerm !== undefined) lines.push(`With the timeouts only 20 ms apart and ${splitDelayMs} ms between the candidates, ${f.splitCandidates} both stood in term ${f.splitTerm} and split the vote.`);
    if (f.healedWinner !== undefined) lines.push(`The cluster went ${formatMs(f.leaderlessMs)} without a leader through ${plural(f.splitRounds ?? 0, 'term')} with no winner, until the heal let ${f.healedWinner} win term ${f.healedTerm}. Raft's rule of thumb: broadcast time ≪ election timeout ≪ time between failures, with a spread wide enough to break ties (the paper uses 150–300 ms).`);
    if (f.preVoteNode !== undefined) lines.push(`With PreVote, ${f.preVoteNode} tried ${plural(f.preVoteRounds ?? 0, 'pre-vote')} alone, stayed in term ${f.preVoteTerm}, and ${f.preVoteLeader} kept leading when it returned.`);
    if (f.noPreVoteNode !== undefined) lines.push(`Without PreVote, ${f.noPreVoteNode} climbed to term ${f.climbedTo}; when it returned, ${f.deposedLeader} (a healthy leader in term ${f.deposedTerm}) had to step down. etcd runs with CheckQuorum and (by default since v3.5) PreVote for exactly this.`);
    return lines;
  },
  quiz: ['raft-term', 'raft-vote-rule', 'raft-log-up-to-date', 'randomized-timeouts', 'split-vote', 'prevote', 'raft-current-term-commit', 'log-matching', 'raft-timing', 'raft-heartbeat', 'raft-persistent-state', 'leader-transfer', 'failover-time'],
});
