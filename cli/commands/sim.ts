// `replica-lab sim`: the seeded simulator over many seeds, with a verdict per
// invariant, the seeds-per-second figure, and for a failing seed the exact
// command that replays it.

import type { Command } from 'commander';
import { allFaultKinds, faultKinds, invariants, runSeeds, unsafeSwitches, type FaultKind, type SeedRunOptions, type SimReport, type UnsafeSwitch } from '../../cluster/sim/index.js';
import { UsageError } from '../errors.js';
import { choiceFlag, choiceList, wholeFlag } from '../flags.js';

const seedsMax = 1_000_000;
const modes = ['async', 'sync', 'quorum'] as const;
const ackLevels = ['received', 'flushed', 'applied'] as const;

interface SimFlags {
  readonly seeds: string;
  readonly nodes: string;
  readonly mode: string;
  readonly ack: string;
  readonly faults: string;
  readonly duration: string;
  readonly rate: string;
  readonly unsafe?: string;
  readonly json?: boolean;
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('run the Raft core in a deterministic simulator over many seeds and check its invariants')
    .option('--seeds <list>', 'seeds to run: 7, 1..2000, or 1..10,42', '1..200')
    .option('--nodes <n>', 'nodes per cluster (3-7)', '5')
    .option('--mode <mode>', `replication mode: ${modes.join(' | ')}`, 'quorum')
    .option('--ack <level>', `ack level: ${ackLevels.join(' | ')}`, 'flushed')
    .option('--faults <list>', `faults to inject: all (${faultKinds.join(',')}), none, or a list of ${allFaultKinds.join(',')} (clock is not in all; all,clock adds it)`, 'all')
    .option('--duration <ms>', 'virtual milliseconds of faults and writes per seed (at least 1000)', '10000')
    .option('--rate <writes/s>', 'client writes per virtual second', '25')
    .option('--unsafe <switch>', `break Raft on purpose to watch the checkers catch it: ${unsafeSwitches.join(' | ')}`)
    .option('--json', 'print one JSON object instead of the table')
    .addHelpText(
      'after',
      `
Every seed runs a cluster of real consensus cores on a virtual clock with a
seeded network, crashes, pauses and partitions, then heals everything and
checks that a leader is elected and every node converges. Clients also read
through whichever node believes it leads, half on its lease and half by
ReadIndex, and a read must see every write acknowledged before it was sent.
The clock fault (a node's timers run slow or fast, sometimes on a cut-off
leader) is not in 'all': it breaks lease reads by design (stale-lease-read),
never Raft's safety or ReadIndex reads. Exit status is 1 when any invariant
broke; each failure prints the command that replays it.

Examples:
  replica-lab sim --seeds 1..2000 --nodes 5
  replica-lab sim --seeds 1..500 --mode async --json
  replica-lab sim --seeds 1..50 --unsafe skip-vote-log-check
  replica-lab sim --seeds 1..200 --faults clock      (lease reads go stale)`,
    )
    .action((flags: SimFlags) => {
      const seeds = parseSeeds(flags.seeds);
      const options = parseOptions(flags);
      const progress = flags.json === true ? null : progressReporter(seeds.length);
      const report = runSeeds(seeds, options, (_, done) => progress?.(done));
      progress?.(seeds.length, true);
      process.stdout.write(flags.json === true ? `${JSON.stringify(jsonReport(report))}\n` : humanReport(report));
      process.exitCode = report.violations.length > 0 ? 1 : 0;
    });
}

/** "7", "1..2000", "1..10,42": ascending order kept as written; duplicates removed. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  const seen = new Set<number>();
  for (const part of text.split(',')) {
    const range = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(part);
    if (range === null) throw new UsageError(`--seeds takes numbers and ranges like 7, 1..2000 or 1..10,42; got '${text}'`, { command: 'sim' });
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first) {
      throw new UsageError(`--seeds range '${part.trim()}' must go from a smaller to a larger whole number`, { command: 'sim' });
    }
    if (seeds.length + (last - first + 1) > seedsMax) throw new UsageError(`--seeds names more than ${seedsMax} seeds`, { command: 'sim' });
    for (let seed = first; seed <= last; seed++) {
      if (!seen.has(seed)) {
        seen.add(seed);
        seeds.push(seed);
      }
    }
  }
  return seeds;
}

function parseOptions(flags: SimFlags): SeedRunOptions {
  const nodes = wholeFlag('--nodes', flags.nodes, 3, 7, 'sim');
  const durationMs = wholeFlag('--duration', flags.duration, 1000, 3_600_000, 'sim');
  const writesPerSecond = wholeFlag('--rate', flags.rate, 0, 10_000, 'sim');
  return {
    nodes,
    mode: choiceFlag('--mode', flags.mode, modes, 'sim'),
    ackLevel: choiceFlag('--ack', flags.ack, ackLevels, 'sim'),
    faults: parseFaults(flags.faults),
    durationMs,
    writesPerSecond,
    ...(flags.unsafe === undefined ? {} : { unsafe: choiceFlag<UnsafeSwitch>('--unsafe', flags.unsafe, unsafeSwitches, 'sim') }),
  };
}

/** `all` is the safety faults (no clock); `all,clock` adds it; `none`; or a list. */
export function parseFaults(text: string): FaultKind[] {
  const value = text.trim();
  if (value === 'none') return [];
  const words = value.split(',').map((word) => word.trim());
  const named = words.filter((word) => word !== 'all');
  const listed = named.length === 0 ? [] : choiceList('--faults', named.join(','), allFaultKinds, 'sim');
  const kinds: FaultKind[] = words.includes('all') ? [...faultKinds] : [];
  for (const kind of listed) if (!kinds.includes(kind)) kinds.push(kind);
  return kinds;
}



