// One run of a replay lab: the current step's replay, stepped by the person
// (one message per key press) or run to its end by the autopilot; each step's
// check is a pure function of the replay's facts, evaluated after every step.
// No process, no timer: the dashboard's replay view renders `getState()`.

import { Figure8Replay, type Figure8Facts, type ReplayFrame } from '../../cluster/sim/figure8.js';
import type { ProgressStore } from '../progress.js';
import type { ReplayLab } from './figure-8.js';

export interface ReplayStepView {
  readonly title: string;
  readonly status: 'pending' | 'current' | 'passed';
  readonly detail: string;
  readonly by: 'person' | 'autopilot' | null;
}

export interface ReplaySessionState {
  readonly lab: Pick<ReplayLab, 'id' | 'title' | 'level' | 'minutes' | 'summary'>;
  readonly phase: 'running' | 'finished';
  readonly stepIndex: number;
  readonly steps: readonly ReplayStepView[];
  /** The current step, null once finished. */
  readonly step: {
    readonly number: number;
    readonly title: string;
    readonly rule: string;
    readonly instruction: string;
    readonly hint: string;
    readonly check: { readonly passed: boolean; readonly detail: string };
  } | null;
  readonly frame: ReplayFrame;
  readonly debrief: readonly string[] | null;
  readonly message: string | null;
}

export interface ReplaySessionOptions {
  readonly mode: 'interactive' | 'auto';
  readonly progress: ProgressStore | null;
}

export class ReplaySession {
  private stepIndex = 0;
  private replay: Figure8Replay;
  private readonly facts: Figure8Facts[] = [];
  private readonly by: ('person' | 'autopilot')[] = [];
  private readonly details: string[] = [];
  private phase: 'running' | 'finished' = 'running';
  private message: string | null = null;
  private recorded = false;
  private readonly listeners = new Set<(state: ReplaySessionState) => void>();

  constructor(
    readonly lab: ReplayLab,
    private readonly options: ReplaySessionOptions,
  ) {
    this.replay = new Figure8Replay(lab.steps[0]!.variant);
  }

  getState(): ReplaySessionState {
    const current = this.phase === 'running' ? this.lab.steps[this.stepIndex]! : null;
    const check = current === null ? null : current.check(this.replay.facts());
    return {
      lab: { id: this.lab.id, title: this.lab.title, level: this.lab.level, minutes: this.lab.minutes, summary: this.lab.summary },
      phase: this.phase,
      stepIndex: this.stepIndex,
      steps: this.lab.steps.map((step, i) => ({
        title: step.title,
        status: i < this.facts.length ? 'passed' : i === this.stepIndex && this.phase === 'running' ? 'current' : 'pending',
        detail: this.details[i] ?? (i === this.stepIndex && check !== null ? check.detail : ''),
        by: this.by[i] ?? null,
      })),
      step:
        current === null || check === null
          ? null
          : { number: this.stepIndex + 1, title: current.title, rule: current.rule, instruction: current.instruction, hint: current.hint, check },
      frame: this.replay.frame(),
      debrief: this.phase === 'finished' ? this.lab.debrief(this.facts) : null,
      message: this.message,
    };
  }

  subscribe(listener: (state: ReplaySessionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One message (or scripted action) of the current replay. */
  stepOnce(): void {
    if (this.phase !== 'running') return;
    this.message = this.replay.next() ? null : 'the replay is over: press Enter to check it and go on';
    this.changed();
  }

  /** To the end of the current scene (panel) of the figure. */
  toSceneEnd(): void {
    if (this.phase !== 'running') return;
    const scene = this.replay.frame().sceneIndex;
    while (this.replay.frame().sceneIndex === scene && this.replay.next());
    this.message = null;
    this.changed();
  }

  /** Starts the current step's replay again from (a). */
  restartReplay(): void {
    if (this.phase !== 'running') return;
    this.replay = new Figure8Replay(this.lab.steps[this.stepIndex]!.variant);
    this.message = null;
    this.changed();
  }

  /** True: the check passed and the lab moved on (or finished); false: state.message says what is missing. */
  next(): boolean {
    return this.advance('person');
  }

  /** Runs the current replay to its end and moves on if its check passes. */
  runAutopilot(): { readonly passed: boolean; readonly detail: string } {
    if (this.phase !== 'running') return { passed: true, detail: 'the lab is finished' };
    this.replay.runToEnd();
    const result = this.lab.steps[this.stepIndex]!.check(this.replay.facts());
    if (result.passed) this.advance('autopilot');
    else this.changed();
    return result;
  }

  /** What the replays measured, one fact set per passed step. */
  measured(): readonly Figure8Facts[] {
    return [...this.facts];
  }

  debrief(): readonly string[] {
    return this.lab.debrief(this.facts);
  }

  /** Records the run in the progress file once (a finished run, or an unfinished one on quit). */
  stop(): void {
    if (this.recorded || this.options.progress === null) return;
    this.recorded = true;
    this.options.progress.recordLabRun(this.lab.id, {
      passed: this.phase === 'finished',
      autopilot: this.options.mode === 'auto',
      stepsPassed: this.facts.length,
      steps: this.lab.steps.length,
      stepsByAutopilot: this.options.mode === 'auto' ? 0 : this.by.filter((who) => who === 'autopilot').length,
    });
  }

  private advance(by: 'person' | 'autopilot'): boolean {
    if (this.phase !== 'running') return true;
    const step = this.lab.steps[this.stepIndex]!;
    const facts = this.replay.facts();
    const result = step.check(facts);
    if (!result.passed) {
      this.message = result.detail;
      this.changed();
      return false;
    }
    this.facts.push(facts);
    this.details.push(result.detail);
    this.by.push(by);
    this.message = null;
    if (this.stepIndex + 1 < this.lab.steps.length) {
      this.stepIndex++;
      this.replay = new Figure8Replay(this.lab.steps[this.stepIndex]!.variant);
    } else {
      this.phase = 'finished';
      this.stop();
    }
    this.changed();
    return true;
  }

  private changed(): void {
    const state = this.getState();
    for (const listener of this.listeners) listener(state);
  }
}

export interface ReplayAutoResult {
  readonly id: string;
  readonly passed: boolean;
  readonly steps: readonly { readonly title: string; readonly passed: boolean; readonly detail: string }[];
  readonly debrief: readonly string[];
}

/** `lab figure-8 --auto`: every replay to its end, each checked; stops at the first that does not pass. */
export function runReplayAuto(lab: ReplayLab, progress: ProgressStore | null): ReplayAutoResult {
  const session = new ReplaySession(lab, { mode: 'auto', progress });
  const steps: { title: string; passed: boolean; detail: string }[] = [];
  for (const step of lab.steps) {
    if (steps.some((s) => !s.passed)) {
      steps.push({ title: step.title, passed: false, detail: 'not run: an earlier step did not pass' });
      continue;
    }
    const result = session.runAutopilot();
    steps.push({ title: step.title, passed: result.passed, detail: result.detail });
  }
  session.stop();
  const passed = steps.every((s) => s.passed);
  return { id: lab.id, passed, steps, debrief: session.debrief() };
}
