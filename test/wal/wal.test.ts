import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CoreAssertionError, entryBytes, RaftLog, type Entry } from '../../cluster/core/index.js';
import { openWal, WalError, type Wal } from '../../cluster/wal/index.js';
import { logBytes, makeEntries, makeLog, makeTempDir, segmentFiles } from './helpers.js';

let dir: string;
const opened: Wal[] = [];

/** Opens the log in `dir`, closed again after the test. */
function open(options: { segmentBytesMax?: number; fsync?: boolean } = {}) {
  const result = openWal({ dir, fsync: options.fsync ?? true, segmentBytesMax: options.segmentBytesMax });
  opened.push(result.wal);
  return result;
}

/** Closes `wal` and opens the same dir again, as a restarted node does. */
async function reopen(wal: Wal, options: { segmentBytesMax?: number } = {}) {
  await wal.flush();
  await wal.close();
  return open(options);
}

beforeEach(() => {
  dir = makeTempDir();
});

afterEach(async () => {
  for (const wal of opened.splice(0)) await wal.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const unicodeEntries: Entry[] = makeEntries({
  specs: [
    { term: 1, kind: 'noop', data: '' },
    { term: 1, data: '{"sql":"INSERT INTO kv VALUES (?, ?)","params":["ключ","значение"]}', client: 'c1', request: 1 },
    { term: 1, data: '{"sql":"UPDATE kv SET v = ?","params":["日本語 🚀 ø"]}', client: 'client-🙂', request: 2 },
    { term: 2, kind: 'config', data: '{"add":"n4","learner":true}' },
    { term: 2, data: 'no client, request only', request: 3.25 },
    { term: 3, data: '', client: '' },
  ],
});

describe('a fresh data dir', () => {
  it('is an empty log with the initial hard state and nothing to repair', () => {
    const { wal, recovery } = open();
    expect(wal.entries()).toEqual([]);
    expect(wal.lastIndex()).toBe(0);
    expect(wal.lastTerm()).toBe(0);
    expect(wal.hardState()).toEqual({ term: 0, vote: null });
    expect(recovery).toEqual({ segments: 0, records: 0, lastIndex: 0, truncatedBytes: 0, problem: null });
    expect(fs.statSync(path.join(dir, 'wal')).isDirectory()).toBe(true);
  });

  it('creates a missing data dir', () => {
    const nested = path.join(dir, 'nested', 'n1');
    const { wal } = openWal({ dir: nested, fsync: true });
    opened.push(wal);
    wal.write(1, makeLog([1]));
    expect(segmentFiles(nested).map((f) => path.basename(f))).toEqual(['00000000000000000001.seg']);
  });
});

describe('round trip', () => {
  it('reads back entries with unicode data, clients and requests exactly as written', async () => {
    const { wal } = open();
    wal.write(1, unicodeEntries);
    expect(wal.entries()).toEqual(unicodeEntries);
    const { wal: again, recovery } = await reopen(wal);
    expect(again.entries()).toEqual(unicodeEntries);
    expect(recovery).toEqual({ segments: 1, records: 6, lastIndex: 6, truncatedBytes: 0, problem: null });
    expect(again.lastTerm()).toBe(3);
  });

  it('writes records whose sizes are the core entryBytes, so the log is exactly lastLsn bytes', async () => {
    const { wal } = open();
    wal.write(1, unicodeEntries);
    await wal.flush();
    const sizes = unicodeEntries.map((e) => entryBytes(e.kind, e.data, e.client));
    expect(logBytes(dir)).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(logBytes(dir)).toBe(unicodeEntries.at(-1)!.lsn);
  });

  it('recomputes each lsn on recovery exactly as the core does', async () => {
    // The core's own log computes lsn as it appends; the recovered log must agree entry by entry.
    const { wal } = open();
    wal.write(1, unicodeEntries);
    const { wal: again } = await reopen(wal);
    const recovered = again.entries();
    const core = new RaftLog(recovered);
    let lsn = 0;
    for (const entry of recovered) {
      lsn += entryBytes(entry.kind, entry.data, entry.client);
      expect(entry.lsn).toBe(lsn);
      expect(core.lsn(entry.index)).toBe(unicodeEntries[entry.index - 1]!.lsn);
    }
  });

  it('returns half-open ranges of the log', () => {
    const { wal } = open();
    wal.write(1, unicodeEntries);
    expect(wal.entries(2, 4).map((e) => e.index)).toEqual([2, 3]);
    expect(wal.entries(7)).toEqual([]);
  });
});

describe('hard state', () => {
  it('survives a restart', async () => {
    const { wal } = open();
    wal.saveHardState({ term: 5, vote: 'n2' });
    expect(wal.hardState()).toEqual({ term: 5, vote: 'n2' });
    let { wal: again } = await reopen(wal);
    expect(again.hardState()).toEqual({ term: 5, vote: 'n2' });
    again.saveHardState({ term: 6, vote: null });
    ({ wal: again } = await reopen(again));
    expect(again.hardState()).toEqual({ term: 6, vote: null });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'meta'), 'utf8'))).toEqual({ term: 6, vote: null });
    expect(fs.existsSync(path.join(dir, 'meta.tmp'))).toBe(false);
  });

  it('refuses to guess when meta is damaged', () => {
    fs.writeFileSync(path.join(dir, 'meta'), '{"term": 3, "vo');
    expect(() => open()).toThrow(expect.objectContaining({ name: 'WalError', code: 'corrupt-meta' }));
    fs.writeFileSync(path.join(dir, 'meta'), '{"term": -1, "vote": null}');
    expect(() => open()).toThrow(WalError);
  });
});

