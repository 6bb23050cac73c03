// How the screen's rows and columns are shared out, as a pure function of
// the terminal size and the node count, so every size can be tested.

import { statusLinesMax, terminalColumnsMin, terminalRowsMin, wideColumnsMin } from './constants.js';

export interface Layout {
  readonly tooSmall: boolean;
  readonly columns: number;
  /** Rows drawn: one less than the terminal, so the frame never scrolls it. */
  readonly height: number;
  /** Extra node table columns (pid, lag in entries and bytes, checksum, memory). */
  readonly wide: boolean;
  readonly tableRows: number;
  /** Rows of the chart drawings, without their title and legend lines. */
  readonly chartRows: number;
  readonly lagChartColumns: number;
  readonly consistencyChartColumns: number;
  /** Event lines, without the title. */
  readonly logRows: number;
  /** Rows between the table and the status line: charts, log and lab panel, or an overlay. */
  readonly bodyRows: number;
  /** Rows of the lab panel (0 outside a lab), taken from the charts and the log. */
  readonly labRows: number;
  /** Rows of the status line: more than one while a long message wraps. */
  readonly statusRows: number;
}

const chartRowsMin = 4;
const chartRowsMax = 18;
const logRowsMin = 2;

/** Rows the body keeps for the charts and log at least: a lab panel gets at most the rest. */
export function labRowsMax(bodyRows: number): number {
  return Math.max(0, bodyRows - 3 - chartRowsMin - logRowsMin);
}

/**
 * How many rows a status message of `wantedRows` wrapped lines gets: up to statusLinesMax, and
 * never rows the charts, the log and (in a lab) the panel's smallest size need. A long message
 * never makes the terminal too small.
 */
export function statusRowsFor(size: { readonly columns: number; readonly rows: number }, nodeCount: number, wantedRows: number, labRowsMin = 0): number {
  const base = computeLayout(size, nodeCount);
  if (base.tooSmall) return 1;
  const spare = base.bodyRows - labRowsMin - 3 - chartRowsMin - logRowsMin;
  return Math.max(1, Math.min(wantedRows, statusLinesMax, 1 + spare));
}

export function computeLayout(size: { readonly columns: number; readonly rows: number }, nodeCount: number, labRows = 0, statusRows = 1): Layout {
  const columns = Math.max(1, Math.floor(size.columns));
  const height = Math.max(1, Math.floor(size.rows) - 1);
  const tableRows = 1 + Math.max(1, nodeCount);
  // header, table, status line(s), footer
  const bodyRows = height - 1 - tableRows - statusRows - 1;
  // chart title + legend, log title
  const flexible = bodyRows - labRows - 2 - 1;
  const tooSmall = size.columns < terminalColumnsMin || size.rows < terminalRowsMin || flexible < chartRowsMin + logRowsMin;
  const chartRows = Math.max(chartRowsMin, Math.min(chartRowsMax, Math.round(flexible * 0.55)));
  const logRows = Math.max(0, flexible - chartRows);
  const lagChartColumns = Math.floor((columns - 1) / 2);
  return {
    tooSmall,
    columns,
    height,
    wide: columns >= wideColumnsMin,
    tableRows,
    chartRows,
    lagChartColumns,
    consistencyChartColumns: columns - 1 - lagChartColumns,
    logRows,
    bodyRows: Math.max(0, bodyRows),
    labRows,
    statusRows,
  };
}
