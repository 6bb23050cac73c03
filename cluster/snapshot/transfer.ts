// Streaming a snapshot file to one follower in chunks, with flow control, and
// receiving it into a temporary file that is checked as it arrives. Both
// sides are transport-agnostic: each is given a `send(frame)` and fed the
// frames from the other side (`onFrame`), so the host carries them over its
// peer links (cluster/node/peers.ts) next to the Raft batches, and the tests
// over a Unix socket pair.
//
// Flow control: the sender keeps at most `window` chunks beyond the offset
// the receiver has acknowledged. The receiver writes chunks only in order and
// acknowledges the offset it reached after each; a chunk ahead of it (one
// before it was lost: a link outbox that dropped a frame) is not written and
// answered with `resend: true`, and the sender goes back to that offset
// (go-back-N). No progress for `ackTimeoutMs` resends from the acknowledged
// offset; `retriesMax` such timeouts in a row abandon the transfer. The
// receiver hashes the bytes as it writes them, and only a file whose size and
// sha256 match the begin frame is fsynced and reported complete.

import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, fsyncSync, readSync } from 'node:fs';
import { Invalid } from '../protocol.js';
import { createFile, openRegular, removeFile, writeAllSync } from './files.js';
import { chunkBytesDefault, chunkBytesMax, parseSnapshotFrame, snapshotBytesMax, windowChunksDefault, windowChunksMax, type SnapshotFrame } from './frames.js';
import { snapshotsDir, temporaryPath } from './store.js';
import { SnapshotError, type SavedSnapshot, type SnapshotLog, type SnapshotMeta } from './types.js';
import { ownDir } from './files.js';

export interface SenderOptions {
  readonly snapshot: SavedSnapshot;
  /** Hands a frame to the link; false when the link dropped it (the timeout resends). */
  readonly send: (frame: SnapshotFrame) => boolean | void;
  readonly chunkBytes?: number;
  readonly window?: number;
  readonly ackTimeoutMs?: number;
  readonly retriesMax?: number;
}

export interface SendResult {
  readonly transfer: string;
  readonly bytes: number;
  readonly durationMs: number;
  /** Chunks sent, resends included. */
  readonly chunksSent: number;
  /** Times the sender went back to the acknowledged offset (a lost chunk, or a timeout). */
  readonly rewinds: number;
}

/** Sends one snapshot to one follower; `start()` resolves once the follower holds it verified, or rejects with a SnapshotError. */
export class SnapshotSender {
  readonly transfer = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
  private readonly chunkBytes: number;
  private readonly window: number;
  private readonly ackTimeoutMs: number;
  private readonly retriesMax: number;
  private fd: number | null = null;
  private begun = false;
  private acked = 0;
  private next = 0;
  private retries = 0;
  private rewoundTo = -1;
  private chunksSent = 0;
  private rewinds = 0;
  private started = 0;
  private timer: NodeJS.Timeout | null = null;
  private settle: { resolve: (result: SendResult) => void; reject: (error: Error) => void } | null = null;
  private finished = false;
  /** Bytes beyond the acknowledged offset, at most: the window, for tests and telemetry. */
  maxInFlightBytes = 0;

  constructor(private readonly options: SenderOptions) {
    this.chunkBytes = options.chunkBytes ?? chunkBytesDefault;
    this.window = options.window ?? windowChunksDefault;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 2_000;
    this.retriesMax = options.retriesMax ?? 5;
    if (!Number.isSafeInteger(this.chunkBytes) || this.chunkBytes < 1 || this.chunkBytes > chunkBytesMax) throw new SnapshotError(`chunkBytes ${this.chunkBytes}: from 1 to ${chunkBytesMax}`);
    if (!Number.isSafeInteger(this.window) || this.window < 1 || this.window > windowChunksMax) throw new SnapshotError(`window ${this.window}: from 1 to ${windowChunksMax} chunks`);
  }

