// The workload's last second of writes and reads (rates, median latency): a
// ring that forgets by time when read and by count when full.

import { describe, expect, it } from 'vitest';
import { RecentSamples } from '../../cluster/supervisor/recent-samples.js';

describe('RecentSamples', () => {
  it('keeps the samples of the last window, oldest first, and forgets older ones', () => {
    const samples = new RecentSamples(100);
    for (let t = 0; t < 10; t++) samples.add(t * 200, t);
    // At 2,000 ms a 1,000 ms window holds the samples taken at 1,000..1,800.
    expect(samples.within(2_000, 1_000)).toEqual([5, 6, 7, 8, 9]);
    expect(samples.count(2_500, 1_000)).toBe(2); // 1,600 and 1,800
    expect(samples.count(10_000, 1_000)).toBe(0);
    samples.add(10_000, 42);
    expect(samples.within(10_000, 1_000)).toEqual([42]);
  });

  it('holds at most max samples, the newest, however long nobody reads', () => {
    const samples = new RecentSamples(4);
    for (let i = 0; i < 1_003; i++) samples.add(0, i);
    expect(samples.within(0, 1_000)).toEqual([999, 1_000, 1_001, 1_002]);
  });

  it('refuses a size that is not a whole number >= 1', () => {
    expect(() => new RecentSamples(0)).toThrow(/whole number >= 1/);
  });
});
