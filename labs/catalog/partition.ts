// partition: a leader cut into the minority cannot commit, while the majority
// elects anew. The lab's cluster runs without CheckQuorum, so the cut-off
// leader goes on believing it leads until the heal: a local read there is
// stale, a linearizable (ReadIndex) read sent to it fails, and one through the
// new leader is up to date.

import type { NodeId } from '../../cluster/index.js';
import { actionsOf, actionsSince, eventsOf, formatMs, node, plural, staleness, writesAcked, writesInvoked } from '../analysis.js';
import type { Action, Observation } from '../types.js';
import { defineLab } from '../types.js';
import { leaderAndFollowers, leaderName, okQueries, others } from './common.js';

interface Facts {
  oldLeader: string;
  oldTerm: number;
  writesToOld: number;
  newLeader: string;
  newTerm: number;
  electedMs: number;
  staleKey: string;
  staleSeen: number;
  staleNewest: number;
  freshNode: string;
  freshKey: string;
  freshSeen: number;
  refusedKind: string;
  refusedMs: number;
  stepDownReason: string;
  truncated: number;
  rejoinTerm: number;
  lostWrites: number;
}

/** The latest partition that left the leader of the moment in a minority group. */
function minorityCut(actions: readonly Action[]): { action: Action; node: NodeId; minority: readonly NodeId[] } | null {
  for (let i = actions.length - 1; i >= 0; i--) {
    const action = actions[i]!;
    if (action.kind !== 'partition' || action.leader === null) continue;
    const all = action.groups.flat().length;
    const group = action.groups.find((g) => g.includes(action.leader!));
    if (group !== undefined && group.length * 2 < Math.max(all, 3)) return { action, node: action.leader, minority: group };
  }
  return null;
}

const readSql = (key: string): string => `SELECT k, v, idx FROM kv WHERE k = '${key}'`;

/** A key the new leader acknowledged a write to after the cut (what a stale read will miss). */
function keyWrittenSince(o: Observation, mono: number, not: NodeId): string | null {
  return writesAcked(o.history, mono).find((w) => w.node !== not)?.key ?? null;
}

/** Whether `id` reported stepping down after the cut and at or before `wall` (Date.now() ms). */
function steppedDownBy(o: Observation, id: NodeId, cutWall: number, wall: number): boolean {
  return eventsOf(o, 'stepped-down', cutWall).some((e) => e.event.node === id && e.atMs <= wall);
}

/** Writes sent to the cut-off node after the cut: the workload's (before it learnt of the new leader) and the person's `:write`. */
function writesToCutOff(o: Observation, cut: { action: Action; node: NodeId }): { sent: number; acked: number } {
  const workload = writesInvoked(o.history, cut.action.mono).filter((w) => w.node === cut.node);
  const mine = actionsOf(o.actions, 'execute').filter((a) => a.seq > cut.action.seq && a.node === cut.node);
  return {
    sent: workload.length + mine.length,
    acked: workload.filter((w) => w.end?.type === 'ok' && w.end.node === cut.node).length + mine.filter((a) => a.outcome.ok && a.outcome.leader === cut.node).length,
  };
}

