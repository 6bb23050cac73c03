// What a `sql` or `read` command returned, as a table; Esc closes it.

import { Box } from 'ink';
import { fit, padRight } from '../format.js';
import type { ResultView } from '../state/dashboard-state.js';
import { SegmentLine } from './segments.js';

export interface ResultPaneProps {
  readonly result: ResultView;
  readonly width: number;
  readonly rows: number;
  readonly color: boolean;
}

const cellWidthMax = 40;

export function ResultPane({ result, width, rows, color }: ResultPaneProps) {
  const widths = result.columns.map((column, i) => Math.min(cellWidthMax, Math.max(column.length, ...result.rows.map((row) => (row[i] ?? '').length))));
  const line = (cells: readonly string[]) => cells.map((cell, i) => padRight(fit(cell, widths[i]!), widths[i]!)).join('  ');
  const bodyRows = Math.max(0, rows - 3);
  const shown = result.rows.slice(0, bodyRows);
  const hidden = result.rows.length - shown.length;
  const note = [result.note, hidden > 0 ? `${hidden} more row${hidden === 1 ? '' : 's'} not shown` : null].filter((n) => n !== null).join('; ');
  return (
    <Box flexDirection="column" height={rows} width={width}>
      <SegmentLine segments={[{ text: result.title, bold: true, color: 'cyan' }, { text: '   Esc closes', dim: true }]} width={width} color={color} />
      <SegmentLine segments={[{ text: result.columns.length === 0 ? '(no columns)' : line(result.columns), bold: true }]} width={width} color={color} />
      {shown.length === 0 ? <SegmentLine segments={[{ text: '(no rows)', dim: true }]} width={width} color={color} /> : null}
      {shown.map((row, i) => (
        <SegmentLine key={i} segments={[{ text: line(row) }]} width={width} color={color} />
      ))}
      {note === '' ? null : <SegmentLine segments={[{ text: note, dim: true }]} width={width} color={color} />}
    </Box>
  );
}
