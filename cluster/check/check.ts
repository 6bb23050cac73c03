// The offline checker: a history in, a verdict out, fed one record at a time
// so a history of any length is checked in bounded memory. Lost writes need
// the final log, which is at the end of the file, and the read checks must
// leave lost writes out, so the checker reads the history twice:
//   1. the final state (the committed log as 12 bytes an entry), the
//      indeterminate writes it will name, the operations left open;
//   2. every operation in order: each acknowledged write is judged lost or not
//      as it comes, and the incremental read checks (OnlineChecker) run with
//      the lost ones left out;
//   3. only when a lost write named as an example came after the committed
//      record at its index (a hand-written history): that record, to show it.
// It keeps counts, up to examplesMax examples of each kind, and what is in
// flight (operations, sessions, keys): never the records themselves.

import { offlineExamplesMax } from './constants.js';
import {
  findDivergence,
  FinalStateCollector,
  isLost,
  LostWriteConfirmer,
  positionKey,
  writeKey,
  type DivergentReplicas,
  type FinalState,
  type IndeterminateWrite,
  type LostWrite,
} from './final.js';
import { OnlineChecker, type MonotonicReadViolation, type ReadYourWritesViolation, type StaleRead } from './online.js';
import type { CommittedRecord, FinalRecord, HistoryRecord, LogRecord, RunRecord, WriteInfo, WriteInvoke, WriteOk } from './records.js';

export type AnomalyKind = 'lostWrites' | 'staleReads' | 'readYourWrites' | 'monotonicReads' | 'divergentReplicas' | 'indeterminate';
export const anomalyKinds: readonly AnomalyKind[] = ['lostWrites', 'staleReads', 'readYourWrites', 'monotonicReads', 'divergentReplicas', 'indeterminate'];

/** Indeterminate writes are reported, never counted against validity: the client was told "don't know". */
export const invalidatingKinds: readonly AnomalyKind[] = ['lostWrites', 'staleReads', 'readYourWrites', 'monotonicReads', 'divergentReplicas'];

export interface CheckReport {
  readonly valid: boolean;
  readonly counts: Readonly<Record<AnomalyKind, number>>;
  /** Completed operations; writes that never completed count as info, reads that never completed as fail. */
  readonly operations: { readonly ok: number; readonly fail: number; readonly info: number };
  readonly reads: { readonly ok: number; readonly fail: number };
  readonly writes: { readonly ok: number; readonly fail: number; readonly info: number };
  /** Kinds the history holds no evidence for: no final log (lost writes), no final checksums (divergence). */
  readonly unchecked: readonly ('lostWrites' | 'divergentReplicas')[];
  readonly lostWrites: readonly LostWrite[];
  readonly staleReads: readonly StaleRead[];
  readonly readYourWrites: readonly ReadYourWritesViolation[];
  readonly monotonicReads: readonly MonotonicReadViolation[];
  readonly divergentReplicas: readonly DivergentReplicas[];
  readonly indeterminate: readonly IndeterminateWrite[];
  readonly run: RunRecord | null;
  readonly log: LogRecord | null;
  readonly finals: readonly FinalRecord[];
  /** The first record's mono time, so reports can show times from the start. */
  readonly startMono: number | null;
}

export interface CheckOptions {
  /** Anomalies of each kind kept as examples (counts stay exact). */
  readonly examplesMax?: number;
}

type Pass = 'final' | 'operations' | 'lookups';

/**
 * The offline checker, incremental. Drive it as
 * `while (checker.nextPass()) for (const record of history) checker.visit(record)`,
 * every pass over the same records in the same order, then `report()`.
 */
export class HistoryChecker {
  private readonly examplesMax: number;
  private pass: Pass | 'new' | 'done' = 'new';

  // Pass 1.
  private readonly collector = new FinalStateCollector();
  private run: RunRecord | null = null;
  private startMono: number | null = null;
  /** Invokes not yet completed (at the end: the operations the run cut short). */
  private readonly open = new Map<number, HistoryRecord & { type: 'invoke' }>();
  private readonly indeterminate: { write: WriteInfo | WriteInvoke; value: string }[] = [];
  private indeterminateCount = 0;
  private unfinishedReads = 0;
  private unfinishedWrites = 0;

