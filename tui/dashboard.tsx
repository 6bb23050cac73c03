// The dashboard: header, node table, the two charts, the event log, the
// status line and the footer, fitted to the terminal. It reads the cluster
// only through a ClusterController and draws only from its reducer's state.

import { Box, useApp, type Key } from 'ink';
import { useCallback, useMemo, useReducer, useRef } from 'react';
import type { Failover } from '../cluster/index.js';
import { ChartsRow } from './components/charts.js';
import { EventLog } from './components/event-log.js';
import { Footer, dashboardKeys, type KeyHint } from './components/footer.js';
import { Header } from './components/header.js';
import { HelpOverlay, helpScrollMax, type LabHelp, type WedgedNode } from './components/help-overlay.js';
import { DebriefPane, debriefScrollMax, LabPanel, labPanelRows } from './components/lab-panel.js';
import { MessagePane, messageScrollMax } from './components/message-pane.js';
import { engineName, engineOf, hasCapability } from './engine.js';
import { NodeTable } from './components/node-table.js';
import { ResultPane } from './components/result-pane.js';
import { TraceOverlay, traceLines } from './components/trace-overlay.js';
import { SegmentLine } from './components/segments.js';
import { CommandLine, StatusLine, statusLines } from './components/status-line.js';
import { TooSmall } from './components/too-small.js';
import { statusPollMs } from './constants.js';
import type { ClusterController } from './controller.js';
import { useClusterFeed } from './hooks/use-cluster-feed.js';
import { useCommandRunner } from './hooks/use-command-runner.js';
import { useKeys, type KeyHandlers } from './hooks/use-keys.js';
import { useTerminalSize, type TerminalSize } from './hooks/use-terminal-size.js';
import type { LabController, LabSessionState } from './lab-controller.js';
import { computeLayout, labRowsMax, statusRowsFor } from './layout.js';
import { dashboardReducer, initialDashboardState, type DashboardAction } from './state/dashboard-state.js';
import { divergentNodes } from './state/divergence.js';
import { messageRows } from './state/message-rows.js';

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
  /** A guided lab: its panel takes rows from the charts and log; n, A and ? act on it. */
  readonly lab?: LabView;
  /** What quitting stops (default: the controller); the dashboard leaves once it settles. */
  readonly stop?: () => Promise<unknown>;
}

/** The lab as the dashboard sees it: the session's latest state and what its keys call. */
export interface LabView {
  readonly state: LabSessionState;
  readonly next: LabController['next'];
  readonly runAutopilot: LabController['runAutopilot'];
}

/** The step list joins the panel from this many body rows on. */
const labStepListBodyRowsMin = 26;
/** The lab panel never gets fewer rows than this: title, check and keys. */
const labPanelRowsMin = 3;

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

