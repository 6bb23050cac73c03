// A check report as text for people: the table of anomalies by kind and, for
// each kind, the operations involved, in plain text (the CLI) or Markdown
// (report.md in the run directory). Pure string building, no I/O.

import { anomalyKinds, type AnomalyKind, type CheckReport } from './check.js';
import type { DivergentReplicas, IndeterminateWrite, LostWrite } from './final.js';
import type { MonotonicReadViolation, ReadYourWritesViolation, StaleRead } from './online.js';
import { printable, quoted } from './printable.js';
import type { ReadOk, WriteInfo, WriteInvoke, WriteOk } from './records.js';

export const anomalyLabels: Readonly<Record<AnomalyKind, string>> = {
  lostWrites: 'lost writes',
  staleReads: 'stale reads',
  readYourWrites: 'read-your-writes',
  monotonicReads: 'monotonic reads',
  divergentReplicas: 'divergent replicas',
  indeterminate: 'indeterminate',
};

const valueCharsShown = 20;

/** A value from the file, quoted, cut to valueCharsShown, with control characters shown as escapes. */
function shown(value: string | null): string {
  if (value === null) return 'absent';
  return quoted(value.length > valueCharsShown ? `${value.slice(0, valueCharsShown)}…` : value);
}

/** Any other string from the file (keys, sessions, nodes, errors, checksums): printable as it stands. */
const p = printable;

/** Seconds since the first record, so times in one report line up. */
function at(mono: number, report: CheckReport): string {
  return `t=${((mono - (report.startMono ?? 0)) / 1000).toFixed(3)}s`;
}

function describeWrite(write: WriteOk, report: CheckReport): string {
  return `op ${write.op} (${p(write.session)}) write ${p(write.key)}=${shown(write.value)} acknowledged by ${p(write.node)} at ${at(write.mono, report)} as index ${write.index} term ${write.term}`;
}

function describeRead(read: ReadOk, report: CheckReport): string {
  const version = read.idx === null ? 'no row' : `idx ${read.idx} ${shown(read.value)}`;
  return `op ${read.op} (${p(read.session)}) read ${p(read.key)} on ${p(read.node)} at ${at(read.mono, report)} saw ${version}`;
}

function describeLost(lost: LostWrite, report: CheckReport): string {
  const { write, atIndex, confirmation } = lost;
  const there =
    atIndex === null
      ? `the final log (${p(report.log?.node ?? '?')}, committed to ${report.log?.commitIndex ?? '?'}) has no workload write at index ${write.index}`
      : atIndex.term !== write.term
        ? `index ${write.index} of the final log holds term ${atIndex.term} (${p(atIndex.key)}=${shown(atIndex.value)})`
        : `index ${write.index} term ${write.term} holds ${p(atIndex.key)}=${shown(atIndex.value)}, not this write`;
  const confirmed =
    confirmation.by === 'rollback'
      ? `rolled back on ${p(confirmation.nodes.join(', '))}`
      : confirmation.by === 'final-state'
        ? 'no node holds it in its final state'
        : confirmation.by === 'log-only'
          ? 'no final rows recorded to confirm'
          : `UNCONFIRMED: the final state of ${p(confirmation.nodes.join(', '))} still holds it`;
  return `${describeWrite(write, report)}; ${there}; ${confirmed}`;
}

function describeStale(stale: StaleRead, report: CheckReport): string {
  return `${describeRead(stale.read, report)} (invoked ${at(stale.invokedMono, report)}), but ${describeWrite(stale.missed, report)} before the read began`;
}

function describeReadYourWrites(violation: ReadYourWritesViolation, report: CheckReport): string {
  const asked = violation.minIndex === null ? 'no minIndex' : `minIndex ${violation.minIndex}`;
  return `session ${p(violation.session)}: ${describeRead(violation.read, report)} (${asked}) after its own ${describeWrite(violation.own, report)}`;
}

function describeMonotonic(violation: MonotonicReadViolation, report: CheckReport): string {
  return `session ${p(violation.session)}: ${describeRead(violation.read, report)} after ${describeRead(violation.earlier, report)}`;
}

function describeDivergence(divergence: DivergentReplicas): string {
  const nodes = Object.entries(divergence.checksums).map(([node, checksum]) => `${p(node)} ${p(checksum.slice(0, 12))}`);
  return `at applied index ${divergence.appliedIndex}: ${nodes.join(', ')}`;
}

function describeIndeterminate(indeterminate: IndeterminateWrite, report: CheckReport): string {
  const write: WriteInfo | WriteInvoke = indeterminate.write;
  const why = write.type === 'info' ? `${write.reason}: ${p(write.error)}` : 'never completed';
  const outcome =
    indeterminate.outcome === 'committed'
      ? `took effect: committed at index ${indeterminate.entry!.index} term ${indeterminate.entry!.term}`
      : indeterminate.outcome === 'absent'
        ? 'did not take effect: absent from the final log'
        : 'outcome unknown (no final log)';
  return `op ${write.op} (${p(write.session)}) write ${p(write.key)}=${shown(indeterminate.value)} at ${at(write.mono, report)} (${why}); ${outcome}`;
}

