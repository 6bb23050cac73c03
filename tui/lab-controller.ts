// What the dashboard's lab panel needs from a guided lab: the subset of
// labs/'s LabSession it calls. LabSession satisfies it structurally (the CLI
// passes it in); tests pass hand-built states, so no process is started.

import type { LabSessionState } from '../labs/index.js';
import type { ClusterController } from './controller.js';

export type { LabSessionState };

export interface LabController {
  /** The lab's (journaled) cluster: the dashboard drives this one; it changes with state.clusterGeneration. */
  readonly cluster: ClusterController;
  getState(): LabSessionState;
  /** Calls `listener` whenever the state changes; returns the unsubscribe function. */
  subscribe(listener: (state: LabSessionState) => void): () => void;
  /** True: moved on (or finished); false: the check has not passed (state.message says so). */
  next(): Promise<boolean>;
  /** Does the current step for the person, then waits (bounded) for its check. */
  runAutopilot(): Promise<{ readonly passed: boolean; readonly detail: string; readonly autopilotError?: string | null }>;
  /** Stops the workload and every node; safe to call twice. */
  stop(): Promise<void>;
}

/** What the dashboard draws the lab panel from and calls on its keys. */
export interface LabView {
  readonly state: LabSessionState;
  readonly next: () => void;
  readonly autopilot: () => void;
}
