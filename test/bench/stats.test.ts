// The bench's statistics on synthetic samples: a wrong percentile or rate would
// make every figure in the closing note wrong, so they are pinned here.

import { describe, expect, it } from 'vitest';
import { fsyncRate, percentile, ratePerSecond, round, Samples, summarize } from '../../cluster/bench/index.js';
import { table } from '../../cli/commands/bench.js';

describe('percentile (nearest rank)', () => {
  const hundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);

  it('gives the value at rank ceil(q * n)', () => {
    expect(percentile(hundred, 0.5)).toBe(50);
    expect(percentile(hundred, 0.99)).toBe(99);
    expect(percentile(hundred, 1)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([1, 2, 3], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
  });

  it('is NaN for no samples', () => {
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('summarize', () => {
  it('sorts a copy and reports min, median, p99, max', () => {
    const values = [5, 1, 4, 2, 3];
    expect(summarize(values)).toEqual({ count: 5, min: 1, median: 3, p50: 3, p99: 5, max: 5 });
    expect(values).toEqual([5, 1, 4, 2, 3]);
  });

  it('puts one slow outlier in p99 of 1000 samples only when it is in the top 1%', () => {
    const values = Array.from({ length: 1000 }, () => 1);
    values[500] = 500;
    expect(summarize(values).p99).toBe(1);
    expect(summarize(values).max).toBe(500);
    for (let i = 0; i < 11; i++) values[i] = 100;
    expect(summarize(values).p99).toBe(100);
  });
});

describe('rates and rounding', () => {
  it('counts per second over milliseconds', () => {
    expect(ratePerSecond(5000, 2500)).toBe(2000);
    expect(ratePerSecond(10, 0)).toBe(0);
  });

  it('rounds small figures to 3 decimals and large ones to whole numbers', () => {
    expect(round(0.123456)).toBe(0.123);
    expect(round(1234.56)).toBe(1235);
    expect(round(Number.NaN)).toBeNaN();
  });
});

describe('fsyncRate', () => {
  it('is fsyncs per second and mean time per fsync between two readings', () => {
    const before = { fsyncs: 1_000, fsyncMs: 300 };
    const after = { fsyncs: 3_500, fsyncMs: 1_050 };
    expect(fsyncRate(before, after, 5_000)).toEqual({ perSecond: 500, meanMs: 0.3 });
  });

  it('has no mean without fsyncs (fsync off), and no figure across a restart or without a reading', () => {
    const idle = { fsyncs: 7, fsyncMs: 2 };
    expect(fsyncRate(idle, idle, 1_000)).toEqual({ perSecond: 0, meanMs: null });
    // A restarted node counts from zero again: the difference would be negative.
    expect(fsyncRate({ fsyncs: 500, fsyncMs: 100 }, { fsyncs: 20, fsyncMs: 5 }, 1_000)).toBeNull();
    expect(fsyncRate(null, idle, 1_000)).toBeNull();
    expect(fsyncRate(idle, null, 1_000)).toBeNull();
    expect(fsyncRate(idle, idle, 0)).toBeNull();
  });
});

describe('Samples', () => {
  it('keeps every value up to its limit', () => {
    const samples = new Samples(10);
    for (let i = 0; i < 5; i++) samples.add(i);
    expect([...samples.snapshot()]).toEqual([0, 1, 2, 3, 4]);
    expect(samples.count).toBe(5);
  });

  it('past the limit keeps a uniform reservoir: the median of 0..99999 stays near 50000', () => {
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const samples = new Samples(2000, random);
    for (let i = 0; i < 100_000; i++) samples.add(i);
    expect(samples.count).toBe(100_000);
    expect(samples.snapshot().length).toBe(2000);
    const median = summarize(samples.snapshot()).median;
    expect(median).toBeGreaterThan(45_000);
    expect(median).toBeLessThan(55_000);
  });
});

describe('the bench table', () => {
  it('shows each throughput result with its figures', () => {
    const text = table([
      {
        scenario: 'throughput',
        engine: 'replica-lab',
        mode: 'quorum',
        ack: 'flushed',
        clients: 64,
        writesPerSecond: 21000,
        latencyMs: { p50: 2.5, p99: 9.1, max: 20 },
        replayLagMs: { p50: 0.5, p99: 7 },
        replayLagMsByFollower: {},
        rssMbMax: 70,
        rssMb: {},
        cpuPercent: { n1: 50, n2: 40, n3: 41, supervisor: 30 },
        fsync: { n1: { perSecond: 420, meanMs: 0.3125 }, n2: { perSecond: 400, meanMs: 0.28 }, n3: null },
        writesPerLeaderFsync: 50,
        writes: 105000,
        errors: 0,
        durationS: 5,
      },
      { scenario: 'failover', mode: 'quorum', ack: 'flushed', trials: 20, failoverMs: { min: 170, median: 230, p99: 300, max: 310 }, lostWrites: 0, electionTimeoutMs: [150, 300] },
    ]);
    expect(text).toMatch(/quorum\/flushed\s+64\s+21000\s+2\.5\s+9\.1/);
    expect(text).toContain('fsync ms (n1 n2 n3)');
    expect(text).toMatch(/50 40 41 30\s+0\.31 0\.28 –\s+50\.0$/m);
    expect(text).toContain('median 230 ms');
    expect(text).toContain('lost acknowledged writes: 0');
  });

  it('shows catch-up by log and by snapshot, each with what was sent', () => {
    const text = table([
      { scenario: 'catch-up', via: 'log', entries: 50000, catchUpMs: 4000, entriesPerSecond: 12500, startMs: 600, logBytes: 10 * 1024 * 1024, snapshot: null },
      { scenario: 'catch-up', via: 'snapshot', entries: 50000, catchUpMs: 900, entriesPerSecond: 55556, startMs: 600, logBytes: 10 * 1024 * 1024, snapshot: { index: 49900, bytes: 24 * 1024, durationMs: 40 } },
    ]);
    expect(text).toContain('catch-up by log: 50000 entries in 4000 ms = 12500 entries/s (replayed 10.0 MiB of log; process start 600 ms of it)');
    expect(text).toContain('catch-up by snapshot: 50000 entries in 900 ms = 55556 entries/s (snapshot at index 49900, 24 KiB in 40 ms, instead of 10.0 MiB of log; process start 600 ms of it)');
  });
});
