// Draws a blessed-contrib line chart into a string for Ink to print. The
// blessed screen is off-screen: its input and output are PassThrough streams
// nobody reads, and screenshot() hands back the chart as SGR-styled text.
// Blessed never sees the real terminal, never draws to it, and its process
// handlers (which would exit the process on a signal) are taken off again.

import { PassThrough } from 'node:stream';
import blessed from 'blessed';
import contrib from 'blessed-contrib';
import type { LineElement } from 'blessed-contrib';
import { fit } from '../format.js';

export type ChartColor = 'cyan' | 'magenta' | 'yellow' | 'green' | 'blue' | 'white' | 'red';

export interface ChartSeries {
  readonly title: string;
  /** Oldest first; every series of one chart has the same length. */
  readonly values: readonly number[];
  readonly color: ChartColor;
  /** Drawn where the line ends (one or two characters), so a line is known without colour. */
  readonly endLabel: string;
}

export interface ChartRequest {
  readonly width: number;
  readonly height: number;
  readonly series: readonly ChartSeries[];
  /** The y axis reaches at least this high (so a flat zero line still has a scale). */
  readonly maxYAtLeast: number;
  /** Writes a y-axis label (at most 5 characters); the chart's heading uses the same, so one unit runs throughout. */
  readonly formatY: (value: number) => string;
  readonly color: boolean;
}

export interface ChartDrawing {
  /** Exactly `height` lines of exactly `width` columns. */
  readonly lines: readonly string[];
  /** The top of the y axis. */
  readonly maxY: number;
}

