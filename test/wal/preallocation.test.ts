// Preallocated segments: with fsync on, a segment is zero-filled before its
// first record, so its size never says where the log ends. Recovery must take
// zeros after the last record as a clean end, and anything else there as
// damage; a cut must leave zeros, never an old record, behind.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../cluster/core/index.js';
import { openWal, WalError, walLimits, type Recovery, type Wal, type WalFs } from '../../cluster/wal/index.js';
import { encodeRecords, logBytes, makeEntries, makeLog, makeTempDir, recordBytesIn, sampleLog, segmentFiles } from './helpers.js';

let dir: string;
const opened: Wal[] = [];

/** A small preallocation, so a test can read whole files. */
const segmentBytes = 4096;

function open(options: { fsync?: boolean; segmentBytesMax?: number } = {}): { wal: Wal; recovery: Recovery } {
  const result = openWal({ dir, fsync: options.fsync ?? true, segmentBytesMax: options.segmentBytesMax ?? segmentBytes });
  opened.push(result.wal);
  return result;
}

/** Writes `log` durably and closes. */
async function writeLog(log: readonly Entry[], options: { fsync?: boolean } = {}): Promise<void> {
  const { wal } = open(options);
  wal.write(1, log);
  await wal.flush();
  await wal.close();
}

function lastSegment(): string {
  return segmentFiles(dir).at(-1)!;
}

/** Rewrites bytes of the last segment in place, keeping its size. */
function patch(at: number, bytes: Uint8Array): void {
  const fd = fs.openSync(lastSegment(), 'r+');
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    fs.closeSync(fd);
  }
}

function zerosFrom(file: string, from: number): boolean {
  return fs.readFileSync(file).subarray(from).every((byte) => byte === 0);
}

beforeEach(() => {
  dir = makeTempDir();
});

