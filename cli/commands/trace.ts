// `replica-lab trace`: the X-ray of one write. Starts a cluster, warms it up
// with a few ordinary writes, traces one write through every process and
// prints its timeline, critical path and where the time went (or --json).

import type { Command } from 'commander';
import { Cluster, ClusterError, formatTrace, type WriteTrace } from '../../cluster/index.js';
import { UsageError } from '../errors.js';
import { choiceFlag, wholeFlag } from '../flags.js';

interface TraceFlags {
  readonly nodes: string;
  readonly mode: string;
  readonly ack: string;
  readonly quorum?: string;
  readonly warmup: string;
  readonly settle: string;
  readonly fsync: boolean;
  readonly json?: boolean;
}

const defaultStatement = "INSERT OR REPLACE INTO kv (k, v) VALUES ('trace', 'traced write')";
/** The warm-up before a statement of the user's own. */
const genericWarmup = "INSERT OR REPLACE INTO kv (k, v) VALUES ('trace-warmup', ?)";

export function registerTrace(program: Command): void {
  program
    .command('trace')
    .description('trace one write through every process: a timeline per process, the critical path, where the time went')
    .argument('[statement]', 'the write to trace', defaultStatement)
    .option('--nodes <n>', 'number of nodes (1-7)', '3')
    .option('--mode <mode>', 'replication mode: async | sync | quorum', 'quorum')
    .option('--ack <level>', 'ack level: received | flushed | applied', 'flushed')
    .option('--quorum <k>', 'quorum mode: nodes (leader included) that must ack; default a majority')
    .option('--warmup <n>', 'ordinary writes before the traced one (a cold process is slower)', '20')
    .option('--settle <ms>', "how long to wait after the reply for the followers' apply and acks", '3000')
    .option('--no-fsync', 'skip fsync (not durable; for comparison only)')
    .option('--json', 'print the trace as one JSON object: lanes, spans, criticalPath, summary, acks, explanation')
    .addHelpText(
      'after',
      `
Every time is taken by the process it belongs to, with process.hrtime.bigint()
(CLOCK_MONOTONIC, which every process on a Linux machine shares), so a stamp of
the leader and one of a follower compare. The critical path runs from the
client's send to its receive; its spans sum to the client's latency. The write
is an ordinary one, tagged: it takes the same path as any other.

Examples:
  replica-lab trace
  replica-lab trace --mode sync --ack applied
  replica-lab trace --mode async --json`,
    )
    .action(async (statement: string, flags: TraceFlags) => {
      const nodes = wholeFlag('--nodes', flags.nodes, 1, 7, 'trace');
      const mode = choiceFlag('--mode', flags.mode, ['async', 'sync', 'quorum'] as const, 'trace');
      const ackLevel = choiceFlag('--ack', flags.ack, ['received', 'flushed', 'applied'] as const, 'trace');
      // k counts only in quorum mode: with another mode the flag is refused, never silently ignored.
      if (flags.quorum !== undefined && mode !== 'quorum') throw new UsageError(`--quorum applies only with --mode quorum (got --mode ${mode})`, { command: 'trace' });
      const quorum = flags.quorum === undefined ? null : wholeFlag('--quorum', flags.quorum, 1, nodes, 'trace');
      const warmup = wholeFlag('--warmup', flags.warmup, 0, 10_000, 'trace');
      const settleMs = wholeFlag('--settle', flags.settle, 0, 60_000, 'trace');
      if (statement.trim() === '') throw new UsageError('the statement to trace is empty', { command: 'trace' });
      const cluster = await Cluster.start({ nodes, fsync: flags.fsync, replication: { mode, ackLevel, quorum } });
      let trace: WriteTrace;
      try {
        // The default statement rewrites one row, so the warm-up can be that statement itself: the traced write then
        // meets a leader that has analysed its text before, as a repeated write does. A statement of the user's own is
        // not run beforehand (it may not be idempotent); the leader then reports its text as new, and the trace says so.
        await warmUp(cluster, warmup, statement === defaultStatement ? defaultStatement : genericWarmup);
        trace = await traceSettled(cluster, statement, settleMs);
      } finally {
        await cluster.stop();
      }
      if (flags.json === true) process.stdout.write(`${JSON.stringify(trace)}\n`);
      else process.stdout.write(`${formatTrace(trace, { width: process.stdout.columns ?? 100 }).join('\n')}\n`);
      if (trace.problems.length > 0) process.exitCode = 1;
    });
}

/** Reasons that mean leadership moved under the write: a new cluster's first election may still be settling. */
const leadershipMoved = new Set(['not-leader', 'no-leader', 'stepped-down', 'leadership-lost', 'transfer-in-progress']);
const traceAttempts = 3;

function movedLeadership(error: unknown): boolean {
  return error instanceof ClusterError && error.reason !== null && leadershipMoved.has(error.reason);
}

/** Ordinary writes first, so the traced one meets warm processes; one that meets a leadership change is not retried (it may still commit), the next one goes on. */
async function warmUp(cluster: Cluster, writes: number, sql: string): Promise<void> {
  await cluster.waitForLeader({ timeoutMs: 10_000 });
  for (let i = 0; i < writes; i++) {
    try {
      await cluster.execute(sql, sql === genericWarmup ? [String(i)] : []);
    } catch (error) {
      if (!movedLeadership(error)) throw error;
      await cluster.waitForLeader({ timeoutMs: 10_000 });
    }
  }
}

/** The trace, traced again (with a new tag) when leadership moved during it, at most `traceAttempts` times. */
async function traceSettled(cluster: Cluster, statement: string, settleMs: number): Promise<WriteTrace> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await cluster.trace(statement, [], { settleMs });
    } catch (error) {
      if (attempt >= traceAttempts || !movedLeadership(error)) throw error;
      process.stderr.write(`replica-lab: leadership moved during the traced write (${(error as Error).message}); tracing again\n`);
      await cluster.waitForLeader({ timeoutMs: 10_000 });
    }
  }
}
