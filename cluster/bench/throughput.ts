// The throughput scenario: N closed-loop clients against a 3-node cluster with
// fsync on; acknowledged writes/s, latency, replay lag per follower, and CPU
// and peak RSS per process, all measured from the running processes.

import { Cluster, type ClusterOptions } from '../supervisor/index.js';
import type { EngineKind, ReplicationEngine } from '../engine.js';
import type { ReplicationSettings } from '../protocol.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLoad } from './load.js';
import { cpuSeconds } from './machine.js';
import { fsyncRate, ratePerSecond, round, Samples, summarize, type WalTotals } from './stats.js';

export interface ThroughputOptions {
  readonly mode: ReplicationSettings['mode'];
  readonly ackLevel: ReplicationSettings['ackLevel'];
  readonly clients: number;
  readonly durationS: number;
  readonly nodes: number;
  readonly fsync: boolean;
}

export interface ThroughputResult {
  readonly scenario: 'throughput';
  /** The engine measured (`--engine`): the same clients against either. */
  readonly engine: EngineKind;
  readonly mode: string;
  readonly ack: string;
  readonly clients: number;
  readonly writesPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly replayLagMs: { readonly p50: number; readonly p99: number };
  readonly replayLagMsByFollower: Record<string, { readonly p50: number; readonly p99: number }>;
  readonly rssMbMax: number;
  readonly rssMb: Record<string, number>;
  readonly cpuPercent: Record<string, number>;
  /** Per node: WAL fsyncs per second and their mean time (null: none made, or no reading). */
  readonly fsync: Record<string, { readonly perSecond: number; readonly meanMs: number | null } | null>;
  /** Acknowledged writes per fsync of the leader's WAL: how much group commit shares one fsync. */
  readonly writesPerLeaderFsync: number | null;
  readonly writes: number;
  readonly errors: number;
  readonly durationS: number;
}

const warmupMs = 1_000;
const latencySamplesMax = 1_000_000;

export async function throughput(
  options: ThroughputOptions,
  progress: (fraction: number) => void = () => {},
  start: (options: ClusterOptions) => Promise<ReplicationEngine> = (o) => Cluster.start(o),
): Promise<ThroughputResult> {
  const cluster = await start({ nodes: options.nodes, fsync: options.fsync, replication: { mode: options.mode, ackLevel: options.ackLevel }, telemetryMs: 25 });
  try {
    await cluster.waitForLeader({ timeoutMs: 5_000 });
    let measuring = false;
    const latencies = new Samples(latencySamplesMax);
    const load = startLoad(cluster, options.clients, {
      onAck: (result) => {
        if (measuring) latencies.add(result.latencyMs);
      },
    });
    await sleep(warmupMs);
    const pids = Object.fromEntries(cluster.status().map((n) => [n.id, n.pid!]));
    const cpuBefore = Object.fromEntries(Object.entries(pids).map(([id, pid]) => [id, cpuSeconds(pid) ?? 0]));
    const supervisorBefore = process.cpuUsage();
    const rss: Record<string, number> = { supervisor: process.memoryUsage.rss() };
    const lag = new Map<string, Samples>();
    const walTotals = (): Record<string, WalTotals | null> => Object.fromEntries(cluster.status().map((n) => [n.id, n.wal]));
    const walBefore = walTotals();
    measuring = true;
    const startedMs = performance.now();
    const endMs = startedMs + options.durationS * 1000;
    while (performance.now() < endMs) {
      await sleep(25);
      for (const node of cluster.status()) {
        rss[node.id] = Math.max(rss[node.id] ?? 0, node.rssBytes);
        if (node.lag === null) continue;
        let samples = lag.get(node.id);
        if (samples === undefined) lag.set(node.id, (samples = new Samples(100_000)));
        samples.add(node.lag.replayLagMs);
      }
      rss['supervisor'] = Math.max(rss['supervisor']!, process.memoryUsage.rss());
      progress(Math.min(1, (performance.now() - startedMs) / (endMs - startedMs)));
    }
    measuring = false;
    const elapsedMs = performance.now() - startedMs;
    const walAfter = walTotals();
    const fsync = Object.fromEntries(Object.keys(pids).map((id) => [id, roundRate(fsyncRate(walBefore[id] ?? null, walAfter[id] ?? null, elapsedMs))]));
    const leaderFsyncs = fsync[cluster.leader() ?? '']?.perSecond ?? 0;
    const cpuPercent: Record<string, number> = {};
    for (const [id, pid] of Object.entries(pids)) cpuPercent[id] = round((100 * ((cpuSeconds(pid) ?? 0) - cpuBefore[id]!)) / (elapsedMs / 1000));
    const supervisorCpu = process.cpuUsage(supervisorBefore);
    cpuPercent['supervisor'] = round((100 * (supervisorCpu.user + supervisorCpu.system)) / 1e6 / (elapsedMs / 1000));
    await load.stop();
    const latency = summarize(latencies.snapshot());
    const allLag = summarize([...lag.values()].flatMap((s) => [...s.snapshot()]));
    const byFollower = Object.fromEntries([...lag].map(([id, s]) => [id, pick(summarize(s.snapshot()))]));
    const rssMb = Object.fromEntries(Object.entries(rss).map(([id, bytes]) => [id, round(bytes / 2 ** 20)]));
    const nodeRss = Object.entries(rssMb).filter(([id]) => id !== 'supervisor').map(([, mb]) => mb);
    return {
      scenario: 'throughput',
      engine: cluster.engine,
      mode: options.mode,
      ack: options.ackLevel,
      clients: options.clients,
      writesPerSecond: round(ratePerSecond(latencies.count, elapsedMs)),
      latencyMs: { p50: round(latency.p50), p99: round(latency.p99), max: round(latency.max) },
      replayLagMs: pick(allLag),
      replayLagMsByFollower: byFollower,
      rssMbMax: Math.max(...nodeRss),
      rssMb,
      cpuPercent,
      fsync,
      writesPerLeaderFsync: leaderFsyncs > 0 ? round(ratePerSecond(latencies.count, elapsedMs) / leaderFsyncs) : null,
      writes: latencies.count,
      errors: load.errors(),
      durationS: round(elapsedMs / 1000),
    };
  } finally {
    await cluster.stop();
  }
}

function pick(summary: { p50: number; p99: number }): { p50: number; p99: number } {
  return { p50: round(summary.p50), p99: round(summary.p99) };
}

function roundRate(rate: { perSecond: number; meanMs: number | null } | null): { perSecond: number; meanMs: number | null } | null {
  return rate === null ? null : { perSecond: round(rate.perSecond), meanMs: rate.meanMs === null ? null : round(rate.meanMs) };
}
