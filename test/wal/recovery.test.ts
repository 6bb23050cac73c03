import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Entry } from '../../cluster/core/index.js';
import { lastRecordPosition, openWal, WalError, walLimits, type Recovery, type Wal } from '../../cluster/wal/index.js';
import { encodeRecords, logBytes, makeEntries, makeLog, makeTempDir, sampleLog, segmentFiles } from './helpers.js';
import { findValidRecordAfter } from '../../cluster/wal/scan.js';

let dir: string;
const opened: Wal[] = [];

/**
 * Segments of 64 KiB unless a test says otherwise: small enough that a test
 * may rewrite a whole (preallocated) file many times over.
 */
function open(segmentBytesMax = 64 * 1024): { wal: Wal; recovery: Recovery } {
  const result = openWal({ dir, fsync: true, segmentBytesMax });
  opened.push(result.wal);
  return result;
}

/** Writes `log` durably and closes, leaving the files for a test to damage. */
async function writeLog(log: readonly Entry[], segmentBytesMax = 64 * 1024): Promise<void> {
  const { wal } = open(segmentBytesMax);
  wal.write(1, log);
  await wal.flush();
  await wal.close();
}

function lastSegment(): string {
  return segmentFiles(dir).at(-1)!;
}

beforeEach(() => {
  dir = makeTempDir();
});

