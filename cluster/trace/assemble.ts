// Assembles the nodes' stamps of one traced write into lanes, the critical
// path and the sum of where the time went. Pure: the records in, a WriteTrace
// out, so every mode's reasoning can be tested without processes.
//
// The critical path is walked backwards from the client's receive, each step
// following what the later stage waited for: the reply waited for the leader's
// apply, which waited for the replication rule (async: the leader's own
// fdatasync; sync: the slowest of the sync followers; quorum: the fastest
// followers that complete the quorum); a follower's ack waited for its write,
// fdatasync or apply; an apply on a follower waited for its fdatasync.
// Consecutive steps share an end, so the path's
// durations sum to the client's send-to-receive time exactly; each duration is
// taken on one process's clock, or across two for the network.

import type { AckLevel, NodeId } from '../core/index.js';
import { ackLevelsTraced, type FollowerAcks, type NodeStamp, type NodeTraceRecord, type SpanCategory, type TraceLane, type TraceMark, type TraceRule, type TraceSpan, type TraceSummary, type WriteTrace } from './types.js';

export interface TraceInput {
  readonly sql: string;
  readonly leader: NodeId;
  /** Every other node of the cluster, whether or not it reported. */
  readonly followers: readonly NodeId[];
  readonly records: ReadonlyMap<NodeId, NodeTraceRecord | null>;
  readonly clientPid: number;
  /** CLOCK_MONOTONIC µs, taken by the client just before sending and just after the reply. */
  readonly clientSendUs: number;
  readonly clientReceiveUs: number;
  readonly clientLatencyMs: number;
  readonly index: number;
  readonly term: number;
  readonly rule: TraceRule;
}

export const clockNote = 'CLOCK_MONOTONIC (process.hrtime.bigint), one clock shared by every process on Linux';

class PathBroken extends Error {}

/** The q-th earliest of the candidates that happened (q from 1), or null when fewer did. */
function nthEarliest<T extends { at: number | null }>(candidates: readonly T[], q: number): (T & { at: number }) | null {
  const seen = candidates.filter((c): c is T & { at: number } => c.at !== null).sort((a, b) => a.at - b.at);
  return seen[q - 1] ?? null;
}

const levelOf: Record<AckLevel, 'ack-received' | 'ack-flushed' | 'ack-applied'> = { received: 'ack-received', flushed: 'ack-flushed', applied: 'ack-applied' };

