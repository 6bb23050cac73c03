// Control requests to nodes over their IPC channels (promote, transfer,
// replication changes, checksums), each answered by the node or by its deadline.

import type { NodeId } from '../core/index.js';
import type { ErrorReason, Reply } from '../protocol.js';
import { errorReply, PendingReplies, type ReplyBody } from '../wire/pending.js';

/** Control requests in flight at most; past that they are refused at once. */
const pendingMax = 10_000;

export class ControlRequests {
  private readonly pending = new PendingReplies();
  private nextId = 1;

  /** Numbers the request, hands it to `send` and resolves with the answer; never rejects. */
  request(node: NodeId, timeoutMs: number, send: (id: number) => boolean): Promise<ReplyBody> {
    if (this.pending.size >= pendingMax) return Promise.resolve(errorReply('busy', 'too many control requests in flight; slow down'));
    const id = this.nextId++;
    const reply = this.pending.add(id, node, timeoutMs);
    if (!send(id)) this.pending.failAll('down', `${node} is down`, node);
    return reply;
  }

  answer(node: NodeId, reply: Reply): void {
    this.pending.answer(node, reply);
  }

  failAll(reason: ErrorReason, message: string, node: NodeId | null = null): void {
    this.pending.failAll(reason, message, node);
  }

  close(): void {
    this.pending.close();
  }
}
