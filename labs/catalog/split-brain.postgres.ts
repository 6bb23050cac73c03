// split-brain on PostgreSQL: there is no term a server could hear. The
// supervisor's failover manager (PostgreSQL ships none) promotes a standby
// when the primary is cut off; with fencing off the old primary keeps running
// and keeps acknowledging writes, even after the network heals, because
// nothing ever tells a PostgreSQL primary that another was promoted: two
// primaries, divergent data. With fencing on, the manager SIGKILLs the old
// primary before promoting (STONITH); it comes back by pg_rewind, and what it
// acknowledged alone between the cut and the kill is lost.
//
// Imported by split-brain.ts, which this file imports back: what this module calls
// from there while it loads is a function declaration (hoisted), building the
// steps both engines share; every other value is used inside a function.

import type { NodeId } from '../../cluster/index.js';
import { actionsOf, actionsSince, earlierOn, eventsOf, leaders, node, plural } from '../analysis.js';
import type { LabSetup, LabVariant, Observation } from '../types.js';
import { okExecutes, others, upsert } from './common.js';
import { describePgLost } from './lost-writes.js';
import { compareReplicas, cutInstruction, primaryCut, twoLeaders, writeToBoth, type Facts, type Words } from './split-brain.js';

const setup = (fencing: boolean): LabSetup => ({
  // failover 'raft' is the supervisor's failover manager on PostgreSQL (cli/engine.ts postgresOptions).
  cluster: { nodes: 3, replication: { mode: 'async', ackLevel: 'flushed' }, failover: 'raft', fencing, seed: 71 },
  workload: { rate: 20, concurrency: 4, readFraction: 0, keys: 20, timeoutMs: 1_000, seed: 71 },
});

const pgWords: Words = { position: 'LSN', term: 'timeline', nodes: 'servers', leaders: 'primaries', diverged: 'the two primaries' };

/** The manager's successful decision that promoted `to` (after `sinceMs`, Date.now()). */
function decisionFor(o: Pick<Observation, 'failovers'>, to: NodeId, sinceMs: number) {
  return o.failovers.find((d) => d.to === to && d.error === null && d.atMs >= sinceMs);
}

/** A standby streams on `timeline`: by its status (its walreceiver's timeline) or its own log ("started streaming WAL from primary at … on timeline N"). */
function followsOn(o: Pick<Observation, 'status' | 'serverLog'>, id: NodeId, timeline: number): boolean {
  const standby = node(o, id);
  if (standby === undefined || !standby.up || standby.role !== 'follower') return false;
  return standby.term === timeline || o.serverLog.some((e) => e.node === id && e.kind === 'streaming-started' && new RegExp(`on timeline ${timeline}\\b`).test(e.text));
}

