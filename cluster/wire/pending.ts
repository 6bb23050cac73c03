// Requests waiting for their reply, each answered by the reply or by its
// deadline: one timer sweeps every deadline instead of one timer each. Used by
// a client's connection to a node and by the supervisor's control requests.

import type { NodeId } from '../core/index.js';
import { errorPayload, type ErrorReason, type Reply } from '../protocol.js';

export type ReplyBody = Pick<Reply, 'ok' | 'error' | 'result'>;

/** How often deadlines are checked. */
const sweepMs = 10;

interface Pending {
  readonly node: NodeId;
  readonly resolve: (reply: ReplyBody) => void;
  readonly deadlineMs: number;
  readonly timeoutMs: number;
}

export function errorReply(reason: ErrorReason, message: string): ReplyBody {
  return { ok: false, result: null, error: errorPayload(reason, message) };
}

export class PendingReplies {
  private readonly pending = new Map<number, Pending>();
  private timer: NodeJS.Timeout | null = null;

  get size(): number {
    return this.pending.size;
  }

  /** Waits for the reply to request `id` sent to `node`; a timeout reply once `timeoutMs` pass. Never rejects. */
  add(id: number, node: NodeId, timeoutMs: number): Promise<ReplyBody> {
    return new Promise((resolve) => {
      this.pending.set(id, { node, resolve, deadlineMs: performance.now() + timeoutMs, timeoutMs });
      this.sweep();
    });
  }

  /** A reply from `node`; ignored unless it answers a request sent to that node. */
  answer(node: NodeId, reply: Reply): void {
    const pending = this.pending.get(reply.id);
    if (pending === undefined || pending.node !== node) return;
    this.pending.delete(reply.id);
    pending.resolve(reply);
  }

  /** Answers every request to `node` (or to every node) at once. */
  failAll(reason: ErrorReason, message: string, node: NodeId | null = null): void {
    for (const [id, pending] of this.pending) {
      if (node !== null && pending.node !== node) continue;
      this.pending.delete(id);
      pending.resolve(errorReply(reason, message));
    }
    if (this.pending.size === 0) this.close();
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private sweep(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const [id, pending] of this.pending) {
        if (now < pending.deadlineMs) continue;
        this.pending.delete(id);
        pending.resolve(errorReply('timeout', `${pending.node} did not answer within ${Math.round(pending.timeoutMs)} ms`));
      }
      if (this.pending.size === 0) this.close();
    }, sweepMs);
  }
}
