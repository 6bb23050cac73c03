// The two charts side by side: replay lag per follower, and the consistency
// figures (stale reads, lost acknowledged writes, divergence, applied vs commit).

import { Box, Text } from 'ink';
import { useMemo } from 'react';
import type { NodeId } from '../../cluster/index.js';
import { consistencyLegend, consistencySeries, lagLegend, lagSeries } from '../charts/chart-data.js';
import { chartHistoryMs } from '../constants.js';
import { formatCount, formatMs } from '../format.js';
import type { Sample } from '../state/dashboard-state.js';
import { ChartPanel } from './chart-panel.js';

export interface ChartProps {
  readonly samples: readonly Sample[];
  readonly width: number;
  readonly rows: number;
  readonly color: boolean;
  readonly onDrawn?: (ms: number) => void;
}

const windowText = `last ${Math.round(chartHistoryMs / 1_000)} s`;

/** Lag on the axis: as the table writes it, but 7.5ms stays 7.5ms (half of a 15 ms axis). */
function formatAxisMs(ms: number): string {
  return ms < 10 && !Number.isInteger(ms) ? `${ms.toFixed(1)}ms` : formatMs(ms);
}

export function LagChart({ samples, ids, width, rows, color, onDrawn, leaderWord = 'leads' }: ChartProps & { readonly ids: readonly NodeId[]; readonly leaderWord?: string }) {
  const series = useMemo(() => lagSeries(samples, ids), [samples, ids]);
  const legend = useMemo(() => lagLegend(samples, ids, formatMs, leaderWord), [samples, ids, leaderWord]);
  return (
    <ChartPanel
      title={`replay lag, ${windowText}`}
      formatY={formatAxisMs}
      series={series}
      legend={legend}
      maxYAtLeast={10}
      width={width}
      rows={rows}
      color={color}
      {...(onDrawn === undefined ? {} : { onDrawn })}
    />
  );
}

export function ConsistencyChart({ samples, width, rows, color, onDrawn }: ChartProps) {
  const series = useMemo(() => consistencySeries(samples), [samples]);
  const legend = useMemo(() => consistencyLegend(samples), [samples]);
  return (
    <ChartPanel
      title={`consistency, ${windowText}`}
      formatY={formatCount}
      series={series}
      legend={legend}
      maxYAtLeast={4}
      width={width}
      rows={rows}
      color={color}
      {...(onDrawn === undefined ? {} : { onDrawn })}
    />
  );
}

export interface ChartsRowProps {
  readonly samples: readonly Sample[];
  readonly ids: readonly NodeId[];
  readonly lagWidth: number;
  readonly consistencyWidth: number;
  readonly rows: number;
  readonly color: boolean;
  readonly onDrawn?: (ms: number) => void;
  /** What the lag legend says of the node that has no lag because it leads ('leads'; 'primary' on PostgreSQL). */
  readonly leaderWord?: string;
}

export function ChartsRow({ samples, ids, lagWidth, consistencyWidth, rows, color, onDrawn, leaderWord }: ChartsRowProps) {
  const drawn = onDrawn === undefined ? {} : { onDrawn };
  return (
    <Box flexDirection="row" height={rows + 2}>
      <LagChart samples={samples} ids={ids} width={lagWidth} rows={rows} color={color} {...drawn} {...(leaderWord === undefined ? {} : { leaderWord })} />
      <Box flexDirection="column" width={1}>
        {Array.from({ length: rows + 2 }, (_, i) => (
          <Text key={i} dimColor={color}>
            │
          </Text>
        ))}
      </Box>
      <ConsistencyChart samples={samples} width={consistencyWidth} rows={rows} color={color} {...drawn} />
    </Box>
  );
}
