// snapshot-catch-up: a leader keeps the WAL a stopped follower still needs
// (a replication slot without max_slot_wal_keep_size), so its retained WAL
// grows with the outage, snapshots or not; the follower back replays it all.
// With a cap on the retained WAL the leader compacts past what the follower
// needs, and the follower back gets the leader's snapshot instead of the log
// (pg_basebackup, done by the cluster itself). The debrief compares the two
// catch-ups by the run's entries/s and bytes.

import type { NodeId } from '../../cluster/index.js';
import { actionsOf, actionsSince, eventsOf, formatMs, plural, type ActionOf } from '../analysis.js';
import type { AutopilotContext, Baseline, NodeSample, Observation } from '../types.js';
import { defineLab } from '../types.js';
import { leaderAndFollowers, someFollower } from './common.js';

interface Outage {
  node: string;
  leader: string;
  /** The follower's last index and lsn when it stopped. */
  fromIndex: number;
  /** The leader's retained WAL when the follower stopped and when the check passed. */
  retainedAtStop: number;
  retainedNow: number;
  /** Snapshots the leader took while the follower was down. */
  snapshotsTaken: number;
  /** Bytes of log written since the follower stopped (the leader's lsn now minus the follower's then). */
  logBytesSince: number;
}

interface CatchUp {
  node: string;
  /** Entries and bytes of log between the follower's last entry and the leader's at the restart. */
  entries: number;
  logBytes: number;
  /** From the restart until the restarted process first reported (it opened its WAL and state). */
  startMs: number;
  /** From that first report until its applied index reached the leader's last index at the restart. */
  catchUpMs: number;
}

interface Facts {
  firstOutage: Outage;
  replay: CatchUp;
  capBytes: number;
  secondOutage: Outage;
  snapshot: CatchUp & { snapshotIndex: number; snapshotBytes: number; transferMs: number; installMs: number; log: 'kept' | 'restarted' };
}

const kib = 1024;
/** The leader's retained WAL must grow by this much while the follower is down. */
const growthBytesMin = 512 * kib;
/** The cap the autopilot sets (and the instruction names): above retainBytes' minimum, well below the growth of one outage. */
const capBytes = 256 * kib;
/** The WAL segment size of the lab's cluster: compaction deletes whole segments, so the retained WAL stays within the cap plus one segment. */
const segmentBytes = 64 * kib;
/** The keys the workload rewrites: the state (and so the snapshot) stays small however long the outage. */
const workloadKeys = 50;

function bytes(n: number): string {
  if (n < kib) return `${n} B`;
  if (n < kib * kib) return `${(n / kib).toFixed(0)} KiB`;
  return `${(n / kib / kib).toFixed(1)} MiB`;
}

function perSecond(count: number, ms: number): number {
  return ms <= 0 ? 0 : Math.round((count * 1000) / ms);
}

/** A follower that is down now, or null. */
function stoppedFollower(o: Observation): NodeId | null {
  return o.status.find((n) => !n.up && n.id !== o.leader)?.id ?? null;
}

/** A node's sample at `mono`: the last one at or before it, else the first after it. */
function sampleAt(o: Observation, node: NodeId, mono: number): NodeSample | undefined {
  let found: NodeSample | undefined;
  for (const s of o.nodeSamples) {
    if (s.node !== node) continue;
    if (s.mono <= mono) found = s;
    else return found ?? s;
  }
  return found;
}

/** The last sample of `node` taken while it was up, at or before `mono`: where it was when it stopped. */
function lastUpBefore(o: Observation, node: NodeId, mono: number): NodeSample | undefined {
  let found: NodeSample | undefined;
  for (const s of o.nodeSamples) if (s.node === node && s.up && s.mono <= mono) found = s;
  return found;
}

/** performance.now() of an event's wall time. */
function monoOf(o: Observation, atMs: number): number {
  return o.mono - (o.wall - atMs);
}

/** The kill since the step began that left a follower down: the newest. */
function downFollower(o: Observation, before: Pick<Baseline, 'actionCount'>): ActionOf<'kill'> | null {
  const kills = actionsOf(actionsSince(o, before), 'kill').filter((a) => a.error === null && a.node !== a.leader && o.status.find((n) => n.id === a.node)?.up === false);
  return kills[kills.length - 1] ?? null;
}

