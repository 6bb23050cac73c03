// async-lost-writes: an async leader acknowledges at its own flush, so when it
// is cut off and dies, the writes only it had vanish: the new leader never saw
// them, and the old one rolls them back into a file when it returns.

import { actionsSince, eventsOf, formatMs, listing, median, node, plural, writeLatencies, writesAcked, keysNamed } from '../analysis.js';
import type { Action, Observation } from '../types.js';
import { defineLab } from '../types.js';
import { leaderAndFollowers, leaderName, okQueries, others } from './common.js';
import { describeLost, lostWriteDetails } from './lost-writes.js';

interface Facts {
  asyncP50Ms: number;
  oldLeader: string;
  ackedAfterCut: number;
  newLeader: string;
  newTerm: number;
  electedAfterMs: number;
  lostCount: number;
  rolledBack: number;
  rollbackPath: string;
  firstLost: string[];
  lostKey: string;
  lostValue: string;
  currentValue: string;
}

/** The latest partition that left one node alone, and that node. */
function lastIsolation(actions: readonly Action[]): { action: Action; node: string } | null {
  for (let i = actions.length - 1; i >= 0; i--) {
    const action = actions[i]!;
    if (action.kind !== 'partition') continue;
    const alone = action.groups.find((group) => group.length === 1);
    if (alone !== undefined) return { action, node: alone[0]! };
  }
  return null;
}

function firstLostWithKey(o: Observation) {
  return lostWriteDetails(o).find((w) => w.key !== null);
}

