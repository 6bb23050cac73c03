// A tiny builder for hand-written histories: each call appends one record and
// advances the monotonic clock by 1 ms, so "before" is simply "earlier line".

import type { HistoryRecord, InfoReason } from '../../cluster/check/index.js';

interface OpInfo {
  readonly f: 'write' | 'read';
  readonly client: string;
  readonly session: string;
  readonly key: string;
  readonly value: string | null;
}

export class History {
  readonly records: HistoryRecord[] = [];
  private mono = 0;
  private readonly ops = new Map<number, OpInfo>();

  private now(): { wall: number; mono: number } {
    this.mono += 1;
    return { wall: 1_700_000_000_000 + this.mono, mono: this.mono };
  }

  private base(op: number): { op: number; f: 'write' | 'read'; client: string; session: string; key: string; wall: number; mono: number } {
    const info = this.ops.get(op);
    if (info === undefined) throw new Error(`op ${op} was never invoked`);
    return { op, f: info.f, client: info.client, session: info.session, key: info.key, ...this.now() };
  }

  write(op: number, key: string, value: string, session = 's1'): this {
    this.ops.set(op, { f: 'write', client: session, session, key, value });
    this.records.push({ type: 'invoke', f: 'write', op, client: session, session, key, ...this.now(), node: 'n1', value });
    return this;
  }

  read(op: number, key: string, session = 's1', options: { node?: string; minIndex?: number } = {}): this {
    this.ops.set(op, { f: 'read', client: session, session, key, value: null });
    this.records.push({ type: 'invoke', f: 'read', op, client: session, session, key, ...this.now(), node: options.node ?? 'n2', consistency: 'local', minIndex: options.minIndex ?? null });
    return this;
  }

  ok(op: number, result: { index: number; term?: number; node?: string } | { idx: number | null; value?: string | null; node?: string }): this {
    const base = this.base(op);
    const info = this.ops.get(op)!;
    if (base.f === 'write') {
      const { index, term = 1, node = 'n1' } = result as { index: number; term?: number; node?: string };
      this.records.push({ ...base, type: 'ok', f: 'write', node, value: info.value!, index, term });
    } else {
      const { idx, value = idx === null ? null : `v@${idx}`, node = 'n2' } = result as { idx: number | null; value?: string | null; node?: string };
      this.records.push({ ...base, type: 'ok', f: 'read', node, value, idx, appliedIndex: idx ?? 0 });
    }
    return this;
  }

  fail(op: number, error = 'refused'): this {
    this.records.push({ ...this.base(op), type: 'fail', node: null, error });
    return this;
  }

  info(op: number, reason: InfoReason = 'timeout', index: number | null = null): this {
    const base = this.base(op);
    if (base.f !== 'write') throw new Error('info is for writes');
    this.records.push({ ...base, type: 'info', f: 'write', node: 'n1', error: `${reason}!`, reason, index });
    return this;
  }

  final(node: string, appliedIndex: number, checksum: string, rows: [string, string | null, number | null][] | null = null): this {
    this.records.push({ type: 'final', node, appliedIndex, checksum, rows });
    return this;
  }

  log(commitIndex: number, node = 'n1'): this {
    this.records.push({ type: 'log', node, commitIndex, lastIndex: commitIndex });
    return this;
  }

  committed(index: number, term: number, key: string, value: string | null): this {
    this.records.push({ type: 'committed', index, term, key, value });
    return this;
  }

  rolledBack(node: string, index: number, term: number, key: string, value: string | null): this {
    this.records.push({ type: 'rolled-back', node, index, term, key, value });
    return this;
  }

  /** The history as a JSONL file's contents. */
  text(): string {
    return this.records.map((r) => `${JSON.stringify(r)}\n`).join('');
  }
}
