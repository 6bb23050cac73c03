// Every limit of the write-ahead log in one place (TigerBeetle style): a
// corrupt length, a huge statement or a long write cannot make a node allocate
// or hold more than these.

import { entryHeaderBytes } from '../core/constants.js';

/** Fixed header bytes of one record; the core counts the same number in every lsn. */
export const recordHeaderBytes = entryHeaderBytes;
/** Largest record, header included: recovery never allocates more for one record. */
export const recordBytesMax = 16 * 1024 * 1024;
/** Default size at which the log rolls to a new segment file (etcd's is 64 MB too). */
export const segmentBytesMaxDefault = 64 * 1024 * 1024;
/** Largest index or term a record can hold: both are stored as 48-bit integers. */
export const positionMax = 2 ** 48 - 1;
/** Bytes of an entry's kind, limited by its one-byte length field. */
export const kindBytesMax = 0xff;
/** Bytes of a client id, limited by its two-byte length field. */
export const clientBytesMax = 0xffff;
/** Bytes recovery reads from a segment at a time. */
export const readChunkBytes = 1024 * 1024;
/** Bytes `write` encodes before handing them to the kernel, so one call never builds a huge buffer. */
export const writeChunkBytesMax = 1024 * 1024;
/** Digits of a segment file's name: the index of its first record, zero-padded. */
export const segmentNameDigits = 20;
