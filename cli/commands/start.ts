// `replica-lab start --headless`: a cluster with a light workload and one
// status line per second, for scripts, pipes and machines without a TTY.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Cluster, recordFinalState, settle, type NodeStatus, type WorkloadOptions } from '../../cluster/index.js';
import { UsageError } from '../errors.js';
import { choiceFlag, wholeFlag } from '../flags.js';
import { addWorkloadFlags, parseWorkloadFlags, type WorkloadFlags } from '../workload-flags.js';

interface StartFlags extends WorkloadFlags {
  readonly headless?: boolean;
  readonly nodes: string;
  readonly mode: string;
  readonly ack: string;
  readonly failover: string;
  readonly checkQuorum?: boolean;
  readonly dataDir?: string;
  readonly duration?: string;
  readonly workload: boolean;
  readonly history: boolean;
  readonly json?: boolean;
}

export function registerStart(program: Command): void {
  const start = program
    .command('start')
    .description('start a cluster with a light workload (headless: one status line per second)')
    .option('--headless', "no TUI: print status lines (required; the dashboard is 'replica-lab' with no command)")
    .option('--nodes <n>', 'number of nodes (1-7)', '3')
    .option('--mode <mode>', 'replication mode: async | sync | quorum', 'quorum')
    .option('--ack <level>', 'ack level: received | flushed | applied', 'flushed')
    .option('--failover <kind>', 'raft | manual', 'raft')
    .option('--no-check-quorum', 'a leader that stops hearing a majority keeps leading (CheckQuorum off; lease reads fall back to ReadIndex)')
    .option('--data-dir <dir>', 'where node data lives (kept after stopping); default a new temporary dir, also kept')
    .option('--duration <seconds>', 'stop by itself after this many seconds')
    .option('--no-workload', 'start no client workload')
    .option('--no-history', 'record no history (default: <data-dir>/history.jsonl, with the final state on stop)')
    .option('--json', 'print JSON lines: { "t", "leader", "term", "nodes": [...] }');
  addWorkloadFlags(start, { rate: '20', concurrency: '16', readFraction: '0.5', keys: '100', readTarget: 'any', readConsistency: 'local', opTimeout: '2000' });
  start.action(async (flags: StartFlags) => {
    if (flags.headless !== true) throw new UsageError("'start' runs without the dashboard: add --headless (the dashboard is 'replica-lab' with no command)", { command: 'start' });
    const nodes = wholeFlag('--nodes', flags.nodes, 1, 7, 'start');
    const mode = choiceFlag('--mode', flags.mode, ['async', 'sync', 'quorum'] as const, 'start');
    const ackLevel = choiceFlag('--ack', flags.ack, ['received', 'flushed', 'applied'] as const, 'start');
    const failover = choiceFlag('--failover', flags.failover, ['raft', 'manual'] as const, 'start');
    const durationS = flags.duration === undefined ? null : wholeFlag('--duration', flags.duration, 1, 86_400, 'start');
    const dataDir = flags.dataDir ?? mkdtempSync(join(tmpdir(), 'replica-lab-'));
    const workload = flags.workload ? { ...parseWorkloadFlags(flags, 'start'), history: flags.history } : null;
    await runHeadless({ nodes, mode, ackLevel, failover, checkQuorum: flags.checkQuorum !== false, dataDir, durationS, workload, json: flags.json === true });
  });
}

async function runHeadless(options: {
  nodes: number;
  mode: 'async' | 'sync' | 'quorum';
  ackLevel: 'received' | 'flushed' | 'applied';
  failover: 'raft' | 'manual';
  checkQuorum: boolean;
  dataDir: string;
  durationS: number | null;
  workload: Partial<WorkloadOptions> | null;
  json: boolean;
}): Promise<void> {
  const cluster = await Cluster.start({
    nodes: options.nodes,
    dataDir: options.dataDir,
    failover: options.failover,
    checkQuorum: options.checkQuorum,
    replication: { mode: options.mode, ackLevel: options.ackLevel },
  });
  if (cluster.lockTakenOverFrom !== null) process.stderr.write(`replica-lab: took over the data dir's stale lock (pid ${cluster.lockTakenOverFrom} is gone)\n`);
  const startedMs = Date.now();
  let stopping = false;
  let finished = (): void => {};
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(ticker);
    const history = await finishHistory(cluster);
    await cluster.stop();
    process.stderr.write(`replica-lab: ${why}; every node stopped. Data is in ${cluster.dataDir}\n`);
    if (history !== null) process.stderr.write(`replica-lab: history in ${history}; check it with 'replica-lab check ${history}'\n`);
    finished();
  };
  process.once('SIGINT', () => void stop('interrupted'));
  process.once('SIGTERM', () => void stop('terminated'));
  // A closed terminal or a supervisor's reload: stop the same way, final state included.
  process.once('SIGHUP', () => void stop('hung up'));
  if (!options.json) process.stderr.write(`replica-lab: ${options.nodes} nodes, ${options.mode}/${options.ackLevel}, data in ${cluster.dataDir}; Ctrl-C stops\n`);
  if (options.workload !== null) {
    try {
      cluster.workload.start(options.workload);
    } catch (error) {
      // A history path refused (a file of the user's, a symbolic link): stop the nodes, then say why in one line.
      await cluster.stop();
      throw error;
    }
  }
  const ticker = setInterval(() => {
    const t = Math.round((Date.now() - startedMs) / 1000);
    const nodes = cluster.status();
    const leader = cluster.leader();
    const term = Math.max(0, ...nodes.map((n) => n.term));
    process.stdout.write(options.json ? `${JSON.stringify({ t, leader, term, nodes })}\n` : `${statusLine(t, leader, term, nodes, cluster)}\n`);
    if (options.durationS !== null && t >= options.durationS) void stop(`ran for ${options.durationS} s`);
  }, 1000);
  await done;
}

/** Stops the clients and, when they kept a history, appends the final state so `check` can judge it; returns its path. */
async function finishHistory(cluster: Cluster): Promise<string | null> {
  await cluster.workload.stop();
  const path = cluster.workload.historyFile();
  if (path === null) return null;
  try {
    await settle(cluster, { timeoutMs: 5_000, manualFailover: false });
    await recordFinalState(cluster, path);
  } catch (error) {
    process.stderr.write(`replica-lab: could not record the final state (${error instanceof Error ? error.message : String(error)}); lost writes cannot be checked\n`);
  }
  return path;
}

function statusLine(t: number, leader: string | null, term: number, nodes: readonly NodeStatus[], cluster: Cluster): string {
  const stats = cluster.workload.stats();
  const parts = nodes.map((n) => {
    const state = !n.up ? 'down' : n.paused ? 'paused' : n.role;
    const lag = n.lag === null ? '' : ` lag ${Math.round(n.lag.replayLagMs)}ms`;
    return `${n.id} ${state} ${n.commitIndex}/${n.appliedIndex}${lag}`;
  });
  const { staleReads, readYourWrites, monotonicReads } = stats.consistency;
  return `t=${t}s leader=${leader ?? '-'} term=${term} | ${parts.join(' | ')} | ${stats.writesPerSecond} writes/s ${stats.readsPerSecond} reads/s | stale ${staleReads} ryw ${readYourWrites} mono ${monotonicReads}`;
}


