// The read checks, incremental: feed records in the order they happened and
// each read is judged when it completes, with constant work per record. The
// TUI feeds it live (its consistency chart); the offline checker feeds it a
// whole file, telling it which writes were lost so they are reported once, as
// lost, and not again as the cause of stale reads.

import { onlineExamplesMax, readsInFlightMax, secondsKeptMax, sessionsMax } from './constants.js';
import type { HistoryRecord, ReadInvoke, ReadOk, WriteOk } from './records.js';

/** A read that returned a version older than a write acknowledged before the read began. */
export interface StaleRead {
  readonly kind: 'stale-read';
  readonly read: ReadOk;
  /** When the read was invoked (mono ms). */
  readonly invokedMono: number;
  /** The acknowledged write with the highest index on that key when the read began. */
  readonly missed: WriteOk;
}

/** A session read that did not see the session's own acknowledged write to that key. */
export interface ReadYourWritesViolation {
  readonly kind: 'read-your-writes';
  readonly session: string;
  readonly read: ReadOk;
  readonly own: WriteOk;
  /** The index the read asked the node to reach first (null: none). */
  readonly minIndex: number | null;
}

/** A session read of a key that saw an older version than an earlier read of it in the session. */
export interface MonotonicReadViolation {
  readonly kind: 'monotonic-read';
  readonly session: string;
  readonly read: ReadOk;
  readonly earlier: ReadOk;
}

export type ReadAnomaly = StaleRead | ReadYourWritesViolation | MonotonicReadViolation;

export interface OnlineCounts {
  readonly reads: { ok: number; fail: number };
  readonly writes: { ok: number; fail: number; info: number };
  readonly staleReads: number;
  readonly readYourWrites: number;
  readonly monotonicReads: number;
}

/** One second of the run (by the recorder's monotonic clock), for charts. */
export interface SecondBucket {
  /** floor(mono / 1000). */
  readonly second: number;
  reads: number;
  writes: number;
  staleReads: number;
  readYourWrites: number;
  monotonicReads: number;
}

export interface OnlineCheckerOptions {
  /** Writes to leave out of the read checks (offline: those found lost). */
  readonly ignoreWrite?: (write: WriteOk) => boolean;
  /** Examples kept per kind; counts are always exact. */
  readonly examplesMax?: number;
}

/** The version a read saw: a missing row is older than every write. */
function versionSeen(read: ReadOk): number {
  return read.idx ?? 0;
}

export class OnlineChecker {
  private readonly ignoreWrite: (write: WriteOk) => boolean;
  private readonly examplesMax: number;
  /** Per key, the acknowledged write with the highest log index so far. */
  private readonly newestAcked = new Map<string, WriteOk>();
  /** Reads invoked and not yet completed, with the write each must at least see. */
  private readonly readsInFlight = new Map<number, { readonly invoke: ReadInvoke; readonly required: WriteOk | undefined }>();
  /** Per session, per key: its last acknowledged write, and its last read. */
  private readonly sessionWrites = new Map<string, Map<string, WriteOk>>();
  private readonly sessionReads = new Map<string, Map<string, ReadOk>>();
  private readonly counters = { readsOk: 0, readsFail: 0, writesOk: 0, writesFail: 0, writesInfo: 0, staleReads: 0, readYourWrites: 0, monotonicReads: 0 };
  private readonly kept: { staleReads: StaleRead[]; readYourWrites: ReadYourWritesViolation[]; monotonicReads: MonotonicReadViolation[] } = {
    staleReads: [],
    readYourWrites: [],
    monotonicReads: [],
  };
  private readonly seconds: SecondBucket[] = [];

  constructor(options: OnlineCheckerOptions = {}) {
    this.ignoreWrite = options.ignoreWrite ?? (() => false);
    this.examplesMax = options.examplesMax ?? onlineExamplesMax;
  }

  /** Takes the next record (in the order they happened); returns the anomalies it revealed. */
  observe(record: HistoryRecord): ReadAnomaly[] {
    switch (record.type) {
      case 'invoke':
        if (record.f === 'read') this.readInvoked(record);
        return [];
      case 'ok':
        this.bucket(record.mono)[record.f === 'read' ? 'reads' : 'writes']++;
        if (record.f === 'write') {
          this.counters.writesOk++;
          this.writeAcknowledged(record);
          return [];
        }
        this.counters.readsOk++;
        return this.readCompleted(record);
      case 'fail':
        if (record.f === 'read') {
          this.counters.readsFail++;
          this.readsInFlight.delete(record.op);
        } else this.counters.writesFail++;
        return [];
      case 'info':
        this.counters.writesInfo++;
        return [];
      case 'run':
      case 'workload':
      case 'event':
      case 'final':
      case 'log':
      case 'committed':
      case 'rolled-back':
        return [];
      default:
        return assertNever(record);
    }
  }

