// Who leads, as the supervisor (or the workload's thread) knows it, with
// waits that wake when it changes instead of polling a clock.

import type { NodeId } from '../core/index.js';

export class LeaderWatch {
  private current: NodeId | null = null;
  private readonly waiters = new Set<() => void>();
  private released = false;

  get(): NodeId | null {
    return this.current;
  }

  set(leader: NodeId | null): void {
    if (leader === this.current) return;
    this.current = leader;
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves with the leader once `accept(leader)` holds, or with null at `deadline` (performance.now() ms). */
  until(accept: (leader: NodeId | null) => boolean, deadline: number): Promise<NodeId | null> {
    if (accept(this.current)) return Promise.resolve(this.current);
    if (this.released || performance.now() >= deadline) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (leader: NodeId | null): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(leader);
      };
      const wake = (): void => {
        if (this.released) done(null);
        else if (accept(this.current)) done(this.current);
      };
      const timer = setTimeout(() => done(accept(this.current) ? this.current : null), Math.max(0, deadline - performance.now()));
      this.waiters.add(wake);
    });
  }

  /** A leader, any; null at the deadline. */
  elected(deadline: number): Promise<NodeId | null> {
    return this.until((leader) => leader !== null, deadline);
  }

  /** Ends every wait, now and later, with null (the cluster is stopping). */
  release(): void {
    this.released = true;
    for (const wake of [...this.waiters]) wake();
  }
}
