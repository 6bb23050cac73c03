// The LabSession API the dashboard's lab panel renders: state, subscription,
// next(), the autopilot, a step on a fresh cluster, the debrief and progress.
// A tiny two-step lab on one-node clusters keeps it quick.

import { afterEach, describe, expect, it } from 'vitest';
import type { LabSessionState } from '../../labs/index.js';
import { okExecutes, upsert } from '../../labs/catalog/common.js';
import { ProgressStore } from '../../labs/progress.js';
import { defineLab, type AnyLab } from '../../labs/types.js';
import { eventually } from '../cluster/helpers.js';
import { startSession, temporaryStateHome } from './helpers.js';

interface Facts {
  firstIndex: number;
  secondIndex: number;
}

const oneNode = { cluster: { nodes: 1, fsync: false }, workload: null };

const tinyLab: AnyLab = defineLab<Facts>({
  id: 'tiny',
  title: 'Tiny',
  level: 'beginner',
  minutes: 5,
  concepts: ['testing'],
  summary: 'Two writes, the second on a fresh cluster.',
  setup: oneNode,
  steps: [
    {
      title: 'Write once',
      instruction: (o) => `write through ${o.leader ?? '?'}: :sql ${upsert('a', '1')}`,
      hint: 'any write will do',
      check: (o, before) => {
        const write = okExecutes(o, before)[0];
        return write === undefined ? { passed: false, detail: 'no write yet' } : { passed: true, detail: `written at ${write.outcome.index}`, facts: { firstIndex: write.outcome.index } };
      },
      autopilot: async (context) => {
        await context.cluster.execute(upsert('a', '1'));
      },
    },
    {
      title: 'Write on a new cluster',
      freshCluster: oneNode,
      instruction: 'write again',
      hint: 'this cluster is new',
      check: (o, before) => {
        const write = okExecutes(o, before)[0];
        return write === undefined ? { passed: false, detail: 'no write yet' } : { passed: true, detail: `written at ${write.outcome.index}`, facts: { secondIndex: write.outcome.index } };
      },
      autopilot: async (context) => {
        await context.cluster.execute(upsert('b', '2'));
      },
    },
  ],
  debrief: (f) => [`first write at index ${f.firstIndex ?? '?'}, second at ${f.secondIndex ?? '?'}`],
  quiz: [],
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('LabSession', () => {
  it('shows the current step, refuses next() until its check passes, and notifies subscribers', async () => {
    const session = await startSession(tinyLab);
    const state = session.getState();
    expect(state).toMatchObject({ lab: { id: 'tiny', minutes: 5 }, phase: 'running', stepIndex: 0, autopilotRunning: false, debrief: null, clusterGeneration: 1, message: null });
    expect(state.step).toEqual({ number: 1, title: 'Write once', instruction: `write through n1: :sql ${upsert('a', '1')}`, hint: 'any write will do', check: { passed: false, detail: 'no write yet' } });
    expect(state.steps.map((s) => s.status)).toEqual(['current', 'pending']);

    expect(await session.next()).toBe(false);
    expect(session.getState().message).toMatch(/not passed yet/);

    const seen: LabSessionState[] = [];
    const unsubscribe = session.subscribe((s) => seen.push(s));
    // What a person does in the dashboard goes through session.cluster.
    await session.cluster.execute(upsert('a', '1'));
    expect(await eventually(() => seen.some((s) => s.step?.check.passed === true), 5_000)).toBe(true);
    unsubscribe();
    expect(session.getState().steps[0]).toMatchObject({ status: 'passed', by: 'person', detail: expect.stringMatching(/^written at \d+$/) });
  });

  it('starts a fresh cluster for a step that asks for one, runs the autopilot, and ends in a debrief recorded as done', async () => {
    const home = temporaryStateHome();
    cleanups.push(home.remove);
    const progress = new ProgressStore(`${home.dir}/replica-lab`);
    const session = await startSession(tinyLab, { mode: 'interactive', progress });
    try {
      const firstDir = session.cluster.dataDir;
      await session.cluster.execute(upsert('a', '1'));
      await eventually(() => session.getState().step?.check.passed === true, 5_000);
      const phases: string[] = [];
      session.subscribe((s) => phases.push(s.phase));
      expect(await session.next()).toBe(true);
      expect(phases).toContain('restarting-cluster');
      const state = session.getState();
      expect(state).toMatchObject({ phase: 'running', stepIndex: 1, clusterGeneration: 2 });
      expect(session.cluster.dataDir).not.toBe(firstDir);

      const outcome = await session.runAutopilot();
      expect(outcome).toMatchObject({ passed: true, autopilotError: null });
      expect(await session.next()).toBe(true);
      const end = session.getState();
      expect(end.phase).toBe('finished');
      expect(end.step).toBeNull();
      expect(end.steps.map((s) => [s.status, s.by])).toEqual([
        ['passed', 'person'],
        ['passed', 'autopilot'],
      ]);
      expect(end.debrief).toEqual([expect.stringMatching(/^first write at index \d+, second at \d+$/)]);
      expect(progress.read().labs['tiny']).toMatchObject({ done: true, runs: 1, lastRun: { passed: true, autopilot: false, stepsByAutopilot: 1 } });
    } finally {
      await session.stop();
      await session.stop();
    }
  });

  it('records an unfinished run when stopped early', async () => {
    const home = temporaryStateHome();
    cleanups.push(home.remove);
    const progress = new ProgressStore(`${home.dir}/replica-lab`);
    const session = await startSession(tinyLab, { mode: 'interactive', progress });
    await session.stop();
    expect(session.getState().phase).toBe('stopped');
    expect(progress.read().labs['tiny']).toMatchObject({ done: false, runs: 1, lastRun: { passed: false, stepsPassed: 0, steps: 2 } });
  });
});
