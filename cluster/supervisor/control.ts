// Control requests to nodes over their IPC channels (promote, transfer,
// replication changes, checksums), each answered by the node or by its
// deadline: one timer sweeps every deadline instead of one timer each.

import type { NodeId } from '../core/index.js';
import { errorPayload, type ErrorReason, type Reply } from '../protocol.js';
import type { ReplyBody } from '../wire/client.js';

/** Control requests in flight at most; past that they are refused at once. */
const pendingMax = 10_000;
const sweepMs = 20;

interface Pending {
  readonly node: NodeId;
  readonly resolve: (reply: ReplyBody) => void;
  readonly deadlineMs: number;
  readonly timeoutMs: number;
}

export class ControlRequests {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private timer: NodeJS.Timeout | null = null;

  /** Numbers the request, hands it to `send` and resolves with the answer; never rejects. */
  request(node: NodeId, timeoutMs: number, send: (id: number) => boolean): Promise<ReplyBody> {
    if (this.pending.size >= pendingMax) return Promise.resolve(fail('busy', 'too many control requests in flight; slow down'));
    const id = this.nextId++;
    if (!send(id)) return Promise.resolve(fail('down', `${node} is down`));
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
      pending.resolve(fail(reason, message));
    }
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
        pending.resolve(fail('timeout', `${pending.node} did not answer within ${Math.round(pending.timeoutMs)} ms`));
      }
      if (this.pending.size === 0) this.close();
    }, sweepMs);
  }
}

function fail(reason: ErrorReason, message: string): ReplyBody {
  return { ok: false, result: null, error: errorPayload(reason, message) };
}
