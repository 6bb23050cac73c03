import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { consistencyLegend, consistencySeries, lagLegend, lagSeries } from '../../tui/charts/chart-data.js';
import { LineChartRenderer, niceCeiling } from '../../tui/charts/line-chart.js';
import { ConsistencyChart, LagChart } from '../../tui/components/charts.js';
import { formatCount, formatMs } from '../../tui/format.js';
import type { Sample } from '../../tui/state/dashboard-state.js';
import { escape, stripAnsi } from './helpers.js';

const ids = ['n1', 'n2', 'n3'];

/** 60 s of samples: n2 steady at a few ms, n3 falling behind for the last 10 s, n1 leading. */
function samples(options: { stale?: boolean; lost?: number } = {}): Sample[] {
  return Array.from({ length: 120 }, (_, i) => ({
    atMs: 1_000_000 + i * 500,
    leader: 'n1',
    replayLagMs: { n2: 3 + (i % 3), n3: i < 100 ? 2 : (i - 100) * 250 },
    staleReadsPerSecond: options.stale === true ? (i % 10) / 2 : null,
    lostWrites: i > 60 ? (options.lost ?? 0) : 0,
    divergentReplicas: 0,
    uncommittedVisible: i % 2,
  }));
}

const renderers: LineChartRenderer[] = [];
afterEach(() => {
  for (const renderer of renderers.splice(0)) renderer.destroy();
});

describe('the chart drawing (blessed-contrib, off-screen)', () => {
  it('draws exactly width × height, in colour or without', () => {
    const renderer = new LineChartRenderer();
    renderers.push(renderer);
    const series = lagSeries(samples(), ids);
    const coloured = renderer.render({ width: 39, height: 8, series, maxYAtLeast: 10, formatY: formatMs, color: true });
    expect(coloured.lines).toHaveLength(8);
    for (const line of coloured.lines) expect(stripAnsi(line)).toHaveLength(39);
    expect(coloured.lines.join('\n')).toContain(escape);
    expect(coloured.maxY).toBe(5_000);
    const plain = renderer.render({ width: 39, height: 8, series, maxYAtLeast: 10, formatY: formatMs, color: false });
    expect(plain.lines.join('\n')).not.toContain(escape);
    // Braille cells carry the lines; each line ends with its node's number.
    expect(plain.lines.join('\n')).toMatch(/[⠁-⣿]/);
    expect(plain.lines.join('\n')).toMatch(/3/);
    // Redrawing at another size rebuilds the off-screen screen.
    expect(renderer.render({ width: 60, height: 12, series, maxYAtLeast: 10, formatY: formatMs, color: false }).lines.map((line) => line.length)).toEqual(Array(12).fill(60));
  });

  it('keeps a scale for an all-zero chart and leaves no process listener behind', () => {
    const before = process.listenerCount('SIGINT') + process.listenerCount('uncaughtException');
    const renderer = new LineChartRenderer();
    renderers.push(renderer);
    const drawing = renderer.render({ width: 40, height: 6, series: [{ title: 'x', values: [0, 0, 0], color: 'cyan', endLabel: 'x' }], maxYAtLeast: 4, formatY: formatCount, color: false });
    expect(drawing.maxY).toBe(4);
    expect(drawing.lines.join('\n')).toMatch(/^0 /m);
    expect(process.listenerCount('SIGINT') + process.listenerCount('uncaughtException')).toBe(before);
  });

  it('rounds axis tops up to 1, 1.5, 2, 3, 4, 5, 6 or 8 times a power of ten', () => {
    expect([0, 0.3, 4, 11, 260, 4_000, 7_500, 9_000].map(niceCeiling)).toEqual([1, 0.3, 4, 15, 300, 4_000, 8_000, 10_000]);
  });
});

