// `replica-lab check <history.jsonl>`: the offline checker over a recorded
// history, streamed. Exit 0 when valid, 1 when it found anomalies, 2 when the
// file cannot be read (with one line naming the file and the line). Text from
// the file is printed with control characters escaped.

import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { checkHistoryFile, formatText, HistoryFormatError, HistoryReadError, printable, summarize, type CheckReport } from '../../cluster/check/index.js';
import { cliName, exitCodeUsage, UsageError } from '../errors.js';

interface CheckFlags {
  readonly json?: boolean;
  readonly examples: string;
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('check a recorded history for lost writes, stale reads, session anomalies and divergent replicas')
    .argument('<history>', 'a history.jsonl file (written by the workload, e.g. by replica-lab nemesis)')
    .option('--json', 'print one JSON object: { valid, anomalies, operations, unchecked, runDir }')
    .option('--examples <n>', 'anomalies of each kind to print', '5')
    .addHelpText(
      'after',
      `
Anomalies: lost writes (acknowledged, absent from the final committed log),
stale reads (older than a write acknowledged before the read began),
read-your-writes and monotonic-read violations per session, divergent replicas
(different checksums at the same applied index). Indeterminate writes (timed
out, node died) are listed with what became of them, never counted as lost.
The record format is in cluster/check/README.md.

Exit status: 0 valid, 1 anomalies found, 2 the file cannot be read.`,
    )
    .action(async (path: string, flags: CheckFlags) => {
      const examplesShown = Number(flags.examples);
      if (!/^\d+$/.test(flags.examples.trim()) || examplesShown > 100_000) {
        throw new UsageError(`--examples must be a whole number from 0 to 100000, got '${flags.examples}'`, { command: 'check' });
      }
      let report: CheckReport;
      let records: number;
      try {
        // Streamed: the file is read a chunk at a time, never whole (cluster/check/README.md).
        ({ report, records } = await checkHistoryFile(path));
      } catch (error) {
        if (error instanceof HistoryFormatError) return fail(`${path}: ${error.message}`);
        if (error instanceof HistoryReadError) return fail(error.message);
        throw error;
      }
      const runDir = dirname(resolve(path));
      if (flags.json === true) process.stdout.write(`${JSON.stringify(summarize(report, runDir))}\n`);
      else process.stdout.write(formatText(report, { examplesShown, heading: [`history: ${path} (${records} records, run dir ${runDir})`] }));
      process.exitCode = report.valid ? 0 : 1;
    });
}

/** Unreadable input: one line, exit 2, no help hint (the command line was fine; the file is not). */
function fail(message: string): void {
  // The message names the line; any text it quotes from the file is escaped already, and this is the net under that.
  process.stderr.write(`${cliName}: ${printable(message, { backslash: false })}\n`);
  process.exitCode = exitCodeUsage;
}