  counts(): OnlineCounts {
    const c = this.counters;
    return {
      reads: { ok: c.readsOk, fail: c.readsFail },
      writes: { ok: c.writesOk, fail: c.writesFail, info: c.writesInfo },
      staleReads: c.staleReads,
      readYourWrites: c.readYourWrites,
      monotonicReads: c.monotonicReads,
    };
  }

  /** The kept examples, oldest first. */
  examples(): { readonly staleReads: readonly StaleRead[]; readonly readYourWrites: readonly ReadYourWritesViolation[]; readonly monotonicReads: readonly MonotonicReadViolation[] } {
    return this.kept;
  }

  /** The last seconds (at most secondsKeptMax), oldest first; seconds with no completed operation are absent. */
  perSecond(): readonly Readonly<SecondBucket>[] {
    return this.seconds;
  }

  private readInvoked(invoke: ReadInvoke): void {
    if (this.readsInFlight.size >= readsInFlightMax) {
      const oldest = this.readsInFlight.keys().next().value;
      if (oldest !== undefined) this.readsInFlight.delete(oldest);
    }
    this.readsInFlight.set(invoke.op, { invoke, required: this.newestAcked.get(invoke.key) });
  }

  private writeAcknowledged(write: WriteOk): void {
    if (this.ignoreWrite(write)) return;
    const newest = this.newestAcked.get(write.key);
    if (newest === undefined || write.index > newest.index) this.newestAcked.set(write.key, write);
    const own = this.sessionMap(this.sessionWrites, write.session);
    const previous = own.get(write.key);
    if (previous === undefined || write.index >= previous.index) own.set(write.key, write);
  }

  private readCompleted(read: ReadOk): ReadAnomaly[] {
    const found: ReadAnomaly[] = [];
    const seen = versionSeen(read);
    const inFlight = this.readsInFlight.get(read.op);
    this.readsInFlight.delete(read.op);
    const bucket = this.bucket(read.mono);
    // A write acknowledged after the read began is concurrent with it: either answer is fine.
    if (inFlight?.required !== undefined && seen < inFlight.required.index) {
      this.counters.staleReads++;
      bucket.staleReads++;
      found.push(this.keep(this.kept.staleReads, { kind: 'stale-read', read, invokedMono: inFlight.invoke.mono, missed: inFlight.required }));
    }
    const own = this.sessionWrites.get(read.session)?.get(read.key);
    if (own !== undefined && seen < own.index) {
      this.counters.readYourWrites++;
      bucket.readYourWrites++;
      found.push(this.keep(this.kept.readYourWrites, { kind: 'read-your-writes', session: read.session, read, own, minIndex: inFlight?.invoke.minIndex ?? null }));
    }
    const reads = this.sessionMap(this.sessionReads, read.session);
    const earlier = reads.get(read.key);
    if (earlier !== undefined && seen < versionSeen(earlier)) {
      this.counters.monotonicReads++;
      bucket.monotonicReads++;
      found.push(this.keep(this.kept.monotonicReads, { kind: 'monotonic-read', session: read.session, read, earlier }));
    }
    // Keep the newest version the session has seen, so one old answer is not compared against again and again.
    if (earlier === undefined || seen >= versionSeen(earlier)) reads.set(read.key, read);
    return found;
  }

  private keep<T extends ReadAnomaly>(list: T[], anomaly: T): T {
    if (list.length < this.examplesMax) list.push(anomaly);
    return anomaly;
  }

  private sessionMap<T>(maps: Map<string, Map<string, T>>, session: string): Map<string, T> {
    let map = maps.get(session);
    if (map === undefined) {
      if (maps.size >= sessionsMax) {
        const oldest = maps.keys().next().value;
        if (oldest !== undefined) maps.delete(oldest);
      }
      map = new Map();
      maps.set(session, map);
    }
    return map;
  }

  private bucket(mono: number): SecondBucket {
    const second = Math.floor(mono / 1000);
    const last = this.seconds[this.seconds.length - 1];
    if (last !== undefined && last.second === second) return last;
    // A completion from an earlier second (records arrive nearly in order) is counted in the newest bucket.
    if (last !== undefined && second < last.second) return last;
    const bucket: SecondBucket = { second, reads: 0, writes: 0, staleReads: 0, readYourWrites: 0, monotonicReads: 0 };
    if (this.seconds.length >= secondsKeptMax) this.seconds.shift();
    this.seconds.push(bucket);
    return bucket;
  }
}

function assertNever(value: never): never {
  throw new Error(`assertion: unexpected history record ${JSON.stringify(value)}`);
}
