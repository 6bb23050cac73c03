// How the screen's rows and columns are shared out, as a pure function of
// the terminal size and the node count, so every size can be tested.

import { terminalColumnsMin, terminalRowsMin, wideColumnsMin } from './constants.js';

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
  /** Rows between the table and the status line: charts and log, or an overlay. */
  readonly bodyRows: number;
}

const chartRowsMin = 4;
const chartRowsMax = 18;
const logRowsMin = 2;

export function computeLayout(size: { readonly columns: number; readonly rows: number }, nodeCount: number): Layout {
  const columns = Math.max(1, Math.floor(size.columns));
  const height = Math.max(1, Math.floor(size.rows) - 1);
  const tableRows = 1 + Math.max(1, nodeCount);
  // header, table, status line, footer
  const bodyRows = height - 1 - tableRows - 1 - 1;
  // chart title + legend, log title
  const flexible = bodyRows - 2 - 1;
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
  };
}
