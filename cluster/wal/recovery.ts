// Reads the log back on open: every record is checked (length, checksum,
// index, term) and the log ends at the first one that fails. That record, the
// rest of its segment and every later segment are removed, so what was never
// fully written — a torn tail after a crash — or what was damaged is never
// handed to the core.
//
// A segment's records may be followed by zeros: the unused rest of a
// preallocated segment. Zeros from a record boundary to the end of the file
// end that segment's records cleanly. A zero length followed by anything but
// zeros is damage ('nonzero-tail'), as is any other record that fails: zeros
// are trusted only when nothing at all follows them, so a zeroed block in the
// middle of the log cannot silently hide the records after it. (What it
// cannot catch is the last records of the log lost to zeros; a file that
// simply ended there could not either.)

import { assert, type Entry } from '../core/types.js';
import { corruptionScanBytesMax, recordBytesMax, recordHeaderBytes } from './constants.js';
import { readBase } from './base.js';
import { listSegments, syncDirectory, writeZeros } from './files.js';
import { SegmentReader } from './reader.js';
import { decodeRecord } from './record.js';
import { findValidRecordAfter } from './scan.js';
import { corruptionMessage, WalError, type LogBase, type Recovery, type RecoveryProblem, type RecoveryProblemReason, type WalCorruption, type WalFs } from './types.js';

export interface RecoveredSegment {
  readonly firstIndex: number;
  readonly name: string;
  readonly path: string;
  /** Bytes of valid records at the start of the file; the rest of the file, if any, is zeros. */
  readonly bytes: number;
}

export interface RecoveredLog {
  /** Contiguous from base.index + 1, lsn recomputed as the running sum of record sizes from base.lsn. */
  readonly entries: Entry[];
  readonly base: LogBase;
  /** Segment files at or below the base (an interrupted compaction's), deleted. */
  readonly removedBelowBase: string[];
  readonly segments: RecoveredSegment[];
  readonly recovery: Recovery;
}

/** Where a segment's valid records end, and why the rest must go (null: it is zeros or nothing). */
interface SegmentEnd {
  readonly bytes: number;
  readonly problem: RecoveryProblemReason | null;
}

/**
 * Reads, validates and repairs the segments in `walDir`. A file at least
 * `preallocatedBytes` long is taken to be preallocated: its trailing zeros
 * are padding, not part of a tail that recovery cuts or counts.
 */
export function recoverLog(options: { fs: WalFs; walDir: string; fsync: boolean; preallocatedBytes: number }): RecoveredLog {
  const { fs, walDir } = options;
  const base = readBase(fs, walDir);
  const all = listSegments(fs, walDir);
  // Named for an index at or below the base: a compaction (or a restart after a
  // snapshot) wrote the base and was cut short before deleting them.
  const leftovers = all.filter((file) => file.firstIndex <= base.index);
  for (const gone of leftovers) fs.unlinkSync(gone.path);
  if (leftovers.length > 0 && options.fsync) syncDirectory(fs, walDir);
  const files = all.filter((file) => file.firstIndex > base.index);
  const entries: Entry[] = [];
  const segments: RecoveredSegment[] = [];
  let truncatedBytes = 0;
  let problem: RecoveryProblem | null = null;

  for (let i = 0; i < files.length && problem === null; i++) {
    const file = files[i]!;
    const fd = fs.openSync(file.path, 'r+');
    try {
      const reader = new SegmentReader(fs, fd, fs.fstatSync(fd).size);
      const continues = file.firstIndex === base.index + entries.length + 1;
      const end = continues ? readSegment(reader, entries, base) : { bytes: 0, problem: 'index-gap' as const };
      if (end.problem === null) {
        segments.push({ firstIndex: file.firstIndex, name: file.name, path: file.path, bytes: end.bytes });
        continue;
      }
      // Valid records after the bad one mean damage, not a torn tail: refuse, touching nothing.
      refuseCorruption({ fs, files, at: i, offset: end.bytes, continues, reason: end.problem, entries, base });
      const later = files.slice(i + 1);
      for (const gone of later) {
        truncatedBytes += contentBytes(fs, gone.path, options.preallocatedBytes);
        fs.unlinkSync(gone.path);
      }
      const preallocated = reader.size >= options.preallocatedBytes;
      const contentEnd = preallocated ? reader.contentEnd(end.bytes) : reader.size;
      assert(contentEnd >= end.bytes, 'a cut segment has content past the cut');
      truncatedBytes += contentEnd - end.bytes;
      problem = { segment: file.name, offset: end.bytes, index: base.index + entries.length + 1, reason: end.problem, removedSegments: later.map((f) => f.name) };
      if (continues) {
        // Zeros keep a preallocated file allocated, so its next fdatasync is as cheap as before.
        if (preallocated) writeZeros(fs, fd, end.bytes, contentEnd);
        else fs.ftruncateSync(fd, end.bytes);
        if (options.fsync) fs.fdatasyncSync(fd);
        segments.push({ firstIndex: file.firstIndex, name: file.name, path: file.path, bytes: end.bytes });
      } else {
        // Named for an index the log does not reach: nothing in it can follow the log.
        fs.unlinkSync(file.path);
      }
      if (options.fsync) syncDirectory(fs, walDir);
    } finally {
      fs.closeSync(fd);
    }
  }
  const recovery: Recovery = { segments: segments.length, records: entries.length, lastIndex: base.index + entries.length, truncatedBytes, problem };
  return { entries, base, removedBelowBase: leftovers.map((file) => file.name), segments, recovery };
}

