// A tiny process that outlives nothing: it holds the list of node pids and,
// when its parent (the supervisor) goes away for any reason, SIGKILLs every
// node. Nodes exit by themselves when their IPC channel closes, but a node
// stopped with SIGSTOP (paused) cannot notice; this guardian covers that case.

const pids = new Set<number>();

process.on('message', (message: unknown) => {
  if (typeof message !== 'object' || message === null) return;
  const { watch, forget } = message as { watch?: unknown; forget?: unknown };
  if (typeof watch === 'number' && Number.isInteger(watch) && watch > 1) pids.add(watch);
  if (typeof forget === 'number') pids.delete(forget);
});

process.on('disconnect', () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  process.exit(0);
});
