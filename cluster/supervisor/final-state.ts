// The end of a checked run: undo every fault, wait until the cluster has
// settled (one leader, every node up and caught up), record each node's
// applied index, checksum and kv rows, stop the cluster, then read the
// committed log from the leader's WAL and every node's rollback files, and
// append all of it to the history so the offline checker can find lost writes.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeId } from '../core/index.js';
import type { CommittedRecord, FinalRecord, FinalStateRecord, LogRecord, RolledBackRecord } from '../check/records.js';
import { decodeStatement } from '../store/index.js';
import { openWal } from '../wal/index.js';
import type { Cluster, NodeStatus } from './cluster.js';
import { finalRowsMax } from './constants.js';
import { BadRequestError } from './errors.js';
import { appendToFile } from './files.js';
import { workloadWriteSql } from './workload.js';

export interface SettleResult {
  readonly settled: boolean;
  readonly leader: NodeId | null;
  readonly waitedMs: number;
  /** What was still wrong when it gave up; empty when settled. */
  readonly detail: string;
}

/** Restores every link, resumes paused nodes and restarts dead ones. */
export async function undoAllFaults(cluster: Cluster): Promise<void> {
  cluster.heal();
  for (const node of cluster.status()) {
    if (node.faults.diskSlowMs > 0 || node.faults.applySlowMs > 0) cluster.setNodeFault(node.id, { diskSlowMs: 0, applySlowMs: 0 });
    if (node.paused) cluster.resume(node.id);
    if (!node.up) await cluster.restart(node.id);
  }
}

/**
 * How long after settling began a node's report must have arrived to count: a
 * report already on its way when the last write was acknowledged (over the
 * node's socket, not its IPC channel) may predate that write.
 */
const reportFreshMs = 250;

/** Why the cluster has not settled yet, or null once it has. */
function unsettled(nodes: readonly NodeStatus[], startedMs: number): string | null {
  const down = nodes.filter((n) => !n.up || n.paused);
  if (down.length > 0) return `${down.map((n) => n.id).join(', ')} not running`;
  const now = performance.now();
  const stale = nodes.filter((n) => n.reportAgeMs === null || now - n.reportAgeMs < startedMs + reportFreshMs);
  if (stale.length > 0) return `waiting for a fresh report from ${stale.map((n) => n.id).join(', ')}`;
  const leaders = nodes.filter((n) => n.role === 'leader');
  const leader = leaders.reduce<NodeStatus | null>((best, n) => (best === null || n.term > best.term ? n : best), null);
  if (leader === null) return 'no leader';
  if (leader.commitIndex !== leader.lastIndex) return `${leader.id} has committed ${leader.commitIndex} of ${leader.lastIndex}`;
  // A node the configuration does not hold (an add that never committed) gets no log: it is not waited for.
  const behind = nodes.filter((n) => n.member !== null && (n.lastIndex !== leader.lastIndex || n.appliedIndex !== leader.lastIndex || n.term !== leader.term));
  if (behind.length > 0) return `behind ${leader.id} (index ${leader.lastIndex}): ${behind.map((n) => `${n.id} ${n.appliedIndex}/${n.lastIndex}`).join(', ')}`;
  return null;
}

/**
 * Undoes every fault and waits until one leader has committed its whole log and
 * every node has applied all of it. With manual failover nobody else would
 * elect a leader, so after a second without one it promotes the most
 * up-to-date node, as a careful operator would.
 */
