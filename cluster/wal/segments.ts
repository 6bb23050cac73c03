// The segment files of an open log: which exist, which one takes appends, and
// which were written since the last flush. Segments rolled or cut away keep
// their descriptor until a flush has synced them, so a roll never waits for
// the disk.

import * as path from 'node:path';
import { assert } from '../core/types.js';
import { readExactly, segmentName, writeAll } from './files.js';
import type { WalFs } from './types.js';

interface SegmentFile {
  readonly firstIndex: number;
  readonly path: string;
}

/** The segment appended to; `dirty`: written since the last flush began. */
interface OpenSegment extends SegmentFile {
  readonly fd: number;
  bytes: number;
  dirty: boolean;
}

/** A segment no longer appended to whose descriptor stays open until a flush syncs and closes it. */
interface RetiredSegment {
  readonly fd: number;
  readonly path: string;
  dirty: boolean;
}

/** What one flush must sync, and the descriptors it closes once it has. */
export interface SyncWork {
  readonly files: readonly number[];
  readonly directory: boolean;
  readonly release: () => void;
}

/** The segment files of one open log, oldest first; the last one takes appends. */
export class SegmentSet {
  private readonly files: SegmentFile[];
  private current: OpenSegment | null;
  private retired: RetiredSegment[] = [];
  private directoryDirty = false;

  constructor(
    private readonly fs: WalFs,
    private readonly walDir: string,
    recovered: readonly { firstIndex: number; path: string; bytes: number }[],
  ) {
    this.files = recovered.map((s) => ({ firstIndex: s.firstIndex, path: s.path }));
    const last = recovered[recovered.length - 1];
    this.current = last === undefined ? null : { firstIndex: last.firstIndex, path: last.path, fd: fs.openSync(last.path, 'r+'), bytes: last.bytes, dirty: false };
  }

  count(): number {
    return this.files.length;
  }

  /** Bytes in the segment taking appends; null before the first segment exists. */
  currentBytes(): number | null {
    return this.current?.bytes ?? null;
  }

  /** The descriptor of the segment taking appends, for open to sync what recovery read. */
  currentFd(): number | null {
    return this.current?.fd ?? null;
  }

  /** Starts a new segment for records from `firstIndex` on. */
  roll(firstIndex: number): void {
    if (this.current !== null) this.retired.push({ fd: this.current.fd, path: this.current.path, dirty: this.current.dirty });
    const file = path.join(this.walDir, segmentName(firstIndex));
    this.current = { firstIndex, path: file, fd: this.fs.openSync(file, 'wx+'), bytes: 0, dirty: true };
    this.files.push({ firstIndex, path: file });
    this.directoryDirty = true;
  }

  /** Appends bytes to the current segment. */
  append(bytes: Uint8Array): void {
    assert(this.current !== null, 'a segment is open to append to');
    writeAll(this.fs, this.current.fd, bytes, this.current.bytes);
    this.current.bytes += bytes.length;
    this.current.dirty = true;
  }

  /**
   * Drops the log from `index` on: deletes every segment after the one holding
   * it and cuts that one at the record's start, `offsetOf(firstIndex)` bytes in.
   */
  cut(index: number, offsetOf: (firstIndex: number) => number): void {
    let holding = this.files.length - 1;
    while (holding > 0 && this.files[holding]!.firstIndex > index) holding--;
    const keep = this.files[holding];
    assert(keep !== undefined && keep.firstIndex <= index, `a segment holds index ${index}`);
    for (const gone of this.files.splice(holding + 1)) {
      if (this.current?.path === gone.path) {
        this.retired.push({ fd: this.current.fd, path: gone.path, dirty: false });
        this.current = null;
      }
      // A deleted file needs no sync.
      for (const retired of this.retired) if (retired.path === gone.path) retired.dirty = false;
      this.fs.unlinkSync(gone.path);
      this.directoryDirty = true;
    }
    this.current ??= { ...keep, fd: this.fs.openSync(keep.path, 'r+'), bytes: 0, dirty: false };
    const offset = offsetOf(keep.firstIndex);
    this.fs.ftruncateSync(this.current.fd, offset);
    this.current.bytes = offset;
    this.current.dirty = true;
  }

  /** Hands a flush every file written since the last one, and the directory if files came or went. */
  takeSyncWork(): SyncWork {
    const files = this.retired.filter((r) => r.dirty).map((r) => r.fd);
    if (this.current?.dirty === true) files.push(this.current.fd);
    if (this.current !== null) this.current.dirty = false;
    const closing = this.retired;
    this.retired = [];
    const directory = this.directoryDirty;
    this.directoryDirty = false;
    return { files, directory, release: () => closing.forEach((r) => this.fs.closeSync(r.fd)) };
  }

  /**
   * The segments holding indexes [lo, hi), each with the first index past it
   * (`endIndex`; the last segment ends at `hi`).
   */
  covering(lo: number, hi: number): { firstIndex: number; endIndex: number; path: string }[] {
    const out: { firstIndex: number; endIndex: number; path: string }[] = [];
    this.files.forEach((file, i) => {
      const endIndex = this.files[i + 1]?.firstIndex ?? hi;
      if (file.firstIndex < hi && endIndex > lo) out.push({ firstIndex: file.firstIndex, endIndex, path: file.path });
    });
    return out;
  }

  /** Reads `length` bytes at `offset` of a segment (through the open descriptor when it is the current one). */
  read(segment: { path: string }, offset: number, length: number): Buffer {
    if (length === 0) return Buffer.alloc(0);
    if (this.current?.path === segment.path) return readExactly(this.fs, this.current.fd, offset, length);
    const fd = this.fs.openSync(segment.path, 'r');
    try {
      return readExactly(this.fs, fd, offset, length);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /** Closes every descriptor; only once no flush is running. */
  close(): void {
    for (const retired of this.retired) this.fs.closeSync(retired.fd);
    this.retired = [];
    if (this.current !== null) this.fs.closeSync(this.current.fd);
    this.current = null;
  }
}