export function Dashboard({ controller, failover, color, pollMs = statusPollMs, now = Date.now, size, onChartDrawn, lab, stop }: DashboardProps) {
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
    void (stop ?? (() => controller.stop()))()
      .catch(() => {})
      .finally(() => exit());
  }, [controller, exit, stop]);

  const ids = controller.ids;
  const snapshot = state.snapshot;
  const nodes = snapshot?.nodes ?? [];
  const nodeCount = Math.max(nodes.length, ids.length);
  const labState = lab?.state ?? null;
  const finished = labState !== null && labState.phase === 'finished';
  const inLab = labState !== null && !finished;
  const statusMessage = state.message ?? (finished ? { text: 'every step passed: the lab is recorded as done · q quits', level: 'ok' as const } : null);
  const statusWanted = state.overlay.kind === 'command' || statusMessage === null ? 1 : statusLines(statusMessage.text, columns).length;
  const statusRows = statusRowsFor({ columns, rows }, nodeCount, statusWanted, inLab ? labPanelRowsMin : 0);
  let labRows = 0;
  if (labState !== null && inLab) {
    const base = computeLayout({ columns, rows }, nodeCount, 0, statusRows);
    const wanted = labPanelRows(labState, base.columns, base.bodyRows >= labStepListBodyRowsMin);
    labRows = Math.max(labPanelRowsMin, Math.min(wanted, labRowsMax(base.bodyRows)));
  }
  const layout = computeLayout({ columns, rows }, nodeCount, labRows, statusRows);
  const wedged: WedgedNode[] = nodes.flatMap((n) => (n.wedged == null ? [] : [{ id: n.id, ...n.wedged }]));
  const labHelp: LabHelp | null = labState?.step == null ? null : { step: `step ${labState.step.number}/${labState.steps.length}: ${labState.step.title}`, hint: labState.step.hint };
  // The event log's slot: the log or the message pane (v), live or as Space froze them.
  const frozen = state.frozen;
  const messagesView = frozen !== null ? frozen.messages : (snapshot?.messages ?? null);
  const messagesAtMs = frozen !== null ? frozen.atMs : (snapshot?.atMs ?? 0);
  const paneRows = useMemo(() => (state.pane !== 'messages' || messagesView === null ? [] : messageRows(messagesView, messagesAtMs)), [state.pane, messagesView, messagesAtMs]);
  const logLines = frozen !== null ? frozen.log : state.log.toArray();
  const paneScrollMax = state.pane === 'messages' ? messageScrollMax(paneRows.length, layout.logRows) : Math.max(0, logLines.length - layout.logRows);
  const handlers: KeyHandlers = {
    state,
    ids,
    engine: engineOf(controller),
    dispatch,
    run,
    quit,
    tooSmall: layout.tooSmall,
    helpScrollMax: helpScrollMax(layout.columns, layout.bodyRows, labHelp, wedged, engineOf(controller)),
    helpPage: Math.max(1, layout.bodyRows - 2),
    traceScrollMax: state.overlay.kind === 'trace' ? Math.max(0, traceLines(state.overlay.trace, layout.columns).length - (layout.bodyRows - 1)) : 0,
    paneScrollMax,
    panePage: Math.max(1, layout.logRows - 2),
    ...(lab === undefined ? {} : { labKey: (input: string, key: Key) => labKey(lab, input, key, { dispatch, scroll: state.labScroll, scrollMax: debriefScrollMax(lab.state, layout.columns, layout.bodyRows), page: Math.max(1, layout.bodyRows - 2) }) }),
  };
  useKeys(handlers);

  const divergent = useMemo(() => new Set(divergentNodes(state.divergence)), [state.divergence]);
  const samples = state.samples.toArray();
  const paneScroll = frozen === null ? 0 : Math.min(state.paneScroll, paneScrollMax);

  if (layout.tooSmall) return <TooSmall columns={columns} rows={rows} />;

  const overlay = state.overlay;
  const width = layout.columns;
  let body;
  if (overlay.kind === 'help') body = <HelpOverlay width={width} rows={layout.bodyRows} scroll={overlay.scroll} color={color} lab={labHelp} wedged={wedged} engine={engineOf(controller)} />;
  else if (overlay.kind === 'trace') body = <TraceOverlay trace={overlay.trace} width={width} rows={layout.bodyRows} scroll={overlay.scroll} color={color} />;
  else if (overlay.kind === 'result') {
    // In a lab the panel stays under the result, so its ✓ shows at once.
    const panel = labState !== null && !finished ? layout.labRows : 0;
    body = (
      <Box flexDirection="column" height={layout.bodyRows}>
        <ResultPane result={overlay.result} width={width} rows={layout.bodyRows - panel} color={color} />
        {labState !== null && panel > 0 ? <LabPanel state={labState} width={width} rows={panel} color={color} /> : null}
      </Box>
    );
  }
  else if (labState !== null && finished) body = <DebriefPane state={labState} width={width} rows={layout.bodyRows} scroll={state.labScroll} color={color} />;
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
          {...(controller.engine === 'postgres' ? { leaderWord: 'primary' } : {})}
          {...(onChartDrawn === undefined ? {} : { onDrawn: onChartDrawn })}
        />
        {state.pane === 'messages' ? (
          <MessagePane rows={paneRows} ids={ids} nodes={frozen?.nodes ?? nodes} width={width} height={layout.logRows} scroll={paneScroll} frozenAtMs={frozen?.atMs ?? null} color={color} {...(hasCapability(controller, 'raft') ? {} : { unavailable: `Raft messages need the replica-lab engine; ${engineName(controller)} has none` })} />
        ) : (
          <EventLog lines={paneScroll === 0 ? logLines : logLines.slice(0, logLines.length - paneScroll)} width={width} rows={layout.logRows} color={color} />
        )}
        {labState === null ? null : <LabPanel state={labState} width={width} rows={layout.labRows} color={color} />}
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
      <Footer keys={overlay.kind !== 'none' ? overlayKeys : finished ? finishedLabKeys : frozen !== null ? (hasCapability(controller, 'raft') ? frozenKeys : frozenKeys.filter((hint) => hint.key !== 'v')) : hasCapability(controller, 'raft') ? dashboardKeys : nonRaftKeys} width={width} color={color} />
    );
  return (
    <Box flexDirection="column" width={width} height={layout.height}>
      <Header frozen={frozen !== null} snapshot={snapshot} failover={failover} {...(controller.engine === undefined ? {} : { engine: controller.engine })} {...(controller.failoverMode === undefined ? {} : { pgFailover: controller.failoverMode })} uptimeMs={snapshot === null || state.startedAtMs === null ? 0 : snapshot.atMs - state.startedAtMs} width={width} color={color} />
      <Box height={layout.tableRows}>
        <NodeTable nodes={nodes} leader={snapshot?.leader ?? null} selected={state.selected} crashed={state.crashed} divergent={divergent} width={width} wide={layout.wide} color={color} {...(controller.engine === undefined ? {} : { engine: controller.engine })} />
      </Box>
      {body}
      {overlay.kind === 'command' ? <CommandLine text={overlay.text} width={width} color={color} /> : <StatusLine message={statusMessage} width={width} rows={layout.statusRows} color={color} />}
      {footer}
    </Box>
  );
}

