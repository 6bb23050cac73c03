// A tiny process that outlives nothing: it holds the list of node pids and,
// when its parent (the supervisor) goes away for any reason, SIGKILLs every
// node. Nodes exit by themselves when their IPC channel closes, but a node
// stopped with SIGSTOP (paused) cannot notice; this guardian covers that case.
// Then it removes the temporary dirs the supervisor made with mkdtemp (a data
// dir the caller did not name, a socket dir): stop() would have removed them,
// and a SIGKILLed supervisor cannot. The mechanics are watchdog.ts's.

import { answersSignals, runWatchdog } from './watchdog.js';

runWatchdog({
  dirName: /^(replica-lab-|rl-)[^/]+$/,
  kill: (pid) => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    return [pid];
  },
  isAlive: answersSignals,
});
