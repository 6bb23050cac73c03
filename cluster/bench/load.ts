// Closed-loop writers for the bench: each client sends its next write as soon
// as the previous one is answered, like pgbench's clients.

import type { ExecuteResult } from '../supervisor/index.js';
import type { ReplicationEngine } from '../engine.js';

export const upsertSql = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';

export interface LoadHandlers {
  /** An acknowledged write, with when it was answered (performance.now()). */
  onAck?(result: ExecuteResult, atMs: number): void;
  onError?(error: unknown): void;
}

export interface Load {
  stop(): Promise<void>;
  readonly acked: () => number;
  readonly errors: () => number;
}

/** Starts `clients` closed-loop writers; stop() waits for their last writes to settle. */
export function startLoad(cluster: Pick<ReplicationEngine, 'execute'>, clients: number, handlers: LoadHandlers = {}, keys = 10_000): Load {
  let running = true;
  let acked = 0;
  let errors = 0;
  let sequence = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const n = sequence++;
      try {
        const result = await cluster.execute(upsertSql, [`k${n % keys}`, `v${n}`], { timeoutMs: 3_000 });
        acked++;
        handlers.onAck?.(result, performance.now());
      } catch (error) {
        errors++;
        handlers.onError?.(error);
        // A refused write during a failover: do not spin.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
    acked: () => acked,
    errors: () => errors,
  };
}
