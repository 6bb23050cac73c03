import { useCallback, useEffect, useRef, type Dispatch } from 'react';
import { busyText, runCommand } from '../commands/run.js';
import type { ClusterController } from '../controller.js';
import { engineOf } from '../engine.js';
import type { ClusterCommand } from '../commands/spec.js';
import type { DashboardAction } from '../state/dashboard-state.js';

/** Runs commands on the cluster without blocking the UI; their outcome arrives as a message or a result pane. */
export function useCommandRunner(controller: ClusterController, dispatch: Dispatch<DashboardAction>, refresh: () => void): (command: ClusterCommand) => void {
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  return useCallback(
    (command: ClusterCommand) => {
      dispatch({ type: 'message', message: { text: busyText(command, engineOf(controller)), level: 'busy' } });
      void runCommand(controller, command).then((outcome) => {
        if (!mounted.current) return;
        refresh();
        if (outcome.kind === 'message') {
          dispatch({ type: 'message', message: { text: outcome.text, level: outcome.level } });
          return;
        }
        if (outcome.kind === 'trace') {
          dispatch({ type: 'show-trace', trace: outcome.trace });
          dispatch({ type: 'message', message: { text: outcome.summary, level: 'ok' } });
          return;
        }
        dispatch({ type: 'show-result', result: outcome.result });
        dispatch({ type: 'message', message: { text: outcome.result.title, level: 'ok' } });
      });
    },
    [controller, dispatch, refresh],
  );
}
