// A client's connection to one node's socket: requests (execute, query) go
// straight to the node, with no relay, batched per turn of the event loop, and
// each is answered on the same connection or by its deadline. Used by the
// Cluster API on the caller's thread and by the workload on its own.

import { createConnection, type Socket } from 'node:net';
import type { NodeId } from '../core/index.js';
import { errorPayload, Invalid, parseFromNode, unbatch, type ToNode } from '../protocol.js';
import { encodeFrame, FrameDecoder, frameBytesMax, frameHeaderBytes, readFrames } from './frames.js';
import { errorReply, PendingReplies, type ReplyBody } from './pending.js';

export { errorReply, type ReplyBody } from './pending.js';

export type ClientRequest = Extract<ToNode, { type: 'execute' } | { type: 'query' }>;
/** A request as a caller gives it: the connection numbers it. */
export type ClientRequestBody = ClientRequest extends infer T ? (T extends unknown ? Omit<T, 'id'> : never) : never;

/** Requests one connection keeps in flight at most; more are refused at once. */
export const requestsInFlightMax = 100_000;
/** Bytes of requests a connection holds unsent (the node is paused or slow) before refusing more. */
const unsentBytesMax = 16 * 1024 * 1024;
/** While the node is starting (its socket not yet there), connecting is retried this often. */
const connectRetryMs = 5;

/** The frame of `value`, or null when it is too large to encode at all (past V8's longest string). */
function encodeOrNull(value: unknown): Buffer | null {
  try {
    return encodeFrame(value);
  } catch (error) {
    if (error instanceof RangeError) return null;
    throw error;
  }
}

export class NodeClient {
  private socket: Socket | null = null;
  private connected = false;
  private readonly pending = new PendingReplies();
  private batch: ClientRequest[] = [];
  private unsent: Buffer[] = [];
  private unsentBytes = 0;
  private flushScheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private closed = false;

  constructor(
    readonly node: NodeId,
    private readonly path: string,
    private readonly secret: string,
  ) {}

  /** Sends one request; resolves with the node's reply, or a timeout or unavailable reply. Never rejects. */
  request(message: ClientRequestBody, timeoutMs: number): Promise<ReplyBody> {
    if (this.closed) return Promise.resolve(errorReply('down', `${this.node} is down`));
    if (this.pending.size >= requestsInFlightMax || this.unsentBytes > unsentBytesMax) {
      return Promise.resolve(errorReply('busy', `too many requests in flight to ${this.node}; slow down`));
    }
    const id = this.nextId++;
    const reply = this.pending.add(id, this.node, timeoutMs);
    this.batch.push({ ...message, id } as ClientRequest);
    this.connect();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return reply;
  }

  /** Answers everything in flight ('node-died': it may have reached a log) and closes the connection for good. */
  close(message = `${this.node} exited before answering`): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.socket?.destroy();
    this.pending.failAll('node-died', message);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    const frame = batch.length === 1 ? null : encodeOrNull({ type: 'batch', messages: batch });
    if (frame !== null && frame.length - frameHeaderBytes <= frameBytesMax) {
      this.write(frame);
      return;
    }
    // Over the frame limit the node would close the connection, failing every request on it:
    // send one frame per request instead, and answer a request too large for a frame of its own at once.
    for (const request of batch) {
      const single = encodeOrNull(request);
      const bytes = single === null ? null : single.length - frameHeaderBytes;
      if (single !== null && bytes !== null && bytes <= frameBytesMax) this.write(single);
      else {
        const size = bytes === null ? 'a frame larger than a string can hold' : `a ${bytes}-byte frame`;
        const message = `the ${request.type} encodes to ${size}, over the limit of ${frameBytesMax} bytes (frameBytesMax); it was not sent`;
        this.pending.answer(this.node, { type: 'reply', id: request.id, ok: false, result: null, error: errorPayload('bad-statement', message) });
      }
    }
  }

  private write(frame: Buffer): void {
    if (this.connected && this.socket !== null) this.socket.write(frame);
    else {
      this.unsent.push(frame);
      this.unsentBytes += frame.length;
    }
  }

  private connect(): void {
    if (this.socket !== null || this.closed || this.retryTimer !== null) return;
    const socket = createConnection(this.path);
    this.socket = socket;
    const decoder = new FrameDecoder();
    socket.on('connect', () => {
      this.connected = true;
      socket.write(encodeFrame({ type: 'hello', secret: this.secret, from: 'client' }));
      for (const frame of this.unsent) socket.write(frame);
      this.unsent = [];
      this.unsentBytes = 0;
    });
    readFrames(
      socket,
      decoder,
      (frames) => {
        for (const frame of frames) for (const part of unbatch(frame)) this.onReply(part);
      },
      () => socket.destroy(),
    );
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      const wasConnected = this.connected;
      this.socket = null;
      this.connected = false;
      if (this.closed) return;
      if (wasConnected) {
        // The node went away with our requests: they may or may not have reached its log.
        this.pending.failAll('node-died', `${this.node} exited before answering`);
        this.unsent = [];
        this.unsentBytes = 0;
      } else if (this.pending.size > 0) {
        // Not listening yet (starting) or gone: try again while anyone waits.
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          if (this.pending.size > 0) this.connect();
        }, connectRetryMs);
      }
    });
  }

  private onReply(value: unknown): void {
    const reply = parseFromNode(value);
    if (reply instanceof Invalid || reply.type !== 'reply') return;
    this.pending.answer(this.node, reply);
  }
}
