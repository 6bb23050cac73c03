// The person's progress: which labs they finished, autopilot runs, and quiz
// results, in one JSON file in the XDG state dir
// ($XDG_STATE_HOME/replica-lab/progress.json, else
// ~/.local/state/replica-lab/progress.json). Every write replaces the file
// atomically (a temporary file in the same dir, then rename), so a crash
// leaves the old file or the new one, never half of either.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { engineKinds, type EngineKind } from '../cluster/engine.js';
import { labFactsBytesMax, quizSessionsKeptMax } from './constants.js';
import type { EarlierRun } from './types.js';

export const progressFormatVersion = 1;

export interface LabRun {
  /** ISO 8601. */
  readonly at: string;
  readonly passed: boolean;
  readonly autopilot: boolean;
  readonly stepsPassed: number;
  readonly steps: number;
  /** Steps the person asked the autopilot to do (interactive runs). */
  readonly stepsByAutopilot: number;
}

export interface LabProgress {
  /** Finished by the person, in the dashboard. */
  readonly done: boolean;
  readonly completedAt: string | null;
  readonly runs: number;
  readonly autopilotRuns: number;
  readonly lastRun: LabRun | null;
  /** The last run by a person in the dashboard (finished or not). */
  readonly lastHandRun: LabRun | null;
  /** The last `lab <id> --auto` run. */
  readonly lastAutopilotRun: LabRun | null;
  /** The last passed run on each engine, with the facts its checks measured: what a debrief on another engine compares with. */
  readonly lastPassedByEngine: Readonly<Partial<Record<EngineKind, EarlierRun>>>;
}

/** What a run reports beyond its LabRun line: the engine it ran on and the facts its checks measured. */
export interface LabRunDetails {
  readonly engine?: EngineKind;
  readonly facts?: Readonly<Record<string, unknown>>;
}

export interface QuizAnswerStats {
  readonly asked: number;
  readonly correct: number;
  readonly lastAt: string;
}

export interface QuizSession {
  readonly at: string;
  readonly topic: string | null;
  readonly asked: number;
  readonly correct: number;
}

export interface Progress {
  readonly version: number;
  readonly labs: Readonly<Record<string, LabProgress>>;
  readonly quiz: { readonly sessions: readonly QuizSession[]; readonly questions: Readonly<Record<string, QuizAnswerStats>> };
}

export function emptyProgress(): Progress {
  return { version: progressFormatVersion, labs: {}, quiz: { sessions: [], questions: {} } };
}

/** Where replica-lab keeps state, after the XDG base directory spec (a relative XDG_STATE_HOME is ignored, as the spec says). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_STATE_HOME'];
  const base = xdg !== undefined && xdg !== '' && isAbsolute(xdg) ? xdg : join(env['HOME'] ?? homedir(), '.local', 'state');
  return join(base, 'replica-lab');
}

export class ProgressFileError extends Error {
  override readonly name = 'ProgressFileError';
}

export class ProgressStore {
  readonly path: string;

  constructor(readonly dir: string = stateDir()) {
    this.path = join(dir, 'progress.json');
  }

  /** The progress so far; empty when there is no file yet. A file that is not ours is an error naming it. */
  read(): Progress {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyProgress();
      throw new ProgressFileError(`cannot read ${this.path}: ${(error as Error).message}`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new ProgressFileError(`${this.path} is not valid JSON; move it away to start afresh`);
    }
    return normalize(value, this.path);
  }

  recordLabRun(id: string, report: Omit<LabRun, 'at'> & LabRunDetails): Progress {
    const { engine = 'replica-lab', facts = {}, ...run } = report;
    return this.update((progress) => {
      const at = new Date().toISOString();
      const previous = progress.labs[id] ?? { done: false, completedAt: null, runs: 0, autopilotRuns: 0, lastRun: null, lastHandRun: null, lastAutopilotRun: null, lastPassedByEngine: {} };
      const last: LabRun = { at, ...run };
      const kept = keptFacts(facts);
      const personDone = run.passed && !run.autopilot;
      const next: LabProgress = {
        done: previous.done || personDone,
        completedAt: personDone ? at : previous.completedAt,
        runs: previous.runs + (run.autopilot ? 0 : 1),
        autopilotRuns: previous.autopilotRuns + (run.autopilot ? 1 : 0),
        lastRun: last,
        lastHandRun: run.autopilot ? previous.lastHandRun : last,
        lastAutopilotRun: run.autopilot ? last : previous.lastAutopilotRun,
        lastPassedByEngine: run.passed && kept !== null ? { ...previous.lastPassedByEngine, [engine]: { engine, at, autopilot: run.autopilot, facts: kept } } : previous.lastPassedByEngine,
      };
      return { ...progress, labs: { ...progress.labs, [id]: next } };
    });
  }

  recordQuiz(session: Omit<QuizSession, 'at'>, answers: readonly { readonly id: string; readonly correct: boolean }[]): Progress {
    return this.update((progress) => {
      const at = new Date().toISOString();
      const questions: Record<string, QuizAnswerStats> = { ...progress.quiz.questions };
      for (const answer of answers) {
        const previous = questions[answer.id] ?? { asked: 0, correct: 0, lastAt: at };
        questions[answer.id] = { asked: previous.asked + 1, correct: previous.correct + (answer.correct ? 1 : 0), lastAt: at };
      }
      const sessions = [...progress.quiz.sessions, { at, ...session }].slice(-quizSessionsKeptMax);
      return { ...progress, quiz: { sessions, questions } };
    });
  }

  /** Read, change, write atomically. */
  update(change: (progress: Progress) => Progress): Progress {
    const next = change(this.read());
    this.write(next);
    return next;
  }

  private write(progress: Progress): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const temporary = join(this.dir, `.progress.json.${process.pid}.${Date.now()}.tmp`);
    try {
      const fd = openSync(temporary, 'wx', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(progress, null, 2)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, this.path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw new ProgressFileError(`cannot write ${this.path}: ${(error as Error).message}`);
    }
  }
}

