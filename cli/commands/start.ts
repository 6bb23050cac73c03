// `replica-lab start --headless`: a cluster with a light workload and one
// status line per second, for scripts, pipes and machines without a TTY.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Cluster, type NodeStatus } from '../../cluster/index.js';
import { UsageError } from '../errors.js';

interface StartFlags {
  readonly headless?: boolean;
  readonly nodes: string;
  readonly mode: string;
  readonly ack: string;
  readonly failover: string;
  readonly dataDir?: string;
  readonly duration?: string;
  readonly workload: boolean;
  readonly json?: boolean;
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('start a cluster with a light workload (headless: one status line per second)')
    .option('--headless', 'no TUI: print status lines (required until the dashboard exists)')
    .option('--nodes <n>', 'number of nodes (1-7)', '3')
    .option('--mode <mode>', 'replication mode: async | sync | quorum', 'quorum')
    .option('--ack <level>', 'ack level: received | flushed | applied', 'flushed')
    .option('--failover <kind>', 'raft | manual', 'raft')
    .option('--data-dir <dir>', 'where node data lives (kept after stopping); default a new temporary dir, also kept')
    .option('--duration <seconds>', 'stop by itself after this many seconds')
    .option('--no-workload', 'start no client workload')
    .option('--json', 'print JSON lines: { "t", "leader", "term", "nodes": [...] }')
    .action(async (flags: StartFlags) => {
      if (flags.headless !== true) throw new UsageError("the dashboard is not built yet: use 'replica-lab start --headless'", { command: 'start' });
      const nodes = whole('--nodes', flags.nodes, 1, 7);
      const mode = choice('--mode', flags.mode, ['async', 'sync', 'quorum'] as const);
      const ackLevel = choice('--ack', flags.ack, ['received', 'flushed', 'applied'] as const);
      const failover = choice('--failover', flags.failover, ['raft', 'manual'] as const);
      const durationS = flags.duration === undefined ? null : whole('--duration', flags.duration, 1, 86_400);
      const dataDir = flags.dataDir ?? mkdtempSync(join(tmpdir(), 'replica-lab-'));
      await runHeadless({ nodes, mode, ackLevel, failover, dataDir, durationS, workload: flags.workload, json: flags.json === true });
    });
}

async function runHeadless(options: {
  nodes: number;
  mode: 'async' | 'sync' | 'quorum';
  ackLevel: 'received' | 'flushed' | 'applied';
  failover: 'raft' | 'manual';
  dataDir: string;
  durationS: number | null;
  workload: boolean;
  json: boolean;
}): Promise<void> {
  const cluster = await Cluster.start({ nodes: options.nodes, dataDir: options.dataDir, failover: options.failover, replication: { mode: options.mode, ackLevel: options.ackLevel } });
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
    await cluster.stop();
    process.stderr.write(`replica-lab: ${why}; every node stopped. Data is in ${cluster.dataDir}\n`);
    finished();
  };
  process.once('SIGINT', () => void stop('interrupted'));
  process.once('SIGTERM', () => void stop('terminated'));
  if (!options.json) process.stderr.write(`replica-lab: ${options.nodes} nodes, ${options.mode}/${options.ackLevel}, data in ${cluster.dataDir}; Ctrl-C stops\n`);
  if (options.workload) cluster.workload.start();
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

function statusLine(t: number, leader: string | null, term: number, nodes: readonly NodeStatus[], cluster: Cluster): string {
  const stats = cluster.workload.stats();
  const parts = nodes.map((n) => {
    const state = !n.up ? 'down' : n.paused ? 'paused' : n.role;
    const lag = n.lag === null ? '' : ` lag ${Math.round(n.lag.replayLagMs)}ms`;
    return `${n.id} ${state} ${n.commitIndex}/${n.appliedIndex}${lag}`;
  });
  return `t=${t}s leader=${leader ?? '-'} term=${term} | ${parts.join(' | ')} | ${stats.writesPerSecond} writes/s ${stats.readsPerSecond} reads/s`;
}

function whole(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got '${text}'`, { command: 'start' });
  return value;
}

function choice<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got '${text}'`, { command: 'start' });
  return text as T;
}
