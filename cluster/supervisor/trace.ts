// Cluster.trace: one ordinary write, traced. Every running node is armed with
// a tag over IPC first; the write then goes to the leader as usual with the
// tag as its client id (no request id, so the state machine keeps no row for
// it), and each node stamps the stages of that entry on its own monotonic
// clock. Once the followers have applied it (or the settle time is out) the
// supervisor collects the records, disarms the tag and assembles the timeline.

import { randomBytes } from 'node:crypto';
import { majority, type NodeId, type WriteReplication } from '../core/index.js';
import type { Param, ReplicationSettings, ToNode } from '../protocol.js';
import { monotonicUs } from '../node/trace.js';
import { assembleTrace } from '../trace/assemble.js';
import { nodeStamps, peerStamps, type NodeTraceRecord, type TraceRule, type WriteTrace } from '../trace/types.js';
import type { ReplyBody } from '../wire/client.js';
import { BadRequestError, toClusterError, UnavailableError } from './errors.js';
import type { ExecuteOptions, ExecuteResult } from './requests.js';

export interface TraceOptions {
  readonly mode?: WriteReplication['mode'];
  readonly ackLevel?: WriteReplication['ackLevel'];
  readonly quorum?: number;
  /** For the write itself (default 5000 ms). */
  readonly timeoutMs?: number;
  /** How long to wait after the reply for every follower to apply and ack (default 3000 ms). */
  readonly settleMs?: number;
}

export interface TracePort {
  readonly ids: readonly NodeId[];
  /** Nodes up and not paused: the ones armed and asked. */
  reachable(): NodeId[];
  waitForLeader(timeoutMs: number): Promise<NodeId>;
  control(id: NodeId, message: (requestId: number) => ToNode, timeoutMs: number): Promise<ReplyBody>;
  execute(sql: string, params: readonly Param[], options: ExecuteOptions): Promise<ExecuteResult>;
  replication(): ReplicationSettings;
}

const controlTimeoutMs = 2_000;
const settleMsDefault = 3_000;
const pollMs = 20;

export async function runTrace(port: TracePort, sql: string, params: readonly Param[], options: TraceOptions): Promise<WriteTrace> {
  const settleMs = options.settleMs ?? settleMsDefault;
  if (!(Number.isFinite(settleMs) && settleMs >= 0 && settleMs <= 60_000)) throw new BadRequestError(`settleMs must be from 0 to 60000, got ${String(settleMs)}`);
  const timeoutMs = options.timeoutMs ?? 5_000;
  const leader = await port.waitForLeader(timeoutMs);
  const tag = `trace-${randomBytes(8).toString('hex')}`;
  const nodes = port.reachable();
  const ask = (id: NodeId, action: 'arm' | 'report' | 'disarm'): Promise<ReplyBody> => port.control(id, (requestId) => ({ type: 'trace', id: requestId, action, tag }), controlTimeoutMs);
  const armed: NodeId[] = [];
  try {
    const replies = await Promise.all(nodes.map(async (id) => ({ id, reply: await ask(id, 'arm') })));
    for (const { id, reply } of replies) {
      if (reply.ok) armed.push(id);
      else if (id === leader) throw toClusterError(reply.error!, id);
    }
    const write: ExecuteOptions = {
      node: leader,
      client: tag,
      timeoutMs,
      ...(options.mode === undefined ? {} : { mode: options.mode }),
      ...(options.ackLevel === undefined ? {} : { ackLevel: options.ackLevel }),
      ...(options.quorum === undefined ? {} : { quorum: options.quorum }),
    };
    const sendUs = monotonicUs();
    let result: ExecuteResult;
    try {
      result = await port.execute(sql, params, write);
    } catch (error) {
      if ((error as { kind?: unknown }).kind === 'not-leader') throw new UnavailableError(`leadership moved away from ${leader} as the traced write arrived; trace again`, null, 'not-leader');
      throw error;
    }
    const receiveUs = monotonicUs();
    const followers = port.ids.filter((id) => id !== leader);
    const records = await collect(armed, (id) => ask(id, 'report'), followers.filter((id) => armed.includes(id)), leader, settleMs);
    const rule = traceRule(port.replication(), options, leader, port.ids);
    return assembleTrace({
      sql,
      leader,
      followers,
      records,
      clientPid: process.pid,
      clientSendUs: sendUs,
      clientReceiveUs: receiveUs,
      clientLatencyMs: result.latencyMs,
      index: result.index,
      term: result.term,
      rule,
    });
  } finally {
    await Promise.all(armed.map((id) => ask(id, 'disarm')));
  }
}