/** Keeps what is well-formed in a progress file, fills in what is missing; refuses what is not a progress file. */
function normalize(value: unknown, path: string): Progress {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProgressFileError(`${path} is not a replica-lab progress file; move it away to start afresh`);
  const record = value as Record<string, unknown>;
  const version = record['version'];
  if (typeof version === 'number' && version > progressFormatVersion) {
    throw new ProgressFileError(`${path} was written by a newer replica-lab (format ${version}); this one reads format ${progressFormatVersion}`);
  }
  const labs: Record<string, LabProgress> = {};
  const rawLabs = record['labs'];
  if (typeof rawLabs === 'object' && rawLabs !== null) {
    for (const [id, entry] of Object.entries(rawLabs as Record<string, unknown>)) {
      if (typeof entry !== 'object' || entry === null) continue;
      const e = entry as Record<string, unknown>;
      labs[id] = {
        done: e['done'] === true,
        completedAt: typeof e['completedAt'] === 'string' ? e['completedAt'] : null,
        runs: wholeOr(e['runs'], 0),
        autopilotRuns: wholeOr(e['autopilotRuns'], 0),
        lastRun: runOrNull(e['lastRun']),
        // Files written before these were kept: the last run tells one of them.
        lastHandRun: runOrNull(e['lastHandRun']) ?? (runOrNull(e['lastRun'])?.autopilot === false ? runOrNull(e['lastRun']) : null),
        lastAutopilotRun: runOrNull(e['lastAutopilotRun']) ?? (runOrNull(e['lastRun'])?.autopilot === true ? runOrNull(e['lastRun']) : null),
        lastPassedByEngine: passedByEngine(e['lastPassedByEngine']),
      };
    }
  }
  const rawQuiz = (typeof record['quiz'] === 'object' && record['quiz'] !== null ? record['quiz'] : {}) as Record<string, unknown>;
  const sessions = Array.isArray(rawQuiz['sessions']) ? (rawQuiz['sessions'] as QuizSession[]) : [];
  const questions = typeof rawQuiz['questions'] === 'object' && rawQuiz['questions'] !== null ? (rawQuiz['questions'] as Record<string, QuizAnswerStats>) : {};
  return { version: progressFormatVersion, labs, quiz: { sessions, questions } };
}

/** The facts as JSON keeps them, or null when they are over labFactsBytesMax (a debrief then has nothing to compare with, rather than a file that grows). */
function keptFacts(facts: Readonly<Record<string, unknown>>): Record<string, unknown> | null {
  const text = JSON.stringify(facts);
  return text.length > labFactsBytesMax ? null : (JSON.parse(text) as Record<string, unknown>);
}

/** The well-formed entries of a lastPassedByEngine: one per known engine, each with its engine, time and facts. */
function passedByEngine(value: unknown): Partial<Record<EngineKind, EarlierRun>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const out: Partial<Record<EngineKind, EarlierRun>> = {};
  for (const engine of engineKinds) {
    const run = (value as Record<string, unknown>)[engine];
    if (typeof run !== 'object' || run === null || Array.isArray(run)) continue;
    const r = run as Record<string, unknown>;
    const facts = r['facts'];
    if (r['engine'] !== engine || typeof r['at'] !== 'string' || typeof facts !== 'object' || facts === null || Array.isArray(facts)) continue;
    out[engine] = { engine, at: r['at'], autopilot: r['autopilot'] === true, facts: facts as Record<string, unknown> };
  }
  return out;
}

function runOrNull(value: unknown): LabRun | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as LabRun) : null;
}

function wholeOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : fallback;
}
