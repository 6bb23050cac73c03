// The dashboard with a guided lab's panel: follows the LabSession's state,
// hands the dashboard the session's (journaled) cluster, and mounts a fresh
// dashboard when the lab replaces its cluster (state.clusterGeneration).
// Quitting stops the session, which stops every node.

import { Box, Text, useApp, useInput } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Failover } from '../cluster/index.js';
import { Dashboard, type LabView } from './dashboard.js';
import type { LabController, LabSessionState } from './lab-controller.js';
import type { TerminalSize } from './hooks/use-terminal-size.js';

export interface LabDashboardProps {
  readonly session: LabController;
  readonly color: boolean;
  /** How the current cluster was started (the header shows it); default raft. */
  readonly failoverOf?: (state: LabSessionState) => Failover;
  readonly pollMs?: number;
  readonly now?: () => number;
  readonly size?: TerminalSize;
  readonly onChartDrawn?: (ms: number) => void;
}

export function LabDashboard({ session, color, failoverOf, pollMs, now, size, onChartDrawn }: LabDashboardProps) {
  const [state, setState] = useState<LabSessionState>(() => session.getState());
  useEffect(() => {
    setState(session.getState());
    return session.subscribe(setState);
  }, [session]);
  const quitting = useRef(false);
  const stop = useCallback(() => {
    quitting.current = true;
    return session.stop();
  }, [session]);
  const next = useCallback(() => session.next(), [session]);
  const runAutopilot = useCallback(() => session.runAutopilot(), [session]);

  if (state.phase === 'restarting-cluster' || state.phase === 'stopped') return <LabWaiting state={state} stop={stop} quitting={quitting.current} />;
  const lab: LabView = { state, next, runAutopilot };
  return (
    <Dashboard
      key={state.clusterGeneration}
      controller={session.cluster}
      failover={failoverOf?.(state) ?? 'raft'}
      color={color}
      lab={lab}
      stop={stop}
      {...(pollMs === undefined ? {} : { pollMs })}
      {...(now === undefined ? {} : { now })}
      {...(size === undefined ? {} : { size })}
      {...(onChartDrawn === undefined ? {} : { onChartDrawn })}
    />
  );
}

/** While the lab starts a fresh cluster (or after it stopped): a plain message; q still quits. */
function LabWaiting({ state, stop, quitting }: { readonly state: LabSessionState; readonly stop: () => Promise<void>; readonly quitting: boolean }) {
  const { exit } = useApp();
  const leaving = useRef(false);
  useInput((input, key) => {
    if (leaving.current || !(input === 'q' || (key.ctrl && input === 'c'))) return;
    leaving.current = true;
    void stop()
      .catch(() => {})
      .finally(() => exit());
  });
  const step = state.step;
  const lines =
    state.phase === 'restarting-cluster'
      ? [
          `Lab: ${state.lab.title}${step === null ? '' : ` — step ${step.number}/${state.steps.length}: ${step.title}`}`,
          'starting a fresh cluster for this step (the old one is stopped)…',
          'q quits',
        ]
      : quitting || leaving.current
        ? [`Lab: ${state.lab.title}`, 'stopping every node…']
        : [`Lab: ${state.lab.title}`, `the lab stopped${state.message === null ? '' : `: ${state.message}`}`, 'q quits'];
  return (
    <Box flexDirection="column">
      {lines.map((line) => (
        <Text key={line} wrap="truncate">
          {line}
        </Text>
      ))}
    </Box>
  );
}