describe('chart data', () => {
  it('gives one lag line per measured follower, in the node’s colour, and says who leads', () => {
    const series = lagSeries(samples(), ids);
    expect(series.map((s) => [s.title, s.color, s.endLabel])).toEqual([
      ['n2', 'magenta', '2'],
      ['n3', 'yellow', '3'],
    ]);
    expect(series[1]!.values.at(-1)).toBe(19 * 250);
    expect(lagLegend(samples(), ids, formatMs).map((e) => `${e.label} ${e.value}`)).toEqual(['n2 5ms', 'n3 4.8s']);
    // After a failover the old follower n2 leads: its line stays, its legend says so.
    const failover = [...samples(), { ...samples()[0]!, atMs: 2_000_000, leader: 'n2', replayLagMs: { n3: 1 } }];
    expect(lagLegend(failover, ids, formatMs).map((e) => `${e.label} ${e.value}`)).toEqual(['n2 leads', 'n3 1ms']);
    // On PostgreSQL the dashboard passes its own word: a promoted standby is the primary.
    expect(lagLegend(failover, ids, formatMs, 'primary').map((e) => `${e.label} ${e.value}`)).toEqual(['n2 primary', 'n3 1ms']);
  });

  it('plots stale reads only when the workload reports them', () => {
    expect(consistencySeries(samples()).map((s) => s.title)).toEqual(['lost acked writes', 'divergent replicas', 'applied beyond commit']);
    expect(consistencySeries(samples({ stale: true })).map((s) => s.title)).toEqual(['stale reads/s', 'lost acked writes', 'divergent replicas', 'applied beyond commit']);
    expect(consistencyLegend(samples({ lost: 3 })).map((e) => `${e.mark} ${e.label} ${e.value}`)).toEqual(['S stale reads/s n/a', 'L lost acked writes 3', 'D divergent replicas 0', 'U applied beyond commit 1']);
  });
});

describe('lag and consistency charts (components)', () => {
  it('show a title with the axis range, the drawing and a legend, within their width', () => {
    const lag = render(<LagChart samples={samples()} ids={ids} width={39} rows={7} color={false} />);
    const lines = lag.lastFrame()!.split('\n');
    expect(lines).toHaveLength(9);
    expect(lines[0]).toMatch(/^replay lag, last 60 s\s+0–5\.0s$/);
    expect(lines[8]).toBe('2 n2 5ms  3 n3 4.8s');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(39);
    const consistency = render(<ConsistencyChart samples={samples({ lost: 2 })} width={40} rows={7} color={false} />);
    const text = consistency.lastFrame()!;
    expect(text.split('\n')[0]).toMatch(/^consistency, last 60 s\s+0–4$/);
    // Narrow: the short labels.
    expect(text.split('\n')[8]).toBe('S stale/s – L lost 2 D div 0 U ahead 1');
  });

  it('label the y axis in the heading’s unit: 0–3.0s above, 1.5s in the middle, never 1.5k', () => {
    const falling = samples().map((sample, i) => ({ ...sample, replayLagMs: { n2: 4, n3: i < 100 ? 2 : (i - 100) * 150 } }));
    const lines = render(<LagChart samples={falling} ids={ids} width={39} rows={7} color={false} />).lastFrame()!.split('\n');
    expect(lines[0]).toMatch(/0–3\.0s$/);
    const labels = lines.slice(1, 8).map((line) => line.slice(0, 5).trim()).filter((label) => label !== '');
    expect(labels).toEqual(['1.5s', '0ms']);
    // A 15 ms axis: its middle is 7.5ms, not a rounded 8ms.
    const small = samples().map((sample) => ({ ...sample, replayLagMs: { n2: 14, n3: 1 } }));
    const smallLines = render(<LagChart samples={small} ids={ids} width={39} rows={7} color={false} />).lastFrame()!.split('\n');
    expect(smallLines[0]).toMatch(/0–15ms$/);
    expect(smallLines.slice(1, 8).map((line) => line.slice(0, 5).trim()).filter((label) => label !== '')).toEqual(['7.5ms', '0ms']);
    // Counts: 2.0k above, 1.0k in the middle (blessed-contrib alone wrote 1k).
    const lost = render(<ConsistencyChart samples={samples({ lost: 1_500 })} width={39} rows={7} color={false} />).lastFrame()!.split('\n');
    expect(lost[0]).toMatch(/0–2\.0k$/);
    expect(lost.slice(1, 8).map((line) => line.slice(0, 5).trim()).filter((label) => label !== '')).toEqual(['1.0k', '0']);
  });

  it('are monochrome with colour off and coloured with it on', () => {
    const plain = render(<LagChart samples={samples()} ids={ids} width={40} rows={6} color={false} />);
    expect(plain.lastFrame()).not.toContain(escape);
    const coloured = render(<LagChart samples={samples()} ids={ids} width={40} rows={6} color />);
    expect(coloured.lastFrame()).toContain(escape);
  });

  it('say so when no follower has been measured yet', () => {
    const lag = render(<LagChart samples={[]} ids={ids} width={40} rows={5} color={false} />);
    expect(lag.lastFrame()).toContain('no follower measured yet');
  });
});
