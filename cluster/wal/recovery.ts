// Reads the log back on open: every record is checked (length, checksum,
// index, term) and the log ends at the first one that fails. That record, the
// rest of its segment and every later segment are removed, so what was never
// fully written — a torn tail after a crash — or what was damaged is never
// handed to the core.

import { assert, type Entry } from '../core/types.js';
import { recordBytesMax, recordHeaderBytes } from './constants.js';
import { listSegments, syncDirectory } from './files.js';
import { SegmentReader } from './reader.js';
import { decodeRecord } from './record.js';
import type { Recovery, RecoveryProblem, RecoveryProblemReason, WalFs } from './types.js';

export interface RecoveredSegment {
  readonly firstIndex: number;
  readonly name: string;
  readonly path: string;
  /** Bytes of valid records in the file (its size after any cut). */
  readonly bytes: number;
}

export interface RecoveredLog {
  /** Contiguous from index 1, lsn recomputed as the running sum of record sizes. */
  readonly entries: Entry[];
  readonly segments: RecoveredSegment[];
  readonly recovery: Recovery;
}

interface Cut {
  readonly offset: number;
  readonly reason: RecoveryProblemReason;
}

/** Reads, validates and repairs the segments in `walDir`. */
export function recoverLog(options: { fs: WalFs; walDir: string; fsync: boolean }): RecoveredLog {
  const { fs, walDir } = options;
  const files = listSegments(fs, walDir);
  const entries: Entry[] = [];
  const segments: RecoveredSegment[] = [];
  let truncatedBytes = 0;
  let problem: RecoveryProblem | null = null;

  for (let i = 0; i < files.length && problem === null; i++) {
    const file = files[i]!;
    const fd = fs.openSync(file.path, 'r+');
    try {
      const size = fs.fstatSync(fd).size;
      const continues = file.firstIndex === entries.length + 1;
      const cut = continues ? readSegment(new SegmentReader(fs, fd, size), entries) : { offset: 0, reason: 'index-gap' as const };
      if (cut === null) {
        segments.push({ firstIndex: file.firstIndex, name: file.name, path: file.path, bytes: size });
        continue;
      }
      const later = files.slice(i + 1);
      for (const gone of later) {
        truncatedBytes += fileSize(fs, gone.path);
        fs.unlinkSync(gone.path);
      }
      truncatedBytes += size - cut.offset;
      problem = { segment: file.name, offset: cut.offset, index: entries.length + 1, reason: cut.reason, removedSegments: later.map((f) => f.name) };
      if (continues) {
        fs.ftruncateSync(fd, cut.offset);
        if (options.fsync) fs.fdatasyncSync(fd);
        segments.push({ firstIndex: file.firstIndex, name: file.name, path: file.path, bytes: cut.offset });
      } else {
        // Named for an index the log does not reach: nothing in it can follow the log.
        fs.unlinkSync(file.path);
      }
      if (options.fsync) syncDirectory(fs, walDir);
    } finally {
      fs.closeSync(fd);
    }
  }
  const recovery: Recovery = { segments: segments.length, records: entries.length, lastIndex: entries.length, truncatedBytes, problem };
  return { entries, segments, recovery };
}

function fileSize(fs: WalFs, file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    return fs.fstatSync(fd).size;
  } finally {
    fs.closeSync(fd);
  }
}

/** Appends the segment's valid records to `entries`; returns where and why it must be cut, or null. */
function readSegment(reader: SegmentReader, entries: Entry[]): Cut | null {
  let offset = 0;
  while (offset < reader.size) {
    const remaining = reader.size - offset;
    if (remaining < recordHeaderBytes) return { offset, reason: 'torn-header' };
    const length = reader.uint32(offset);
    if (length < recordHeaderBytes || length > recordBytesMax) return { offset, reason: 'bad-length' };
    if (length > remaining) return { offset, reason: 'torn-record' };
    const previous = entries[entries.length - 1];
    const previousTerm = previous?.term ?? 0;
    const decoded = decodeRecord(reader.read(offset, length), { previousTerm, lsnBefore: previous?.lsn ?? 0 });
    if (!decoded.ok) return { offset, reason: decoded.reason };
    if (decoded.entry.index !== entries.length + 1) return { offset, reason: 'index-gap' };
    if (decoded.entry.term < previousTerm) return { offset, reason: 'term-decrease' };
    entries.push(decoded.entry);
    offset += length;
  }
  assert(offset === reader.size, 'records end exactly at the end of the segment');
  return null;
}
