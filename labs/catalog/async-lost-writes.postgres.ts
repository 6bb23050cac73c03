// async-lost-writes on PostgreSQL: an async primary acknowledges a commit once
// it is flushed to its own WAL. Cut it off; the supervisor's failover manager
// (fencing off, so the old primary keeps running) promotes the standby that
// received the most WAL; write a key through the old primary, kill it, bring
// it back: pg_rewind makes its data directory the new primary's, and what it
// alone had committed is gone. Each lost write is confirmed by its
// transaction id among the COMMIT records pg_rewind removed.
//
// Imported by async-lost-writes.ts, which this file imports back: what this
// module calls from there while it loads is a function declaration (hoisted),
// building the checks and autopilots both engines share; every other value is
// used inside a function.

import { earlierOn, eventsOf, formatMs, node, plural } from '../analysis.js';
import type { LabVariant, Observation } from '../types.js';
import {
  asyncAutopilot,
  asyncCheck,
  asyncLostWrites,
  bringBackAutopilot,
  cutOffAutopilot,
  cutOffCheck,
  lastIsolation,
  lookInstruction,
  lossByCut,
  lostSentence,
  otherWriteTo,
  proofKey,
  proofRead,
  proofSql,
  proofReadLine,
  proofWrites,
  readOfProof,
  type Facts,
  type Words,
} from './async-lost-writes.js';
import { leaderName } from './common.js';
import { describePgLost, waldumpPath } from './lost-writes.js';

/** The proof write, when a rewind listed it among the lost writes. */
function proofLost(o: Observation): { index: number; term: number; node: string } | undefined {
  const cut = lastIsolation(o.actions);
  if (cut === null) return undefined;
  const proofs = proofWrites(o, cut);
  return o.lostWrites.find((lost) => lost.node === cut.node && proofs.some((p) => p.outcome.index === lost.index && p.outcome.term === lost.term));
}

const pgWords: Words = {
  leader: 'primary',
  leading: 'was the primary',
  follower: 'standby',
  position: 'LSN',
  term: 'timeline',
  disk: 'WAL',
  flush: 'WAL flush',
  replicated: 'on a standby',
  takeOver: 'the failover manager to promote a standby',
  undo: 'the rewind',
};

