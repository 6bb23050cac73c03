// Looking for valid records where the log's own chain of lengths broke: past
// a bad record, to tell damage in the middle of the log (valid records after
// it) from a torn tail (nothing valid after it); and through a whole damaged
// log, for the last record it held (the position a rebuilt node must not vote
// below). A bad length cannot be trusted to find the next record, so the scan
// tries every byte offset: a record counts only if its length is sane, its
// index and term are plausible where it sits, and its chained CRC checks out.
// Zeros (a preallocated segment's padding) are skipped a chunk at a time, and
// memory stays at one read window and one record.

import { positionMax, readChunkBytes, recordBytesMax, recordHeaderBytes } from './constants.js';
import { isZero, listSegments } from './files.js';
import { SegmentReader } from './reader.js';
import { decodeRecord } from './record.js';
import { emptyBase, readBase } from './base.js';
import { WalError, type LogBase, type WalFs } from './types.js';

/** A valid record found by a scan. */
export interface FoundRecord {
  readonly segment: string;
  readonly offset: number;
  readonly index: number;
  readonly term: number;
  readonly length: number;
}

interface SegmentRef {
  readonly firstIndex: number;
  readonly name: string;
  readonly path: string;
}

/** Which records may count where: a record at `offset` of a segment named for `firstIndex` holds at most index firstIndex + offset / 32. */
interface Plausible {
  readonly indexMin: number;
  readonly termMin: number;
}

/** Bytes left to read; a scan stops when it runs out. */
interface Budget {
  left: number;
}

/**
 * The first valid record at or after `offset` of `files[from]` and in every
 * later file, with an index of at least `indexMin` and a term of at least
 * `termMin` (terms never go back), or null; `exhausted` when `budgetBytes`
 * ran out first.
 */
export function findValidRecordAfter(options: {
  fs: WalFs;
  files: readonly SegmentRef[];
  from: number;
  offset: number;
  indexMin: number;
  termMin: number;
  budgetBytes: number;
}): { found: FoundRecord | null; exhausted: boolean } {
  const budget: Budget = { left: options.budgetBytes };
  for (let i = options.from; i < options.files.length; i++) {
    const file = options.files[i]!;
    let found: FoundRecord | null = null;
    withReader(options.fs, file.path, (reader) => {
      scanSegment(reader, file, i === options.from ? options.offset : 0, { indexMin: options.indexMin, termMin: options.termMin }, options.termMin, budget, (record) => {
        found = record;
        return false;
      });
    });
    if (found !== null) return { found, exhausted: false };
    if (budget.left <= 0) return { found: null, exhausted: true };
  }
  return { found: null, exhausted: false };
}

/**
 * The last position the log in `walDir` holds, read past any damage: the
 * highest (term, index) of every valid record in every segment after the
 * log's base, or the base itself (`wal/base`, where a compacted log begins:
 * the snapshot it was compacted to, or installed) when it is higher or no
 * record is left. Segments at or below the base (a compaction cut short) are
 * not read. A base that cannot be read is ignored and every segment is read
 * (the floor may then only be lower than the base, never above what the log
 * held). Null when there is nothing. It reads every segment once, a window at
 * a time.
 */
export function lastRecordPosition(fs: WalFs, walDir: string): { index: number; term: number } | null {
  let files: SegmentRef[];
  try {
    files = listSegments(fs, walDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let base: LogBase = emptyBase;
  try {
    base = readBase(fs, walDir);
  } catch (error) {
    if (!(error instanceof WalError)) throw error;
  }
  let last: { index: number; term: number } | null = base.index === 0 ? null : { index: base.index, term: base.term };
  for (const file of files) {
    if (file.firstIndex <= base.index) continue;
    withReader(fs, file.path, (reader) => {
      scanSegment(reader, file, 0, { indexMin: base.index + 1, termMin: base.term }, base.term, { left: Number.POSITIVE_INFINITY }, (record) => {
        if (last === null || record.term > last.term || (record.term === last.term && record.index > last.index)) last = { index: record.index, term: record.term };
        return true;
      });
    });
  }
  return last;
}

function withReader(fs: WalFs, file: string, use: (reader: SegmentReader) => void): void {
  const fd = fs.openSync(file, 'r');
  try {
    use(new SegmentReader(fs, fd, fs.fstatSync(fd).size));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Visits every valid record of one segment from `offset` on, in order; a
 * record's CRC is tried chained to the term of the record before it (the last
 * one found, or `previousTerm`) and to its own term (the record before it may
 * be the damaged one). `visit` returns false to stop.
 */
function scanSegment(
  reader: SegmentReader,
  file: SegmentRef,
  offset: number,
  plausible: Plausible,
  previousTerm: number,
  budget: Budget,
  visit: (record: FoundRecord) => boolean,
): void {
  let previous = previousTerm;
  let at = offset;
  while (at + recordHeaderBytes <= reader.size && budget.left > 0) {
    if (reader.uint32(at) === 0) {
      // Zeros: skip to just before the next byte that is not zero (a length field may start up to 3 bytes before it).
      const length = Math.min(readChunkBytes, reader.size - at);
      const chunk = reader.read(at, length);
      let zeros = length;
      if (!isZero(chunk)) for (zeros = 0; chunk[zeros] === 0; zeros++);
      const skip = Math.max(1, zeros - 3);
      at += skip;
      budget.left -= skip;
      continue;
    }
    const record = recordAt(reader, file, at, plausible, previous);
    if (record === null) {
      at++;
      budget.left--;
      continue;
    }
    if (!visit(record)) return;
    previous = record.term;
    at += record.length;
    budget.left -= record.length;
  }
}

/** The record at `at` if it is a valid one that may sit there, else null. */
function recordAt(reader: SegmentReader, file: SegmentRef, at: number, plausible: Plausible, previousTerm: number): FoundRecord | null {
  const length = reader.uint32(at);
  if (length < recordHeaderBytes || length > recordBytesMax || at + length > reader.size) return null;
  const header = reader.read(at, recordHeaderBytes);
  const index = header.readUIntLE(8, 6);
  const term = header.readUIntLE(14, 6);
  // Each record is at least a header long: none sits further from its segment's first index than that allows.
  if (index < Math.max(plausible.indexMin, file.firstIndex) || index > file.firstIndex + Math.floor(at / recordHeaderBytes)) return null;
  if (term < plausible.termMin || term > positionMax) return null;
  const bytes = reader.read(at, length);
  for (const seed of previousTerm === term ? [term] : [previousTerm, term]) {
    const decoded = decodeRecord(bytes, { previousTerm: seed, lsnBefore: 0 });
    if (decoded.ok && decoded.entry.index === index && decoded.entry.term === term) return { segment: file.name, offset: at, index, term, length };
  }
  return null;
}
