// The newest events that fit, oldest at the top, each with its time.

import { Box } from 'ink';
import { formatClock } from '../format.js';
import type { LogLevel, LogLine } from '../state/event-log.js';
import { SegmentLine, type InkColor, type Segment } from './segments.js';

export interface EventLogProps {
  readonly lines: readonly LogLine[];
  readonly width: number;
  /** Event rows, without the title. */
  readonly rows: number;
  readonly color: boolean;
}

const levelMark: Record<LogLevel, { readonly glyph: string; readonly color: InkColor | undefined }> = {
  info: { glyph: ' ', color: undefined },
  notice: { glyph: '•', color: 'green' },
  warn: { glyph: '!', color: 'yellow' },
  error: { glyph: '✕', color: 'red' },
};

export function EventLog({ lines, width, rows, color }: EventLogProps) {
  const shown = rows > 0 ? lines.slice(-rows) : [];
  return (
    <Box flexDirection="column" width={width} height={rows + 1}>
      <SegmentLine segments={[{ text: 'events', bold: true }, { text: lines.length === 0 ? '  (none yet)' : '', dim: true }]} width={width} color={color} />
      {shown.map((line, i) => {
        const mark = levelMark[line.level];
        const segments: Segment[] = [
          { text: `${formatClock(line.atMs)} `, dim: true },
          { text: `${mark.glyph} `, bold: true, ...(mark.color === undefined ? {} : { color: mark.color }) },
          { text: line.text, ...(line.level === 'error' ? { color: 'red' as const } : {}) },
          { text: line.repeat > 1 ? ` (×${line.repeat})` : '', dim: true },
        ];
        return <SegmentLine key={`${i}-${line.atMs}`} segments={segments} width={width} color={color} />;
      })}
    </Box>
  );
}