export function assembleTrace(input: TraceInput): WriteTrace {
  const origin = input.clientSendUs;
  const rel = (t: number): number => t - origin;
  const leaderRecord = input.records.get(input.leader) ?? null;
  const missing: string[] = [];
  const problems: string[] = [];
  const stamp = (node: NodeId, name: NodeStamp): number | null => input.records.get(node)?.stamps[name] ?? null;
  const peerStamp = (follower: NodeId, name: 'append-sent' | 'commit-sent' | 'ack-received' | 'ack-flushed' | 'ack-applied'): number | null => leaderRecord?.peers[follower]?.[name] ?? null;
  const fsyncWord = (node: NodeId): string => (input.records.get(node)?.fsync === false ? 'flush (fsync off)' : 'fdatasync');

  // ---------------------------------------------------------------------------
  // Lanes: each process's own spans and marks.
  const lanes: TraceLane[] = [];
  lanes.push({
    id: 'client',
    role: 'client',
    pid: input.clientPid,
    spans: [{ lane: 'client', label: 'request', category: 'wait', startUs: 0, durationUs: input.clientReceiveUs - origin }],
    marks: [],
  });
  const span = (lane: string, label: string, category: SpanCategory, from: number | null, to: number | null): TraceSpan | null =>
    from === null || to === null ? null : { lane, label, category, startUs: rel(from), durationUs: to - from };
  const nodeSpans = (node: NodeId, leading: boolean): TraceSpan[] => {
    const s = (label: string, category: SpanCategory, from: NodeStamp, to: NodeStamp) => span(node, label, category, stamp(node, from), stamp(node, to));
    const list = leading
      ? [
          s('validate', 'cpu', 'receive', 'validated'),
          s('append to log', 'cpu', 'validated', 'appended'),
          s('WAL write', 'disk', 'wal-write-start', 'wal-write-end'),
          s(fsyncWord(node), 'disk', 'fsync-start', 'fsync-end'),
          s('apply (SQLite)', 'cpu', 'apply-start', 'apply-end'),
          s('reply', 'cpu', 'apply-end', 'reply-sent'),
        ]
      : [
          span(node, `append ${input.leader} → ${node}`, 'network', peerStamp(node, 'append-sent'), stamp(node, 'receive')),
          s('WAL write', 'disk', 'wal-write-start', 'wal-write-end'),
          s(fsyncWord(node), 'disk', 'fsync-start', 'fsync-end'),
          s('apply (SQLite)', 'cpu', 'apply-start', 'apply-end'),
        ];
    return list.filter((x): x is TraceSpan => x !== null);
  };
  const leaderMarks: TraceMark[] = [];
  const commitAt = stamp(input.leader, 'commit');
  if (commitAt !== null) leaderMarks.push({ lane: input.leader, label: 'commit index reaches the entry', glyph: 'C', atUs: rel(commitAt) });
  lanes.push({ id: input.leader, role: 'leader', pid: leaderRecord?.pid ?? null, spans: nodeSpans(input.leader, true), marks: leaderMarks });
  const acks: Record<NodeId, Record<AckLevel, number | null>> = {};
  for (const follower of input.followers) {
    const record = input.records.get(follower) ?? null;
    const marks: TraceMark[] = [];
    const level: Record<AckLevel, number | null> = { received: null, flushed: null, applied: null };
    for (const l of ackLevelsTraced) {
      const sent = stamp(follower, `ack-sent-${l}`);
      if (sent !== null) marks.push({ lane: follower, label: `ack '${l}' sent`, glyph: l[0]!, atUs: rel(sent) });
      const arrived = peerStamp(follower, levelOf[l]);
      level[l] = arrived === null ? null : rel(arrived);
    }
    const learned = stamp(follower, 'commit-learned');
    if (learned !== null) marks.push({ lane: follower, label: `commit index learned (${record?.commitVia ?? '?'})`, glyph: 'c', atUs: rel(learned) });
    acks[follower] = level;
    lanes.push({ id: follower, role: 'follower', pid: record?.pid ?? null, spans: nodeSpans(follower, false), marks });
    if (record === null || record.role === null) missing.push(`${follower}: never received the entry (down, paused or cut off?)`);
    else {
      for (const name of ['wal-write-end', 'fsync-end', 'apply-end', 'ack-sent-applied'] as const) if (record.stamps[name] === undefined) missing.push(`${follower}: no ${name}`);
    }
  }
  if (leaderRecord === null || leaderRecord.role !== 'leader') missing.push(`${input.leader}: no record of proposing the entry`);
  else for (const name of ['wal-write-end', 'fsync-end', 'apply-end', 'reply-sent'] as const) if (leaderRecord.stamps[name] === undefined) missing.push(`${input.leader}: no ${name}`);

  // ---------------------------------------------------------------------------
  // The critical path, built backwards.
  const path: TraceSpan[] = [];
  const need = (what: string, t: number | null): number => {
    if (t === null) {
      missing.push(`critical path: ${what}`);
      throw new PathBroken(what);
    }
    return t;
  };
  const seg = (lane: string, label: string, category: SpanCategory, from: number, to: number): void => {
    if (to < from) problems.push(`${label}: ends ${(from - to).toFixed(1)} µs before it starts`);
    path.push({ lane, label, category, startUs: rel(from), durationUs: to - from });
  };
  const L = input.leader;
  const S = (node: NodeId, name: NodeStamp): number => need(`${node} ${name}`, stamp(node, name));
  const P = (follower: NodeId, name: 'append-sent' | 'commit-sent' | 'ack-received' | 'ack-flushed' | 'ack-applied'): number => need(`${L} ${name} ${follower}`, peerStamp(follower, name));

  /** The leader from the client's send to the end of its WAL write. */
  const leaderFront = (): void => {
    const writeEnd = S(L, 'wal-write-end');
    const writeStart = S(L, 'wal-write-start');
    seg(L, `${L} WAL write`, 'disk', writeStart, writeEnd);
    const appended = S(L, 'appended');
    seg(L, `${L} ready loop until the write`, 'cpu', appended, writeStart);
    leaderRequest();
  };
  /** The leader from the client's send to the entry in its log. */
  const leaderRequest = (): void => {
    const appended = S(L, 'appended');
    const validated = S(L, 'validated');
    seg(L, `${L} append to the log`, 'cpu', validated, appended);
    const received = S(L, 'receive');
    seg(L, `${L} validate the statement`, 'cpu', received, validated);
    seg(L, `client → ${L}: the request`, 'network', origin, received);
  };
  /** A node's fdatasync back to its WAL write. */
  const fsyncChain = (node: NodeId): void => {
    const end = S(node, 'fsync-end');
    const start = S(node, 'fsync-start');
    seg(node, `${node} ${fsyncWord(node)}`, 'disk', start, end);
    const written = S(node, 'wal-write-end');
    if (stamp(node, 'fsync-queued') !== null) seg(node, `${node} waits for the fsync in progress (group commit)`, 'disk', written, start);
    else seg(node, `${node} starts the flush`, 'cpu', written, start);
    if (node === L) leaderFront();
    else followerWrite(node);
  };
  const followerWrite = (f: NodeId): void => {
    const end = S(f, 'wal-write-end');
    const start = S(f, 'wal-write-start');
    seg(f, `${f} WAL write`, 'disk', start, end);
    const received = S(f, 'receive');
    seg(f, `${f} reads the append`, 'cpu', received, start);
    const sent = P(f, 'append-sent');
    seg(f, `${L} → ${f}: the append`, 'network', sent, received);
    const leaderWrote = stamp(L, 'wal-write-end');
    if (leaderWrote !== null && leaderWrote <= sent) {
      seg(L, `${L} sends the append`, 'cpu', leaderWrote, sent);
      leaderFront();
    } else {
      // A leader sends its appends before its own WAL write (node/host.ts): from its log straight to the send.
      seg(L, `${L} sends the append, before its own WAL write`, 'cpu', S(L, 'appended'), sent);
      leaderRequest();
    }
  };
  /** What made the entry reach `level` for the rule's count, among the leader's fsync and the followers' acks. */
  const candidates = (level: AckLevel) => [
    { who: L, at: stamp(L, 'fsync-end') },
    ...input.followers.map((f) => ({ who: f, at: peerStamp(f, levelOf[level]) })),
  ];
  const ruleCause = (): { who: NodeId; at: number } => {
    const { mode, ackLevel } = input.rule;
    if (mode === 'async') return { who: L, at: S(L, 'fsync-end') };
    if (mode === 'sync') {
      const set = [{ who: L, at: stamp(L, 'fsync-end') }, ...input.rule.syncStandbys.map((f) => ({ who: f, at: peerStamp(f, levelOf[ackLevel]) }))];
      const late = set.find((c) => c.at === null);
      if (late !== undefined) need(`${late.who} reaching '${ackLevel}'`, null);
      return nthEarliest(set, set.length)!;
    }
    const chosen = nthEarliest(candidates(ackLevel), input.rule.quorum);
    return chosen ?? { who: L, at: need(`${input.rule.quorum} nodes reaching '${ackLevel}'`, null) };
  };
  /** From a follower's ack arriving at the leader back to the client's send. */
  const ackChain = (f: NodeId, level: AckLevel): void => {
    const arrived = P(f, levelOf[level]);
    const sent = S(f, `ack-sent-${level}`);
    seg(L, `${f} → ${L}: ack '${level}'`, 'network', sent, arrived);
    if (level === 'received') {
      const written = S(f, 'wal-write-end');
      seg(f, `${f} reports it`, 'cpu', written, sent);
      followerWrite(f);
    } else if (level === 'flushed') {
      const synced = S(f, 'fsync-end');
      seg(f, `${f} reports it`, 'cpu', synced, sent);
      fsyncChain(f);
    } else {
      const applied = S(f, 'apply-end');
      seg(f, `${f} reports it`, 'cpu', applied, sent);
      const applyStart = S(f, 'apply-start');
      seg(f, `${f} apply (SQLite)`, 'cpu', applyStart, applied);
      // A follower applies what is durable and matches the leader's log (the core's applyLimit), without waiting to learn it is committed.
      const synced = S(f, 'fsync-end');
      seg(f, `${f} starts applying`, 'cpu', synced, applyStart);
      fsyncChain(f);
    }
  };

  let decidedBy = 'unknown';
  let decidedAt: number | null = null;
  const clientReceive = input.clientReceiveUs;
  try {
    const replySent = S(L, 'reply-sent');
    seg('client', `${L} → client: the reply`, 'network', replySent, clientReceive);
    const applied = S(L, 'apply-end');
    seg(L, `${L} sends the reply`, 'cpu', applied, replySent);
    const released = S(L, 'apply-start');
    seg(L, `${L} apply (SQLite)`, 'cpu', released, applied);
    const cause = ruleCause();
    decidedBy = cause.who === L ? 'leader-fsync' : cause.who;
    decidedAt = cause.at;
    seg(L, cause.who === L ? `${L} releases the write` : `${L} counts the ack and releases the write`, 'cpu', cause.at, released);
    if (cause.who === L) fsyncChain(L);
    else ackChain(cause.who, input.rule.ackLevel);
  } catch (error) {
    if (!(error instanceof PathBroken)) throw error;
  }
  path.reverse();

  const summary = summarize(path, stamp(L, 'fsync-end'), decidedAt);
  const trace: WriteTrace = {
    sql: input.sql,
    index: input.index,
    term: input.term,
    leader: L,
    followers: input.followers,
    rule: input.rule,
    fsync: leaderRecord?.fsync ?? true,
    clientLatencyUs: input.clientLatencyMs * 1_000,
    originUs: origin,
    lanes,
    criticalPath: path,
    acks,
    decidedBy,
    summary,
    explanation: [],
    missing: [...new Set(missing)],
    problems,
    clock: clockNote,
  };
  return { ...trace, explanation: explain(trace, input, commitAt === null ? null : rel(commitAt)) };
}