export const asyncLostWrites = defineLab<Facts>({
  id: 'async-lost-writes',
  title: 'Async replication loses acknowledged writes',
  level: 'intermediate',
  minutes: 10,
  concepts: ['async replication', 'acknowledged writes', 'failover', 'rollback', 'RPO'],
  summary:
    'In async mode the leader says "done" once a write is on its own disk. Cut the leader off under load and it keeps saying "done" while the others elect a new leader; kill it, bring it back, and count the acknowledged writes that vanished — then find them in its rollback file.',
  setup: {
    cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'raft', seed: 21 },
    workload: { rate: 200, concurrency: 16, readFraction: 0.1, keys: 50, readTarget: 'leader', readConsistency: 'local', timeoutMs: 2_000, seed: 21 },
  },
  steps: [
    {
      title: 'Switch to async',
      instruction: 'Press m until the header says async (or :mode async). From now on the leader acknowledges a write as soon as it is on its own disk.',
      hint: 'This is PostgreSQL with synchronous_commit=local (the commit is flushed to the primary\'s own WAL) and, roughly, MongoDB with w:1 (the primary acknowledges once it has applied the write in memory; on its disk, in the journal, only with j:true). Fast, and the followers catch up when they can.',
      check: (o, before) => {
        const leader = node(o, o.leader);
        if (o.replication.mode !== 'async' || leader?.replication?.mode !== 'async') return { passed: false, detail: `replication is ${o.replication.mode}, not async yet` };
        const p50 = median(writeLatencies(o.history, before.mono));
        return { passed: true, detail: `${leader.id} acknowledges at its own flush now${p50 === null ? '' : `: writes take ${formatMs(p50)} (median)`}`, facts: p50 === null ? {} : { asyncP50Ms: p50 } };
      },
      autopilot: async (context) => {
        await context.cluster.setReplication({ mode: 'async' });
        await context.waitFor('async writes', (o) => writeLatencies(o.history, context.before.mono).length >= 20);
      },
    },
    {
      title: 'Cut the leader off',
      instruction: (o, before) => `Select the leader (${before.leader ?? leaderName(o)}) and press i to isolate it (or :isolate ${before.leader ?? leaderName(o)}). Its network is gone; its process still runs.`,
      hint: 'Failures rarely come one at a time: a switch fails, then the machine. Watch the event log: the others elect a new leader, while the old one goes on acknowledging writes for a moment.',
      check: (o, before) => {
        const cut = lastIsolation(actionsSince(o, before));
        if (cut === null) return { passed: false, detail: 'the leader has not been isolated yet' };
        if (cut.action.leader !== cut.node) return { passed: false, detail: `${cut.node} was isolated, but ${cut.action.leader ?? 'nobody'} was leading; isolate the leader` };
        const after = writesAcked(o.history, cut.action.mono).filter((w) => w.node === cut.node);
        if (after.length === 0) return { passed: false, detail: `${cut.node} is cut off; waiting for a write it acknowledges alone` };
        return {
          passed: true,
          detail: `${cut.node} is cut off and went on acknowledging: ${plural(after.length, 'write')} after the cut, each on its own disk only`,
          facts: { oldLeader: cut.node, ackedAfterCut: after.length },
        };
      },
      autopilot: async (context) => {
        const { leader } = await leaderAndFollowers(context);
        const cutMono = performance.now();
        context.cluster.partition([[leader], others(context.cluster.ids, leader)]);
        await context.waitFor('a write acknowledged by the isolated leader', (o) => writesAcked(o.history, cutMono).some((w) => w.node === leader));
        // As a person would: watch the others elect a leader before killing the old one.
        await context.waitFor('the others to elect a leader', (o) => o.leader !== null && o.leader !== leader);
      },
    },
    {
      title: 'Kill it',
      instruction: (o) => `Select ${lastIsolation(o.actions)?.node ?? 'the old leader'} and press k. Its process dies; the writes only it had die with it.`,
      hint: 'The other two have already elected a leader among themselves (a majority is 2 of 3). Look for leader-elected in the event log.',
      check: (o) => {
        const cut = lastIsolation(o.actions);
        if (cut === null) return { passed: false, detail: 'no leader was isolated' };
        if (node(o, cut.node)?.up !== false) return { passed: false, detail: `${cut.node} is still running` };
        const elected = eventsOf(o, 'leader-elected', cut.action.wall).find((e) => e.event.node !== cut.node);
        if (elected === undefined || o.leader === null) return { passed: false, detail: `${cut.node} is dead; waiting for the others to elect a leader` };
        const afterMs = elected.atMs - cut.action.wall;
        return {
          passed: true,
          detail: `${cut.node} is dead; ${elected.event.node} was elected in term ${elected.event.term}, ${formatMs(afterMs)} after the cut, with votes from ${listing([...elected.event.votes])}`,
          facts: { newLeader: elected.event.node, newTerm: elected.event.term, electedAfterMs: afterMs },
        };
      },
      autopilot: async (context) => {
        const cut = lastIsolation(context.observe().actions);
        if (cut === null) throw new Error('no isolated leader to kill');
        await context.cluster.kill(cut.node);
        await context.waitFor('a new leader', (o) => o.leader !== null && o.leader !== cut.node);
      },
    },
    {
      title: 'Bring it back',
      instruction: (o) => `Press h to heal the network, then select ${lastIsolation(o.actions)?.node ?? 'the old leader'} and press r to restart it.`,
      hint: 'It comes back with entries the new leader never had. Raft makes its log match the leader: those entries are truncated, and the writes they applied are rolled back into a file (MongoDB does the same).',
      check: (o, before) => {
        const cut = lastIsolation(o.actions);
        if (cut === null) return { passed: false, detail: 'no leader was isolated' };
        if (node(o, cut.node)?.up !== true) return { passed: false, detail: `${cut.node} is down: heal (h), then restart it (r)` };
        const lost = lostWriteDetails(o, before.lostWriteCount);
        if (lost.length === 0) return { passed: false, detail: `${cut.node} is up; waiting for it to rejoin and roll back` };
        const rolled = eventsOf(o, 'entries-rolled-back', before.wall).filter((e) => e.event.node === cut.node);
        const rolledBack = rolled.reduce((sum, e) => sum + (e.event.toIndex - e.event.fromIndex + 1), 0);
        const path = lost[0]!.path ?? eventsOf(o, 'writes-lost', before.wall)[0]?.event.rollbackPath ?? '(no file)';
        return {
          passed: true,
          detail: `${cut.node} rolled back ${plural(rolledBack, 'entry', 'entries')}; ${plural(lost.length, 'acknowledged write was', 'acknowledged writes were')} lost. They are in ${path}`,
          facts: { lostCount: lost.length, rolledBack, rollbackPath: path, firstLost: lost.slice(0, 3).map(describeLost) },
        };
      },
      autopilot: async (context) => {
        const cut = lastIsolation(context.observe().actions);
        if (cut === null) throw new Error('no isolated leader to bring back');
        context.cluster.heal();
        await context.cluster.restart(cut.node);
        await context.waitFor('the rollback', (o) => o.lostWrites.length > context.before.lostWriteCount);
      },
    },
    {
      title: 'Look for a lost write',
      instruction: (o) => {
        const lost = firstLostWithKey(o);
        if (lost === undefined) return 'Pick a lost write from the event log (writes-lost) or the rollback file, and read its key through the leader: :sql SELECT k, v, idx FROM kv WHERE k = \'<key>\'';
        return `${describeLost(lost)} was acknowledged, then lost. Ask the cluster for it: :sql SELECT k, v, idx FROM kv WHERE k = '${lost.key}'`;
      },
      hint: (o) => `The rollback file is plain JSON lines: cat ${firstLostWithKey(o)?.path ?? '<data dir>/<node>/rollback/*.jsonl'} in another terminal. Each line is the entry (index, term, statement, parameters) the node undid.`,
      check: (o, before) => {
        const lost = lostWriteDetails(o).filter((w) => w.key !== null);
        if (lost.length === 0) return { passed: false, detail: 'no lost write with a key to look for' };
        for (const read of okQueries(o, before)) {
          const keys = new Set([...keysNamed(read.sql, read.params), ...read.outcome.rows.map((row) => row['k']).filter((k): k is string => typeof k === 'string')]);
          const match = lost.find((w) => keys.has(w.key!));
          if (match === undefined) continue;
          const row = read.outcome.rows.find((r) => r['k'] === match.key);
          const current = row === undefined ? '(no row)' : `'${String(row['v'])}'${typeof row['idx'] === 'number' ? ` (idx ${row['idx']})` : ''}`;
          if (row !== undefined && row['v'] === match.value) return { passed: false, detail: `${match.key} still shows the lost value; was it written again?` };
          return {
            passed: true,
            detail: `${match.key} now holds ${current}; the acknowledged '${match.value}' (index ${match.index}, term ${match.term}) survives only in ${match.path}`,
            facts: { lostKey: match.key!, lostValue: match.value ?? 'NULL', currentValue: current },
          };
        }
        return { passed: false, detail: `no read of a lost key yet (e.g. ${lost[0]!.key})` };
      },
      autopilot: async (context) => {
        const lost = firstLostWithKey(context.observe());
        if (lost === undefined) throw new Error('no lost write with a key');
        await context.cluster.query('SELECT k, v, idx FROM kv WHERE k = ?', [lost.key], { consistency: 'linearizable' });
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.asyncP50Ms !== undefined) lines.push(`In async mode ${f.oldLeader ?? 'the leader'} acknowledged writes at its own flush: ${formatMs(f.asyncP50Ms)} median, with no follower in the way.`);
    if (f.oldLeader !== undefined) lines.push(`Cut off, ${f.oldLeader} went on saying "done" for ${plural(f.ackedAfterCut ?? 0, 'write')} that no other node would ever see.`);
    if (f.newLeader !== undefined) lines.push(`Meanwhile the majority elected ${f.newLeader} (term ${f.newTerm}), ${formatMs(f.electedAfterMs)} after the cut. Its log ends where the followers' copies ended.`);
    if (f.lostCount !== undefined) {
      lines.push(`${plural(f.lostCount, 'acknowledged write was', 'acknowledged writes were')} lost: ${f.oldLeader} rolled back ${plural(f.rolledBack ?? 0, 'entry', 'entries')} when it rejoined. The first ${Math.min(3, f.firstLost?.length ?? 0)}: ${(f.firstLost ?? []).join('; ')}.`);
      lines.push(`They are in ${f.rollbackPath}: a person can re-apply them by hand (MongoDB's rollback files work the same way); nothing does it automatically, and later writes may have overwritten the same keys.`);
    }
    if (f.lostKey !== undefined) lines.push(`You read ${f.lostKey}: it holds ${f.currentValue}, not the acknowledged '${f.lostValue}'.`);
    lines.push('The price of async is the RPO: everything acknowledged but not yet on a follower can vanish at failover. In quorum mode the cut-off leader could not have acknowledged anything without a majority; its clients would have seen timeouts instead (lab quorum-commit).');
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${run.lostWrites} of them lost.`);
    return lines;
  },
  quiz: ['async-ack-point', 'async-rpo', 'rollback-files', 'isolated-async-leader', 'mongodb-w1', 'pg-synchronous-commit-local', 'pg-synchronous-commit-off', 'rpo-rto'],
});
