// stale-leader: with CheckQuorum off a cut-off leader keeps leading its old
// term while the majority elects another, so two leaders exist in different
// terms; a local read on the old one is stale and a ReadIndex read to it gets
// no answer. With CheckQuorum on it steps down. Then lease reads: answered by
// the leader with no round trip while its lease holds, which is safe only if
// clocks run at the same rate; a slow clock lets a cut-off leader's lease
// outlive its leadership, and a lease read returns stale data. ReadIndex never
// does.

import type { NodeId } from '../../cluster/index.js';
import { actionsOf, actionsSince, eventsOf, formatMs, keysNamed, leaders, node, type ActionOf } from '../analysis.js';
import type { Action, Baseline, LabSetup, Observation } from '../types.js';
import { defineLab } from '../types.js';
import { others, upsert } from './common.js';

interface Facts {
  oldLeader: string;
  oldTerm: number;
  newLeader: string;
  newTerm: number;
  electedMs: number;
  freshValue: string;
  staleValue: string;
  refusedKind: string;
  refusedMs: number;
  steppedNode: string;
  steppedMs: number;
  leaseMs: number;
  readIndexMs: number;
  slowNode: string;
  slowRate: number;
  slowTerm: number;
  slowNewLeader: string;
  slowNewTerm: number;
  leaseFresh: string;
  leaseStale: string;
  leaseReadAfterCutMs: number;
  leaseReadIndexKind: string;
}

/**
 * Long election timeouts (2–3 s) so each step can be watched, and so the lease of
 * a leader at a tenth of real speed lasts about 20 s: time for a person to type.
 * The lease is the election timeout minimum minus a tick, by the leader's own clock.
 */
const setup = (checkQuorum: boolean): LabSetup => ({
  cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, checkQuorum, electionTimeoutMs: [2_000, 3_000], heartbeatMs: 50, seed: 83 },
  workload: null,
});

const key = 'color';
const readSql = `SELECT v FROM kv WHERE k = '${key}'`;
/** The clock rate the lab uses: slow enough that the lease outlasts a person's typing, fast enough that heartbeats still beat the others' timeouts. */
const slowRate = 0.1;

type Query = ActionOf<'query'>;
type Execute = ActionOf<'execute'>;

/** The latest partition since `after` that cut the leader of the moment off on its own. */
function leaderCut(o: Pick<Observation, 'actions'>, after: number): { action: Action; node: NodeId } | null {
  const partitions = actionsOf(o.actions.filter((a) => a.seq > after), 'partition');
  for (let i = partitions.length - 1; i >= 0; i--) {
    const alone = partitions[i]!.groups.find((group) => group.length === 1)?.[0];
    if (alone !== undefined && alone === partitions[i]!.leader) return { action: partitions[i]!, node: alone };
  }
  return null;
}

/** The cut-off node still leading its old term, and a leader of a newer term elsewhere. */
function twoLeaders(o: Observation, cut: NodeId): { oldTerm: number; young: NodeId; youngTerm: number } | null {
  const old = node(o, cut);
  if (old?.role !== 'leader') return null;
  const young = leaders(o).find((n) => n.id !== cut && n.term > old.term);
  return young === undefined ? null : { oldTerm: old.term, young: young.id, youngTerm: young.term };
}

/** The value a query returned for the key, or "(no row)". */
function valueOf(read: Query): string {
  if (!read.outcome.ok) return '(failed)';
  const row = read.outcome.rows[0];
  return row === undefined ? '(no row)' : String(row['v'] ?? JSON.stringify(row));
}

