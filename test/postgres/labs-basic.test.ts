// The PostgreSQL variants of first-steps and sync-cost on real servers: each
// step's check fails when the step begins and passes once its autopilot has
// done it (the same contract test/labs/steps.test.ts holds replica-lab's labs
// to). sync-cost is the one whose steps differ most (the lowering by hand);
// first-steps' last check reads LSNs where replica-lab's reads commitIndex.
// quorum-commit's variant keeps replica-lab's step logic (its checks are
// tested on hand-built observations in test/labs/checks-postgres-basic).

import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../cli/engine.js';
import { findLab, labOn } from '../../labs/index.js';
import { startSession } from '../labs/helpers.js';
import { noPostgres, pgBin, suiteName } from './helpers.js';

describe.skipIf(noPostgres)(suiteName('lab variants on PostgreSQL: first-steps, sync-cost'), () => {
  for (const id of ['sync-cost', 'first-steps']) {
    it(`${id}: each check fails before its step and passes after the autopilot`, { timeout: 60_000 }, async () => {
      const lab = findLab(id)!;
      const startCluster = await loadEngine({ kind: 'postgres', ...(pgBin === null ? {} : { pgBin }) }, 'lab');
      const session = await startSession(lab, { mode: 'auto', progress: null, engine: 'postgres', startCluster });
      expect(session.cluster.engine).toBe('postgres');
      const steps = labOn(lab, 'postgres').steps;
      for (const [index, step] of steps.entries()) {
        const state = session.getState();
        expect(state.step?.title).toBe(step.title);
        expect(state.step!.check.passed, `step ${index + 1} (${step.title}) passed before it was done: ${state.step!.check.detail}`).toBe(false);
        const outcome = await session.runAutopilot();
        expect(outcome.passed, `step ${index + 1} (${step.title}): ${outcome.detail} ${outcome.autopilotError ?? ''}`).toBe(true);
        expect(await session.next()).toBe(true);
      }
      const debrief = session.getState().debrief!.join('\n');
      expect(debrief).not.toMatch(/undefined|NaN|\[object /);
      // The PostgreSQL debrief speaks of the primary, not of an elected leader.
      expect(debrief).toContain('primary');
      expect(debrief).not.toMatch(/\bleader\b/);
    });
  }
});