  start(): Promise<SendResult> {
    if (this.settle !== null || this.finished) throw new SnapshotError('a sender sends once');
    const { snapshot } = this.options;
    // The descriptor keeps the bytes readable even if a newer snapshot prunes this one meanwhile.
    try {
      this.fd = openRegular(snapshot.path);
    } catch (error) {
      this.finished = true;
      return Promise.reject(error);
    }
    if (this.fd === null) {
      this.finished = true;
      return Promise.reject(new SnapshotError(`snapshot ${snapshot.path} is gone`));
    }
    this.started = performance.now();
    const done = new Promise<SendResult>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.sendBegin();
    return done;
  }

  /** A frame from the receiver (already parsed); frames of other transfers are ignored. */
  onFrame(frame: SnapshotFrame): void {
    if (this.finished || frame.transfer !== this.transfer) return;
    switch (frame.type) {
      case 'snap-ack':
        if (frame.offset > this.options.snapshot.bytes) return this.fail(`the receiver acknowledged ${frame.offset} bytes of ${this.options.snapshot.bytes}`, true);
        // Only progress (or the first answer) restarts the clock: repeated acks of one offset are no progress.
        if (frame.offset > this.acked || !this.begun) {
          this.begun = true;
          this.acked = frame.offset;
          this.retries = 0;
          this.rewoundTo = -1;
          if (this.next < this.acked) this.next = this.acked;
          this.armTimer();
        }
        if (frame.resend && this.next > frame.offset && this.rewoundTo !== frame.offset) {
          this.rewoundTo = frame.offset;
          this.next = frame.offset;
          this.rewinds++;
        }
        this.pump();
        return;
      case 'snap-done':
        if (this.acked !== this.options.snapshot.bytes && this.next < this.options.snapshot.bytes) return this.fail('the receiver said done before every byte was sent', true);
        return this.succeed();
      case 'snap-abort':
        return this.fail(`the receiver abandoned the transfer: ${frame.reason}`, false);
      default:
        return;
    }
  }

  /** The follower died or the leader stepped down: stop, tell the receiver if the link still works. */
  abandon(reason: string): void {
    this.fail(`abandoned: ${reason}`, true);
  }

  private sendBegin(): void {
    const { snapshot } = this.options;
    this.options.send({ type: 'snap-begin', transfer: this.transfer, meta: snapshot.meta, bytes: snapshot.bytes, sha256: snapshot.sha256 });
    this.armTimer();
  }

  /** Sends chunks while the window has room. */
  private pump(): void {
    const total = this.options.snapshot.bytes;
    const buffer = Buffer.allocUnsafe(this.chunkBytes);
    while (!this.finished && this.next < total && this.next + this.chunkBytes <= this.acked + this.window * this.chunkBytes) {
      const length = Math.min(this.chunkBytes, total - this.next);
      let read = 0;
      while (read < length) {
        const n = readSync(this.fd!, buffer, read, length - read, this.next + read);
        if (n === 0) return this.fail(`snapshot ${this.options.snapshot.path} ended at ${this.next + read} bytes, not ${total}`, true);
        read += n;
      }
      this.options.send({ type: 'snap-chunk', transfer: this.transfer, offset: this.next, data: buffer.toString('base64', 0, length) });
      this.chunksSent++;
      this.next += length;
      this.maxInFlightBytes = Math.max(this.maxInFlightBytes, this.next - this.acked);
    }
  }

