// The write-ahead log of one node: segment files of records in `<dir>/wal/`
// and the hard state in `<dir>/meta`. Writes are buffered appends (the page
// cache has them at once); `flush` makes them durable with one fsync for
// however many writes came before it (group commit), off the main thread.

import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { assert, type Entry, type HardState } from '../core/types.js';
import { recordBytesMax, recordHeaderBytes, segmentBytesMaxDefault, segmentPreallocatedBytesMax, writeChunkBytesMax } from './constants.js';
import { writeBase } from './base.js';
import { openDirectory, syncAsync, syncDirectory } from './files.js';
import { GroupCommit } from './group-commit.js';
import { readHardState, writeHardState } from './hard-state.js';
import { decodeRecord, encodeRecord, recordBytes } from './record.js';
import { BasedPositions } from './positions.js';
import { recoverLog } from './recovery.js';
import { SegmentSet } from './segments.js';
import { WalError, type CompactOptions, type Compaction, type LogBase, type LogPosition, type Recovery, type WalFs, type WalOptions } from './types.js';

export interface WalStats {
  readonly segments: number;
  readonly bytesWritten: number;
  /** Flushes that did work (rounds of group commit). */
  readonly flushes: number;
  /** fdatasync/fsync calls the flushes made (0 with fsync off): pg_stat_wal's wal_sync. */
  readonly fsyncs: number;
  /** Milliseconds those calls took, from the start of a round's first to the end of its last: pg_stat_wal's wal_sync_time. */
  readonly fsyncMs: number;
  /** Segments zero-filled on the write path (a roll that found no spare ready, or padding an old segment). */
  readonly segmentFillsInline: number;
  /** Segments a roll took ready-filled from a spare prepared off the event loop. */
  readonly segmentFillsAhead: number;
}

/** Opens (creating if needed) the log in `options.dir`, repairing a torn or corrupt tail first. */
/** `entries` is the recovered log, handed over once for the node's start; the Wal keeps only positions. */
/**
 * `base` is where the log begins (`<dir>/wal/base`; { 0, 0, 0 } before any
 * compaction): `entries` are base.index + 1 on. `removedBelowBase` names
 * segment files an interrupted compaction left below it, which open deleted.
 */
export function openWal(options: WalOptions): { wal: Wal; recovery: Recovery; entries: Entry[]; base: LogBase; removedBelowBase: string[] } {
  const segmentBytesMax = options.segmentBytesMax ?? segmentBytesMaxDefault;
  assert(Number.isSafeInteger(segmentBytesMax) && segmentBytesMax > 0, `segmentBytesMax ${segmentBytesMax} is a positive integer`);
  const fs = options.fs ?? nodeFs;
  const walDir = path.join(options.dir, 'wal');
  const firstCreated = fs.mkdirSync(walDir, { recursive: true });
  // Preallocation pays only when flushes fdatasync; recovery reads either kind of file.
  const preallocatedBytes = Math.min(segmentBytesMax, segmentPreallocatedBytesMax);
  // The hard state first: a corrupt meta stops the open before recovery repairs anything.
  const hardState = readHardState({ fs, dir: options.dir });
  const recovered = recoverLog({ fs, walDir, fsync: options.fsync, preallocatedBytes });
  const segments = new SegmentSet({ fs, walDir, recovered: recovered.segments, preallocatedBytes: options.fsync ? preallocatedBytes : 0 });
  const tail = segments.currentFd();
  if (options.fsync) {
    // What recovery read may have sat only in the page cache of a process that crashed.
    if (tail !== null) fs.fdatasyncSync(tail);
    syncDirectory(fs, walDir);
    // Directories just created exist after a crash only once their parents are synced.
    for (let parent = options.dir; firstCreated !== undefined; parent = path.dirname(parent)) {
      syncDirectory(fs, parent);
      if (parent === path.dirname(firstCreated) || parent === path.dirname(parent)) break;
    }
  }
  const wal = new Wal({ fs, options, walDir, base: recovered.base, entries: recovered.entries, segments, hardState });
  return { wal, recovery: recovered.recovery, entries: recovered.entries, base: recovered.base, removedBelowBase: recovered.removedBelowBase };
}

