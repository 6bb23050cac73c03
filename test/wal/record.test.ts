import { describe, expect, it } from 'vitest';
import { entryBytes, limits } from '../../cluster/core/index.js';
import { crc32c } from '../../cluster/wal/crc32.js';
import { decodeRecord, encodeRecord, recordBytes, type RecordEntry } from '../../cluster/wal/record.js';
import { walLimits, WalError } from '../../cluster/wal/index.js';

function encode(entry: RecordEntry, previousTerm = 0): Buffer {
  const target = Buffer.alloc(recordBytes(entry));
  encodeRecord({ entry, previousTerm, target, offset: 0 });
  return target;
}

const samples: RecordEntry[] = [
  { index: 1, term: 1, kind: 'noop', data: '' },
  { index: 2, term: 1, kind: 'sql', data: 'INSERT INTO kv VALUES (1, 2)', client: 'c1', request: 7 },
  { index: 3, term: 2, kind: 'sql', data: 'héllo wörld — 日本語 🚀🧪', client: 'клиент-ß' },
  { index: 4, term: 2, kind: 'config', data: '{"add":"n4"}', client: '' },
  { index: 5, term: 3, kind: 'sql', data: 'x', request: 0.5 },
  { index: 2 ** 48 - 1, term: 2 ** 48 - 1, kind: 'sql', data: '🙂'.repeat(1000), client: 'c', request: Number.MAX_SAFE_INTEGER },
];

describe('crc32c', () => {
  it('matches the standard check value of CRC-32C', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('continues a previous result: crc(a + b) = crc(b, crc(a))', () => {
    const a = Buffer.from('replica-');
    const b = Buffer.from('lab');
    expect(crc32c(b, crc32c(a))).toBe(crc32c(Buffer.concat([a, b])));
  });

  it('agrees with the byte-at-a-time definition at every length and offset (eight bytes a step, then the rest)', () => {
    const table = Array.from({ length: 256 }, (_, n) => {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      return c >>> 0;
    });
    const reference = (bytes: Uint8Array, previous: number): number => {
      let crc = ~previous >>> 0;
      for (const byte of bytes) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
      return ~crc >>> 0;
    };
    // Deterministic bytes (a linear congruential sequence), every length 0-70, at offsets into a larger buffer.
    const all = Buffer.alloc(100);
    for (let i = 0, x = 12345; i < all.length; i++) all[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    for (let length = 0; length <= 70; length++) {
      for (const offset of [0, 1, 3, 7]) {
        const bytes = all.subarray(offset, offset + length);
        for (const previous of [0, 0xffffffff, 0x1234abcd]) expect(crc32c(bytes, previous)).toBe(reference(bytes, previous));
      }
    }
  });
});

describe('record', () => {
  it('keeps the header at the 32 bytes the core counts in every lsn', () => {
    expect(walLimits.recordHeaderBytes).toBe(32);
    expect(walLimits.recordHeaderBytes).toBe(limits.entryHeaderBytes);
  });

  it.each(samples.map((entry) => [entry.index, entry] as const))('record size equals entryBytes (entry %d)', (_, entry) => {
    const bytes = encode(entry);
    expect(bytes.length).toBe(entryBytes(entry.kind, entry.data, entry.client));
    expect(bytes.readUInt32LE(0)).toBe(bytes.length);
  });

  it.each(samples.map((entry) => [entry.index, entry] as const))('decodes what it encodes, field for field (entry %d)', (_, entry) => {
    const decoded = decodeRecord(encode(entry, 1), { previousTerm: 1, lsnBefore: 10 });
    expect(decoded).toEqual({ ok: true, entry: { ...entry, lsn: 10 + entryBytes(entry.kind, entry.data, entry.client) } });
    // Absent fields stay absent, as the core builds its entries.
    if (decoded.ok) expect(Object.keys(decoded.entry).sort()).toEqual([...Object.keys(entry), 'lsn'].sort());
  });

  it('validates only after the term of the record it was written after', () => {
    const bytes = encode({ index: 9, term: 4, kind: 'sql', data: 'x' }, 3);
    expect(decodeRecord(bytes, { previousTerm: 3, lsnBefore: 0 }).ok).toBe(true);
    expect(decodeRecord(bytes, { previousTerm: 2, lsnBefore: 0 })).toEqual({ ok: false, reason: 'crc-mismatch' });
  });

  it('detects a flipped bit anywhere after the length field', () => {
    const bytes = encode(samples[2]!);
    for (let i = 4; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i]! ^= 0x10;
      expect(decodeRecord(copy, { previousTerm: 0, lsnBefore: 0 }).ok, `byte ${i}`).toBe(false);
    }
  });

  it('refuses text whose UTF-8 size disagrees with the core (a lone surrogate)', () => {
    const entry: RecordEntry = { index: 1, term: 1, kind: 'sql', data: 'a\ud800b' };
    expect(() => recordBytes(entry)).toThrow(WalError);
    expect(() => recordBytes(entry)).toThrow(/lone surrogate/);
  });

  it('refuses an entry larger than one record may be', () => {
    const data = 'x'.repeat(walLimits.recordBytesMax);
    expect(() => recordBytes({ index: 1, term: 1, kind: 'sql', data })).toThrow(expect.objectContaining({ code: 'record-too-large' }));
    expect(() => recordBytes({ index: 1, term: 1, kind: 'sql', data: '', client: 'c'.repeat(70_000) })).toThrow(
      expect.objectContaining({ code: 'record-too-large' }),
    );
  });
});
