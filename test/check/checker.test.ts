// The checkers on hand-written histories: one or more per anomaly kind, and
// the cases that are easy to get wrong (concurrency, indeterminate writes,
// rollback after acknowledgement, divergence only at equal applied index).

import { describe, expect, it } from 'vitest';
import { checkHistory, formatText, HistoryFormatError, OnlineChecker, parseHistory, summarize } from '../../cluster/check/index.js';
import { History } from './history.js';

describe('lost writes', () => {
  it('a history where every acknowledged write is in the final log is valid', () => {
    const h = new History().write(1, 'a', 'v1').ok(1, { index: 2 }).read(2, 'a').ok(2, { idx: 2 });
    h.final('n1', 2, 'x').final('n2', 2, 'x').log(2).committed(2, 1, 'a', 'v1');
    const report = checkHistory(h.records);
    expect(report.valid).toBe(true);
    expect(report.counts).toEqual({ lostWrites: 0, staleReads: 0, readYourWrites: 0, monotonicReads: 0, divergentReplicas: 0, indeterminate: 0 });
    expect(report.operations).toEqual({ ok: 2, fail: 0, info: 0 });
    expect(report.unchecked).toEqual([]);
  });

  it('a write acknowledged and later rolled back is lost, names the write, and is confirmed by the rollback file', () => {
    const h = new History().write(1, 'a', 'doomed').ok(1, { index: 5, term: 1, node: 'n1' });
    h.log(6, 'n2').committed(5, 2, 'b', 'other').rolledBack('n1', 5, 1, 'a', 'doomed');
    const report = checkHistory(h.records);
    expect(report.valid).toBe(false);
    expect(report.counts.lostWrites).toBe(1);
    const [lost] = report.lostWrites;
    expect(lost!.write.op).toBe(1);
    expect(lost!.atIndex).toMatchObject({ index: 5, term: 2, key: 'b' });
    expect(lost!.confirmation).toEqual({ by: 'rollback', nodes: ['n1'] });
    expect(formatText(report)).toMatch(/op 1 \(s1\) write a="doomed" acknowledged by n1 .* index 5 term 1; index 5 of the final log holds term 2 .*rolled back on n1/);
  });

  it('a write acknowledged beyond the final commit index is lost, confirmed by the final rows', () => {
    const h = new History().write(1, 'a', 'v1').ok(1, { index: 20 });
    h.final('n1', 15, 'x', [['a', 'older', 3]]).log(15);
    const report = checkHistory(h.records);
    expect(report.counts.lostWrites).toBe(1);
    expect(report.lostWrites[0]!.confirmation).toEqual({ by: 'final-state' });
  });

  it('a lost write that a node still holds is reported as unconfirmed', () => {
    const h = new History().write(1, 'a', 'v1').ok(1, { index: 3 });
    h.final('n1', 3, 'x', [['a', 'v1', 3]]).log(3);
    const report = checkHistory(h.records);
    expect(report.lostWrites[0]!.confirmation).toEqual({ by: 'unconfirmed', nodes: ['n1'] });
    expect(formatText(report)).toContain('UNCONFIRMED');
  });

  it('the same (index, term) holding another write is lost too', () => {
    const h = new History().write(1, 'a', 'v1').ok(1, { index: 3, term: 2 });
    h.log(3).committed(3, 2, 'a', 'something else');
    expect(checkHistory(h.records).counts.lostWrites).toBe(1);
  });

  it('a timed-out write that later appears in the log is indeterminate and took effect, never lost', () => {
    const h = new History().write(1, 'a', 'slow').info(1, 'timeout').read(2, 'a').ok(2, { idx: 7, value: 'slow' });
    h.final('n1', 7, 'x').log(7).committed(7, 3, 'a', 'slow');
    const report = checkHistory(h.records);
    expect(report.valid).toBe(true);
    expect(report.counts.lostWrites).toBe(0);
    expect(report.counts.indeterminate).toBe(1);
    expect(report.indeterminate[0]).toMatchObject({ outcome: 'committed', value: 'slow', entry: { index: 7, term: 3 } });
    expect(report.operations.info).toBe(1);
  });

  it('an indeterminate write absent from the final log did not take effect; one cut short counts as info', () => {
    const h = new History().write(1, 'a', 'gone').info(1, 'node-died').write(2, 'b', 'unfinished').read(3, 'b');
    h.log(4);
    const report = checkHistory(h.records);
    expect(report.valid).toBe(true);
    expect(report.indeterminate.map((i) => [i.write.op, i.outcome])).toEqual([
      [1, 'absent'],
      [2, 'absent'],
    ]);
    expect(report.operations).toEqual({ ok: 0, fail: 1, info: 2 });
  });

  it('without a final state, lost writes and divergence are unchecked rather than passed', () => {
    const h = new History().write(1, 'a', 'v1').ok(1, { index: 2 }).write(2, 'a', 'v2').info(2);
    const report = checkHistory(h.records);
    expect(report.unchecked).toEqual(['lostWrites', 'divergentReplicas']);
    expect(report.indeterminate[0]!.outcome).toBe('unknown');
    expect(formatText(report)).toMatch(/VALID \(unchecked: lost writes, divergent replicas\)/);
  });
});