describe('write', () => {
  it('drops the suffix from writeFrom, then appends', async () => {
    const { wal } = open();
    wal.write(1, makeLog([1, 1, 1, 1, 1]));
    const replacement = makeEntries({ from: 3, lsnBefore: wal.entries()[1]!.lsn, specs: [{ term: 2, data: 'new three' }, { term: 2, data: 'new four' }] });
    wal.write(3, replacement);
    expect(wal.entries().map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 1], [3, 2], [4, 2]]);
    const { wal: again } = await reopen(wal);
    expect(again.entries()).toEqual([...makeLog([1, 1]), ...replacement]);
    expect(logBytes(dir)).toBe(replacement.at(-1)!.lsn);
  });

  it('may only drop a suffix (an empty write after writeFrom)', async () => {
    const { wal } = open();
    wal.write(1, makeLog([1, 1, 1]));
    wal.write(2, []);
    expect(wal.lastIndex()).toBe(1);
    wal.write(1, []);
    expect(wal.lastIndex()).toBe(0);
    const { wal: again, recovery } = await reopen(wal);
    expect(again.entries()).toEqual([]);
    expect(recovery.problem).toBeNull();
    again.write(1, makeLog([4]));
    expect((await reopen(again)).wal.entries()).toEqual(makeLog([4]));
  });

  it('asserts on a write that would leave a gap, go back in term, or carry a wrong lsn', () => {
    const { wal } = open();
    wal.write(1, makeLog([2, 2]));
    expect(() => wal.write(4, makeEntries({ from: 4, specs: [{ term: 2 }] }))).toThrow(CoreAssertionError);
    expect(() => wal.write(3, makeEntries({ from: 3, lsnBefore: wal.entries()[1]!.lsn, specs: [{ term: 1 }] }))).toThrow(CoreAssertionError);
    expect(() => wal.write(3, makeEntries({ from: 3, lsnBefore: 0, specs: [{ term: 2 }] }))).toThrow(/lsn/);
    expect(() => wal.write(3, makeEntries({ from: 4, lsnBefore: wal.entries()[1]!.lsn, specs: [{ term: 2 }] }))).toThrow(CoreAssertionError);
    // Nothing reached the disk and the log is still usable.
    wal.write(3, makeEntries({ from: 3, lsnBefore: wal.entries()[1]!.lsn, specs: [{ term: 2 }] }));
    expect(wal.lastIndex()).toBe(3);
  });

  it('refuses an entry too large for one record without touching the log', () => {
    const { wal } = open();
    const huge = makeEntries({ specs: [{ term: 1, data: 'x'.repeat(17 * 1024 * 1024) }] });
    expect(() => wal.write(1, huge)).toThrow(expect.objectContaining({ code: 'record-too-large' }));
    wal.write(1, makeLog([1]));
    expect(wal.lastIndex()).toBe(1);
  });

  it('is refused after close', async () => {
    const { wal } = open();
    await wal.close();
    expect(() => wal.write(1, makeLog([1]))).toThrow(expect.objectContaining({ code: 'closed' }));
    await expect(wal.flush()).rejects.toMatchObject({ code: 'closed' });
  });
});