/** The key and value an upsert wrote (`… VALUES ('color', 'blue')`), from its SQL. */
function written(write: Execute): { key: string; value: string } | null {
  const match = /VALUES\s*\(\s*'([^']*)'\s*,\s*'([^']*)'/i.exec(write.sql);
  return match === null ? null : { key: match[1]!, value: match[2]! };
}

function valueWritten(write: Execute): string {
  return written(write)?.value ?? write.sql;
}

/**
 * A read of the key on `on`, answered after a write of the key was acknowledged in a
 * term newer than `oldTerm`: the old leader's log (of its old term) cannot hold that
 * write, so the answer is stale if it differs. Returns the pair, newest read first.
 */
function staleRead(o: Observation, before: Pick<Baseline, 'actionCount'>, on: NodeId, oldTerm: number, accept: (read: Query) => boolean): { read: Query; write: Execute } | null {
  const since = actionsSince(o, before);
  const writes = actionsOf(since, 'execute').filter((w) => w.outcome.ok && w.outcome.term > oldTerm && written(w)?.key === key);
  const reads = actionsOf(since, 'query').filter((r) => r.outcome.ok && r.outcome.node === on && keysNamed(r.sql, r.params).includes(key) && accept(r));
  for (let i = reads.length - 1; i >= 0; i--) {
    const read = reads[i]!;
    const write = [...writes].reverse().find((w) => w.endMono < read.mono);
    if (write !== undefined && valueOf(read) !== valueWritten(write)) return { read, write };
  }
  return null;
}

/** Said when the text would name the leader and there is none (an election is under way, or no majority is up). */
const noLeaderYet = 'There is no leader right now (the header says NO LEADER): wait until one is elected, then';

/** How to cut the current leader off: never a node that does not lead. */
function cutInstruction(o: Pick<Observation, 'leader'>): string {
  return o.leader === null ? `wait until a leader is elected (the header says NO LEADER now), then :isolate <it>` : `:isolate ${o.leader}`;
}

/** `text` with the leader's id, or the same text prefixed with waiting for one when there is none. */
function withLeader(o: Pick<Observation, 'leader'>, text: (leader: string) => string): string {
  return o.leader === null ? `${noLeaderYet} ${text('<leader>')}` : text(o.leader);
}

export const staleLeader = defineLab<Facts>({
  id: 'stale-leader',
  title: 'Stale leader: CheckQuorum, ReadIndex and leases',
  level: 'advanced',
  minutes: 14,
  concepts: ['stale leader', 'CheckQuorum', 'ReadIndex', 'lease reads', 'clock drift', 'linearizability'],
  summary:
    'A leader cut off from the majority does not know it has been replaced. With CheckQuorum off it keeps leading its old term while the others elect a new leader: two leaders, in different terms. A local read on the old one is stale; a linearizable (ReadIndex) read to it gets no answer. With CheckQuorum on it steps down by itself. Then lease reads: the leader answers without a round trip while its lease holds, which is safe only while clocks run at the same rate. Slow the leader\'s clock and its lease outlives its leadership: a lease read returns stale data, a ReadIndex read never does.',
  setup: setup(false),
  steps: [
    {
      title: 'Write a value, then cut the leader off (CheckQuorum off)',
      instruction: (o) => `CheckQuorum is off on this cluster. Write a value: :sql ${upsert(key, 'red')} — then cut the leader off: ${cutInstruction(o)}. Wait for the other two to elect a leader (2–4 s).`,
      hint: 'Without CheckQuorum a leader never counts who still answers it; cut off, it hears nothing that would tell it a newer term exists. The two followers stop hearing heartbeats, time out, and elect one of themselves in the next term.',
      check: (o, before) => {
        const cut = leaderCut(o, before.actionCount);
        if (cut === null) return { passed: false, detail: `the leader has not been cut off yet (${cutInstruction(o)})` };
        const two = twoLeaders(o, cut.node);
        if (two === null) return { passed: false, detail: node(o, cut.node)?.role === 'leader' ? `${cut.node} is cut off and still leads; waiting for the others to elect a leader` : `${cut.node} no longer leads` };
        const elected = eventsOf(o, 'leader-elected', cut.action.wall).find((e) => e.event.node === two.young);
        const ms = elected === undefined ? null : elected.atMs - cut.action.wall;
        return {
          passed: true,
          detail: `two leaders: ${cut.node} still leads term ${two.oldTerm}, cut off; ${two.young} leads term ${two.youngTerm}${ms === null ? '' : `, elected ${formatMs(ms)} after the cut`}`,
          facts: { oldLeader: cut.node, oldTerm: two.oldTerm, newLeader: two.young, newTerm: two.youngTerm, ...(ms === null ? {} : { electedMs: ms }) },
        };
      },
      autopilot: async (context) => {
        await context.cluster.execute(upsert(key, 'red'));
        const o = await context.waitFor('the leader', (x) => x.leader !== null);
        const old = o.leader!;
        context.cluster.partition([[old], others(context.cluster.ids, old)]);
        await context.waitFor('a leader of a newer term', (x) => twoLeaders(x, old) !== null);
      },
    },
    {
      title: 'Write through the new leader, read the old one locally',
      instruction: (o) => {
        const cut = leaderCut(o, 0);
        const young = cut === null ? null : (twoLeaders(o, cut.node)?.young ?? null);
        return `Write through the new leader: :write ${young ?? '<new leader>'} ${upsert(key, 'blue')} — then read the old leader as it is: :read ${cut?.node ?? '<old leader>'} ${readSql}`;
      },
      hint: ':write sends the statement to the node you name (the old leader would take it and never commit it: it cannot reach a majority). The old leader never received the write (it is cut off), so its SQLite still holds the value from before: a client still talking to it reads the past, and nothing on that node says so.',
      check: (o, before) => {
        const cut = leaderCut(o, 0);
        if (cut === null) return { passed: false, detail: 'no leader was cut off' };
        const oldTerm = node(o, cut.node)?.term ?? 0;
        const found = staleRead(o, before, cut.node, oldTerm, (r) => r.consistency === 'local');
        if (found === null) return { passed: false, detail: `write ${key} through the new leader (:sql …), then read it locally on ${cut.node}` };
        const fresh = valueWritten(found.write);
        const stale = valueOf(found.read);
        return {
          passed: true,
          detail: `${found.write.outcome.ok ? found.write.outcome.leader : '?'} acknowledged ${key} = ${fresh} in term ${found.write.outcome.ok ? found.write.outcome.term : '?'}; ${cut.node}, still leading term ${oldTerm}, answered ${stale} at idx ${found.read.outcome.ok ? found.read.outcome.index : '?'}: stale`,
          facts: { freshValue: fresh, staleValue: stale },
        };
      },
      autopilot: async (context) => {
        const o = context.observe();
        const cut = leaderCut(o, 0);
        if (cut === null) throw new Error('no leader was cut off');
        const young = twoLeaders(o, cut.node)?.young;
        await context.cluster.execute(upsert(key, 'blue'), [], young === undefined ? {} : { node: young });
        await context.cluster.query(readSql, [], { node: cut.node, consistency: 'local' });
      },
    },
    {
      title: 'Ask the old leader for a linearizable read',
      instruction: (o) => {
        const old = leaderCut(o, 0)?.node ?? '<old leader>';
        return `:read ${old} linearizable ${readSql} — ${old} must first confirm with a majority that it still leads (ReadIndex). Expect to wait a few seconds.`;
      },
      hint: 'ReadIndex: the leader notes its commit index, sends a heartbeat round and answers only once a majority has acknowledged it in its term. Cut off, it gets no acknowledgement, so it gives no answer rather than a stale one. The Raft paper (§8) asks exactly this of a leader before it serves a read: check that it has not been deposed.',
      check: (o, before) => {
        const cut = leaderCut(o, 0);
        if (cut === null) return { passed: false, detail: 'no leader was cut off' };
        const asked = actionsOf(actionsSince(o, before), 'query').filter((a) => a.consistency === 'linearizable' && a.node === cut.node);
        if (asked.length === 0) return { passed: false, detail: `no linearizable read sent to ${cut.node} yet` };
        const served = asked.find((a) => a.outcome.ok);
        if (served !== undefined) return { passed: false, detail: `${cut.node} served a linearizable read while cut off: that would be a bug` };
        const refused = asked.find((a) => !a.outcome.ok && a.outcome.error.kind !== 'not-leader');
        if (refused === undefined || refused.outcome.ok) return { passed: false, detail: `${cut.node} refused as a follower; it must still believe it leads for this step` };
        const ms = refused.endMono - refused.mono;
        return {
          passed: true,
          detail: `${cut.node} still believed it led, and the read failed after ${formatMs(ms)} (${refused.outcome.error.kind}): no majority confirmed it, so no stale answer`,
          facts: { refusedKind: refused.outcome.error.kind, refusedMs: ms },
        };
      },
      autopilot: async (context) => {
        const cut = leaderCut(context.observe(), 0);
        if (cut === null) throw new Error('no leader was cut off');
        await context.cluster.query(readSql, [], { node: cut.node, consistency: 'linearizable', timeoutMs: 1_500 }).catch(() => {});
      },
    },
    {
      title: 'Again with CheckQuorum: the cut-off leader steps down',
      freshCluster: setup(true),
      instruction: (o) => `A new cluster, with CheckQuorum on. Cut the leader off: ${cutInstruction(o)} — and watch it in the event log.`,
      hint: 'With CheckQuorum a leader counts, every election timeout, the followers it heard from; without a majority it steps down (reason check-quorum). Its followers also refuse to vote while they hear a live leader, which is what a lease will rest on.',
      check: (o, before) => {
        const cut = leaderCut(o, before.actionCount);
        if (cut === null) return { passed: false, detail: `the leader has not been cut off yet (${cutInstruction(o)})` };
        const stepped = eventsOf(o, 'stepped-down', cut.action.wall).find((e) => e.event.node === cut.node && e.event.reason === 'check-quorum');
        if (stepped === undefined) return { passed: false, detail: `${cut.node} is cut off; waiting for it to notice it hears no majority` };
        const ms = stepped.atMs - cut.action.wall;
        return { passed: true, detail: `${cut.node} stepped down by itself (check-quorum) ${formatMs(ms)} after the cut, in term ${stepped.event.term}`, facts: { steppedNode: cut.node, steppedMs: ms } };
      },
      autopilot: async (context) => {
        const o = await context.waitFor('the leader', (x) => x.leader !== null);
        const old = o.leader!;
        context.cluster.partition([[old], others(context.cluster.ids, old)]);
        await context.waitFor('the check-quorum step-down', (x) => eventsOf(x, 'stepped-down', context.before.wall).some((e) => e.event.node === old && e.event.reason === 'check-quorum'));
      },
    },
    {
      title: 'Heal, then read on the leader\'s lease',
      instruction: (o) => {
        const reads = (leader: string) => `on the leader: :read ${leader} lease ${readSql} twice (the first starts the lease, through ReadIndex; the second is answered on it), and once :read ${leader} linearizable ${readSql} to compare.`;
        return `Press h. Write a value: :sql ${upsert(key, 'yellow')}. Then, ${o.leader === null ? `once a leader is elected (the header says NO LEADER now), ${reads('<leader>')}` : reads(o.leader)}`;
      },
      hint: 'A lease read skips the round trip: the leader answers at its commit index while a majority answered a heartbeat it sent less than the election timeout minimum ago. Each of those followers refuses to vote for anyone until that minimum has passed since it heard the heartbeat, so no other leader can exist yet, if every clock runs at the same rate. etcd calls this ReadOnlyLeaseBased and requires CheckQuorum for it. If a lease read says the leader held no lease, ask again: a node drops its lease whenever its own timer fires late (a pause it can notice), which happens on a loaded machine.',
      check: (o, before) => {
        const since = actionsSince(o, before);
        const leased = actionsOf(since, 'query').filter((q) => q.consistency === 'lease' && q.outcome.ok && q.outcome.lease === true);
        if (leased.length === 0) return { passed: false, detail: 'no read answered on a lease yet (:read <leader> lease …, twice)' };
        const fastest = (reads: readonly Query[]): number | null => (reads.length === 0 ? null : Math.min(...reads.map((q) => (q.outcome.ok ? q.outcome.latencyMs : Infinity))));
        const lease = leased[0]!;
        const leaseMs = fastest(leased)!;
        const readIndexMs = fastest(actionsOf(since, 'query').filter((q) => q.consistency === 'linearizable' && q.outcome.ok));
        return {
          passed: true,
          detail: `${lease.outcome.ok ? lease.outcome.node : 'the leader'} answered on its lease in ${formatMs(leaseMs)}${readIndexMs === null ? '' : `; the fastest ReadIndex read took ${formatMs(readIndexMs)}`} (each with the round trip to the dashboard)`,
          facts: { leaseMs, ...(readIndexMs === null ? {} : { readIndexMs }) },
        };
      },
      autopilot: async (context) => {
        context.cluster.heal();
        await context.waitFor('one leader, followed by all', (x) => leaders(x).length === 1 && x.status.every((n) => n.role === 'leader' || n.leader === leaders(x)[0]!.id));
        await context.cluster.execute(upsert(key, 'yellow'));
        // Through the leader (following not-leader hints): right after a heal leadership may still move once.
        // The first lease read of a term starts the lease; the next ones are answered on it.
        for (let attempt = 0; attempt < 10; attempt++) {
          const result = await context.cluster.query(readSql, [], { consistency: 'lease' }).catch(() => null);
          if (result?.lease === true) break;
          await context.pause(200);
        }
        await context.cluster.query(readSql, [], { consistency: 'linearizable' });
      },
    },
    {
      title: 'Slow the leader\'s clock and cut it off',
      instruction: (o) =>
        withLeader(
          o,
          (leader) =>
            `:clock ${leader} ${slowRate} — ${leader === '<leader>' ? 'its' : `${leader}'s`} timers now run at a tenth of real speed (its heartbeats still come often enough). Then cut it off: :isolate ${leader}. Have the next commands ready: from here the lease lasts about 20 s of real time, and the new leader takes 2–4 s to come.`,
        ),
      hint: 'The lease counts the leader\'s own ticks. At ×0.1 each tick comes ten times late, so the lease that should end an election timeout after the last answered heartbeat lasts ten times longer in real time, while the two followers, with normal clocks, time out and elect a new leader after about a second. Nothing on the slow node can tell: its clock is the only clock it has.',
      check: (o, before) => {
        const since = actionsSince(o, before);
        const slowed = actionsOf(since, 'clock').filter((c) => c.error === null && c.rate < 1);
        if (slowed.length === 0) return { passed: false, detail: `slow the leader's clock first (:clock <leader> ${slowRate})` };
        const cut = leaderCut(o, before.actionCount);
        const slow = cut === null ? undefined : slowed.find((c) => c.node === cut.node && c.seq < cut.action.seq);
        if (cut === null || slow === undefined) return { passed: false, detail: 'now cut the slowed leader off (:isolate <it>)' };
        const two = twoLeaders(o, cut.node);
        if (two === null) return { passed: false, detail: node(o, cut.node)?.role === 'leader' ? `${cut.node} is cut off and still leads; waiting for the others to elect a leader` : `${cut.node} no longer leads (did its lease lapse already?)` };
        return {
          passed: true,
          detail: `${cut.node}, clock at ×${slow.rate}, still leads term ${two.oldTerm}; ${two.young} leads term ${two.youngTerm}`,
          facts: { slowNode: cut.node, slowRate: slow.rate, slowTerm: two.oldTerm, slowNewLeader: two.young, slowNewTerm: two.youngTerm },
        };
      },
      autopilot: async (context) => {
        const o = await context.waitFor('the leader', (x) => x.leader !== null);
        const leader = o.leader!;
        // Its lease is running (the last step's reads); one more lease read keeps the pattern plain.
        await context.cluster.query(readSql, [], { node: leader, consistency: 'lease' });
        context.raft.setClockRate(leader, slowRate);
        await context.pause(300);
        context.cluster.partition([[leader], others(context.cluster.ids, leader)]);
        await context.waitFor('a leader of a newer term', (x) => twoLeaders(x, leader) !== null);
      },
    },
    {
      title: 'Write, then read on the old leader\'s lease',
      instruction: (o) => {
        const old = leaderCut(o, 0)?.node ?? '<old leader>';
        const cut = leaderCut(o, 0);
        const young = cut === null ? null : (twoLeaders(o, cut.node)?.young ?? null);
        return `Quickly: :write ${young ?? '<new leader>'} ${upsert(key, 'green')}, then :read ${old} lease ${readSql}, then :read ${old} linearizable ${readSql}`;
      },
      hint: 'The lease read is answered on the old leader\'s lease: no message leaves the node, so nothing tells it a newer term has committed green. The ReadIndex read sends a heartbeat round first, which no majority answers: it fails instead of lying. If the lease read says it held no lease, the lease had already lapsed (it then behaves as ReadIndex): press h, wait until one leader leads, then slow that leader (:clock <it> 0.1), cut it off (:isolate <it>) and try again, faster.',
      check: (o, before) => {
        const cut = leaderCut(o, 0);
        if (cut === null) return { passed: false, detail: 'no leader was cut off' };
        const oldTerm = node(o, cut.node)?.term ?? 0;
        const found = staleRead(o, before, cut.node, oldTerm, (r) => r.consistency === 'lease' && r.outcome.ok && r.outcome.lease === true);
        const leaseReads = actionsOf(actionsSince(o, before), 'query').filter((q) => q.consistency === 'lease' && q.node === cut.node);
        if (found === null) {
          const lapsed = leaseReads.find((q) => !q.outcome.ok || q.outcome.lease !== true);
          return { passed: false, detail: lapsed !== undefined && leaseReads.every((q) => !q.outcome.ok || q.outcome.lease !== true) ? `${cut.node}'s lease had lapsed: the lease read went through ReadIndex` : `write ${key} through the new leader, then :read ${cut.node} lease …` };
        }
        const readIndex = actionsOf(actionsSince(o, before), 'query').filter((q) => q.consistency === 'linearizable' && q.node === cut.node);
        if (readIndex.some((q) => q.outcome.ok && valueOf(q) !== valueWritten(found.write))) return { passed: false, detail: `a ReadIndex read on ${cut.node} returned stale data: that would be a bug` };
        const failed = readIndex.find((q) => !q.outcome.ok);
        if (failed === undefined || failed.outcome.ok) return { passed: false, detail: `the lease read was stale; now :read ${cut.node} linearizable ${readSql}` };
        const fresh = valueWritten(found.write);
        const stale = valueOf(found.read);
        const afterCut = found.read.mono - cut.action.mono;
        return {
          passed: true,
          detail: `${key} = ${fresh} was acknowledged in term ${found.write.outcome.ok ? found.write.outcome.term : '?'}, yet ${cut.node} answered ${stale} on its lease ${formatMs(afterCut)} after the cut; the ReadIndex read to it failed (${failed.outcome.error.kind})`,
          facts: { leaseFresh: fresh, leaseStale: stale, leaseReadAfterCutMs: afterCut, leaseReadIndexKind: failed.outcome.error.kind },
        };
      },
      autopilot: async (context) => {
        const o = context.observe();
        const cut = leaderCut(o, 0);
        if (cut === null) throw new Error('no leader was cut off');
        const young = twoLeaders(o, cut.node)?.young;
        await context.cluster.execute(upsert(key, 'green'), [], young === undefined ? {} : { node: young });
        await context.cluster.query(readSql, [], { node: cut.node, consistency: 'lease', timeoutMs: 1_500 }).catch(() => {});
        await context.cluster.query(readSql, [], { node: cut.node, consistency: 'linearizable', timeoutMs: 1_500 }).catch(() => {});
      },
    },
    {
      title: 'Fix the clock and heal',
      instruction: (o) => {
        const old = leaderCut(o, 0)?.node ?? '<old leader>';
        return `:clock ${old} 1, then press h. The old leader hears the newer term and steps down.`;
      },
      hint: 'Back in contact it sees the higher term and becomes a follower. What it served on its lease while cut off cannot be taken back: a client already acted on green\'s absence.',
      check: (o, before) => {
        const cut = leaderCut(o, 0);
        if (cut === null) return { passed: false, detail: 'no leader was cut off' };
        const since = actionsSince(o, before);
        const fixed = actionsOf(since, 'clock').some((c) => c.node === cut.node && c.rate === 1 && c.error === null);
        const heal = actionsOf(since, 'heal')[0];
        if (!fixed || heal === undefined) return { passed: false, detail: `${fixed ? '' : `:clock ${cut.node} 1`}${!fixed && heal === undefined ? ' and ' : ''}${heal === undefined ? 'press h' : ''}` };
        const leader = leaders(o)[0];
        const old = node(o, cut.node);
        if (leaders(o).length !== 1 || leader === undefined || old?.leader !== leader.id) return { passed: false, detail: `waiting for ${cut.node} to follow the leader of the newest term` };
        return { passed: true, detail: `${cut.node} follows ${leader.id} in term ${leader.term}; one leader again` };
      },
      autopilot: async (context) => {
        const cut = leaderCut(context.observe(), 0);
        if (cut === null) throw new Error('no leader was cut off');
        context.raft.setClockRate(cut.node, 1);
        context.cluster.heal();
        await context.waitFor('the old leader to follow', (o) => leaders(o).length === 1 && node(o, cut.node)?.leader === leaders(o)[0]!.id);
      },
    },
  ],
  debrief: (f) => {
    const lines: string[] = [];
    if (f.oldLeader !== undefined) {
      lines.push(`With CheckQuorum off, ${f.oldLeader} was cut off and kept leading term ${f.oldTerm} while ${f.newLeader} was elected for term ${f.newTerm}${f.electedMs === undefined ? '' : ` ${formatMs(f.electedMs)} after the cut`}: two leaders, in different terms. Terms keep them apart for writes (the old one cannot commit), not for reads.`);
    }
    if (f.freshValue !== undefined) lines.push(`A local read on ${f.oldLeader} answered ${f.staleValue} after ${f.freshValue} was acknowledged: a client still pointed at the old leader reads the past.`);
    if (f.refusedKind !== undefined) lines.push(`A linearizable read to it failed after ${formatMs(f.refusedMs)} (${f.refusedKind}): ReadIndex asks a majority first, and no majority answered. No answer, rather than a wrong one.`);
    if (f.steppedNode !== undefined) lines.push(`With CheckQuorum, ${f.steppedNode} stepped down by itself ${formatMs(f.steppedMs)} after the cut: a leader that cannot hear a majority for an election timeout gives up.`);
    if (f.leaseMs !== undefined) lines.push(`On its lease the leader answered in ${formatMs(f.leaseMs)}${f.readIndexMs === undefined ? '' : `, against ${formatMs(f.readIndexMs)} for a ReadIndex read`} (the fastest of each, the dashboard's round trip to the node included): no heartbeat round. The price is an assumption: that no clock runs slow or fast enough to matter.`);
    if (f.leaseStale !== undefined) {
      lines.push(`With its clock at ×${f.slowRate}, ${f.slowNode} still believed its lease ${formatMs(f.leaseReadAfterCutMs)} after the cut, although ${f.slowNewLeader} led term ${f.slowNewTerm}: its lease read answered ${f.leaseStale} after ${f.leaseFresh} was acknowledged. The ReadIndex read to it failed (${f.leaseReadIndexKind}).`);
    }
    lines.push('The Raft paper (§8) names both ways to serve a read without writing to the log: exchange heartbeats with a majority first (ReadIndex), or rely on the heartbeats as a lease, which "would rely on timing for safety" (bounded clock skew). etcd offers both (ReadOnlySafe, the default, and ReadOnlyLeaseBased, which requires CheckQuorum and warns it can be affected by clock drift).');
    lines.push('A process pause is the same hazard as a slow clock, but detectable: this node drops its lease when its tick timer fires late. A clock that runs slow gives no sign. `replica-lab sim --faults clock` finds stale lease reads in many seeds; with every other fault (`--faults all`), none, and it never finds a stale ReadIndex read.');
    return lines;
  },
  quiz: ['stale-leader-two-terms', 'readindex-cut-off-leader', 'check-quorum-step-down', 'lease-read-assumption', 'lease-clock-drift'],
});
