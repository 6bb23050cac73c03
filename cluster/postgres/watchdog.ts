// The postgres engine's watchdog: a tiny process holding the postmaster pids
// of the servers the supervisor started (and, while they run, the pids of the
// tools it runs: initdb, pg_basebackup, pg_rewind with its single-user server). When its IPC channel to the
// supervisor closes (stop(), a crash, SIGKILL), it SIGKILLs each postmaster
// and every child it has (backends, walsender, walreceiver: each in a session
// of its own, so found by parent pid), paused (SIGSTOPped) ones included,
// which could not notice their postmaster's death themselves.
// Then it removes the temporary dir the supervisor made (only a `rl-pg-` dir
// directly in the temporary dir, whatever a message says).

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isAlive, signalServer } from './server.js';

const postmasters = new Set<number>();
const removals = new Set<string>();
const goneWaitMs = 2_000;

function isTemporaryDir(path: string): boolean {
  return isAbsolute(path) && resolve(path) === path && dirname(path) === resolve(tmpdir()) && /^rl-pg-[^/]+$/.test(path.slice(dirname(path).length + 1));
}


process.on('message', (message: unknown) => {
  if (typeof message !== 'object' || message === null) return;
  const { watch, forget, remove } = message as { watch?: unknown; forget?: unknown; remove?: unknown };
  if (typeof watch === 'number' && Number.isInteger(watch) && watch > 1) postmasters.add(watch);
  if (typeof forget === 'number') postmasters.delete(forget);
  if (typeof remove === 'string' && isTemporaryDir(remove)) removals.add(remove);
});

process.on('disconnect', () => {
  const killed: number[] = [];
  for (const postmaster of postmasters) if (isAlive(postmaster)) killed.push(...signalServer(postmaster, 'SIGKILL'));
  const deadline = Date.now() + goneWaitMs;
  const poll = (): void => {
    if (killed.some(isAlive) && Date.now() < deadline) {
      setTimeout(poll, 20);
      return;
    }
    for (const path of removals) {
      try {
        rmSync(path, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // Nobody is left to tell.
      }
    }
    process.exit(0);
  };
  poll();
});
