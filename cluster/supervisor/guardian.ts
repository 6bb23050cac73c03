// A tiny process that outlives nothing: it holds the list of node pids and,
// when its parent (the supervisor) goes away for any reason, SIGKILLs every
// node. Nodes exit by themselves when their IPC channel closes, but a node
// stopped with SIGSTOP (paused) cannot notice; this guardian covers that case.
// Then it removes the temporary dirs the supervisor made with mkdtemp (a data
// dir the caller did not name, a socket dir): stop() would have removed them,
// and a SIGKILLed supervisor cannot.

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';

const pids = new Set<number>();
const removals = new Set<string>();
/** How long to wait for killed nodes to be gone before removing their dirs. */
const goneWaitMs = 2_000;

/** Only a dir directly in the temporary dir, as mkdtemp makes them: never anything else, whatever the message says. */
function isTemporaryDir(path: string): boolean {
  return isAbsolute(path) && resolve(path) === path && dirname(path) === resolve(tmpdir()) && /^(replica-lab-|rl-)[^/]+$/.test(path.slice(dirname(path).length + 1));
}

process.on('message', (message: unknown) => {
  if (typeof message !== 'object' || message === null) return;
  const { watch, forget, remove } = message as { watch?: unknown; forget?: unknown; remove?: unknown };
  if (typeof watch === 'number' && Number.isInteger(watch) && watch > 1) pids.add(watch);
  if (typeof forget === 'number') pids.delete(forget);
  if (typeof remove === 'string' && isTemporaryDir(remove)) removals.add(remove);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

process.on('disconnect', () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  if (removals.size === 0) process.exit(0);
  // A killed node may still be closing its files: remove its dirs once it is gone (or after goneWaitMs).
  const deadline = Date.now() + goneWaitMs;
  const poll = (): void => {
    if ([...pids].some(isAlive) && Date.now() < deadline) {
      setTimeout(poll, 20);
      return;
    }
    for (const path of removals) {
      try {
        rmSync(path, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // Nothing more to do: nobody is left to tell.
      }
    }
    process.exit(0);
  };
  poll();
});
