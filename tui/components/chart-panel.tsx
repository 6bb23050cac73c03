// A titled chart with its legend: the drawing comes from blessed-contrib as
// text (see charts/line-chart.ts), redrawn only when its data or size changes.

import { Box, Text } from 'ink';
import { useEffect, useMemo, useRef } from 'react';
import type { LegendEntry } from '../charts/chart-data.js';
import { LineChartRenderer, type ChartDrawing, type ChartSeries } from '../charts/line-chart.js';
import { SegmentLine, type Segment } from './segments.js';

export interface ChartPanelProps {
  readonly title: string;
  /** Writes a value of the y axis: the labels beside the axis and the range in the heading, in one unit. */
  readonly formatY: (value: number) => string;
  readonly series: readonly ChartSeries[];
  readonly legend: readonly LegendEntry[];
  readonly maxYAtLeast: number;
  readonly width: number;
  /** Rows of the drawing; the panel adds a title line and a legend line. */
  readonly rows: number;
  readonly color: boolean;
  /** Called with how long each drawing took, for the frame-time report. */
  readonly onDrawn?: (ms: number) => void;
}

/** Keeps one off-screen renderer per panel and destroys it with the panel. */
function useChartRenderer(): () => LineChartRenderer {
  const renderer = useRef<LineChartRenderer | null>(null);
  useEffect(
    () => () => {
      renderer.current?.destroy();
      renderer.current = null;
    },
    [],
  );
  return () => (renderer.current ??= new LineChartRenderer());
}

export function ChartPanel({ title, formatY, series, legend, maxYAtLeast, width, rows, color, onDrawn }: ChartPanelProps) {
  const renderer = useChartRenderer();
  const drawing: ChartDrawing = useMemo(() => {
    const started = performance.now();
    const drawn = renderer().render({ width, height: rows, series, maxYAtLeast, formatY, color });
    onDrawn?.(performance.now() - started);
    return drawn;
    // Series are rebuilt exactly when their samples change, so their identity is the data's.
  }, [series, width, rows, color, maxYAtLeast, formatY]);
  const axis = `0–${formatY(drawing.maxY)}`;
  const titleSegments: Segment[] = [
    { text: title, bold: true },
    { text: ' '.repeat(Math.max(1, width - title.length - axis.length)) },
    { text: axis, dim: true },
  ];
  // Narrow: short labels, single spaces, and a dash for "not available".
  const short = legend.map((entry) => `${entry.mark} ${entry.label} ${entry.value}`).join('  ').length > width;
  const legendSegments: Segment[] = legend.flatMap((entry, i): Segment[] => {
    const label = short ? entry.shortLabel : entry.label;
    return [
      ...(i === 0 ? [] : [{ text: short ? ' ' : '  ' }]),
      { text: entry.mark, color: entry.color, bold: true },
      { text: label === '' ? ' ' : ` ${label} ` },
      { text: short && entry.value === 'n/a' ? '–' : entry.value, color: entry.color },
    ];
  });
  return (
    <Box flexDirection="column" width={width}>
      <SegmentLine segments={titleSegments} width={width} color={color} />
      {drawing.lines.map((line, i) => (
        <Text key={i} wrap="truncate">
          {line}
        </Text>
      ))}
      <SegmentLine segments={legend.length === 0 ? [{ text: 'no follower measured yet', dim: true }] : legendSegments} width={width} color={color} />
    </Box>
  );
}
