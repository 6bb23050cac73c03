// The segment files of an open log: which exist, which one takes appends, and
// which were written since the last flush. Segments rolled or cut away keep
// their descriptor until a flush has synced them, so a roll never waits for
// the disk.
//
// Each file holds valid records in [0, bytes) and zeros from there to its end:
// with preallocation on, a segment is zero-filled before its first record
// (ahead of time by a SpareSegment when it can, else inline), so appends
// overwrite allocated blocks and never change the file's size, and an
// fdatasync is data only. `bytes`, never the file size, is where the log is.

import * as path from 'node:path';
import { assert } from '../core/types.js';
import { segmentFillAheadBytesMin } from './constants.js';
import { readExactly, removeIfPresent, segmentName, writeAll, writeZeros } from './files.js';
import { SpareSegment, spareName } from './spare.js';
import type { WalFs } from './types.js';

interface SegmentFile {
  readonly firstIndex: number;
  readonly path: string;
  /** Bytes of valid records; the rest of the file is zeros. */
  bytes: number;
}

/** The segment appended to; `dirty`: written since the last flush began. */
interface OpenSegment {
  readonly file: SegmentFile;
  readonly fd: number;
  /** The file's size: `file.bytes` plus its zero padding. */
  fileBytes: number;
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

export interface SegmentSetOptions {
  readonly fs: WalFs;
  readonly walDir: string;
  readonly recovered: readonly { firstIndex: number; path: string; bytes: number }[];
  /** Zeros a segment is filled to before records go in; 0 turns preallocation off. */
  readonly preallocatedBytes: number;
}

/** How the segments were zero-filled: on the write path, or ahead of time off it. */
export interface FillCounts {
  readonly segmentFillsInline: number;
  readonly segmentFillsAhead: number;
}

/** The segment files of one open log, oldest first; the last one takes appends. */
export class SegmentSet {
  private readonly fs: WalFs;
  private readonly walDir: string;
  private readonly preallocatedBytes: number;
  private readonly files: SegmentFile[];
  private current: OpenSegment | null = null;
  private retired: RetiredSegment[] = [];
  private directoryDirty = false;
  private readonly spare: SpareSegment | null;
  private fills = { segmentFillsInline: 0, segmentFillsAhead: 0 };

  constructor(options: SegmentSetOptions) {
    this.fs = options.fs;
    this.walDir = options.walDir;
    this.preallocatedBytes = options.preallocatedBytes;
    this.files = options.recovered.map((s) => ({ firstIndex: s.firstIndex, path: s.path, bytes: s.bytes }));
    const last = this.files[this.files.length - 1];
    if (last !== undefined) this.current = this.openFile(last, false);
    // One a crashed process left behind may be half filled.
    removeIfPresent(this.fs, path.join(this.walDir, spareName));
    const fillAhead = this.preallocatedBytes >= segmentFillAheadBytesMin;
    this.spare = fillAhead ? new SpareSegment({ fs: this.fs, walDir: this.walDir, bytes: this.preallocatedBytes }) : null;
  }

  count(): number {
    return this.files.length;
  }

  /** Bytes of records in the segment taking appends (not its size); null before the first segment exists. */
  currentBytes(): number | null {
    return this.current?.file.bytes ?? null;
  }

  /** The descriptor of the segment taking appends, for open to sync what recovery read. */
  currentFd(): number | null {
    return this.current?.fd ?? null;
  }

  /** How many segments were zero-filled inline and ahead of time. */
  fillCounts(): FillCounts {
    return { ...this.fills };
  }

  /** Starts a new segment for records from `firstIndex` on: the spare when one is ready, else a file its first append fills. */
  roll(firstIndex: number): void {
    if (this.current !== null) this.retired.push({ fd: this.current.fd, path: this.current.file.path, dirty: this.current.dirty });
    const file = { firstIndex, path: path.join(this.walDir, segmentName(firstIndex)), bytes: 0 };
    const spareFd = this.spare?.take(file.path) ?? null;
    if (spareFd === null) {
      this.current = { file, fd: this.fs.openSync(file.path, 'wx+'), fileBytes: 0, dirty: true };
    } else {
      this.current = { file, fd: spareFd, fileBytes: this.preallocatedBytes, dirty: true };
      this.fills.segmentFillsAhead++;
    }
    this.files.push(file);
    this.directoryDirty = true;
  }