/** One node's open log; see README.md for the contract of each method. */
export class Wal {
  private readonly fs: WalFs;
  private readonly dir: string;
  private readonly fsync: boolean;
  private readonly segmentBytesMax: number;
  private readonly walDir: string;
  private readonly directoryFd: number | null;
  /** Terms, the last lsn and an lsn every 32 entries, from the log's base; the entries (and every other lsn) live only in the segment files. */
  private log: BasedPositions;
  /** The lsn before each segment's first record, by the segment's first index. */
  private readonly segmentStarts = new Map<number, number>();
  private readonly segments: SegmentSet;
  private hard: HardState;
  private writtenSinceFlush = false;
  /** What the flush in flight will report; a truncation below it lowers it. */
  private covering: { position: LogPosition | null } | null = null;
  private failure: unknown = null;
  private closed = false;
  private readonly groupCommit: GroupCommit<LogPosition | null>;
  private counters = { bytesWritten: 0, flushes: 0, fsyncs: 0, fsyncMs: 0 };
  /** A slow-disk fault: every flush round takes this much longer (its fsync, as the node sees it). */
  private syncDelayMs = 0;

  /** Use `openWal`. */
  constructor(init: {
    fs: WalFs;
    options: WalOptions;
    walDir: string;
    base: LogBase;
    entries: Entry[];
    segments: SegmentSet;
    hardState: HardState;
  }) {
    this.fs = init.fs;
    this.dir = init.options.dir;
    this.fsync = init.options.fsync;
    this.segmentBytesMax = init.options.segmentBytesMax ?? segmentBytesMaxDefault;
    this.walDir = init.walDir;
    const base = init.base;
    this.log = new BasedPositions(base);
    for (const entry of init.entries) this.log.push(entry.term, entry.lsn);
    this.segments = init.segments;
    for (const firstIndex of this.segments.firstIndexes()) {
      const at = firstIndex - base.index;
      assert(at >= 1 && at <= init.entries.length + 1, `segment from ${firstIndex} continues a log of ${init.entries.length} after ${base.index}`);
      this.segmentStarts.set(firstIndex, at === 1 ? base.lsn : init.entries[at - 2]!.lsn);
    }
    this.hard = init.hardState;
    this.directoryFd = this.fsync ? openDirectory(this.fs, this.walDir) : null;
    this.groupCommit = new GroupCommit({
      round: () => this.flushRound(),
      dirty: () => this.writtenSinceFlush,
      idle: () => {
        this.checkUsable();
        return this.lastPosition();
      },
    });
  }

  /**
   * Entries [lo, hi) of the log (default: all of it), read back from the
   * segment files (written entries are readable before they are flushed).
   * This is the core's LogStorage: it asks for entries it no longer keeps.
   */
  entries(lo = this.firstIndex(), hi = this.log.lastIndex + 1): Entry[] {
    this.checkUsable();
    const end = Math.min(hi, this.log.lastIndex + 1);
    if (Math.max(1, lo) < this.firstIndex() && Math.max(1, lo) < end) {
      throw new WalError('compacted', `entries from ${lo} were asked for, but the log begins at ${this.firstIndex()} (compacted into a snapshot)`);
    }
    const out: Entry[] = [];
    for (const segment of this.segments.covering(Math.max(1, lo), end)) {
      const first = Math.max(lo, segment.firstIndex);
      const last = Math.min(end, segment.endIndex);
      if (first >= last) continue;
      const base = this.segmentStart(segment.firstIndex);
      let lsnBefore = first === segment.firstIndex ? base : this.lsnOf(first - 1, segment);
      const bytes = this.segments.read(segment, lsnBefore - base, this.lsnOf(last - 1, segment) - lsnBefore);
      let offset = 0;
      for (let index = first; index < last; index++) {
        const size = recordSizeAt(bytes, offset, `record ${index} in ${segment.path}`);
        const decoded = decodeRecord(bytes.subarray(offset, offset + size), { previousTerm: this.log.term(index - 1), lsnBefore });
        assert(decoded.ok && decoded.entry.index === index, `record ${index} reads back from ${segment.path}`);
        out.push(decoded.entry);
        offset += size;
        lsnBefore += size;
      }
    }
    return out;
  }