/** The outage check both outages share: the follower down, the leader's WAL and snapshots since it stopped. */
function outage(o: Observation, kill: ActionOf<'kill'>): { outage: Outage | null; detail: string } {
  const leader = o.leader;
  if (leader === null || leader === kill.node) return { outage: null, detail: `${kill.node} is down; waiting for a leader` };
  const stopped = lastUpBefore(o, kill.node, kill.mono);
  const leaderThen = sampleAt(o, leader, kill.mono);
  const leaderNow = o.status.find((n) => n.id === leader);
  if (stopped === undefined || leaderThen === undefined || leaderNow === undefined || leaderThen.walBytesRetained === null || leaderNow.walBytesRetained === null) {
    return { outage: null, detail: `${kill.node} is down; waiting for the nodes' reports` };
  }
  const taken = eventsOf(o, 'snapshot-taken').filter((e) => e.event.node === leader && monoOf(o, e.atMs) > kill.mono);
  return {
    outage: {
      node: kill.node,
      leader,
      fromIndex: stopped.lastIndex,
      retainedAtStop: leaderThen.walBytesRetained,
      retainedNow: leaderNow.walBytesRetained,
      snapshotsTaken: taken.length,
      logBytesSince: Math.max(0, leaderNow.lastLsn - stopped.lastLsn),
    },
    detail: '',
  };
}

/** A restart since the step began of a node now up, and how its catch-up went: null until it reached the leader's last index at the restart. */
function catchUp(o: Observation, before: Pick<Baseline, 'actionCount'>): { restart: ActionOf<'restart'>; result: CatchUp | null; detail: string } | null {
  const restarts = actionsOf(actionsSince(o, before), 'restart').filter((a) => a.error === null && o.status.find((n) => n.id === a.node)?.up === true);
  const restart = restarts[restarts.length - 1];
  if (restart === undefined) return null;
  const node = restart.node;
  const leader = restart.leader;
  const stopped = lastUpBefore(o, node, restart.mono);
  const leaderThen = leader === null ? undefined : sampleAt(o, leader, restart.mono);
  if (leader === null || stopped === undefined || leaderThen === undefined) return { restart, result: null, detail: `${node} is back; no leader was known at its restart to measure against` };
  const target = leaderThen.lastIndex;
  const started = o.nodeSamples.find((s) => s.node === node && s.mono >= restart.mono && s.reporting);
  const reached = o.nodeSamples.find((s) => s.node === node && s.mono >= restart.mono && s.reporting && s.appliedIndex >= target);
  const now = o.status.find((n) => n.id === node);
  if (started === undefined || reached === undefined) return { restart, result: null, detail: `${node} is back and catching up: applied ${now?.appliedIndex ?? '?'} of ${target}` };
  return {
    restart,
    result: {
      node,
      entries: Math.max(0, target - stopped.lastIndex),
      logBytes: Math.max(0, leaderThen.lastLsn - stopped.lastLsn),
      startMs: started.mono - restart.mono,
      catchUpMs: reached.mono - started.mono,
    },
    detail: '',
  };
}

function describeCatchUp(c: CatchUp): string {
  return `${plural(c.entries, 'entry', 'entries')} (${bytes(c.logBytes)} of log) in ${formatMs(c.catchUpMs)}: ${perSecond(c.entries, c.catchUpMs)} entries/s`;
}

async function waitForCheck(context: AutopilotContext, what: string, check: (o: Observation, before: Baseline) => { passed: boolean }): Promise<void> {
  await context.waitFor(what, (o) => check(o, context.before).passed, 90_000);
}

const stopCheck = (o: Observation, before: Baseline) => {
  const kill = downFollower(o, before);
  if (kill === null) return { passed: false, detail: 'no follower has been stopped yet' };
  const r = outage(o, kill);
  if (r.outage === null) return { passed: false, detail: r.detail };
  const x = r.outage;
  const growth = x.retainedNow - x.retainedAtStop;
  if (x.snapshotsTaken === 0 || growth < growthBytesMin) {
    return { passed: false, detail: `${x.node} is down; ${x.leader} keeps ${bytes(x.retainedNow)} of WAL (${bytes(x.retainedAtStop)} when it stopped), ${plural(x.snapshotsTaken, 'snapshot')} taken since; waiting for it to grow by ${bytes(growthBytesMin)} past a snapshot` };
  }
  return { passed: true, detail: `${x.node} is down; ${x.leader} took ${plural(x.snapshotsTaken, 'snapshot')} since and still keeps ${bytes(x.retainedNow)} of WAL, up from ${bytes(x.retainedAtStop)}: every entry after ${x.node}'s index ${x.fromIndex}`, outage: x };
};

