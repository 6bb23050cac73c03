// The person's last passed run of the same lab on the other engine, for the
// debriefs that set this run beside it (ack-levels and lag-anomalies, on
// either engine). Imported by the labs and their variants alike.

import { engineNames, type EngineKind } from '../../cluster/engine.js';
import { earlierOn } from '../analysis.js';
import type { RunSummary } from '../types.js';

export interface OtherEngineRun<F> {
  /** The engine of this run, and the other one. */
  readonly here: EngineKind;
  readonly there: EngineKind;
  /** The facts of the run there, each possibly absent (they come from the progress file). */
  readonly facts: Partial<F>;
  /** "Beside your PostgreSQL run of this lab (2026-12-06, autopilot)": how a debrief's comparison opens. */
  readonly besideYour: string;
}

/** The last passed run of this lab on the other engine, or null when the person has not passed it there. */
export function otherEngineRun<F>(run: Pick<RunSummary, 'earlier' | 'engine'>): OtherEngineRun<F> | null {
  const here: EngineKind = run.engine ?? 'replica-lab';
  const there: EngineKind = here === 'postgres' ? 'replica-lab' : 'postgres';
  const earlier = earlierOn<F>(run, there);
  if (earlier === null) return null;
  const besideYour = `Beside your ${engineNames[there]} run of this lab (${earlier.at.slice(0, 10)}${earlier.autopilot ? ', autopilot' : ''})`;
  return { here, there, facts: earlier.facts, besideYour };
}
