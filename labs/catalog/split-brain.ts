// split-brain: manual failover without fencing leaves two leaders that both
// acknowledge writes, and the replicas diverge; with fencing the old leader
// steps down the moment it hears the newer term. In both runs the followers
// refuse appends from a lower term: that is what keeps the third replica clean.

import type { NodeId } from '../../cluster/index.js';
import { actionsOf, actionsSince, earlierOn, eventsOf, leaders, listing, node, plural, writesAcked } from '../analysis.js';
import type { Action, LabSetup, Observation, Step } from '../types.js';
import { defineLab } from '../types.js';
import { okExecutes, okQueries, others, upsert } from './common.js';
import { describeLost, lostWriteDetails } from './lost-writes.js';
import { splitBrainPostgres } from './split-brain.postgres.js';

export interface Facts {
  oldPrimary: string;
  oldTerm: number;
  newPrimary: string;
  newTerm: number;
  oldWrite: string;
  newWrite: string;
  ignoredTerm: number;
  thirdReplica: string;
  divergentKey: string;
  oldValue: string;
  newValue: string;
  fencedPrimary: string;
  fencedTerm: number;
  fencedLost: number;
  fencedFirstLost: string;
  /** PostgreSQL: a write the old primary acknowledged after the heal (nothing told it of the new primary). */
  afterHealWrite: string;
  /** PostgreSQL: the failover manager promoted the new primary (not a person). */
  promotedByManager: boolean;
}

const setup = (fencing: boolean): LabSetup => ({
  cluster: { nodes: 3, replication: { mode: 'async', ackLevel: 'flushed' }, failover: 'manual', fencing, seed: 71 },
  workload: { rate: 20, concurrency: 4, readFraction: 0, keys: 20, timeoutMs: 1_000, seed: 71 },
});

const ownerSql = "SELECT k, v FROM kv WHERE k = 'owner'";

/** The latest partition since `after` that cut the primary of the moment off on its own. */
export function primaryCut(o: Observation, after: number): { action: Action; node: NodeId } | null {
  const partitions = actionsOf(actionsSince(o, { actionCount: after }), 'partition');
  for (let i = partitions.length - 1; i >= 0; i--) {
    const alone = partitions[i]!.groups.find((group) => group.length === 1)?.[0];
    if (alone !== undefined && alone === partitions[i]!.leader) return { action: partitions[i]!, node: alone };
  }
  return null;
}

/** The two leaders, old (lower term) and new, when there are two. */
export function twoLeaders(o: Observation): { old: NodeId; oldTerm: number; young: NodeId; youngTerm: number } | null {
  const list = leaders(o);
  if (list.length < 2) return null;
  const young = list[0]!;
  const old = list[list.length - 1]!;
  return old.term < young.term ? { old: old.id, oldTerm: old.term, young: young.id, youngTerm: young.term } : null;
}

export function cutInstruction(o: Observation): string {
  const primary = o.leader ?? 'n1';
  return `:partition ${primary} | ${others(o.status.map((n) => n.id), primary).join(' ')}`;
}

/** The words an engine uses in this lab's shared steps: what a position, a term, a node and two leaders are called there. */
export interface Words {
  /** A log position: 'index' (replica-lab) or 'LSN' (PostgreSQL). */
  readonly position: string;
  /** 'term' or 'timeline'. */
  readonly term: string;
  /** 'nodes' or 'servers'. */
  readonly nodes: string;
  /** Two of them: 'leaders' or 'primaries'. */
  readonly leaders: string;
  /** What has diverged: 'the replicas' or 'the two primaries'. */
  readonly diverged: string;
}

const raftWords: Words = { position: 'index', term: 'term', nodes: 'nodes', leaders: 'leaders', diverged: 'the replicas' };

// The steps below are function declarations: the PostgreSQL variant's module calls them while it loads, possibly
// before this module has run (it imports this one back), and only hoisted functions exist by then.

