// What the guardian (replica-lab's nodes) and the postgres engine's watchdog
// (postmasters) have in common: a tiny process that holds pids and temporary
// dirs from its parent's messages and, when its IPC channel to the parent
// closes for any reason (stop(), a crash, SIGKILL, the terminal closed), kills every pid it holds,
// waits until they are gone (at most goneWaitMs), removes the dirs and exits.
// A process stopped with SIGSTOP cannot notice its parent's death by itself;
// this covers it.

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';

/** How long to wait for killed processes to be gone before removing their dirs. */
const goneWaitMs = 2_000;

export interface WatchdogRules {
  /** The only dirs it removes: directly in the temporary dir, named so (as mkdtemp made them), whatever a message says. */
  readonly dirName: RegExp;
  /** Kills what `pid` stands for; returns the pids to wait for. */
  readonly kill: (pid: number) => readonly number[];
  /** Whether a pid is still running. */
  readonly isAlive: (pid: number) => boolean;
}

/** True while `pid` answers signal 0. */
export function answersSignals(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs this process as a watchdog: `{ watch: pid }`, `{ forget: pid }` and `{ remove: dir }` over IPC. */
export function runWatchdog(rules: WatchdogRules): void {
  const pids = new Set<number>();
  const removals = new Set<string>();
  const isTemporaryDir = (path: string): boolean =>
    isAbsolute(path) && resolve(path) === path && dirname(path) === resolve(tmpdir()) && rules.dirName.test(path.slice(dirname(path).length + 1));
  process.on('message', (message: unknown) => {
    if (typeof message !== 'object' || message === null) return;
    const { watch, forget, remove } = message as { watch?: unknown; forget?: unknown; remove?: unknown };
    if (typeof watch === 'number' && Number.isInteger(watch) && watch > 1) pids.add(watch);
    if (typeof forget === 'number') pids.delete(forget);
    if (typeof remove === 'string' && isTemporaryDir(remove)) removals.add(remove);
  });
  let finishing = false;
  const finish = (): void => {
    if (finishing) return;
    finishing = true;
    const killed: number[] = [];
    for (const pid of pids) killed.push(...rules.kill(pid));
    if (removals.size === 0) process.exit(0);
    // A killed process may still be closing its files: remove its dirs once it is gone (or after goneWaitMs).
    const deadline = Date.now() + goneWaitMs;
    const poll = (): void => {
      if (killed.some(rules.isAlive) && Date.now() < deadline) {
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
  };
  process.on('disconnect', finish);
  // A terminal that closes (its window shut, a hangup) sends SIGHUP to its whole foreground process
  // group, and Ctrl-C SIGINT: this watchdog is in it, and by default either would end it at once,
  // before its parent, leaving the processes it holds to outlive both. It waits for its channel
  // to close instead, which happens however the parent ends.
  process.on('SIGHUP', () => {});
  process.on('SIGINT', () => {});
  // SIGTERM (execa's cleanup as the parent exits, or a kill meant for the group): do now what the channel's close would.
  process.on('SIGTERM', finish);
}
