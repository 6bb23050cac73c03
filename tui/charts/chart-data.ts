// From the sample history to the lines of the two charts, and the legend
// entries that name them. Pure: the chart components only draw what this says.

import type { NodeId } from '../../cluster/index.js';
import type { Sample } from '../state/dashboard-state.js';
import type { ChartColor, ChartSeries } from './line-chart.js';

export interface LegendEntry {
  readonly mark: string;
  readonly label: string;
  /** For narrow charts; '' shows the mark and value alone. */
  readonly shortLabel: string;
  /** The newest value, formatted; "n/a" when there is none. */
  readonly value: string;
  readonly color: ChartColor;
}

const nodeColors: readonly ChartColor[] = ['cyan', 'magenta', 'yellow', 'green', 'blue', 'white', 'red'];

/** A node keeps its colour whatever its role. */
export function nodeColor(id: NodeId, ids: readonly NodeId[]): ChartColor {
  const index = Math.max(0, ids.indexOf(id));
  return nodeColors[index % nodeColors.length]!;
}

/** The character that marks a node's line: its number. */
export function nodeMark(id: NodeId): string {
  return id.replace(/^n/, '');
}

/** One line per node that was a measured follower at some point in the window; gaps read as 0. */
export function lagSeries(samples: readonly Sample[], ids: readonly NodeId[]): ChartSeries[] {
  const measured = ids.filter((id) => samples.some((sample) => id in sample.replayLagMs));
  return measured.map((id) => ({
    title: id,
    values: samples.map((sample) => sample.replayLagMs[id] ?? 0),
    color: nodeColor(id, ids),
    endLabel: nodeMark(id),
  }));
}

export function lagLegend(samples: readonly Sample[], ids: readonly NodeId[], format: (ms: number) => string, leaderWord = 'leads'): LegendEntry[] {
  const newest = samples[samples.length - 1];
  const leader = newest?.leader ?? null;
  return lagSeries(samples, ids).map((series) => {
    const value = newest?.replayLagMs[series.title];
    const text = value !== undefined ? format(value) : series.title === leader ? leaderWord : '–';
    return { mark: series.endLabel, label: series.title, shortLabel: '', value: text, color: series.color };
  });
}

interface ConsistencyLine {
  readonly key: 'stale' | 'lost' | 'divergent' | 'uncommitted';
  readonly mark: string;
  readonly label: string;
  readonly shortLabel: string;
  readonly color: ChartColor;
  readonly value: (sample: Sample) => number | null;
}

const consistencyLines: readonly ConsistencyLine[] = [
  { key: 'stale', mark: 'S', label: 'stale reads/s', shortLabel: 'stale/s', color: 'yellow', value: (s) => s.staleReadsPerSecond },
  { key: 'lost', mark: 'L', label: 'lost acked writes', shortLabel: 'lost', color: 'red', value: (s) => s.lostWrites },
  { key: 'divergent', mark: 'D', label: 'divergent replicas', shortLabel: 'div', color: 'magenta', value: (s) => s.divergentReplicas },
  { key: 'uncommitted', mark: 'U', label: 'applied beyond commit', shortLabel: 'ahead', color: 'cyan', value: (s) => s.uncommittedVisible },
];

export function consistencySeries(samples: readonly Sample[]): ChartSeries[] {
  return consistencyLines
    .filter((line) => samples.some((sample) => line.value(sample) !== null))
    .map((line) => ({ title: line.label, values: samples.map((sample) => line.value(sample) ?? 0), color: line.color, endLabel: line.mark }));
}

export function consistencyLegend(samples: readonly Sample[]): LegendEntry[] {
  const newest = samples[samples.length - 1];
  return consistencyLines.map((line) => {
    const value = newest === undefined ? null : line.value(newest);
    return { mark: line.mark, label: line.label, shortLabel: line.shortLabel, value: value === null ? 'n/a' : String(Math.round(value * 10) / 10), color: line.color };
  });
}
