// The checks against the final state: acknowledged writes missing from the
// committed log (lost), indeterminate writes resolved against it, and replicas
// that disagree at the same applied index (divergent).

import type { CommittedRecord, FinalRecord, HistoryRecord, LogRecord, RolledBackRecord, WriteInfo, WriteInvoke, WriteOk } from './records.js';

/** What the history says about the end of the run; `log` null when it holds no final state. */
export interface FinalState {
  readonly log: LogRecord | null;
  /** By "index:term". */
  readonly committed: ReadonlyMap<string, CommittedRecord>;
  /** By key and value (values are unique per write). */
  readonly committedByWrite: ReadonlyMap<string, CommittedRecord>;
  /** By "index:term"; one per node that rolled it back. */
  readonly rolledBack: ReadonlyMap<string, readonly RolledBackRecord[]>;
  readonly finals: readonly FinalRecord[];
}

export const positionKey = (index: number, term: number): string => `${index}:${term}`;
const writeKey = (key: string, value: string | null): string => JSON.stringify([key, value]);

export function collectFinalState(records: readonly HistoryRecord[]): FinalState {
  let log: LogRecord | null = null;
  const committed = new Map<string, CommittedRecord>();
  const committedByWrite = new Map<string, CommittedRecord>();
  const rolledBack = new Map<string, RolledBackRecord[]>();
  const finals: FinalRecord[] = [];
  for (const record of records) {
    if (record.type === 'log') log = record;
    else if (record.type === 'committed') {
      committed.set(positionKey(record.index, record.term), record);
      committedByWrite.set(writeKey(record.key, record.value), record);
    } else if (record.type === 'rolled-back') {
      const key = positionKey(record.index, record.term);
      rolledBack.set(key, [...(rolledBack.get(key) ?? []), record]);
    } else if (record.type === 'final') finals.push(record);
  }
  return { log, committed, committedByWrite, rolledBack, finals };
}

/** How a lost write was confirmed independently of the committed log. */
export type LostConfirmation =
  | { readonly by: 'rollback'; readonly nodes: readonly string[] } // a node's rollback file holds the entry
  | { readonly by: 'final-state' } // no node's final kv row holds the write
  | { readonly by: 'log-only' } // no final rows were recorded to compare with
  | { readonly by: 'unconfirmed'; readonly nodes: readonly string[] }; // a node's final row still holds it: look closer

export interface LostWrite {
  readonly kind: 'lost-write';
  readonly write: WriteOk;
  /** What the final committed log holds at that index, if anything (a different term, or different content). */
  readonly atIndex: CommittedRecord | null;
  readonly confirmation: LostConfirmation;
}

/** An acknowledged write is lost when its (index, term) is not a committed workload write with its key and value. */
export function findLostWrites(writes: readonly WriteOk[], final: FinalState): LostWrite[] {
  if (final.log === null) return [];
  const byIndex = new Map<number, CommittedRecord>();
  for (const entry of final.committed.values()) byIndex.set(entry.index, entry);
  const lost: LostWrite[] = [];
  for (const write of writes) {
    const entry = final.committed.get(positionKey(write.index, write.term));
    if (entry !== undefined && entry.key === write.key && entry.value === write.value) continue;
    lost.push({ kind: 'lost-write', write, atIndex: entry ?? byIndex.get(write.index) ?? null, confirmation: confirm(write, final) });
  }
  return lost;
}

function confirm(write: WriteOk, final: FinalState): LostConfirmation {
  const rolledBack = final.rolledBack.get(positionKey(write.index, write.term)) ?? [];
  if (rolledBack.length > 0) return { by: 'rollback', nodes: rolledBack.map((r) => r.node) };
  const withRows = final.finals.filter((f) => f.rows !== null);
  if (withRows.length === 0) return { by: 'log-only' };
  const holding = withRows.filter((f) => f.rows!.some(([k, v, idx]) => k === write.key && v === write.value && idx === write.index)).map((f) => f.node);
  return holding.length === 0 ? { by: 'final-state' } : { by: 'unconfirmed', nodes: holding };
}

/** A write whose client never learned the outcome, and what the final log says happened. */
export interface IndeterminateWrite {
  readonly kind: 'indeterminate';
  /** The info record, or the invoke of a write that never completed (run cut short). */
  readonly write: WriteInfo | WriteInvoke;
  /** The value it wrote (from its invoke). */
  readonly value: string;
  /** 'committed': it took effect at `entry`; 'absent': it did not; 'unknown': no final log to tell. */
  readonly outcome: 'committed' | 'absent' | 'unknown';
  readonly entry: CommittedRecord | null;
}

/** Values are unique per write, so (key, value) finds the entry an indeterminate write made, if any. */
export function resolveIndeterminate(writes: readonly { readonly write: WriteInfo | WriteInvoke; readonly value: string }[], final: FinalState): IndeterminateWrite[] {
  return writes.map(({ write, value }) => {
    if (final.log === null) return { kind: 'indeterminate', write, value, outcome: 'unknown', entry: null };
    const entry = final.committedByWrite.get(writeKey(write.key, value)) ?? null;
    return { kind: 'indeterminate', write, value, outcome: entry === null ? 'absent' : 'committed', entry };
  });
}

/** Replicas that applied the same index but hold different states. */
export interface DivergentReplicas {
  readonly kind: 'divergent-replicas';
  readonly appliedIndex: number;
  /** Node -> checksum, for every node at that index. */
  readonly checksums: Readonly<Record<string, string>>;
}

/** Divergence is only defined between replicas at the same applied index; nodes at different ones are simply behind. */
export function findDivergence(finals: readonly FinalRecord[]): DivergentReplicas[] {
  const byIndex = new Map<number, FinalRecord[]>();
  for (const final of finals) byIndex.set(final.appliedIndex, [...(byIndex.get(final.appliedIndex) ?? []), final]);
  const divergent: DivergentReplicas[] = [];
  for (const [appliedIndex, group] of [...byIndex].sort(([a], [b]) => a - b)) {
    if (new Set(group.map((f) => f.checksum)).size > 1) {
      divergent.push({ kind: 'divergent-replicas', appliedIndex, checksums: Object.fromEntries(group.map((f) => [f.node, f.checksum])) });
    }
  }
  return divergent;
}
