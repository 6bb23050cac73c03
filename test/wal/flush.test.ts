import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../../cluster/wal/group-commit.js';
import { openWal, WalError, type Wal, type WalFs } from '../../cluster/wal/index.js';
import { countingFs, makeEntries, makeLog, makeTempDir } from './helpers.js';

let dir: string;
const opened: Wal[] = [];

function open(options: { fs?: WalFs; fsync?: boolean; segmentBytesMax?: number } = {}): Wal {
  const { wal } = openWal({ dir, fsync: options.fsync ?? true, fs: options.fs, segmentBytesMax: options.segmentBytesMax });
  opened.push(wal);
  return wal;
}

beforeEach(() => {
  dir = makeTempDir();
});

afterEach(async () => {
  for (const wal of opened.splice(0)) await wal.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Entries `from`..`to` of term `term`, continuing `wal`'s log. */
function next(wal: Wal, count: number, term: number) {
  const from = wal.lastIndex() + 1;
  const entries = makeEntries({ from, lsnBefore: wal.entries(from - 1, from)[0]?.lsn ?? 0, specs: Array.from({ length: count }, () => ({ term })) });
  wal.write(from, entries);
  return entries;
}

describe('group commit', () => {
  it('many writes, then concurrent flushes: at most two fsyncs, each caller told the right (index, term)', async () => {
    const { fs: countedFs, counts } = countingFs();
    const wal = open({ fs: countedFs });
    next(wal, 1, 1);
    await wal.flush(); // creates the segment and syncs the directory once
    const base = { ...counts };

    for (let i = 0; i < 100; i++) next(wal, 3, 1 + Math.floor(i / 50));
    const results = await Promise.all(Array.from({ length: 10 }, () => wal.flush()));
    const fsyncs = counts.fdatasync + counts.fsync - base.fdatasync - base.fsync;
    expect(fsyncs).toBeGreaterThanOrEqual(1);
    expect(fsyncs).toBeLessThanOrEqual(2);
    expect(results).toEqual(Array.from({ length: 10 }, () => ({ index: 301, term: 2 })));
  });

  it('counts the time its fsyncs take, as pg_stat_wal does (wal_sync, wal_sync_time)', async () => {
    const holdMs = 30;
    const { fs: slowFs } = countingFs(() => new Promise((resolve) => setTimeout(() => resolve(null), holdMs)));
    const wal = open({ fs: slowFs });
    expect(wal.stats()).toMatchObject({ fsyncs: 0, fsyncMs: 0 });
    next(wal, 3, 1);
    await wal.flush(); // the new segment's fdatasync and the directory's fsync, each held
    next(wal, 3, 1);
    await wal.flush(); // the segment alone
    const { fsyncs, fsyncMs } = wal.stats();
    expect(fsyncs).toBe(3);
    // setTimeout may fire up to a millisecond early; the round also includes the real syncs.
    expect(fsyncMs).toBeGreaterThanOrEqual(3 * (holdMs - 1));
    expect(fsyncMs).toBeLessThan(60_000);
  });

  it('one fsync in flight and one queued: later writes join the queued flush', async () => {
    let release: () => void = () => {};
    const { fs: countedFs, counts } = countingFs(() => new Promise((resolve) => (release = () => resolve(null))));
    const wal = open({ fs: countedFs });
    next(wal, 5, 1);
    const first = wal.flush();
    next(wal, 5, 1);
    const second = wal.flush();
    const third = wal.flush();
    next(wal, 5, 2);
    const fourth = wal.flush();
    expect(third).toBe(second);
    expect(fourth).toBe(second);
    const settled: string[] = [];
    void first.then(() => settled.push('first'));
    void second.then(() => settled.push('second'));

    // Keep releasing syncs until every flush is done; count the rounds.
    const rounds = new Set<number>();
    while (settled.length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      rounds.add(wal.stats().flushes);
      release();
    }
    expect(await first).toEqual({ index: 5, term: 1 });
    expect(await second).toEqual({ index: 15, term: 2 });
    expect(settled).toEqual(['first', 'second']);
    expect(wal.stats().flushes).toBe(2);
    // Round one syncs the new segment and the directory that now lists it; round two the segment only.
    expect(counts.fdatasync).toBe(2);
    expect(counts.fsync).toBe(1);
    expect(wal.stats().fsyncs).toBe(3);
  });

  it('a flush with nothing new to sync answers at once without an fsync', async () => {
    const { fs: countedFs, counts } = countingFs();
    const wal = open({ fs: countedFs });
    expect(await wal.flush()).toBeNull();
    next(wal, 2, 4);
    await wal.flush();
    const syncs = counts.fdatasync + counts.fsync;
    expect(await wal.flush()).toEqual({ index: 2, term: 4 });
    expect(counts.fdatasync + counts.fsync).toBe(syncs);
  });

  it('a flush made durable before a truncation reports only what survived the truncation', async () => {
    let release: () => void = () => {};
    const { fs: countedFs } = countingFs(() => new Promise((resolve) => (release = () => resolve(null))));
    const wal = open({ fs: countedFs });
    const written = next(wal, 10, 1);
    const inFlight = wal.flush();
    // A new leader replaces entries 6.. while the fsync of 1..10 is running.
    wal.write(6, makeEntries({ from: 6, lsnBefore: written[4]!.lsn, specs: [{ term: 2 }] }));
    const behind = wal.flush();
    while ((await Promise.race([inFlight.then(() => 'done'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 5))])) === 'waiting') release();
    expect(await inFlight).toEqual({ index: 5, term: 1 });
    while ((await Promise.race([behind.then(() => 'done'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 5))])) === 'waiting') release();
    expect(await behind).toEqual({ index: 6, term: 2 });
  });

  it('does not block the event loop while the disk syncs', async () => {
    const { fs: countedFs } = countingFs(() => new Promise((resolve) => setTimeout(() => resolve(null), 30)));
    const wal = open({ fs: countedFs });
    next(wal, 3, 1);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await wal.flush();
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
  });

  it('a failed fsync fails the flush and every later write: the node must restart and recover', async () => {
    const failure = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const { fs: countedFs } = countingFs((kind) => (kind === 'fdatasync' ? failure : null));
    const wal = open({ fs: countedFs });
    next(wal, 2, 1);
    await expect(wal.flush()).rejects.toMatchObject({ name: 'WalError', code: 'failed' });
    expect(() => next(wal, 1, 1)).toThrow(WalError);
    await expect(wal.flush()).rejects.toMatchObject({ code: 'failed' });
    expect(() => wal.saveHardState({ term: 2, vote: null })).toThrow(expect.objectContaining({ code: 'failed' }));
  });

  it('syncs a rolled segment as well as the current one', async () => {
    const synced = new Set<number>();
    const { fs: countedFs } = countingFs((kind, fd) => {
      if (kind === 'fdatasync') synced.add(fd);
      return null;
    });
    const wal = open({ fs: countedFs, segmentBytesMax: 300 });
    next(wal, 20, 1);
    expect(wal.stats().segments).toBeGreaterThan(2);
    expect(await wal.flush()).toEqual({ index: 20, term: 1 });
    expect(synced.size).toBe(wal.stats().segments);
  });
});

