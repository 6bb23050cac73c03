// `--engine <replica-lab|postgres>` and `--pg-bin <dir>`, shared by the
// dashboard, `lab`, `nemesis` and `bench throughput`, and the one place that
// starts an engine (cluster/engine.ts). The PostgreSQL engine is loaded with a
// dynamic import() only when asked for, so a build without it (or a machine
// without PostgreSQL) runs the replica-lab engine unchanged.

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Cluster, engineKinds, type AckLevel, type ClusterOptions, type EngineKind, type ReplicationEngine, type ReplicationMode } from '../cluster/index.js';
import { exitCodeUsage, UsageError } from './errors.js';
import { choiceFlag } from './flags.js';

export interface EngineFlags {
  readonly engine: string;
  readonly pgBin?: string;
}

/** The chosen engine and where its binaries are (PostgreSQL only). */
export interface EngineChoice {
  readonly kind: EngineKind;
  /** `--pg-bin`, absolute; undefined: the engine looks for the binaries itself. */
  readonly pgBin?: string;
}

/** Adds `--engine` and `--pg-bin` to a command (`prefix` labels the root program's dashboard options). */
export function addEngineOptions(command: Command, prefix = ''): Command {
  return command
    .option('--engine <engine>', `${prefix}which system runs the cluster: ${engineKinds.join(' | ')}`, 'replica-lab')
    .option('--pg-bin <dir>', `${prefix}with --engine postgres: the dir holding initdb, pg_ctl and postgres (default: pg_config --bindir, then the Debian and Homebrew paths)`);
}

/** Reads `--engine` and `--pg-bin`; a bad value is one UsageError line (exit 2). */
export function parseEngineFlags(flags: EngineFlags, command: string | undefined): EngineChoice {
  const kind = choiceFlag('--engine', flags.engine, engineKinds, command);
  if (flags.pgBin === undefined) return { kind };
  if (kind !== 'postgres') throw new UsageError(`--pg-bin applies only to --engine postgres (the ${kind} engine runs no PostgreSQL binaries)`, { command });
  const pgBin = resolve(flags.pgBin);
  let isDir = false;
  try {
    isDir = statSync(pgBin).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new UsageError(`--pg-bin ${flags.pgBin} is not a directory; give the dir holding initdb, pg_ctl and postgres (pg_config --bindir prints it)`, { command });
  return { kind, pgBin };
}

/** Flags that only the replica-lab engine has: refused with another engine rather than ignored. */
export function refuseReplicaLabOnly(choice: EngineChoice, given: readonly (string | false)[], command: string | undefined): void {
  if (choice.kind === 'replica-lab') return;
  const flag = given.find((name): name is string => name !== false);
  if (flag !== undefined) throw new UsageError(`${flag} needs the replica-lab engine; it has no PostgreSQL counterpart`, { command });
}

/** Starts one cluster of the chosen engine. */
export type EngineStarter = (options: ClusterOptions) => Promise<ReplicationEngine>;

/** Where the PostgreSQL engine lives, relative to this file (in dist/ as in the sources). */
const postgresModule = '../cluster/postgres/index.js';

/**
 * The starter for `choice`, loaded now so that an engine this build or this
 * machine lacks is a clear error before anything else happens. The replica-lab
 * engine is `Cluster.start`; the PostgreSQL engine maps the same options onto
 * `startPostgresCluster({ nodes, dataDir, pgBin, mode, ack, seed })`.
 */
export async function loadEngine(
  choice: EngineChoice,
  command: string | undefined,
  /** Loads cluster/postgres; tests pass a stand-in. */
  importPostgres: () => Promise<unknown> = () => import(postgresModule),
): Promise<EngineStarter> {
  if (choice.kind === 'replica-lab') return (options) => Cluster.start(options);
  let module: { startPostgresCluster?: unknown };
  try {
    module = (await importPostgres()) as { startPostgresCluster?: unknown };
  } catch (error) {
    // Only the engine's own module missing means "not built"; a module it imports missing is a broken build, said as it is.
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`'${fileURLToPath(new URL(postgresModule, import.meta.url))}'`)) throw notBuilt(command);
    throw error;
  }
  const start = module.startPostgresCluster;
  if (typeof start !== 'function') throw notBuilt(command);
  return async (options) => {
    try {
      return (await start(postgresOptions(options, choice.pgBin))) as ReplicationEngine;
    } catch (error) {
      // An engine's error that names exit status 2 (no PostgreSQL binaries: it says how to install them) is the user's to fix.
      if (error instanceof Error && (error as { exitCode?: unknown }).exitCode === exitCodeUsage) throw new UsageError(error.message, { command, seeHelp: false });
      throw error;
    }
  };
}

function notBuilt(command: string | undefined): UsageError {
  return new UsageError('the PostgreSQL engine is not built in this version of replica-lab; run with --engine replica-lab (the default)', { command, seeHelp: false });
}

/**
 * The replica-lab start options that have a PostgreSQL meaning: the rest stay
 * with replica-lab. `failover` keeps its sense of "who fails over": `raft`
 * (the cluster does it by itself) is the supervisor's failover manager there,
 * `auto`; `manual`, or none given, is PostgreSQL as it ships. `fencing` is the
 * failover manager's. `replication.syncStandbys` names the standbys of sync
 * mode (FIRST k (…)), `replication.quorum` the size of quorum mode's (ANY q-1 (…)).
 */
export function postgresOptions(
  options: ClusterOptions,
  pgBin: string | undefined,
): {
  readonly nodes: number;
  readonly dataDir?: string;
  readonly pgBin?: string;
  readonly mode: ReplicationMode;
  readonly ack: AckLevel;
  readonly replication?: { readonly syncStandbys?: readonly string[]; readonly quorum?: number };
  readonly seed: number;
  readonly failover: 'manual' | 'auto';
  readonly fencing?: boolean;
} {
  return {
    nodes: options.nodes ?? 3,
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(pgBin === undefined ? {} : { pgBin }),
    mode: options.replication?.mode ?? 'quorum',
    ack: options.replication?.ackLevel ?? 'flushed',
    ...postgresReplication(options.replication),
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    failover: options.failover === 'raft' ? 'auto' : 'manual',
    ...(options.fencing === undefined ? {} : { fencing: options.fencing }),
  };
}

/** `syncStandbys` and `quorum` when given: the rest of the replication settings have no PostgreSQL meaning or are `mode`/`ack`. */
function postgresReplication(replication: ClusterOptions['replication']): { readonly replication?: { readonly syncStandbys?: readonly string[]; readonly quorum?: number } } {
  const syncStandbys = replication?.syncStandbys ?? null;
  const quorum = replication?.quorum ?? null;
  if (syncStandbys === null && quorum === null) return {};
  return { replication: { ...(syncStandbys === null ? {} : { syncStandbys }), ...(quorum === null ? {} : { quorum }) } };
}
