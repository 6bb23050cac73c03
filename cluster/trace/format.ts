// A traced write as text, for `replica-lab trace` and the dashboard's `:trace`:
// the timeline (one block of rows per process, a bar per span on a shared time
// axis), the critical path, where the time went, the acks and why.

import type { TraceLane, TraceSpan, WriteTrace } from './types.js';

export interface TraceFormatOptions {
  readonly width: number;
  /** Leave out the critical path's step list (the dashboard shows it on scroll only when asked). */
  readonly path?: boolean;
}

const labelWidth = 28;
const numberWidth = 9;

const us = (value: number): string => `${Math.round(value)}`;

function pad(text: string, width: number): string {
  return text.length >= width ? text.slice(0, width) : text + ' '.repeat(width - text.length);
}

function padLeft(text: string, width: number): string {
  return text.length >= width ? text : ' '.repeat(width - text.length) + text;
}

/** Words wrapped to `width` columns, continuation lines indented. */
export function wrap(text: string, width: number, indent = '  '): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    const next = line === '' ? word : `${line} ${word}`;
    if (next.length > width && line !== '') {
      lines.push(line);
      line = indent + word;
    } else line = next;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The lines of the whole report, each at most `width` columns. */
export function formatTrace(trace: WriteTrace, options: TraceFormatOptions): string[] {
  const width = Math.max(60, options.width);
  const out: string[] = [];
  const { rule } = trace;
  const ruleText = rule.mode === 'quorum' ? `quorum ${rule.quorum} of ${trace.followers.length + 1}` : rule.mode === 'sync' ? `sync (${rule.syncStandbys.join(', ') || 'no standbys'})` : 'async';
  const statement = trace.sql.replace(/\s+/g, ' ');
  out.push(...wrap(`trace: ${statement} → index ${trace.index}, term ${trace.term}, leader ${trace.leader} · ${ruleText}, ack ${rule.ackLevel} · fsync ${trace.fsync ? 'on' : 'off'}`, width));
  const total = trace.summary.totalUs;
  out.push(...wrap(`client latency ${us(trace.clientLatencyUs)} µs as the client measured it; the critical path's spans sum to ${us(total)} µs. Times: µs of ${trace.clock}.`, width));
  out.push('');
  out.push(...timeline(trace, width));
  out.push('');
  if (options.path !== false) {
    out.push(`critical path, client send → client receive (${us(total)} µs):`);
    const pathLabel = width - 2 - 10 - numberWidth;
    for (const step of trace.criticalPath) {
      const where = step.category === 'network' ? step.category : `${step.category} ${step.lane}`;
      out.push(`  ${pad(step.label, pathLabel)}${pad(where, 10)}${padLeft(us(step.durationUs), numberWidth)}`);
    }
    out.push('');
  }
  out.push(...whereTheTimeWent(trace, width));
  out.push('');
  out.push(...ackTable(trace));
  out.push('');
  for (const line of trace.explanation) out.push(...wrap(line, width));
  if (trace.missing.length > 0) out.push(...wrap(`not seen: ${trace.missing.join('; ')}`, width));
  if (trace.problems.length > 0) out.push(...wrap(`clock problems: ${trace.problems.join('; ')}`, width));
  return out;
}

function timeline(trace: WriteTrace, width: number): string[] {
  const barWidth = width - labelWidth - numberWidth - 1;
  let end = trace.summary.totalUs;
  for (const lane of trace.lanes) {
    for (const s of lane.spans) end = Math.max(end, s.startUs + s.durationUs);
    for (const m of lane.marks) end = Math.max(end, m.atUs);
  }
  end = Math.max(1, end);
  const column = (t: number): number => Math.max(0, Math.min(barWidth - 1, Math.floor((t / end) * barWidth)));
  const lines: string[] = [];
  const axisEnd = `${us(end)} µs`;
  lines.push(`${pad('process  stage', labelWidth)}${pad('0', barWidth - axisEnd.length)}${axisEnd}${padLeft('µs', numberWidth + 1)}`);
  const bar = (s: TraceSpan): string => {
    const chars = Array.from({ length: barWidth }, () => ' ');
    const from = column(s.startUs);
    const to = Math.max(from, column(s.startUs + s.durationUs) - 1);
    const wide = (s.durationUs / end) * barWidth >= 0.5;
    for (let i = from; i <= to; i++) chars[i] = wide ? '█' : '▏';
    return chars.join('');
  };
  for (const lane of trace.lanes) {
    const name = laneName(lane);
    lane.spans.forEach((s, i) => {
      lines.push(`${pad(i === 0 ? name : '', 9)}${pad(s.label, labelWidth - 9)}${bar(s)}${padLeft(us(s.durationUs), numberWidth + 1)}`);
    });
    if (lane.marks.length > 0) {
      const chars = Array.from({ length: barWidth }, () => ' ');
      for (const m of lane.marks) chars[column(m.atUs)] = m.glyph;
      const legend = lane.role === 'follower' ? 'acks sent r f a, c commit' : 'C commit';
      lines.push(`${pad(lane.spans.length === 0 ? name : '', 9)}${pad(legend, labelWidth - 9)}${chars.join('')}`);
    }
  }
  return lines;
}

function laneName(lane: TraceLane): string {
  return lane.role === 'client' ? 'client' : lane.role === 'leader' ? `${lane.id} lead` : lane.id;
}

function whereTheTimeWent(trace: WriteTrace, width: number): string[] {
  const s = trace.summary;
  const parts = (values: Readonly<Record<string, number>>): string =>
    Object.entries(values)
      .sort((a, b) => b[1] - a[1])
      .map(([lane, value]) => `${lane} ${us(value)}`)
      .join(', ');
  const text = [
    `network ${us(s.networkUs)} µs`,
    `disk ${Object.keys(s.diskUs).length === 0 ? '0 µs' : `${parts(s.diskUs)} µs`}`,
    `cpu ${Object.keys(s.cpuUs).length === 0 ? '0 µs' : `${parts(s.cpuUs)} µs`}`,
  ].join(' · ');
  const lines = wrap(`where the time went (critical path, ${us(s.totalUs)} µs): ${text}`, width);
  const decided = trace.decidedBy === 'leader-fsync' ? `${trace.leader}'s own fdatasync came last and decided` : `${trace.decidedBy}'s ack decided`;
  lines.push(...wrap(`waiting for the quorum: after its own fdatasync the leader waited ${us(s.quorumWaitUs)} µs for the followers (${decided}).`, width));
  return lines;
}

function ackTable(trace: WriteTrace): string[] {
  if (trace.followers.length === 0) return ['no followers: a single node answers once its own fdatasync is done'];
  const cell = (value: number | null): string => padLeft(value === null ? '—' : `+${us(value)}`, 11);
  const lines = [`acks reaching ${trace.leader}, µs after the send:`, `${pad('', 8)}${padLeft('received', 11)}${padLeft('flushed', 11)}${padLeft('applied', 11)}`];
  for (const f of trace.followers) {
    const a = trace.acks[f];
    const decided = trace.decidedBy === f ? `  ← decided (${trace.rule.ackLevel})` : '';
    lines.push(`  ${pad(f, 6)}${cell(a?.received ?? null)}${cell(a?.flushed ?? null)}${cell(a?.applied ?? null)}${decided}`);
  }
  return lines;
}