  private armTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimeout(), this.ackTimeoutMs);
    this.timer.unref();
  }

  private onTimeout(): void {
    this.timer = null;
    if (this.finished) return;
    this.retries++;
    if (this.retries > this.retriesMax) return this.fail(`no progress for ${this.retries} timeouts of ${this.ackTimeoutMs} ms`, true);
    if (!this.begun) return this.sendBegin();
    this.next = this.acked;
    this.rewinds++;
    this.armTimer();
    this.pump();
  }

  private succeed(): void {
    const result: SendResult = { transfer: this.transfer, bytes: this.options.snapshot.bytes, durationMs: performance.now() - this.started, chunksSent: this.chunksSent, rewinds: this.rewinds };
    this.end();
    this.settle?.resolve(result);
  }

  private fail(reason: string, tell: boolean): void {
    if (this.finished) return;
    if (tell) this.options.send({ type: 'snap-abort', transfer: this.transfer, reason: reason.slice(0, 500) });
    this.end();
    this.settle?.reject(new SnapshotError(`snapshot transfer ${this.transfer} at index ${this.options.snapshot.meta.index}: ${reason}`));
  }

  private end(): void {
    this.finished = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** A complete, verified snapshot file in the snapshots dir, ready for installSnapshot. */
export interface ReceivedSnapshot {
  readonly transfer: string;
  readonly file: string;
  readonly meta: SnapshotMeta;
  readonly bytes: number;
  readonly sha256: string;
  /** From the begin frame to the file being verified and durable. */
  readonly durationMs: number;
}

export interface ReceiverOptions {
  readonly nodeDir: string;
  readonly send: (frame: SnapshotFrame) => boolean | void;
  readonly fsync: boolean;
  /** A verified file: install it (installSnapshot), then tell the core. */
  readonly onReceived: (received: ReceivedSnapshot) => void;
  /** A transfer abandoned by either side or refused; its temporary file is already removed. */
  readonly onAbandoned?: (reason: string) => void;
  readonly log?: SnapshotLog;
  readonly bytesMax?: number;
  /** A transfer with no frame for this long is abandoned (its sender died). */
  readonly idleTimeoutMs?: number;
}

interface Incoming {
  readonly transfer: string;
  readonly meta: SnapshotMeta;
  readonly bytes: number;
  readonly sha256: string;
  readonly file: string;
  readonly fd: number;
  readonly hash: Hash;
  readonly started: number;
  offset: number;
}

/** Receives snapshots from the leader, one transfer at a time (a new one replaces an unfinished one). */
export class SnapshotReceiver {
  private current: Incoming | null = null;
  /** The last transfer completed: its sender may not have heard snap-done (a lost frame) and resend. */
  private lastDone: string | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Frames that failed their check or broke the protocol, counted like the node's malformedMessages. */
  malformed = 0;

  constructor(private readonly options: ReceiverOptions) {}

  /** Whether a transfer is in progress. */
  get busy(): boolean {
    return this.current !== null;
  }

  /** Any value from the link: checked here; never throws for bad input. */
  onFrame(value: unknown): void {
    if (this.closed) return;
    const frame = parseSnapshotFrame(value);
    if (frame instanceof Invalid) {
      this.malformed++;
      this.options.log?.(`snapshot frame dropped: ${frame.reason}`);
      return;
    }
    switch (frame.type) {
      case 'snap-begin':
        return this.begin(frame);
      case 'snap-chunk':
        return this.chunk(frame);
      case 'snap-abort':
        if (this.current?.transfer === frame.transfer) this.drop(`the sender abandoned it: ${frame.reason}`, false);
        return;
      default:
        this.malformed++;
        this.options.log?.(`snapshot frame dropped: a ${frame.type} is sent by a receiver, not to one`);
        return;
    }
  }

  /** The sender's node died or its link went away: drop what was received. */
  abandon(reason: string): void {
    if (this.current !== null) this.drop(reason, false);
  }

  close(): void {
    this.abandon('the node is stopping');
    this.closed = true;
  }

  private begin(frame: Extract<SnapshotFrame, { type: 'snap-begin' }>): void {
    const current = this.current;
    if (frame.transfer === this.lastDone) {
      this.options.send({ type: 'snap-done', transfer: frame.transfer });
      return;
    }
    if (current?.transfer === frame.transfer) {
      // The sender timed out before our ack reached it: say again where we are.
      this.ack(current, false);
      return;
    }
    if (current !== null) this.drop(`replaced by transfer ${frame.transfer}`, true);
    const bytesMax = this.options.bytesMax ?? snapshotBytesMax;
    if (frame.bytes > bytesMax) {
      this.refuse(frame.transfer, `a snapshot of ${frame.bytes} bytes is over this node's limit of ${bytesMax}`);
      return;
    }
    const dir = snapshotsDir(this.options.nodeDir);
    let file: string;
    let fd: number;
    try {
      ownDir(dir);
      file = temporaryPath(dir, 'receiving', 'db');
      fd = createFile(file);
    } catch (error) {
      this.refuse(frame.transfer, `cannot create the file: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.current = { transfer: frame.transfer, meta: frame.meta, bytes: frame.bytes, sha256: frame.sha256, file, fd, hash: createHash('sha256'), started: performance.now(), offset: 0 };
    this.ack(this.current, false);
  }

  private chunk(frame: Extract<SnapshotFrame, { type: 'snap-chunk' }>): void {
    const current = this.current;
    if (frame.transfer === this.lastDone) {
      this.options.send({ type: 'snap-done', transfer: frame.transfer });
      return;
    }
    if (current === null || current.transfer !== frame.transfer) {
      // A chunk of a transfer this node does not hold (dropped, or never begun): stop its sender.
      this.malformed++;
      this.options.send({ type: 'snap-abort', transfer: frame.transfer, reason: 'no such transfer in progress here' });
      return;
    }
    if (frame.offset < current.offset) return this.ack(current, false);
    if (frame.offset > current.offset) return this.ack(current, true);
    const data = Buffer.from(frame.data, 'base64');
    if (data.length === 0 || data.length > chunkBytesMax || current.offset + data.length > current.bytes) {
      this.malformed++;
      this.drop(`a chunk of ${data.length} bytes at ${frame.offset} runs past the ${current.bytes} bytes announced`, true);
      return;
    }
    try {
      writeAllSync(current.fd, data);
    } catch (error) {
      this.drop(`writing the snapshot failed: ${error instanceof Error ? error.message : String(error)}`, true);
      return;
    }
    current.hash.update(data);
    current.offset += data.length;
    if (current.offset < current.bytes) return this.ack(current, false);
    const sha256 = current.hash.digest('hex');
    if (sha256 !== current.sha256) {
      this.drop(`the bytes received do not match the announced sha256 (${sha256.slice(0, 12)}… instead of ${current.sha256.slice(0, 12)}…)`, true);
      return;
    }
    try {
      if (this.options.fsync) fsyncSync(current.fd);
      closeSync(current.fd);
    } catch (error) {
      this.drop(`syncing the snapshot failed: ${error instanceof Error ? error.message : String(error)}`, true);
      return;
    }
    this.current = null;
    this.lastDone = current.transfer;
    this.clearIdle();
    this.options.send({ type: 'snap-done', transfer: current.transfer });
    this.options.onReceived({ transfer: current.transfer, file: current.file, meta: current.meta, bytes: current.bytes, sha256, durationMs: performance.now() - current.started });
  }

  private ack(current: Incoming, resend: boolean): void {
    this.options.send({ type: 'snap-ack', transfer: current.transfer, offset: current.offset, resend });
    this.armIdle();
  }

  private refuse(transfer: string, reason: string): void {
    this.options.send({ type: 'snap-abort', transfer, reason });
    this.options.log?.(`snapshot transfer ${transfer} refused: ${reason}`);
    this.options.onAbandoned?.(reason);
  }

  /** Ends the current transfer and removes its file; `tell`: send the sender an abort. */
  private drop(reason: string, tell: boolean): void {
    const current = this.current;
    if (current === null) return;
    this.current = null;
    this.clearIdle();
    try {
      closeSync(current.fd);
    } catch {
      // Already closed.
    }
    removeFile(current.file);
    if (tell) this.options.send({ type: 'snap-abort', transfer: current.transfer, reason: reason.slice(0, 500) });
    this.options.log?.(`snapshot transfer ${current.transfer} at index ${current.meta.index} abandoned after ${current.offset} of ${current.bytes} bytes: ${reason}`);
    this.options.onAbandoned?.(reason);
  }

  private armIdle(): void {
    this.clearIdle();
    this.idleTimer = setTimeout(() => this.drop(`no frame for ${this.options.idleTimeoutMs ?? 10_000} ms (the sender died?)`, false), this.options.idleTimeoutMs ?? 10_000);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}
