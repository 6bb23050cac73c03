// Shared by the postgres engine's tests: whether PostgreSQL is installed, and a cluster that is always stopped.
import { postgresOptions } from '../../cli/engine.js';
import type { ReplicationEngine } from '../../cluster/engine.js';
import { findPgBin, startPostgresCluster } from '../../cluster/postgres/index.js';
import { LabSession } from '../../labs/index.js';
import type { AnyLab } from '../../labs/types.js';

function found(): string | null {
  try {
    return findPgBin();
  } catch {
    return null;
  }
}

export const pgBin = found();
/** For describe.skipIf: the one-line reason is in the describe name (suiteName). */
export const noPostgres = pgBin === null;

/** A suite's name, with the reason it is skipped when it is. */
export function suiteName(name: string, skipped = noPostgres, reason = 'no PostgreSQL server binaries found'): string {
  return skipped ? `${name} (skipped: ${reason})` : name;
}

/** A lab run by autopilot on real PostgreSQL servers; every cluster it starts goes into `started`, for the test to stop. */
export function labOnPostgres(lab: AnyLab, started: ReplicationEngine[]): Promise<LabSession> {
  return LabSession.start(lab, {
    mode: 'auto',
    progress: null,
    engine: 'postgres',
    startCluster: async (options) => {
      const cluster = (await startPostgresCluster(postgresOptions(options, pgBin ?? undefined))) as unknown as ReplicationEngine;
      started.push(cluster);
      return cluster;
    },
  });
}

// The same waiting and liveness checks as the replica-lab engine's tests.
export { eventually, isAlive } from '../cluster/helpers.js';
