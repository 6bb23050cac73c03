// async-lost-writes: an async leader acknowledges at its own flush, so when it
// is cut off and dies, the writes only it had vanish: the new leader never saw
// them, and the old one rolls them back into a file when it returns.

import { actionsSince, earlierOn, eventsOf, formatMs, keysNamed, listing, median, node, plural, writeLatencies, writesAcked } from '../analysis.js';
import type { Action, AutopilotContext, Baseline, Observation, Step } from '../types.js';
import { defineLab } from '../types.js';
import { leaderAndFollowers, leaderName, okExecutes, okQueries, others, type OkExecute } from './common.js';
import { asyncLostWritesPostgres } from './async-lost-writes.postgres.js';
import { describeLost, lostWriteDetails } from './lost-writes.js';

export interface Facts {
  asyncP50Ms: number;
  oldLeader: string;
  proofKey: string;
  proofIndex: number;
  proofTerm: number;
  newLeader: string;
  newTerm: number;
  electedAfterMs: number;
  lostCount: number;
  lostBeforeCut: number;
  lostAfterCut: number;
  lostUnmatched: number;
  ackedAfterCut: number;
  rolledBack: number;
  notAcknowledged: number;
  rollbackPath: string;
  firstLost: string[];
  proofSql: string;
  proofCurrent: string;
  /** PostgreSQL: the LSN the promoted standby had received when the failover manager chose it, and whether it fenced the old primary first. */
  promotedReceivedLsn: number;
  fenced: boolean;
}

/** The key the person (or the autopilot) writes through the cut-off leader: no workload write (k0–k49) touches it. */
export const proofKey = 'only-on-the-old-leader';
/** SQL both engines take (SQLite >= 3.24 and PostgreSQL), so the command is the same on either. */
export const proofSql = (leader: string): string => `INSERT INTO kv(k, v) VALUES ('${proofKey}', 'acknowledged by ${leader}') ON CONFLICT(k) DO UPDATE SET v = excluded.v`;
export const proofRead = `SELECT k, v, idx FROM kv WHERE k = '${proofKey}'`;

/** The latest partition that left one node alone, and that node. */
export function lastIsolation(actions: readonly Action[]): { action: Action; node: string } | null {
  for (let i = actions.length - 1; i >= 0; i--) {
    const action = actions[i]!;
    if (action.kind !== 'partition') continue;
    const alone = action.groups.find((group) => group.length === 1);
    if (alone !== undefined) return { action, node: alone[0]! };
  }
  return null;
}

/** Whether a statement (a SELECT's `k = '…'`, an INSERT's literal, a parameter) names `key`. */
export function namesKey(sql: string, params: readonly unknown[], key: string): boolean {
  return keysNamed(sql, params).includes(key) || sql.includes(`'${key}'`) || params.includes(key);
}

/** Writes sent after the cut that name the proof key and that the cut-off node acknowledged. */
export function proofWrites(o: Observation, cut: { action: Action; node: string }): OkExecute[] {
  return okExecutes(o, { actionCount: cut.action.seq }).filter((a) => a.outcome.leader === cut.node && namesKey(a.sql, a.params, proofKey));
}

/** Whether any write other than `except` (by index and term) touched `key`: the workload's or one sent through the lab. */
export function otherWriteTo(o: Observation, key: string, except: { index: number; term: number }): boolean {
  const same = (index: number, term: number): boolean => index === except.index && term === except.term;
  if (writesAcked(o.history).some((w) => w.key === key && !same(w.index, w.term))) return true;
  return okExecutes(o, { actionCount: 0 }).some((a) => namesKey(a.sql, a.params, key) && !same(a.outcome.index, a.outcome.term));
}

/**
 * Every lost write, sorted by when it was acknowledged: before the cut (it
 * was on the leader's disk but not yet on a follower when the network went)
 * or after it (no follower could ever have had it). Matched by index and term
 * against the workload's history and the writes sent through the lab.
 */
export function lostByCut(o: Observation, cut: { action: Action; node: string }, fromCount: number): { before: number; after: number; unmatched: number } {
  const ackedAt = new Map<string, number>();
  for (const w of writesAcked(o.history)) ackedAt.set(`${w.index}:${w.term}`, w.mono);
  for (const a of okExecutes(o, { actionCount: 0 })) ackedAt.set(`${a.outcome.index}:${a.outcome.term}`, a.endMono);
  let before = 0;
  let after = 0;
  let unmatched = 0;
  for (const lost of o.lostWrites.slice(fromCount)) {
    const at = ackedAt.get(`${lost.index}:${lost.term}`);
    if (at === undefined) unmatched++;
    else if (at < cut.action.mono) before++;
    else after++;
  }
  return { before, after, unmatched };
}