/**
 * The keys on an engine without Raft (PostgreSQL): no t (leadership transfer) or v (Raft
 * messages); P (promote, how it fails over by hand) kept while the line has room.
 */
const nonRaftKeys: readonly KeyHint[] = dashboardKeys.filter((hint) => hint.key !== 't' && hint.key !== 'v').map((hint) => (hint.key === 'P' ? { ...hint, priority: 6 } : hint));

/** While Space holds the log and the message pane still. */
const frozenKeys: readonly KeyHint[] = [
  { key: '↑↓', label: 'scroll', priority: 9 },
  { key: 'PgUp PgDn', label: 'page', priority: 7 },
  { key: 'Space', label: 'resume', priority: 10 },
  { key: 'v', label: 'events/messages', priority: 6 },
  { key: ':', label: 'cmd', priority: 3 },
  { key: '?', label: 'help', priority: 5 },
  { key: 'q', label: 'quit', priority: 10 },
];

const finishedLabKeys: readonly KeyHint[] = [
  { key: '↑↓', label: 'scroll', priority: 7 },
  { key: ':', label: 'cmd', priority: 3 },
  { key: '?', label: 'help', priority: 5 },
  { key: 'q', label: 'quit', priority: 10 },
];

/** The lab's keys on the dashboard: n next, A the autopilot, and ↑↓ PgUp PgDn over the debrief. */
function labKey(
  lab: LabView,
  input: string,
  key: Key,
  view: { readonly dispatch: (action: DashboardAction) => void; readonly scroll: number; readonly scrollMax: number; readonly page: number },
): boolean {
  const { state } = lab;
  const { dispatch } = view;
  if (state.phase === 'finished') {
    const step = key.downArrow ? 1 : key.upArrow ? -1 : key.pageDown || input === ' ' ? view.page : key.pageUp ? -view.page : 0;
    if (step !== 0) {
      dispatch({ type: 'scroll-lab', to: Math.max(0, Math.min(view.scroll + step, view.scrollMax)) });
      return true;
    }
    if (input === 'n' || input === 'A') {
      dispatch({ type: 'message', message: { text: 'the lab is done; q quits', level: 'info' } });
      return true;
    }
    return false;
  }
  if (state.phase !== 'running' || state.step === null) return false;
  const number = state.step.number;
  if (input === 'n') {
    if (state.autopilotRunning) {
      dispatch({ type: 'message', message: { text: 'the autopilot is still doing this step', level: 'info' } });
      return true;
    }
    void lab.next().then(
      (moved) => {
        if (moved) dispatch({ type: 'message', message: null });
      },
      (error: unknown) => dispatch({ type: 'message', message: { text: `could not move on: ${error instanceof Error ? error.message : String(error)}`, level: 'error' } }),
    );
    return true;
  }
  if (input === 'A') {
    if (state.step.check.passed) {
      dispatch({ type: 'message', message: { text: 'this step is done already; n moves on', level: 'info' } });
      return true;
    }
    dispatch({ type: 'message', message: { text: `the autopilot is doing step ${number}…`, level: 'busy' } });
    void lab.runAutopilot().then(
      (outcome) => {
        const text = outcome.passed ? `the autopilot did step ${number}: ${outcome.detail}; n moves on` : `the autopilot could not finish step ${number}: ${outcome.autopilotError ?? outcome.detail}`;
        dispatch({ type: 'message', message: { text, level: outcome.passed ? 'ok' : 'error' } });
      },
      (error: unknown) => dispatch({ type: 'message', message: { text: `the autopilot failed: ${error instanceof Error ? error.message : String(error)}`, level: 'error' } }),
    );
    return true;
  }
  return false;
}