  lastIndex(): number {
    return this.log.lastIndex;
  }

  /** The first index the log holds; lastIndex + 1 when it holds none (a new log, or one restarted after a snapshot). */
  firstIndex(): number {
    return this.segments.firstIndexes()[0] ?? this.log.lastIndex + 1;
  }

  /** Bytes of records in the segments: the WAL this node retains (compaction lowers it). */
  retainedBytes(): number {
    return this.segments.totalRecordBytes();
  }

  /** The term at `index` (firstIndex - 1 .. lastIndex); -1 for an index the log does not know. */
  termAt(index: number): number {
    if (index < this.firstIndex() - 1 || index > this.log.lastIndex) return -1;
    return this.log.term(index);
  }

  /**
   * Deletes the oldest segment files that hold only entries the snapshot at
   * `snapshotIndex` covers, keeping a margin (see `CompactOptions` and
   * README.md). `<dir>/wal/base` is rewritten first, durably, so recovery
   * knows where the log begins; a crash before the files are gone leaves files
   * recovery deletes. Never deletes a segment holding `snapshotIndex` or later.
   */
  compact(options: CompactOptions): Compaction {
    this.checkUsable();
    const { firstKept, retained } = this.plan(options);
    if (firstKept === (this.segments.firstIndexes()[0] ?? firstKept)) {
      return { firstIndex: this.firstIndex(), removedSegments: 0, removedBytes: 0, retainedBytes: retained };
    }
    writeBase({ fs: this.fs, walDir: this.walDir, fsync: this.fsync, base: { index: firstKept - 1, term: this.log.term(firstKept - 1), lsn: this.segmentStart(firstKept) } });
    const removed = this.segments.dropBefore(firstKept);
    for (const firstIndex of [...this.segmentStarts.keys()]) if (firstIndex < firstKept) this.segmentStarts.delete(firstIndex);
    return { firstIndex: firstKept, removedSegments: removed.segments, removedBytes: removed.bytes, retainedBytes: this.segments.totalRecordBytes() };
  }

  /**
   * The first index `compact(options)` would keep, deleting nothing: a host
   * tells its core to forget the entries below it before they are deleted.
   */
  compactionPoint(options: CompactOptions): number {
    this.checkUsable();
    return this.plan(options).firstKept;
  }

  private plan(options: CompactOptions): { firstKept: number; retained: number } {
    const { snapshotIndex, retainEntries, retainBytes } = options;
    const needed = options.needed ?? Number.POSITIVE_INFINITY;
    assert(Number.isSafeInteger(snapshotIndex) && snapshotIndex >= 0 && snapshotIndex <= this.log.lastIndex, `snapshot index ${snapshotIndex} within 0..${this.log.lastIndex}`);
    assert(Number.isSafeInteger(retainEntries) && retainEntries >= 0, `retainEntries ${retainEntries} is a whole number`);
    assert(retainBytes >= 0 && (Number.isSafeInteger(retainBytes) || retainBytes === Number.POSITIVE_INFINITY), `retainBytes ${retainBytes} is a whole number or Infinity`);
    assert(needed >= 0 && (Number.isSafeInteger(needed) || needed === Number.POSITIVE_INFINITY), `needed ${needed} is an index or Infinity`);
    // The lowest index the margin and the followers want kept.
    const wanted = Math.min(snapshotIndex + 1 - retainEntries, needed);
    const firstIndexes = this.segments.firstIndexes();
    let retained = this.segments.totalRecordBytes();
    let firstKept = firstIndexes[0] ?? this.log.lastIndex + 1;
    for (let i = 0; i + 1 < firstIndexes.length; i++) {
      const endIndex = firstIndexes[i + 1]!;
      // Wholly below the snapshot: its last entry, endIndex - 1, is below snapshotIndex.
      if (endIndex > snapshotIndex) break;
      if (endIndex > wanted && retained <= retainBytes) break;
      retained -= this.segmentStart(endIndex) - this.segmentStart(firstIndexes[i]!);
      firstKept = endIndex;
    }
    return { firstKept, retained };
  }

