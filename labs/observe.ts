// Builds an Observation of the live cluster: status, events, the journal of
// what was done, the workload's history and the rollback files. The history
// is tapped from the workload's in-memory ring at every observation and kept
// (bounded) for the whole run, so a check can look back past the ring.

import { readFileSync } from 'node:fs';
import type { HistoryRecord } from '../cluster/check/index.js';
import { postgresCluster, raftCluster, type ReplicationEngine } from '../cluster/index.js';
import { historyKeptMax, lagSampleEveryMs, lagSamplesKeptMax, nodeSampleEveryMs, nodeSamplesKeptMax, rollbackEntriesMax, rollbackFilesMax } from './constants.js';
import type { Journal } from './journal.js';
import type { Baseline, LagSample, NodeSample, Observation, RollbackFile, RolledBackEntry } from './types.js';

/** Keeps every workload history record seen, reading the workload's ring as often as it is observed. */
export class HistoryTap {
  private readonly kept: HistoryRecord[] = [];
  private lastTotal = 0;
  /** Records that left the ring before they were read (observations too far apart). */
  missed = 0;

  constructor(private readonly cluster: ReplicationEngine) {}

  records(): readonly HistoryRecord[] {
    this.pull();
    return this.kept;
  }

  private pull(): void {
    const history = this.cluster.workload.stats().history;
    if (history === null) return;
    const total = history.records;
    // A restarted workload opens a new recorder whose count starts again at 0.
    const fresh = total >= this.lastTotal ? total - this.lastTotal : total;
    this.lastTotal = total;
    if (fresh === 0) return;
    const ring = this.cluster.workload.recent();
    const taken = Math.min(fresh, ring.length);
    this.missed += fresh - taken;
    for (const record of ring.slice(ring.length - taken)) this.kept.push(record);
    if (this.kept.length > historyKeptMax) this.kept.splice(0, this.kept.length - historyKeptMax);
  }
}

/**
 * Keeps the followers' lag as the leader reports it, read at every
 * observation (at most every lagSampleEveryMs): status() shows only the
 * latest figures, a check on how a fault moved them needs a series.
 */
export class LagTap {
  private readonly kept: LagSample[] = [];
  private lastMono = -Infinity;

  constructor(private readonly cluster: ReplicationEngine) {}

  samples(): readonly LagSample[] {
    const mono = performance.now();
    if (mono - this.lastMono >= lagSampleEveryMs) {
      this.lastMono = mono;
      const leader = this.cluster.leader();
      if (leader !== null) {
        for (const node of this.cluster.status()) {
          if (node.id === leader || node.lag === null || !node.up) continue;
          this.kept.push({ mono, node: node.id, leader, writeLagMs: node.lag.writeLagMs, flushLagMs: node.lag.flushLagMs, replayLagMs: node.lag.replayLagMs });
        }
      }
      if (this.kept.length > lagSamplesKeptMax) this.kept.splice(0, this.kept.length - lagSamplesKeptMax);
    }
    return this.kept;
  }
}

/**
 * Keeps every node's positions, snapshot index and retained WAL, read at
 * every observation (at most every nodeSampleEveryMs): status() shows only
 * the latest, a check on when a node caught up or how the WAL grew needs a
 * series.
 */
export class NodeTap {
  private readonly kept: NodeSample[] = [];
  private lastMono = -Infinity;

  constructor(private readonly cluster: ReplicationEngine) {}

  samples(): readonly NodeSample[] {
    const mono = performance.now();
    if (mono - this.lastMono >= nodeSampleEveryMs) {
      this.lastMono = mono;
      for (const n of this.cluster.status()) {
        this.kept.push({
          mono,
          node: n.id,
          up: n.up,
          reporting: n.up && n.reportAgeMs !== null,
          role: n.role,
          lastIndex: n.lastIndex,
          lastLsn: n.lastLsn,
          commitIndex: n.commitIndex,
          appliedIndex: n.appliedIndex,
          snapshotIndex: n.snapshotIndex,
          walBytesRetained: n.walBytesRetained,
        });
      }
      if (this.kept.length > nodeSamplesKeptMax) this.kept.splice(0, this.kept.length - nodeSamplesKeptMax);
    }
    return this.kept;
  }
}

/** Reads each rollback file a node reports writing, once. */
export class RollbackReader {
  private readonly files = new Map<string, RollbackFile>();

  constructor(private readonly cluster: ReplicationEngine) {}

  read(): readonly RollbackFile[] {
    for (const { event } of this.cluster.events()) {
      if (event.type !== 'rollback-written' || this.files.has(event.path) || this.files.size >= rollbackFilesMax) continue;
      this.files.set(event.path, { node: event.node, path: event.path, entries: readRollbackFile(event.path) });
    }
    return [...this.files.values()];
  }
}

/** The entries of one rollback file (cluster/store/README.md describes its lines); unreadable lines are skipped. */
export function readRollbackFile(path: string): RolledBackEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const entries: RolledBackEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || entries.length >= rollbackEntriesMax) continue;
    try {
      const value = JSON.parse(line) as Record<string, unknown>;
      if (typeof value['index'] !== 'number' || typeof value['term'] !== 'number') continue;
      entries.push({
        index: value['index'],
        term: value['term'],
        kind: typeof value['kind'] === 'string' ? value['kind'] : 'sql',
        sql: typeof value['sql'] === 'string' ? value['sql'] : null,
        params: Array.isArray(value['params']) ? value['params'] : null,
      });
    } catch {
      // A torn last line of a file still being written; the rest is good.
    }
  }
  return entries;
}

export interface ObservationSources {
  readonly cluster: ReplicationEngine;
  readonly journal: Journal;
  readonly tap: HistoryTap;
  readonly rollbacks: RollbackReader;
  readonly lags: LagTap;
  readonly nodes: NodeTap;
  readonly tickMs: number;
  /** Only journal entries from this one on belong to the current cluster. */
  readonly firstAction: number;
}

export function observe(sources: ObservationSources): Observation {
  const { cluster, journal } = sources;
  const actions = journal.actions().filter((action) => action.seq >= sources.firstAction);
  return {
    mono: performance.now(),
    wall: Date.now(),
    tickMs: sources.tickMs,
    status: cluster.status(),
    leader: cluster.leader(),
    replication: cluster.replicationSettings(),
    events: [...cluster.events()],
    actions,
    history: sources.tap.records(),
    workload: cluster.workload.stats(),
    lostWrites: [...cluster.lostWrites()],
    rollbackFiles: sources.rollbacks.read(),
    lagSamples: sources.lags.samples(),
    nodeSamples: sources.nodes.samples(),
    // Only the Raft engine has a voting configuration.
    membership: raftCluster(cluster)?.membership() ?? null,
    engine: cluster.engine,
    serverLog: [...(postgresCluster(cluster)?.serverLog() ?? [])],
    failovers: [...(postgresCluster(cluster)?.failovers() ?? [])],
  };
}

/** What a step's check compares against: the cluster when the step began. */
export function baselineOf(o: Observation): Baseline {
  return {
    mono: o.mono,
    wall: o.wall,
    status: o.status,
    leader: o.leader,
    replication: o.replication,
    actionCount: o.actions.length === 0 ? 0 : o.actions[o.actions.length - 1]!.seq,
    lostWriteCount: o.lostWrites.length,
  };
}
