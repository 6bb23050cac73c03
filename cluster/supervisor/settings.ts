// The whole configuration of a cluster, checked and converted once, before
// any process spawns: milliseconds become ticks here and nowhere else, and a
// setting the core would refuse is a BadRequestError naming it in
// milliseconds, not a node that dies at startup.

import { replicationProblem, timingProblem, type Failover, type NodeId } from '../core/index.js';
import type { ReplicationSettings } from '../protocol.js';
import { replicationTicks, toTicks } from '../ticks.js';
import { BadRequestError } from './errors.js';
import { unsafeOptions, type ClusterOptions, type UnsafeOption } from './types.js';
import { snapshotPolicyDefault, snapshotPolicyProblem, type SnapshotPolicy } from '../node/snapshots.js';

export interface ResolvedOptions {
  readonly nodes: number;
  readonly failover: Failover;
  readonly fencing: boolean;
  readonly electionTimeoutMs: readonly [number, number];
  readonly heartbeatMs: number;
  readonly tickMs: number;
  readonly fsync: boolean;
  readonly seed: number;
  readonly unsafe: readonly UnsafeOption[];
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly telemetryMs: number;
  readonly snapshot: SnapshotPolicy;
}

export const defaultReplication: ReplicationSettings = {
  mode: 'quorum',
  ackLevel: 'flushed',
  quorum: null,
  syncStandbys: null,
  syncTimeoutMs: null,
  syncFallback: 'block',
};

const finiteAtLeast = (value: unknown, min: number): value is number => typeof value === 'number' && Number.isFinite(value) && value >= min;

/** Every option checked, defaults filled in; throws BadRequestError naming the first problem. */
export function resolveOptions(options: ClusterOptions): ResolvedOptions {
  const nodes = options.nodes ?? 3;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) throw new BadRequestError(`nodes must be a whole number from 1 to 9, got ${String(nodes)}`);
  const tickMs = options.tickMs ?? 10;
  if (!finiteAtLeast(tickMs, 1) || tickMs > 1_000) throw new BadRequestError(`tickMs must be from 1 to 1000, got ${String(tickMs)}`);
  const [electionMin, electionMax] = options.electionTimeoutMs ?? [150, 300];
  const heartbeatMs = options.heartbeatMs ?? 50;
  if (!finiteAtLeast(electionMin, 0) || !finiteAtLeast(electionMax, 0) || !finiteAtLeast(heartbeatMs, 0)) {
    throw new BadRequestError('electionTimeoutMs must be [min, max] and heartbeatMs a number of milliseconds');
  }
  const timing = timingProblem([toTicks(electionMin, tickMs), toTicks(electionMax, tickMs)], toTicks(heartbeatMs, tickMs));
  if (timing !== null) {
    throw new BadRequestError(
      `with tickMs ${tickMs}, electionTimeoutMs [${electionMin}, ${electionMax}] and heartbeatMs ${heartbeatMs} do not work: ${timing} ` +
        `(the election timeout needs at least 2 ticks, and the heartbeat must be shorter than it in whole ticks)`,
    );
  }
  const telemetryMs = options.telemetryMs ?? 100;
  if (!finiteAtLeast(telemetryMs, 10)) throw new BadRequestError(`telemetryMs must be at least 10, got ${String(telemetryMs)}`);
  const failover = options.failover ?? 'raft';
  if (failover !== 'raft' && failover !== 'manual') throw new BadRequestError(`failover must be raft or manual, got ${String(failover)}`);
  const unsafe = options.unsafe ?? [];
  if (!Array.isArray(unsafe) || unsafe.some((option) => !(unsafeOptions as readonly unknown[]).includes(option))) {
    throw new BadRequestError(`unsafe must be a list of ${unsafeOptions.join(', ')}; got ${JSON.stringify(unsafe)}`);
  }
  const snapshotProblem = options.snapshot === undefined ? null : snapshotPolicyProblem(options.snapshot);
  if (snapshotProblem !== null) throw new BadRequestError(snapshotProblem);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  if (!Number.isSafeInteger(seed)) throw new BadRequestError(`seed must be a whole number, got ${String(seed)}`);
  return {
    nodes,
    failover,
    fencing: options.fencing ?? true,
    electionTimeoutMs: [electionMin, electionMax],
    heartbeatMs,
    tickMs,
    fsync: options.fsync ?? true,
    seed,
    preVote: options.preVote ?? true,
    checkQuorum: options.checkQuorum ?? true,
    telemetryMs,
    unsafe: [...new Set(unsafe)],
    snapshot: { ...snapshotPolicyDefault, ...options.snapshot },
  };
}

/** Replication settings the core accepts for these nodes; throws BadRequestError otherwise. */
export function checkReplication(settings: ReplicationSettings, ids: readonly NodeId[], tickMs: number): ReplicationSettings {
  if (!['async', 'sync', 'quorum'].includes(settings.mode)) throw new BadRequestError(`mode must be async, sync or quorum, got ${String(settings.mode)}`);
  if (!['received', 'flushed', 'applied'].includes(settings.ackLevel)) throw new BadRequestError(`ackLevel must be received, flushed or applied, got ${String(settings.ackLevel)}`);
  if (!['block', 'async'].includes(settings.syncFallback)) throw new BadRequestError(`syncFallback must be block or async, got ${String(settings.syncFallback)}`);
  const problem = replicationProblem(replicationTicks(settings, tickMs), ids);
  if (problem !== null) throw new BadRequestError(problem);
  return settings;
}
