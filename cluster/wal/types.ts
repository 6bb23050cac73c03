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
  | 'compacted' // entries asked for or rewritten below the first index the log holds
  | 'failed' // an earlier write or fsync failed; the node must restart and recover
  | 'closed'; // the log was closed

/** A failure that is not a bug in the caller: bad input, damaged files, or a broken disk. */
export class WalError extends Error {
  override name = 'WalError';
  readonly code: WalErrorCode;

  constructor(code: WalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