describe('fsync: false', () => {
  it('never syncs, still flushes in order, and what it wrote survives a clean restart', async () => {
    const { fs: countedFs, counts } = countingFs();
    const wal = open({ fs: countedFs, fsync: false });
    wal.saveHardState({ term: 3, vote: 'n1' });
    const log = next(wal, 50, 3);
    const results = await Promise.all([wal.flush(), wal.flush(), wal.flush()]);
    expect(results).toEqual([{ index: 50, term: 3 }, { index: 50, term: 3 }, { index: 50, term: 3 }]);
    expect(counts).toEqual({ fdatasync: 0, fsync: 0, fdatasyncSync: 0, fsyncSync: 0 });
    expect(wal.stats()).toMatchObject({ fsyncs: 0, fsyncMs: 0 });
    await wal.close();
    const again = open({ fsync: false });
    expect(again.entries()).toEqual(log);
    expect(again.hardState()).toEqual({ term: 3, vote: 'n1' });
  });
});

describe('GroupCommit', () => {
  /** A round the test completes by hand; `writes` stands for the disk's page cache. */
  function harness() {
    let written = 0;
    let dirty = false;
    const pending: { covers: number; finish: () => void }[] = [];
    const commit = new GroupCommit<number>({
      round: () => {
        const covers = written;
        dirty = false;
        return new Promise((resolve) => pending.push({ covers, finish: () => resolve(covers) }));
      },
      dirty: () => dirty,
      idle: () => written,
    });
    return {
      commit,
      pending,
      write: () => {
        written++;
        dirty = true;
      },
    };
  }

  it('never answers a caller before the round that covers its write has finished', async () => {
    const { commit, pending, write } = harness();
    write();
    const first = commit.request();
    // A caller that re-flushes as soon as the first round resolves, between the
    // end of that round and the start of the one queued behind it, must join
    // the queued round rather than start its own or be answered idle.
    let rejoined: Promise<number> | null = null;
    void first.then(() => {
      write();
      rejoined = commit.request();
    });
    write();
    const queued = commit.request();
    pending[0]!.finish();
    await first;
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(rejoined).toBe(queued);
    expect(pending).toHaveLength(2);
    expect(pending[1]!.covers).toBe(3);
    let answered = false;
    void queued.then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(answered).toBe(false);
    pending[1]!.finish();
    expect(await queued).toBe(3);
  });

  it('settles after the running and queued rounds, even when they fail', async () => {
    let fail = true;
    const commit = new GroupCommit<number>({
      round: () => (fail ? Promise.reject(new Error('disk')) : Promise.resolve(1)),
      dirty: () => true,
      idle: () => 0,
    });
    const first = commit.request();
    const second = commit.request();
    fail = false;
    await expect(first).rejects.toThrow('disk');
    await commit.settled();
    expect(await second).toBe(1);
  });
});

describe('close', () => {
  it('lets flushes requested before it finish, then releases the files', async () => {
    const { fs: countedFs } = countingFs(() => new Promise((resolve) => setTimeout(() => resolve(null), 5)));
    const wal = open({ fs: countedFs, segmentBytesMax: 200 });
    next(wal, 3, 1);
    const first = wal.flush();
    next(wal, 10, 1);
    const second = wal.flush();
    await wal.close();
    expect(await first).toEqual({ index: 3, term: 1 });
    expect(await second).toEqual({ index: 13, term: 1 });
    await expect(wal.flush()).rejects.toMatchObject({ code: 'closed' });
    await wal.close(); // twice is fine
  });
});
