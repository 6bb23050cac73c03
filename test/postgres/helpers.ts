// Shared by the postgres engine's tests: whether PostgreSQL is installed, and a cluster that is always stopped.
import { findPgBin } from '../../cluster/postgres/index.js';

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

// The same waiting and liveness checks as the replica-lab engine's tests.
export { eventually, isAlive } from '../cluster/helpers.js';