/** Write to both: one write through the old primary, one through the new; each says "done". */
export function writeToBoth(words: Words, hint: string): Step<Facts> {
  return {
    title: 'Write to both',
    instruction: (o) => {
      const two = twoLeaders(o);
      return `Two clients, one on each side: :write ${two?.old ?? '<old primary>'} ${upsert('owner', 'alice')} and then :sql ${upsert('owner', 'bob')} (through the new primary).`;
    },
    hint,
    check: (o, before) => {
      const writes = okExecutes(o, before);
      const byLeader = new Map<string, (typeof writes)[number]>();
      for (const w of writes) byLeader.set(w.outcome.leader, w);
      if (byLeader.size < 2) return { passed: false, detail: byLeader.size === 0 ? 'no write acknowledged yet' : `only ${[...byLeader.keys()][0]} has acknowledged a write; write to the other primary too` };
      const [a, b] = [...byLeader.values()].sort((x, y) => x.outcome.term - y.outcome.term);
      const say = (w: NonNullable<typeof a>): string => `${w.outcome.leader} acknowledged ${words.position} ${w.outcome.index} (${words.term} ${w.outcome.term})`;
      return { passed: true, detail: `${say(a!)}; ${say(b!)}: both said "done"`, facts: { oldWrite: say(a!), newWrite: say(b!) } };
    },
    autopilot: async (context) => {
      const two = twoLeaders(context.observe());
      if (two === null) throw new Error(`there are not two ${words.leaders}`);
      await context.cluster.execute(upsert('owner', 'alice'), [], { node: two.old });
      await context.cluster.execute(upsert('owner', 'bob'), [], { node: two.young });
    },
  };
}

/** Compare the replicas: the same key read locally on both primaries gives two answers. */
export function compareReplicas(words: Words, hint: string): Step<Facts> {
  return {
    title: 'Compare the replicas',
    instruction: (o) => {
      const two = twoLeaders(o);
      return `Read the key on each primary, locally: :read ${two?.old ?? '<old>'} ${ownerSql} and :read ${two?.young ?? '<new>'} ${ownerSql}`;
    },
    hint,
    check: (o, before) => {
      const reads = okQueries(o, before).filter((a) => a.consistency === 'local');
      for (const a of reads) {
        for (const b of reads) {
          if (a.outcome.node >= b.outcome.node || a.sql !== b.sql) continue;
          const show = (rows: readonly Readonly<Record<string, unknown>>[]): string => (rows.length === 0 ? '(no row)' : rows.map((r) => String(r['v'] ?? JSON.stringify(r))).join(', '));
          const va = show(a.outcome.rows);
          const vb = show(b.outcome.rows);
          if (va === vb) continue;
          return {
            passed: true,
            detail: `${a.outcome.node} says ${va}, ${b.outcome.node} says ${vb}: ${words.diverged} have diverged`,
            facts: { divergentKey: a.sql.includes("'owner'") ? 'owner' : a.sql, oldValue: `${a.outcome.node}: ${va}`, newValue: `${b.outcome.node}: ${vb}` },
          };
        }
      }
      return { passed: false, detail: reads.length === 0 ? 'no local reads yet' : `no two ${words.nodes} have answered the same query differently yet` };
    },
    autopilot: async (context) => {
      const two = twoLeaders(context.observe());
      if (two === null) throw new Error(`there are not two ${words.leaders}`);
      await context.cluster.query(ownerSql, [], { node: two.old, consistency: 'local' });
      await context.cluster.query(ownerSql, [], { node: two.young, consistency: 'local' });
    },
  };
}

