// `replica-lab nemesis`: a real cluster under a workload and seeded random
// faults, then a verdict on its history. Exit 0 valid, 1 anomalies found (or
// the cluster did not settle), 2 a bad flag.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatText } from '../../cluster/check/index.js';
import { engineCapabilities, engineRefusal, lostNotByRewind, nemesisFaults, postgresLines, runNemesis, type NemesisFault, type NemesisProgress, type NemesisResult } from '../../cluster/index.js';
import { UsageError } from '../errors.js';
import { choiceFlag, decimal, wholeFlag } from '../flags.js';
import { addWorkloadFlags, parseWorkloadFlags, type WorkloadFlags } from '../workload-flags.js';
import { addEngineOptions, loadEngine, parseEngineFlags, type EngineFlags } from '../engine.js';

interface NemesisFlags extends WorkloadFlags, EngineFlags {
  readonly nodes: string;
  readonly mode: string;
  readonly ack: string;
  readonly failover: string;
  readonly faults: string;
  readonly interval: string;
  readonly duration: string;
  readonly seed?: string;
  readonly dataDir?: string;
  readonly fsync: boolean;
  readonly examples: string;
  readonly json?: boolean;
}

const command = 'nemesis';

export function registerNemesis(program: Command): void {
  const nemesis = program
    .command(command)
    .description('run a workload on a real cluster under seeded random faults, then check its history')
    .option('--nodes <n>', 'nodes (3-7)', '5')
    .option('--mode <mode>', 'replication mode: async | sync | quorum', 'quorum')
    .option('--ack <level>', 'ack level: received | flushed | applied', 'flushed')
    .option('--failover <kind>', 'raft | manual (the nemesis promotes a node after 1 s without a leader)', 'raft')
    .option('--faults <list>', `all, none, or a list of ${nemesisFaults.join(',')}`, 'kill,pause,partition')
    .option('--interval <s>', 'mean seconds a fault lasts (quiet gaps are about half that)', '2')
    .option('--duration <s>', 'seconds of workload under faults', '30')
    .option('--seed <n>', 'fixes the fault schedule and the clients\' choices (default: random, printed)')
    .option('--data-dir <dir>', 'the run directory (kept); default a new temporary directory, also kept')
    .option('--no-fsync', 'skip fsync in the nodes (faster; a killed process still loses nothing)')
    .option('--examples <n>', 'anomalies of each kind to print (report.md lists them all)', '5')
    .option('--json', 'print one JSON object: the same as check --json, plus seed and settled');
  addWorkloadFlags(nemesis, { rate: '100', concurrency: '10', readFraction: '0.5', keys: '20', readTarget: 'leader', readConsistency: 'linearizable', opTimeout: '1000' });
  addEngineOptions(nemesis);
  nemesis
    .addHelpText(
      'after',
      `
After --duration the nemesis heals every fault, restarts and resumes every
node, waits until one leader has committed and every node applied the whole
log, records each node's checksum and rows, stops the cluster, reads the
committed log from the leader's WAL and every rollback file, and checks the
history (see 'replica-lab check --help'). The run directory keeps
history.jsonl, report.md and each node's data dir with its node.log.

The membership fault runs alongside the others, on its own schedule: it adds
a node (n6, n7, … as a learner or straight as a voter; an id is never used
twice), promotes a learner once it has caught up, or removes a node (the
leader half the time), keeping at least 3 voters and at most 2 nodes more
than --nodes. Removed nodes' data dirs stay in the run directory.

With --engine postgres: kill, pause, partition, delay and loss run (clock,
disk and membership are refused); --failover raft is the supervisor's
failover manager with fencing, manual the nemesis promoting as an operator.
A server fenced or left running as a second primary is restarted (rewound)
after each fault. The committed log is a trigger-filled kv_writes table; the
run is valid only when the checker says so, every lost write is one pg_rewind
removed, and no read saw a write missing from the final log.

Examples:
  replica-lab nemesis --nodes 5 --mode quorum --ack flushed --faults kill,pause,partition --duration 60 --seed 7
  replica-lab nemesis --faults kill,pause,partition,membership --duration 60 --seed 1
  replica-lab nemesis --mode async --faults partition,kill --duration 20        # lost writes, confirmed
  replica-lab nemesis --engine postgres --nodes 3 --mode async --faults partition,kill --interval 5
  replica-lab nemesis --read-consistency local --read-target follower --faults none   # stale reads`,
    )
    .action(async (flags: NemesisFlags) => {
      const examplesShown = wholeFlag('--examples', flags.examples, 0, 100_000, command);
      const engine = parseEngineFlags(flags, command);
      // An engine this build or machine lacks is said before the run dir is made.
      const startCluster = await loadEngine(engine, command);
      // A fault the engine cannot run is refused before the run dir is made.
      const refusal = engineRefusal({ engine: engine.kind, capabilities: engineCapabilities[engine.kind] }, parseFaults(flags.faults));
      if (refusal !== null) throw new UsageError(refusal, { command });
      const options = parseFlags(flags);
      const json = flags.json === true;
      if (!json) {
        process.stderr.write(
          `nemesis: seed ${options.seed}, ${options.nodes} nodes, ${options.mode}/${options.ackLevel}, failover ${options.failover}, faults ${options.faults.join(',') || 'none'} every ~${options.intervalMs / 1000} s for ${options.durationMs / 1000} s\nrun dir: ${options.dataDir}\n`,
        );
      }
      const bar = progressBar();
      const result = await runNemesis(options, { onProgress: bar.draw, startCluster });
      bar.done();
      const pg = result.postgres;
      const pgJson =
        pg === null ? {} : { valid: result.valid, postgres: { failovers: pg.failovers.filter((f) => f.error === null).length, lostConfirmedByRewind: result.report.counts.lostWrites - lostNotByRewind(result.report), rewoundAcknowledged: pg.lostWrites, vanishedReads: pg.vanishedReads } };
      process.stdout.write(json ? `${JSON.stringify({ ...result.summary, ...pgJson, seed: options.seed, settled: result.settle.settled })}\n` : humanReport(result, examplesShown));
      process.exitCode = result.valid && result.settle.settled ? 0 : 1;
    });
}