export const asyncLostWritesPostgres: LabVariant<Facts> = {
  summary:
    'In async mode a PostgreSQL primary says "done" once a commit is flushed to its own WAL. Cut it off under load: the failover manager promotes a standby, while the old primary, not fenced, goes on saying "done". Write a key of your own through it, kill it, bring it back with pg_rewind, and count the acknowledged writes that vanished, yours among them.',
  setup: {
    // The supervisor's failover manager (failover 'raft' on PostgreSQL), without fencing: the cut-off primary keeps running, so a person has time to write through it.
    cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'raft', fencing: false, seed: 21 },
    workload: { rate: 100, concurrency: 8, readFraction: 0.1, keys: 50, readTarget: 'leader', readConsistency: 'local', timeoutMs: 2_000, seed: 21 },
  },
  steps: [
    {
      title: 'Switch to async',
      instruction: "Press m until the header says async (or :mode async): synchronous_standby_names = ''. From now on the primary acknowledges a commit once it is flushed to its own WAL (synchronous_commit = on), whatever the standbys have.",
      hint: 'With synchronous_standby_names empty, streaming replication is asynchronous: the manual warns that a commit acknowledged by the primary may not have reached any standby, so a failover can lose it, as much as the replication delay at that moment.',
      check: asyncCheck(pgWords),
      autopilot: asyncAutopilot,
    },
    {
      title: 'Cut the primary off and write through it',
      instruction: (o, before) => {
        const primary = before.leader ?? leaderName(o);
        return `Select the primary (${primary}) and press i to isolate it (or :isolate ${primary}). Its replication links are gone; the server still runs. Then write a key no other write touches, through it, as a client still connected to it would: :write ${primary} ${proofSql(primary)}`;
      },
      hint: 'PostgreSQL itself never fails over: here the supervisor plays the failover manager (Patroni\'s or repmgr\'s role). After 3 s without its primary it promotes the standby that received the most WAL. Its fencing is off in this lab, so nobody stops the old primary, and in async mode it goes on acknowledging what its clients send.',
      check: cutOffCheck(pgWords),
      // As a person would: watch the manager promote a standby before killing the old primary.
      autopilot: cutOffAutopilot(pgWords),
    },
    {
      title: 'Kill it',
      instruction: (o) => `Wait for the event log to say a standby was promoted (the failover manager acts 3 s after the cut). Then select ${lastIsolation(o.actions)?.node ?? 'the old primary'} and press k: an immediate crash (SIGKILL of the postmaster and its processes). The commits only it had die with it.`,
      hint: 'The promoted standby has switched to a new timeline: its WAL from there on is a new history, and the old primary\'s WAL past the switch point is a branch no one else has.',
      check: (o) => {
        const cut = lastIsolation(o.actions);
        if (cut === null) return { passed: false, detail: 'no primary was isolated' };
        const promoted = eventsOf(o, 'promoted', cut.action.wall).find((e) => e.event.node !== cut.node);
        if (node(o, cut.node)?.up !== false) return { passed: false, detail: promoted === undefined ? `${cut.node} is still running; waiting for the failover manager to promote a standby` : `${cut.node} is still running (${promoted.event.node} was promoted): press k on it` };
        if (promoted === undefined || o.leader === null) return { passed: false, detail: `${cut.node} is dead; waiting for a standby to be promoted` };
        const afterMs = promoted.atMs - cut.action.wall;
        const decision = o.failovers.find((d) => d.to === promoted.event.node && d.error === null);
        const byHand = o.actions.some((a) => a.kind === 'promote' && a.node === promoted.event.node && a.error === null);
        // The manager records its decision once the promotion returns, a moment after the event.
        if (decision === undefined && !byHand) return { passed: false, detail: `${cut.node} is dead; ${promoted.event.node} is being promoted` };
        const why = decision === undefined ? 'promoted by hand (:promote)' : `promoted by the failover manager, having received the most WAL (LSN ${decision.receivedLsn})${decision.fenced ? ', after fencing the old primary' : ', without fencing the old primary'}`;
        return {
          passed: true,
          detail: `${cut.node} is dead; ${promoted.event.node} was ${why}, ${formatMs(afterMs)} after the cut, on timeline ${promoted.event.term}`,
          facts: { newLeader: promoted.event.node, newTerm: promoted.event.term, electedAfterMs: afterMs, ...(decision === undefined ? {} : { promotedReceivedLsn: decision.receivedLsn, fenced: decision.fenced }) },
        };
      },
      autopilot: async (context) => {
        const cut = lastIsolation(context.observe().actions);
        if (cut === null) throw new Error('no isolated primary to kill');
        await context.waitFor('a promoted standby', (o) => o.leader !== null && o.leader !== cut.node);
        await context.cluster.kill(cut.node);
      },
    },
    {
      title: 'Bring it back',
      instruction: (o) => `Press h to heal the network, then select ${lastIsolation(o.actions)?.node ?? 'the old primary'} and press r to restart it. It is rewound with pg_rewind first, then follows the new primary.`,
      hint: 'pg_rewind finds where the two timelines diverged and copies back from the new primary every block the old one changed since, so its data directory becomes the new primary\'s; then it replays the new timeline\'s WAL as a standby. Whatever it alone had committed past the divergence is gone.',
      check: (o, before) => {
        const cut = lastIsolation(o.actions);
        if (cut === null) return { passed: false, detail: 'no primary was isolated' };
        const back = node(o, cut.node);
        if (back?.up !== true) return { passed: false, detail: `${cut.node} is down: heal (h), then restart it (r)` };
        const lost = o.lostWrites.slice(before.lostWriteCount);
        const event = eventsOf(o, 'writes-lost', before.wall).find((e) => e.event.node === cut.node);
        if (lost.length === 0 || event === undefined) return { passed: false, detail: `${cut.node} is up; waiting for pg_rewind to finish and list what it removed` };
        const { split, afterCut, parts, survivors } = lossByCut(o, cut, before.lostWriteCount, pgWords);
        return {
          passed: true,
          detail: `${cut.node} was rewound by pg_rewind; ${plural(lost.length, 'acknowledged write was', 'acknowledged writes were')} lost, each confirmed by its transaction id among the COMMIT records removed: ${parts.join(', ')}${survivors}. pg_rewind's output: ${event.event.rollbackPath}`,
          facts: {
            lostCount: lost.length,
            lostBeforeCut: split.before,
            lostAfterCut: split.after,
            lostUnmatched: split.unmatched,
            ackedAfterCut: afterCut,
            rollbackPath: event.event.rollbackPath,
            firstLost: lost.slice(0, 3).map((w) => describePgLost(o, w)),
          },
        };
      },
      autopilot: bringBackAutopilot(pgWords),
    },
    {
      title: 'Look for your lost write',
      instruction: lookInstruction(pgWords, 'the primary'),
      hint: (o) => {
        const path = eventsOf(o, 'writes-lost')[0]?.event.rollbackPath;
        const dump = path === undefined ? '<data dir>/<node>/pg_waldump.log' : waldumpPath(path);
        return `PostgreSQL keeps no rollback file: pg_rewind overwrote the changed blocks with the new primary's. What is left is evidence: ${dump} lists the COMMIT records (with transaction ids) that pg_waldump read from the old primary's WAL before the rewind, and the lab matched your write's transaction id among those past the divergence point. No other write touched ${proofKey}, so its absence can only be the loss.`;
      },
      check: (o, before) => {
        const lost = proofLost(o);
        if (lost === undefined) return { passed: false, detail: `${proofKey} is not among the lost writes: was it written through the cut-off primary (step 2)?` };
        if (otherWriteTo(o, proofKey, lost)) return { passed: false, detail: `another write touched ${proofKey}, so its absence would prove nothing; start the lab again` };
        const read = readOfProof(o, before);
        if (read === null) return { passed: false, detail: `no read of ${proofKey} yet: :sql ${proofRead}` };
        if (read.row !== undefined) return { passed: false, detail: `${proofKey} has a row ('${String(read.row['v'])}') on ${read.node}: was it written again?` };
        return {
          passed: true,
          detail: `${read.node} has no row for ${proofKey}: the write ${lost.node} acknowledged at LSN ${lost.index} (timeline ${lost.term}) is gone, and no other write ever touched that key`,
          facts: { proofCurrent: '(no row)' },
        };
      },
      autopilot: async (context) => {
        await context.cluster.query(proofRead, [], { consistency: 'linearizable' });
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.asyncP50Ms !== undefined) lines.push(`In async mode (synchronous_standby_names = '') ${f.oldLeader ?? 'the primary'} acknowledged commits at its own WAL flush: ${formatMs(f.asyncP50Ms)} median, with no standby in the way.`);
    if (f.oldLeader !== undefined) lines.push(`Cut off, ${f.oldLeader} went on saying "done"${f.ackedAfterCut === undefined ? '' : `: ${plural(f.ackedAfterCut, 'write')} acknowledged after the cut`}, your ${f.proofKey} among them (LSN ${f.proofIndex}, timeline ${f.proofTerm}), which no standby ever received.`);
    if (f.newLeader !== undefined) {
      const how = f.promotedReceivedLsn === undefined ? 'was promoted' : `was promoted by the failover manager (it had received the most WAL, up to LSN ${f.promotedReceivedLsn}; the manager did not fence ${f.oldLeader ?? 'the old primary'})`;
      lines.push(`Meanwhile ${f.newLeader} ${how}, ${formatMs(f.electedAfterMs)} after the cut, and started timeline ${f.newTerm}. No vote: one process decided (the supervisor, in the role Patroni or repmgr plays; Patroni itself takes a leader lock in a consensus store such as etcd), and PostgreSQL told the old primary nothing.`);
    }
    if (f.lostCount !== undefined) {
      lines.push(
        `${lostSentence(f, pgWords)} pg_rewind removed them when ${f.oldLeader} came back; each was confirmed by its transaction id among the COMMIT records past the divergence point. The first ${Math.min(3, f.firstLost?.length ?? 0)}: ${(f.firstLost ?? []).join('; ')}.`,
      );
    }
    if (f.proofCurrent !== undefined) lines.push(proofReadLine(f));
    if (f.rollbackPath !== undefined) {
      const keep = run.dataKept === true ? ' The files stay after you quit (--data-dir).' : ' This run\'s dir is temporary and goes when you quit; run the lab with --data-dir <dir> to keep the files.';
      lines.push(`Unlike replica-lab's rollback file, nothing keeps the rows: pg_rewind made the old primary's data directory the new primary's. ${f.rollbackPath} holds pg_rewind's output (where the timelines diverged) and ${waldumpPath(f.rollbackPath)} the COMMIT records the old WAL held; re-applying a lost write means knowing it from the client side.${f.proofSql === undefined ? '' : ` Yours, through the primary: :sql ${f.proofSql}.`}${keep}`);
    }
    const raft = earlierOn<Facts>(run, 'replica-lab');
    if (raft !== null) {
      const them = raft.facts;
      const parts: string[] = [];
      if (them.lostCount !== undefined && f.lostCount !== undefined) parts.push(`${plural(them.lostCount, 'acknowledged write')} lost there, ${f.lostCount} here (not a like-for-like count: the workload sends ${asyncLostWrites.setup.workload?.rate ?? '?'} writes a second there, ${asyncLostWritesPostgres.setup.workload?.rate ?? '?'} here, and each old primary acknowledged alone for as long as you let it run)`);
      if (them.electedAfterMs !== undefined && f.electedAfterMs !== undefined) parts.push(`a new leader ${formatMs(them.electedAfterMs)} after the cut by a Raft election there, a promotion ${formatMs(f.electedAfterMs)} after it here${f.promotedReceivedLsn === undefined ? ' (by hand)' : " (the manager's 3 s timeout)"}`);
      if (them.asyncP50Ms !== undefined && f.asyncP50Ms !== undefined) parts.push(`async writes ${formatMs(them.asyncP50Ms)} median there, ${formatMs(f.asyncP50Ms)} here`);
      if (parts.length > 0) {
        lines.push(
          `Your replica-lab run of this lab (${raft.autopilot ? 'autopilot' : 'by hand'}, ${raft.at.slice(0, 10)}): ${parts.join('; ')}. The loss is the same mechanism on both: an async primary acknowledges what no other copy has. What differs is who takes over (a majority vote in a new term, or one manager's decision on a new timeline) and how the old one comes back (Raft truncates its log and keeps a rollback file; pg_rewind overwrites its blocks and keeps nothing).`,
        );
      }
    }
    lines.push('The price of async is the RPO: everything acknowledged but not yet on a standby can vanish at failover. With synchronous_standby_names set (quorum mode) the cut-off primary\'s commits would have waited for a standby instead (lab quorum-commit). Fencing the old primary (the manager\'s fencing, on by default) stops it acknowledging after the failover; what it acknowledged before is lost just the same.');
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${run.lostWrites} of them lost.`);
    return lines;
  },
};