  /**
   * Empties the log and makes it begin after `base`: for a follower that
   * installed a snapshot at base.index that its log does not match (Raft
   * §7: discard the entire log). The base is saved durably before any segment
   * is deleted; a crash in between leaves segments that recovery deletes (at
   * or below the base) or cuts (the chained checksum of a record after the
   * base fails unless its log matched there). The next write is at
   * base.index + 1.
   */
  restartAfter(base: LogBase): void {
    this.checkUsable();
    writeBase({ fs: this.fs, walDir: this.walDir, fsync: this.fsync, base });
    this.segments.dropBefore(Number.POSITIVE_INFINITY);
    this.segmentStarts.clear();
    this.log = new BasedPositions({ index: base.index, term: base.term, lsn: base.lsn });
    this.writtenSinceFlush = true;
    if (this.covering !== null) this.covering.position = base.index === 0 ? null : { index: base.index, term: base.term };
  }

  /** The term of the last entry; 0 for an empty log. */
  lastTerm(): number {
    return this.log.term(this.log.lastIndex);
  }

  /** The term and vote the core starts from. */
  hardState(): HardState {
    return this.hard;
  }

  /** Saves the term and vote before any message that depends on them leaves the node. */
  saveHardState(hardState: HardState): void {
    this.checkUsable();
    writeHardState({ fs: this.fs, dir: this.dir, fsync: this.fsync, hardState });
    this.hard = { term: hardState.term, vote: hardState.vote };
  }

  /**
   * Makes the log hold `entries` from index `writeFrom` on, as `Ready` asks:
   * any entries at or after `writeFrom` are dropped first. Buffered, not
   * durable: call `flush` to learn when it is.
   */
  write(writeFrom: number, entries: readonly Entry[]): void {
    this.checkUsable();
    const sizes = this.validate(writeFrom, entries);
    try {
      if (writeFrom <= this.log.lastIndex) this.truncateFrom(writeFrom);
      this.append(entries, sizes);
    } catch (error) {
      // The disk now holds an unknown part of this write: recovery on restart sorts it out.
      this.failure = error;
      throw error;
    }
  }

  /**
   * Resolves with the last (index, term) that is durable once every write made
   * before the call is on disk, null for an empty log. Concurrent calls share
   * fsyncs (group commit). A rejection means the disk failed: restart the node.
   */
  flush(): Promise<LogPosition | null> {
    if (this.closed) return Promise.reject(new WalError('closed', 'the WAL is closed'));
    return this.groupCommit.request();
  }

  /**
   * A slow-disk fault: from the next round on, each flush waits `ms` more
   * after its fsync, without blocking the event loop, and counts it in
   * fsyncMs, so the node sees exactly an fsync that takes `ms` longer.
   */
  setSyncDelay(ms: number): void {
    assert(Number.isFinite(ms) && ms >= 0, 'a sync delay is a number of ms >= 0');
    this.syncDelayMs = ms;
  }

  /** Counters for telemetry and tests. */
  stats(): WalStats {
    return { segments: this.segments.count(), ...this.counters, ...this.segments.fillCounts() };
  }

