// One log entry as bytes. A record is exactly as long as the core's
// `entryBytes(kind, data, client)`, so an entry's lsn is also the byte offset
// of its record's end in the concatenated segments.
//
//   offset size
//        0    4  u32  recordBytes   total bytes of the record, header included
//        4    4  u32  crc           CRC-32C, see `recordChecksum`
//        8    6  u48  index
//       14    6  u48  term
//       20    8  f64  request       0 when absent
//       28    1  u8   flags         bit0: has client, bit1: has request
//       29    1  u8   kindBytes
//       30    2  u16  clientBytes
//       32           kind, client, data (UTF-8; data runs to the end of the record)

import { entryBytes } from '../core/log.js';
import { assert, type Entry, type EntryKind } from '../core/types.js';
import { clientBytesMax, kindBytesMax, positionMax, recordBytesMax, recordHeaderBytes } from './constants.js';
import { crc32c } from './crc32.js';
import { WalError } from './types.js';

const flagClient = 1;
const flagRequest = 2;
const flagsKnown = flagClient | flagRequest;
const kinds: ReadonlySet<string> = new Set<EntryKind>(['sql', 'noop', 'config']);

/** An entry as a record holds it: the lsn is not stored, recovery recomputes it. */
export type RecordEntry = Omit<Entry, 'lsn'>;

/** Bytes the record of `entry` takes; throws when it cannot be one record. */
export function recordBytes(entry: RecordEntry): number {
  const kindBytes = Buffer.byteLength(entry.kind, 'utf8');
  const clientBytes = entry.client === undefined ? 0 : Buffer.byteLength(entry.client, 'utf8');
  const total = recordHeaderBytes + kindBytes + clientBytes + Buffer.byteLength(entry.data, 'utf8');
  // Well-formed text has one UTF-8 length, so `total` is then the core's entryBytes too (the header sizes are one
  // constant): the core's slower count would only repeat this one. A lone surrogate makes the two disagree.
  if (!wellFormed(entry.data) || (entry.client !== undefined && !wellFormed(entry.client))) {
    throw new WalError('malformed-text', `entry ${entry.index}: its text is not well-formed UTF-16 (a lone surrogate), so its size disagrees with the core's lsn`);
  }
  if (total > recordBytesMax || kindBytes > kindBytesMax || clientBytes > clientBytesMax) {
    throw new WalError('record-too-large', `entry ${entry.index} needs ${total} bytes; a record holds at most ${recordBytesMax} (kind ${kindBytesMax}, client ${clientBytesMax})`);
  }
  return total;
}

/** False for a string with a lone surrogate: UTF-8 cannot carry it, it would come back as U+FFFD. */
function wellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/**
 * The checksum of a record whose bytes after the crc field are `body`. It is
 * seeded with the term of the record before (0 for index 1), so a record only
 * validates where it was written: a stale record left behind a truncation
 * that did not reach disk fails to follow the new record at its place.
 */
export function recordChecksum(previousTerm: number, body: Uint8Array): number {
  seedScratch.writeUIntLE(previousTerm, 0, 6);
  return crc32c(body, crc32c(seedScratch));
}

const seedScratch = Buffer.alloc(6);

/** Writes the record of `entry` at `offset` of `target`; returns its size. */
export function encodeRecord(options: { entry: RecordEntry; previousTerm: number; target: Buffer; offset: number }): number {
  const { entry, previousTerm, target, offset } = options;
  // Every entry passes here: the messages are built only when a check fails.
  if (!(Number.isSafeInteger(entry.index) && entry.index >= 1 && entry.index <= positionMax)) assert(false, `index ${entry.index} fits a record`);
  if (!(Number.isSafeInteger(entry.term) && entry.term >= 0 && entry.term <= positionMax)) assert(false, `term ${entry.term} fits a record`);
  const size = recordBytes(entry);
  assert(offset + size <= target.length, 'the target buffer holds the record');
  let flags = 0;
  if (entry.client !== undefined) flags |= flagClient;
  if (entry.request !== undefined) flags |= flagRequest;
  let at = offset + recordHeaderBytes;
  const kindBytes = target.write(entry.kind, at, 'utf8');
  at += kindBytes;
  const clientBytes = entry.client === undefined ? 0 : target.write(entry.client, at, 'utf8');
  at += clientBytes;
  at += target.write(entry.data, at, 'utf8');
  assert(at === offset + size, 'the record was encoded to its computed size');
  target.writeUInt32LE(size, offset);
  target.writeUIntLE(entry.index, offset + 8, 6);
  target.writeUIntLE(entry.term, offset + 14, 6);
  target.writeDoubleLE(entry.request ?? 0, offset + 20);
  target.writeUInt8(flags, offset + 28);
  target.writeUInt8(kindBytes, offset + 29);
  target.writeUInt16LE(clientBytes, offset + 30);
  target.writeUInt32LE(recordChecksum(previousTerm, target.subarray(offset + 8, offset + size)), offset + 4);
  return size;
}

export type DecodeResult =
  | { readonly ok: true; readonly entry: Entry }
  | { readonly ok: false; readonly reason: 'crc-mismatch' | 'bad-field' };

/**
 * Decodes one whole record (its length already checked against the bytes
 * given) into the entry whose lsn is `lsnBefore` plus the record's size.
 */
export function decodeRecord(record: Buffer, options: { previousTerm: number; lsnBefore: number }): DecodeResult {
  assert(record.length >= recordHeaderBytes && record.readUInt32LE(0) === record.length, 'decodeRecord gets exactly one record');
  if (record.readUInt32LE(4) !== recordChecksum(options.previousTerm, record.subarray(8))) return { ok: false, reason: 'crc-mismatch' };
  const flags = record.readUInt8(28);
  const kindBytes = record.readUInt8(29);
  const clientBytes = record.readUInt16LE(30);
  const request = record.readDoubleLE(20);
  const hasClient = (flags & flagClient) !== 0;
  const hasRequest = (flags & flagRequest) !== 0;
  const malformed =
    (flags & ~flagsKnown) !== 0 ||
    (!hasClient && clientBytes !== 0) ||
    (!hasRequest && !Object.is(request, 0)) ||
    recordHeaderBytes + kindBytes + clientBytes > record.length;
  if (malformed) return { ok: false, reason: 'bad-field' };
  const kindEnd = recordHeaderBytes + kindBytes;
  const clientEnd = kindEnd + clientBytes;
  const kind = record.toString('latin1', recordHeaderBytes, kindEnd);
  if (!kinds.has(kind)) return { ok: false, reason: 'bad-field' };
  const data = record.toString('utf8', clientEnd);
  const client = hasClient ? record.toString('utf8', kindEnd, clientEnd) : undefined;
  // Bytes that are not UTF-8 decode to replacement characters and change size.
  if (entryBytes(kind as EntryKind, data, client) !== record.length) return { ok: false, reason: 'bad-field' };
  const entry: { -readonly [K in keyof Entry]: Entry[K] } = {
    index: record.readUIntLE(8, 6),
    term: record.readUIntLE(14, 6),
    lsn: options.lsnBefore + record.length,
    kind: kind as EntryKind,
    data,
  };
  if (client !== undefined) entry.client = client;
  if (hasRequest) entry.request = request;
  return { ok: true, entry };
}
