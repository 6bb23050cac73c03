// The history recorder (file + bounded ring) and how the clients classify a
// write's error: refused (never reached a log) or indeterminate.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseHistory, type HistoryRecord } from '../../cluster/check/index.js';
import { BadRequestError, BadStatementError, classifyWriteError, HistoryRecorder, NotLeaderError, TimeoutError, UnavailableError } from '../../cluster/index.js';
import { historyRingMax } from '../../cluster/supervisor/constants.js';

function event(i: number): HistoryRecord {
  return { type: 'event', wall: i, mono: i, event: { type: 'fault', detail: `fault ${i}` } };
}

describe('HistoryRecorder', () => {
  it('writes every record to the file in order and keeps only the last ones in memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replica-lab-history-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const recorder = new HistoryRecorder(join(dir, 'history.jsonl'), { append: false });
    const total = historyRingMax * 3 + 7;
    for (let i = 0; i < total; i++) recorder.write(event(i));
    expect(recorder.congested()).toBe(false);
    const recent = recorder.recent();
    expect(recent).toHaveLength(historyRingMax);
    expect(recent[0]).toEqual(event(total - historyRingMax));
    expect(recent.at(-1)).toEqual(event(total - 1));
    await recorder.close();
    const records = parseHistory(readFileSync(join(dir, 'history.jsonl'), 'utf8'));
    expect(records).toHaveLength(total);
    expect(records.map((r) => (r as { mono: number }).mono)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(recorder.stats()).toMatchObject({ records: total, dropped: 0, bufferedBytes: 0, writeError: null });
    recorder.write(event(total));
    expect(recorder.stats().dropped).toBe(1);
  });

  it('appends when asked to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replica-lab-history-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'history.jsonl');
    for (const i of [1, 2]) {
      const recorder = new HistoryRecorder(path, { append: i === 2 });
      recorder.write(event(i));
      await recorder.close();
    }
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(2);
  });
});

describe('classifyWriteError', () => {
  it.each([
    [new NotLeaderError('n1 is not the leader', 'n1', 'n2'), { kind: 'refused', retry: true, leader: 'n2' }],
    [new UnavailableError('n3 is down', null, 'down'), { kind: 'refused', retry: true }],
    [new UnavailableError('n1 lost leadership', null, 'leadership-lost'), { kind: 'refused', retry: true }],
    [new UnavailableError('n1 has too many writes waiting', null, 'busy'), { kind: 'refused', retry: true }],
    [new UnavailableError('the cluster has been stopped', null, 'stopped'), { kind: 'refused', retry: false }],
    [new UnavailableError('no leader was elected within 100 ms', null, 'no-leader'), { kind: 'refused', retry: false }],
    [new BadStatementError('syntax'), { kind: 'refused', retry: false }],
    [new BadRequestError('no node n9'), { kind: 'refused', retry: false }],
    [new TimeoutError('n1 did not answer within 1000 ms'), { kind: 'indeterminate', reason: 'timeout', index: null }],
    [new UnavailableError('n1 stepped down before the write at index 7 was acknowledged; it may still commit', 7), { kind: 'indeterminate', reason: 'stepped-down', index: 7 }],
    [new UnavailableError('n1 exited before answering', null, 'node-died'), { kind: 'indeterminate', reason: 'node-died' }],
    [new BadStatementError('the write committed at index 9 but failed on every node', 9), { kind: 'indeterminate', reason: 'unknown', index: 9 }],
    [new Error('something new'), { kind: 'indeterminate', reason: 'unknown' }],
  ])('%s', (error, expected) => {
    expect(classifyWriteError(error)).toMatchObject(expected);
  });

  it('reads the typed reason, never the message', () => {
    // The same words with another reason mean something else.
    expect(classifyWriteError(new UnavailableError('n3 is down', null, 'node-died'))).toMatchObject({ kind: 'indeterminate', reason: 'node-died' });
    expect(classifyWriteError(new UnavailableError('n1 exited before answering', null, 'down'))).toMatchObject({ kind: 'refused', retry: true });
  });
});