describe('segments', () => {
  const terms = Array.from({ length: 40 }, (_, i) => 1 + Math.floor(i / 10));

  it('rolls past segmentBytesMax, names each file by its first index, and recovers across them', async () => {
    const { wal } = open({ segmentBytesMax: 400 });
    const log = makeLog(terms);
    // Write in several calls, some larger than a segment, as a leader's batches arrive.
    wal.write(1, log.slice(0, 3));
    wal.write(4, log.slice(3, 25));
    wal.write(26, log.slice(25));
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    expect(wal.stats().segments).toBe(files.length);
    for (const file of files) {
      const firstIndex = Number(path.basename(file, '.seg'));
      expect(path.basename(file)).toMatch(/^\d{20}\.seg$/);
      // Each segment starts with the record of the index it is named for.
      expect(fs.readFileSync(file).readUIntLE(8, 6)).toBe(firstIndex);
      expect(fs.statSync(file).size).toBeLessThanOrEqual(400);
    }
    const { wal: again, recovery } = await reopen(wal, { segmentBytesMax: 400 });
    expect(again.entries()).toEqual(log);
    expect(recovery).toMatchObject({ segments: files.length, records: 40, lastIndex: 40, problem: null });
    expect(logBytes(dir)).toBe(log.at(-1)!.lsn);
  });

  it('gives a record larger than a segment a segment of its own', async () => {
    const { wal } = open({ segmentBytesMax: 100 });
    const log = makeEntries({ specs: [{ term: 1, data: 'a' }, { term: 1, data: 'b'.repeat(500) }, { term: 1, data: 'c' }] });
    wal.write(1, log);
    expect(segmentFiles(dir).map((f) => path.basename(f, '.seg')).map(Number)).toEqual([1, 2, 3]);
    expect((await reopen(wal, { segmentBytesMax: 100 })).wal.entries()).toEqual(log);
  });

  it('truncating into an earlier segment deletes every later one, then appends', async () => {
    const { wal } = open({ segmentBytesMax: 400 });
    const log = makeLog(terms);
    wal.write(1, log);
    const before = segmentFiles(dir).length;
    const lsnBefore = log[6]!.lsn;
    const replacement = makeEntries({ from: 8, lsnBefore, specs: [{ term: 7, data: 'eight' }, { term: 7, data: 'nine' }] });
    wal.write(8, replacement);
    expect(segmentFiles(dir).length).toBeLessThan(before);
    expect(wal.stats().segments).toBe(segmentFiles(dir).length);
    const { wal: again, recovery } = await reopen(wal, { segmentBytesMax: 400 });
    expect(again.entries()).toEqual([...log.slice(0, 7), ...replacement]);
    expect(recovery.problem).toBeNull();
    // And the log keeps rolling from there.
    const more = makeEntries({ from: 10, lsnBefore: replacement.at(-1)!.lsn, specs: terms.map(() => ({ term: 8 })) });
    again.write(10, more);
    const { wal: third } = await reopen(again, { segmentBytesMax: 400 });
    expect(third.entries()).toEqual([...log.slice(0, 7), ...replacement, ...more]);
  });

  it('truncating at the first record of a segment keeps that segment, empty, for the next index', async () => {
    const { wal } = open({ segmentBytesMax: 400 });
    const log = makeLog(terms);
    wal.write(1, log);
    const second = Number(path.basename(segmentFiles(dir)[1]!, '.seg'));
    wal.write(second, []);
    expect(Number(path.basename(segmentFiles(dir).at(-1)!, '.seg'))).toBe(second);
    const emptied = fs.readFileSync(segmentFiles(dir).at(-1)!);
    expect(emptied.every((byte) => byte === 0)).toBe(true);
    const { wal: again, recovery } = await reopen(wal, { segmentBytesMax: 400 });
    expect(again.lastIndex()).toBe(second - 1);
    expect(recovery.problem).toBeNull();
    const next = makeEntries({ from: second, lsnBefore: log[second - 2]!.lsn, specs: [{ term: 9 }] });
    again.write(second, next);
    expect((await reopen(again, { segmentBytesMax: 400 })).wal.entries()).toEqual([...log.slice(0, second - 1), ...next]);
  });

  it('ignores files that are not segments', async () => {
    fs.mkdirSync(path.join(dir, 'wal'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'wal', 'README'), 'not a segment');
    fs.writeFileSync(path.join(dir, 'wal', '1.seg'), 'a short name is not ours either');
    const { wal, recovery } = open();
    expect(recovery.problem).toBeNull();
    wal.write(1, makeLog([1]));
    expect((await reopen(wal)).wal.entries()).toEqual(makeLog([1]));
    expect(fs.readFileSync(path.join(dir, 'wal', 'README'), 'utf8')).toBe('not a segment');
  });
});