  /** Appends bytes to the current segment. */
  append(bytes: Uint8Array): void {
    const current = this.current;
    assert(current !== null, 'a segment is open to append to');
    const end = current.file.bytes + bytes.length;
    // Fills a new segment, or one recovery or an fsync-off run left unpadded,
    // before the file would grow; a record past the preallocated size grows it.
    if (end > current.fileBytes && end <= this.preallocatedBytes) {
      writeZeros(this.fs, current.fd, current.fileBytes, this.preallocatedBytes);
      current.fileBytes = this.preallocatedBytes;
      this.fills.segmentFillsInline++;
    }
    writeAll(this.fs, current.fd, bytes, current.file.bytes);
    current.file.bytes = end;
    current.fileBytes = Math.max(current.fileBytes, end);
    current.dirty = true;
    if (end >= this.preallocatedBytes / 2) this.spare?.prepare();
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
      if (this.current?.file === gone) {
        this.retired.push({ fd: this.current.fd, path: gone.path, dirty: false });
        this.current = null;
      }
      // A deleted file needs no sync.
      for (const retired of this.retired) if (retired.path === gone.path) retired.dirty = false;
      this.fs.unlinkSync(gone.path);
      this.directoryDirty = true;
    }
    const current = (this.current ??= this.openFile(keep, true));
    const offset = offsetOf(keep.firstIndex);
    assert(offset >= 0 && offset <= keep.bytes, `cut at ${offset} within the ${keep.bytes} bytes of ${keep.path}`);
    if (this.preallocatedBytes > 0) {
      // Zeros, not ftruncate, keep the blocks allocated; either way no record
      // cut away is left to be read back. Until a flush makes this durable,
      // the checksum chain (record.ts) rejects a stale record after new ones.
      writeZeros(this.fs, current.fd, offset, keep.bytes);
    } else {
      this.fs.ftruncateSync(current.fd, offset);
      current.fileBytes = offset;
    }
    keep.bytes = offset;
    current.dirty = true;
  }

  /**
   * Deletes the oldest segments, those whose first index is below
   * `firstKept` (which must be a segment's first index, or the index just past
   * the log when `firstKept` drops every segment). Returns the record bytes
   * they held. The directory entry removals are made durable by the next
   * flush; recovery deletes any file that reappears below the log's base.
   */
  dropBefore(firstKept: number): { segments: number; bytes: number } {
    const count = this.files.findIndex((file) => file.firstIndex >= firstKept);
    const gone = this.files.splice(0, count === -1 ? this.files.length : count);
    let bytes = 0;
    for (const file of gone) {
      if (this.current?.file === file) {
        this.retired.push({ fd: this.current.fd, path: file.path, dirty: false });
        this.current = null;
      }
      for (const retired of this.retired) if (retired.path === file.path) retired.dirty = false;
      this.fs.unlinkSync(file.path);
      bytes += file.bytes;
    }
    if (gone.length > 0) this.directoryDirty = true;
    return { segments: gone.length, bytes };
  }

  /** Bytes of records in every segment: the WAL the log retains. */
  totalRecordBytes(): number {
    return this.files.reduce((sum, file) => sum + file.bytes, 0);
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

  /** Bytes of records in a segment. */
  recordBytes(segment: { path: string }): number {
    const file = this.files.find((f) => f.path === segment.path);
    assert(file !== undefined, `segment ${segment.path} is in the log`);
    return file.bytes;
  }

  /** First indexes of every segment, oldest first. */
  firstIndexes(): number[] {
    return this.files.map((file) => file.firstIndex);
  }

  /** Reads `length` bytes at `offset` of a segment's records (through the open descriptor when it is the current one). */
  read(segment: { path: string }, offset: number, length: number): Buffer {
    if (length === 0) return Buffer.alloc(0);
    const file = this.files.find((f) => f.path === segment.path);
    assert(file !== undefined && offset >= 0 && offset + length <= file.bytes, `read ${offset}+${length} within the records of ${segment.path}`);
    if (this.current?.file === file) return readExactly(this.fs, this.current.fd, offset, length);
    const fd = this.fs.openSync(segment.path, 'r');
    try {
      return readExactly(this.fs, fd, offset, length);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /** Closes every descriptor, once a spare being filled is done; only once no flush is running. */
  async close(): Promise<void> {
    for (const retired of this.retired) this.fs.closeSync(retired.fd);
    this.retired = [];
    if (this.current !== null) this.fs.closeSync(this.current.fd);
    this.current = null;
    await this.spare?.close();
  }

  /** Opens an existing segment to append to. */
  private openFile(file: SegmentFile, dirty: boolean): OpenSegment {
    const fd = this.fs.openSync(file.path, 'r+');
    return { file, fd, fileBytes: this.fs.fstatSync(fd).size, dirty };
  }
}