/** Acknowledgements the cut-off node gave after the cut: the workload's and those of writes sent through the lab. */
export function ackedAfter(o: Observation, cut: { action: Action; node: string }): number {
  return writesAcked(o.history, cut.action.mono).filter((w) => w.node === cut.node).length + okExecutes(o, { actionCount: cut.action.seq }).filter((a) => a.outcome.leader === cut.node).length;
}

/** The words an engine uses in this lab's shared checks and texts. */
export interface Words {
  /** 'leader' or 'primary'. */
  readonly leader: string;
  /** What the cut-off node was, if not the leader: 'was leading' or 'was the primary'. */
  readonly leading: string;
  /** 'follower' or 'standby'. */
  readonly follower: string;
  /** A log position: 'index' or 'LSN'. */
  readonly position: string;
  /** 'term' or 'timeline'. */
  readonly term: string;
  /** Where an async leader's acknowledged writes sit: 'disk' or 'WAL'. */
  readonly disk: string;
  /** What it acknowledges at: 'flush' or 'WAL flush'. */
  readonly flush: string;
  /** A lost write was not yet …: 'replicated' or 'on a standby'. */
  readonly replicated: string;
  /** What the autopilot waits for after the cut: 'the others to elect a leader' or 'the failover manager to promote a standby'. */
  readonly takeOver: string;
  /** What the autopilot waits for after the restart: 'the rollback' or 'the rewind'. */
  readonly undo: string;
}

const raftWords: Words = {
  leader: 'leader',
  leading: 'was leading',
  follower: 'follower',
  position: 'index',
  term: 'term',
  disk: 'disk',
  flush: 'flush',
  replicated: 'replicated',
  takeOver: 'the others to elect a leader',
  undo: 'the rollback',
};

// The helpers below are function declarations: the PostgreSQL variant's module calls them while it loads, possibly
// before this module has run (it imports this one back), and only hoisted functions exist by then.

/** Step 1's check: async mode is on, with the median write latency since. */
export function asyncCheck(words: Words): Step<Facts>['check'] {
  return (o, before) => {
    const leader = node(o, o.leader);
    if (o.replication.mode !== 'async' || leader?.replication?.mode !== 'async') return { passed: false, detail: `replication is ${o.replication.mode}, not async yet` };
    const p50 = median(writeLatencies(o.history, before.mono));
    return { passed: true, detail: `${leader.id} acknowledges at its own ${words.flush} now${p50 === null ? '' : `: writes take ${formatMs(p50)} (median)`}`, facts: p50 === null ? {} : { asyncP50Ms: p50 } };
  };
}

/** Step 1's autopilot: switch to async and let some writes through. */
export async function asyncAutopilot(context: AutopilotContext): Promise<void> {
  await context.cluster.setReplication({ mode: 'async' });
  await context.waitFor('async writes', (o) => writeLatencies(o.history, context.before.mono).length >= 20);
}

/** Step 2's check: the leader was isolated and acknowledged the proof write alone. */
export function cutOffCheck(words: Words): Step<Facts>['check'] {
  return (o, before) => {
    const cut = lastIsolation(actionsSince(o, before));
    if (cut === null) return { passed: false, detail: `the ${words.leader} has not been isolated yet` };
    if (cut.action.leader !== cut.node) return { passed: false, detail: `${cut.node} was isolated, but ${cut.action.leader ?? 'nobody'} ${words.leading}; isolate the ${words.leader}` };
    const proof = proofWrites(o, cut)[0];
    const workload = writesAcked(o.history, cut.action.mono).filter((w) => w.node === cut.node).length;
    if (proof === undefined) return { passed: false, detail: `${cut.node} is cut off (${plural(workload, 'workload write')} acknowledged by it since); now write ${proofKey} through it: :write ${cut.node} ${proofSql(cut.node)}` };
    return {
      passed: true,
      detail: `${cut.node} is cut off and still says "done": it acknowledged your ${proofKey} at ${words.position} ${proof.outcome.index} (${words.term} ${proof.outcome.term}), and ${plural(workload, 'workload write')} so far since the cut; only its own ${words.disk} has them`,
      facts: { oldLeader: cut.node, proofKey, proofIndex: proof.outcome.index, proofTerm: proof.outcome.term, proofSql: proof.sql },
    };
  };
}