  // Pass 2.
  private final: FinalState | null = null;
  private confirmer: LostWriteConfirmer | null = null;
  private online: OnlineChecker | null = null;
  /** The write being observed, when it is lost: the online checker leaves it out. */
  private lostNow: WriteOk | null = null;
  private readonly lost: { write: WriteOk; confirmation: LostWrite['confirmation']; exact: CommittedRecord | null; anyAt: CommittedRecord | null }[] = [];
  private lostCount = 0;
  /** A committed record came before a kept lost write: pass 3 must look again to show what its index holds. */
  private sawCommitted = false;
  private needLookups = false;
  /** Kept lost writes by log index, waiting for the committed record there (to show what the log holds instead). */
  private readonly lostAt = new Map<number, number[]>();
  /** writeKey of each kept indeterminate write -> the committed entry it became. */
  private readonly becameEntry = new Map<string, CommittedRecord | null>();

  constructor(options: CheckOptions = {}) {
    this.examplesMax = options.examplesMax ?? offlineExamplesMax;
  }

  /** Starts the next pass over the history; false when the checker has all it needs. */
  nextPass(): boolean {
    switch (this.pass) {
      case 'new':
        this.pass = 'final';
        return true;
      case 'final':
        this.endFinalPass();
        this.pass = 'operations';
        return true;
      case 'operations':
      case 'lookups': {
        if (this.pass === 'operations' && this.needLookups) {
          // A committed record came before a lost write that may want it (not the order the recorder writes): look again.
          for (const l of this.lost) l.anyAt = l.exact = null;
          this.pass = 'lookups';
          return true;
        }
        this.pass = 'done';
        return false;
      }
      case 'done':
        return false;
    }
  }

  /** The next record of the current pass, in the order they happened. */
  visit(record: HistoryRecord): void {
    switch (this.pass) {
      case 'final':
        return this.visitFinal(record);
      case 'operations':
        return this.visitOperation(record);
      case 'lookups':
        if (record.type === 'committed') this.lookUp(record);
        return;
      default:
        throw new Error(`assertion: HistoryChecker.visit outside a pass (${this.pass}); call nextPass() first`);
    }
  }

  private visitFinal(record: HistoryRecord): void {
    if ('mono' in record && this.startMono === null) this.startMono = record.mono;
    if (record.type === 'run' && this.run === null) this.run = record;
    this.collector.observe(record);
    if (record.type === 'invoke') this.open.set(record.op, record);
    else if (record.type === 'ok' || record.type === 'fail' || record.type === 'info') {
      const invoke = this.open.get(record.op);
      this.open.delete(record.op);
      if (record.type === 'info') {
        this.indeterminateCount++;
        if (this.indeterminate.length < this.examplesMax) this.indeterminate.push({ write: record, value: invoke?.f === 'write' ? invoke.value : '' });
      }
    }
  }

  private endFinalPass(): void {
    for (const invoke of this.open.values()) {
      if (invoke.f === 'read') {
        this.unfinishedReads++;
        continue;
      }
      this.unfinishedWrites++;
      this.indeterminateCount++;
      if (this.indeterminate.length < this.examplesMax) this.indeterminate.push({ write: invoke, value: invoke.value });
    }
    this.open.clear();
    this.final = this.collector.state();
    this.confirmer = new LostWriteConfirmer(this.final);
    if (this.final.log !== null) for (const { write, value } of this.indeterminate) this.becameEntry.set(writeKey(write.key, value), null);
    this.online = new OnlineChecker({ ignoreWrite: (write) => write === this.lostNow, examplesMax: this.examplesMax });
  }

