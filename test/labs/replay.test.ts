// The replay lab (figure-8): its session, checks, autopilot, progress and
// debrief, with no process started.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { catalog, findReplayLab, labIds, ProgressStore, ReplaySession, runReplayAuto } from '../../labs/index.js';
import { questions } from '../../labs/quiz/questions.js';
import { temporaryStateHome } from './helpers.js';

const lab = findReplayLab('figure-8')!;
let home: { dir: string; remove: () => void };
beforeEach(() => {
  home = temporaryStateHome();
});
afterEach(() => home.remove());

describe('the figure-8 replay lab', () => {
  it('is in the catalog, with quiz questions that exist and point back at it', () => {
    expect(catalog.map((l) => l.id)).toContain('figure-8');
    expect(labIds).toContain('figure-8');
    for (const id of lab.quiz) expect(questions.some((q) => q.id === id), id).toBe(true);
    expect(questions.filter((q) => q.lab === 'figure-8').length).toBeGreaterThanOrEqual(2);
  });

  it('does not move on before the replay has shown what the step is about', () => {
    const session = new ReplaySession(lab, { mode: 'interactive', progress: null });
    session.stepOnce();
    expect(session.next()).toBe(false);
    expect(session.getState().message).toMatch(/keep pressing Space/);
    expect(session.getState().stepIndex).toBe(0);
  });

  it('a person steps each replay to its end and passes every check; the run is recorded as theirs', () => {
    const progress = new ProgressStore(`${home.dir}/replica-lab`);
    const session = new ReplaySession(lab, { mode: 'interactive', progress });
    for (let step = 0; step < lab.steps.length; step++) {
      let guard = 0;
      while (!session.getState().frame.done && guard++ < 1_000) session.stepOnce();
      expect(session.next(), session.getState().message ?? '').toBe(true);
    }
    const state = session.getState();
    expect(state.phase).toBe('finished');
    expect(state.steps.map((s) => s.by)).toEqual(['person', 'person', 'person']);
    expect(state.debrief!.join('\n')).toMatch(/n1, n2 and n3/);
    expect(progress.read().labs['figure-8']).toMatchObject({ done: true, runs: 1, autopilotRuns: 0 });
  });

  it('restarting a replay starts it from (a) again', () => {
    const session = new ReplaySession(lab, { mode: 'interactive', progress: null });
    session.toSceneEnd();
    session.toSceneEnd();
    expect(session.getState().frame.steps.length).toBeGreaterThan(2);
    session.restartReplay();
    expect(session.getState().frame.steps).toEqual([]);
  });

  it('the autopilot passes all three and the debrief quotes the checker', () => {
    const progress = new ProgressStore(`${home.dir}/replica-lab`);
    const result = runReplayAuto(lab, progress);
    expect(result.steps.map((s) => s.passed)).toEqual([true, true, true]);
    expect(result.passed).toBe(true);
    expect(result.debrief.join('\n')).toMatch(/committed-prefix/);
    expect(progress.read().labs['figure-8']).toMatchObject({ done: false, autopilotRuns: 1 });
  });
});