/** Step 2's autopilot: isolate the leader, write the proof key through it, and (as a person would) watch another take over before killing it. */
export function cutOffAutopilot(words: Words): Step<Facts>['autopilot'] {
  return async (context) => {
    const { leader } = await leaderAndFollowers(context);
    context.cluster.partition([[leader], others(context.cluster.ids, leader)]);
    await context.cluster.execute(proofSql(leader), [], { node: leader });
    await context.waitFor(words.takeOver, (o) => o.leader !== null && o.leader !== leader);
  };
}

/** Step 4: the lost writes since `fromCount` split by the cut, in words, and those acknowledged after the cut that survived. */
export function lossByCut(o: Observation, cut: { action: Action; node: string }, fromCount: number, words: Words): { split: { before: number; after: number; unmatched: number }; afterCut: number; parts: string[]; survivors: string } {
  const split = lostByCut(o, cut, fromCount);
  const afterCut = ackedAfter(o, cut);
  const parts = [
    `${split.before} acknowledged before the cut but not yet on a ${words.follower} when it came`,
    `${split.after} acknowledged after it`,
    ...(split.unmatched > 0 ? [`${split.unmatched} no longer in the history kept`] : []),
  ];
  const survived = Math.max(0, afterCut - split.after);
  const survivors = survived === 0 ? '' : ` (${cut.node} acknowledged ${afterCut} after the cut: ${survived} of them had reached a ${words.follower} before the cut took effect on the links, and survived)`;
  return { split, afterCut, parts, survivors };
}

/** Step 4's autopilot: heal, restart the old leader, wait for its lost writes. */
export function bringBackAutopilot(words: Words): Step<Facts>['autopilot'] {
  return async (context) => {
    const cut = lastIsolation(context.observe().actions);
    if (cut === null) throw new Error(`no isolated ${words.leader} to bring back`);
    context.cluster.heal();
    await context.cluster.restart(cut.node);
    await context.waitFor(words.undo, (o) => o.lostWrites.length > context.before.lostWriteCount);
  };
}

/** Step 5's instruction: what the old leader acknowledged, then the read to send (`ask`: whom, e.g. 'the cluster'). */
export function lookInstruction(words: Words, ask: string): (o: Observation) => string {
  return (o) => {
    const cut = lastIsolation(o.actions);
    const proof = cut === null ? undefined : proofWrites(o, cut)[0];
    const said = proof === undefined ? '' : `${cut!.node} acknowledged your ${proofKey} at ${words.position} ${proof.outcome.index}, ${words.term} ${proof.outcome.term}. `;
    return `${said}Ask ${ask} for it: :sql ${proofRead}`;
  };
}

/** Step 5: the first read since `before` that asked for the proof key (by the SQL or the rows it returned): where it ran and the row it found, if any. */
export function readOfProof(o: Observation, before: Pick<Baseline, 'actionCount'>): { node: string; row: Readonly<Record<string, unknown>> | undefined } | null {
  for (const read of okQueries(o, before)) {
    const keys = new Set([...keysNamed(read.sql, read.params), ...read.outcome.rows.map((row) => row['k']).filter((k): k is string => typeof k === 'string')]);
    if (keys.has(proofKey)) return { node: read.outcome.node, row: read.outcome.rows.find((r) => r['k'] === proofKey) };
  }
  return null;
}

/** The debrief's count of lost writes, split by the cut. */
export function lostSentence(f: Partial<Facts>, words: Words): string {
  return `${plural(f.lostCount ?? 0, 'acknowledged write was', 'acknowledged writes were')} lost: ${f.lostBeforeCut} acknowledged before the cut but not yet ${words.replicated} when it came, ${f.lostAfterCut} acknowledged after it${(f.lostUnmatched ?? 0) > 0 ? `, ${f.lostUnmatched} no longer in the history kept` : ''}.${f.ackedAfterCut !== undefined && f.lostAfterCut !== undefined && f.ackedAfterCut > f.lostAfterCut ? ` The other ${f.ackedAfterCut - f.lostAfterCut} acknowledged after the cut had reached a ${words.follower} before the cut took effect on the links, and survived.` : ''}`;
}

/** The debrief's line on the proof read. */
export function proofReadLine(f: Partial<Facts>): string {
  return `You read ${f.proofKey}: ${f.proofCurrent}. No other write ever touched that key, so nothing overwrote it: it was acknowledged and then it vanished.`;
}