export const partition = defineLab<Facts>({
  id: 'partition',
  title: 'A partition: the minority leader, stale reads and ReadIndex',
  level: 'intermediate',
  minutes: 10,
  concepts: ['network partition', 'minority', 'checkquorum', 'stale reads', 'linearizable reads', 'readindex'],
  summary:
    'Cut the leader off from the other two. It can no longer reach a majority, so it commits nothing, while the majority elects a new leader and carries on. This cluster runs without CheckQuorum, so the cut-off leader goes on believing it leads: a local read there answers from a frozen copy, a linearizable read sent to it fails (it cannot confirm its leadership, ReadIndex), and a linearizable read through the new leader is up to date.',
  setup: {
    // No CheckQuorum: the cut-off leader keeps believing it leads until it hears the new term (at the heal), so the window is there to look at.
    cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'raft', checkQuorum: false, seed: 61 },
    workload: { rate: 40, concurrency: 8, readFraction: 0.2, keys: 5, readTarget: 'leader', readConsistency: 'local', timeoutMs: 1_000, seed: 61 },
  },
  steps: [
    {
      title: 'Cut the leader off',
      instruction: (o, before) => {
        // The leader when the step began: once the cut is made the majority elects another, and the instruction must not start naming that one.
        const leader = before.leader ?? leaderName(o);
        return `Put the leader on its own: :partition ${leader} | ${o.status.filter((n) => n.id !== leader).map((n) => n.id).join(' ')} (or select it and press i).`;
      },
      hint: 'Writes sent to it still reach its log, but a majority never confirms them. The other two elect a leader of a higher term. This cluster runs without CheckQuorum, so the old leader does not notice it has lost its majority: it goes on believing it leads. (With CheckQuorum, the default, it would step down after an election timeout; the window between the cut and that step-down exists either way.)',
      check: (o, before) => {
        const cut = minorityCut(actionsSince(o, before));
        if (cut === null) return { passed: false, detail: 'the leader has not been cut into a minority yet' };
        const elected = eventsOf(o, 'leader-elected', cut.action.wall).find((e) => !cut.minority.includes(e.event.node));
        const writes = writesToCutOff(o, cut);
        if (writes.acked > 0) return { passed: false, detail: `${cut.node} acknowledged ${writes.acked} writes after the cut: is its side a majority?` };
        if (elected === undefined) return { passed: false, detail: `${cut.node} is cut off; waiting for the majority to elect a leader` };
        const old = node(o, cut.node);
        if (old?.role !== 'leader' || steppedDownBy(o, cut.node, cut.action.wall, Infinity)) return { passed: false, detail: `${cut.node} no longer believes it leads (it stepped down): this step needs it still leading; start the lab again` };
        return {
          passed: true,
          detail: `${elected.event.node} won term ${elected.event.term} after ${formatMs(elected.atMs - cut.action.wall)}; ${cut.node}, cut off, still reports itself leader of term ${old.term} and acknowledged 0 of ${plural(writes.sent, 'write')} sent to it since the cut`,
          facts: { oldLeader: cut.node, oldTerm: old.term, writesToOld: writes.sent, newLeader: elected.event.node, newTerm: elected.event.term, electedMs: elected.atMs - cut.action.wall },
        };
      },
      autopilot: async (context) => {
        const { leader } = await leaderAndFollowers(context);
        context.cluster.partition([[leader], others(context.cluster.ids, leader)]);
        await context.waitFor('a new leader while the old one still believes it leads', (o) => o.leader !== null && o.leader !== leader && node(o, leader)?.role === 'leader');
      },
    },
    {
      title: 'Read the cut-off leader, locally',
      instruction: (o) => {
        const cut = minorityCut(o.actions);
        const key = cut === null ? null : keyWrittenSince(o, cut.action.mono, cut.node);
        return `Read a key on the cut-off leader, from its own copy: :read ${cut?.node ?? '<old leader>'} ${readSql(key ?? 'k1')}`;
      },
      hint: 'The workload keeps writing through the new leader. The cut-off node still believes it leads and answers local reads from its own SQLite, frozen at the moment of the cut: a read there misses writes that were acknowledged before you asked. A leader that served reads from its own state without checking would answer exactly this.',
      check: (o, before) => {
        const cut = minorityCut(o.actions);
        if (cut === null) return { passed: false, detail: 'no leader was cut off' };
        const reads = okQueries(o, before).filter((a) => a.consistency === 'local' && a.outcome.node === cut.node);
        if (reads.length === 0) return { passed: false, detail: `no local read on ${cut.node} yet` };
        for (const read of reads) {
          if (steppedDownBy(o, cut.node, cut.action.wall, read.wall)) continue;
          const verdict = staleness(read, o.history);
          if (verdict === null || !verdict.stale) continue;
          const what = verdict.basis === 'key' ? `${verdict.key} at idx ${verdict.seen}` : `state at applied index ${verdict.seen}`;
          return {
            passed: true,
            detail: `${cut.node}, still leader of term ${node(o, cut.node)?.term ?? '?'} in its own eyes, answered ${what}, but a write at index ${verdict.newest!.index}${verdict.basis === 'key' ? ` to ${verdict.key}` : ''} had been acknowledged before you asked: stale`,
            facts: { staleKey: verdict.key ?? '(any)', staleSeen: verdict.seen, staleNewest: verdict.newest!.index },
          };
        }
        return { passed: false, detail: `${cut.node} answered, but nothing newer had been acknowledged yet: read a key the workload writes (k0–k4) again in a moment` };
      },
      autopilot: async (context) => {
        const cut = minorityCut(context.observe().actions);
        if (cut === null) throw new Error('no leader was cut off');
        const o = await context.waitFor('a write through the new leader', (x) => keyWrittenSince(x, cut.action.mono, cut.node) !== null);
        await context.cluster.query(readSql(keyWrittenSince(o, cut.action.mono, cut.node)!), [], { node: cut.node, consistency: 'local' });
      },
    },
    {
      title: 'Ask the cut-off leader linearizably',
      instruction: (o) => {
        const cut = minorityCut(o.actions);
        const key = cut === null ? null : keyWrittenSince(o, cut.action.mono, cut.node);
        const old = cut?.node ?? '<old leader>';
        return `Now ask ${old} for a linearizable read, as a client still pointed at it would: :read ${old} linearizable ${readSql(key ?? 'k1')} (it waits for a majority to confirm ${old}'s leadership, so the answer takes a few seconds). Or press A: the autopilot sends the same read with consistency linearizable (ReadIndex) and a 1 s timeout.`;
      },
      hint: 'For a linearizable read the leader first confirms, with a round of heartbeats, that a majority still accepts it as leader (ReadIndex); only then does it answer. The cut-off leader cannot reach a majority, so the read gets no answer instead of a stale one. A new leader has one more step before it may serve ReadIndex: it must commit an entry of its own term first (the no-op it appends on election; Raft thesis §6.4), or its commit index may be behind.',
      check: (o, before) => {
        const cut = minorityCut(o.actions);
        if (cut === null) return { passed: false, detail: 'no leader was cut off' };
        const asked = actionsOf(actionsSince(o, before), 'query').filter((a) => a.consistency === 'linearizable' && a.node === cut.node);
        if (asked.length === 0) return { passed: false, detail: `no linearizable read sent to ${cut.node} yet (:read ${cut.node} linearizable SELECT …, or press A)` };
        const served = asked.find((a) => a.outcome.ok);
        if (served !== undefined && served.outcome.ok) return { passed: false, detail: `${cut.node} served a linearizable read at index ${served.outcome.index} while cut off: that would be a bug` };
        const refused = asked.find((a) => !a.outcome.ok && !steppedDownBy(o, cut.node, cut.action.wall, a.wall) && a.outcome.error.kind !== 'not-leader');
        if (refused === undefined || refused.outcome.ok) return { passed: false, detail: `${cut.node} refused the read as a follower: it must still believe it leads for this step` };
        const ms = refused.endMono - refused.mono;
        return {
          passed: true,
          detail: `${cut.node} still believed it led, yet the linearizable read failed after ${formatMs(ms)} (${refused.outcome.error.kind}): it could not get a majority to confirm its leadership, so it answered nothing rather than something stale`,
          facts: { refusedKind: refused.outcome.error.kind, refusedMs: ms },
        };
      },
      autopilot: async (context) => {
        const o = context.observe();
        const cut = minorityCut(o.actions);
        if (cut === null) throw new Error('no leader was cut off');
        const key = keyWrittenSince(o, cut.action.mono, cut.node) ?? 'k1';
        await context.cluster.query(readSql(key), [], { node: cut.node, consistency: 'linearizable', timeoutMs: 1_000 }).catch(() => {});
      },
    },
    {
      title: 'Ask the new leader',
      instruction: (o) => {
        const cut = minorityCut(o.actions);
        const key = cut === null ? null : keyWrittenSince(o, cut.action.mono, cut.node);
        return `Read the same key linearizably through the leader of the highest term: :sql ${readSql(key ?? 'k1')}`;
      },
      hint: 'The new leader can confirm its leadership: its heartbeat round reaches a majority. It records its commit index as the read index, confirms, and answers once it has applied that far; before that, a new leader must commit an entry of its own term (its election no-op; Raft thesis §6.4), or its commit index may be behind.',
      check: (o, before) => {
        const reads = okQueries(o, before).filter((a) => a.consistency === 'linearizable');
        if (reads.length === 0) return { passed: false, detail: 'no linearizable read yet (:sql SELECT …)' };
        for (const read of reads) {
          const verdict = staleness(read, o.history);
          if (verdict === null) continue;
          if (verdict.stale) return { passed: false, detail: `a linearizable read returned ${verdict.seen} < ${verdict.newest!.index}: that would be a bug` };
          return {
            passed: true,
            detail: `${read.outcome.node} confirmed its leadership and answered ${verdict.key ?? 'its state'} at idx ${verdict.seen}: nothing acknowledged before the read is missing`,
            facts: { freshNode: read.outcome.node, freshKey: verdict.key ?? '(any)', freshSeen: verdict.seen },
          };
        }
        return { passed: false, detail: 'read a key the workload writes (k0–k4), so there is an acknowledged write to compare' };
      },
      autopilot: async (context) => {
        const o = context.observe();
        const cut = minorityCut(o.actions);
        const key = (cut === null ? null : keyWrittenSince(o, cut.action.mono, cut.node)) ?? 'k1';
        await context.cluster.query(readSql(key), [], { consistency: 'linearizable' });
      },
    },
    {
      title: 'Heal',
      instruction: 'Press h. The old leader hears the new term, steps down, becomes a follower, and drops what it never committed.',
      hint: 'Entries it appended after the cut were never on a majority, so no client was told "done" about them; Raft truncates them (entries-truncated) when the new leader\'s log disagrees.',
      check: (o, before) => {
        const cut = minorityCut(o.actions);
        if (cut === null) return { passed: false, detail: 'no leader was cut off' };
        const heal = actionsOf(actionsSince(o, before), 'heal')[0];
        if (heal === undefined) return { passed: false, detail: 'not healed yet (h)' };
        const old = node(o, cut.node);
        const leader = node(o, o.leader);
        if (old === undefined || leader === undefined || old.role !== 'follower' || old.term !== leader.term || old.appliedIndex < (heal.leaderCommitIndex ?? 0)) {
          return { passed: false, detail: `healed; waiting for ${cut.node} to rejoin and catch up` };
        }
        const stepped = eventsOf(o, 'stepped-down', cut.action.wall).find((e) => e.event.node === cut.node);
        const truncated = eventsOf(o, 'entries-truncated', cut.action.wall).filter((e) => e.event.node === cut.node).reduce((sum, e) => sum + e.event.count, 0);
        return {
          passed: true,
          detail: `${cut.node} ${stepped === undefined ? 'became a follower' : `stepped down (${stepped.event.reason})`} and follows ${leader.id} in term ${leader.term}, caught up; it discarded ${plural(truncated, 'uncommitted entry', 'uncommitted entries')}; ${plural(o.lostWrites.length, 'acknowledged write was', 'acknowledged writes were')} lost`,
          facts: { stepDownReason: stepped?.event.reason ?? 'became a follower', truncated, rejoinTerm: leader.term, lostWrites: o.lostWrites.length },
        };
      },
      autopilot: async (context) => {
        const cut = minorityCut(context.observe().actions);
        context.cluster.heal();
        if (cut !== null) await context.waitFor('the old leader to follow', (o) => node(o, cut.node)?.role === 'follower' && node(o, cut.node)?.term === node(o, o.leader)?.term);
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.oldLeader !== undefined) {
      lines.push(`Cut off, ${f.oldLeader} received ${plural(f.writesToOld ?? 0, 'write')} and acknowledged none: without a majority nothing commits. ${f.newLeader} won term ${f.newTerm} after ${formatMs(f.electedMs)}, while ${f.oldLeader} still reported itself leader of term ${f.oldTerm}.`);
      lines.push('This cluster ran without CheckQuorum, so that lasted until the heal. With CheckQuorum (the default here and in etcd) a leader steps down after an election timeout without a majority; the window between the cut and the step-down is shorter, but it is there.');
    }
    if (f.staleKey !== undefined) lines.push(`Your local read on ${f.oldLeader}, while it still believed it led, returned ${f.staleKey} at idx ${f.staleSeen} though index ${f.staleNewest} had been acknowledged: a stale read, served without complaint. A leader answering reads from its own state without checking would do the same.`);
    if (f.refusedKind !== undefined) lines.push(`A linearizable read sent to ${f.oldLeader} failed after ${formatMs(f.refusedMs)} (${f.refusedKind}): ReadIndex needs a majority to confirm the leadership first, and a cut-off leader cannot get one. No answer, rather than a wrong one.`);
    if (f.freshNode !== undefined) lines.push(`The linearizable read through ${f.freshNode} was confirmed by a majority before it answered (idx ${f.freshSeen}): etcd's default reads work this way, and MongoDB's readConcern "linearizable" likewise has the primary confirm, through a majority, that it is still primary before answering.`);
    if (f.rejoinTerm !== undefined) lines.push(`After the heal ${f.oldLeader} heard term ${f.rejoinTerm} and stepped down (${f.stepDownReason}), then discarded ${plural(f.truncated ?? 0, 'entry', 'entries')} no client had been told about; ${plural(f.lostWrites ?? 0, 'acknowledged write was', 'acknowledged writes were')} lost.`);
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${run.lostWrites} lost.`);
    return lines;
  },
  quiz: ['minority-leader', 'checkquorum', 'readindex', 'stale-local-read', 'lease-reads', 'cap-partition', 'serializable-reads', 'follower-readindex'],
});
