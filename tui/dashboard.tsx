// The dashboard: header, node table, the two charts, the event log, the
// status line and the footer, fitted to the terminal. It reads the cluster
// only through a ClusterController and draws only from its reducer's state.

import { Box, useApp } from 'ink';
import { useCallback, useMemo, useReducer, useRef } from 'react';
import type { Failover } from '../cluster/index.js';
import { ChartsRow } from './components/charts.js';
import { EventLog } from './components/event-log.js';
import { Footer, dashboardKeys, type KeyHint } from './components/footer.js';
import { Header } from './components/header.js';
import { HelpOverlay, helpScrollMax } from './components/help-overlay.js';
import { NodeTable } from './components/node-table.js';
import { ResultPane } from './components/result-pane.js';
import { SegmentLine } from './components/segments.js';
import { CommandLine, StatusLine } from './components/status-line.js';
import { TooSmall } from './components/too-small.js';
import { statusPollMs } from './constants.js';
import type { ClusterController } from './controller.js';
import { useClusterFeed } from './hooks/use-cluster-feed.js';
import { useCommandRunner } from './hooks/use-command-runner.js';
import { useKeys, type KeyHandlers } from './hooks/use-keys.js';
import { useTerminalSize, type TerminalSize } from './hooks/use-terminal-size.js';
import { computeLayout } from './layout.js';
import { dashboardReducer, initialDashboardState } from './state/dashboard-state.js';
import { divergentNodes } from './state/divergence.js';

export interface DashboardProps {
  readonly controller: ClusterController;
  /** How the cluster was started; the Cluster API does not report it. */
  readonly failover: Failover;
  /** False for NO_COLOR: no colour and no other styling, every state still in words. */
  readonly color: boolean;
  /** Tests poll faster and fix the size; the CLI uses the defaults. */
  readonly pollMs?: number;
  readonly now?: () => number;
  readonly size?: TerminalSize;
  /** Called with the time each chart drawing took (the frame-time report). */
  readonly onChartDrawn?: (ms: number) => void;
}

const commandKeys: readonly KeyHint[] = [
  { key: 'Tab', label: 'complete', priority: 5 },
  { key: 'Enter', label: 'run', priority: 5 },
  { key: '↑', label: 'history', priority: 3 },
  { key: 'Esc', label: 'cancel', priority: 5 },
];
const overlayKeys: readonly KeyHint[] = [
  { key: 'Esc', label: 'close', priority: 5 },
  { key: ':', label: 'cmd', priority: 3 },
  { key: 'Ctrl-C', label: 'quit', priority: 4 },
];

export function Dashboard({ controller, failover, color, pollMs = statusPollMs, now = Date.now, size, onChartDrawn }: DashboardProps) {
  const [state, dispatch] = useReducer(dashboardReducer, undefined, initialDashboardState);
  const { exit } = useApp();
  const terminal = useTerminalSize();
  const { columns, rows } = size ?? terminal;
  const refresh = useClusterFeed(controller, dispatch, pollMs, now);
  const run = useCommandRunner(controller, dispatch, refresh);
  const quitting = useRef(false);
  const quit = useCallback(() => {
    if (quitting.current) return;
    quitting.current = true;
    dispatch({ type: 'quitting' });
    void controller
      .stop()
      .catch(() => {})
      .finally(() => exit());
  }, [controller, exit]);

  const ids = controller.ids;
  const snapshot = state.snapshot;
  const nodes = snapshot?.nodes ?? [];
  const layout = computeLayout({ columns, rows }, Math.max(nodes.length, ids.length));
  const handlers: KeyHandlers = {
    state,
    ids,
    dispatch,
    run,
    quit,
    tooSmall: layout.tooSmall,
    helpScrollMax: helpScrollMax(layout.columns, layout.bodyRows),
    helpPage: Math.max(1, layout.bodyRows - 2),
  };
  useKeys(handlers);

  const divergent = useMemo(() => new Set(divergentNodes(state.divergence)), [state.divergence]);
  const samples = state.samples.toArray();
  const logLines = state.log.toArray();

  if (layout.tooSmall) return <TooSmall columns={columns} rows={rows} />;

  const overlay = state.overlay;
  const width = layout.columns;
  let body;
  if (overlay.kind === 'help') body = <HelpOverlay width={width} rows={layout.bodyRows} scroll={overlay.scroll} color={color} />;
  else if (overlay.kind === 'result') body = <ResultPane result={overlay.result} width={width} rows={layout.bodyRows} color={color} />;
  else {
    body = (
      <Box flexDirection="column" height={layout.bodyRows}>
        <ChartsRow
          samples={samples}
          ids={ids}
          lagWidth={layout.lagChartColumns}
          consistencyWidth={layout.consistencyChartColumns}
          rows={layout.chartRows}
          color={color}
          {...(onChartDrawn === undefined ? {} : { onDrawn: onChartDrawn })}
        />
        <EventLog lines={logLines} width={width} rows={layout.logRows} color={color} />
      </Box>
    );
  }
  const footer =
    overlay.kind === 'command' ? (
      overlay.hint === null ? (
        <Footer keys={commandKeys} width={width} color={color} />
      ) : (
        <SegmentLine segments={[{ text: overlay.hint, dim: true }]} width={width} color={color} />
      )
    ) : (
      <Footer keys={overlay.kind === 'none' ? dashboardKeys : overlayKeys} width={width} color={color} />
    );
  return (
    <Box flexDirection="column" width={width} height={layout.height}>
      <Header snapshot={snapshot} failover={failover} uptimeMs={snapshot === null || state.startedAtMs === null ? 0 : snapshot.atMs - state.startedAtMs} width={width} color={color} />
      <Box height={layout.tableRows}>
        <NodeTable nodes={nodes} leader={snapshot?.leader ?? null} selected={state.selected} crashed={state.crashed} divergent={divergent} width={width} wide={layout.wide} color={color} />
      </Box>
      {body}
      {overlay.kind === 'command' ? <CommandLine text={overlay.text} width={width} color={color} /> : <StatusLine message={state.message} width={width} color={color} />}
      {footer}
    </Box>
  );
}