function summarize(path: readonly TraceSpan[], leaderFsyncEnd: number | null, decidedAt: number | null): TraceSummary {
  const diskUs: Record<string, number> = {};
  const cpuUs: Record<string, number> = {};
  let networkUs = 0;
  let totalUs = 0;
  for (const s of path) {
    totalUs += s.durationUs;
    if (s.category === 'network') networkUs += s.durationUs;
    else {
      const into = s.category === 'disk' ? diskUs : cpuUs;
      into[s.lane] = (into[s.lane] ?? 0) + s.durationUs;
    }
  }
  // From the leader's own fdatasync to the ack that completed the rule: 0 when its own fdatasync came last.
  const quorumWaitUs = leaderFsyncEnd === null || decidedAt === null ? 0 : Math.max(0, decidedAt - leaderFsyncEnd);
  return { totalUs, networkUs, diskUs, cpuUs, quorumWaitUs };
}

const at = (value: number | null): string => (value === null ? 'never' : `+${Math.round(value)} µs`);

/** Why the write waited for what it waited for: the mode's rule and the ack level's meaning, with this run's figures. */
function explain(trace: WriteTrace, input: TraceInput, commitUs: number | null): string[] {
  const { rule, leader, acks } = trace;
  const level = rule.ackLevel;
  const lines: string[] = [];
  if (input.records.get(leader)?.firstText === true) {
    lines.push(
      `${leader} met this statement's text for the first time: 'validate the statement' includes the analysis it does once per text (tokens, rules, a trial prepare) and keeps, so the next write of the same text spends less there.`,
    );
  }
  const leaderFsync = trace.lanes.find((lane) => lane.id === leader)?.spans.find((s) => s.label === 'fdatasync' || s.label.startsWith('flush'));
  const leaderDone = leaderFsync === undefined ? null : leaderFsync.startUs + leaderFsync.durationUs;
  const arrivals = input.followers.map((f) => ({ f, at: acks[f]?.[level] ?? null })).sort((a, b) => (a.at ?? Infinity) - (b.at ?? Infinity));
  const list = arrivals.map((a) => `${a.f} ${at(a.at)}`).join(', ');
  switch (rule.mode) {
    case 'async':
      lines.push(`async: ${leader} answered once its own ${leaderFsync?.label ?? 'fdatasync'} was done (${at(leaderDone)}); it waited for no follower. Their '${level}' acks reached it at ${list || 'no time (no followers)'}.`);
      break;
    case 'sync': {
      const decider = trace.decidedBy === 'leader-fsync' ? `${leader}'s own fdatasync` : `${trace.decidedBy}'s ack`;
      lines.push(
        `sync: ${leader} waited for every sync follower (${rule.syncStandbys.join(', ') || 'none'}) to report '${level}' and for its own fdatasync (${at(leaderDone)}): the slowest decides. '${level}' acks arrived at ${list}; the last of them, ${decider}, released the write.`,
      );
      break;
    }
    case 'quorum': {
      const nodes = input.followers.length + 1;
      const decider = trace.decidedBy === 'leader-fsync' ? `${leader}'s own fdatasync` : `${trace.decidedBy}'s ack`;
      lines.push(
        `quorum: ${rule.quorum} of ${nodes} nodes must reach '${level}', the leader counting once its own fdatasync is done (${at(leaderDone)}). The write waits for the first ${rule.quorum} to get there, the fastest, and not for the rest. '${level}' acks arrived at ${list}; ${decider} was number ${rule.quorum}, and released it.`,
      );
      break;
    }
  }
  if (rule.mode === 'async') {
    lines.push(`In async mode the ack level ('${level}') is not waited for: it only says what the followers' acks above mean.`);
    return lines;
  }
  switch (level) {
    case 'received':
      lines.push("'received': a follower counts once the entry has reached it and is written to its WAL, before its fdatasync; a crash of that follower can still lose it.");
      break;
    case 'flushed':
      lines.push("'flushed': a follower counts after its fdatasync, so the entry survives a crash of that follower.");
      break;
    case 'applied':
      lines.push(
        `'applied': a follower counts once it has applied the entry to its SQLite, after its fdatasync: one more step than 'flushed', on the follower. Followers here apply what is durable and matches the leader's log without waiting to learn that it is committed (${leader} committed it at ${at(commitUs)}); a read there can see a write that is not yet committed.`,
      );
      break;
  }
  return lines;
}