export const splitBrain = defineLab<Facts>({
  id: 'split-brain',
  title: 'Split brain: manual failover without fencing',
  level: 'advanced',
  minutes: 12,
  concepts: ['split brain', 'manual failover', 'fencing', 'terms (epochs)', 'divergence'],
  engines: ['replica-lab', 'postgres'],
  summary:
    'Failover here is manual, as with a PostgreSQL primary and a person at the console, and fencing is off. Cut the primary off, promote a standby, and you have two primaries that both say "done"; write to both and the replicas diverge. Then on a second cluster with fencing, the old primary steps down the moment it hears the newer term.',
  setup: setup(false),
  steps: [
    {
      title: 'Cut the primary off',
      instruction: (o) => `The primary is ${o.leader ?? 'n1'}; failover is manual. Cut it off from the standbys: ${cutInstruction(o)}`,
      hint: 'Nobody campaigns under manual failover: the standbys wait for a person. Without fencing the old primary never steps down on its own either (no CheckQuorum), and in async mode it keeps acknowledging the writes its clients send.',
      check: (o, before) => {
        const cut = primaryCut(o, before.actionCount);
        if (cut === null) return { passed: false, detail: 'the primary has not been cut off yet' };
        const primary = node(o, cut.node);
        if (primary?.role !== 'leader') return { passed: false, detail: `${cut.node} is no longer leading` };
        const othersLeading = leaders(o).filter((n) => n.id !== cut.node);
        return {
          passed: true,
          detail: `${cut.node} is cut off and still leads term ${primary.term}; ${othersLeading.length === 0 ? 'the standbys have no leader: nobody takes over until you do' : `${listing(othersLeading.map((n) => n.id))} leads too`}`,
          facts: { oldPrimary: cut.node, oldTerm: primary.term },
        };
      },
      autopilot: async (context) => {
        const o = await context.waitFor('the primary', (x) => x.leader !== null);
        context.cluster.partition([[o.leader!], others(context.cluster.ids, o.leader!)]);
      },
    },
    {
      title: 'Promote a standby',
      instruction: (o) => {
        const cut = primaryCut(o, 0);
        return `Fail over by hand: select ${cut === null ? 'a standby' : others(o.status.map((n) => n.id), cut.node)[0]} and press P (or :promote <node>).`;
      },
      hint: 'Promotion makes the standby a leader in the next term with whatever log it has. Nothing tells the old primary.',
      check: (o) => {
        const two = twoLeaders(o);
        if (two === null) return { passed: false, detail: `${plural(leaders(o).length, 'leader')} now; promote a standby` };
        return { passed: true, detail: `two leaders: ${two.old} (term ${two.oldTerm}) and ${two.young} (term ${two.youngTerm})`, facts: { newPrimary: two.young, newTerm: two.youngTerm } };
      },
      autopilot: async (context) => {
        const cut = primaryCut(context.observe(), 0);
        if (cut === null) throw new Error('no primary was cut off');
        await context.cluster.promote(others(context.cluster.ids, cut.node)[0]!);
        await context.waitFor('two leaders', (o) => twoLeaders(o) !== null);
      },
    },
    writeToBoth(raftWords, ':write sends a statement to the node you name; :sql goes to the leader of the highest term. Both should say "done".'),
    {
      title: 'Heal the network',
      instruction: 'Press h. The old primary now hears the new one.',
      hint: 'It sees a higher term and, without fencing, ignores it (higher-term-ignored in the event log). Both keep leading. The third replica still follows only the new primary: a follower rejects appends that carry a lower term than its own, so the old primary\'s writes never reach it.',
      check: (o, before) => {
        const heal = actionsOf(actionsSince(o, before), 'heal')[0];
        if (heal === undefined) return { passed: false, detail: 'not healed yet (h)' };
        const ignored = eventsOf(o, 'higher-term-ignored', heal.wall)[0];
        if (ignored === undefined) return { passed: false, detail: 'healed; waiting for the old primary to hear the new term' };
        const two = twoLeaders(o);
        // The third replica: a follower of the newer term, which rejects the old primary's appends (their term is lower).
        const third = two === null ? undefined : o.status.find((n) => n.id !== two.old && n.id !== two.young && n.up);
        const fenced = third !== undefined && two !== null && third.role === 'follower' && third.leader === two.young && third.term === two.youngTerm;
        return {
          passed: true,
          detail: `${ignored.event.node} heard term ${ignored.event.seen} from ${ignored.event.from} and ignored it; ${two === null ? 'one leader' : `still two leaders (${two.old}, ${two.young})`}${fenced ? `; ${third.id} follows ${two.young} in term ${two.youngTerm} and rejects ${two.old}'s appends, which carry the lower term ${two.oldTerm}` : ''}`,
          facts: { ignoredTerm: ignored.event.seen, ...(fenced ? { thirdReplica: third.id } : {}) },
        };
      },
      autopilot: async (context) => {
        context.cluster.heal();
        await context.waitFor('higher-term-ignored', (o) => eventsOf(o, 'higher-term-ignored', context.before.wall).length > 0);
      },
    },
    compareReplicas(
      raftWords,
      'Same key, two answers, each acknowledged as done by the primary that took it: divergent replicas. The old primary\'s write was never on a majority (an async primary applies a write at its own flush, before any follower has it), but its client was told "done" all the same. There is no automatic way back; someone must pick one history and throw the other away.',
    ),
    {
      title: 'Again, with fencing: cut and promote',
      freshCluster: setup(true),
      instruction: (o) => `A new cluster, now with fencing: a leader that hears a higher term steps down. Do the same failover: ${cutInstruction(o)}, then select a standby and press P.`,
      hint: 'Under manual failover nothing notices on its own that the old primary is cut off; fencing acts when it hears the newer term.',
      check: (o, before) => {
        const cut = primaryCut(o, before.actionCount);
        if (cut === null) return { passed: false, detail: 'the primary has not been cut off yet' };
        const young = leaders(o).find((n) => n.id !== cut.node);
        if (young === undefined) return { passed: false, detail: `${cut.node} is cut off; now promote a standby (P)` };
        return { passed: true, detail: `${young.id} leads term ${young.term}; ${cut.node}, cut off, has not heard of it` };
      },
      autopilot: async (context) => {
        const o = await context.waitFor('the primary', (x) => x.leader !== null);
        const primary = o.leader!;
        const cutMono = performance.now();
        context.cluster.partition([[primary], others(context.cluster.ids, primary)]);
        // As a person would take a moment: the old primary acknowledges a few writes alone meanwhile.
        await context.waitFor('writes acknowledged by the cut-off primary', (x) => writesAcked(x.history, cutMono).filter((w) => w.node === primary).length >= 3);
        await context.cluster.promote(others(context.cluster.ids, primary)[0]!);
        await context.waitFor('the promoted leader', (x) => leaders(x).some((n) => n.id !== primary));
      },
    },
    {
      title: 'Heal: the old primary steps down',
      instruction: 'Press h. Watch the old primary in the event log.',
      hint: 'With fencing, the first message carrying the newer term makes the old primary step down. What it acknowledged alone while cut off is not on the new primary: it is rolled back.',
      check: (o, before) => {
        const heal = actionsOf(actionsSince(o, before), 'heal')[0];
        if (heal === undefined) return { passed: false, detail: 'not healed yet (h)' };
        const cut = primaryCut(o, 0);
        if (cut === null) return { passed: false, detail: 'no primary was cut off' };
        const stepped = eventsOf(o, 'stepped-down', heal.wall).find((e) => e.event.node === cut.node);
        if (stepped === undefined) return { passed: false, detail: `healed; waiting for ${cut.node} to hear the new term` };
        const leader = leaders(o)[0];
        const old = node(o, cut.node);
        if (leaders(o).length !== 1 || leader === undefined) return { passed: false, detail: `${cut.node} stepped down; waiting for one leader` };
        if (old === undefined || old.leader !== leader.id || old.term !== leader.term || old.appliedIndex < (heal.leaderCommitIndex ?? 0)) return { passed: false, detail: `${cut.node} stepped down; waiting for it to follow ${leader.id} and catch up` };
        const lost = lostWriteDetails(o);
        return {
          passed: true,
          detail: `${cut.node} heard term ${stepped.event.term} and stepped down (${stepped.event.reason}): one leader again; ${plural(lost.length, 'write', 'writes')} it acknowledged alone ${lost.length === 1 ? 'was' : 'were'} rolled back`,
          facts: { fencedPrimary: cut.node, fencedTerm: stepped.event.term, fencedLost: lost.length, fencedFirstLost: lost[0] === undefined ? '' : describeLost(lost[0]) },
        };
      },
      autopilot: async (context) => {
        const cut = primaryCut(context.observe(), 0);
        context.cluster.heal();
        if (cut !== null) await context.waitFor('the old primary to step down', (o) => eventsOf(o, 'stepped-down', context.before.wall).some((e) => e.event.node === cut.node));
        await context.waitFor('one leader', (o) => leaders(o).length === 1);
        if (cut !== null) await context.waitFor('the old primary to follow', (o) => node(o, cut.node)?.leader === leaders(o)[0]?.id);
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.oldPrimary !== undefined) lines.push(`Cut off, ${f.oldPrimary} kept leading term ${f.oldTerm}: without fencing (and with manual failover) nothing made it stop.`);
    if (f.newPrimary !== undefined) lines.push(`You promoted ${f.newPrimary} to term ${f.newTerm}: two primaries. ${f.oldWrite !== undefined ? `Both acknowledged a write: ${f.oldWrite}; ${f.newWrite}.` : ''}`);
    if (f.ignoredTerm !== undefined) lines.push(`After the heal ${f.oldPrimary} heard term ${f.ignoredTerm} and ignored it; the split outlived the partition.${f.thirdReplica === undefined ? '' : ` ${f.thirdReplica} stayed with ${f.newPrimary}: it rejects appends from a lower term than its own, so what the old primary took while cut off never reached it.`}`);
    if (f.oldValue !== undefined) lines.push(`The replicas diverged (${f.oldValue}; ${f.newValue}). Whichever history is kept, writes some client was told were done must be thrown away or merged by hand.`);
    if (f.fencedPrimary !== undefined) {
      lines.push(`With fencing, ${f.fencedPrimary} stepped down as soon as it heard term ${f.fencedTerm}: the term is an epoch number, and a leader that learns of a newer epoch gives up its own.`);
      lines.push(`Fencing is not free of loss: cut off in async mode, ${f.fencedPrimary} had acknowledged ${plural(f.fencedLost ?? 0, 'write')} alone, rolled back on its return${f.fencedFirstLost ? ` (first: ${f.fencedFirstLost})` : ''}. Fencing ends the split; only quorum writes prevent the loss.`);
    }
    lines.push('In both runs the fencing that protected data was done by the replicas, not by the old primary: a follower rejects appends from a term lower than its own, so the third replica never took what the old primary acknowledged while cut off, with fencing on or off. Without fencing, the one node that ignored the newer term was the old primary itself. That is the sense of a fencing token in DDIA (ch. 8): the resource being written checks the number and refuses an older one, whatever the old leader believes.');
    const pg = earlierOn<Facts>(run, 'postgres');
    if (pg !== null && pg.facts.afterHealWrite !== undefined) {
      lines.push(
        `Your PostgreSQL run of this lab (${pg.autopilot ? 'autopilot' : 'by hand'}, ${pg.at.slice(0, 10)}) had no term to hear: after the heal ${pg.facts.afterHealWrite}, and with fencing the failover manager had to kill the old primary (STONITH)${pg.facts.fencedLost === undefined ? '' : `, which lost ${plural(pg.facts.fencedLost, 'write')} it had acknowledged alone`}. Here every Raft message carries the term, so the old leader learned of the new one as soon as the network healed.`,
      );
    }
    lines.push('In production the same check must sit in whatever the old primary writes to (a store that rejects older epochs, a storage lease) or the old primary must be shut off (STONITH), because a cut-off node may never hear the new term.');
    return lines;
  },
  // A getter: the variant's module imports this one back, so it may not be initialised yet while this one loads.
  variants: {
    get postgres() {
      return splitBrainPostgres;
    },
  },
  quiz: ['split-brain-cause', 'fencing-token', 'manual-failover', 'stonith', 'divergence-repair', 'pg-timeline'],
});
