// `replica-lab` with no command: starts a cluster with a light workload and
// opens the dashboard on it. The CLI owns the cluster (start, stop, data dir);
// tui/ only draws it and turns keys into Cluster API calls.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Command } from 'commander';
import { unsafeOptions, type EngineKind, type Failover } from '../../cluster/index.js';
import { addEngineOptions, loadEngine, parseEngineFlags, refuseReplicaLabOnly, type EngineFlags } from '../engine.js';
import { cliName, UsageError } from '../errors.js';
import { choiceFlag, wholeFlag } from '../flags.js';

export interface DashboardFlags extends EngineFlags {
  readonly nodes: string;
  readonly mode: string;
  readonly ack: string;
  readonly failover?: string;
  readonly dataDir?: string;
  readonly workload: boolean;
  /** `--no-check-quorum`: a cut-off leader never steps down on its own (and no lease reads). */
  readonly checkQuorum?: boolean;
  readonly unsafe?: string;
}

/** The root program's options: they configure the cluster the dashboard starts. */
export function addDashboardOptions(program: Command): void {
  program
    .option('--nodes <n>', 'dashboard: number of nodes (1-7)', '3')
    .option('--mode <mode>', 'dashboard: replication mode: async | sync | quorum', 'quorum')
    .option('--ack <level>', 'dashboard: ack level: received | flushed | applied', 'flushed')
    .option('--failover <kind>', "dashboard: raft | manual (default raft); on --engine postgres: manual (default, as PostgreSQL ships) | auto (the supervisor's failover manager, with fencing; raft is taken as auto)")
    .option('--no-check-quorum', 'dashboard: a leader that stops hearing a majority keeps leading (CheckQuorum off; lease reads fall back to ReadIndex)')
    .option('--data-dir <dir>', 'dashboard: keep node data here (default: a temporary dir, removed on quit)')
    .option('--no-workload', 'dashboard: start no client workload')
    .option('--unsafe <rule>', `dashboard: switch a safety rule off to see what it prevents: ${unsafeOptions.join(' | ')} (random() and datetime('now') are replicated as statements: replicas diverge)`);
  addEngineOptions(program, 'dashboard: ');
}

/**
 * `--failover` for the engine: replica-lab's `raft` (elections) or `manual`;
 * on PostgreSQL `manual` (the default, as PostgreSQL ships) or `auto`, the
 * supervisor's failover manager, which the start options call `raft` ("the
 * cluster fails over by itself"; cli/engine.ts postgresOptions). `raft` is
 * taken as `auto` there, so one command line runs on both engines.
 */
export function failoverFlag(engine: EngineKind, text: string | undefined): Failover {
  if (engine === 'postgres') return choiceFlag('--failover', text ?? 'manual', ['manual', 'auto', 'raft'] as const, undefined) === 'manual' ? 'manual' : 'raft';
  if (text === 'auto') throw new UsageError("--failover must be one of raft, manual, got 'auto' (auto is the PostgreSQL engine's failover manager: --engine postgres --failover auto; replica-lab fails over by Raft elections: raft)");
  return choiceFlag('--failover', text ?? 'raft', ['raft', 'manual'] as const, undefined);
}

export const noTerminalMessage = `the dashboard needs an interactive terminal (stdin and stdout must be a TTY); for scripts and pipes use '${cliName} start --headless'`;

