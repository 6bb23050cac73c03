// `replica-lab bench`: throughput, failover, startup and catch-up, measured on
// real node processes with fsync on; a table (or --json), and every result
// appended to bench.jsonl in the run directory so runs can be compared.

import { appendFileSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  catchUp,
  failover,
  machine,
  startup,
  throughput,
  type CatchUpResult,
  type FailoverResult,
  type StartupResult,
  type ThroughputResult,
} from '../../cluster/bench/index.js';
import { UsageError } from '../errors.js';
import { addEngineOptions, loadEngine, parseEngineFlags, type EngineFlags } from '../engine.js';
import { engineNames } from '../../cluster/engine.js';
import { choiceFlag, choiceList, wholeFlag } from '../flags.js';

const scenarios = ['throughput', 'failover', 'startup', 'catch-up', 'all'] as const;
type Scenario = (typeof scenarios)[number];
type Result = ThroughputResult | FailoverResult | StartupResult | CatchUpResult;

interface BenchFlags extends EngineFlags {
  readonly mode: string;
  readonly ack: string;
  readonly clients: string;
  readonly duration: string;
  readonly trials?: string;
  readonly entries: string;
  readonly via: string;
  readonly electionTimeout: string;
  readonly nodes: string;
  readonly fsync: boolean;
  readonly runDir?: string;
  readonly json?: boolean;
}

export function registerBench(program: Command): void {
  const bench = program
    .command('bench')
    .argument('[scenario]', `${scenarios.join(' | ')}`, 'throughput')
    .description('measure throughput, latency, lag, failover, startup and catch-up on real processes')
    .option('--mode <list>', 'replication modes, comma-separated: async, sync, quorum', 'quorum')
    .option('--ack <level>', 'ack level: received | flushed | applied', 'flushed')
    .option('--clients <list>', 'throughput: concurrent closed-loop clients, comma-separated', '1,4,64')
    .option('--duration <seconds>', 'throughput: measured seconds per run (after 1 s of warm-up)', '5')
    .option('--trials <n>', 'failover: kills of the leader (default 20); startup: cluster starts (default 5)')
    .option('--entries <n>', 'catch-up: entries committed while the follower is down', '100000')
    .option('--via <list>', 'catch-up: how the follower catches up, comma-separated: log (replays every entry), snapshot (the leader compacted past it and sends its snapshot)', 'log,snapshot')
    .option('--election-timeout <min-max>', 'failover: election timeout range in ms', '150-300')
    .option('--nodes <n>', 'nodes per cluster (3-7)', '3')
    .option('--no-fsync', 'skip fsync (not durable; for comparison only)')
    .option('--run-dir <dir>', 'where bench.jsonl is appended (default $XDG_STATE_HOME/replica-lab/bench)')
    .option('--json', 'print { "scenario", "machine", "results": [...] }');
  addEngineOptions(bench)
    .addHelpText(
      'after',
      `
Every figure is measured from the running processes: acknowledged writes per
second, client latency, follower replay lag sampled from the leader, CPU time
from /proc, peak RSS reported by each node, and each node's WAL fsyncs (mean
time, and writes per fsync of the leader: group commit). Nothing is simulated.

Examples:
  replica-lab bench throughput --mode quorum,async --clients 1,4,64
  replica-lab bench throughput --engine postgres --mode quorum,async   # the same clients on PostgreSQL
  replica-lab bench failover --trials 20 --mode quorum,async
  replica-lab bench catch-up --entries 50000 --via log,snapshot
  replica-lab bench all --json`,
    )
    .action(async (scenarioText: string, flags: BenchFlags) => {
      const scenario = choiceFlag('scenario', scenarioText, scenarios, 'bench');
      const modes = choiceList('--mode', flags.mode, ['async', 'sync', 'quorum'] as const, 'bench');
      const ackLevel = choiceFlag('--ack', flags.ack, ['received', 'flushed', 'applied'] as const, 'bench');
      const clients = flags.clients.split(',').map((text) => wholeFlag('--clients', text, 1, 4096, 'bench'));
      const durationS = wholeFlag('--duration', flags.duration, 1, 3600, 'bench');
      const entries = wholeFlag('--entries', flags.entries, 1, 10_000_000, 'bench');
      const vias = choiceList('--via', flags.via, ['log', 'snapshot'] as const, 'bench');
      const nodes = wholeFlag('--nodes', flags.nodes, 3, 7, 'bench');
      const electionTimeoutMs = electionRange(flags.electionTimeout);
      const engine = parseEngineFlags(flags, 'bench');
      if (engine.kind !== 'replica-lab' && scenario !== 'throughput') throw new UsageError(`--engine ${engine.kind} applies only to bench throughput (${scenario} measures replica-lab's own Raft processes)`, { command: 'bench' });
      // An engine this build or machine lacks is said before anything is measured.
      const startCluster = await loadEngine(engine, 'bench');
      const fsync = flags.fsync;
      const runDir = resolve(flags.runDir ?? defaultRunDir());
      const show = flags.json === true ? null : progressBar();
      const results: Result[] = [];
      const run = async <R extends Result>(label: string, work: (progress: (fraction: number) => void) => Promise<R>): Promise<void> => {
        show?.(label, 0);
        const result = await work((fraction) => show?.(label, fraction));
        show?.(label, 1, true);
        results.push(result);
        appendFileSync(join(runDir, 'bench.jsonl'), `${JSON.stringify({ at: new Date().toISOString(), machine: machine(), fsync, nodes, result })}\n`);
      };
      mkdirSync(runDir, { recursive: true });
      const all = scenario === 'all';
      if (all || scenario === 'throughput') {
        for (const mode of modes) {
          for (const count of clients) {
            const on = engine.kind === 'replica-lab' ? '' : ` on ${engineNames[engine.kind]}`;
            await run(`throughput${on} ${mode}/${ackLevel} ${count} client${count === 1 ? '' : 's'}`, (p) => throughput({ mode, ackLevel, clients: count, durationS, nodes, fsync }, p, startCluster));
          }
        }
      }
      if (all || scenario === 'failover') {
        const trials = wholeFlag('--trials', flags.trials ?? '20', 1, 1000, 'bench');
        for (const mode of modes) await run(`failover ${mode}/${ackLevel}`, (p) => failover({ mode, ackLevel, trials, nodes, fsync, electionTimeoutMs }, p));
      }
      if (all || scenario === 'startup') {
        const trials = wholeFlag('--trials', flags.trials ?? '5', 1, 1000, 'bench');
        await run('startup', (p) => startup({ trials, nodes, fsync, mode: modes[0]!, ackLevel }, p));
      }
      if (all || scenario === 'catch-up') {
        for (const via of vias) await run(`catch-up ${entries} entries by ${via}`, (p) => catchUp({ entries, nodes, fsync, mode: modes[0]!, ackLevel, via }, p));
      }
      if (flags.json === true) process.stdout.write(`${JSON.stringify({ scenario, machine: machine(), results })}\n`);
      else process.stdout.write(`${table(results)}\nresults appended to ${join(runDir, 'bench.jsonl')}\n`);
    });
}

