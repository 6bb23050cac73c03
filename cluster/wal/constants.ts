// Every limit of the write-ahead log in one place (TigerBeetle style): a
// corrupt length, a huge statement or a long write cannot make a node allocate
// or hold more than these.

import { entryHeaderBytes } from '../core/constants.js';

/** Fixed header bytes of one record; the core counts the same number in every lsn. */
export const recordHeaderBytes = entryHeaderBytes;
/** Largest record, header included: recovery never allocates more for one record. */
export const recordBytesMax = 16 * 1024 * 1024;
/**
 * Default size at which the log rolls to a new segment file. PostgreSQL's WAL
 * segments are 16 MB too; it matches `segmentPreallocatedBytesMax`, so a
 * default segment is zero-filled whole when it is created.
 */
export const segmentBytesMaxDefault = 16 * 1024 * 1024;
/**
 * Bytes of zeros a new segment is filled with when fsync is on (or fewer, when
 * segmentBytesMax is smaller), so appends overwrite allocated blocks and the
 * file never grows: an fdatasync then syncs data only, no ext4 journal commit.
 * 16 MiB rather than etcd's 64, measured on this machine's disk: a fill that
 * cannot be done ahead of time (the first segment, or a roll that came too
 * soon) writes it inline, 4-45 ms depending on how busy the page cache is,
 * and its writeback adds ~10 ms to the next flush and to the other nodes'
 * fsyncs queued behind it; 64 MiB would be four times that. An idle node
 * holds 16 MiB, not 64, and recovery scans at most this many zeros.
 */
export const segmentPreallocatedBytesMax = 16 * 1024 * 1024;
/**
 * Smallest preallocation worth filling ahead of time, off the event loop: a
 * fill below this takes well under a millisecond inline, less than the second
 * file and the thread-pool round trips would cost.
 */
export const segmentFillAheadBytesMin = 1024 * 1024;
/** Largest index or term a record can hold: both are stored as 48-bit integers. */
export const positionMax = 2 ** 48 - 1;
/** Bytes of an entry's kind, limited by its one-byte length field. */
export const kindBytesMax = 0xff;
/** Bytes of a client id, limited by its two-byte length field. */
export const clientBytesMax = 0xffff;
/** Bytes recovery reads from a segment at a time. */
export const readChunkBytes = 1024 * 1024;
/** Bytes `write` encodes before handing them to the kernel, so one call never builds a huge buffer; zeros are written in pieces of this size too. */
export const writeChunkBytesMax = 1024 * 1024;
/** Digits of a segment file's name: the index of its first record, zero-padded. */
export const segmentNameDigits = 20;
/**
 * Bytes recovery reads past a bad record looking for a valid one (which makes
 * it corruption, not a torn tail). A torn tail is followed by at most the rest
 * of its segment (one segment or one record, 16 MiB each) and a freshly rolled,
 * empty segment (16 MiB of zeros), so 64 MiB covers every crash; zeros are
 * skipped a chunk at a time. Past the budget the verdict is corruption.
 */
export const corruptionScanBytesMax = 64 * 1024 * 1024;