/** A one-line progress bar on stderr, only when stderr is a terminal. */
function progressReporter(total: number): ((done: number, final?: boolean) => void) | null {
  if (process.stderr.isTTY !== true) return null;
  let lastDrawn = 0;
  return (done, final = false) => {
    const now = Date.now();
    if (!final && now - lastDrawn < 100) return;
    lastDrawn = now;
    const width = 30;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} seeds`);
    if (final) process.stderr.write('\n');
  };
}

/** The documented JSON shape (README: `replica-lab sim --json`). */
function jsonReport(report: SimReport): object {
  return {
    seeds: report.seeds,
    seedsPerSecond: round(report.seedsPerSecond, 1),
    violations: report.violations.map(({ seed, invariant, replay, detail, atMs }) => ({ seed, invariant, replay, detail, atMs: round(atMs, 1) })),
    lostAcknowledgedWrites: report.lostAcknowledgedWrites,
    invariants: report.invariants,
    writes: report.writes,
    reads: report.reads,
    elections: report.elections,
    snapshots: report.snapshots,
    membershipChanges: report.membershipChanges,
    perSeed: { writesMin: report.minWritesPerSeed, virtualMsMin: Math.round(report.virtualMsPerSeedMin) },
    options: report.options,
  };
}

function humanReport(report: SimReport): string {
  const { options } = report;
  const lines: string[] = [];
  lines.push(
    `${report.seeds} seeds, ${options.nodes} nodes, ${options.mode}/${options.ackLevel}, faults: ${options.faults.length === 0 ? 'none' : options.faults.join(',')}`,
  );
  lines.push('');
  lines.push(`${'invariant'.padEnd(26)}result`);
  for (const name of invariants) {
    const broken = report.invariants[name].violations;
    lines.push(`${name.padEnd(26)}${broken === 0 ? 'ok' : `BROKEN in ${broken} seed${broken === 1 ? '' : 's'}`}`);
  }
  lines.push('');
  const lost = report.lostAcknowledgedWrites;
  const lostSeeds = new Set(lost.map((l) => l.seed)).size;
  lines.push(`lost acknowledged writes: ${lost.length}${lost.length > 0 ? ` across ${lostSeeds} seeds (first: seed ${lost[0]!.seed}, index ${lost[0]!.index})` : ''}`);
  const { writes } = report;
  lines.push(`client writes: ${writes.invoked} (acknowledged ${writes.ok}, refused ${writes.fail}, indeterminate ${writes.info}); leader elections: ${report.elections}`);
  const { reads } = report;
  lines.push(`client reads: ${reads.invoked} (on the lease ${reads.onLease}, lease lapsed so ReadIndex ${reads.leaseFellBack}, ReadIndex ${reads.readIndex}, failed or timed out ${reads.failed})`);
  if (options.faults.includes('compaction')) {
    lines.push(`snapshots: ${report.snapshots.taken} taken, ${report.snapshots.installed} installed by followers (InstallSnapshot)`);
  }
  if (options.faults.includes('membership')) lines.push(`membership changes committed: ${report.membershipChanges}`);
  lines.push(`speed: ${report.seedsPerSecond.toFixed(1)} seeds/s (${(report.elapsedMs / 1000).toFixed(1)} s on one core)`);
  if (report.violations.length > 0) {
    lines.push('');
    lines.push(`${report.violations.length} violation${report.violations.length === 1 ? '' : 's'}:`);
    for (const violation of report.violations.slice(0, 10)) {
      lines.push(`  seed ${violation.seed}: ${violation.invariant} at ${violation.atMs.toFixed(1)} ms: ${violation.detail}`);
      lines.push(`    replay: ${violation.replay}`);
    }
    if (report.violations.length > 10) lines.push(`  ... and ${report.violations.length - 10} more (see --json)`);
    if (report.firstFailure !== null) {
      lines.push('');
      lines.push(`trace of seed ${report.firstFailure.seed} (last ${report.firstFailure.trace.length} lines):`);
      for (const line of report.firstFailure.trace) lines.push(`  ${line}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