describe('stale reads', () => {
  it('a read that began after a write was acknowledged and returned an older version is stale, naming both', () => {
    const h = new History().write(1, 'a', 'v1').ok(1, { index: 4 }).read(2, 'a', 's2').ok(2, { idx: 3 });
    const report = checkHistory(h.records);
    expect(report.counts.staleReads).toBe(1);
    expect(report.staleReads[0]).toMatchObject({ read: { op: 2, idx: 3 }, missed: { op: 1, index: 4 } });
    expect(formatText(report)).toMatch(/op 2 \(s2\) read a on n2 .* saw idx 3 .* but op 1 \(s1\) write a="v1" acknowledged .* before the read began/);
  });

  it('a missing row is older than every write', () => {
    const h = new History().write(1, 'a', 'v1').ok(1, { index: 4 }).read(2, 'a', 's2').ok(2, { idx: null });
    expect(checkHistory(h.records).counts.staleReads).toBe(1);
  });

  it('a read concurrent with a write is not stale, whichever version it returns', () => {
    // The read begins before the write is acknowledged.
    const h = new History().write(1, 'a', 'v1').read(2, 'a', 's2').ok(1, { index: 4 }).ok(2, { idx: null });
    // The write begins before the read and completes after it.
    h.write(3, 'a', 'v2').read(4, 'a', 's3').ok(4, { idx: 4 }).ok(3, { index: 9 });
    expect(checkHistory(h.records).counts.staleReads).toBe(0);
  });

  it('only writes to the same key count, and a newer version than required is fine', () => {
    const h = new History().write(1, 'a', 'v1').ok(1, { index: 4 }).read(2, 'b', 's2').ok(2, { idx: 1 }).read(3, 'a', 's2').ok(3, { idx: 8 });
    expect(checkHistory(h.records).counts.staleReads).toBe(0);
  });

  it('reads that no longer see a lost write are not stale: the loss is reported once, as lost', () => {
    const h = new History().write(1, 'a', 'doomed').ok(1, { index: 5 }).read(2, 'a', 's2').ok(2, { idx: 3 });
    h.log(6).committed(5, 2, 'b', 'x').final('n1', 6, 'c', [['a', 'old', 3]]);
    const report = checkHistory(h.records);
    expect(report.counts).toMatchObject({ lostWrites: 1, staleReads: 0 });
  });
});

describe('session checks', () => {
  it("a session read that misses the session's own acknowledged write violates read-your-writes (and is stale)", () => {
    const h = new History().write(1, 'a', 'mine', 's1').ok(1, { index: 6 }).read(2, 'a', 's1').ok(2, { idx: 2 });
    const report = checkHistory(h.records);
    expect(report.counts.readYourWrites).toBe(1);
    expect(report.counts.staleReads).toBe(1);
    expect(report.readYourWrites[0]).toMatchObject({ session: 's1', read: { op: 2 }, own: { op: 1 }, minIndex: null });
  });

  it('another session missing the write is stale but not a read-your-writes violation', () => {
    const h = new History().write(1, 'a', 'mine', 's1').ok(1, { index: 6 }).read(2, 'a', 's2').ok(2, { idx: 2 });
    expect(checkHistory(h.records).counts).toMatchObject({ readYourWrites: 0, staleReads: 1 });
  });

  it('read-your-writes is per key: a read of another key is not compared', () => {
    const h = new History().write(1, 'a', 'mine', 's1').ok(1, { index: 6 }).read(2, 'b', 's1').ok(2, { idx: 2 });
    expect(checkHistory(h.records).counts.readYourWrites).toBe(0);
  });

  it('a session read that goes back to an older version than an earlier read of that key violates monotonic reads', () => {
    const h = new History().read(1, 'a', 's1', { node: 'n2' }).ok(1, { idx: 5, node: 'n2' }).read(2, 'a', 's1', { node: 'n3' }).ok(2, { idx: 3, node: 'n3' });
    const report = checkHistory(h.records);
    expect(report.counts.monotonicReads).toBe(1);
    expect(report.monotonicReads[0]).toMatchObject({ session: 's1', read: { op: 2, node: 'n3' }, earlier: { op: 1, node: 'n2' } });
    expect(report.counts.staleReads).toBe(0);
  });

  it('monotonic reads compare within one session and one key only', () => {
    const h = new History().read(1, 'a', 's1').ok(1, { idx: 5 }).read(2, 'a', 's2').ok(2, { idx: 3 }).read(3, 'b', 's1').ok(3, { idx: 1 });
    expect(checkHistory(h.records).counts.monotonicReads).toBe(0);
  });
});