export async function settle(cluster: Cluster, options: { readonly timeoutMs: number; readonly manualFailover: boolean }): Promise<SettleResult> {
  const started = performance.now();
  await undoAllFaults(cluster);
  let leaderlessSince = performance.now();
  let detail = 'not checked yet';
  while (performance.now() - started < options.timeoutMs) {
    const nodes = cluster.status();
    const problem = unsettled(nodes, started);
    if (problem === null) return { settled: true, leader: cluster.leader(), waitedMs: performance.now() - started, detail: '' };
    detail = problem;
    if (cluster.leader() !== null) leaderlessSince = performance.now();
    else if (options.manualFailover && performance.now() - leaderlessSince > 1_000) {
      const best = nodes.filter((n) => n.up && !n.paused).sort((a, b) => b.lastIndex - a.lastIndex)[0];
      if (best !== undefined) await cluster.promote(best.id).catch(() => {});
      leaderlessSince = performance.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { settled: false, leader: cluster.leader(), waitedMs: performance.now() - started, detail };
}

export interface FinalStateSummary {
  readonly finals: readonly FinalRecord[];
  readonly log: LogRecord | null;
  readonly committedWrites: number;
  readonly rolledBackWrites: number;
}

/**
 * Records the final state into `historyPath` and stops the cluster (the WAL is
 * read only once no node writes it). The cluster's data dir must outlive stop():
 * start it with a `dataDir`.
 */
export async function recordFinalState(cluster: Cluster, historyPath: string): Promise<FinalStateSummary> {
  const finals: FinalRecord[] = [];
  for (const node of cluster.status()) {
    // A node outside the configuration (an add that never committed) holds no replica to compare.
    if (!node.up || node.paused || node.member === null) continue;
    try {
      const checksum = await cluster.checksum(node.id);
      finals.push({ type: 'final', node: node.id, appliedIndex: checksum.index, checksum: checksum.value, rows: await kvRows(cluster, node.id) });
    } catch {
      // A node that cannot answer now has no final state to compare; the report lists who has one.
    }
  }
  const source = logSource(cluster);
  await cluster.stop();
  if (!existsSync(cluster.dataDir)) throw new BadRequestError('recordFinalState needs a cluster started with a dataDir: its temporary data dir, WAL included, was removed on stop');
  const records: FinalStateRecord[] = [...finals];
  let log: LogRecord | null = null;
  let committedWrites = 0;
  if (source !== null && existsSync(join(cluster.nodeDir(source.id), 'wal'))) {
    const { records: committed, lastIndex } = await readCommittedWrites(cluster.nodeDir(source.id), source.commitIndex);
    log = { type: 'log', node: source.id, commitIndex: source.commitIndex, lastIndex };
    records.push(log, ...committed);
    committedWrites = committed.length;
  }
  // Removed nodes too: a node rolled back writes before it left, and its data dir stays.
  const rolledBack = [...cluster.ids, ...cluster.removedNodes()].flatMap((id) => readRolledBackWrites(id, cluster.nodeDir(id)));
  records.push(...rolledBack);
  appendToFile(historyPath, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return { finals, log, committedWrites, rolledBackWrites: rolledBack.length };
}

/** The leader if there is one, else the node that has committed furthest: the committed prefix is the same on every node. */
function logSource(cluster: Cluster): { id: NodeId; commitIndex: number } | null {
  const nodes = cluster.status().filter((n) => n.up || n.commitIndex > 0);
  const leader = nodes.find((n) => n.id === cluster.leader());
  const best = leader ?? nodes.sort((a, b) => b.commitIndex - a.commitIndex)[0];
  return best === undefined ? null : { id: best.id, commitIndex: best.commitIndex };
}

async function kvRows(cluster: Cluster, node: NodeId): Promise<FinalRecord['rows']> {
  const result = await cluster.query('SELECT k, v, idx FROM kv ORDER BY k', [], { node, consistency: 'local' });
  if (result.truncated || result.rows.length > finalRowsMax) return null;
  return result.rows.map((row) => [String(row['k']), row['v'] === null ? null : String(row['v']), typeof row['idx'] === 'number' ? row['idx'] : null] as const);
}

/** The workload writes in entries 1..commitIndex of a stopped node's WAL. */
export async function readCommittedWrites(nodeDir: string, commitIndex: number): Promise<{ records: CommittedRecord[]; lastIndex: number }> {
  const { wal } = openWal({ dir: nodeDir, fsync: false });
  try {
    const lastIndex = wal.lastIndex();
    const records: CommittedRecord[] = [];
    for (const entry of wal.entries(1, Math.min(commitIndex, lastIndex) + 1)) {
      if (entry.kind !== 'sql') continue;
      const write = workloadWrite(() => decodeStatement(entry.data));
      if (write !== null) records.push({ type: 'committed', index: entry.index, term: entry.term, ...write });
    }
    return { records, lastIndex };
  } finally {
    await wal.close();
  }
}

/** The workload writes in a node's rollback files (cluster/store/README.md describes their lines). */
export function readRolledBackWrites(node: NodeId, nodeDir: string): RolledBackRecord[] {
  const folder = join(nodeDir, 'rollback');
  if (!existsSync(folder)) return [];
  const records: RolledBackRecord[] = [];
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.jsonl')).sort()) {
    for (const line of readFileSync(join(folder, file), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      let entry: { index: number; term: number; sql: string | null; params: unknown[] | null };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue; // A line torn by a crash while it was written: that rollback never happened.
      }
      const write = workloadWrite(() => ({ sql: entry.sql ?? '', params: entry.params ?? [] }));
      if (write !== null) records.push({ type: 'rolled-back', node, index: entry.index, term: entry.term, ...write });
    }
  }
  return records;
}

function workloadWrite(decode: () => { sql: string; params: readonly unknown[] }): { key: string; value: string | null } | null {
  let statement: { sql: string; params: readonly unknown[] };
  try {
    statement = decode();
  } catch {
    return null;
  }
  const [key, value] = statement.params;
  if (statement.sql !== workloadWriteSql || typeof key !== 'string') return null;
  return { key, value: typeof value === 'string' ? value : null };
}
