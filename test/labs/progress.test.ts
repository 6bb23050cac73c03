// The progress file: where it lives, what a run records, atomic replacement,
// and plain errors for a file that is not ours.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProgressFileError, ProgressStore, stateDir } from '../../labs/progress.js';
import { temporaryStateHome } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function store(): ProgressStore {
  const home = temporaryStateHome();
  cleanups.push(home.remove);
  return new ProgressStore(stateDir({ XDG_STATE_HOME: home.dir }));
}

describe('stateDir', () => {
  it('follows XDG_STATE_HOME, and falls back to ~/.local/state when it is unset, empty or relative', () => {
    expect(stateDir({ XDG_STATE_HOME: '/x/state', HOME: '/home/p' })).toBe('/x/state/replica-lab');
    expect(stateDir({ HOME: '/home/p' })).toBe('/home/p/.local/state/replica-lab');
    expect(stateDir({ XDG_STATE_HOME: '', HOME: '/home/p' })).toBe('/home/p/.local/state/replica-lab');
    expect(stateDir({ XDG_STATE_HOME: 'relative/state', HOME: '/home/p' })).toBe('/home/p/.local/state/replica-lab');
  });
});

describe('ProgressStore', () => {
  it('reads as empty before anything was recorded, without creating a file', () => {
    const s = store();
    expect(s.read()).toEqual({ version: 1, labs: {}, quiz: { sessions: [], questions: {} } });
    expect(existsSync(s.path)).toBe(false);
  });

  it('marks a lab done only when a person finished it; autopilot runs are counted apart', () => {
    const s = store();
    s.recordLabRun('partition', { passed: true, autopilot: true, stepsPassed: 4, steps: 4, stepsByAutopilot: 4 });
    expect(s.read().labs['partition']).toMatchObject({ done: false, runs: 0, autopilotRuns: 1, lastRun: { passed: true, autopilot: true } });
    s.recordLabRun('partition', { passed: false, autopilot: false, stepsPassed: 2, steps: 4, stepsByAutopilot: 0 });
    expect(s.read().labs['partition']).toMatchObject({ done: false, runs: 1, autopilotRuns: 1 });
    s.recordLabRun('partition', { passed: true, autopilot: false, stepsPassed: 4, steps: 4, stepsByAutopilot: 1 });
    const done = s.read().labs['partition']!;
    expect(done).toMatchObject({ done: true, runs: 2, lastRun: { passed: true, stepsByAutopilot: 1 } });
    expect(done.completedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    // The last run of each kind is kept apart, so a later autopilot run does not hide the person's.
    s.recordLabRun('partition', { passed: false, autopilot: true, stepsPassed: 1, steps: 4, stepsByAutopilot: 1 });
    expect(s.read().labs['partition']).toMatchObject({ runs: 2, autopilotRuns: 2, lastHandRun: { autopilot: false, passed: true }, lastAutopilotRun: { autopilot: true, passed: false } });
    // A later failed run does not undo it.
    s.recordLabRun('partition', { passed: false, autopilot: false, stepsPassed: 0, steps: 4, stepsByAutopilot: 0 });
    expect(s.read().labs['partition']!.done).toBe(true);
  });

  it('keeps quiz sessions and per-question tallies next to the labs', () => {
    const s = store();
    s.recordLabRun('first-steps', { passed: true, autopilot: false, stepsPassed: 5, steps: 5, stepsByAutopilot: 0 });
    s.recordQuiz({ topic: 'raft', asked: 2, correct: 1 }, [
      { id: 'raft-term', correct: true },
      { id: 'prevote', correct: false },
    ]);
    s.recordQuiz({ topic: null, asked: 1, correct: 1 }, [{ id: 'prevote', correct: true }]);
    const progress = s.read();
    expect(progress.labs['first-steps']!.done).toBe(true);
    expect(progress.quiz.sessions.map((q) => [q.topic, q.asked, q.correct])).toEqual([
      ['raft', 2, 1],
      [null, 1, 1],
    ]);
    expect(progress.quiz.questions['prevote']).toMatchObject({ asked: 2, correct: 1 });
  });

  it('replaces the file atomically: valid JSON every time, no temporary file left', () => {
    const s = store();
    for (let i = 0; i < 5; i++) s.recordQuiz({ topic: null, asked: 1, correct: i % 2 }, []);
    expect(() => JSON.parse(readFileSync(s.path, 'utf8'))).not.toThrow();
    expect(readdirSync(s.dir)).toEqual(['progress.json']);
  });

  it('refuses a file that is not JSON, not a progress file, or from a newer version, naming the file', () => {
    const s = store();
    mkdirSync(s.dir, { recursive: true });
    writeFileSync(s.path, '{ not json');
    expect(() => s.read()).toThrow(ProgressFileError);
    expect(() => s.read()).toThrow(s.path);
    expect(() => s.recordQuiz({ topic: null, asked: 1, correct: 1 }, [])).toThrow(ProgressFileError);
    expect(readFileSync(s.path, 'utf8')).toBe('{ not json');
    writeFileSync(s.path, '[1, 2]');
    expect(() => s.read()).toThrow(/not a replica-lab progress file/);
    writeFileSync(s.path, JSON.stringify({ version: 99 }));
    expect(() => s.read()).toThrow(/newer replica-lab/);
  });

  it('keeps what is well-formed in a hand-edited file', () => {
    const s = store();
    mkdirSync(s.dir, { recursive: true });
    writeFileSync(join(s.dir, 'progress.json'), JSON.stringify({ version: 1, labs: { 'first-steps': { done: true, runs: 'x' }, broken: 7 } }));
    expect(s.read().labs).toEqual({ 'first-steps': { done: true, completedAt: null, runs: 0, autopilotRuns: 0, lastRun: null, lastHandRun: null, lastAutopilotRun: null, lastPassedByEngine: {} } });
  });

  it('keeps the last passed run on each engine with its facts, for a debrief on the other engine to compare with', () => {
    const s = store();
    s.recordLabRun('async-lost-writes', { passed: true, autopilot: true, stepsPassed: 4, steps: 4, stepsByAutopilot: 4, facts: { lostCount: 12, oldLeader: 'n1' } });
    s.recordLabRun('async-lost-writes', { passed: true, autopilot: false, stepsPassed: 4, steps: 4, stepsByAutopilot: 0, engine: 'postgres', facts: { lostCount: 3 } });
    // A failed run, and a run whose facts are too big to keep, change nothing.
    s.recordLabRun('async-lost-writes', { passed: false, autopilot: false, stepsPassed: 1, steps: 4, stepsByAutopilot: 0, engine: 'postgres', facts: { lostCount: 99 } });
    s.recordLabRun('async-lost-writes', { passed: true, autopilot: false, stepsPassed: 4, steps: 4, stepsByAutopilot: 0, facts: { big: 'x'.repeat(20_000) } });
    const kept = s.read().labs['async-lost-writes']!.lastPassedByEngine;
    expect(kept['replica-lab']).toMatchObject({ engine: 'replica-lab', autopilot: true, facts: { lostCount: 12, oldLeader: 'n1' } });
    expect(kept.postgres).toMatchObject({ engine: 'postgres', autopilot: false, facts: { lostCount: 3 } });
  });

  it('drops a hand-edited lastPassedByEngine entry that is not one', () => {
    const s = store();
    mkdirSync(s.dir, { recursive: true });
    const good = { engine: 'postgres', at: '2026-12-06T00:00:00.000Z', autopilot: false, facts: { lostCount: 2 } };
    writeFileSync(join(s.dir, 'progress.json'), JSON.stringify({ version: 1, labs: { x: { lastPassedByEngine: { postgres: good, 'replica-lab': { engine: 'postgres', at: 'a', facts: {} }, mysql: good } } } }));
    expect(s.read().labs['x']!.lastPassedByEngine).toEqual({ postgres: good });
  });
});