/** Every anomaly of one kind as one line each. */
export function describeAnomalies(report: CheckReport, kind: AnomalyKind): string[] {
  switch (kind) {
    case 'lostWrites':
      return report.lostWrites.map((a) => describeLost(a, report));
    case 'staleReads':
      return report.staleReads.map((a) => describeStale(a, report));
    case 'readYourWrites':
      return report.readYourWrites.map((a) => describeReadYourWrites(a, report));
    case 'monotonicReads':
      return report.monotonicReads.map((a) => describeMonotonic(a, report));
    case 'divergentReplicas':
      return report.divergentReplicas.map(describeDivergence);
    case 'indeterminate':
      return report.indeterminate.map((a) => describeIndeterminate(a, report));
  }
}

function note(report: CheckReport, kind: AnomalyKind): string {
  if ((report.unchecked as readonly string[]).includes(kind)) return 'not checked: the history has no final state';
  if (kind === 'indeterminate' && report.counts.indeterminate > 0) {
    const committed = report.indeterminate.filter((i) => i.outcome === 'committed').length;
    const absent = report.indeterminate.filter((i) => i.outcome === 'absent').length;
    return report.log === null ? 'not anomalies: outcome unknown' : `not anomalies: ${committed} took effect, ${absent} did not`;
  }
  return '';
}

export function verdictLine(report: CheckReport): string {
  if (report.valid) return `verdict: VALID${report.unchecked.length > 0 ? ` (unchecked: ${report.unchecked.map((k) => anomalyLabels[k]).join(', ')})` : ''}`;
  const total = anomalyKinds.filter((k) => k !== 'indeterminate').reduce((sum, k) => sum + report.counts[k], 0);
  return `verdict: INVALID: ${total} anomal${total === 1 ? 'y' : 'ies'}`;
}

/** The terminal form: operations, the table by kind, the first few of each kind, the verdict. */
export function formatText(report: CheckReport, options: { readonly examplesShown?: number; readonly heading?: readonly string[] } = {}): string {
  const examplesShown = options.examplesShown ?? 5;
  const lines: string[] = (options.heading ?? []).map((line) => printable(line, { backslash: false }));
  const { reads, writes } = report;
  lines.push(`operations: ${report.operations.ok} ok, ${report.operations.fail} fail, ${report.operations.info} info (writes ${writes.ok}/${writes.fail}/${writes.info}, reads ${reads.ok}/${reads.fail})`);
  lines.push('');
  lines.push(`${'anomaly'.padEnd(20)}${'count'.padStart(7)}`);
  for (const kind of anomalyKinds) {
    const extra = note(report, kind);
    lines.push(`${anomalyLabels[kind].padEnd(20)}${String(report.counts[kind]).padStart(7)}${extra === '' ? '' : `   ${extra}`}`);
  }
  for (const kind of examplesShown === 0 ? [] : anomalyKinds) {
    const described = describeAnomalies(report, kind);
    if (described.length === 0) continue;
    lines.push('');
    const count = report.counts[kind];
    lines.push(`${anomalyLabels[kind]} (${Math.min(examplesShown, count)} of ${count}):`);
    for (const line of described.slice(0, examplesShown)) lines.push(`  ${line}`);
  }
  lines.push('');
  lines.push(verdictLine(report));
  return `${lines.join('\n')}\n`;
}

/** A string from the file in a Markdown table cell: printable, and a `|` cannot end the cell. */
function cell(text: string): string {
  return printable(text).replace(/\|/g, '\\|');
}

/** The Markdown form for report.md: the same table, and every kept anomaly. */
export function formatMarkdown(report: CheckReport, options: { readonly title: string; readonly preamble?: readonly string[]; readonly examplesShown?: number }): string {
  const examplesShown = options.examplesShown ?? 200;
  const lines: string[] = [`# ${options.title}`, '', ...(options.preamble ?? [])];
  lines.push(`**${verdictLine(report).replace('verdict: ', 'Verdict: ')}**`, '');
  lines.push(`Operations: ${report.operations.ok} ok, ${report.operations.fail} fail, ${report.operations.info} info — writes ${report.writes.ok} ok / ${report.writes.fail} fail / ${report.writes.info} info, reads ${report.reads.ok} ok / ${report.reads.fail} fail.`, '');
  lines.push('| anomaly | count | note |', '|---|---:|---|');
  for (const kind of anomalyKinds) lines.push(`| ${anomalyLabels[kind]} | ${report.counts[kind]} | ${note(report, kind)} |`);
  if (report.finals.length > 0) {
    lines.push('', '## Final state', '', '| node | applied index | checksum |', '|---|---:|---|');
    for (const final of report.finals) lines.push(`| ${cell(final.node)} | ${final.appliedIndex} | \`${cell(final.checksum.slice(0, 16)).replace(/`/g, "'")}\` |`);
    if (report.log !== null) lines.push('', `Committed log read from ${p(report.log.node)}'s WAL: committed to index ${report.log.commitIndex} (last index ${report.log.lastIndex}).`);
  }
  for (const kind of anomalyKinds) {
    const described = describeAnomalies(report, kind);
    if (described.length === 0) continue;
    const count = report.counts[kind];
    lines.push('', `## ${anomalyLabels[kind]} (${count})`, '');
    for (const line of described.slice(0, examplesShown)) lines.push(`- ${line}`);
    if (count > Math.min(examplesShown, described.length)) lines.push(`- … and ${count - Math.min(examplesShown, described.length)} more`);
  }
  return `${lines.join('\n')}\n`;
}
