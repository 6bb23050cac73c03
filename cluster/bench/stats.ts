// The statistics the bench reports, in one place so a test can check them on
// synthetic samples: nearest-rank percentiles, rates, and a bounded sample set.

/** Nearest-rank percentile of ascending `sorted` values (q in [0, 1]); NaN when empty. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (q <= 0) return sorted[0]!;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly median: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Summary of a set of samples (it sorts a copy). */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  const p50 = percentile(sorted, 0.5);
  return {
    count: sorted.length,
    min: sorted.length === 0 ? Number.NaN : sorted[0]!,
    median: p50,
    p50,
    p99: percentile(sorted, 0.99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
  };
}

/** Events per second over an interval in milliseconds. */
export function ratePerSecond(count: number, elapsedMs: number): number {
  return elapsedMs <= 0 ? 0 : (count * 1000) / elapsedMs;
}

/** A node's WAL running totals at one reading (NodeStatus.wal). */
export interface WalTotals {
  readonly fsyncs: number;
  readonly fsyncMs: number;
}

/**
 * fsyncs per second between two readings of one node's running totals, and
 * how long they took on average (pg_stat_wal's wal_sync_time / wal_sync).
 * Null when there is nothing to compare: no reading, a restart in between
 * (totals start again at zero), or no time elapsed; meanMs is null without fsyncs.
 */
export function fsyncRate(before: WalTotals | null, after: WalTotals | null, elapsedMs: number): { perSecond: number; meanMs: number | null } | null {
  if (before === null || after === null || elapsedMs <= 0) return null;
  const fsyncs = after.fsyncs - before.fsyncs;
  const ms = after.fsyncMs - before.fsyncMs;
  if (fsyncs < 0 || ms < 0) return null;
  return { perSecond: ratePerSecond(fsyncs, elapsedMs), meanMs: fsyncs === 0 ? null : ms / fsyncs };
}

/** Rounds for reports: 3 significant decimals for small numbers, whole numbers for large ones. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  return Math.round(value * 1000) / 1000;
}

/**
 * Samples kept up to a fixed count; past it, a uniform reservoir (Vitter's
 * algorithm R), so a long run's percentiles stay honest without unbounded memory.
 */
export class Samples {
  private readonly values: Float64Array;
  private seen = 0;
  private random: () => number;

  constructor(
    readonly max: number,
    random: () => number = Math.random,
  ) {
    this.values = new Float64Array(max);
    this.random = random;
  }

  add(value: number): void {
    if (this.seen < this.max) this.values[this.seen] = value;
    else {
      const slot = Math.floor(this.random() * (this.seen + 1));
      if (slot < this.max) this.values[slot] = value;
    }
    this.seen++;
  }

  get count(): number {
    return this.seen;
  }

  snapshot(): Float64Array {
    return this.values.slice(0, Math.min(this.seen, this.max));
  }
}
