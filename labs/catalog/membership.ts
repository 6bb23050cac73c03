// membership: with a voter dead, adding an empty node straight as a voter
// stops writes (the majority of 4 is 3, and the third is the new node, which
// first has to copy the log); adding it as a learner that is promoted once
// current keeps them flowing; removing the leader hands leadership over once
// the change commits. Checks use acknowledged writes and the quorum size the
// nodes report.

import type { NodeId } from '../../cluster/index.js';
import { actionsOf, actionsSince, eventsOf, formatMs, listing, plural, writesAcked, writesInvoked, type TimedEvent } from '../analysis.js';
import type { AutopilotContext, Baseline, Observation } from '../types.js';
import { defineLab } from '../types.js';
import { leaderAndFollowers } from './common.js';

interface Change {
  node: string;
  majorityBefore: number;
  majorityAfter: number;
  voters: string[];
  learners: string[];
  /** From the request until the change committed. */
  commitMs: number;
}

interface WriteWindow {
  /** Writes started after the request, and how they ended by the time the change committed, or after. */
  started: number;
  ackedBefore: number;
  ackedAfter: number;
  ended: number;
  /** From the request to the first acknowledgement of a write started after it. */
  firstAckMs: number | null;
  /** The longest time without any acknowledgement, from the request until the first one after the change committed. */
  longestPauseMs: number | null;
}

interface Facts {
  dead: string;
  /** configIndex: the config entry's index; waited: writes acknowledged at an index past it, started before the change committed. */
  voterJoin: Change & WriteWindow & { configIndex: number; waited: number; before: number; checkQuorumStepDowns: number };
  removed: Change;
  learnerJoin: Change & { promoteAfterMs: number; refusedPromotions: number };
  learnerWrites: WriteWindow;
  leaderRemoval: Change & { oldLeader: string; newLeader: string; acksAfter: number; handoffMs: number | null; lostWrites: number };
}

/** Writes that must have waited for the new voter (or ended in doubt waiting) for the first step to pass. */
const waitedMin = 3;
/** Writes acknowledged while the learner caught up and was promoted, with none failed. */
const acksWithLearnerMin = 5;
/** Writes acknowledged after the leader left. */
const acksAfterHandoffMin = 3;
/** The log the autopilot lets grow before it starts: a new node then has something to copy (a person takes longer than this anyway). */
const logEntriesMin = 2_000;

function monoOf(o: Observation, atMs: number): number {
  return o.mono - (o.wall - atMs);
}

function membershipEvents(o: Observation, before: Pick<Baseline, 'wall'>): TimedEvent<'membership'>[] {
  return eventsOf(o, 'membership', before.wall);
}

function changeOf(o: Observation, e: TimedEvent<'membership'>, requestMono: number): Change {
  return {
    node: e.event.node,
    majorityBefore: e.event.majorityBefore,
    majorityAfter: e.event.majorityAfter,
    voters: [...e.event.voters],
    learners: [...e.event.learners],
    commitMs: Math.max(0, monoOf(o, e.atMs) - requestMono),
  };
}

/** Writes started at or after `fromMono`: acknowledged before / after `splitMono`, ended at all. */
function writeWindow(o: Observation, fromMono: number, splitMono: number, untilMono = Infinity): WriteWindow {
  const writes = writesInvoked(o.history, fromMono).filter((w) => w.mono <= untilMono);
  let ackedBefore = 0;
  let ackedAfter = 0;
  let ended = 0;
  let firstAck = Infinity;
  for (const w of writes) {
    if (w.end === null) continue;
    ended++;
    if (w.end.type !== 'ok') continue;
    if (w.end.mono < splitMono) ackedBefore++;
    else ackedAfter++;
    firstAck = Math.min(firstAck, w.end.mono);
  }
  return { started: writes.length, ackedBefore, ackedAfter, ended, firstAckMs: firstAck === Infinity ? null : firstAck - fromMono, longestPauseMs: longestPause(o, fromMono, splitMono) };
}

/** The longest time without an acknowledged write from `fromMono` until the first acknowledgement at or after `untilMono` (null before that one). */
function longestPause(o: Observation, fromMono: number, untilMono: number): number | null {
  const acks = writesAcked(o.history, fromMono).map((r) => r.mono).sort((a, b) => a - b);
  const end = acks.findIndex((mono) => mono >= untilMono);
  if (end < 0) return null;
  let longest = 0;
  let previous = fromMono;
  for (const mono of acks.slice(0, end + 1)) {
    longest = Math.max(longest, mono - previous);
    previous = mono;
  }
  return longest;
}