afterEach(async () => {
  for (const wal of opened.splice(0)) await wal.close();
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const log = sampleLog;
const lastStart = log.at(-2)!.lsn;
const lastEnd = log.at(-1)!.lsn;

describe('a log cut mid-record (a torn write)', () => {
  it('is repaired to the previous record at every cut point of the last record', async () => {
    await writeLog(log);
    const whole = fs.readFileSync(lastSegment());
    for (let cut = lastStart + 1; cut < lastEnd; cut++) {
      fs.writeFileSync(lastSegment(), whole.subarray(0, cut));
      const { wal, recovery } = open();
      expect(wal.entries(), `cut at ${cut}`).toEqual(log.slice(0, -1));
      expect(recovery.problem).toEqual({
        segment: path.basename(lastSegment()),
        offset: lastStart,
        index: 4,
        reason: cut - lastStart < walLimits.recordHeaderBytes ? 'torn-header' : 'torn-record',
        removedSegments: [],
      });
      expect(recovery.truncatedBytes).toBe(cut - lastStart);
      expect(fs.statSync(lastSegment()).size).toBe(lastStart);
      await wal.close();
    }
  });

  it('takes new writes after the repair and keeps them', async () => {
    await writeLog(log);
    fs.truncateSync(lastSegment(), lastEnd - 5);
    const { wal } = open();
    const next = makeEntries({ from: 4, lsnBefore: lastStart, specs: [{ term: 3, data: 'after the crash' }] });
    wal.write(4, next);
    await wal.flush();
    await wal.close();
    const { wal: again, recovery } = open();
    expect(again.entries()).toEqual([...log.slice(0, -1), ...next]);
    expect(recovery.problem).toBeNull();
  });

  it('is repaired when the cut is in a record header right at a segment boundary', async () => {
    const many = makeLog([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    await writeLog(many, 200);
    const files = segmentFiles(dir);
    fs.writeFileSync(files.at(-1)!, Buffer.alloc(7, 0xab));
    const { wal, recovery } = open(200);
    const kept = Number(path.basename(files.at(-1)!, '.seg')) - 1;
    expect(wal.entries()).toEqual(many.slice(0, kept));
    expect(recovery.problem).toMatchObject({ reason: 'torn-header', offset: 0 });
  });
});

describe('a flipped byte', () => {
  it('in the last record cuts exactly that record, whichever byte it is', async () => {
    await writeLog(log);
    const whole = fs.readFileSync(lastSegment());
    for (let at = lastStart; at < lastEnd; at++) {
      const damaged = Buffer.from(whole);
      damaged[at]! ^= 0x01;
      fs.writeFileSync(lastSegment(), damaged);
      const { wal, recovery } = open();
      expect(wal.entries(), `byte ${at - lastStart} of the record`).toEqual(log.slice(0, -1));
      expect(recovery.problem?.offset).toBe(lastStart);
      if (at >= lastStart + 4) expect(recovery.problem?.reason).toBe('crc-mismatch');
      await wal.close();
    }
  });

  it('in a middle record, with valid records after it, is corruption: open refuses and touches nothing', async () => {
    const many = makeLog(Array.from({ length: 30 }, (_, i) => 1 + Math.floor(i / 7)));
    await writeLog(many, 300);
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    const damagedFile = files[1]!;
    const firstInFile = Number(path.basename(damagedFile, '.seg'));
    // Damage the data of the second record of the second segment.
    const recordStart = many[firstInFile - 1]!.lsn - many[firstInFile - 2]!.lsn;
    const bytes = fs.readFileSync(damagedFile);
    bytes[recordStart + 40]! ^= 0x80;
    fs.writeFileSync(damagedFile, bytes);
    const before = files.map((f) => fs.readFileSync(f));

    const error = openError(300);
    expect(error.code).toBe('corrupt');
    expect(error.message).toContain(`corrupt WAL: segment ${path.basename(damagedFile)}, offset ${recordStart}`);
    expect(error.corruption).toEqual({
      segment: path.basename(damagedFile),
      offset: recordStart,
      index: firstInFile + 1,
      reason: 'crc-mismatch',
      validAfter: { segment: path.basename(damagedFile), offset: many[firstInFile]!.lsn - many[firstInFile - 2]!.lsn, index: firstInFile + 2, term: many[firstInFile + 1]!.term },
    });
    expect(segmentFiles(dir)).toEqual(files);
    files.forEach((f, i) => expect(fs.readFileSync(f).equals(before[i]!), f).toBe(true));
  });

  it('in the last record of a segment, with later segments valid, is corruption found in the next segment', async () => {
    const many = makeLog(Array.from({ length: 20 }, () => 1));
    await writeLog(many, 200);
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    const nextFirst = Number(path.basename(files[1]!, '.seg'));
    const lastStartInFirst = many[nextFirst - 3]!.lsn;
    const bytes = fs.readFileSync(files[0]!);
    bytes[lastStartInFirst + 35]! ^= 0x04;
    fs.writeFileSync(files[0]!, bytes);
    const error = openError(200);
    expect(error.corruption).toMatchObject({ segment: path.basename(files[0]!), offset: lastStartInFirst, index: nextFirst - 1, reason: 'crc-mismatch' });
    expect(error.corruption?.validAfter).toMatchObject({ segment: path.basename(files[1]!), offset: 0, index: nextFirst });
  });

  it('in the length field of a middle record (the chain of lengths is lost) is still found to be corruption', async () => {
    const many = makeLog(Array.from({ length: 12 }, () => 2));
    await writeLog(many);
    const at = many[4]!.lsn; // the start of record 6
    const fd = fs.openSync(lastSegment(), 'r+');
    fs.writeSync(fd, Buffer.from([0x13]), 0, 1, at + 2);
    fs.closeSync(fd);
    const error = openError();
    expect(error.corruption).toMatchObject({ offset: at, index: 6, validAfter: { offset: many[5]!.lsn, index: 7 } });
  });

  it('a zeroed block in the middle (a zero length, records after it) is corruption, not the end of the records', async () => {
    const many = makeLog(Array.from({ length: 12 }, () => 1));
    await writeLog(many);
    const fd = fs.openSync(lastSegment(), 'r+');
    fs.writeSync(fd, Buffer.alloc(many[5]!.lsn - many[3]!.lsn), 0, many[5]!.lsn - many[3]!.lsn, many[3]!.lsn);
    fs.closeSync(fd);
    const error = openError();
    expect(error.corruption).toMatchObject({ offset: many[3]!.lsn, index: 5, reason: 'nonzero-tail', validAfter: { index: 7 } });
  });

  it('a torn last record followed by an empty rolled segment (zeros) is still a torn tail', async () => {
    const many = makeLog(Array.from({ length: 10 }, () => 1));
    await writeLog(many, 200);
    const files = segmentFiles(dir);
    const last = files.at(-1)!;
    const lastFirst = Number(path.basename(last, '.seg'));
    // The last segment's records torn away, the file left as a roll leaves it: zeros.
    fs.writeFileSync(last, Buffer.alloc(fs.statSync(last).size));
    const previous = files.at(-2)!;
    const bytes = fs.readFileSync(previous);
    const lastRecord = many[lastFirst - 2]!.lsn - many[lastFirst - 3]!.lsn;
    const start = recordBytesInFile(previous) - lastRecord;
    fs.writeFileSync(previous, bytes.subarray(0, start + 20));
    const { wal, recovery } = open(200);
    expect(recovery.problem).toMatchObject({ reason: 'torn-header', segment: path.basename(previous), offset: start, removedSegments: [path.basename(last)] });
    expect(wal.entries()).toEqual(many.slice(0, lastFirst - 2));
  });
});

/** The error opening the log throws; fails the test when it opens. */
function openError(segmentBytesMax = 64 * 1024): WalError {
  try {
    open(segmentBytesMax);
  } catch (error) {
    if (error instanceof WalError) return error;
    throw error;
  }
  throw new Error('the log opened');
}

function recordBytesInFile(file: string): number {
  const bytes = fs.readFileSync(file);
  let offset = 0;
  while (offset + 4 <= bytes.length && bytes.readUInt32LE(offset) !== 0) offset += bytes.readUInt32LE(offset);
  return offset;
}

describe('a corrupt length', () => {
  it('is rejected without allocating what it claims', async () => {
    await writeLog(log);
    const allocations: number[] = [];
    const allocUnsafe = Buffer.allocUnsafe.bind(Buffer);
    vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((size: number) => {
      allocations.push(size);
      return allocUnsafe(size);
    });
    for (const [length, reason] of [
      [0xffff_fff0, 'bad-length'],
      [walLimits.recordBytesMax + 1, 'bad-length'],
      [walLimits.recordBytesMax, 'torn-record'],
      [3, 'bad-length'],
    ] as const) {
      // In place: reading the whole (preallocated) file back would be an allocation of the test's own.
      const field = Buffer.alloc(4);
      field.writeUInt32LE(length);
      const fd = fs.openSync(lastSegment(), 'r+');
      fs.writeSync(fd, field, 0, 4, lastStart);
      fs.closeSync(fd);
      const { wal, recovery } = open();
      expect(recovery.problem).toMatchObject({ reason, offset: lastStart });
      expect(wal.entries()).toEqual(log.slice(0, -1));
      await wal.close();
      // Put the record back for the next length.
      const restore = openWal({ dir, fsync: false }).wal;
      restore.write(4, log.slice(-1));
      await restore.close();
    }
    expect(allocations.length).toBeGreaterThan(0);
    expect(Math.max(...allocations)).toBeLessThan(2 * walLimits.readChunkBytes);
  });
});

describe('records that do not continue the log', () => {
  it('a stale record left behind a truncation that never reached disk fails the checksum chain', async () => {
    // Old log: 1..4 all term 1. The node truncated from 3 and wrote a new entry 3
    // of term 2 of the same size, then crashed before the ftruncate was durable:
    // the disk holds the new record 3 followed by the old record 4.
    const old = makeEntries({ specs: [1, 1, 1, 1].map((term, i) => ({ term, data: `entry ${i + 1}` })) });
    await writeLog(old);
    const before = fs.readFileSync(lastSegment());
    const { wal } = open();
    const replacement = makeEntries({ from: 3, lsnBefore: old[1]!.lsn, specs: [{ term: 2, data: 'entry 3' }] });
    wal.write(3, replacement);
    await wal.flush();
    await wal.close();
    // The old record 4 right after the new record 3, where it was before the cut zeroed it.
    const damaged = fs.readFileSync(lastSegment());
    before.copy(damaged, replacement[0]!.lsn, old[2]!.lsn, old[3]!.lsn);
    fs.writeFileSync(lastSegment(), damaged);

    const { wal: again, recovery } = open();
    expect(again.entries()).toEqual([...old.slice(0, 2), ...replacement]);
    expect(recovery.problem).toMatchObject({ reason: 'crc-mismatch', index: 4, offset: old[2]!.lsn });
  });

  it('a valid record whose index skips (entries missing before it) is corruption', async () => {
    const entries = makeLog([1, 1]);
    const skipping = { ...makeLog([1, 1, 1])[2]!, index: 4 };
    writeRaw('00000000000000000001.seg', [entries[0]!, entries[1]!, skipping]);
    expect(openError().corruption).toMatchObject({ reason: 'index-gap', index: 3, offset: entries[1]!.lsn, validAfter: { index: 4, offset: entries[1]!.lsn } });
  });

  it('a record whose index goes back (a stale copy of one recovered) is cut as an index gap', async () => {
    const entries = makeLog([1, 1]);
    writeRaw('00000000000000000001.seg', [entries[0]!, entries[1]!, { ...entries[1]!, index: 2 }]);
    const { wal, recovery } = open();
    expect(wal.entries()).toEqual(entries);
    expect(recovery.problem).toMatchObject({ reason: 'index-gap', index: 3, offset: entries[1]!.lsn });
  });

  it('stale records of an older term left behind a truncation are cut, however many there are', async () => {
    // Old log 1..6 in term 1; the node truncated from 3 and wrote entry 3 of term 2; the disk kept old 4..6.
    const old = makeEntries({ specs: [1, 1, 1, 1, 1, 1].map((term, i) => ({ term, data: `entry ${i + 1}` })) });
    const replacement = makeEntries({ from: 3, lsnBefore: old[1]!.lsn, specs: [{ term: 2, data: 'entry 3' }] });
    const disk = Buffer.concat([encodeRecords(old.slice(0, 2)), encodeRecords(replacement, 1), encodeRecords(old.slice(3), 1)]);
    fs.mkdirSync(path.join(dir, 'wal'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'wal', '00000000000000000001.seg'), disk);
    const { wal, recovery } = open();
    expect(wal.entries()).toEqual([...old.slice(0, 2), ...replacement]);
    expect(recovery.problem).toMatchObject({ index: 4, offset: replacement[0]!.lsn });
  });

  it('a record whose term goes back is cut', async () => {
    const entries = makeLog([2, 2, 1]);
    writeRaw('00000000000000000001.seg', entries);
    const { wal, recovery } = open();
    expect(wal.entries()).toEqual(entries.slice(0, 2));
    expect(recovery.problem).toMatchObject({ reason: 'term-decrease', index: 3 });
  });

  it('a missing middle segment is corruption: the entries after the gap are kept on disk', async () => {
    const many = makeLog(Array.from({ length: 20 }, () => 1));
    await writeLog(many, 200);
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(2);
    fs.unlinkSync(files[1]!);
    const error = openError(200);
    expect(error.corruption).toMatchObject({ reason: 'index-gap', segment: path.basename(files[2]!), offset: 0, validAfter: { segment: path.basename(files[2]!), offset: 0 } });
    expect(segmentFiles(dir)).toEqual([files[0], ...files.slice(2)]);
  });

  it('a log whose first segment is not index 1, with no wal/base saying it was compacted, is corruption', async () => {
    writeRaw('00000000000000000005.seg', makeEntries({ from: 5, lsnBefore: 100, specs: [{ term: 1 }] }), 1);
    expect(openError().corruption).toMatchObject({ reason: 'index-gap', index: 1, segment: '00000000000000000005.seg', validAfter: { index: 5 } });
    expect(segmentFiles(dir)).toHaveLength(1);
  });

  it('lastRecordPosition reads past the damage to the last record the log held', async () => {
    const many = makeLog([1, 1, 2, 2, 2, 3, 3, 3, 3, 3]);
    await writeLog(many, 200);
    const files = segmentFiles(dir);
    const bytes = fs.readFileSync(files[0]!);
    bytes[40]! ^= 0xff;
    fs.writeFileSync(files[0]!, bytes);
    expect(lastRecordPosition(fs, path.join(dir, 'wal'))).toEqual({ index: 10, term: 3 });
    expect(lastRecordPosition(fs, path.join(dir, 'nowhere'))).toBeNull();
  });
});

/** A segment built record by record, bypassing the WAL's own checks. */
function writeRaw(name: string, entries: readonly Entry[], previousTerm = 0): void {
  fs.mkdirSync(path.join(dir, 'wal'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'wal', name), encodeRecords(entries, previousTerm));
}

describe('the scan for valid records after a bad one', () => {
  it('is bounded: past its budget it stops and says so, without reading on', () => {
    const entries = makeLog([1, 1, 1, 1]);
    // Record 2 destroyed by 4 KiB of non-zero garbage; records 3 and 4 after it.
    const garbage = Buffer.alloc(4096, 0xa5);
    const bytes = Buffer.concat([encodeRecords(entries.slice(0, 1)), garbage, encodeRecords(entries.slice(2), 1)]);
    fs.mkdirSync(path.join(dir, 'wal'), { recursive: true });
    const file = path.join(dir, 'wal', '00000000000000000001.seg');
    fs.writeFileSync(file, bytes);
    const files = [{ firstIndex: 1, name: path.basename(file), path: file }];
    const from = { fs, files, from: 0, offset: entries[0]!.lsn, indexMin: 3, termMin: 1 };
    expect(findValidRecordAfter({ ...from, budgetBytes: 1024 })).toEqual({ found: null, exhausted: true });
    expect(findValidRecordAfter({ ...from, budgetBytes: 1 << 20 })).toMatchObject({ found: { index: 3, offset: entries[0]!.lsn + 4096 }, exhausted: false });
  });

  it('skips a preallocated segment of zeros after a torn record and finds nothing', () => {
    const entries = makeLog([1, 1]);
    const bytes = Buffer.alloc(walLimits.segmentPreallocatedBytesMax);
    encodeRecords(entries).copy(bytes, 0, 0, entries[1]!.lsn - 7);
    fs.mkdirSync(path.join(dir, 'wal'), { recursive: true });
    const file = path.join(dir, 'wal', '00000000000000000001.seg');
    fs.writeFileSync(file, bytes);
    const files = [{ firstIndex: 1, name: path.basename(file), path: file }];
    expect(findValidRecordAfter({ fs, files, from: 0, offset: entries[0]!.lsn, indexMin: 3, termMin: 1, budgetBytes: walLimits.corruptionScanBytesMax })).toEqual({ found: null, exhausted: false });
  });
});
