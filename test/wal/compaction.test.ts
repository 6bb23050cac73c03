// Compaction: deleting the oldest segments once a snapshot covers them, with
// a retention margin (entries, a slot-like `needed` index, a byte cap), and a
// log that begins after index 1 on every later open.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../cluster/core/index.js';
import { openWal, WalError, type Wal, type WalFs } from '../../cluster/wal/index.js';
import { makeEntries, makeTempDir, recordBytesIn, segmentFiles } from './helpers.js';

let dir: string;
const opened: Wal[] = [];
/** Small segments: a handful of records each. */
const segmentBytesMax = 1000;

function open(options: { fsync?: boolean; fs?: WalFs } = {}) {
  const result = openWal({ dir, fsync: options.fsync ?? false, segmentBytesMax, fs: options.fs });
  opened.push(result.wal);
  return result;
}

async function reopen(wal: Wal, options: { fsync?: boolean; fs?: WalFs } = {}) {
  await wal.flush();
  await wal.close();
  return open(options);
}

/** `count` entries from 1, the term rising every 25. */
function longLog(count: number): Entry[] {
  return makeEntries({ specs: Array.from({ length: count }, (_, i) => ({ term: 1 + Math.floor(i / 25) })) });
}

/** The first index of each segment file on disk. */
function segmentStarts(): number[] {
  return segmentFiles(dir).map((file) => Number(path.basename(file, '.seg')));
}

beforeEach(() => {
  dir = makeTempDir();
});