/** Asks for the records until every follower has applied and acked the entry and the leader heard it, or until `settleMs`. */
async function collect(
  armed: readonly NodeId[],
  report: (id: NodeId) => Promise<ReplyBody>,
  followers: readonly NodeId[],
  leader: NodeId,
  settleMs: number,
): Promise<Map<NodeId, NodeTraceRecord | null>> {
  const deadline = performance.now() + settleMs;
  for (;;) {
    const records = new Map<NodeId, NodeTraceRecord | null>();
    await Promise.all(
      armed.map(async (id) => {
        const reply = await report(id);
        records.set(id, reply.ok ? traceRecord(reply.result?.['record']) : null);
      }),
    );
    const leaderRecord = records.get(leader) ?? null;
    const complete =
      leaderRecord?.stamps['reply-sent'] !== undefined &&
      // Followers can complete a quorum before the leader's own fdatasync ends: its end is waited for too.
      leaderRecord.stamps['fsync-end'] !== undefined &&
      followers.every((f) => records.get(f)?.stamps['ack-sent-applied'] !== undefined && leaderRecord.peers[f]?.['ack-applied'] !== undefined);
    if (complete || performance.now() >= deadline) return records;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The rule the traced write was acknowledged by: the cluster's, with the write's overrides. */
export function traceRule(settings: ReplicationSettings, options: TraceOptions, leader: NodeId, ids: readonly NodeId[]): TraceRule {
  return {
    mode: options.mode ?? settings.mode,
    ackLevel: options.ackLevel ?? settings.ackLevel,
    quorum: options.quorum ?? settings.quorum ?? majority(ids.length),
    syncStandbys: (settings.syncStandbys ?? ids).filter((id) => id !== leader && ids.includes(id)),
  };
}

const isStamp = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isRecordLike = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A node's report, checked field by field: anything malformed reads as no record. */
export function traceRecord(value: unknown): NodeTraceRecord | null {
  if (!isRecordLike(value)) return null;
  const { node, pid, tag, role, index, term, fsync, commitVia, stamps, peers, firstText } = value;
  if (typeof node !== 'string' || typeof tag !== 'string' || typeof fsync !== 'boolean' || !isStamp(pid)) return null;
  if (role !== null && role !== 'leader' && role !== 'follower') return null;
  if ((index !== null && !isStamp(index)) || (term !== null && !isStamp(term))) return null;
  if (commitVia !== null && commitVia !== 'append' && commitVia !== 'heartbeat') return null;
  if (!isRecordLike(stamps) || !isRecordLike(peers)) return null;
  const cleanStamps: Record<string, number> = {};
  for (const name of nodeStamps) if (isStamp(stamps[name])) cleanStamps[name] = stamps[name];
  const cleanPeers: Record<string, Record<string, number>> = {};
  for (const [peer, value] of Object.entries(peers).slice(0, 64)) {
    if (!isRecordLike(value)) continue;
    const into: Record<string, number> = {};
    for (const name of peerStamps) if (isStamp(value[name])) into[name] = value[name];
    cleanPeers[peer] = into;
  }
  const record: NodeTraceRecord = { node, pid, tag, role, index, term, fsync, commitVia, stamps: cleanStamps, peers: cleanPeers };
  return typeof firstText === 'boolean' ? { ...record, firstText } : record;
}