function parseFlags(flags: NemesisFlags): Parameters<typeof runNemesis>[0] {
  const faults = parseFaults(flags.faults);
  const seed = flags.seed === undefined ? Math.floor(Math.random() * 1_000_000) : wholeFlag('--seed', flags.seed, 0, 2 ** 31 - 1, command);
  const workload = parseWorkloadFlags(flags, command);
  if ((workload.readConsistency === 'linearizable' || workload.readConsistency === 'lease') && workload.readTarget !== 'leader') {
    throw new UsageError(`${workload.readConsistency} reads always go to the leader; use --read-consistency local with --read-target follower, any or a node id`, { command });
  }
  const options = {
    nodes: wholeFlag('--nodes', flags.nodes, 3, 7, command),
    mode: choiceFlag('--mode', flags.mode, ['async', 'sync', 'quorum'] as const, command),
    ackLevel: choiceFlag('--ack', flags.ack, ['received', 'flushed', 'applied'] as const, command),
    failover: choiceFlag('--failover', flags.failover, ['raft', 'manual'] as const, command),
    faults,
    intervalMs: Math.round(decimal('--interval', flags.interval, 0.1, 3_600, command) * 1000),
    durationMs: Math.round(decimal('--duration', flags.duration, 1, 86_400, command) * 1000),
    seed,
    fsync: flags.fsync,
    workload,
  };
  // Last, so a bad flag leaves no directory behind.
  return { ...options, dataDir: flags.dataDir ?? mkdtempSync(join(tmpdir(), `replica-lab-nemesis-${seed}-`)) };
}

function parseFaults(text: string): NemesisFault[] {
  const faultsText = text.trim();
  return faultsText === 'all' ? [...nemesisFaults] : faultsText === 'none' ? [] : [...new Set(faultsText.split(',').map((f) => choiceFlag('--faults', f.trim(), nemesisFaults, command)))];
}

function humanReport(result: NemesisResult, examplesShown: number): string {
  const lines: string[] = [];
  const starts = result.faults.filter((f) => f.action === 'start');
  const byKind = new Map<string, number>();
  for (const fault of starts) byKind.set(fault.fault, (byKind.get(fault.fault) ?? 0) + 1);
  lines.push(`faults injected: ${starts.length}${starts.length === 0 ? '' : ` (${[...byKind].map(([kind, n]) => `${kind} ${n}`).join(', ')})`}`);
  const removed = result.postgres === null ? 'rolled back' : 'removed by pg_rewind';
  lines.push(
    result.settle.settled
      ? `settled ${(result.settle.waitedMs / 1000).toFixed(1)} s after the faults ended, ${result.settle.leader} leading; final log: ${result.finalState.committedWrites} committed workload writes, ${result.finalState.rolledBackWrites} ${removed}`
      : `DID NOT SETTLE: ${result.settle.detail}`,
  );
  if (result.postgres !== null) {
    for (const line of postgresLines(result.postgres, result.report)) lines.push(`postgres: ${line}`);
    if (result.report.valid && !result.valid) lines.push('INVALID on PostgreSQL (see the postgres: lines above), whatever the checker says below');
  }
  lines.push('');
  let text = formatText(result.report, { heading: lines, examplesShown });
  // The last word is the run's: on PostgreSQL a history the checker finds valid can still fail the final-state checks.
  if (result.report.valid && !result.valid) text = text.replace(/^verdict: VALID.*$/m, 'verdict: INVALID on PostgreSQL (the history checker found no anomaly; the postgres: lines above say what failed)');
  return `${text}history: ${result.historyPath}\nreport:  ${result.reportPath}\n`;
}

/** One redrawn line on stderr, only when stderr is a terminal. */
function progressBar(): { draw: (progress: NemesisProgress) => void; done: () => void } {
  if (process.stderr.isTTY !== true) return { draw: () => {}, done: () => {} };
  let drawn = false;
  return {
    draw: (p) => {
      const width = 24;
      const fraction = Math.min(1, p.elapsedMs / Math.max(1, p.durationMs));
      const filled = Math.round(fraction * width);
      const what = p.phase === 'faults' ? (p.activeFault ?? 'quiet') : p.phase;
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(p.elapsedMs / 1000)}/${Math.round(p.durationMs / 1000)} s  ops ${p.operations.ok} ok ${p.operations.fail} fail ${p.operations.info} info  faults ${p.faults}  ${what}`;
      const columns = process.stderr.columns ?? 100;
      process.stderr.write(`\r${line.slice(0, columns - 1).padEnd(columns - 1)}`);
      drawn = true;
    },
    done: () => {
      if (drawn) process.stderr.write('\n');
    },
  };
}
