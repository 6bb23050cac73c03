// Every step of every lab, both ways, on a real cluster: at the moment the
// step begins (nothing done yet) its check must not pass; after its autopilot
// has done the step, it must. Labs run one after another; each stops every
// process it started.

import { describe, expect, it } from 'vitest';
import { labEngines, labs } from '../../labs/index.js';
import { startSession } from './helpers.js';

// On the replica-lab engine; a PostgreSQL-only lab is run both ways in test/postgres/.
describe.each(labs.filter((lab) => labEngines(lab).includes('replica-lab')).map((lab) => [lab.id, lab] as const))('lab %s', (_, lab) => {
  it('each check fails before its step is done and passes after the autopilot does it', { timeout: 180_000 }, async () => {
    const session = await startSession(lab);
    for (const [index, step] of lab.steps.entries()) {
      const state = session.getState();
      expect(state.stepIndex, `${lab.id} is on step ${index + 1}`).toBe(index);
      expect(state.step?.instruction.length, `step ${index + 1} has an instruction`).toBeGreaterThan(0);
      const before = session.getState().step!.check;
      expect(before.passed, `step ${index + 1} (${step.title}) passed before it was done: ${before.detail}`).toBe(false);
      const outcome = await session.runAutopilot();
      expect(outcome.passed, `step ${index + 1} (${step.title}) did not pass after its autopilot: ${outcome.detail}${outcome.autopilotError === null ? '' : ` (autopilot: ${outcome.autopilotError})`}`).toBe(true);
      expect(await session.next()).toBe(true);
    }
    const end = session.getState();
    expect(end.phase).toBe('finished');
    expect(end.debrief?.length ?? 0).toBeGreaterThan(0);
    expect(end.debrief!.join('\n')).not.toMatch(/undefined|NaN|\[object /);
    expect(end.steps.every((step) => step.status === 'passed' && step.by === 'autopilot')).toBe(true);
  });
});
