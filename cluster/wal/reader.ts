// Reads a segment file through a window of `readChunkBytes`, so recovery
// makes one system call per chunk rather than per record and never holds more
// than a chunk or one (bounded) record in memory.

import { assert } from '../core/types.js';
import { readChunkBytes } from './constants.js';
import { isZero, readExactly } from './files.js';
import type { WalFs } from './types.js';

/** Reads one segment file for recovery, a window at a time. */
export class SegmentReader {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly fs: WalFs,
    private readonly fd: number,
    readonly size: number,
  ) {}

  /** The little-endian u32 at `position` (a record's length field). */
  uint32(position: number): number {
    const start = this.cover(position, 4);
    return this.window.readUInt32LE(start);
  }

  /** The bytes [position, position + length); a view into the window, valid until the next call. */
  read(position: number, length: number): Buffer {
    const start = this.cover(position, length);
    return this.window.subarray(start, start + length);
  }

  /** True when every byte from `position` to the end of the file is zero: the unused rest of a preallocated segment. */
  zeroFrom(position: number): boolean {
    for (let at = position; at < this.size; at += readChunkBytes) {
      if (!isZero(this.read(at, Math.min(readChunkBytes, this.size - at)))) return false;
    }
    return true;
  }

  /** The offset just past the last byte at or after `position` that is not zero; `position` when there is none. */
  contentEnd(position: number): number {
    for (let end = this.size; end > position; end -= readChunkBytes) {
      const start = Math.max(position, end - readChunkBytes);
      const bytes = this.read(start, end - start);
      for (let i = bytes.length - 1; i >= 0; i--) if (bytes[i] !== 0) return start + i + 1;
    }
    return position;
  }

  /** Moves the window over [position, position + length) if needed; returns where it starts in the window. */
  private cover(position: number, length: number): number {
    assert(position >= 0 && position + length <= this.size, `read ${position}+${length} within ${this.size} bytes`);
    if (position < this.windowStart || position + length > this.windowStart + this.window.length) {
      this.window = readExactly(this.fs, this.fd, position, Math.min(Math.max(length, readChunkBytes), this.size - position));
      this.windowStart = position;
    }
    return position - this.windowStart;
  }
}