/**
 * Throws WalError('corrupt') when a valid record follows the bad one at
 * `offset` of `files[at]` (in that segment or a later one), or when no verdict
 * comes within corruptionScanBytesMax. Only a bad record with nothing valid
 * after it is a torn tail that recovery may cut. A record after it counts when
 * it continues past the log recovered so far (a higher index, a term not
 * lower): a stale record left behind a truncation has a lower term or the
 * index already recovered, and does not.
 */
function refuseCorruption(options: {
  fs: WalFs;
  files: readonly { firstIndex: number; name: string; path: string }[];
  at: number;
  offset: number;
  continues: boolean;
  reason: RecoveryProblemReason;
  entries: readonly Entry[];
  /** Where the log begins (a compacted log starts after it): the first record expected is base.index + 1, chained to base.term. */
  base: LogBase;
}): void {
  const { entries, base } = options;
  const badIndex = base.index + entries.length + 1;
  const termMin = entries[entries.length - 1]?.term ?? base.term;
  // In a segment that continues the log, the bad record holds index badIndex: what counts comes after it.
  // A segment that does not continue it (a gap) counts from badIndex: its records are entries the log lacks.
  const scan = findValidRecordAfter({
    fs: options.fs,
    files: options.files,
    from: options.at,
    offset: options.offset,
    indexMin: options.continues ? badIndex + 1 : badIndex,
    termMin,
    budgetBytes: corruptionScanBytesMax,
  });
  if (scan.found === null && !scan.exhausted) return;
  const found = scan.found;
  const corruption: WalCorruption = {
    segment: options.files[options.at]!.name,
    offset: options.offset,
    index: badIndex,
    reason: options.reason,
    validAfter: found === null ? null : { segment: found.segment, offset: found.offset, index: found.index, term: found.term },
  };
  throw new WalError('corrupt', corruptionMessage(corruption), { corruption });
}

/** Bytes of a segment about to be deleted, its zero padding left out when it is preallocated. */
function contentBytes(fs: WalFs, file: string, preallocatedBytes: number): number {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    return size >= preallocatedBytes ? new SegmentReader(fs, fd, size).contentEnd(0) : size;
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends the segment's valid records to `entries`; returns where they end and what, if anything, is wrong after them. */
function readSegment(reader: SegmentReader, entries: Entry[], base: LogBase): SegmentEnd {
  let offset = 0;
  while (offset < reader.size) {
    const remaining = reader.size - offset;
    // No record has a zero length: a zero there, or too few bytes for a header, is the end of the records.
    if (remaining < recordHeaderBytes || reader.uint32(offset) === 0) {
      if (reader.zeroFrom(offset)) return { bytes: offset, problem: null };
      return { bytes: offset, problem: remaining < recordHeaderBytes ? 'torn-header' : 'nonzero-tail' };
    }
    const length = reader.uint32(offset);
    if (length < recordHeaderBytes || length > recordBytesMax) return { bytes: offset, problem: 'bad-length' };
    if (length > remaining) return { bytes: offset, problem: 'torn-record' };
    const previous = entries[entries.length - 1];
    const previousTerm = previous?.term ?? base.term;
    const decoded = decodeRecord(reader.read(offset, length), { previousTerm, lsnBefore: previous?.lsn ?? base.lsn });
    if (!decoded.ok) return { bytes: offset, problem: decoded.reason };
    if (decoded.entry.index !== base.index + entries.length + 1) return { bytes: offset, problem: 'index-gap' };
    if (decoded.entry.term < previousTerm) return { bytes: offset, problem: 'term-decrease' };
    entries.push(decoded.entry);
    offset += length;
  }
  return { bytes: offset, problem: null };
}