  /** Waits for flushes in flight, then releases every file descriptor. Writes since the last flush are not synced. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.groupCommit.settled();
    await this.segments.close();
    if (this.directoryFd !== null) this.fs.closeSync(this.directoryFd);
  }

  // -------------------------------------------------------------------------

  private checkUsable(): void {
    if (this.closed) throw new WalError('closed', 'the WAL is closed');
    this.checkNotFailed();
  }

  private checkNotFailed(): void {
    if (this.failure !== null) {
      throw new WalError('failed', `an earlier WAL write or fsync failed (${String(this.failure)}); restart the node to recover`, { cause: this.failure });
    }
  }

  private lastPosition(): LogPosition | null {
    const last = this.log.lastIndex;
    return last === 0 ? null : { index: last, term: this.log.term(last) };
  }

  /** Checks the whole write before touching the disk; returns each record's size. */
  private validate(writeFrom: number, entries: readonly Entry[]): number[] {
    const last = this.log.lastIndex;
    if (writeFrom < this.firstIndex()) throw new WalError('compacted', `a write from ${writeFrom}, but the log begins at ${this.firstIndex()}: compacted entries are never rewritten`);
    assert(Number.isSafeInteger(writeFrom) && writeFrom <= last + 1, `write from ${writeFrom} within ${this.firstIndex()}..${last + 1}`);
    let term = this.log.term(writeFrom - 1);
    let lsn = this.lsnOf(writeFrom - 1);
    return entries.map((entry, i) => {
      if (entry.index !== writeFrom + i) assert(false, `entry ${entry.index} written at ${writeFrom + i}`);
      if (entry.term < term) assert(false, `term ${entry.term} of entry ${entry.index} is not older than ${term} before it`);
      const size = recordBytes(entry);
      if (entry.lsn !== lsn + size) assert(false, `lsn ${entry.lsn} of entry ${entry.index} is ${lsn} + its ${size} record bytes`);
      term = entry.term;
      lsn = entry.lsn;
      return size;
    });
  }

  /** Drops entries from `index` on; a flush in flight then reports at most the entry before it. */
  private truncateFrom(index: number): void {
    const keptLsn = this.lsnOf(index - 1);
    this.segments.cut(index, (firstIndex) => keptLsn - this.segmentStart(firstIndex));
    for (const firstIndex of this.segmentStarts.keys()) if (firstIndex > index) this.segmentStarts.delete(firstIndex);
    this.writtenSinceFlush = true;
    const covered = this.covering?.position;
    if (covered != null && covered.index >= index) this.covering!.position = index === 1 ? null : { index: index - 1, term: this.log.term(index - 1) };
    this.log.truncate(index - 1, keptLsn);
  }

  private segmentStart(firstIndex: number): number {
    const lsn = this.segmentStarts.get(firstIndex);
    assert(lsn !== undefined, `the lsn before segment ${firstIndex} is known`);
    return lsn;
  }

  /**
   * The lsn of `index` (0 for 0). The index knows the last one and one every 32
   * entries; from the nearest known position before `index` in its segment
   * (`segment` when the caller has it), this walks the records' length fields.
   */
  private lsnOf(index: number, segment?: { firstIndex: number; path: string }): number {
    if (index === 0) return 0;
    if (index === this.log.lastIndex) return this.log.lastLsn;
    if (index === this.log.base.index) return this.log.base.lsn;
    const before = this.segmentStarts.get(index + 1);
    if (before !== undefined) return before;
    assert(index >= this.firstIndex() && index < this.log.lastIndex, `lsn of index ${index} within ${this.firstIndex()}..${this.log.lastIndex}`);
    const holder = segment !== undefined && segment.firstIndex <= index ? segment : this.segments.covering(index, index + 1).at(-1);
    assert(holder !== undefined && holder.firstIndex <= index, `a segment holds index ${index}`);
    const base = this.segmentStart(holder.firstIndex);
    const anchor = this.log.anchor(index);
    let [at, lsn] = anchor.index + 1 >= holder.firstIndex ? [anchor.index, anchor.lsn] : [holder.firstIndex - 1, base];
    const end = this.segments.recordBytes(holder);
    let chunk: Buffer = Buffer.alloc(0);
    let chunkStart = 0;
    while (at < index) {
      const offset = lsn - base;
      if (offset + 4 > chunkStart + chunk.length) {
        chunkStart = offset;
        chunk = this.segments.read(holder, offset, Math.min(scanChunkBytes, end - offset));
      }
      const size = recordSizeAt(chunk, offset - chunkStart, `record ${at + 1} in ${holder.path}`);
      lsn += size;
      at++;
    }
    return lsn;
  }

