// lag-causes: write, flush and replay lag are three stages, and each fault
// moves its own. A slow disk on a follower (its fsync takes longer) raises
// flush and replay lag, not write lag; a slow apply raises replay lag only; a
// slow link raises all three. pg_stat_replication separates them the same way:
// each is the time from the primary's local flush until the standby reports
// having written / written and flushed / written, flushed and applied.

import type { NodeId } from '../../cluster/index.js';
import { delayBetween, linkDelays, plural } from '../analysis.js';
import type { AutopilotContext, LagSample, Observation } from '../types.js';
import { defineLab } from '../types.js';
import { leaderAndFollowers, leaderName, slowLink, someFollower } from './common.js';

interface Lags {
  readonly writeMs: number;
  readonly flushMs: number;
  readonly replayMs: number;
  readonly samples: number;
}

interface Facts {
  baseline: Lags & { node: string };
  disk: Lags & { node: string; faultMs: number };
  apply: Lags & { node: string; faultMs: number };
  link: Lags & { node: string; delayMs: number };
}

const diskMs = 20;
const applyMs = 5;
const linkMs = 20;
/** A fault smaller than this is too small to tell from noise. */
const faultMsMin = { disk: 10, apply: 2, link: 10 } as const;
/** Lag samples (one per observation, at most every 50 ms) a verdict needs, after the fault settled. */
const samplesNeeded = 30;
/** Samples this soon after a change still show the state before it (reports in flight, a backlog draining). */
const settleMs = 500;
/** The baseline is the lag in this long before the first fault. */
const baselineWindowMs = 5_000;
/** A lag the fault should move must average at least this, and at least half the fault. */
const ownLagMsMin = 2;
/** A lag the fault should not move must stay under this, or under a third of the lag it moved. */
const otherLagMsMax = 5;

const mean = (values: readonly number[]): number => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);
const ms = (value: number): string => `${value.toFixed(1)} ms`;

/** Mean write/flush/replay lag of one follower over the samples taken at or after `sinceMono` under the current leader. */
function lagsSince(o: Observation, node: NodeId, sinceMono: number): Lags {
  const samples = o.lagSamples.filter((s: LagSample) => s.node === node && s.mono >= sinceMono && s.leader === o.leader);
  return { writeMs: mean(samples.map((s) => s.writeLagMs)), flushMs: mean(samples.map((s) => s.flushLagMs)), replayMs: mean(samples.map((s) => s.replayLagMs)), samples: samples.length };
}

/** The performance.now() of the last fault event (any node fault, link change, partition or heal): the window starts after it. */
function lastFaultMono(o: Observation): number {
  let wall = -Infinity;
  for (const { atMs, event } of o.events) if (event.type === 'fault' && atMs > wall) wall = atMs;
  return wall === -Infinity ? -Infinity : o.mono - (o.wall - wall);
}

/** The performance.now() of the first fault event: samples before it show the cluster with nothing wrong. */
function firstFaultMono(o: Observation): number {
  const first = o.events.find(({ event }) => event.type === 'fault');
  return first === undefined ? Infinity : o.mono - (o.wall - first.atMs);
}

function delayTo(o: Observation, node: NodeId): number {
  return o.leader === null ? 0 : delayBetween(linkDelays(o.actions), o.leader, node);
}

type Cause = 'disk' | 'apply' | 'link';

/** The follower that has exactly this one cause of lag now, and how large it is; null when none has. */
function soleCause(o: Observation, cause: Cause): { node: NodeId; size: number } | null {
  for (const n of o.status) {
    if (n.id === o.leader || !n.up || n.paused || n.isolated) continue;
    const sizes = { disk: n.faults.diskSlowMs, apply: n.faults.applySlowMs, link: delayTo(o, n.id) };
    const others = (Object.keys(sizes) as Cause[]).filter((c) => c !== cause);
    if (sizes[cause] >= faultMsMin[cause] && others.every((c) => sizes[c] === 0)) return { node: n.id, size: sizes[cause] };
  }
  return null;
}

/** Which lags a cause should move: the stages at and after the slow one. */
const moves: Record<Cause, readonly (keyof Omit<Lags, 'samples'>)[]> = { disk: ['flushMs', 'replayMs'], apply: ['replayMs'], link: ['writeMs', 'flushMs', 'replayMs'] };
const names: Record<keyof Omit<Lags, 'samples'>, string> = { writeMs: 'write', flushMs: 'flush', replayMs: 'replay' };

