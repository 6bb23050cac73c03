// The offline checker: a whole history in, a verdict out. It finds lost writes
// first (they need the final log), then runs the incremental read checks over
// every record in order with the lost writes left out, then resolves the
// indeterminate writes and compares the replicas' final checksums.

import { offlineExamplesMax } from './constants.js';
import { collectFinalState, findDivergence, findLostWrites, resolveIndeterminate, type DivergentReplicas, type IndeterminateWrite, type LostWrite } from './final.js';
import { OnlineChecker, type MonotonicReadViolation, type ReadYourWritesViolation, type StaleRead } from './online.js';
import type { FinalRecord, HistoryRecord, LogRecord, RunRecord, WriteInfo, WriteInvoke, WriteOk } from './records.js';

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

export function checkHistory(records: readonly HistoryRecord[], options: { examplesMax?: number } = {}): CheckReport {
  const examplesMax = options.examplesMax ?? offlineExamplesMax;
  const final = collectFinalState(records);
  const acknowledged: WriteOk[] = [];
  const writeInvokes = new Map<number, WriteInvoke>();
  const infos: WriteInfo[] = [];
  const open = new Map<number, HistoryRecord & { type: 'invoke' }>();
  let run: RunRecord | null = null;
  let startMono: number | null = null;
  for (const record of records) {
    if ('mono' in record && startMono === null) startMono = record.mono;
    if (record.type === 'run' && run === null) run = record;
    if (record.type === 'invoke') {
      open.set(record.op, record);
      if (record.f === 'write') writeInvokes.set(record.op, record);
    } else if (record.type === 'ok' || record.type === 'fail' || record.type === 'info') {
      open.delete(record.op);
      if (record.type === 'ok' && record.f === 'write') acknowledged.push(record);
      if (record.type === 'info') infos.push(record);
    }
  }
  const lostWrites = findLostWrites(acknowledged, final);
  const lostOps = new Set(lostWrites.map((l) => l.write.op));
  const online = new OnlineChecker({ ignoreWrite: (write) => lostOps.has(write.op), examplesMax });
  for (const record of records) online.observe(record);
  const unfinished = [...open.values()];
  const unfinishedWrites = unfinished.filter((r): r is WriteInvoke => r.f === 'write');
  const indeterminate = resolveIndeterminate(
    [...infos.map((write) => ({ write, value: writeInvokes.get(write.op)?.value ?? '' })), ...unfinishedWrites.map((write) => ({ write, value: write.value }))],
    final,
  );
  const divergentReplicas = findDivergence(final.finals);
  const counts = online.counts();
  const kept = online.examples();
  const anomalyCounts: Record<AnomalyKind, number> = {
    lostWrites: lostWrites.length,
    staleReads: counts.staleReads,
    readYourWrites: counts.readYourWrites,
    monotonicReads: counts.monotonicReads,
    divergentReplicas: divergentReplicas.length,
    indeterminate: indeterminate.length,
  };
  const reads = { ok: counts.reads.ok, fail: counts.reads.fail + (unfinished.length - unfinishedWrites.length) };
  const writes = { ok: counts.writes.ok, fail: counts.writes.fail, info: counts.writes.info + unfinishedWrites.length };
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
    lostWrites: lostWrites.slice(0, examplesMax),
    staleReads: kept.staleReads,
    readYourWrites: kept.readYourWrites,
    monotonicReads: kept.monotonicReads,
    divergentReplicas,
    indeterminate: indeterminate.slice(0, examplesMax),
    run,
    log: final.log,
    finals: final.finals,
    startMono,
  };
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
