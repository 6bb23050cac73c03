// The startup scenario: from Cluster.start() (spawning every process) to the
// first write acknowledged by an elected leader.

import { Cluster } from '../supervisor/index.js';
import type { ReplicationSettings } from '../protocol.js';
import { upsertSql } from './load.js';
import { round, summarize } from './stats.js';

export interface StartupOptions {
  readonly trials: number;
  readonly nodes: number;
  readonly fsync: boolean;
  readonly mode: ReplicationSettings['mode'];
  readonly ackLevel: ReplicationSettings['ackLevel'];
}

export interface StartupResult {
  readonly scenario: 'startup';
  readonly startupMs: number;
  readonly trials: number;
  readonly startupMsAll: { readonly min: number; readonly median: number; readonly max: number };
}

export async function startup(options: StartupOptions, progress: (fraction: number) => void = () => {}): Promise<StartupResult> {
  const times: number[] = [];
  for (let trial = 0; trial < options.trials; trial++) {
    const started = performance.now();
    const cluster = await Cluster.start({ nodes: options.nodes, fsync: options.fsync, replication: { mode: options.mode, ackLevel: options.ackLevel } });
    try {
      await cluster.execute(upsertSql, ['startup', `${trial}`], { timeoutMs: 10_000 });
      times.push(performance.now() - started);
    } finally {
      await cluster.stop();
    }
    progress((trial + 1) / options.trials);
  }
  const summary = summarize(times);
  return {
    scenario: 'startup',
    startupMs: round(summary.median),
    trials: options.trials,
    startupMsAll: { min: round(summary.min), median: round(summary.median), max: round(summary.max) },
  };
}
