// The postgres engine's watchdog: a tiny process holding the postmaster pids
// of the servers the supervisor started (and, while they run, the pids of the
// tools it runs: initdb, pg_basebackup, pg_rewind with its single-user server). When its IPC channel to the
// supervisor closes (stop(), a crash, SIGKILL), it SIGKILLs each postmaster
// and every child it has (backends, walsender, walreceiver: each in a session
// of its own, so found by parent pid), paused (SIGSTOPped) ones included,
// which could not notice their postmaster's death themselves.
// Then it removes the temporary dir the supervisor made (only a `rl-pg-` dir
// directly in the temporary dir, whatever a message says). The mechanics are
// the supervisor's watchdog.ts, as replica-lab's guardian uses them.

import { runWatchdog } from '../supervisor/watchdog.js';
import { isAlive, signalServer } from './server.js';

runWatchdog({
  dirName: /^rl-pg-[^/]+$/,
  kill: (postmaster) => (isAlive(postmaster) ? signalServer(postmaster, 'SIGKILL') : []),
  isAlive,
});