function defaultRunDir(): string {
  const state = process.env['XDG_STATE_HOME'] ?? join(homedir(), '.local', 'state');
  return join(state, 'replica-lab', 'bench');
}

/** People's table: one block per scenario kind. */
export function table(results: readonly Result[]): string {
  const lines: string[] = [];
  const throughputs = results.filter((r): r is ThroughputResult => r.scenario === 'throughput');
  if (throughputs.length > 0) {
    lines.push('throughput (acknowledged writes; latency as the client saw it; replay lag of followers)');
    const nodes = Object.keys(throughputs[0]!.fsync).join(' ');
    lines.push(
      row(['mode/ack', 'clients', 'writes/s', 'p50 ms', 'p99 ms', 'max ms', 'lag p50 ms', 'lag p99 ms', 'peak RSS MB/node', `CPU % (${nodes} sup)`, `fsync ms (${nodes})`, 'writes/fsync']),
    );
    for (const r of throughputs) {
      const cpu = Object.entries(r.cpuPercent).map(([, value]) => Math.round(value)).join(' ');
      const fsync = Object.values(r.fsync).map((rate) => (rate?.meanMs == null ? '–' : rate.meanMs.toFixed(2))).join(' ');
      const perFsync = r.writesPerLeaderFsync === null ? '–' : r.writesPerLeaderFsync.toFixed(1);
      lines.push(row([`${r.engine === 'postgres' ? 'pg ' : ''}${r.mode}/${r.ack}`, r.clients, r.writesPerSecond, r.latencyMs.p50, r.latencyMs.p99, r.latencyMs.max, r.replayLagMs.p50, r.replayLagMs.p99, r.rssMbMax, cpu, fsync, perFsync]));
    }
  }
  for (const r of results.filter((r): r is FailoverResult => r.scenario === 'failover')) {
    lines.push(
      `failover ${r.mode}/${r.ack}, ${r.trials} trials, election timeout ${r.electionTimeoutMs.join('-')} ms: ` +
        `min ${r.failoverMs.min} ms, median ${r.failoverMs.median} ms, p99 ${r.failoverMs.p99} ms, max ${r.failoverMs.max} ms; lost acknowledged writes: ${r.lostWrites}`,
    );
  }
  for (const r of results.filter((r): r is StartupResult => r.scenario === 'startup')) {
    lines.push(`startup: ${r.startupMs} ms median to the first acknowledged write (${r.trials} trials, min ${r.startupMsAll.min}, max ${r.startupMsAll.max})`);
  }
  for (const r of results.filter((r): r is CatchUpResult => r.scenario === 'catch-up')) {
    const how =
      r.snapshot === null
        ? `replayed ${mib(r.logBytes)} of log`
        : `snapshot at index ${r.snapshot.index}, ${mib(r.snapshot.bytes)} in ${Math.round(r.snapshot.durationMs)} ms, instead of ${mib(r.logBytes)} of log`;
    lines.push(`catch-up by ${r.via}: ${r.entries} entries in ${r.catchUpMs} ms = ${r.entriesPerSecond} entries/s (${how}; process start ${r.startMs} ms of it)`);
  }
  return lines.join('\n');
}

function mib(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function row(cells: readonly (string | number)[]): string {
  return cells.map((cell, i) => String(cell).padStart(i === 0 ? 16 : 10)).join(' ');
}

function progressBar(): ((label: string, fraction: number, done?: boolean) => void) | null {
  if (process.stderr.isTTY !== true) return null;
  let last = 0;
  return (label, fraction, done = false) => {
    const now = Date.now();
    if (!done && now - last < 100) return;
    last = now;
    const width = 24;
    const filled = Math.round(Math.min(1, fraction) * width);
    process.stderr.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${label}`);
    if (done) process.stderr.write('\n');
  };
}




function electionRange(text: string): readonly [number, number] {
  const match = /^(\d+)-(\d+)$/.exec(text.trim());
  const min = Number(match?.[1]);
  const max = Number(match?.[2]);
  if (match === null || min < 20 || max < min) throw new UsageError(`--election-timeout must look like 150-300 (ms, min >= 20, max >= min), got '${text}'`, { command: 'bench' });
  return [min, max];
}
