// The vocabulary of the write-ahead log: options, what recovery found, and
// the one error a caller may see for something other than a bug.

import type * as nodeFs from 'node:fs';

/** The parts of node:fs the WAL uses; tests pass a wrapper to count fsyncs or inject failures. */
export type WalFs = Pick<
  typeof nodeFs,
  | 'openSync'
  | 'closeSync'
  | 'readSync'
  | 'writeSync'
  | 'write'
  | 'fstatSync'
  | 'ftruncateSync'
  | 'fsyncSync'
  | 'fdatasyncSync'
  | 'fsync'
  | 'fdatasync'
  | 'readdirSync'
  | 'mkdirSync'
  | 'renameSync'
  | 'unlinkSync'
  | 'readFileSync'
>;

export interface WalOptions {
  /** The node's data dir; the log goes in `<dir>/wal/`, the hard state in `<dir>/meta`. */
  readonly dir: string;
  /** False skips every fsync (fast, and loses acknowledged writes on a machine crash). */
  readonly fsync: boolean;
  /** Size past which the log rolls to a new segment file; default `segmentBytesMaxDefault`. */
  readonly segmentBytesMax?: number;
  /** Defaults to node:fs. */
  readonly fs?: WalFs;
}

/** A point in the log: what a flush made durable, as the core's `persisted(index, term)` wants it. */
export interface LogPosition {
  readonly index: number;
  readonly term: number;
}

/**
 * The position just before the first record the log holds: the last entry
 * compaction deleted (or the snapshot a restarted log follows). `{0, 0, 0}`
 * for a log that begins at index 1.
 */
export interface LogBase {
  readonly index: number;
  readonly term: number;
  readonly lsn: number;
}

/** What `Wal.compact` deleted and what the log keeps. */
export interface Compaction {
  /** The first index the log holds now (lastIndex + 1 when it holds none). */
  readonly firstIndex: number;
  /** Segment files deleted by this call. */
  readonly removedSegments: number;
  /** Bytes of records in them. */
  readonly removedBytes: number;
  /** Bytes of records the log keeps: the WAL retained. */
  readonly retainedBytes: number;
}

/** What may be deleted: see `Wal.compact` and README.md. */
export interface CompactOptions {
  /** The index of the newest durable snapshot: nothing at or above it is ever deleted. */
  readonly snapshotIndex: number;
  /** Entries up to the snapshot index to keep (a margin for followers slightly behind), like etcd's catch-up entries. */
  readonly retainEntries: number;
  /** The most WAL (record bytes, counted back from the log's end) that the margin and `needed` may keep, like PostgreSQL's max_slot_wal_keep_size; Infinity for no cap. */
  readonly retainBytes: number;
  /** The lowest index a follower still needs (its next index), kept too when it fits under retainBytes, like a replication slot. */
  readonly needed?: number;
}

export type RecoveryProblemReason =
  | 'torn-header' // fewer bytes left in the segment than a record header
  | 'torn-record' // the header promises more bytes than the segment holds
  | 'bad-length' // the length field is below the header size or above recordBytesMax
  | 'nonzero-tail' // a zero length ends the records, but a later byte of the segment is not zero
  | 'crc-mismatch' // the bytes, or the record they follow, are not what was written
  | 'bad-field' // the checksum holds but a field cannot be decoded (unknown kind, flags, text)
  | 'index-gap' // the record or segment does not continue the log at the next index
  | 'term-decrease'; // the record's term is older than the record before it

/** The first bad record recovery found; it and everything after it were removed. */
export interface RecoveryProblem {
  /** File name of the segment that held it. */
  readonly segment: string;
  /** Byte offset of the bad record within that segment: the segment was cut there. */
  readonly offset: number;
  /** The index the log expected at that point. */
  readonly index: number;
  readonly reason: RecoveryProblemReason;
  /** Later segment files deleted because they followed the bad record. */
  readonly removedSegments: readonly string[];
}

/** What opening the log found and repaired. */
export interface Recovery {
  /** Segment files left after recovery. */
  readonly segments: number;
  /** Records recovered, i.e. entries in the log (from the base on; see `openWal`'s `base`). */
  readonly records: number;
  readonly lastIndex: number;
  /** Bytes removed from the tail (the cut segment's rest plus every deleted segment), a preallocated file's zero padding not counted. */
  readonly truncatedBytes: number;
  readonly problem: RecoveryProblem | null;
}

export type WalErrorCode =
  | 'record-too-large' // an entry does not fit in one record (recordBytesMax, kind or client length)
  | 'malformed-text' // a string is not well-formed UTF-16, so its UTF-8 size differs from the core's count
  | 'corrupt-meta' // the hard-state or base file exists but cannot be read back
  | 'corrupt' // a bad record with valid records after it: damage in the middle of the log, not a torn tail (see WalCorruption)
  | 'compacted' // entries asked for or rewritten below the first index the log holds
  | 'failed' // an earlier write or fsync failed; the node must restart and recover
  | 'closed'; // the log was closed

/**
 * A bad record with valid records after it, in its segment or a later one:
 * the disk was damaged in the middle of the log. Recovery does not cut it (the
 * entries after it may be committed, and this node may have acknowledged
 * them), so `openWal` throws `WalError('corrupt')` carrying this and leaves
 * every file as it found it.
 */
export interface WalCorruption {
  /** File name of the segment holding the bad record. */
  readonly segment: string;
  /** Its byte offset in that segment. */
  readonly offset: number;
  /** The index the log expected there. */
  readonly index: number;
  readonly reason: RecoveryProblemReason;
  /** The first valid record found after it; null when the scan's budget ran out with bytes still to read (not a torn tail either). */
  readonly validAfter: { readonly segment: string; readonly offset: number; readonly index: number; readonly term: number } | null;
}

/** A failure that is not a bug in the caller: bad input, damaged files, or a broken disk. */
export class WalError extends Error {
  override name = 'WalError';
  readonly code: WalErrorCode;
  /** Set for code 'corrupt'. */
  readonly corruption: WalCorruption | null;
  /** Set for code 'corrupt-meta': the file that cannot be read back (`<dir>/meta` or `<dir>/wal/base`). */
  readonly file: string | null;

  constructor(code: WalErrorCode, message: string, options?: { cause?: unknown; corruption?: WalCorruption; file?: string }) {
    super(message, options);
    this.code = code;
    this.corruption = options?.corruption ?? null;
    this.file = options?.file ?? null;
  }
}

/** The one line a corrupt log is reported with (the node's log, its event, the supervisor's status). */
export function corruptionMessage(c: WalCorruption): string {
  const after =
    c.validAfter === null
      ? 'and no torn tail ends there (more than the scan budget of bytes follows it)'
      : `and a valid record follows it (index ${c.validAfter.index}, segment ${c.validAfter.segment}, offset ${c.validAfter.offset})`;
  return `corrupt WAL: segment ${c.segment}, offset ${c.offset}: ${c.reason} at index ${c.index}, ${after}; the entries after it may be committed, so the log is not cut and the node does not start; rebuild it from the others (restart with { rebuild: true }, or :rebuild in the dashboard)`;
}