function describeLags(l: Lags): string {
  return `write ${ms(l.writeMs)}, flush ${ms(l.flushMs)}, replay ${ms(l.replayMs)}`;
}

/** The check every step shares: the cause in place alone, then its lags up and the others not. */
function causeCheck(cause: Cause, o: Observation, what: string): { passed: boolean; detail: string; lags?: Lags; node?: NodeId; size?: number } {
  const found = soleCause(o, cause);
  if (found === null) {
    // The fault set on a node that cannot show lag (down, paused, cut off, or leading now) is said at once.
    const key = cause === 'disk' ? 'diskSlowMs' : cause === 'apply' ? 'applySlowMs' : null;
    const stuck = key === null ? undefined : o.status.find((n) => n.faults[key] >= faultMsMin[cause] && !usable(o, n.id));
    if (stuck !== undefined) return { passed: false, detail: `${stuck.id} has ${what}, but ${whyNot(o, stuck.id)}: its lag cannot show` };
    return { passed: false, detail: `no follower has ${what} as its only fault yet` };
  }
  const lags = lagsSince(o, found.node, lastFaultMono(o) + settleMs);
  if (lags.samples < samplesNeeded) return { passed: false, detail: `${found.node} has ${what}; measuring its lag (${lags.samples}/${samplesNeeded} samples)` };
  const own = moves[cause];
  const lowest = Math.min(...own.map((k) => lags[k]));
  const floor = Math.max(ownLagMsMin, found.size / 2);
  if (lowest < floor) return { passed: false, detail: `${found.node}: ${describeLags(lags)}; waiting for ${own.map((k) => names[k]).join(' and ')} lag to reach ${ms(floor)}` };
  const ceiling = Math.max(otherLagMsMax, lowest / 3);
  const moved = (Object.keys(names) as (keyof typeof names)[]).filter((k) => !own.includes(k) && lags[k] > ceiling);
  if (moved.length > 0) return { passed: false, detail: `${found.node}: ${describeLags(lags)}; ${moved.map((k) => names[k]).join(' and ')} lag moved too (over ${ms(ceiling)})` };
  return { passed: true, detail: `${found.node} with ${what}: ${describeLags(lags)} over ${lags.samples} samples`, lags, node: found.node, size: found.size };
}

/** A follower a fault can be read on now: running, not paused, not cut off, and not the leader. */
function usable(o: Observation, id: NodeId): boolean {
  const n = o.status.find((x) => x.id === id);
  return n !== undefined && n.id !== o.leader && n.up && !n.paused && !n.isolated;
}

/** Why `id` cannot carry the next fault, in words a person acts on. */
function whyNot(o: Observation, id: NodeId): string {
  const n = o.status.find((x) => x.id === id);
  if (n === undefined) return `${id} is no longer in the cluster`;
  if (id === o.leader) return `${id} leads now, and a leader has no lag`;
  if (!n.up) return `${id} is down (:restart ${id})`;
  if (n.paused) return `${id} is paused (:resume ${id})`;
  return `${id} is cut off (h heals)`;
}

/**
 * The node the previous step's fault is on (a person may have chosen any
 * follower, not the one the text suggested), and the follower this step
 * works on: that same node while it is a usable follower, else the first
 * usable one. `note` says why the node moved; `node` is null with no usable
 * follower at all.
 */
function stepNodes(o: Observation, previous: 'disk' | 'apply'): { faulted: NodeId | null; node: NodeId | null; note: string } {
  const key = previous === 'disk' ? 'diskSlowMs' : 'applySlowMs';
  const faulted = o.status.find((n) => n.faults[key] > 0)?.id ?? null;
  if (faulted !== null && usable(o, faulted)) return { faulted, node: faulted, note: '' };
  const other = o.status.find((n) => usable(o, n.id))?.id ?? null;
  const why = faulted === null ? '' : `${whyNot(o, faulted)}. `;
  if (other === null) return { faulted, node: null, note: `${why}No follower is running to slow${o.leader === null ? ' (and no leader yet: wait for one)' : ''}; restart one first. ` };
  return { faulted, node: other, note: faulted === null ? '' : `${why}Go on with ${other}. ` };
}