afterEach(async () => {
  for (const wal of opened.splice(0)) await wal.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('compact', () => {
  it('deletes only segments wholly below the snapshot and the margin, and the log reopens from there', async () => {
    const log = longLog(200);
    const { wal } = open();
    wal.write(1, log);
    await wal.flush();
    const before = segmentStarts();
    expect(before.length).toBeGreaterThan(10);
    const result = wal.compact({ snapshotIndex: 150, retainEntries: 40, retainBytes: Number.POSITIVE_INFINITY });
    const after = segmentStarts();
    // The first segment kept holds index 111 (150 - 40 + 1) or starts below it; every deleted one ended below 111.
    expect(after[0]).toBe(result.firstIndex);
    expect(result.firstIndex).toBeLessThanOrEqual(111);
    const nextAfterFirstKept = before[before.indexOf(result.firstIndex) + 1]!;
    expect(nextAfterFirstKept).toBeGreaterThan(111);
    expect(result.removedSegments).toBe(before.indexOf(result.firstIndex));
    expect(result.retainedBytes).toBe(segmentFiles(dir).reduce((sum, file) => sum + recordBytesIn(file), 0));
    expect(result.retainedBytes).toBe(log.at(-1)!.lsn - log[result.firstIndex - 2]!.lsn);
    expect(wal.retainedBytes()).toBe(result.retainedBytes);
    expect(result.removedBytes).toBe(log[result.firstIndex - 2]!.lsn);
    expect(wal.firstIndex()).toBe(result.firstIndex);
    expect(wal.entries()).toEqual(log.slice(result.firstIndex - 1));
    expect(() => wal.entries(1, 5)).toThrow(expect.objectContaining({ name: 'WalError', code: 'compacted' }));
    expect(wal.termAt(result.firstIndex - 1)).toBe(log[result.firstIndex - 2]!.term);
    expect(wal.termAt(1)).toBe(-1);

    const { wal: again, recovery, entries, base, removedBelowBase } = await reopen(wal);
    expect(base).toEqual({ index: result.firstIndex - 1, term: log[result.firstIndex - 2]!.term, lsn: log[result.firstIndex - 2]!.lsn });
    expect(removedBelowBase).toEqual([]);
    expect(recovery.problem).toBeNull();
    expect(recovery.lastIndex).toBe(200);
    expect(entries).toEqual(log.slice(result.firstIndex - 1));
    expect(again.firstIndex()).toBe(result.firstIndex);
    expect(again.lastTerm()).toBe(log.at(-1)!.term);
    expect(again.entries(180, 190)).toEqual(log.slice(179, 189));
  });

  it('keeps taking writes and truncations after a compaction, across a reopen', async () => {
    const log = longLog(120);
    const { wal } = open();
    wal.write(1, log);
    const { firstIndex } = wal.compact({ snapshotIndex: 100, retainEntries: 0, retainBytes: Number.POSITIVE_INFINITY });
    expect(firstIndex).toBeGreaterThan(50);
    const more = makeEntries({ from: 121, lsnBefore: log.at(-1)!.lsn, specs: Array.from({ length: 30 }, () => ({ term: 9 })) });
    wal.write(121, more);
    const { wal: again } = await reopen(wal);
    expect(again.entries()).toEqual([...log, ...more].slice(firstIndex - 1));
    // A conflicting suffix from 110 on (above the snapshot) replaces the old one.
    const replaced = makeEntries({ from: 110, lsnBefore: log[108]!.lsn, specs: Array.from({ length: 5 }, () => ({ term: 12 })) });
    again.write(110, replaced);
    const { wal: third } = await reopen(again);
    expect(third.lastIndex()).toBe(114);
    expect(third.entries()).toEqual([...log.slice(firstIndex - 1, 109), ...replaced]);
    // Below the first index nothing is rewritten.
    expect(() => third.write(firstIndex - 1, [])).toThrow(expect.objectContaining({ name: 'WalError', code: 'compacted' }));
  });

  it('never deletes the segment holding the snapshot index or anything after it, whatever the byte cap', async () => {
    const log = longLog(200);
    const { wal } = open();
    wal.write(1, log);
    const result = wal.compact({ snapshotIndex: 60, retainEntries: 1000, retainBytes: 0 });
    expect(result.firstIndex).toBeLessThanOrEqual(60);
    const starts = segmentStarts();
    expect(starts[1]).toBeGreaterThan(60);
    expect(wal.entries(60, 61)).toEqual([log[59]]);
  });

  it('the byte cap wins over the margin: like max_slot_wal_keep_size, the WAL kept stays under it where the snapshot allows', async () => {
    const log = longLog(300);
    const { wal } = open();
    wal.write(1, log);
    const retainBytes = 5_000;
    const before = segmentStarts();
    const result = wal.compact({ snapshotIndex: 290, retainEntries: 250, retainBytes });
    expect(result.retainedBytes).toBeLessThanOrEqual(retainBytes);
    // It deleted no more than the cap asked: keeping the last segment it deleted would have passed the cap.
    const lastDeleted = before[before.indexOf(result.firstIndex) - 1]!;
    expect(log.at(-1)!.lsn - (lastDeleted === 1 ? 0 : log[lastDeleted - 2]!.lsn)).toBeGreaterThan(retainBytes);
    // Without the cap, the margin keeps far more.
    const { wal: other } = await reopen(wal);
    const uncapped = other.compact({ snapshotIndex: 290, retainEntries: 250, retainBytes: Number.POSITIVE_INFINITY });
    expect(uncapped.removedSegments).toBe(0);
  });

  it('compactionPoint says where compact will cut, deleting nothing, so a host can tell its core first', () => {
    const log = longLog(300);
    const { wal } = open();
    wal.write(1, log);
    const options = { snapshotIndex: 290, retainEntries: 0, retainBytes: 3_000, needed: 120 };
    const before = segmentStarts();
    const point = wal.compactionPoint(options);
    expect(segmentStarts()).toEqual(before);
    expect(wal.firstIndex()).toBe(1);
    expect(point).toBeGreaterThan(120);
    expect(wal.compact(options).firstIndex).toBe(point);
    expect(wal.compactionPoint(options)).toBe(point);
  });

  it('keeps what a follower still needs (a slot) unless that passes the byte cap', async () => {
    const log = longLog(300);
    const { wal } = open();
    wal.write(1, log);
    const slot = wal.compact({ snapshotIndex: 290, retainEntries: 0, retainBytes: Number.POSITIVE_INFINITY, needed: 120 });
    expect(slot.firstIndex).toBeLessThanOrEqual(120);
    expect(slot.firstIndex).toBeGreaterThan(100);
    const capped = wal.compact({ snapshotIndex: 290, retainEntries: 0, retainBytes: 3_000, needed: 120 });
    expect(capped.firstIndex).toBeGreaterThan(120);
    expect(capped.retainedBytes).toBeLessThanOrEqual(3_000);
  });

  it('with fsync on and a flush in flight, the deleted segments are never synced again and the log reopens', async () => {
    const log = longLog(200);
    const { wal } = open({ fsync: true });
    wal.write(1, log.slice(0, 150));
    const inFlight = wal.flush();
    wal.write(151, log.slice(150));
    const result = wal.compact({ snapshotIndex: 140, retainEntries: 10, retainBytes: Number.POSITIVE_INFINITY });
    expect(result.removedSegments).toBeGreaterThan(0);
    expect(await inFlight).toEqual({ index: 150, term: log[149]!.term });
    expect(await wal.flush()).toEqual({ index: 200, term: log[199]!.term });
    const { wal: again, entries } = await reopen(wal, { fsync: true });
    expect(entries).toEqual(log.slice(result.firstIndex - 1));
    expect(again.retainedBytes()).toBe(result.retainedBytes);
  });

  it('does nothing when nothing is below the snapshot, and refuses a snapshot past the log', () => {
    const log = longLog(50);
    const { wal } = open();
    wal.write(1, log);
    expect(wal.compact({ snapshotIndex: 0, retainEntries: 0, retainBytes: 0 })).toMatchObject({ firstIndex: 1, removedSegments: 0, removedBytes: 0 });
    expect(fs.existsSync(path.join(dir, 'wal', 'base'))).toBe(false);
    expect(() => wal.compact({ snapshotIndex: 51, retainEntries: 0, retainBytes: 0 })).toThrow(/snapshot index 51/);
  });
});

describe('a crash during compaction', () => {
  it('after the base is saved but before the segments are gone: open deletes them and says so', async () => {
    const log = longLog(200);
    let failUnlinks = false;
    const failing: WalFs = {
      ...fs,
      unlinkSync: (file: fs.PathLike) => {
        if (failUnlinks && String(file).endsWith('.seg')) throw Object.assign(new Error('simulated crash'), { code: 'EIO' });
        fs.unlinkSync(file);
      },
    };
    const { wal } = open({ fs: failing });
    wal.write(1, log);
    await wal.flush();
    const before = segmentStarts();
    failUnlinks = true;
    expect(() => wal.compact({ snapshotIndex: 150, retainEntries: 0, retainBytes: Number.POSITIVE_INFINITY })).toThrow('simulated crash');
    expect(segmentStarts()).toEqual(before);
    opened.pop();
    const { wal: again, base, removedBelowBase, entries, recovery } = open({ fsync: true });
    expect(removedBelowBase.length).toBeGreaterThan(0);
    expect(segmentStarts()[0]).toBe(base.index + 1);
    expect(entries).toEqual(log.slice(base.index));
    expect(recovery.problem).toBeNull();
    expect(again.lastIndex()).toBe(200);
  });

  it('a base file that is not JSON or not a position stops the open, loudly', () => {
    const { wal } = open();
    wal.write(1, longLog(10));
    fs.writeFileSync(path.join(dir, 'wal', 'base'), '{"index":5,"term":1}');
    expect(() => open()).toThrow(expect.objectContaining({ name: 'WalError', code: 'corrupt-meta' }));
    fs.writeFileSync(path.join(dir, 'wal', 'base'), 'garbage');
    expect(() => open()).toThrow(WalError);
  });
});

describe('restartAfter (a snapshot the log does not match)', () => {
  it('empties the log, which then begins after the snapshot, durably', async () => {
    const log = longLog(80);
    const { wal } = open({ fsync: true });
    wal.write(1, log);
    await wal.flush();
    const snapshot = { index: 500, term: 7, lsn: 64_000 };
    wal.restartAfter(snapshot);
    expect(segmentFiles(dir)).toEqual([]);
    expect(wal.lastIndex()).toBe(500);
    expect(wal.lastTerm()).toBe(7);
    expect(wal.firstIndex()).toBe(501);
    expect(wal.entries()).toEqual([]);
    const after = makeEntries({ from: 501, lsnBefore: snapshot.lsn, specs: [{ term: 7 }, { term: 8 }, { term: 8 }] });
    wal.write(501, after);
    expect(await wal.flush()).toEqual({ index: 503, term: 8 });
    const { wal: again, entries, base } = await reopen(wal, { fsync: true });
    expect(base).toEqual(snapshot);
    expect(entries).toEqual(after);
    expect(again.firstIndex()).toBe(501);
  });

  it('a crash after the base is saved leaves no old record readable after it unless its chain matches the base', async () => {
    // The old log had entries 1..80 in term 1..4; the snapshot is at 40 in term 9, which it does not match.
    const log = longLog(80);
    let failUnlinks = false;
    const failing: WalFs = {
      ...fs,
      unlinkSync: (file: fs.PathLike) => {
        if (failUnlinks) throw Object.assign(new Error('simulated crash'), { code: 'EIO' });
        fs.unlinkSync(file);
      },
    };
    const { wal } = open({ fs: failing });
    wal.write(1, log);
    await wal.flush();
    failUnlinks = true;
    expect(() => wal.restartAfter({ index: 40, term: 9, lsn: log[39]!.lsn })).toThrow('simulated crash');
    opened.pop();
    const { wal: again, entries, recovery } = open();
    expect(entries).toEqual([]);
    expect(again.lastIndex()).toBe(40);
    expect(again.lastTerm()).toBe(9);
    // A segment starting at 41 would have failed its chained checksum; one starting elsewhere is an index gap.
    expect(recovery.problem === null || ['crc-mismatch', 'index-gap'].includes(recovery.problem.reason)).toBe(true);
    expect(segmentFiles(dir).every((file) => recordBytesIn(file) === 0)).toBe(true);
  });
});
