// partition: a leader cut into the minority cannot commit, steps down, and
// the majority elects anew; a local read on the cut-off node is stale, a
// linearizable (ReadIndex) read through the new leader is not.

import type { NodeId } from '../../cluster/index.js';
import { actionsOf, actionsSince, eventsOf, formatMs, node, plural, staleness, writesAcked, writesInvoked } from '../analysis.js';
import type { Action, Observation } from '../types.js';
import { defineLab } from '../types.js';
import { leaderAndFollowers, leaderName, okQueries, others } from './common.js';

interface Facts {
  oldLeader: string;
  writesToOld: number;
  stepDownMs: number;
  stepDownReason: string;
  newLeader: string;
  newTerm: number;
  electedMs: number;
  staleKey: string;
  staleSeen: number;
  staleNewest: number;
  freshNode: string;
  freshKey: string;
  freshSeen: number;
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

export const partition = defineLab<Facts>({
  id: 'partition',
  title: 'A partition: the minority leader, stale reads and ReadIndex',
  level: 'intermediate',
  minutes: 10,
  concepts: ['network partition', 'minority', 'checkquorum', 'stale reads', 'linearizable reads', 'readindex'],
  summary:
    'Cut the leader off from the other two. It can no longer reach a majority, so it commits nothing and steps down, while the majority elects a new leader and carries on. A local read on the cut-off node answers from a frozen copy; a linearizable read through the new leader confirms leadership first (ReadIndex) and is up to date.',
  setup: {
    cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'raft', seed: 61 },
    workload: { rate: 40, concurrency: 8, readFraction: 0.2, keys: 5, readTarget: 'leader', readConsistency: 'local', timeoutMs: 1_000, seed: 61 },
  },
  steps: [
    {
      title: 'Cut the leader off',
      instruction: (o) => `Put the leader on its own: :partition ${leaderName(o)} | ${o.status.filter((n) => n.id !== o.leader).map((n) => n.id).join(' ')} (or select it and press i).`,
      hint: 'Writes sent to it still reach its log, but a majority never confirms them. With CheckQuorum it notices within an election timeout that it has lost its majority and steps down; the other two elect a leader of a higher term.',
      check: (o, before) => {
        const cut = minorityCut(actionsSince(o, before));
        if (cut === null) return { passed: false, detail: 'the leader has not been cut into a minority yet' };
        const stepped = eventsOf(o, 'stepped-down', cut.action.wall).find((e) => e.event.node === cut.node);
        const elected = eventsOf(o, 'leader-elected', cut.action.wall).find((e) => !cut.minority.includes(e.event.node));
        const sent = writesInvoked(o.history, cut.action.mono).filter((w) => w.node === cut.node);
        const ackedByOld = sent.filter((w) => w.end?.type === 'ok' && w.end.node === cut.node).length;
        if (ackedByOld > 0) return { passed: false, detail: `${cut.node} acknowledged ${ackedByOld} writes after the cut: is its side a majority?` };
        if (stepped === undefined || elected === undefined) {
          return { passed: false, detail: `${cut.node} is cut off; waiting for ${stepped === undefined ? `it to step down` : ''}${stepped === undefined && elected === undefined ? ' and ' : ''}${elected === undefined ? 'the majority to elect a leader' : ''}` };
        }
        return {
          passed: true,
          detail: `${cut.node} acknowledged 0 of ${plural(sent.length, 'write')} sent to it after the cut, stepped down after ${formatMs(stepped.atMs - cut.action.wall)} (${stepped.event.reason}); ${elected.event.node} won term ${elected.event.term} after ${formatMs(elected.atMs - cut.action.wall)}`,
          facts: {
            oldLeader: cut.node,
            writesToOld: sent.length,
            stepDownMs: stepped.atMs - cut.action.wall,
            stepDownReason: stepped.event.reason,
            newLeader: elected.event.node,
            newTerm: elected.event.term,
            electedMs: elected.atMs - cut.action.wall,
          },
        };
      },
      autopilot: async (context) => {
        const { leader } = await leaderAndFollowers(context);
        context.cluster.partition([[leader], others(context.cluster.ids, leader)]);
        await context.waitFor('a new leader and the old one stepping down', (o) => o.leader !== null && o.leader !== leader && node(o, leader)?.role !== 'leader');
      },
    },
    {
      title: 'Read the cut-off copy',
      instruction: (o) => {
        const cut = minorityCut(o.actions);
        const key = cut === null ? null : keyWrittenSince(o, cut.action.mono, cut.node);
        return `Read a key on the cut-off node, locally: :read ${cut?.node ?? '<old leader>'} ${readSql(key ?? 'k1')}`;
      },
      hint: 'The workload keeps writing through the new leader. The cut-off node still answers local reads from its own SQLite, frozen at the moment of the cut: a read there misses writes that were acknowledged before you asked.',
      check: (o, before) => {
        const cut = minorityCut(o.actions);
        if (cut === null) return { passed: false, detail: 'no leader was cut off' };
        const reads = okQueries(o, before).filter((a) => a.consistency === 'local' && a.outcome.node === cut.node);
        if (reads.length === 0) return { passed: false, detail: `no local read on ${cut.node} yet` };
        for (const read of reads) {
          const verdict = staleness(read, o.history);
          if (verdict === null || !verdict.stale) continue;
          const what = verdict.basis === 'key' ? `${verdict.key} at idx ${verdict.seen}` : `state at applied index ${verdict.seen}`;
          return {
            passed: true,
            detail: `${cut.node} answered ${what}, but a write at index ${verdict.newest!.index}${verdict.basis === 'key' ? ` to ${verdict.key}` : ''} had been acknowledged before you asked: stale`,
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
      title: 'Ask the leader instead',
      instruction: (o) => {
        const cut = minorityCut(o.actions);
        const key = cut === null ? null : keyWrittenSince(o, cut.action.mono, cut.node);
        return `Read the same key linearizably, through the leader: :sql ${readSql(key ?? 'k1')}`;
      },
      hint: 'A linearizable read goes to the leader, which first confirms with a heartbeat round that a majority still follows it (ReadIndex), then answers once it has applied up to its commit index. A deposed leader cannot pass that test, so it cannot serve a stale linearizable read.',
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
      instruction: 'Press h. The old leader hears the new term, becomes a follower, and drops what it never committed.',
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
        const truncated = eventsOf(o, 'entries-truncated', cut.action.wall).filter((e) => e.event.node === cut.node).reduce((sum, e) => sum + e.event.count, 0);
        return {
          passed: true,
          detail: `${cut.node} follows ${leader.id} in term ${leader.term}, caught up; it discarded ${plural(truncated, 'uncommitted entry', 'uncommitted entries')}; ${plural(o.lostWrites.length, 'acknowledged write was', 'acknowledged writes were')} lost`,
          facts: { truncated, rejoinTerm: leader.term, lostWrites: o.lostWrites.length },
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
      lines.push(`Cut off, ${f.oldLeader} received ${plural(f.writesToOld ?? 0, 'write')} and acknowledged none: without a majority nothing commits. It stepped down after ${formatMs(f.stepDownMs)} (${f.stepDownReason}), and ${f.newLeader} won term ${f.newTerm} after ${formatMs(f.electedMs)}.`);
      lines.push(`Between the cut and the step-down ${f.oldLeader} still believed it led. That window is why a leader must not answer reads from its own state without checking (a lease or ReadIndex).`);
    }
    if (f.staleKey !== undefined) lines.push(`Your local read on ${f.oldLeader} returned ${f.staleKey} at idx ${f.staleSeen} while index ${f.staleNewest} had been acknowledged: a stale read, served without complaint.`);
    if (f.freshNode !== undefined) lines.push(`The linearizable read went to ${f.freshNode}, which confirmed a majority still followed it before answering (idx ${f.freshSeen}): etcd's default reads work this way, and MongoDB's readConcern "linearizable" likewise has the primary confirm, through a majority, that it is still primary before answering.`);
    if (f.rejoinTerm !== undefined) lines.push(`After the heal ${f.oldLeader} followed term ${f.rejoinTerm} and discarded ${plural(f.truncated ?? 0, 'entry', 'entries')} no client had been told about; ${plural(f.lostWrites ?? 0, 'acknowledged write was', 'acknowledged writes were')} lost.`);
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${run.lostWrites} lost.`);
    return lines;
  },
  quiz: ['minority-leader', 'checkquorum', 'readindex', 'stale-local-read', 'lease-reads', 'cap-partition', 'serializable-reads', 'follower-readindex'],
});