export const snapshotCatchUp = defineLab<Facts>({
  id: 'snapshot-catch-up',
  title: 'Snapshot catch-up: the WAL a follower holds back, and the snapshot instead',
  level: 'advanced',
  minutes: 10,
  concepts: ['snapshot', 'log compaction', 'InstallSnapshot', 'replication slot', 'max_slot_wal_keep_size', 'pg_basebackup', 'catch-up'],
  summary:
    'A leader keeps every entry a stopped follower still needs, as a PostgreSQL replication slot keeps WAL for its standby: stop a follower under load and watch the leader\'s retained WAL grow although it takes snapshots. Bring it back: it replays the log. Then cap the retained WAL (max_slot_wal_keep_size) and stop it again: the leader compacts past it, and the follower back gets the leader\'s snapshot instead of the log. The debrief compares the two catch-ups in entries/s and bytes.',
  setup: {
    cluster: {
      nodes: 3,
      replication: { mode: 'quorum', ackLevel: 'flushed' },
      failover: 'raft',
      seed: 141,
      telemetryMs: 100,
      // A snapshot every 1,000 entries, 200 kept below it, no cap on what a lagging follower holds back.
      snapshot: { everyEntries: 1_000, retainEntries: 200, retainBytes: null, segmentBytes, intervalMsMin: 0 },
    },
    workload: { rate: 300, concurrency: 16, readFraction: 0, keys: workloadKeys, timeoutMs: 3_000, seed: 141 },
  },
  steps: [
    {
      title: 'Stop a follower under load',
      instruction: (o) =>
        `${stoppedFollower(o) === null ? `Select ${someFollower(o)} and press k.` : `${stoppedFollower(o)} is down.`} Watch the leader's retained WAL (the node table's wal column, or ? on ${o.leader ?? 'the leader'}) and the snapshot-taken events: the snapshots come, the WAL does not shrink.`,
      hint: 'The leader compacts only what every follower has: the stopped follower still needs everything after its last entry, so the leader keeps it, like a replication slot. Without a cap (max_slot_wal_keep_size = -1, PostgreSQL\'s default) that lasts as long as the outage and can fill the disk.',
      check: (o, before) => {
        const r = stopCheck(o, before);
        return r.passed ? { passed: true, detail: r.detail, facts: { firstOutage: r.outage! } } : r;
      },
      autopilot: async (context) => {
        const { followers } = await leaderAndFollowers(context);
        await context.cluster.kill(followers[0]!);
        await waitForCheck(context, `the leader's WAL to grow by ${bytes(growthBytesMin)} past a snapshot`, stopCheck);
      },
    },
    {
      title: 'Bring it back: it replays the log',
      instruction: (o) => `Select ${o.status.find((n) => !n.up)?.id ?? 'the stopped follower'} and press r. It catches up from the leader's log; watch its applied index in the node table.`,
      hint: 'The leader still holds every entry the follower missed, so it sends them as ordinary appends, and the follower writes, flushes and applies each one: the work grows with the length of the outage.',
      check: (o, before) => {
        const c = catchUp(o, before);
        if (c === null) return { passed: false, detail: `restart the stopped follower (r)` };
        const installed = eventsOf(o, 'snapshot-installed').filter((e) => e.event.node === c.restart.node && monoOf(o, e.atMs) >= c.restart.mono);
        if (installed.length > 0) return { passed: false, detail: `${c.restart.node} received a snapshot, not the log: the leader no longer held what it needed (was a cap on the retained WAL set?)` };
        if (c.result === null) return { passed: false, detail: c.detail };
        return { passed: true, detail: `${c.result.node} replayed ${describeCatchUp(c.result)}`, facts: { replay: c.result } };
      },
      autopilot: async (context) => {
        const down = context.observe().status.find((n) => !n.up);
        if (down === undefined) throw new Error('no stopped follower to restart');
        await context.cluster.restart(down.id);
        await context.waitFor('the follower to catch up', (o) => {
          const c = catchUp(o, context.before);
          return c !== null && c.result !== null;
        }, 90_000);
      },
    },
    {
      title: 'Cap the retained WAL, stop it again',
      instruction: (o) =>
        `Set a cap on the WAL a leader keeps for lagging followers: :retain ${capBytes / kib}KiB. Then ${stoppedFollower(o) === null ? `stop ${someFollower(o)} again (select it, k)` : `keep ${stoppedFollower(o)} down`} and watch the leader's wal column stay under the cap.`,
      hint: 'retainBytes works like max_slot_wal_keep_size: past the cap, the leader deletes WAL segments below its snapshot even though a follower still needs them. The follower can then no longer catch up from the log alone. Leave it down about as long as the first time, so the two catch-ups compare like for like.',
      check: (o, before) => {
        const policies = actionsOf(actionsSince(o, before), 'snapshot-policy').filter((a) => a.error === null);
        const cap = policies[policies.length - 1]?.change.retainBytes;
        if (cap === undefined || cap === null) return { passed: false, detail: `no cap set yet: :retain ${capBytes / kib}KiB` };
        const kill = downFollower(o, before);
        if (kill === null) return { passed: false, detail: `the cap is ${bytes(cap)}; now stop a follower (k)` };
        const r = outage(o, kill);
        if (r.outage === null) return { passed: false, detail: r.detail };
        const x = r.outage;
        // The entries it needs are gone once the leader keeps less than what was written since it stopped.
        if (x.snapshotsTaken === 0 || x.logBytesSince <= x.retainedNow) {
          return { passed: false, detail: `${x.node} is down; ${bytes(x.logBytesSince)} of log written since, ${x.leader} keeps ${bytes(x.retainedNow)} (cap ${bytes(cap)}), ${plural(x.snapshotsTaken, 'snapshot')} since; waiting for it to compact past ${x.node}` };
        }
        return {
          passed: true,
          detail: `${x.node} is down and needs ${bytes(x.logBytesSince)} of log, but ${x.leader} keeps only ${bytes(x.retainedNow)} (cap ${bytes(cap)}): it compacted past ${x.node}'s index ${x.fromIndex}`,
          facts: { capBytes: cap, secondOutage: x },
        };
      },
      autopilot: async (context) => {
        context.raft.setSnapshotPolicy({ retainBytes: capBytes });
        const { followers } = await leaderAndFollowers(context);
        await context.cluster.kill(followers[0]!);
        await context.waitFor('the leader to compact past the stopped follower', (o) => snapshotCatchUp.steps[2]!.check(o, context.before).passed, 90_000);
      },
    },
    {
      title: 'Bring it back: it gets a snapshot',
      instruction: (o) => `Select ${o.status.find((n) => !n.up)?.id ?? 'the stopped follower'} and press r. Watch the events: snapshot-sent on the leader, snapshot-installed on the follower.`,
      hint: 'The leader no longer has the entries after the follower\'s last one, so it streams its newest snapshot (the whole state.db at an index) in chunks; the follower checks it, swaps it in, and replays only the log after it. PostgreSQL\'s answer to a lost slot is the same by hand: pg_basebackup, a fresh copy of the primary.',
      check: (o, before) => {
        const c = catchUp(o, before);
        if (c === null) return { passed: false, detail: 'restart the stopped follower (r)' };
        const node = c.restart.node;
        const installed = eventsOf(o, 'snapshot-installed').filter((e) => e.event.node === node && monoOf(o, e.atMs) >= c.restart.mono);
        const sent = eventsOf(o, 'snapshot-sent').filter((e) => e.event.to === node && monoOf(o, e.atMs) >= c.restart.mono);
        if (c.result === null) return { passed: false, detail: c.detail };
        const last = installed[installed.length - 1];
        if (last === undefined) return { passed: false, detail: `${node} caught up from the log: the leader still held what it needed (lower the cap with :retain)` };
        const e = last.event;
        return {
          passed: true,
          detail: `${node} installed ${e.from}'s snapshot at index ${e.index} (${bytes(e.bytes)} in ${formatMs(e.durationMs)}${sent.length > 0 ? `, sent by ${sent[sent.length - 1]!.event.node}` : ''}) instead of ${bytes(c.result.logBytes)} of log, and caught up ${plural(c.result.entries, 'entry', 'entries')} in ${formatMs(c.result.catchUpMs)}`,
          facts: { snapshot: { ...c.result, snapshotIndex: e.index, snapshotBytes: e.bytes, transferMs: e.durationMs, installMs: e.installMs, log: e.log } },
        };
      },
      autopilot: async (context) => {
        const down = context.observe().status.find((n) => !n.up);
        if (down === undefined) throw new Error('no stopped follower to restart');
        // An outage about as long as the first (as much log missed), so the two catch-ups compare like for like.
        await context.waitFor(`${bytes(growthBytesMin)} of log written since ${down.id} stopped`, (o) => {
          const stopped = lastUpBefore(o, down.id, o.mono);
          const leader = o.status.find((n) => n.id === o.leader);
          return stopped !== undefined && leader !== undefined && leader.lastLsn - stopped.lastLsn >= growthBytesMin;
        }, 60_000);
        await context.cluster.restart(down.id);
        await context.waitFor('the follower to install a snapshot and catch up', (o) => snapshotCatchUp.steps[3]!.check(o, context.before).passed, 90_000);
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.firstOutage !== undefined) {
      const x = f.firstOutage;
      lines.push(
        `While ${x.node} was down, ${x.leader} took ${plural(x.snapshotsTaken, 'snapshot')} and its retained WAL still grew from ${bytes(x.retainedAtStop)} to ${bytes(x.retainedNow)}: a leader compacts only what every follower has, so it kept everything after ${x.node}'s index ${x.fromIndex}. A PostgreSQL replication slot does the same for its standby, and with max_slot_wal_keep_size = -1 (the default) without limit: a standby that never returns fills the primary's disk.`,
      );
    }
    if (f.replay !== undefined) lines.push(`Back, ${f.replay.node} replayed the log: ${describeCatchUp(f.replay)}, ${bytes(perSecond(f.replay.logBytes, f.replay.catchUpMs))}/s of log, counted from its first report (its process took ${formatMs(f.replay.startMs)} to start and open its WAL and state).`);
    if (f.secondOutage !== undefined && f.capBytes !== undefined) {
      const x = f.secondOutage;
      lines.push(`With the cap at ${bytes(f.capBytes)}, ${x.leader} kept ${bytes(x.retainedNow)} while ${x.node} needed ${bytes(x.logBytesSince)}: it deleted segments ${x.node} still needed. In PostgreSQL that slot's wal_status becomes "lost", and the standby can no longer catch up from WAL.`);
    }
    if (f.snapshot !== undefined) {
      const s = f.snapshot;
      lines.push(
        `Back again, ${s.node} received the leader's snapshot at index ${s.snapshotIndex}: ${bytes(s.snapshotBytes)} in ${formatMs(s.transferMs)} (${formatMs(s.installMs)} of it the install), its log ${s.log === 'kept' ? 'kept after it' : 'started again after it'}, then the entries after it from the log: ${plural(s.entries, 'entry', 'entries')} behind, caught up in ${formatMs(s.catchUpMs)} from its first report, ${perSecond(s.entries, s.catchUpMs)} entries/s. By the log alone that would have been ${bytes(s.logBytes)}.`,
      );
    }
    if (f.replay !== undefined && f.snapshot !== undefined) {
      const r = f.replay;
      const s = f.snapshot;
      lines.push(
        `Replay: ${perSecond(r.entries, r.catchUpMs)} entries/s over ${bytes(r.logBytes)} of log. Snapshot: ${perSecond(s.entries, s.catchUpMs)} entries/s, ${bytes(s.snapshotBytes)} of state for ${bytes(s.logBytes)} of log. The log grows with the outage (every write missed, ${r.entries > 0 ? `about ${Math.round(r.logBytes / r.entries)} bytes each here` : 'each with its bytes'}); a snapshot is the size of the state (${plural(workloadKeys, 'key')} rewritten over and over here), whatever the outage. A short outage over a large state favours the log, which is why the leader keeps a margin below each snapshot (retainEntries, etcd's catch-up entries); a long one favours the snapshot.`,
      );
      const replayRate = perSecond(r.entries, r.catchUpMs);
      const snapshotRate = perSecond(s.entries, s.catchUpMs);
      if (snapshotRate < replayRate) {
        lines.push(
          `Here the snapshot path was the slower per entry (${snapshotRate} against ${replayRate} entries/s) and the cheaper in bytes (${bytes(s.snapshotBytes)} against ${bytes(s.logBytes)}): it has fixed costs (the leader finds the follower behind its compaction point, streams the file, the follower checks it, swaps state.db and reopens it, then takes the log after the snapshot) that an outage of ${plural(s.entries, 'entry', 'entries')} does not pay back. Over a longer outage the log grows and the snapshot does not: replica-lab bench catch-up --via log,snapshot measures both at any size.`,
        );
      }
    }
    lines.push(
      'What the cluster did by itself is what a PostgreSQL operator does by hand once a slot is lost: take a base backup of the primary with pg_basebackup, start the standby from it, and let it stream the WAL after it. etcd works like this lab: --snapshot-count sets how many applied entries trigger a snapshot, and a member too far behind receives the leader\'s snapshot.',
    );
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${plural(run.lostWrites, 'lost write')}.`);
    return lines;
  },
  quiz: ['compaction-lagging-follower', 'snapshot-vs-replay', 'install-snapshot', 'slot-disk-full', 'max-slot-wal-keep-size', 'etcd-snapshot-count'],
});