export async function runDashboardCommand(flags: DashboardFlags): Promise<void> {
  const nodes = wholeFlag('--nodes', flags.nodes, 1, 7, undefined);
  const mode = choiceFlag('--mode', flags.mode, ['async', 'sync', 'quorum'] as const, undefined);
  const ackLevel = choiceFlag('--ack', flags.ack, ['received', 'flushed', 'applied'] as const, undefined);
  const unsafe = flags.unsafe === undefined ? [] : [choiceFlag('--unsafe', flags.unsafe, unsafeOptions, undefined)];
  const engine = parseEngineFlags(flags, undefined);
  const failover = failoverFlag(engine.kind, flags.failover);
  refuseReplicaLabOnly(engine, [flags.unsafe !== undefined && '--unsafe', flags.checkQuorum === false && '--no-check-quorum'], undefined);
  // An engine this build or machine lacks is said before anything starts.
  const startEngine = await loadEngine(engine, undefined);
  if (process.stdin.isTTY !== true || process.stdout.isTTY !== true) throw new UsageError(noTerminalMessage, { seeHelp: false });
  // Ink draws nothing until exit when it believes it runs in CI (it reads CI at import);
  // a person at a terminal asked for the dashboard, so let it draw.
  delete process.env['CI'];
  delete process.env['CONTINUOUS_INTEGRATION'];
  const { runDashboard } = await importTui();
  const color = !(process.env['NO_COLOR'] !== undefined && process.env['NO_COLOR'] !== '') && process.env['TERM'] !== 'dumb';
  const timings = process.env['REPLICA_LAB_PERF'] === '1' ? new Timings() : null;

  const cluster = await startEngine({
    nodes,
    failover,
    unsafe,
    replication: { mode, ackLevel },
    checkQuorum: flags.checkQuorum !== false,
    ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }),
  });
  const signals = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;
  let close = (): void => {};
  const onSignal = (): void => close();
  for (const signal of signals) process.on(signal, onSignal);
  try {
    if (flags.workload) cluster.workload.start();
    const dashboard = runDashboard({ controller: cluster, failover, color, ...(timings === null ? {} : { onTiming: timings.add }) });
    close = () => dashboard.close();
    await dashboard.done;
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    await cluster.stop();
  }
  const where = flags.dataDir === undefined ? `removed the temporary data dir ${cluster.dataDir}` : `data kept in ${cluster.dataDir}`;
  process.stderr.write(`${cliName}: every node stopped; ${where}\n`);
  if (timings !== null) process.stderr.write(`${cliName}: ${timings.summary()}\n`);
}

/**
 * Loads the UI. React picks its build when first imported, from NODE_ENV: the
 * development build checks every render and costs several times the CPU, so
 * unless a developer asked for it, the dashboard loads the production build.
 * NODE_ENV is put back afterwards, so the node processes inherit it unchanged.
 */
export async function importTui(): Promise<typeof import('../../tui/index.js')> {
  const nodeEnv = process.env['NODE_ENV'];
  if (nodeEnv === undefined) process.env['NODE_ENV'] = 'production';
  try {
    return await import('../../tui/index.js');
  } finally {
    if (nodeEnv === undefined) delete process.env['NODE_ENV'];
  }
}

/** REPLICA_LAB_PERF=1: how long frames and chart drawings took, and the UI process's CPU use. */
class Timings {
  private readonly frames: number[] = [];
  private readonly charts: number[] = [];
  private readonly startedMs = performance.now();
  private readonly cpuAtStart = process.cpuUsage();
  /** The supervisor routes every message between nodes in this process: a blocked loop is a slow network. */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.loopDelay.enable();
  }

  readonly add = (timing: { readonly kind: 'frame' | 'chart'; readonly ms: number }): void => {
    const list = timing.kind === 'frame' ? this.frames : this.charts;
    if (list.length < 1_000_000) list.push(timing.ms);
  };

  summary(): string {
    const wallMs = performance.now() - this.startedMs;
    const cpu = process.cpuUsage(this.cpuAtStart);
    const cpuPercent = ((cpu.user + cpu.system) / 1_000 / wallMs) * 100;
    this.loopDelay.disable();
    const loop = `event loop delay p50 ${(this.loopDelay.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(this.loopDelay.percentile(99) / 1e6).toFixed(1)} ms, max ${(this.loopDelay.max / 1e6).toFixed(1)} ms`;
    return `ui cpu ${cpuPercent.toFixed(1)}% over ${(wallMs / 1_000).toFixed(0)} s; frames ${describe(this.frames)}; chart drawings ${describe(this.charts)}; ${loop}`;
  }
}

function describe(values: readonly number[]): string {
  if (values.length === 0) return 'none';
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): string => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
  return `${values.length} (p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${sorted[sorted.length - 1]!.toFixed(2)} ms)`;
}