/** Fails the autopilot at once, saying why, when no follower can carry the fault (rather than waiting out its check). */
function nodeOrFail(picked: { node: NodeId | null; note: string }): NodeId {
  if (picked.node === null) throw new Error(`no follower to slow: ${picked.note.trim()}`);
  return picked.node;
}

async function waitForCheck(context: AutopilotContext, what: string, cause: Cause): Promise<void> {
  await context.waitFor(what, (o) => causeCheck(cause, o, what).passed, 30_000);
}

export const lagCauses = defineLab<Facts>({
  id: 'lag-causes',
  title: 'Lag causes: write, flush and replay lag',
  level: 'intermediate',
  minutes: 10,
  concepts: ['replication lag', 'write lag', 'flush lag', 'replay lag', 'pg_stat_replication', 'fsync', 'apply'],
  summary:
    'A follower can be behind in three places: the entries have not reached it (write lag), they have not reached its disk (flush lag), or they are not yet applied where reads see them (replay lag). Slow one follower\'s disk, then its apply, then its link, and watch each fault move its own columns of the node table and leave the others alone.',
  setup: {
    cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'raft', seed: 161, telemetryMs: 50 },
    workload: { rate: 150, concurrency: 8, readFraction: 0, keys: 20, timeoutMs: 3_000, seed: 161 },
  },
  steps: [
    {
      title: 'Slow one follower\'s disk',
      instruction: (o) =>
        `Make ${someFollower(o)}'s fsync ${diskMs} ms slower: :disk ${someFollower(o)} slow ${diskMs}ms. Watch its write, flush and replay columns in the node table (the leader measures them, as pg_stat_replication does).`,
      hint: 'The entries still reach the follower at once, so write lag stays near 0. Its flush waits for the disk, and it applies only what is durable, so flush and replay lag both grow. Quorum mode: the leader and the other follower make the majority, so writes stay fast.',
      check: (o) => {
        const r = causeCheck('disk', o, 'a slow disk');
        if (!r.passed) return { passed: false, detail: r.detail };
        // The last seconds before the first fault: the cluster warmed up, nothing wrong yet.
        const calm = o.lagSamples.filter((x) => x.node === r.node && x.mono < firstFaultMono(o) && x.mono >= firstFaultMono(o) - baselineWindowMs);
        const baseline = { node: r.node!, writeMs: mean(calm.map((x) => x.writeLagMs)), flushMs: mean(calm.map((x) => x.flushLagMs)), replayMs: mean(calm.map((x) => x.replayLagMs)), samples: calm.length };
        return { passed: true, detail: r.detail, facts: { disk: { ...r.lags!, node: r.node!, faultMs: r.size! }, ...(calm.length > 0 ? { baseline } : {}) } };
      },
      autopilot: async (context) => {
        const { followers } = await leaderAndFollowers(context);
        // Lag samples with nothing wrong first, for the debrief's baseline.
        await context.pause(2_000);
        context.raft.setNodeFault(followers[0]!, { diskSlowMs: diskMs });
        await waitForCheck(context, 'flush and replay lag from the slow disk', 'disk');
      },
    },
    {
      title: 'Its disk back, its apply slow',
      instruction: (o) => {
        const { faulted, node, note } = stepNodes(o, 'disk');
        const target = node ?? '<follower>';
        const clear = faulted === null ? '' : `:disk ${faulted} normal, then `;
        return `${note}Put the disk back and slow the apply instead: ${clear}:apply ${target} slow ${applyMs}ms (each entry it applies takes ${applyMs} ms longer).`;
      },
      hint: `Each entry now becomes visible on that follower ${applyMs} ms later. It still receives and flushes every entry on time: only replay lag should move. (Were entries to come faster than one per ${applyMs} ms, a backlog would build and replay lag would climb without bound.)`,
      check: (o) => {
        const r = causeCheck('apply', o, 'a slow apply');
        if (!r.passed) return { passed: false, detail: r.detail };
        return { passed: true, detail: r.detail, facts: { apply: { ...r.lags!, node: r.node!, faultMs: r.size! } } };
      },
      autopilot: async (context) => {
        const o = await context.waitFor('a leader', (x) => x.leader !== null);
        const picked = stepNodes(o, 'disk');
        const node = nodeOrFail(picked);
        // The disk back wherever it was slowed (a node that is down gets it when it restarts), the apply slowed on a running follower.
        for (const n of o.status) if (n.faults.diskSlowMs > 0 && n.id !== node) context.raft.setNodeFault(n.id, { diskSlowMs: 0 });
        const slowDisk = o.status.find((n) => n.id === node)!.faults.diskSlowMs > 0;
        context.raft.setNodeFault(node, slowDisk ? { diskSlowMs: 0, applySlowMs: applyMs } : { applySlowMs: applyMs });
        await waitForCheck(context, `replay lag from the slow apply on ${node}`, 'apply');
      },
    },
    {
      title: 'Its apply back, its link slow',
      instruction: (o) => {
        const { faulted, node, note } = stepNodes(o, 'apply');
        const target = node ?? '<follower>';
        const clear = faulted === null ? '' : `:apply ${faulted} normal, then `;
        return `${note}Put the apply back and slow the link instead: ${clear}:delay ${leaderName(o)} ${target} ${linkMs}.`;
      },
      hint: 'A delay on the link comes before every stage: the entries arrive late, so they are written, flushed and applied late. All three lags grow, by about the round trip (twice the delay: :delay slows both ways), because the leader times each lag until the follower\'s report reaches it, as pg_stat_replication does.',
      check: (o) => {
        const r = causeCheck('link', o, 'a slow link');
        if (!r.passed) return { passed: false, detail: r.detail };
        return { passed: true, detail: r.detail, facts: { link: { ...r.lags!, node: r.node!, delayMs: r.size! } } };
      },
      autopilot: async (context) => {
        const o = await context.waitFor('a leader', (x) => x.leader !== null);
        const node = nodeOrFail(stepNodes(o, 'apply'));
        // Every node fault cleared (a node that is down gets it when it restarts): the link is the only cause left.
        for (const n of o.status) if (n.faults.applySlowMs > 0 || n.faults.diskSlowMs > 0) context.raft.setNodeFault(n.id, { diskSlowMs: 0, applySlowMs: 0 });
        slowLink(context, o.leader!, node, linkMs);
        await waitForCheck(context, `all three lags from the slow link to ${node}`, 'link');
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    if (f.baseline !== undefined) lines.push(`With nothing wrong, ${f.baseline.node}'s lag averaged ${describeLags(f.baseline)} (${f.baseline.samples} samples): each is the age of the oldest entry the leader has flushed and the follower has not yet reported written, flushed or applied.`);
    if (f.disk !== undefined) {
      lines.push(
        `With ${f.disk.node}'s fsync ${f.disk.faultMs} ms slower, its flush lag averaged ${ms(f.disk.flushMs)} and its replay lag ${ms(f.disk.replayMs)}, while its write lag stayed at ${ms(f.disk.writeMs)}: the entries reached it on time and waited for its disk. Replay lag moved too because a follower here applies only what it has made durable, and replay_lag, in PostgreSQL's definition, runs until the standby has written, flushed and applied the WAL.`,
      );
    }
    if (f.apply !== undefined) {
      lines.push(
        `With each apply ${f.apply.faultMs} ms slower, only replay lag grew: ${ms(f.apply.replayMs)}, against write ${ms(f.apply.writeMs)} and flush ${ms(f.apply.flushMs)}. The follower had every entry on disk and was slow to make it visible; the apply runs as its own stage (in PostgreSQL, too, the startup process replays WAL that the walreceiver process has received and flushed), so receiving and flushing went on at full speed.`,
      );
    }
    if (f.link !== undefined) lines.push(`With ${f.link.delayMs} ms on the link each way, all three grew: ${describeLags(f.link)}, about the round trip of ${2 * f.link.delayMs} ms (the entry goes out late, the report comes back late). The network comes before every stage, so it delays all of them.`);
    lines.push(
      'Each lag is what one ack level waits for: write lag is what ack level received (PostgreSQL\'s synchronous_commit = remote_write) would add to a commit on that follower, flush lag what flushed (on) would add, replay lag what applied (remote_apply) would add, and replay lag is also how stale a read on that follower is. So the column that moves tells you where to look: the network, the follower\'s disk, or its apply (long queries, a single-threaded replay, a big transaction).',
    );
    lines.push(`Over the lab: ${run.writesAcknowledged} writes acknowledged, ${plural(run.lostWrites, 'lost write')}.`);
    return lines;
  },
  quiz: ['lag-metrics', 'lag-cause-slow-disk', 'lag-cause-slow-apply', 'lag-cause-network', 'lag-stages-nested', 'pg-remote-apply'],
});
