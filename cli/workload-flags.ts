// The built-in clients' flags, shared by `start --headless` and `nemesis`:
// each command adds them with its own defaults and gets back the options for
// cluster.workload.start().

import type { Command } from 'commander';
import { UsageError } from './errors.js';
import { choiceFlag, decimal, wholeFlag } from './flags.js';
import type { ReadTarget, SessionGuarantee, WorkloadOptions } from '../cluster/index.js';

export interface WorkloadFlags {
  readonly rate: string;
  readonly concurrency: string;
  readonly readFraction: string;
  readonly keys: string;
  readonly valueBytes: string;
  readonly readTarget: string;
  readonly readConsistency: string;
  readonly sessions: string;
  readonly stickyReads?: boolean;
  readonly opTimeout: string;
}

export interface WorkloadDefaults {
  readonly rate: string;
  readonly concurrency: string;
  readonly readFraction: string;
  readonly keys: string;
  readonly readTarget: string;
  readonly readConsistency: string;
  readonly opTimeout: string;
}

const sessionGuarantees: readonly SessionGuarantee[] = ['none', 'read-your-writes', 'causal'];

/** Adds the workload flags to `command`. */
export function addWorkloadFlags(command: Command, defaults: WorkloadDefaults): Command {
  return command
    .option('--rate <ops/s>', "client operations per second (open loop), or 'closed' for a closed loop", defaults.rate)
    .option('--concurrency <n>', 'clients, each one session with one operation at a time', defaults.concurrency)
    .option('--read-fraction <0-1>', 'fraction of operations that are reads', defaults.readFraction)
    .option('--keys <n>', 'keys the clients spread over', defaults.keys)
    .option('--value-bytes <n>', 'bytes per written value', '16')
    .option('--read-target <target>', 'where local reads go: leader | follower | any | a node id', defaults.readTarget)
    .option('--read-consistency <level>', 'local | linearizable (ReadIndex) | lease (on the leader\'s lease)', defaults.readConsistency)
    .option('--sessions <guarantee>', `what a session carries into its reads: ${sessionGuarantees.join(' | ')}`, 'none')
    .option('--sticky-reads', 'each session reads from the same node while it is up')
    .option('--op-timeout <ms>', 'client timeout per operation', defaults.opTimeout);
}

/** Turns the flags into workload options, or a UsageError naming the flag. */
export function parseWorkloadFlags(flags: WorkloadFlags, command: string): Partial<WorkloadOptions> {
  const rate = flags.rate.trim() === 'closed' ? null : decimal('--rate', flags.rate, 0, 100_000, command);
  const readTarget = flags.readTarget.trim();
  if (!['leader', 'follower', 'any'].includes(readTarget) && !/^n[1-9]$/.test(readTarget)) {
    throw new UsageError(`--read-target must be leader, follower, any or a node id like n2, got '${flags.readTarget}'`, { command });
  }
  return {
    rate,
    concurrency: wholeFlag('--concurrency', flags.concurrency, 1, 1_024, command),
    readFraction: decimal('--read-fraction', flags.readFraction, 0, 1, command),
    keys: wholeFlag('--keys', flags.keys, 1, 100_000, command),
    valueBytes: wholeFlag('--value-bytes', flags.valueBytes, 1, 1_000_000, command),
    readTarget: readTarget as ReadTarget,
    readConsistency: choiceFlag('--read-consistency', flags.readConsistency, ['local', 'linearizable', 'lease'] as const, command),
    sessions: choiceFlag('--sessions', flags.sessions, sessionGuarantees, command),
    stickyReads: flags.stickyReads === true,
    timeoutMs: wholeFlag('--op-timeout', flags.opTimeout, 1, 600_000, command),
  };
}
