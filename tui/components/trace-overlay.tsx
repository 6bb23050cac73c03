// The `:trace` overlay: the X-ray of one write (cluster/trace/format.ts) in
// the body's rows, ↑↓ PgUp PgDn to scroll, Esc to close.

import { Box } from 'ink';
import { useMemo } from 'react';
import { formatTrace, type WriteTrace } from '../../cluster/index.js';
import { SegmentLine } from './segments.js';

export interface TraceOverlayProps {
  readonly trace: WriteTrace;
  readonly width: number;
  readonly rows: number;
  /** The first line shown; clamped to what fits. */
  readonly scroll: number;
  readonly color: boolean;
}

/** The overlay's lines at a width (the keys use their count to bound the scroll). */
export function traceLines(trace: WriteTrace, width: number): string[] {
  return formatTrace(trace, { width });
}

export function TraceOverlay({ trace, width, rows, scroll, color }: TraceOverlayProps) {
  const lines = useMemo(() => traceLines(trace, width), [trace, width]);
  const page = Math.max(1, rows - 1);
  const first = Math.max(0, Math.min(scroll, lines.length - page));
  const shown = lines.slice(first, first + page);
  const where = lines.length > page ? `${first + 1}–${first + shown.length}/${lines.length} ↑↓ PgDn · ` : '';
  return (
    <Box flexDirection="column" height={rows} width={width}>
      <SegmentLine segments={[{ text: `the X-ray of one write (index ${trace.index})`, bold: true, color: 'cyan' }, { text: `   ${where}Esc closes`, dim: true }]} width={width} color={color} />
      {shown.map((line, i) => (
        <SegmentLine key={first + i} segments={[{ text: line, ...(line.startsWith('critical path') || line.startsWith('where the time went') ? { bold: true } : {}) }]} width={width} color={color} />
      ))}
    </Box>
  );
}