export const splitBrainPostgres: LabVariant<Facts> = {
  title: 'Split brain: automatic failover without fencing',
  summary:
    'PostgreSQL ships no failover: here the supervisor plays the failover manager (the role of Patroni or repmgr), with fencing off. Cut the primary off: the manager promotes a standby, and the old primary keeps saying "done", even after the network heals, since nothing tells a PostgreSQL primary that another was promoted. Write to both and the data diverges. Then on a second cluster with fencing, the manager kills the old primary before promoting, and pg_rewind brings it back.',
  setup: setup(false),
  steps: [
    {
      title: 'Cut the primary off',
      instruction: (o) => `The primary is ${o.leader ?? 'n1'}; a failover manager watches it, fencing off. Cut it off from the standbys: ${cutInstruction(o)}`,
      hint: 'The manager checks every poll that the primary runs, answers, and is linked to a standby. After 3 s without that it promotes a standby. Its fencing is off: it will not stop the old primary.',
      check: (o, before) => {
        const cut = primaryCut(o, before.actionCount);
        if (cut === null) return { passed: false, detail: 'the primary has not been cut off yet' };
        const primary = node(o, cut.node);
        if (primary?.up !== true) return { passed: false, detail: `${cut.node} is down; restart the lab` };
        return {
          passed: true,
          detail: `${cut.node} is cut off and still a primary on timeline ${primary.term}; the standbys no longer receive its WAL`,
          facts: { oldPrimary: cut.node, oldTerm: primary.term },
        };
      },
      autopilot: async (context) => {
        const o = await context.waitFor('the primary', (x) => x.leader !== null);
        context.cluster.partition([[o.leader!], others(context.cluster.ids, o.leader!)]);
      },
    },
    {
      title: 'The manager promotes a standby',
      instruction: 'Wait about 3 s and watch the event log: the failover manager promotes the standby that received the most WAL. It does not touch the old primary.',
      hint: 'pg_ctl promote ends the standby\'s recovery: it starts a new timeline and accepts writes. PostgreSQL tells no other server; the old primary learns nothing.',
      check: (o) => {
        const two = twoLeaders(o);
        if (two === null) return { passed: false, detail: `${plural(leaders(o).length, 'primary', 'primaries')} now; waiting for the manager to promote a standby` };
        const cut = primaryCut(o, 0);
        const decision = decisionFor(o, two.young, cut?.action.wall ?? 0);
        const byHand = o.actions.some((a) => a.kind === 'promote' && a.node === two.young && a.error === null);
        if (decision === undefined && !byHand) return { passed: false, detail: `${two.young} is being promoted` };
        const by = decision === undefined ? 'you promoted' : `the manager promoted (it had received the most WAL, up to LSN ${decision.receivedLsn}; fenced: ${decision.fenced ? 'yes' : 'no'})`;
        return {
          passed: true,
          detail: `two primaries: ${two.old} (timeline ${two.oldTerm}) and ${two.young} (timeline ${two.youngTerm}), which ${by}`,
          facts: { newPrimary: two.young, newTerm: two.youngTerm, promotedByManager: decision !== undefined },
        };
      },
      autopilot: async (context) => {
        await context.waitFor('two primaries', (o) => {
          const two = twoLeaders(o);
          return two !== null && decisionFor(o, two.young, 0) !== undefined;
        });
      },
    },
    writeToBoth(pgWords, ':write sends a statement to the server you name; :sql goes to the primary the cluster knows, the promoted one. Both should say "done".'),
    {
      title: 'Heal the network, write to the old primary again',
      instruction: (o) => {
        const two = twoLeaders(o);
        return `Press h. Then write through the old primary once more: :write ${two?.old ?? '<old primary>'} ${upsert('owner', 'carol')}`;
      },
      hint: 'On replica-lab the old leader would now hear the newer term. A PostgreSQL primary hears nothing: it only serves the standbys that connect to it, and they follow the new primary now. Nothing in PostgreSQL tells it that another server was promoted, so it goes on saying "done".',
      check: (o, before) => {
        const heal = actionsOf(actionsSince(o, before), 'heal')[0];
        if (heal === undefined) return { passed: false, detail: 'not healed yet (h)' };
        const two = twoLeaders(o);
        if (two === null) return { passed: false, detail: 'there are no longer two primaries' };
        const after = okExecutes(o, { actionCount: heal.seq }).find((w) => w.outcome.leader === two.old);
        if (after === undefined) return { passed: false, detail: `healed; ${two.old} is still a primary (timeline ${two.oldTerm}): now write through it (:write ${two.old} …)` };
        const third = o.status.find((n) => n.id !== two.old && n.id !== two.young && n.up);
        const follows = third !== undefined && followsOn(o, third.id, two.youngTerm);
        const said = `${two.old} acknowledged LSN ${after.outcome.index} (timeline ${after.outcome.term})`;
        return {
          passed: true,
          detail: `after the heal ${said}: still two primaries${follows ? `; ${third.id} streams from ${two.young} on timeline ${two.youngTerm}, so the old primary's writes reach no standby` : ''}`,
          facts: { afterHealWrite: said, ...(follows ? { thirdReplica: third.id } : {}) },
        };
      },
      autopilot: async (context) => {
        context.cluster.heal();
        const two = twoLeaders(context.observe());
        if (two === null) throw new Error('there are not two primaries');
        // As a person would take a moment: the third server, which lost its primary at the cut, reconnects
        // (wal_retrieve_retry_interval) to the new one, so the check can say whom it follows; not a condition of the step.
        const third = context.cluster.ids.find((id) => id !== two.old && id !== two.young);
        if (third !== undefined) await context.waitFor(`${third} to stream from ${two.young}`, (o) => followsOn(o, third, two.youngTerm), 15_000).catch(() => undefined);
        await context.cluster.execute(upsert('owner', 'carol'), [], { node: two.old });
      },
    },
    compareReplicas(
      pgWords,
      'Same key, two answers, each acknowledged as done by the primary that took it. There is no automatic way back: someone must pick one timeline and throw the other away (pg_rewind or a new base backup of the loser).',
    ),
    {
      title: 'Again, with fencing: cut the primary off',
      freshCluster: setup(true),
      instruction: (o) => `A new cluster, now with the manager's fencing on. Do the same cut: ${cutInstruction(o)}, and watch the event log.`,
      hint: 'Before promoting, the manager now kills the old primary if it still runs (SIGKILL: STONITH, shoot the other node in the head). It can here because it is the old primary\'s parent process; across machines that takes a power switch or a lease the primary must hold.',
      check: (o, before) => {
        const cut = primaryCut(o, before.actionCount);
        if (cut === null) return { passed: false, detail: 'the primary has not been cut off yet' };
        const young = leaders(o).find((n) => n.id !== cut.node);
        const decision = young === undefined ? undefined : decisionFor(o, young.id, cut.action.wall);
        if (young === undefined || decision === undefined) return { passed: false, detail: `${cut.node} is cut off; waiting for the manager to fail over` };
        if (!decision.fenced || node(o, cut.node)?.up !== false) return { passed: false, detail: `${young.id} was promoted, but ${cut.node} was not fenced: is this the fencing cluster?` };
        return { passed: true, detail: `the manager killed ${cut.node} and then promoted ${young.id} (timeline ${young.term}): one primary`, facts: { fencedPrimary: cut.node, fencedTerm: young.term } };
      },
      autopilot: async (context) => {
        const o = await context.waitFor('the primary', (x) => x.leader !== null);
        const primary = o.leader!;
        context.cluster.partition([[primary], others(context.cluster.ids, primary)]);
        await context.waitFor('the fencing failover', (x) => x.failovers.some((d) => d.from === primary && d.fenced && d.error === null));
      },
    },
    {
      title: 'Bring the old primary back',
      instruction: (o) => `Press h, then select ${primaryCut(o, 0)?.node ?? 'the old primary'} and press r. It is rewound with pg_rewind to where the timelines diverged, then follows the new primary.`,
      hint: 'Fencing ended the split, not the loss: in async mode the old primary acknowledged the writes its clients sent between the cut and the kill, and no standby has them. pg_rewind removes them.',
      check: (o, before) => {
        const cut = primaryCut(o, 0);
        if (cut === null) return { passed: false, detail: 'no primary was cut off' };
        if (actionsOf(actionsSince(o, before), 'heal')[0] === undefined) return { passed: false, detail: 'not healed yet (h)' };
        const primary = leaders(o)[0];
        const old = node(o, cut.node);
        if (old?.up !== true) return { passed: false, detail: `${cut.node} is down: restart it (r)` };
        if (leaders(o).length !== 1 || primary === undefined || old.role !== 'follower' || old.term !== primary.term) return { passed: false, detail: `${cut.node} is starting; waiting for it to follow ${primary?.id ?? 'the primary'} on its timeline` };
        const lost = o.lostWrites.filter((w) => w.node === cut.node);
        const rewound = eventsOf(o, 'writes-lost', before.wall).find((e) => e.event.node === cut.node);
        return {
          passed: true,
          detail: `${cut.node} follows ${primary.id} on timeline ${primary.term}: one primary again; ${plural(lost.length, 'write')} it acknowledged alone ${lost.length === 1 ? 'was' : 'were'} removed by pg_rewind${rewound === undefined ? '' : ` (${rewound.event.rollbackPath})`}`,
          facts: { fencedLost: lost.length, fencedFirstLost: lost[0] === undefined ? '' : describePgLost(o, lost[0]) },
        };
      },
      autopilot: async (context) => {
        const cut = primaryCut(context.observe(), 0);
        if (cut === null) throw new Error('no primary was cut off');
        context.cluster.heal();
        await context.cluster.restart(cut.node);
        await context.waitFor('the old primary to follow', (o) => {
          const primary = leaders(o)[0];
          return leaders(o).length === 1 && node(o, cut.node)?.role === 'follower' && node(o, cut.node)?.term === primary?.term;
        });
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.oldPrimary !== undefined) lines.push(`Cut off, ${f.oldPrimary} stayed a primary on timeline ${f.oldTerm}: PostgreSQL has no term, no vote and no lease that would make it stop.`);
    if (f.newPrimary !== undefined) lines.push(`${f.promotedByManager === true ? 'The failover manager promoted' : 'You promoted'} ${f.newPrimary}, which started timeline ${f.newTerm}: two primaries. ${f.oldWrite !== undefined ? `Both acknowledged a write: ${f.oldWrite}; ${f.newWrite}.` : ''}`);
    if (f.afterHealWrite !== undefined) lines.push(`After the heal, ${f.afterHealWrite}: nothing reached it, since a primary only answers the standbys that connect to it, and they follow the new one.${f.thirdReplica === undefined ? '' : ` ${f.thirdReplica} streamed from ${f.newPrimary} on timeline ${f.newTerm}, so what the old primary took never reached it.`}`);
    if (f.oldValue !== undefined) lines.push(`The primaries diverged (${f.oldValue}; ${f.newValue}). Whichever timeline is kept, writes some client was told were done must be thrown away or merged by hand.`);
    if (f.fencedPrimary !== undefined) {
      lines.push(`With fencing, the manager killed ${f.fencedPrimary} before promoting (timeline ${f.fencedTerm}): one primary at any moment. That is STONITH, not an epoch check: it works because the supervisor can always kill its own child process. Across machines a cut-off server may not be reachable to kill, which is why managers add a power switch or a lease the primary must keep renewing.`);
      lines.push(`Fencing is not free of loss: in async mode ${f.fencedPrimary} had acknowledged ${plural(f.fencedLost ?? 0, 'write')} alone before it was killed, removed by pg_rewind on its return${f.fencedFirstLost ? ` (first: ${f.fencedFirstLost})` : ''}. Fencing ends the split; only synchronous replication prevents the loss.`);
    }
    const raft = earlierOn<Facts>(run, 'replica-lab');
    if (raft !== null && raft.facts.ignoredTerm !== undefined) {
      lines.push(
        `Your replica-lab run of this lab (${raft.autopilot ? 'autopilot' : 'by hand'}, ${raft.at.slice(0, 10)}): after the heal the old leader heard term ${raft.facts.ignoredTerm} and, without fencing, ignored it; with fencing it stepped down on hearing term ${raft.facts.fencedTerm ?? '?'}${raft.facts.fencedLost === undefined ? '' : ` and rolled back ${plural(raft.facts.fencedLost, 'write')}`}. Raft carries the epoch in every message, so a healed old leader learns of the new one; PostgreSQL has no such message, so here the old primary learned nothing and fencing had to kill it.${f.fencedLost === undefined ? '' : ` Writes lost to the fenced primary: ${raft.facts.fencedLost ?? '?'} there, ${f.fencedLost} here; not a like-for-like count: there the old leader acknowledged alone until you healed, here until the manager killed it, when it promoted.`}`,
      );
    }
    lines.push('What kept the third server clean here was the manager pointing every standby at the new primary (through its proxy), and the new timeline: the standby follows the promoted server\'s timeline history. In production that routing, and the guarantee that the old primary takes no more writes, belong to the failover tool (Patroni, repmgr, a cloud\'s control plane), not to PostgreSQL.');
    return lines;
  },
};