  /** Appends records, rolling to a new segment past segmentBytesMax and writing at most writeChunkBytesMax per call. */
  private append(entries: readonly Entry[], sizes: readonly number[]): void {
    let batchStart = 0;
    let batchBytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const size = sizes[i]!;
      const current = this.segments.currentBytes();
      const used = (current ?? 0) + batchBytes;
      if (current === null || (used > 0 && used + size > this.segmentBytesMax)) {
        this.writeBatch(entries.slice(batchStart, i), batchBytes);
        this.roll(entries[i]!, size);
        [batchStart, batchBytes] = [i, 0];
      } else if (batchBytes > 0 && batchBytes + size > writeChunkBytesMax) {
        this.writeBatch(entries.slice(batchStart, i), batchBytes);
        [batchStart, batchBytes] = [i, 0];
      }
      batchBytes += size;
    }
    this.writeBatch(entries.slice(batchStart), batchBytes);
  }

  /** Starts a segment at `entry`, whose record takes `size` bytes. */
  private roll(entry: Entry, size: number): void {
    this.segments.roll(entry.index);
    this.segmentStarts.set(entry.index, entry.lsn - size);
  }

  private writeBatch(batch: readonly Entry[], bytes: number): void {
    if (batch.length === 0) return;
    const buffer = Buffer.allocUnsafe(bytes);
    let offset = 0;
    let previousTerm = this.lastTerm();
    for (const entry of batch) {
      offset += encodeRecord({ entry, previousTerm, target: buffer, offset });
      previousTerm = entry.term;
    }
    assert(offset === bytes, 'the batch was encoded to its computed size');
    this.segments.append(buffer);
    this.writtenSinceFlush = true;
    this.counters.bytesWritten += bytes;
    for (const entry of batch) this.log.push(entry.term, entry.lsn);
  }

  /** One group-commit round: syncs every file written since the last round, and the directory if it changed. */
  private async flushRound(): Promise<LogPosition | null> {
    // Not checkUsable: a round queued before close() still runs; close() waits for it.
    this.checkNotFailed();
    const covering = { position: this.lastPosition() };
    this.covering = covering;
    this.writtenSinceFlush = false;
    const work = this.segments.takeSyncWork();
    this.counters.flushes++;
    try {
      if (this.fsync) {
        const startedMs = performance.now();
        for (const fd of work.files) {
          this.counters.fsyncs++;
          await syncAsync(this.fs, fd, { data: true });
        }
        if (work.directory && this.directoryFd !== null) {
          this.counters.fsyncs++;
          await syncAsync(this.fs, this.directoryFd, { data: false });
        }
        if (this.syncDelayMs > 0) await sleep(this.syncDelayMs);
        this.counters.fsyncMs += performance.now() - startedMs;
      } else {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.syncDelayMs > 0) await sleep(this.syncDelayMs);
      }
    } catch (error) {
      // After a failed fsync the page cache can no longer be trusted (PostgreSQL's fsyncgate).
      this.failure = error;
      throw new WalError('failed', `WAL fsync failed: ${String(error)}`, { cause: error });
    } finally {
      work.release();
      if (this.covering === covering) this.covering = null;
    }
    return covering.position;
  }
}

/** Bytes read at a time while walking records' length fields. */
const scanChunkBytes = 64 * 1024;

/** The length field of the record at `offset` of `bytes`: what this log wrote, so anything else is a bug or a damaged disk. */
function recordSizeAt(bytes: Buffer, offset: number, what: string): number {
  assert(offset + 4 <= bytes.length, `${what}: its length field is within the bytes read`);
  const size = bytes.readUInt32LE(offset);
  assert(size >= recordHeaderBytes && size <= recordBytesMax, `${what}: length ${size} is a record's`);
  return size;
}
