// The postgres engine's watchdog: a tiny process holding the process groups
// of the servers the supervisor started. When its IPC channel to the
// supervisor closes (stop(), a crash, SIGKILL), it SIGKILLs every group it
// holds: the postmaster and every backend, walsender and walreceiver, paused
// (SIGSTOPped) ones included, which could not notice anything themselves.
// Then it removes the temporary dir the supervisor made (only a `rl-pg-` dir
// directly in the temporary dir, whatever a message says).

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';

const groups = new Set<number>();
const removals = new Set<string>();
const goneWaitMs = 2_000;

function isTemporaryDir(path: string): boolean {
  return isAbsolute(path) && resolve(path) === path && dirname(path) === resolve(tmpdir()) && /^rl-pg-[^/]+$/.test(path.slice(dirname(path).length + 1));
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

process.on('message', (message: unknown) => {
  if (typeof message !== 'object' || message === null) return;
  const { watch, forget, remove } = message as { watch?: unknown; forget?: unknown; remove?: unknown };
  if (typeof watch === 'number' && Number.isInteger(watch) && watch > 1) groups.add(watch);
  if (typeof forget === 'number') groups.delete(forget);
  if (typeof remove === 'string' && isTemporaryDir(remove)) removals.add(remove);
});

process.on('disconnect', () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  }
  const deadline = Date.now() + goneWaitMs;
  const poll = (): void => {
    if ([...groups].some(groupAlive) && Date.now() < deadline) {
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
