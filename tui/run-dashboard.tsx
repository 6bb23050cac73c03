// Puts the dashboard on the terminal: the alternate screen (so the shell's
// scrollback is left as it was), at most framesPerSecondMax frames a second,
// and the terminal restored however the dashboard ends.

import { render } from 'ink';
import type { ReactElement } from 'react';
import type { Failover } from '../cluster/index.js';
import { framesPerSecondMax } from './constants.js';
import type { ClusterController } from './controller.js';
import { Dashboard } from './dashboard.js';
import type { LabController, LabSessionState } from './lab-controller.js';
import { LabDashboard } from './lab-dashboard.js';
import { ReplayLabView, type ReplayController } from './replay-lab.js';

export interface RunDashboardOptions {
  readonly controller: ClusterController;
  readonly failover: Failover;
  readonly color: boolean;
  readonly stdin?: NodeJS.ReadStream;
  readonly stdout?: NodeJS.WriteStream;
  /** Receives render timings: Ink's frame time and each chart drawing. */
  readonly onTiming?: (timing: { readonly kind: 'frame' | 'chart'; readonly ms: number }) => void;
}

export interface RunningDashboard {
  /** Resolves once the user quit (the cluster is stopped by then) or `close()` was called. */
  readonly done: Promise<void>;
  /** Takes the dashboard off the screen now (a signal, an error): the caller stops the cluster. */
  close(): void;
}

const enterAlternateScreen = '\u001b[?1049h\u001b[H';
const leaveAlternateScreen = '\u001b[?1049l';
const clearScreenAndHome = '\u001b[2J\u001b[H';

export function runDashboard(options: RunDashboardOptions): RunningDashboard {
  const onTiming = options.onTiming;
  return mount(
    <Dashboard
      controller={options.controller}
      failover={options.failover}
      color={options.color}
      {...(onTiming === undefined ? {} : { onChartDrawn: (ms: number) => onTiming({ kind: 'chart', ms }) })}
    />,
    options,
  );
}

export interface RunLabDashboardOptions extends Omit<RunDashboardOptions, 'controller' | 'failover'> {
  /** A started LabSession (mode 'interactive'); quitting stops it. */
  readonly session: LabController;
  readonly failoverOf?: (state: LabSessionState) => Failover;
}

/** The dashboard with the lab panel for `session`; `done` resolves once the person quit (the session is stopped by then). */
export function runLabDashboard(options: RunLabDashboardOptions): RunningDashboard {
  const onTiming = options.onTiming;
  return mount(
    <LabDashboard
      session={options.session}
      color={options.color}
      {...(options.failoverOf === undefined ? {} : { failoverOf: options.failoverOf })}
      {...(onTiming === undefined ? {} : { onChartDrawn: (ms: number) => onTiming({ kind: 'chart', ms }) })}
    />,
    options,
  );
}

export interface RunReplayLabOptions extends Pick<RunDashboardOptions, 'color' | 'stdin' | 'stdout'> {
  readonly session: ReplayController;
}

/** The replay lab's screen (figure-8): no cluster; `done` resolves once the person quit. */
export function runReplayLab(options: RunReplayLabOptions): RunningDashboard {
  return mount(<ReplayLabView session={options.session} color={options.color} />, options);
}

function mount(element: ReactElement, options: Pick<RunDashboardOptions, 'stdin' | 'stdout' | 'onTiming'>): RunningDashboard {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  const onTiming = options.onTiming;
  stdout.write(enterAlternateScreen);
  let left = false;
  const leave = (): void => {
    if (left) return;
    left = true;
    stdout.write(leaveAlternateScreen);
  };
  process.once('exit', leave);
  // Ink repaints relative to where it left the cursor; a terminal that reflows or
  // re-anchors its lines on resize moves them, and the next frame lands askew (or
  // scrolls). Registered before Ink's own listener: wipe the screen and start the
  // next frame from the top-left corner.
  let size = { columns: stdout.columns, rows: stdout.rows };
  const onResize = (): void => {
    if (stdout.columns === size.columns && stdout.rows === size.rows) return;
    size = { columns: stdout.columns, rows: stdout.rows };
    stdout.write(clearScreenAndHome);
  };
  stdout.on('resize', onResize);
  const instance = render(element, {
      stdout,
      stdin,
      exitOnCtrlC: false,
      maxFps: framesPerSecondMax,
    ...(onTiming === undefined ? {} : { onRender: ({ renderTime }: { renderTime: number }) => onTiming({ kind: 'frame', ms: renderTime }) }),
  });
  const done = instance.waitUntilExit().then(
    () => undefined,
    () => undefined,
  );
  const finished = done.finally(() => {
    stdout.off('resize', onResize);
    process.removeListener('exit', leave);
    leave();
  });
  return {
    done: finished,
    close: () => instance.unmount(),
  };
}
