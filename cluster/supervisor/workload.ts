// A built-in client workload: an open loop of writes and reads at a set rate
// against the kv table, changeable while it runs. It reports what clients
// were told (ok / refused / indeterminate) and recent rates and latencies.

import type { NodeId } from '../core/index.js';
import type { Consistency } from '../protocol.js';
import type { Cluster } from './cluster.js';
import { BadRequestError, ClusterError, TimeoutError } from './errors.js';

export interface WorkloadOptions {
  /** Operations per second, reads and writes together. */
  readonly rate: number;
  /** Fraction of operations that are reads, 0 to 1. */
  readonly readFraction: number;
  readonly keys: number;
  readonly valueBytes: number;
  /** Where reads go: the leader, a follower, any node, or one node by id. */
  readonly readTarget: 'leader' | 'follower' | 'any' | NodeId;
  readonly readConsistency: Consistency;
  /** Operations in flight at most; past that the loop skips a beat rather than queue without end. */
  readonly inflightMax: number;
  readonly timeoutMs: number;
}

export const defaultWorkload: WorkloadOptions = {
  rate: 20,
  readFraction: 0.5,
  keys: 100,
  valueBytes: 16,
  readTarget: 'any',
  readConsistency: 'local',
  inflightMax: 256,
  timeoutMs: 2_000,
};

export interface WorkloadStats {
  readonly running: boolean;
  readonly options: WorkloadOptions;
  readonly writes: { readonly ok: number; readonly fail: number; readonly info: number };
  readonly reads: { readonly ok: number; readonly fail: number };
  /** Over the last second. */
  readonly writesPerSecond: number;
  readonly readsPerSecond: number;
  readonly writeLatencyMsP50: number | null;
  readonly skipped: number;
}

const windowMs = 1_000;

export class Workload {
  private options: WorkloadOptions = defaultWorkload;
  private timer: NodeJS.Timeout | null = null;
  private inflight = 0;
  private sequence = 0;
  private credit = 0;
  private lastTickMs = 0;
  private readonly counts = { writesOk: 0, writesFail: 0, writesInfo: 0, readsOk: 0, readsFail: 0, skipped: 0 };
  /** Completion times (and write latencies) within the last second, for rates. */
  private recentWrites: { atMs: number; latencyMs: number }[] = [];
  private recentReads: number[] = [];

  constructor(private readonly cluster: Cluster) {}

  start(options: Partial<WorkloadOptions> = {}): void {
    this.options = checkWorkload({ ...this.options, ...options });
    if (this.timer !== null) return;
    this.lastTickMs = performance.now();
    this.credit = 0;
    this.timer = setInterval(() => this.tick(), 10);
  }

  update(options: Partial<WorkloadOptions>): WorkloadOptions {
    this.options = checkWorkload({ ...this.options, ...options });
    return this.options;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  stats(): WorkloadStats {
    const now = performance.now();
    this.recentWrites = this.recentWrites.filter((w) => now - w.atMs <= windowMs);
    this.recentReads = this.recentReads.filter((at) => now - at <= windowMs);
    const latencies = this.recentWrites.map((w) => w.latencyMs).sort((a, b) => a - b);
    return {
      running: this.timer !== null,
      options: this.options,
      writes: { ok: this.counts.writesOk, fail: this.counts.writesFail, info: this.counts.writesInfo },
      reads: { ok: this.counts.readsOk, fail: this.counts.readsFail },
      writesPerSecond: this.recentWrites.length,
      readsPerSecond: this.recentReads.length,
      writeLatencyMsP50: latencies.length === 0 ? null : latencies[Math.floor(latencies.length / 2)]!,
      skipped: this.counts.skipped,
    };
  }

  private tick(): void {
    const now = performance.now();
    this.credit += ((now - this.lastTickMs) / 1000) * this.options.rate;
    this.lastTickMs = now;
    // Never burst more than one second's worth after a stall.
    this.credit = Math.min(this.credit, Math.max(1, this.options.rate));
    while (this.credit >= 1) {
      this.credit--;
      if (this.inflight >= this.options.inflightMax) {
        this.counts.skipped++;
        continue;
      }
      if (Math.random() < this.options.readFraction) void this.read();
      else void this.write();
    }
  }

  private key(): string {
    return `k${Math.floor(Math.random() * this.options.keys)}`;
  }

  private async write(): Promise<void> {
    this.inflight++;
    const value = `${++this.sequence}`.padEnd(this.options.valueBytes, '.');
    try {
      const result = await this.cluster.execute(
        'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx',
        [this.key(), value],
        { timeoutMs: this.options.timeoutMs },
      );
      this.counts.writesOk++;
      this.recentWrites.push({ atMs: performance.now(), latencyMs: result.latencyMs });
    } catch (error) {
      // A timeout, or a failure after the write reached a log, is indeterminate: it may still commit.
      const indeterminate = error instanceof TimeoutError || (error instanceof ClusterError && 'index' in error && error.index !== null);
      if (indeterminate) this.counts.writesInfo++;
      else this.counts.writesFail++;
    } finally {
      this.inflight--;
    }
  }

  private async read(): Promise<void> {
    this.inflight++;
    try {
      const node = this.readNode();
      await this.cluster.query('SELECT v, idx FROM kv WHERE k = ?', [this.key()], {
        ...(node === null ? {} : { node }),
        consistency: this.options.readConsistency,
        timeoutMs: this.options.timeoutMs,
      });
      this.counts.readsOk++;
      this.recentReads.push(performance.now());
    } catch {
      this.counts.readsFail++;
    } finally {
      this.inflight--;
    }
  }

  private readNode(): NodeId | null {
    const target = this.options.readTarget;
    if (target === 'leader' || this.options.readConsistency === 'linearizable') return null;
    const up = this.cluster.status().filter((n) => n.up && !n.paused);
    const leader = this.cluster.leader();
    const pool = target === 'follower' ? up.filter((n) => n.id !== leader) : target === 'any' ? up : up.filter((n) => n.id === target);
    if (pool.length === 0) return null;
    return pool[Math.floor(Math.random() * pool.length)]!.id;
  }
}

function checkWorkload(options: WorkloadOptions): WorkloadOptions {
  const problems: string[] = [];
  if (!(options.rate >= 0 && options.rate <= 100_000)) problems.push('rate from 0 to 100000 operations/s');
  if (!(options.readFraction >= 0 && options.readFraction <= 1)) problems.push('readFraction from 0 to 1');
  if (!(Number.isInteger(options.keys) && options.keys >= 1)) problems.push('keys >= 1');
  if (!(Number.isInteger(options.valueBytes) && options.valueBytes >= 1 && options.valueBytes <= 1_000_000)) problems.push('valueBytes from 1 to 1000000');
  if (!(Number.isInteger(options.inflightMax) && options.inflightMax >= 1)) problems.push('inflightMax >= 1');
  if (!(options.timeoutMs >= 1)) problems.push('timeoutMs >= 1');
  if (!['leader', 'follower', 'any'].includes(options.readTarget) && !/^n[1-9][0-9]?$/.test(options.readTarget)) problems.push("readTarget 'leader' | 'follower' | 'any' | a node id");
  if (!['local', 'linearizable'].includes(options.readConsistency)) problems.push("readConsistency 'local' | 'linearizable'");
  if (problems.length > 0) throw new BadRequestError(`bad workload: expected ${problems.join(', ')}`);
  return options;
}
