// The checks against the final state: acknowledged writes missing from the
// committed log (lost), indeterminate writes resolved against it, and replicas
// that disagree at the same applied index (divergent). The committed log of a
// long run is as long as its writes, so it is kept as two numbers per log
// index (term, and a hash of the write's key and value), never as records.

import { committedPagesMax, committedSparseMax, rolledBackMax } from './constants.js';
import type { CommittedRecord, FinalRecord, HistoryRecord, LogRecord, WriteInfo, WriteInvoke, WriteOk } from './records.js';

export const positionKey = (index: number, term: number): string => `${index}:${term}`;

/** Key and value as one unambiguous string: values are unique per write. */
export const writeKey = (key: string, value: string | null): string => JSON.stringify([key, value]);

/**
 * A 53-bit hash (cyrb53) of a write's key and value. Two different writes at
 * one log position collide with probability about 2^-53: a lost write would
 * then pass as committed.
 */
export function writeHash(key: string, value: string | null): number {
  let h1 = 0xdeadbeef ^ key.length;
  let h2 = 0x41c6ce57 ^ (value === null ? 0x7fffffff : value.length);
  const mix = (text: string): void => {
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
  };
  mix(key);
  h1 = Math.imul(h1 ^ 0x1f, 2654435761); // between key and value
  if (value !== null) mix(value);
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** A history bigger than the checker holds, in one of its few per-entry structures: refused with the line. */
export class HistoryLimitError extends Error {
  override name = 'HistoryLimitError';
}

const pageSize = 65_536;

/**
 * The `committed` records as the checks need them: per log index, the term
 * and writeHash of the workload write there, in typed-array pages of 65,536
 * indexes (12 bytes an entry, nothing copied as it grows). A second term at
 * one index, or an index in a page past the last allowed (a hand-written
 * history), goes to a small map instead. A later record for the same
 * (index, term) replaces an earlier one. Past committedPagesMax pages and
 * committedSparseMax others, it throws HistoryLimitError: memory stays
 * bounded whatever the file says.
 */
export class CommittedLog {
  /** Per page: term + 1 per index (0: no entry), and the hash. */
  private readonly pages = new Map<number, { readonly terms: Uint32Array; readonly hashes: Float64Array }>();
  private readonly sparse = new Map<string, number>();
  private readonly sparseIndexes = new Set<number>();

  add(record: CommittedRecord): void {
    const hash = writeHash(record.key, record.value);
    const { index, term } = record;
    const number = Math.floor(index / pageSize);
    let page = this.pages.get(number);
    if (page === undefined && term < 0xffffffff && this.pages.size < committedPagesMax) {
      page = { terms: new Uint32Array(pageSize), hashes: new Float64Array(pageSize) };
      this.pages.set(number, page);
    }
    const slot = index % pageSize;
    if (page !== undefined && term < 0xffffffff && (page.terms[slot] === 0 || page.terms[slot] === term + 1)) {
      page.terms[slot] = term + 1;
      page.hashes[slot] = hash;
      return;
    }
    const key = positionKey(index, term);
    if (!this.sparse.has(key) && this.sparse.size >= committedSparseMax) {
      throw new HistoryLimitError(`"committed" record at index ${index} term ${term}: more committed entries than the checker holds (${committedPagesMax * pageSize} log indexes, ${committedSparseMax} more at other indexes or terms); is this one committed log?`);
    }
    this.sparse.set(key, hash);
    this.sparseIndexes.add(index);
  }

  /** Whether (index, term) holds the write with this key and value. */
  holds(index: number, term: number, key: string, value: string | null): boolean {
    const hash = writeHash(key, value);
    const page = this.pages.get(Math.floor(index / pageSize));
    if (page !== undefined && page.terms[index % pageSize] === term + 1) return page.hashes[index % pageSize] === hash;
    return this.sparse.get(positionKey(index, term)) === hash;
  }

  /** Whether any committed record is at this index. */
  hasIndex(index: number): boolean {
    const page = this.pages.get(Math.floor(index / pageSize));
    return (page !== undefined && page.terms[index % pageSize] !== 0) || this.sparseIndexes.has(index);
  }
}

/** What the history says about the end of the run; `log` null when it holds no final state. */
export interface FinalState {
  readonly log: LogRecord | null;
  readonly committed: CommittedLog;
  /** By "index:term": the nodes whose rollback files hold that entry. */
  readonly rolledBack: ReadonlyMap<string, readonly string[]>;
  readonly finals: readonly FinalRecord[];
}

/** Collects the final state record by record (it is at the end of the file, but need not be). */
export class FinalStateCollector {
  private log: LogRecord | null = null;
  private readonly committed = new CommittedLog();
  private readonly rolledBack = new Map<string, string[]>();
  private readonly finals: FinalRecord[] = [];

  observe(record: HistoryRecord): void {
    if (record.type === 'log') this.log = record;
    else if (record.type === 'committed') this.committed.add(record);
    else if (record.type === 'rolled-back') {
      const key = positionKey(record.index, record.term);
      const nodes = this.rolledBack.get(key);
      if (nodes === undefined) {
        if (this.rolledBack.size >= rolledBackMax) throw new HistoryLimitError(`more than ${rolledBackMax} "rolled-back" entries: more than the checker holds`);
        this.rolledBack.set(key, [record.node]);
      }
      else nodes.push(record.node);
    } else if (record.type === 'final') this.finals.push(record);
  }

  state(): FinalState {
    return { log: this.log, committed: this.committed, rolledBack: this.rolledBack, finals: this.finals };
  }
}

/** All final states' records, collected at once (for histories in memory). */
export function collectFinalState(records: readonly HistoryRecord[]): FinalState {
  const collector = new FinalStateCollector();
  for (const record of records) collector.observe(record);
  return collector.state();
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

/** An acknowledged write is lost when its (index, term) is not a committed workload write with its key and value. Never lost without a final log. */
export function isLost(write: WriteOk, final: FinalState): boolean {
  return final.log !== null && !final.committed.holds(write.index, write.term, write.key, write.value);
}

/** Confirms lost writes against the rollback files and the final rows; the rows are indexed once, on first use. */
export class LostWriteConfirmer {
  private holders: Map<string, string[]> | null = null;
  private readonly withRows: boolean;

  constructor(private readonly final: FinalState) {
    this.withRows = final.finals.some((f) => f.rows !== null);
  }

  confirm(write: WriteOk): LostConfirmation {
    const rolledBack = this.final.rolledBack.get(positionKey(write.index, write.term)) ?? [];
    if (rolledBack.length > 0) return { by: 'rollback', nodes: rolledBack };
    if (!this.withRows) return { by: 'log-only' };
    const holding = this.rowHolders().get(JSON.stringify([write.key, write.value, write.index])) ?? [];
    return holding.length === 0 ? { by: 'final-state' } : { by: 'unconfirmed', nodes: holding };
  }

  private rowHolders(): Map<string, string[]> {
    if (this.holders === null) {
      this.holders = new Map();
      for (const final of this.final.finals) {
        for (const row of final.rows ?? []) {
          const key = JSON.stringify(row);
          const nodes = this.holders.get(key) ?? [];
          if (!nodes.includes(final.node)) nodes.push(final.node);
          this.holders.set(key, nodes);
        }
      }
    }
    return this.holders;
  }
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