  private visitOperation(record: HistoryRecord): void {
    if (record.type === 'ok' && record.f === 'write' && isLost(record, this.final!)) {
      this.lostCount++;
      this.lostNow = record;
      if (this.lost.length < this.examplesMax) {
        this.lost.push({ write: record, confirmation: this.confirmer!.confirm(record), exact: null, anyAt: null });
        if (this.sawCommitted && this.final!.committed.hasIndex(record.index)) this.needLookups = true;
        const waiting = this.lostAt.get(record.index);
        if (waiting === undefined) this.lostAt.set(record.index, [this.lost.length - 1]);
        else waiting.push(this.lost.length - 1);
      }
    }
    this.online!.observe(record);
    this.lostNow = null;
    if (record.type === 'committed') {
      this.sawCommitted = true;
      this.lookUp(record);
    }
  }

  /** A committed record: what a kept lost write's index holds, and what a kept indeterminate write became. */
  private lookUp(record: CommittedRecord): void {
    for (const i of this.lostAt.get(record.index) ?? []) {
      const lost = this.lost[i]!;
      lost.anyAt = record;
      if (record.term === lost.write.term) lost.exact = record;
    }
    const key = writeKey(record.key, record.value);
    if (this.becameEntry.has(key)) this.becameEntry.set(key, record);
  }

  report(): CheckReport {
    if (this.pass !== 'done') throw new Error('assertion: HistoryChecker.report before its last pass ended');
    const final = this.final!;
    const online = this.online!;
    const lostWrites: LostWrite[] = this.lost.map((l) => ({ kind: 'lost-write', write: l.write, atIndex: l.exact ?? l.anyAt, confirmation: l.confirmation }));
    const indeterminate: IndeterminateWrite[] = this.indeterminate.map(({ write, value }) => {
      if (final.log === null) return { kind: 'indeterminate', write, value, outcome: 'unknown', entry: null };
      const entry = this.becameEntry.get(writeKey(write.key, value)) ?? null;
      return { kind: 'indeterminate', write, value, outcome: entry === null ? 'absent' : 'committed', entry };
    });
    const divergentReplicas = findDivergence(final.finals);
    const counts = online.counts();
    const kept = online.examples();
    const anomalyCounts: Record<AnomalyKind, number> = {
      lostWrites: this.lostCount,
      staleReads: counts.staleReads,
      readYourWrites: counts.readYourWrites,
      monotonicReads: counts.monotonicReads,
      divergentReplicas: divergentReplicas.length,
      indeterminate: this.indeterminateCount,
    };
    const reads = { ok: counts.reads.ok, fail: counts.reads.fail + this.unfinishedReads };
    const writes = { ok: counts.writes.ok, fail: counts.writes.fail, info: counts.writes.info + this.unfinishedWrites };
    const unchecked: ('lostWrites' | 'divergentReplicas')[] = [];
    if (final.log === null) unchecked.push('lostWrites');
    if (final.finals.length === 0) unchecked.push('divergentReplicas');
    return {
      valid: invalidatingKinds.every((kind) => anomalyCounts[kind] === 0),
      counts: anomalyCounts,
      operations: { ok: reads.ok + writes.ok, fail: reads.fail + writes.fail, info: writes.info },
      reads,
      writes,
      unchecked,
      lostWrites,
      staleReads: kept.staleReads,
      readYourWrites: kept.readYourWrites,
      monotonicReads: kept.monotonicReads,
      divergentReplicas,
      indeterminate,
      run: this.run,
      log: final.log,
      finals: final.finals,
      startMono: this.startMono,
    };
  }
}

/** The checker over a history in memory (tests, small files); `checkHistoryFile` streams a file through the same checker. */
export function checkHistory(records: readonly HistoryRecord[], options: CheckOptions = {}): CheckReport {
  const checker = new HistoryChecker(options);
  while (checker.nextPass()) for (const record of records) checker.visit(record);
  return checker.report();
}

/** The JSON object `replica-lab check --json` and `replica-lab nemesis --json` print (README). */
export interface CheckSummary {
  readonly valid: boolean;
  readonly anomalies: Readonly<Record<AnomalyKind, number>>;
  readonly operations: { readonly ok: number; readonly fail: number; readonly info: number };
  readonly unchecked: readonly string[];
  readonly runDir: string | null;
}

export function summarize(report: CheckReport, runDir: string | null): CheckSummary {
  return { valid: report.valid, anomalies: { ...report.counts }, operations: { ...report.operations }, unchecked: [...report.unchecked], runDir };
}