/** Writes acknowledged at a log index past `configIndex` (each needed the new configuration's majority) that started before `untilMono`, and those acknowledged below it after `fromMono`. */
function acksAround(o: Observation, configIndex: number, fromMono: number, untilMono: number): { waited: number; before: number } {
  let waited = 0;
  let before = 0;
  for (const w of writesInvoked(o.history, fromMono)) {
    if (w.end?.type !== 'ok' || w.mono > untilMono) continue;
    const index = (w.end as { index?: unknown }).index;
    if (typeof index !== 'number') continue;
    if (index > configIndex) waited++;
    else before++;
  }
  return { waited, before };
}

function quorumText(o: Observation): string {
  const m = o.membership;
  return m === null ? 'no configuration reported yet' : `voters ${m.voters.join(' ')}${m.learners.length > 0 ? `, learners ${m.learners.join(' ')}` : ''}: quorum ${m.quorum}`;
}

function deadVoter(o: Observation): NodeId | null {
  return o.status.find((n) => !n.up && o.membership?.voters.includes(n.id) === true)?.id ?? null;
}

async function waitForStep(context: AutopilotContext, index: number, what: string): Promise<void> {
  await context.waitFor(what, (o) => membership.steps[index]!.check(o, context.before).passed, 60_000);
}

export const membership = defineLab<Facts>({
  id: 'membership',
  title: 'Membership change: add a voter, add a learner, remove the leader',
  level: 'advanced',
  minutes: 12,
  concepts: ['membership change', 'single-server change', 'learner', 'quorum', 'majority', 'leader removal', 'catch-up'],
  summary:
    'With one node of three dead, add a fourth straight as a voter: writes stop, because the majority of 4 is 3 and the third is the new, empty node. Remove it and redo it the careful way: a learner that copies the log without voting, promoted once it is current: writes never stop. Then remove the leader and watch it hand over. Single-server changes, as Raft\'s thesis §4 describes and etcd does with member add --learner and member promote.',
  setup: {
    cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'raft', seed: 151, telemetryMs: 100 },
    workload: { rate: 200, concurrency: 16, readFraction: 0, keys: 20, timeoutMs: 5_000, seed: 151 },
  },
  steps: [
    {
      title: 'With a node dead, add a voter',
      instruction: (o) => {
        const dead = deadVoter(o);
        const target = dead ?? o.status.filter((n) => n.up && n.id !== o.leader).map((n) => n.id).pop() ?? '<follower>';
        return `${dead === null ? `Kill ${target} (select it, k). Then add` : `${dead} is dead. Add`} a fourth node straight as a voter: :add voter. Watch the quorum in the header and the write rate.`;
      },
      hint: 'The new configuration has 4 voters, so a write needs 3 of them. With one dead, the third must be the new node, and it has nothing: until it has copied the log (or a snapshot) no new entry commits. Single-server changes take effect as soon as the leader appends them, not when they commit (thesis §4.1).',
      check: (o, before) => {
        const kills = actionsOf(actionsSince(o, before), 'kill').filter((a) => a.error === null && o.status.find((n) => n.id === a.node)?.up === false);
        const adds = actionsOf(actionsSince(o, before), 'add-node').filter((a) => a.as === 'voter');
        const kill = kills[0];
        if (kill === undefined) return { passed: false, detail: `${quorumText(o)}; kill a follower first (k)` };
        const add = adds.find((a) => a.mono > kill.mono);
        if (add === undefined) return { passed: false, detail: `${kill.node} is dead; now :add voter` };
        const joined = membershipEvents(o, before).find((e) => e.event.change === 'joined' && e.event.as === 'voter' && monoOf(o, e.atMs) >= add.mono);
        if (joined === undefined) return { passed: false, detail: add.error !== null ? `the add failed: ${add.error}` : `adding a voter: the change has not committed yet; ${quorumText(o)}` };
        const change = changeOf(o, joined, add.mono);
        const joinedMono = monoOf(o, joined.atMs);
        // The config entry's index: from the event, else from the leader's membership-changed (it appended the entry).
        const appended = eventsOf(o, 'membership-changed').find((e) => monoOf(o, e.atMs) >= add.mono && e.event.membership.voters.includes(change.node));
        const configIndex = joined.event.index ?? appended?.event.index ?? null;
        if (configIndex === null) return { passed: false, detail: `${change.node} joined; waiting for the config entry's index` };
        if (o.membership === null || o.membership.quorum !== change.majorityAfter) return { passed: false, detail: `${change.node} joined; waiting for the nodes to report the new quorum (${quorumText(o)})` };
        const writes = writeWindow(o, add.mono, joinedMono);
        const around = acksAround(o, configIndex, add.mono, joinedMono);
        if (writes.longestPauseMs === null) return { passed: false, detail: `${change.node} joined as a voter; waiting for a write acknowledged after the change committed` };
        if (around.waited < waitedMin) return { passed: false, detail: `${change.node} joined as a voter at index ${configIndex}; counting writes started before it caught up that committed past that index (${around.waited}/${waitedMin})` };
        return {
          passed: true,
          detail: `${change.node} joined as a voter ${formatMs(change.commitMs)} after the request: majority ${change.majorityBefore} → ${change.majorityAfter}; ${around.waited} writes started before it had caught up committed past the config entry (index ${configIndex}) only once it had; longest pause between acknowledgements ${formatMs(writes.longestPauseMs)}`,
          facts: { dead: kill.node, voterJoin: { ...change, ...writes, configIndex, ...around, checkQuorumStepDowns: eventsOf(o, 'stepped-down', add.wall).filter((e) => e.event.reason === 'check-quorum' && e.atMs <= joined.atMs).length } },
        };
      },
      autopilot: async (context) => {
        await context.waitFor(`a log of ${logEntriesMin} entries`, (o) => (o.status.find((n) => n.id === o.leader)?.commitIndex ?? 0) >= logEntriesMin, 60_000);
        const { followers } = await leaderAndFollowers(context);
        await context.cluster.kill(followers[followers.length - 1]!);
        await context.raft.addNode({ as: 'voter', timeoutMs: 60_000 });
        await waitForStep(context, 0, 'the new voter to join and writes to wait for it');
      },
    },
    {
      title: 'Remove it again',
      instruction: (o) => {
        const joined = eventsOf(o, 'membership').filter((e) => e.event.change === 'joined' && e.event.as === 'voter');
        const added = joined[joined.length - 1]?.event.node ?? '<the new voter>';
        return `Take the new voter out again, to redo the change the careful way: :remove ${added}. The quorum goes back to 2.`;
      },
      hint: 'Removing a voter is a single-server change too: the leader appends the new configuration, uses it at once, and the removed node stops once it has committed.',
      check: (o, before) => {
        const left = membershipEvents(o, before).find((e) => e.event.change === 'left');
        const removals = actionsOf(actionsSince(o, before), 'remove-node');
        if (left === undefined) {
          const failed = removals.find((a) => a.error !== null);
          return { passed: false, detail: failed !== undefined ? `the removal failed: ${failed.error}` : `${quorumText(o)}; :remove the node you added` };
        }
        const request = removals.find((a) => a.node === left.event.node && a.error === null);
        // The removal is journaled once it returns (the node has stopped).
        if (request === undefined) return { passed: false, detail: `${left.event.node} left; waiting for its process to stop` };
        const change = changeOf(o, left, request.mono);
        if (o.membership === null || o.membership.quorum !== change.majorityAfter || o.membership.voters.includes(change.node)) return { passed: false, detail: `${change.node} left; waiting for the nodes to report it (${quorumText(o)})` };
        return { passed: true, detail: `${change.node} left: majority ${change.majorityBefore} → ${change.majorityAfter} (${quorumText(o)})`, facts: { removed: change } };
      },
      autopilot: async (context) => {
        const o = context.observe();
        const joined = eventsOf(o, 'membership').filter((e) => e.event.change === 'joined' && e.event.as === 'voter');
        const node = joined[joined.length - 1]?.event.node;
        if (node === undefined) throw new Error('no added voter to remove');
        await context.raft.removeNode(node, { timeoutMs: 60_000 });
        await waitForStep(context, 1, 'the removal to show in the quorum');
      },
    },
    {
      title: 'Add a learner, promote it once current',
      instruction: (o) => {
        const learner = o.membership?.learners[0];
        return learner === undefined
          ? 'Add the fourth node as a learner: :add learner. It receives the log but does not vote, so the quorum stays 2. Watch it catch up in the node table.'
          : `${learner} is a learner. Once it has caught up (its applied index in the node table close to the leader's), make it a voter: :promote-learner ${learner} (refused, saying how far behind it is, until it is current).`;
      },
      hint: 'A learner copies the log without counting toward any majority, so the slow part (copying) happens while the old majority still decides. Promoted once current, it acknowledges the new configuration at once: the quorum becomes 3 without a pause. This is etcd\'s member add --learner, then member promote, which etcd refuses while the learner is not in sync with the leader.',
      check: (o, before) => {
        const events = membershipEvents(o, before);
        const joined = events.find((e) => e.event.change === 'joined' && e.event.as === 'learner');
        const adds = actionsOf(actionsSince(o, before), 'add-node').filter((a) => a.as === 'learner');
        const add = adds[0];
        if (joined === undefined || add === undefined) return { passed: false, detail: `${quorumText(o)}; :add learner` };
        const node = joined.event.node;
        const promoted = events.find((e) => e.event.change === 'promoted' && e.event.node === node);
        const refused = actionsOf(actionsSince(o, before), 'promote-learner').filter((a) => a.node === node && a.error !== null).length;
        if (promoted === undefined) return { passed: false, detail: `${node} is a learner (${quorumText(o)}); :promote-learner ${node} once it is current${refused > 0 ? ` (${plural(refused, 'promotion')} refused so far)` : ''}` };
        const promotedMono = monoOf(o, promoted.atMs);
        const writes = writeWindow(o, add.mono, promotedMono, promotedMono);
        const failed = writes.ended - writes.ackedBefore - writes.ackedAfter;
        if (o.membership === null || o.membership.quorum !== promoted.event.majorityAfter) return { passed: false, detail: `${node} was promoted; waiting for the nodes to report the new quorum (${quorumText(o)})` };
        if (failed > 0) return { passed: false, detail: `${node} was promoted, but ${plural(failed, 'write')} started meanwhile failed or timed out` };
        if (writes.longestPauseMs === null) return { passed: false, detail: `${node} was promoted; waiting for a write acknowledged after it` };
        if (writes.ackedBefore < acksWithLearnerMin) return { passed: false, detail: `${node} was promoted; only ${writes.ackedBefore} writes were acknowledged from the add to the promotion (${acksWithLearnerMin} needed to show they flowed)` };
        const change = changeOf(o, promoted, add.mono);
        return {
          passed: true,
          detail: `${node} joined as a learner and was promoted ${formatMs(change.commitMs)} after the add: majority ${promoted.event.majorityBefore} → ${promoted.event.majorityAfter}; all ${writes.ended} writes started meanwhile that ended were acknowledged, ${writes.ackedBefore} of them before the promotion`,
          facts: {
            learnerJoin: { ...changeOf(o, joined, add.mono), majorityAfter: promoted.event.majorityAfter, voters: [...promoted.event.voters], learners: [...promoted.event.learners], promoteAfterMs: change.commitMs, refusedPromotions: refused },
            learnerWrites: writes,
          },
        };
      },
      autopilot: async (context) => {
        const id = await context.raft.addNode({ as: 'learner', timeoutMs: 60_000 });
        // As a person would: promote once the node table shows it has applied what the leader has.
        await context.waitFor(`${id} to catch up`, (o) => {
          const leader = o.status.find((n) => n.id === o.leader);
          const learner = o.status.find((n) => n.id === id);
          return leader !== undefined && learner !== undefined && learner.up && learner.appliedIndex >= leader.commitIndex - 10;
        }, 60_000);
        const deadline = performance.now() + 60_000;
        for (;;) {
          try {
            await context.raft.promoteLearner(id, { timeoutMs: 30_000 });
            break;
          } catch (error) {
            // Refused while it is still catching up: the refusal says how far behind it is.
            if (performance.now() > deadline || (error as { reason?: unknown }).reason !== 'refused') throw error;
            await context.pause(200);
          }
        }
        await waitForStep(context, 2, 'the promotion to show in the quorum');
      },
    },
    {
      title: 'Remove the leader',
      instruction: (o) => `Remove the leader itself: :remove ${o.leader ?? '<leader>'}. It keeps leading until the change commits, then steps down, and a voter of the new configuration takes over.`,
      hint: 'The leader replicates the change that removes it, counting a majority of the new configuration without itself (thesis §4.2.2); once it has committed, it steps down and sends timeout-now to a voter that holds its whole log, which campaigns at once instead of waiting for an election timeout.',
      check: (o, before) => {
        const removals = actionsOf(actionsSince(o, before), 'remove-node').filter((a) => a.node === a.leader);
        const request = removals[0];
        if (request === undefined) return { passed: false, detail: `${o.leader ?? 'the leader'} leads (${quorumText(o)}); :remove ${o.leader ?? '<leader>'}` };
        const left = membershipEvents(o, before).find((e) => e.event.change === 'left' && e.event.node === request.node);
        if (left === undefined) return { passed: false, detail: request.error !== null ? `the removal failed: ${request.error}` : `removing ${request.node}: the change has not committed yet` };
        const leftMono = monoOf(o, left.atMs);
        if (o.leader === null || o.leader === request.node) return { passed: false, detail: `${request.node} left; waiting for a new leader` };
        const acks = writeWindow(o, leftMono, leftMono);
        if (acks.ackedAfter < acksAfterHandoffMin) return { passed: false, detail: `${o.leader} leads; waiting for writes to be acknowledged again (${acks.ackedAfter}/${acksAfterHandoffMin})` };
        if (o.membership === null || o.membership.quorum !== left.event.majorityAfter) return { passed: false, detail: `${o.leader} leads; waiting for the nodes to report the new quorum (${quorumText(o)})` };
        const elected = eventsOf(o, 'leader-elected', left.atMs)[0];
        const change = changeOf(o, left, request.mono);
        return {
          passed: true,
          detail: `${request.node} left (majority ${change.majorityBefore} → ${change.majorityAfter}); ${o.leader} leads${elected !== undefined ? ` from term ${elected.event.term}` : ''}, ${acks.ackedAfter} writes acknowledged since; ${plural(o.lostWrites.length, 'acknowledged write')} lost in the lab`,
          facts: { leaderRemoval: { ...change, oldLeader: request.node, newLeader: o.leader, acksAfter: acks.ackedAfter, handoffMs: acks.firstAckMs, lostWrites: o.lostWrites.length } },
        };
      },
      autopilot: async (context) => {
        const { leader } = await leaderAndFollowers(context);
        await context.raft.removeNode(leader, { timeoutMs: 60_000 });
        await waitForStep(context, 3, 'a new leader and writes acknowledged again');
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.voterJoin !== undefined) {
      const v = f.voterJoin;
      lines.push(
        `With ${f.dead ?? 'a node'} dead, ${v.node} joined straight as a voter: the majority went from ${v.majorityBefore} to ${v.majorityAfter}, and with one voter dead the third vote had to be ${v.node}, which started empty. The change (index ${v.configIndex}) committed ${formatMs(v.commitMs)} after the request; ${v.waited} writes started meanwhile committed past it, each only once ${v.node} had caught up that far, and ${v.before} below it, under the old majority. The longest time without any acknowledged write was ${formatMs(v.longestPauseMs)}.${v.checkQuorumStepDowns > 0 ? ` Meanwhile the leader stepped down ${plural(v.checkQuorumStepDowns, 'time')} by CheckQuorum: it must hear from a majority, 3 of the 4 voters itself included, which with ${f.dead ?? 'one'} dead needed ${v.node}; an election followed.` : ''}`,
      );
      lines.push('A majority of 4 is 3, so 4 voters survive one failure, as 3 do: the fourth voter adds no fault tolerance, only one more node every decision may have to wait for.');
    }
    if (f.removed !== undefined) lines.push(`Removing ${f.removed.node} took the majority from ${f.removed.majorityBefore} back to ${f.removed.majorityAfter} in ${formatMs(f.removed.commitMs)}.`);
    if (f.learnerJoin !== undefined && f.learnerWrites !== undefined) {
      const l = f.learnerJoin;
      const w = f.learnerWrites;
      lines.push(
        `${l.node} joined as a learner (majority unchanged) and was promoted ${formatMs(l.promoteAfterMs)} after the add${l.refusedPromotions > 0 ? `, after ${plural(l.refusedPromotions, 'promotion')} refused while it was behind` : ''}; the majority became ${l.majorityAfter}. All ${w.ended} writes started in between that ended were acknowledged, the longest time without an acknowledged write ${formatMs(w.longestPauseMs)}${f.voterJoin !== undefined ? ` (${formatMs(f.voterJoin.longestPauseMs)} when the voter joined empty)` : ''}: the copying happened while the old majority still decided (thesis §4.2.1: new servers join as non-voting members until they are caught up).`,
      );
    }
    if (f.leaderRemoval !== undefined) {
      const r = f.leaderRemoval;
      lines.push(
        `Removing the leader ${r.oldLeader}: it led until the change committed (${formatMs(r.commitMs)}), then stepped down; ${r.newLeader} took over and the first write started after was acknowledged ${formatMs(r.handoffMs)} after the change committed. Voters now ${listing(r.voters)}, majority ${r.majorityAfter}; ${plural(r.lostWrites, 'acknowledged write')} lost.`,
      );
    }
    lines.push(
      'One change at a time: any majority of the old configuration and any majority of the new one share a node when they differ by one server, so two leaders cannot be elected by disjoint majorities. Changing several at once needs joint consensus (thesis §4.3); etcd, like this cluster, changes one member at a time, and a new member can join as a learner (member add --learner) to be promoted once in sync.',
    );
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${plural(run.lostWrites, 'lost write')}.`);
    return lines;
  },
  quiz: ['majority-of-four', 'learner-nodes', 'single-server-change', 'membership-2015-fix', 'remove-leader', 'learner-promote', 'even-cluster-size'],
});
