// Length-prefixed JSON frames, the encoding of every byte that crosses a node's
// Unix domain socket: a 4-byte big-endian length, then that many bytes of
// UTF-8 JSON. One frame carries one value (usually a batch), so a turn of the
// sender's event loop costs one write per destination.

import type { Socket } from 'node:net';

/** The largest frame a reader accepts; a longer length field closes the connection. */
export const frameBytesMax = 64 * 1024 * 1024;
/** The largest first frame (the hello) a node reads from a connection it has not yet authenticated. */
export const helloBytesMax = 4 * 1024;

/** The length field before each frame's body. */
export const frameHeaderBytes = 4;
const headerBytes = frameHeaderBytes;

/**
 * Feeds a socket's chunks through `decoder`: the frames each chunk completes
 * go to `onFrames`; a stream that cannot be read on (an oversized length, a
 * body that is not JSON) goes to `onBroken`, which closes the connection.
 */
export function readFrames(socket: Socket, decoder: FrameDecoder, onFrames: (frames: unknown[]) => void, onBroken: (reason: string) => void): void {
  socket.on('data', (chunk: Buffer) => {
    let frames: unknown[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      onBroken(error.message);
      return;
    }
    onFrames(frames);
  });
}

/** One value as a frame. */
export function encodeFrame(value: unknown): Buffer {
  return encodeText(JSON.stringify(value));
}

/** A frame of JSON text already made (it must be one JSON value). */
export function encodeText(body: string): Buffer {
  const bytes = Buffer.byteLength(body);
  const frame = Buffer.allocUnsafe(headerBytes + bytes);
  frame.writeUInt32BE(bytes, 0);
  frame.write(body, headerBytes, 'utf8');
  return frame;
}

export class FrameError extends Error {}

/**
 * Reassembles frames from the chunks a socket delivers, however they are cut.
 * A frame whose length exceeds the limit, or whose body is not JSON, is a
 * FrameError: the caller closes the connection (the stream cannot be resynced).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private decoded = 0;

  /**
   * `firstBytesMax` bounds the first frame alone: a stranger's hello is read
   * under a small limit, while the frames after it (often in the same chunk)
   * may be as large as `bytesMax`.
   */
  constructor(
    private readonly bytesMax: number = frameBytesMax,
    private readonly firstBytesMax: number = bytesMax,
  ) {}

  /** The values completed by this chunk, in order. */
  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.buffered < headerBytes) break;
      const head = this.chunks[0]!.length >= headerBytes ? this.chunks[0]! : this.merge();
      const bytes = head.readUInt32BE(0);
      const limit = this.decoded === 0 ? this.firstBytesMax : this.bytesMax;
      if (bytes > limit) throw new FrameError(`a frame of ${bytes} bytes is over the ${limit}-byte limit`);
      if (this.buffered < headerBytes + bytes) break;
      const first = this.chunks[0]!.length >= headerBytes + bytes ? this.chunks[0]! : this.merge();
      const text = first.toString('utf8', headerBytes, headerBytes + bytes);
      this.consume(headerBytes + bytes);
      this.decoded++;
      try {
        out.push(JSON.parse(text));
      } catch {
        throw new FrameError('a frame that is not JSON');
      }
    }
    return out;
  }

  private merge(): Buffer {
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [all];
    return all;
  }

  private consume(bytes: number): void {
    const first = this.chunks[0]!;
    this.buffered -= bytes;
    if (first.length === bytes) this.chunks.shift();
    else this.chunks[0] = first.subarray(bytes);
  }
}
