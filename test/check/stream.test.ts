// The streamed checker: the chunked line reader (lines across chunks, UTF-8
// split across chunks, no final newline, a line too long), the strict parser
// one line at a time, and HistoryChecker giving the same verdict however the
// final state is placed and with examples bounded while counts stay exact.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHistory, checkHistoryFile, checkLimits, CommittedLog, forEachLine, forEachRecord, HistoryFormatError, HistoryLimitError, HistoryParser, HistoryReadError, parseHistory, type HistoryRecord } from '../../cluster/check/index.js';
import { History } from './history.js';

const dir = mkdtempSync(join(tmpdir(), 'replica-lab-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function lines(path: string, options: { chunkBytes?: number; lineBytesMax?: number } = {}): Promise<[string, number][]> {
  const seen: [string, number][] = [];
  await forEachLine(path, (text, line) => seen.push([text, line]), options);
  return seen;
}

describe('forEachLine', () => {
  it('gives the same lines as split("\\n") at any chunk size, with multi-byte characters cut across chunks', async () => {
    const content = 'first\n\nthird é😀日本 line\r\n{"a":1}\nno newline at the end: ünïcödé';
    const path = file('lines.txt', content);
    const expected = content.split('\n').map((text, i): [string, number] => [text, i + 1]);
    for (const chunkBytes of [1, 2, 3, 5, 7, 64, 1 << 20]) expect(await lines(path, { chunkBytes })).toEqual(expected);
  });

  it('a file ending in a newline has no extra empty line; an empty file has none', async () => {
    expect(await lines(file('nl.txt', 'a\nb\n'), { chunkBytes: 2 })).toEqual([['a', 1], ['b', 2]]);
    expect(await lines(file('empty.txt', ''))).toEqual([]);
  });

  it('refuses a line longer than the limit with its number, within or across chunks', async () => {
    const path = file('long.txt', `short\n${'x'.repeat(100)}\nshort\n`);
    await expect(lines(path, { lineBytesMax: 50 })).rejects.toThrow(/line 2: longer than .* no line break/);
    await expect(lines(path, { lineBytesMax: 50, chunkBytes: 8 })).rejects.toThrow(HistoryFormatError);
    await expect(lines(file('nonl.bin', 'y'.repeat(200)), { lineBytesMax: 50, chunkBytes: 16 })).rejects.toThrow(/line 1: longer than/);
  });

  it('names a file it cannot read', async () => {
    await expect(lines(join(dir, 'missing'))).rejects.toThrow(HistoryReadError);
    await expect(lines(join(dir, 'missing'))).rejects.toThrow(/no such file/);
    await expect(lines(dir)).rejects.toThrow(/is a directory/);
  });
});

describe('HistoryParser', () => {
  const h = new History().write(1, 'a', 'v').ok(1, { index: 2 });
  const [invoke1, ok1] = h.text().trim().split('\n') as [string, string];

  it('pairs completions with invokes a line at a time and counts records', () => {
    const parser = new HistoryParser();
    expect(parser.line(invoke1, 1)).toEqual(h.records[0]);
    expect(parser.line('   ', 2)).toBeNull();
    expect(parser.line(ok1, 3)).toEqual(h.records[1]);
    expect(parser.records()).toBe(2);
    expect(() => parser.end()).not.toThrow();
    expect(() => new HistoryParser().end()).toThrow(/line 1: the file is empty/);
  });

  it('refuses more final records than any cluster has nodes, since the checker keeps them all', () => {
    const parser = new HistoryParser();
    const final = JSON.stringify({ type: 'final', node: 'n1', appliedIndex: 1, checksum: 'x', rows: null });
    for (let i = 1; i <= checkLimits.finalRecordsMax; i++) parser.line(final, i);
    expect(() => parser.line(final, 5000)).toThrow(/line 5000: more than 1000 "final" records/);
  });

  it('finds an op invoked twice among op numbers out of order', () => {
    const invoke = (op: number): string => invoke1.replace('"op":1', `"op":${op}`);
    const parser = new HistoryParser();
    for (const [i, op] of [5, 3, 9, 4, 7, 6, 8, 1, 2].entries()) parser.line(invoke(op), i + 1);
    for (const op of [1, 3, 5, 8, 9]) expect(() => parser.line(invoke(op), 99)).toThrow(`line 99: op ${op} is invoked twice`);
    expect(parser.line(invoke(10), 100)).not.toBeNull();
    expect(parser.line(invoke(0), 101)).not.toBeNull();
  });
});

describe('CommittedLog', () => {
  it('holds writes by (index, term), with far-away indexes and a second term at one index kept aside', () => {
    const log = new CommittedLog();
    log.add({ type: 'committed', index: 2, term: 1, key: 'a', value: 'v2' });
    log.add({ type: 'committed', index: 2, term: 3, key: 'b', value: 'other' });
    log.add({ type: 'committed', index: 1e12, term: 2, key: 'far', value: null });
    expect(log.holds(2, 1, 'a', 'v2')).toBe(true);
    expect(log.holds(2, 1, 'a', 'v3')).toBe(false);
    expect(log.holds(2, 1, 'b', 'v2')).toBe(false);
    expect(log.holds(2, 3, 'b', 'other')).toBe(true);
    expect(log.holds(2, 2, 'a', 'v2')).toBe(false);
    expect(log.holds(1e12, 2, 'far', null)).toBe(true);
    expect(log.holds(1e12, 2, 'far', 'null')).toBe(false);
    expect([log.hasIndex(2), log.hasIndex(1e12), log.hasIndex(3)]).toEqual([true, true, false]);
  });

  it('refuses more entries than it holds, naming the line, rather than growing without bound', async () => {
    const log = new CommittedLog();
    const max = checkLimits.committedSparseMax;
    // A second term at each index is kept aside, in the bounded map.
    for (let index = 1; index <= max; index++) {
      log.add({ type: 'committed', index, term: 1, key: 'k', value: 'a' });
      log.add({ type: 'committed', index, term: 2, key: 'k', value: 'b' });
    }
    expect(log.holds(max, 2, 'k', 'b')).toBe(true);
    expect(() => log.add({ type: 'committed', index: max + 1, term: 1, key: 'k', value: 'a' })).not.toThrow();
    expect(() => log.add({ type: 'committed', index: max + 1, term: 2, key: 'k', value: 'b' })).toThrow(HistoryLimitError);
    // Read from a file, the limit is a format error naming the line, so check exits 2 with one line.
    const path = file('limit.jsonl', `\n${JSON.stringify({ type: 'log', node: 'n1', commitIndex: 9, lastIndex: 9 })}\n`);
    await expect(
      forEachRecord(path, () => {
        throw new HistoryLimitError('too many');
      }),
    ).rejects.toThrow(new HistoryFormatError(2, 'too many'));
  });

  it('does not confuse where the key ends and the value begins', () => {
    const log = new CommittedLog();
    log.add({ type: 'committed', index: 1, term: 1, key: 'ab', value: 'c' });
    expect(log.holds(1, 1, 'a', 'bc')).toBe(false);
    expect(log.holds(1, 1, 'ab', 'c')).toBe(true);
  });
});

describe('HistoryChecker', () => {
  /** Two lost writes (one rolled back, one overwritten at its index), a stale read, an indeterminate write that committed. */
  const ops = new History()
    .write(1, 'a', 'doomed')
    .ok(1, { index: 5, term: 1 })
    .write(2, 'b', 'gone')
    .ok(2, { index: 6, term: 1 })
    .write(3, 'c', 'v3')
    .ok(3, { index: 7, term: 2 })
    .read(4, 'c', 's2')
    .ok(4, { idx: 1 })
    .write(5, 'd', 'maybe')
    .info(5)
    .read(6, 'a', 's3');
  const finalState: HistoryRecord[] = [
    { type: 'log', node: 'n2', commitIndex: 8, lastIndex: 8 },
    { type: 'committed', index: 5, term: 2, key: 'x', value: 'other' },
    { type: 'committed', index: 6, term: 1, key: 'b', value: 'not gone' },
    { type: 'committed', index: 7, term: 2, key: 'c', value: 'v3' },
    { type: 'committed', index: 8, term: 2, key: 'd', value: 'maybe' },
    { type: 'rolled-back', node: 'n1', index: 5, term: 1, key: 'a', value: 'doomed' },
    { type: 'final', node: 'n1', appliedIndex: 8, checksum: 'x', rows: [['b', 'not gone', 6]] },
    { type: 'final', node: 'n2', appliedIndex: 8, checksum: 'x', rows: null },
  ];

  it('gives the same report with the final state at the end, at the start, or in the middle', () => {
    const atEnd = checkHistory([...ops.records, ...finalState]);
    expect(atEnd.counts).toEqual({ lostWrites: 2, staleReads: 1, readYourWrites: 0, monotonicReads: 0, divergentReplicas: 0, indeterminate: 1 });
    expect(atEnd.operations).toEqual({ ok: 4, fail: 1, info: 1 });
    expect(atEnd.lostWrites.map((l) => [l.write.op, l.atIndex?.value, l.confirmation.by])).toEqual([
      [1, 'other', 'rollback'],
      [2, 'not gone', 'final-state'],
    ]);
    expect(atEnd.indeterminate.map((i) => [i.write.op, i.outcome, i.entry?.index])).toEqual([[5, 'committed', 8]]);
    const atStart = checkHistory([...finalState, ...ops.records]);
    const middle = checkHistory([...ops.records.slice(0, 3), ...finalState, ...ops.records.slice(3)]);
    for (const other of [atStart, middle]) {
      expect(other.counts).toEqual(atEnd.counts);
      expect(other.operations).toEqual(atEnd.operations);
      expect(other.lostWrites).toEqual(atEnd.lostWrites);
      expect(other.staleReads).toEqual(atEnd.staleReads);
      expect(other.indeterminate).toEqual(atEnd.indeterminate);
    }
  });

  it('keeps at most examplesMax of each kind while the counts stay exact', () => {
    const h = new History();
    for (let op = 1; op <= 50; op++) h.write(op, `k${op}`, `v${op}`).ok(op, { index: op + 1 });
    h.log(100);
    const report = checkHistory(h.records, { examplesMax: 3 });
    expect(report.counts.lostWrites).toBe(50);
    expect(report.lostWrites.map((l) => l.write.op)).toEqual([1, 2, 3]);
  });

  it('checkHistoryFile streams a file to the same report as checkHistory over its records', async () => {
    const records = [...ops.records, ...finalState];
    const path = file('history.jsonl', records.map((r) => JSON.stringify(r)).join('\n'));
    const { report, records: count } = await checkHistoryFile(path);
    expect(count).toBe(records.length);
    expect(report).toEqual(checkHistory(parseHistory(records.map((r) => JSON.stringify(r)).join('\n'))));
  });

  it.runIf(process.platform === 'linux')('checkHistoryFile refuses a pipe, which it could not read twice, without blocking on it', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(checkHistoryFile(fifo)).rejects.toThrow(/fifo: not a regular file \(check reads a history twice/);
  });

  it('checkHistoryFile refuses a bad line with its number, and an empty file', async () => {
    await expect(checkHistoryFile(file('bad.jsonl', `${ops.text()}{"type":"ok","op":99}\n`))).rejects.toThrow(/line 12: "ok" record:/);
    await expect(checkHistoryFile(file('blank.jsonl', '\n\n  \n'))).rejects.toThrow(/line 1: the file is empty/);
  });
});