afterEach(async () => {
  for (const wal of opened.splice(0)) await wal.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const log = sampleLog;
const lastStart = log.at(-2)!.lsn;
const lastEnd = log.at(-1)!.lsn;

describe('a preallocated segment', () => {
  it('is zero-filled to the preallocated size, and appends never change its size', async () => {
    const { wal } = open();
    wal.write(1, log.slice(0, 2));
    expect(fs.statSync(lastSegment()).size).toBe(segmentBytes);
    await wal.flush();
    wal.write(3, log.slice(2));
    await wal.flush();
    expect(fs.statSync(lastSegment()).size).toBe(segmentBytes);
    expect(recordBytesIn(lastSegment())).toBe(lastEnd);
    expect(zerosFrom(lastSegment(), lastEnd)).toBe(true);
    expect(wal.entries()).toEqual(log);
  });

  it('of the default size is segmentPreallocatedBytesMax long', async () => {
    const { wal } = openWal({ dir, fsync: true });
    opened.push(wal);
    wal.write(1, log);
    await wal.flush();
    expect(walLimits.segmentPreallocatedBytesMax).toBeLessThanOrEqual(walLimits.segmentBytesMaxDefault);
    expect(fs.statSync(lastSegment()).size).toBe(walLimits.segmentPreallocatedBytesMax);
  });

  it('with records then zeros recovers cleanly, its bytes the records only', async () => {
    await writeLog(log);
    const { wal, recovery } = open();
    expect(recovery).toEqual({ segments: 1, records: 4, lastIndex: 4, truncatedBytes: 0, problem: null });
    expect(wal.entries()).toEqual(log);
    // New records go right after the old ones, not after the padding.
    const next = makeEntries({ from: 5, lsnBefore: lastEnd, specs: [{ term: 3, data: 'five' }] });
    wal.write(5, next);
    const { wal: again, recovery: second } = open();
    expect(second.problem).toBeNull();
    expect(again.entries()).toEqual([...log, ...next]);
    expect(recordBytesIn(lastSegment())).toBe(next[0]!.lsn);
  });

  it('whose padding is shorter than a record header, or than a length field, still ends cleanly', () => {
    for (const padding of [1, 3, 4, walLimits.recordHeaderBytes - 1]) {
      fs.mkdirSync(path.join(dir, 'wal'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'wal', '00000000000000000001.seg'), Buffer.concat([encodeRecords(log), Buffer.alloc(padding)]));
      const { wal, recovery } = open();
      expect(recovery.problem, `${padding} zeros`).toBeNull();
      expect(wal.entries()).toEqual(log);
    }
  });
});

describe('damage after the last record of a preallocated segment', () => {
  it('a torn record followed by zeros is reported and cut, at every length it was torn to', async () => {
    await writeLog(log);
    const whole = fs.readFileSync(lastSegment());
    for (let written = 1; written < lastEnd - lastStart; written++) {
      // The first `written` bytes of the last record reached the disk; the rest is still the zeros of the fill.
      const torn = Buffer.from(whole);
      torn.fill(0, lastStart + written, lastEnd);
      fs.writeFileSync(lastSegment(), torn);
      const { wal, recovery } = open();
      expect(wal.entries(), `${written} bytes written`).toEqual(log.slice(0, -1));
      expect(recovery.problem).toMatchObject({ offset: lastStart, index: 4, removedSegments: [] });
      expect(recovery.problem?.reason).toMatch(/^(crc-mismatch|bad-length|torn-record)$/);
      // The torn bytes are counted, the padding is not.
      expect(recovery.truncatedBytes).toBeGreaterThan(0);
      expect(recovery.truncatedBytes).toBeLessThanOrEqual(written);
      // The cut left the file its size, zeros from the cut on.
      expect(fs.statSync(lastSegment()).size).toBe(segmentBytes);
      expect(zerosFrom(lastSegment(), lastStart)).toBe(true);
      await wal.close();
    }
    const { recovery } = open();
    expect(recovery.problem).toBeNull();
  });

  it('a flipped byte anywhere in the zeros is reported as corrupt and cut, keeping every record', async () => {
    await writeLog(log);
    for (const at of [lastEnd + walLimits.recordHeaderBytes + 5, lastEnd + 1000, segmentBytes - 1]) {
      patch(at, Buffer.from([0x20]));
      const { wal, recovery } = open();
      expect(recovery.problem, `byte ${at}`).toEqual({ segment: path.basename(lastSegment()), offset: lastEnd, index: 5, reason: 'nonzero-tail', removedSegments: [] });
      expect(recovery.truncatedBytes).toBe(at + 1 - lastEnd);
      expect(wal.entries()).toEqual(log);
      expect(zerosFrom(lastSegment(), lastEnd)).toBe(true);
      await wal.close();
    }
  });

  it('a flipped byte where the next length field would be is reported and cut', async () => {
    await writeLog(log);
    patch(lastEnd, Buffer.from([0x01]));
    const { wal, recovery } = open();
    expect(recovery.problem).toMatchObject({ offset: lastEnd, index: 5, reason: 'bad-length' });
    expect(wal.entries()).toEqual(log);
  });

  it('zeros over a record in the middle are not an end: the records after them make it corruption', async () => {
    await writeLog(log);
    const secondStart = log[0]!.lsn;
    patch(secondStart, Buffer.alloc(log[1]!.lsn - secondStart));
    let error: unknown = null;
    try {
      open();
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(WalError);
    expect((error as WalError).corruption).toMatchObject({ offset: secondStart, index: 2, reason: 'nonzero-tail', validAfter: { index: 3, offset: log[1]!.lsn } });
  });
});

describe('cutting a preallocated segment', () => {
  const ten = makeEntries({ specs: Array.from({ length: 10 }, (_, i) => ({ term: 1, data: `entry ${i + 1} of the first term` })) });

  it('leaves zeros after the new records, so no old record comes back on reopen', async () => {
    const { wal } = open();
    wal.write(1, ten);
    await wal.flush();
    const replacement = makeEntries({ from: 6, lsnBefore: ten[4]!.lsn, specs: [{ term: 2, data: 'six' }] });
    wal.write(6, replacement);
    await wal.flush();
    await wal.close();
    expect(fs.statSync(lastSegment()).size).toBe(segmentBytes);
    expect(zerosFrom(lastSegment(), replacement[0]!.lsn)).toBe(true);
    const { wal: again, recovery } = open();
    expect(recovery.problem).toBeNull();
    expect(again.entries()).toEqual([...ten.slice(0, 5), ...replacement]);
  });

  it('to nothing but a suffix drop, then reopen, gives the shorter log', async () => {
    const { wal } = open();
    wal.write(1, ten);
    wal.write(4, []);
    expect(wal.entries()).toEqual(ten.slice(0, 3));
    await wal.flush();
    await wal.close();
    expect(zerosFrom(lastSegment(), ten[2]!.lsn)).toBe(true);
    const { wal: again, recovery } = open();
    expect(recovery).toMatchObject({ records: 3, truncatedBytes: 0, problem: null });
    expect(again.entries()).toEqual(ten.slice(0, 3));
  });

  it('across segments deletes the later ones and zeros the rest of the one it keeps', async () => {
    const many = makeLog(Array.from({ length: 60 }, () => 1));
    const { wal } = open({ segmentBytesMax: 1024 });
    wal.write(1, many);
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    const firstOfSecond = Number(path.basename(files[1]!, '.seg'));
    const cutAt = firstOfSecond + 2;
    const replacement = makeEntries({ from: cutAt, lsnBefore: many[cutAt - 2]!.lsn, specs: [{ term: 2 }] });
    wal.write(cutAt, replacement);
    await wal.flush();
    await wal.close();
    expect(segmentFiles(dir)).toEqual(files.slice(0, 2));
    const kept = files[1]!;
    const recordEnd = replacement[0]!.lsn - many[firstOfSecond - 2]!.lsn;
    expect(recordBytesIn(kept)).toBe(recordEnd);
    expect(zerosFrom(kept, recordEnd)).toBe(true);
    const { wal: again, recovery } = open({ segmentBytesMax: 1024 });
    expect(recovery.problem).toBeNull();
    expect(again.entries()).toEqual([...many.slice(0, cutAt - 1), ...replacement]);
  });
});

describe('rolling', () => {
  it('starts each new segment preallocated, and reads and recovers across them by their records only', async () => {
    const many = makeLog(Array.from({ length: 80 }, (_, i) => 1 + Math.floor(i / 20)));
    const { wal } = open({ segmentBytesMax: 1024 });
    for (let i = 0; i < many.length; i += 7) wal.write(i + 1, many.slice(i, i + 7));
    await wal.flush();
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      expect(fs.statSync(file).size).toBe(1024);
      expect(zerosFrom(file, recordBytesIn(file))).toBe(true);
    }
    expect(logBytes(dir)).toBe(many.at(-1)!.lsn);
    expect(wal.entries(30, 60)).toEqual(many.slice(29, 59));
    await wal.close();
    const { wal: again, recovery } = open({ segmentBytesMax: 1024 });
    expect(recovery).toEqual({ segments: files.length, records: 80, lastIndex: 80, truncatedBytes: 0, problem: null });
    expect(again.entries()).toEqual(many);
  });

  it('lets a record larger than the preallocation grow its segment', async () => {
    const big = makeEntries({ specs: [{ term: 1, data: 'a' }, { term: 1, data: 'b'.repeat(2000) }, { term: 1, data: 'c' }] });
    const { wal } = open({ segmentBytesMax: 1024 });
    wal.write(1, big);
    await wal.flush();
    const sizes = segmentFiles(dir).map((file) => fs.statSync(file).size);
    expect(sizes).toEqual([1024, big[1]!.lsn - big[0]!.lsn, 1024]);
    await wal.close();
    expect(open({ segmentBytesMax: 1024 }).wal.entries()).toEqual(big);
  });
});

describe('fsync: false', () => {
  it('writes no padding, and its files recover and take appends with fsync on, which pads them', async () => {
    await writeLog(log.slice(0, 2), { fsync: false });
    expect(fs.statSync(lastSegment()).size).toBe(log[1]!.lsn);
    const { wal, recovery } = open();
    expect(recovery.problem).toBeNull();
    wal.write(3, log.slice(2));
    expect(fs.statSync(lastSegment()).size).toBe(segmentBytes);
    await wal.flush();
    await wal.close();
    const { wal: again, recovery: second } = open();
    expect(second.problem).toBeNull();
    expect(again.entries()).toEqual(log);
  });

  it('reads a preallocated log, appends into its padding and truncates it', async () => {
    await writeLog(log);
    const { wal, recovery } = open({ fsync: false });
    expect(recovery.problem).toBeNull();
    expect(wal.entries()).toEqual(log);
    wal.write(4, makeEntries({ from: 4, lsnBefore: lastStart, specs: [{ term: 3, data: 'replaced' }] }));
    const next = makeEntries({ from: 5, lsnBefore: wal.entries(4, 5)[0]!.lsn, specs: [{ term: 3, data: 'five' }] });
    wal.write(5, next);
    await wal.flush();
    wal.write(5, []);
    await wal.flush();
    await wal.close();
    const { wal: again, recovery: second } = open({ fsync: false });
    expect(second.problem).toBeNull();
    expect(again.lastIndex()).toBe(4);
    expect(again.entries(4, 5)[0]).toMatchObject({ term: 3, data: 'replaced' });
  });
});

describe('filling the next segment ahead of time', () => {
  /** Preallocations from segmentFillAheadBytesMin up are filled ahead; 2 MiB segments keep the test small. */
  const bigSegment = 2 * 1024 * 1024;
  const spare = () => path.join(dir, 'wal', 'next-segment.tmp');

  /** `count` entries of about 100 KiB continuing `wal`'s log. */
  function bigEntries(wal: Wal, count: number): Entry[] {
    const from = wal.lastIndex() + 1;
    const lsnBefore = wal.entries(from - 1, from)[0]?.lsn ?? 0;
    return makeEntries({ from, lsnBefore, specs: Array.from({ length: count }, (_, i) => ({ term: 1, data: `${from + i}:`.padEnd(100 * 1024, 'x') })) });
  }

  /** node:fs that tells when the spare file's fdatasync has completed. */
  function watchingFs(): { fs: WalFs; spareSynced: Promise<void> } {
    let spareFd = -1;
    let synced: () => void = () => {};
    const spareSynced = new Promise<void>((resolve) => (synced = resolve));
    const watching: WalFs = {
      ...fs,
      openSync: ((file: fs.PathLike, flags: fs.OpenMode = 'r', mode?: fs.Mode) => {
        const fd = fs.openSync(file, flags, mode);
        if (String(file).endsWith('next-segment.tmp')) spareFd = fd;
        return fd;
      }) as typeof fs.openSync,
      fdatasync: ((fd: number, callback: fs.NoParamCallback) =>
        fs.fdatasync(fd, (error) => {
          callback(error);
          if (fd === spareFd) synced();
        })) as typeof fs.fdatasync,
    };
    return { fs: watching, spareSynced };
  }

  it('a roll takes the spare filled while the current segment filled up, without filling inline', async () => {
    const watched = watchingFs();
    const { wal } = openWal({ dir, fsync: true, segmentBytesMax: bigSegment, fs: watched.fs });
    opened.push(wal);
    const first = bigEntries(wal, 11);
    wal.write(1, first);
    expect(wal.stats()).toMatchObject({ segmentFillsInline: 1, segmentFillsAhead: 0 });
    await watched.spareSynced;
    // Let the fill's own continuation mark the spare ready.
    await new Promise((resolve) => setImmediate(resolve));
    const rest = bigEntries(wal, 15);
    wal.write(12, rest);
    expect(wal.stats()).toMatchObject({ segments: 2, segmentFillsInline: 1, segmentFillsAhead: 1 });
    expect(fs.existsSync(spare())).toBe(false);
    const files = segmentFiles(dir);
    expect(files.map((file) => fs.statSync(file).size)).toEqual([bigSegment, bigSegment]);
    expect(zerosFrom(files[1]!, recordBytesIn(files[1]!))).toBe(true);
    await wal.flush();
    await wal.close();
    const { wal: again, recovery } = open({ segmentBytesMax: bigSegment });
    expect(recovery).toMatchObject({ segments: 2, records: 26, truncatedBytes: 0, problem: null });
    expect(again.entries()).toEqual([...first, ...rest]);
  });

  it('a roll that finds no spare ready fills inline; close waits for the spare and removes it', async () => {
    const { wal } = open({ segmentBytesMax: bigSegment });
    const log = bigEntries(wal, 50);
    wal.write(1, log);
    expect(wal.stats()).toMatchObject({ segments: 3, segmentFillsInline: 3, segmentFillsAhead: 0 });
    await wal.flush();
    await wal.close();
    expect(fs.existsSync(spare())).toBe(false);
    expect(open({ segmentBytesMax: bigSegment }).wal.entries()).toEqual(log);
  });

  it('a spare left by a crashed process is removed on open and never read as a segment', async () => {
    await writeLog(log);
    fs.writeFileSync(spare(), 'half filled');
    const { wal, recovery } = open();
    expect(fs.existsSync(spare())).toBe(false);
    expect(recovery.problem).toBeNull();
    expect(wal.entries()).toEqual(log);
  });

  it('a spare whose fill fails is dropped, and rolls fill inline', async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const failing: WalFs = {
      ...fs,
      write: ((...args: unknown[]) => {
        const callback = args.at(-1) as (error: Error) => void;
        setImmediate(() => callback(full));
      }) as unknown as typeof fs.write,
    };
    const { wal } = openWal({ dir, fsync: true, segmentBytesMax: bigSegment, fs: failing });
    opened.push(wal);
    const first = bigEntries(wal, 11);
    wal.write(1, first);
    for (let i = 0; i < 100 && fs.existsSync(spare()); i++) await new Promise((resolve) => setImmediate(resolve));
    expect(fs.existsSync(spare())).toBe(false);
    const rest = bigEntries(wal, 15);
    wal.write(12, rest);
    expect(wal.stats()).toMatchObject({ segments: 2, segmentFillsInline: 2, segmentFillsAhead: 0 });
    await wal.flush();
    expect(wal.entries()).toEqual([...first, ...rest]);
  });
});