const sgr = /\u001b\[[0-9;]*m/g;
/** Axis labels take this many canvas pixels (two per column) left of the axis. */
const labelPaddingPx = 10;
/** Columns right of the plot: room for the line's last point and its end label. */
const rightMarginColumns = 2;
/** Where blessed-contrib puts the x axis: this many pixels above the bottom of its canvas. */
const xAxisPaddingPx = 11;
/** Room for a y label left of the axis, in columns (two pixels each). */
const labelColumns = labelPaddingPx / 2;

/** One chart's off-screen blessed screen, rebuilt when the chart's size changes. */
export class LineChartRenderer {
  private screen: blessed.Widgets.Screen | null = null;
  private chart: LineElement | null = null;
  private size = { width: 0, height: 0 };

  render(request: ChartRequest): ChartDrawing {
    const width = Math.max(10, Math.floor(request.width));
    const height = Math.max(3, Math.floor(request.height));
    const chart = this.chartOfSize(width, height);
    // A little headroom above the data, so the highest point does not sit on the top edge.
    const maxY = niceCeiling(Math.max(request.maxYAtLeast, 1.05 * Math.max(0, ...request.series.flatMap((s) => s.values.filter(Number.isFinite)))));
    const length = Math.max(2, ...request.series.map((s) => s.values.length));
    const labels = Array.from({ length }, () => ' ');
    const series = request.series.length > 0 ? request.series : [{ title: '', values: [0], color: 'white' as const, endLabel: '' }];
    chart.options.maxY = maxY;
    chart.options.wholeNumbersOnly = maxY >= 4;
    withoutYLabels(chart, () =>
      chart.setData(
        series.map((s) => ({
          title: s.title,
          x: labels,
          // A single point draws nothing; repeat it so a fresh chart shows a dot-wide line.
          y: padded(s.values.map((v) => (Number.isFinite(v) ? Math.max(0, v) : 0)), length),
          style: { line: s.color },
        })),
      ),
    );
    this.labelYAxis(chart, maxY, request.formatY);
    this.labelLineEnds(chart, request.series, length, maxY);
    this.screen!.render();
    const text = this.screen!.screenshot(0, width, 0, height);
    const lines = text.split('\n').slice(0, height);
    while (lines.length < height) lines.push(' '.repeat(width));
    return { lines: request.color ? lines : lines.map((line) => line.replace(sgr, '')), maxY };
  }

  destroy(): void {
    this.screen?.destroy();
    this.screen = null;
    this.chart = null;
  }

  private chartOfSize(width: number, height: number): LineElement {
    if (this.chart !== null && this.size.width === width && this.size.height === height) return this.chart;
    this.destroy();
    const input = new PassThrough();
    const output = Object.assign(new PassThrough(), { columns: width, rows: height });
    // Nobody reads the off-screen output; let it flow away instead of piling up.
    output.resume();
    const screen = withoutProcessHandlers(() =>
      blessed.screen({ input, output, terminal: 'xterm-256color', warnings: false, autoPadding: false, fullUnicode: false }),
    );
    // screenshot() reads the screen's cell buffer; the escape codes draw() would write are never needed.
    screen.draw = () => {};
    const chart = contrib.line({
      top: 0,
      left: 0,
      width,
      height,
      showLegend: false,
      xPadding: labelPaddingPx,
      xLabelPadding: labelPaddingPx,
      numYLabels: 2,
      abbreviate: true,
      style: { line: 'white', text: 'white', baseline: 'white' },
    });
    // blessed-contrib keeps 6 columns and 3 rows for a legend and x labels; the dashboard labels
    // its charts itself, so the plot takes the box but for 2 columns on the right (its last point
    // lands up to 2 pixels right of the canvas width, and drawille's canvas is one flat array, so a
    // pixel past the edge would wrap into the next row). The x labels fall below the box, clipped.
    chart.calcSize = function calcSize(this: LineElement) {
      this.canvasSize = { width: (this.width as number) * 2 - rightMarginColumns * 2, height: (this.height as number) * 4 + 8 };
    };
    screen.append(chart);
    this.screen = screen;
    this.chart = chart;
    this.size = { width, height };
    return chart;
  }

  /** The bottom and the middle of the y axis, in the caller's unit (blessed-contrib's own labels would say 1.5k for 1500 ms). */
  private labelYAxis(chart: LineElement, maxY: number, formatY: (value: number) => string): void {
    const plotHeight = chart.canvasSize.height - xAxisPaddingPx;
    chart.ctx.fillStyle = 'white';
    for (const value of [0, maxY / 2]) {
      const y = plotHeight - (plotHeight / maxY) * value - 2;
      chart.ctx.fillText(fit(formatY(value), labelColumns), 0, Math.max(0, y));
    }
  }

  /** Writes each series' label at its last point, using blessed-contrib's own pixel formulas. */
  private labelLineEnds(chart: LineElement, series: readonly ChartSeries[], length: number, maxY: number): void {
    const { width, height } = chart.canvasSize;
    const plotHeight = height - xAxisPaddingPx;
    for (const s of series) {
      if (s.endLabel === '' || s.values.length === 0) continue;
      const last = s.values[s.values.length - 1]!;
      const x = ((width - labelPaddingPx) / length) * (length - 1) + labelPaddingPx + 2;
      const y = plotHeight - (plotHeight / maxY) * Math.min(maxY, Math.max(0, last)) - 2;
      chart.ctx.fillStyle = s.color;
      // Just right of the last point, inside the canvas (a character is 2 pixels wide).
      chart.ctx.fillText(s.endLabel, Math.min(x + 2, width - 2 * s.endLabel.length), Math.max(0, Math.min(plotHeight - 1, y)));
    }
  }
}

/**
 * Runs setData while dropping the y labels blessed-contrib writes: they sit at x = 0 (its label
 * padding equals its x padding here), while every other text it writes lies right of the axis.
 */
function withoutYLabels(chart: LineElement, draw: () => void): void {
  const ctx = chart.ctx;
  const fillText = ctx.fillText;
  ctx.fillText = (text: string, x: number, y: number) => {
    if (x > 0) fillText.call(ctx, text, x, y);
  };
  try {
    draw();
  } finally {
    ctx.fillText = fillText;
  }
}

function padded(values: readonly number[], length: number): number[] {
  if (values.length >= length) return [...values];
  const first = values[0] ?? 0;
  return [...Array.from({ length: length - values.length }, () => first), ...values];
}

const niceSteps = [1, 1.5, 2, 3, 4, 5, 6, 8, 10];

/** 1, 1.5, 2, 3, 4, 5, 6, 8 times a power of ten: an axis top a person reads at a glance, without wasting half the chart. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of niceSteps) if (step * power >= value * (1 - 1e-12)) return Number((step * power).toPrecision(12));
  return 10 * power;
}

const signals = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'uncaughtException', 'exit'] as const;

/** Runs `create` and removes any process listener it added: blessed would exit the process on SIGINT or an exception. */
function withoutProcessHandlers<T>(create: () => T): T {
  const before = new Map(signals.map((name) => [name, new Set(process.listeners(name as NodeJS.Signals))]));
  const created = create();
  for (const name of signals) {
    const had = before.get(name)!;
    for (const listener of process.listeners(name as NodeJS.Signals)) {
      if (!had.has(listener)) process.removeListener(name, listener);
    }
  }
  return created;
}
