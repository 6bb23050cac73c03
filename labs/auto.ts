// A lab run headless by its autopilot (`replica-lab lab <id> --auto`): each
// step is performed through the Cluster API, then its check must pass on the
// live cluster within a bound. Stops at the first step that does not pass;
// every process is stopped however the run ends.

import type { EngineKind } from '../cluster/index.js';
import type { ProgressStore } from './progress.js';
import { LabSession, type LabEvidence, type LabSessionOptions } from './session.js';
import { labOn } from './catalog/index.js';
import type { AnyLab, RunSummary } from './types.js';

export interface AutoStepResult {
  readonly title: string;
  readonly passed: boolean;
  readonly detail: string;
  readonly autopilotError: string | null;
  /** Wall time the step took (autopilot and check), for the report; never part of a check. */
  readonly elapsedMs: number;
}

export interface AutoRunResult {
  readonly id: string;
  readonly passed: boolean;
  readonly steps: readonly AutoStepResult[];
  readonly debrief: readonly string[];
  readonly summary: RunSummary;
  /** Where each cluster kept its history and rollback files, or that its temporary dir was removed. */
  readonly evidence: readonly LabEvidence[];
}

export interface AutoRunOptions {
  readonly progress: ProgressStore | null;
  /** Called as each step ends, in order. */
  readonly onStep?: (index: number, result: AutoStepResult) => void;
  /** Called once the cluster runs, so the caller can stop the session on a signal. */
  readonly onSession?: (session: LabSession) => void;
  readonly checkWaitMs?: number;
  /** Keep the clusters' data, history and rollback files here (LabSessionOptions.dataDir). */
  readonly dataDir?: string;
  /** The engine to run on, and its start (LabSessionOptions.engine, startCluster). */
  readonly engine?: EngineKind;
  readonly startCluster?: LabSessionOptions['startCluster'];
}

export async function runLabAuto(lab: AnyLab, options: AutoRunOptions): Promise<AutoRunResult> {
  const session = await LabSession.start(lab, {
    mode: 'auto',
    progress: options.progress,
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.engine === undefined ? {} : { engine: options.engine }),
    ...(options.startCluster === undefined ? {} : { startCluster: options.startCluster }),
  });
  options.onSession?.(session);
  // The steps as they run on this engine (a variant's own titles), from the session.
  const titles = session.getState().steps.map((step) => step.title);
  const steps: AutoStepResult[] = [];
  let result: Omit<AutoRunResult, 'evidence'>;
  try {
    for (let index = 0; index < titles.length; index++) {
      const started = performance.now();
      const outcome = await session.runAutopilot(options.checkWaitMs === undefined ? {} : { checkWaitMs: options.checkWaitMs });
      const crashes = outcome.passed ? [] : session.crashes();
      const detail = [outcome.detail, ...(outcome.passed || outcome.autopilotError === null ? [] : [`(autopilot: ${outcome.autopilotError})`]), ...crashes.map((crash) => `(${crash})`)].join(' ');
      const result: AutoStepResult = { title: titles[index]!, passed: outcome.passed, detail, autopilotError: outcome.autopilotError, elapsedMs: performance.now() - started };
      steps.push(result);
      options.onStep?.(index, result);
      if (!outcome.passed) break;
      const moved = await session.next();
      if (!moved && session.getState().phase !== 'finished') break;
    }
    const why = session.getState().message ?? 'an earlier step did not pass';
    for (let index = steps.length; index < titles.length; index++) {
      const result: AutoStepResult = { title: titles[index]!, passed: false, detail: `not run: ${why}`, autopilotError: null, elapsedMs: 0 };
      steps.push(result);
      options.onStep?.(index, result);
    }
    const passed = steps.every((step) => step.passed);
    result = { id: lab.id, passed, steps, debrief: session.debrief(), summary: session.summary() };
  } finally {
    await session.stop();
  }
  return { ...result, evidence: session.evidence() };
}