describe('divergent replicas', () => {
  it('different checksums at the same applied index diverge; nodes at another index are only behind', () => {
    const h = new History().final('n1', 10, 'aaa').final('n2', 10, 'bbb').final('n3', 9, 'ccc').log(10);
    const report = checkHistory(h.records);
    expect(report.counts.divergentReplicas).toBe(1);
    expect(report.divergentReplicas[0]).toEqual({ kind: 'divergent-replicas', appliedIndex: 10, checksums: { n1: 'aaa', n2: 'bbb' } });
  });

  it('equal checksums at equal indexes, and different checksums at different indexes, do not', () => {
    const h = new History().final('n1', 10, 'aaa').final('n2', 10, 'aaa').final('n3', 12, 'zzz').log(12);
    expect(checkHistory(h.records).counts.divergentReplicas).toBe(0);
  });
});

describe('summary and online use', () => {
  it('summarize gives the documented --json shape', () => {
    const h = new History().write(1, 'a', 'v').ok(1, { index: 2 }).log(2).committed(2, 1, 'a', 'v').final('n1', 2, 'x');
    expect(summarize(checkHistory(h.records), '/tmp/run')).toEqual({
      valid: true,
      anomalies: { lostWrites: 0, staleReads: 0, readYourWrites: 0, monotonicReads: 0, divergentReplicas: 0, indeterminate: 0 },
      operations: { ok: 1, fail: 0, info: 0 },
      unchecked: [],
      runDir: '/tmp/run',
    });
  });

  it('the online checker reports each anomaly as its read completes and counts them per second', () => {
    const h = new History().write(1, 'a', 'v1').ok(1, { index: 4 }).read(2, 'a', 's2').ok(2, { idx: 3 }).read(3, 'a', 's2').ok(3, { idx: 4 });
    const checker = new OnlineChecker();
    const found = h.records.map((r) => checker.observe(r).map((a) => a.kind));
    expect(found.flat()).toEqual(['stale-read']);
    expect(found[3]).toEqual(['stale-read']);
    expect(checker.counts()).toMatchObject({ staleReads: 1, reads: { ok: 2, fail: 0 }, writes: { ok: 1, fail: 0, info: 0 } });
    expect(checker.perSecond()).toEqual([{ second: 0, reads: 2, writes: 1, staleReads: 1, readYourWrites: 0, monotonicReads: 0 }]);
  });
});

describe('parsing', () => {
  it('round-trips a history written as JSONL', () => {
    const h = new History().write(1, 'a', 'v').ok(1, { index: 2 }).read(2, 'a').fail(2).log(2).committed(2, 1, 'a', 'v');
    expect(parseHistory(h.text())).toEqual(h.records);
  });

  it.each([
    ['a truncated line', (text: string) => text.slice(0, -20), /line 2: not a JSON object/],
    ['a missing field', (text: string) => text.replace('"key":"a",', ''), /line 1: "invoke" record: "key" must be a string/],
    ['an unknown type', (text: string) => text.replace('"type":"ok"', '"type":"okay"'), /line 2: unknown record type "okay"; expected one of run, /],
    ['a completion with no invoke', (text: string) => text.split('\n').slice(1).join('\n'), /line 1: "ok" for op 1, which has no open invoke/],
    ['an info read', () => '{"type":"invoke","op":1,"f":"read","client":"c","session":"s","key":"a","wall":1,"mono":1,"node":null,"consistency":"local","minIndex":null}\n{"type":"info","op":1,"f":"read","client":"c","session":"s","key":"a","wall":2,"mono":2,"node":null,"error":"x","reason":"timeout","index":null}\n', /line 2: .*"info" is for writes only/],
    ['an array', () => '[1,2]\n', /line 1: not a JSON object/],
  ])('refuses %s with the line number', (_, damage, message) => {
    const text = damage(new History().write(1, 'a', 'v').ok(1, { index: 2 }).text());
    expect(() => parseHistory(text)).toThrow(HistoryFormatError);
    expect(() => parseHistory(text)).toThrow(message);
  });
});