export const asyncLostWrites = defineLab<Facts>({
  id: 'async-lost-writes',
  title: 'Async replication loses acknowledged writes',
  level: 'intermediate',
  minutes: 10,
  concepts: ['async replication', 'acknowledged writes', 'failover', 'rollback', 'RPO'],
  engines: ['replica-lab', 'postgres'],
  summary:
    'In async mode the leader says "done" once a write is on its own disk. Cut the leader off under load and it keeps saying "done" while the others elect a new leader; write a key of your own through it, kill it, bring it back, and count the acknowledged writes that vanished, yours among them — then find them in its rollback file.',
  setup: {
    // No CheckQuorum: the cut-off leader keeps leading until it hears the new term, so a person has time to write through it.
    cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'raft', checkQuorum: false, seed: 21 },
    workload: { rate: 200, concurrency: 16, readFraction: 0.1, keys: 50, readTarget: 'leader', readConsistency: 'local', timeoutMs: 2_000, seed: 21 },
  },
  steps: [
    {
      title: 'Switch to async',
      instruction: 'Press m until the header says async (or :mode async). From now on the leader acknowledges a write as soon as it is on its own disk.',
      hint: 'This is PostgreSQL with synchronous_commit=local (the commit is flushed to the primary\'s own WAL) and, roughly, MongoDB with w:1 (the primary acknowledges once it has applied the write in memory; on its disk, in the journal, only with j:true). Fast, and the followers catch up when they can.',
      check: asyncCheck(raftWords),
      autopilot: asyncAutopilot,
    },
    {
      title: 'Cut the leader off and write through it',
      instruction: (o, before) => {
        const leader = before.leader ?? leaderName(o);
        return `Select the leader (${leader}) and press i to isolate it (or :isolate ${leader}). Its network is gone; its process still runs. Then write a key no other write touches, through it, as a client still connected to it would: :write ${leader} ${proofSql(leader)}`;
      },
      hint: 'Failures rarely come one at a time: a switch fails, then the machine. Watch the event log: the others elect a new leader, while the old one goes on acknowledging what its clients send. This cluster runs without CheckQuorum so that you have time to write through it; with CheckQuorum it would step down after an election timeout, and what it acknowledged until then would be lost just the same.',
      check: cutOffCheck(raftWords),
      // As a person would: watch the others elect a leader before killing the old one.
      autopilot: cutOffAutopilot(raftWords),
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
        const { split, afterCut, parts, survivors } = lossByCut(o, cut, before.lostWriteCount, raftWords);
        return {
          passed: true,
          detail: `${cut.node} rolled back ${plural(rolledBack, 'applied entry', 'applied entries')}; ${plural(lost.length, 'acknowledged write was', 'acknowledged writes were')} lost: ${listing(parts)}${survivors}. They are in ${path}`,
          facts: {
            lostCount: lost.length,
            lostBeforeCut: split.before,
            lostAfterCut: split.after,
            lostUnmatched: split.unmatched,
            ackedAfterCut: afterCut,
            rolledBack,
            notAcknowledged: Math.max(0, rolledBack - lost.length),
            rollbackPath: path,
            firstLost: lost.slice(0, 3).map(describeLost),
          },
        };
      },
      autopilot: bringBackAutopilot(raftWords),
    },
    {
      title: 'Look for your lost write',
      instruction: lookInstruction(raftWords, 'the cluster'),
      hint: (o) => {
        const file = lostWriteDetails(o).find((w) => w.key === proofKey)?.path ?? '<data dir>/<node>/rollback/*.jsonl';
        return `The rollback file is plain JSON lines, one per entry the node undid (index, term, statement, parameters): grep ${proofKey} ${file} in another terminal. No other write touched ${proofKey}, so its absence can only be the loss.`;
      },
      check: (o, before) => {
        const lost = lostWriteDetails(o).find((w) => w.key === proofKey);
        if (lost === undefined) return { passed: false, detail: `${proofKey} is not among the lost writes: was it written through the cut-off leader (step 2)?` };
        if (otherWriteTo(o, proofKey, lost)) return { passed: false, detail: `another write touched ${proofKey}, so its absence would prove nothing; start the lab again` };
        const read = readOfProof(o, before);
        if (read === null) return { passed: false, detail: `no read of ${proofKey} yet: :sql ${proofRead}` };
        if (read.row !== undefined) return { passed: false, detail: `${proofKey} has a row ('${String(read.row['v'])}'): was it written again?` };
        return {
          passed: true,
          detail: `${read.node} has no row for ${proofKey}: the write acknowledged at index ${lost.index} (term ${lost.term}) is gone, and no other write ever touched that key; its only copy is in ${lost.path ?? 'no file'}`,
          facts: { proofCurrent: '(no row)', rollbackPath: lost.path ?? '(no file)' },
        };
      },
      autopilot: async (context) => {
        await context.cluster.query(proofRead, [], { consistency: 'linearizable' });
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.asyncP50Ms !== undefined) lines.push(`In async mode ${f.oldLeader ?? 'the leader'} acknowledged writes at its own flush: ${formatMs(f.asyncP50Ms)} median, with no follower in the way.`);
    if (f.oldLeader !== undefined) lines.push(`Cut off, ${f.oldLeader} went on saying "done"${f.ackedAfterCut === undefined ? '' : `: ${plural(f.ackedAfterCut, 'write')} acknowledged after the cut`}, your ${f.proofKey} among them (index ${f.proofIndex}), which no other node ever saw.`);
    if (f.newLeader !== undefined) lines.push(`Meanwhile the majority elected ${f.newLeader} (term ${f.newTerm}), ${formatMs(f.electedAfterMs)} after the cut. Its log ends where the followers' copies ended.`);
    if (f.lostCount !== undefined) {
      lines.push(
        `${lostSentence(f, raftWords)} ${f.oldLeader} rolled back ${plural(f.rolledBack ?? 0, 'applied entry', 'applied entries')} when it rejoined${(f.notAcknowledged ?? 0) > 0 ? `; the other ${f.notAcknowledged} had never been acknowledged to a client (an election no-op, or writes whose answer never arrived)` : ''}. The first ${Math.min(3, f.firstLost?.length ?? 0)}: ${(f.firstLost ?? []).join('; ')}.`,
      );
    }
    if (f.proofCurrent !== undefined) lines.push(proofReadLine(f));
    if (f.rollbackPath !== undefined) {
      const reapply = f.proofSql === undefined ? '' : ` To re-apply yours by hand while the lab runs: :sql ${f.proofSql} — through the leader, so that it is replicated (writing into one node's state.db would not be).`;
      const keep = run.dataKept === true ? ' The file stays after you quit (--data-dir).' : ' This run\'s dir is temporary and goes when you quit; run the lab with --data-dir <dir> to keep the file.';
      lines.push(`The lost writes are in ${f.rollbackPath}, one JSON line per entry with its statement and parameters (grep ${f.proofKey ?? 'a key'} there): a person can re-apply them by hand, as with MongoDB's rollback files; nothing does it automatically, and later writes may have overwritten the same keys.${reapply}${keep}`);
    }
    const pg = earlierOn<Facts>(run, 'postgres');
    if (pg !== null && pg.facts.lostCount !== undefined && f.lostCount !== undefined) {
      lines.push(
        `Your PostgreSQL run of this lab (${pg.autopilot ? 'autopilot' : 'by hand'}, ${pg.at.slice(0, 10)}) lost ${plural(pg.facts.lostCount, 'acknowledged write')}, this one ${f.lostCount}: the same loss by the same mechanism (the counts differ with the rate, ${asyncLostWritesPostgres.setup.workload?.rate ?? '?'} writes a second there, ${asyncLostWrites.setup.workload?.rate ?? '?'} here, and with how long each old leader ran cut off).${pg.facts.electedAfterMs !== undefined && f.electedAfterMs !== undefined ? ` There a failover manager promoted a standby ${formatMs(pg.facts.electedAfterMs)} after the cut; here the majority elected one ${formatMs(f.electedAfterMs)} after it.` : ''} There pg_rewind overwrote the old primary's blocks and kept no copy of what it removed; here the rollback file keeps every statement.`,
      );
    }
    lines.push('The price of async is the RPO: everything acknowledged but not yet on a follower can vanish at failover. In quorum mode the cut-off leader could not have acknowledged anything without a majority; its clients would have seen timeouts instead (lab quorum-commit).');
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${run.lostWrites} of them lost.`);
    return lines;
  },
  // A getter: the variant's module imports this one back, so it may not be initialised yet while this one loads.
  variants: {
    get postgres() {
      return asyncLostWritesPostgres;
    },
  },
  quiz: ['async-ack-point', 'async-rpo', 'rollback-files', 'isolated-async-leader', 'mongodb-w1', 'pg-synchronous-commit-local', 'pg-synchronous-commit-off', 'rpo-rto'],
});
