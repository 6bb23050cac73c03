// One run of a lab on a live cluster: starts the cluster, keeps the current
// step's check evaluated (on every cluster event and a few times a second),
// latches it once it passes, moves on when asked, and ends in a debrief built
// from the facts the checks measured. The dashboard's lab panel renders its
// state and calls next() and runAutopilot(); `replica-lab lab <id> --auto`
// drives the same object headless. labs/README.md documents the API.

import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { BadRequestError, Cluster, raftCluster, type ClusterOptions, type EngineKind, type ReplicationEngine } from '../cluster/index.js';
import { labEngineRefusal, labOn } from './catalog/index.js';
import { autopilotWaitMs, checkWaitMs, firstLeaderWaitMs, refreshIntervalMs, waitPollMs, warmupWaitMs, warmupWritesMin } from './constants.js';
import { Journal, recordingCluster } from './journal.js';
import { baselineOf, HistoryTap, LagTap, NodeTap, observe, RollbackReader } from './observe.js';
import type { ProgressStore } from './progress.js';
import type { AnyLab, AutopilotContext, Baseline, CheckResult, EarlierRun, LabSetup, LiveText, Observation, RunSummary } from './types.js';

/** What a person sees of a lab before and during a run: its catalog entry's description. */
export type LabInfo = Pick<AnyLab, 'id' | 'title' | 'level' | 'minutes' | 'concepts' | 'summary'>;

export type StepStatus = 'pending' | 'current' | 'passed';

export interface StepView {
  readonly title: string;
  readonly status: StepStatus;
  /** The check's last word on this step ('' before it was current). */
  readonly detail: string;
  /** Who did it, once passed: the person, or the autopilot when asked to. */
  readonly by: 'person' | 'autopilot' | null;
}

export interface CurrentStep {
  /** From 1. */
  readonly number: number;
  readonly title: string;
  readonly instruction: string;
  readonly hint: string;
  readonly check: { readonly passed: boolean; readonly detail: string };
}

export type LabPhase = 'running' | 'restarting-cluster' | 'finished' | 'stopped';

export interface LabSessionState {
  readonly lab: LabInfo;
  readonly phase: LabPhase;
  /** 0-based index of the current step (the last one once finished). */
  readonly stepIndex: number;
  readonly steps: readonly StepView[];
  /** Null once finished or stopped. */
  readonly step: CurrentStep | null;
  readonly autopilotRunning: boolean;
  /** The debrief once every step passed; null before. */
  readonly debrief: readonly string[] | null;
  /** Bumped whenever the lab replaces its cluster: read `session.cluster` again. */
  readonly clusterGeneration: number;
  /** A passing remark for the person ("the check has not passed yet"), or null. */
  readonly message: string | null;
}

export interface LabSessionOptions {
  /** 'auto' for `lab <id> --auto`: recorded as an autopilot run, never as done by the person. */
  readonly mode: 'interactive' | 'auto';
  /** Where the run is recorded; null to record nothing. */
  readonly progress: ProgressStore | null;
  /**
   * Keep the nodes' data (WAL, state.db, rollback files) and the workload's
   * history here: each cluster of the run in `<dataDir>/cluster-<n>`. Without
   * it every cluster runs in a temporary dir removed when it stops.
   */
  readonly dataDir?: string;
  /** The engine to run on (`--engine`); default replica-lab. A lab that does not run there is refused (Lab.engines). */
  readonly engine?: EngineKind;
  /** Starts each cluster of the run on that engine (the CLI's loadEngine); default Cluster.start, which is replica-lab only. */
  readonly startCluster?: (options: ClusterOptions) => Promise<ReplicationEngine>;
}

/** Where one cluster of the run kept its evidence, and whether it is still there. */
export interface LabEvidence {
  /** The cluster's data dir (one subdir per node). */
  readonly dataDir: string;
  /** false: a temporary dir, removed when the cluster stopped. */
  readonly kept: boolean;
  /** The workload's history (JSONL, readable by `replica-lab check`), or null without a workload. */
  readonly historyPath: string | null;
  /** Rollback files the nodes wrote (`<node>/rollback/*.jsonl`). */
  readonly rollbackFiles: readonly string[];
}

export interface AutopilotOutcome extends CheckResult<unknown> {
  /** What went wrong inside the autopilot, if anything (the check still decides). */
  readonly autopilotError: string | null;
}

type Listener = (state: LabSessionState) => void;

export class LabSession {
  private raw!: ReplicationEngine;
  /** The current cluster has been stopped (its totals are in `earlier`). */
  private rawStopped = false;
  private proxy!: ReplicationEngine;
  private readonly journal = new Journal();
  private tap!: HistoryTap;
  private rollbacks!: RollbackReader;
  private lags!: LagTap;
  private nodes!: NodeTap;
  private firstAction = 1;
  private tickMs = 10;
  private generation = 0;
  private phase: LabPhase = 'running';
  private stepIndex = 0;
  private baseline!: Baseline;
  private readonly latest: (CheckResult<unknown> | null)[];
  private readonly passed: boolean[];
  private readonly byAutopilot: boolean[];
  private facts: Record<string, unknown> = {};
  private autopilotRunning = false;
  private message: string | null = null;
  private debriefLines: readonly string[] | null = null;
  private readonly listeners = new Set<Listener>();
  private lastSignature = '';
  private timer: NodeJS.Timeout | null = null;
  private refreshScheduled: NodeJS.Timeout | null = null;
  private readonly startedMono = performance.now();
  /** Totals of clusters already stopped, for the debrief. */
  private earlier = { writesAcknowledged: 0, lostWrites: 0 };
  private recorded = false;
  /** The person's passed runs of this lab on the other engines, read once at start. */
  private earlierRuns: readonly EarlierRun[] = [];
  private readonly evidenceList: { dataDir: string; kept: boolean; historyPath: string | null; rollbackFiles: string[] }[] = [];
  private readonly onEvent = (): void => this.scheduleRefresh();

  private constructor(
    readonly lab: AnyLab,
    private readonly options: LabSessionOptions,
  ) {
    this.latest = lab.steps.map(() => null);
    this.passed = lab.steps.map(() => false);
    this.byAutopilot = lab.steps.map(() => false);
  }

  /** Starts the lab's cluster (and workload) and makes the first step current. */
  static async start(lab: AnyLab, options: LabSessionOptions): Promise<LabSession> {
    const refusal = labEngineRefusal(lab, options.engine ?? 'replica-lab');
    if (refusal !== null) throw new BadRequestError(refusal);
    if ((options.engine ?? 'replica-lab') !== 'replica-lab' && options.startCluster === undefined) throw new BadRequestError(`lab ${lab.id} on ${options.engine}: give startCluster, the engine's start`);
    const session = new LabSession(labOn(lab, options.engine ?? 'replica-lab'), options);
    session.earlierRuns = session.readEarlierRuns();
    await session.startCluster(session.lab.setup);
    session.beginStep(0);
    session.timer = setInterval(() => session.refresh(), refreshIntervalMs);
    session.timer.unref();
    return session;
  }

  /** The lab's cluster, journaled: the dashboard must drive this object (it changes with clusterGeneration). */
  get cluster(): ReplicationEngine {
    return this.proxy;
  }

  getState(): LabSessionState {
    return this.buildState();
  }

  /** Calls `listener` whenever the state changes; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A fresh observation of the live cluster (what the checks see). */
  observe(): Observation {
    return observe({ cluster: this.raw, journal: this.journal, tap: this.tap, rollbacks: this.rollbacks, lags: this.lags, nodes: this.nodes, tickMs: this.tickMs, firstAction: this.firstAction });
  }

  /** Re-evaluates the current step's check now. */
  refresh(): void {
    if (this.phase !== 'running') return;
    const step = this.lab.steps[this.stepIndex]!;
    // Observed even once the step passed: the history tap must keep reading the workload's ring.
    const o = this.observe();
    if (!this.passed[this.stepIndex]) {
      const result = evaluate(() => step.check(o, this.baseline));
      this.latest[this.stepIndex] = result;
      if (result.passed) {
        this.passed[this.stepIndex] = true;
        this.facts = { ...this.facts, ...(result.facts ?? {}) };
        this.message = null;
      }
    }
    this.emit();
  }

  /**
   * Moves to the next step once the current one has passed (the last step
   * finishes the lab: debrief, progress). Resolves false, with a message in
   * the state, when the check has not passed yet.
   */
  async next(): Promise<boolean> {
    if (this.phase !== 'running') return false;
    this.refresh();
    if (!this.passed[this.stepIndex]) {
      this.message = 'the check has not passed yet: do the step (? shows a hint)';
      this.emit();
      return false;
    }
    if (this.stepIndex === this.lab.steps.length - 1) {
      this.finish();
      return true;
    }
    const upcoming = this.lab.steps[this.stepIndex + 1]!;
    if (upcoming.freshCluster !== undefined) {
      this.phase = 'restarting-cluster';
      this.emit();
      try {
        await this.stopCluster();
        await this.startCluster(upcoming.freshCluster);
      } catch (error) {
        this.message = `could not start the cluster for the next step: ${error instanceof Error ? error.message : String(error)}`;
        await this.stop();
        return false;
      }
      this.phase = 'running';
    }
    this.beginStep(this.stepIndex + 1);
    return true;
  }

  /** Performs the current step through the Cluster API, then waits (bounded) for its check. */
  async runAutopilot(options: { readonly checkWaitMs?: number } = {}): Promise<AutopilotOutcome> {
    if (this.phase !== 'running' || this.autopilotRunning) {
      return { passed: false, detail: this.autopilotRunning ? 'the autopilot is already running' : `the lab is ${this.phase}`, autopilotError: null };
    }
    const index = this.stepIndex;
    const step = this.lab.steps[index]!;
    this.autopilotRunning = true;
    if (!this.passed[index]) this.byAutopilot[index] = true;
    this.emit();
    let autopilotError: string | null = null;
    this.journal.autopilot = true;
    try {
      await step.autopilot(this.autopilotContext());
    } catch (error) {
      autopilotError = error instanceof Error ? error.message : String(error);
    } finally {
      this.journal.autopilot = false;
    }
    const result = await this.waitForCheck(options.checkWaitMs ?? checkWaitMs);
    this.autopilotRunning = false;
    this.emit();
    return { ...result, autopilotError };
  }

  /** Stops the workload and every node process; records an unfinished run. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.refreshScheduled !== null) clearTimeout(this.refreshScheduled);
    this.refreshScheduled = null;
    if (this.phase !== 'finished') {
      this.record(false);
      this.phase = 'stopped';
    }
    await this.stopCluster();
    this.emit();
  }

  /** The run so far, for the debrief and reports. */
  summary(): RunSummary {
    const current = this.raw === undefined || this.rawStopped ? { writes: 0, lost: 0 } : { writes: this.raw.workload.stats().writes.ok, lost: this.raw.lostWrites().length };
    return {
      stepsPassed: this.passed.filter(Boolean).length,
      steps: this.lab.steps.length,
      elapsedMs: performance.now() - this.startedMono,
      writesAcknowledged: this.earlier.writesAcknowledged + current.writes,
      lostWrites: this.earlier.lostWrites + current.lost,
      dataKept: this.options.dataDir !== undefined,
      engine: this.engine,
      earlier: this.earlierRuns,
    };
  }

  private get engine(): EngineKind {
    return this.options.engine ?? 'replica-lab';
  }

  /** The last passed run on every other engine, from the progress file (none when it cannot be read). */
  private readEarlierRuns(): readonly EarlierRun[] {
    if (this.options.progress === null) return [];
    try {
      const byEngine = this.options.progress.read().labs[this.lab.id]?.lastPassedByEngine ?? {};
      return Object.values(byEngine).filter((run): run is EarlierRun => run !== undefined && run.engine !== this.engine);
    } catch {
      return [];
    }
  }

  /** Node processes that exited without being asked to (a crash), with the end of their log: what to show when a step fails. */
  crashes(): string[] {
    if (this.raw === undefined || this.rawStopped) return [];
    return this.raw.events().flatMap(({ event }) => {
      if (event.type !== 'node-exited' || event.expected) return [];
      const last = event.logTail.trim().split('\n').slice(-3).join(' | ');
      return [`${event.node} exited unexpectedly (code ${event.code ?? '-'}, signal ${event.signal ?? '-'})${last === '' ? '' : `: ${last}`}`];
    });
  }

  /** Where each cluster of the run kept (or kept until it stopped) its data, history and rollback files. */
  evidence(): readonly LabEvidence[] {
    this.noteRollbackFiles();
    return this.evidenceList.map((e) => ({ ...e, rollbackFiles: [...e.rollbackFiles] }));
  }

  /** The facts the passed checks measured so far. */
  measured(): Readonly<Record<string, unknown>> {
    return this.facts;
  }

  /** The debrief from what has been measured, even before the lab is finished. */
  debrief(): readonly string[] {
    try {
      return this.lab.debrief(this.facts, this.summary());
    } catch (error) {
      return [`(the debrief could not be written: ${error instanceof Error ? error.message : String(error)})`];
    }
  }

  // -------------------------------------------------------------------------

  private async startCluster(setup: LabSetup): Promise<void> {
    const dataDir = this.options.dataDir === undefined ? undefined : join(this.options.dataDir, `cluster-${this.evidenceList.length + 1}`);
    const start = this.options.startCluster ?? ((options: ClusterOptions) => Cluster.start(options));
    const cluster = await start(dataDir === undefined ? setup.cluster : { ...setup.cluster, dataDir });
    this.evidenceList.push({ dataDir: cluster.dataDir, kept: dataDir !== undefined, historyPath: null, rollbackFiles: [] });
    if (this.phase === 'stopped') {
      // stop() came while the nodes were starting (a person quit during a fresh-cluster step).
      await cluster.stop();
      throw new Error('the lab was stopped');
    }
    try {
      this.raw = cluster;
      this.rawStopped = false;
      this.tickMs = setup.cluster.tickMs ?? 10;
      this.proxy = recordingCluster(cluster, this.journal);
      this.tap = new HistoryTap(cluster);
      this.rollbacks = new RollbackReader(cluster);
      this.lags = new LagTap(cluster);
      this.nodes = new NodeTap(cluster);
      this.firstAction = this.journal.count() + 1;
      this.generation++;
      cluster.on('event', this.onEvent);
      await cluster.waitForLeader({ timeoutMs: firstLeaderWaitMs });
      // A leader needs only a majority: make sure every node runs and reports, or say which did not.
      await waitUntil(() => cluster.status().every((n) => !n.up || n.reportAgeMs !== null), firstLeaderWaitMs);
      const missing = cluster.status().filter((n) => !n.up || n.reportAgeMs === null);
      if (missing.length > 0) {
        const why = this.crashes().join('; ');
        throw new Error(`${missing.map((n) => n.id).join(', ')} did not start${why === '' ? '' : ` (${why})`}`);
      }
      if (setup.workload !== null) {
        cluster.workload.start({ ...setup.workload, history: true });
        this.evidenceList[this.evidenceList.length - 1]!.historyPath = cluster.workload.historyFile();
        // A few writes first, so the lab begins on a cluster with data and a history.
        if ((setup.workload.readFraction ?? 0.5) < 1) await waitUntil(() => cluster.workload.stats().writes.ok >= warmupWritesMin, warmupWaitMs);
      }
    } catch (error) {
      cluster.off('event', this.onEvent);
      await cluster.stop();
      this.rawStopped = true;
      throw error;
    }
  }

  private async stopCluster(): Promise<void> {
    const cluster = this.raw;
    if (cluster === undefined || this.rawStopped) return;
    this.noteRollbackFiles();
    this.rawStopped = true;
    cluster.off('event', this.onEvent);
    try {
      await cluster.workload.stop();
      const stats = cluster.workload.stats();
      this.earlier = { writesAcknowledged: this.earlier.writesAcknowledged + stats.writes.ok, lostWrites: this.earlier.lostWrites + cluster.lostWrites().length };
    } finally {
      await cluster.stop();
    }
  }

  /** Adds the rollback files the current cluster has reported to its evidence. */
  private noteRollbackFiles(): void {
    if (this.raw === undefined || this.rawStopped) return;
    const evidence = this.evidenceList[this.evidenceList.length - 1];
    if (evidence === undefined) return;
    for (const { event } of this.raw.events()) {
      if (event.type === 'rollback-written' && !evidence.rollbackFiles.includes(event.path)) evidence.rollbackFiles.push(event.path);
    }
  }

  private beginStep(index: number): void {
    this.stepIndex = index;
    this.baseline = baselineOf(this.observe());
    this.message = null;
    this.refresh();
  }

  private finish(): void {
    this.phase = 'finished';
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.debriefLines = this.debrief();
    this.record(true);
    this.emit();
  }

  private record(finished: boolean): void {
    if (this.recorded || this.options.progress === null) return;
    this.recorded = true;
    const summary = this.summary();
    try {
      this.options.progress.recordLabRun(this.lab.id, {
        passed: finished,
        autopilot: this.options.mode === 'auto',
        stepsPassed: summary.stepsPassed,
        steps: summary.steps,
        stepsByAutopilot: this.byAutopilot.filter((by, i) => by && this.passed[i]).length,
        engine: this.engine,
        facts: this.facts,
      });
    } catch {
      // Progress is a convenience: a read-only home must not spoil a lab.
    }
  }

  private autopilotContext(): AutopilotContext {
    const proxy = this.proxy;
    return {
      cluster: this.proxy,
      get raft(): Cluster {
        const found = raftCluster(proxy);
        if (found === null) throw new BadRequestError(`this step needs the replica-lab engine, not ${proxy.engine}`);
        return found;
      },
      before: this.baseline,
      observe: () => this.observe(),
      waitFor: (what, until, timeoutMs = autopilotWaitMs) => this.waitFor(what, until, timeoutMs),
      pause: (ms) => sleep(ms),
    };
  }

  private async waitFor(what: string, until: (o: Observation) => boolean, timeoutMs: number): Promise<Observation> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const o = this.observe();
      if (until(o)) return o;
      if (performance.now() >= deadline) throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}`);
      if (this.phase === 'stopped') throw new Error('the lab was stopped');
      await sleep(waitPollMs);
    }
  }

  private async waitForCheck(timeoutMs: number): Promise<CheckResult<unknown>> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      this.refresh();
      const index = this.stepIndex;
      if (this.passed[index] || performance.now() >= deadline || this.phase !== 'running') {
        return this.latest[index] ?? { passed: false, detail: 'not checked yet' };
      }
      await sleep(waitPollMs);
    }
  }

  private scheduleRefresh(): void {
    if (this.refreshScheduled !== null || this.phase !== 'running') return;
    this.refreshScheduled = setTimeout(() => {
      this.refreshScheduled = null;
      this.refresh();
    }, 20);
    this.refreshScheduled.unref();
  }

  private buildState(): LabSessionState {
    const steps: StepView[] = this.lab.steps.map((step, i) => ({
      title: step.title,
      status: this.passed[i] ? 'passed' : i === this.stepIndex && this.phase !== 'stopped' ? 'current' : 'pending',
      detail: this.latest[i]?.detail ?? '',
      by: this.passed[i] ? (this.byAutopilot[i] ? 'autopilot' : 'person') : null,
    }));
    let current: CurrentStep | null = null;
    if (this.phase === 'running' || this.phase === 'restarting-cluster') {
      const step = this.lab.steps[this.stepIndex]!;
      const o = this.phase === 'running' ? this.observe() : null;
      const result = this.latest[this.stepIndex];
      current = {
        number: this.stepIndex + 1,
        title: step.title,
        instruction: o === null ? 'starting a new cluster for this step…' : live(step.instruction, o, this.baseline),
        hint: o === null ? '' : live(step.hint, o, this.baseline),
        check: { passed: this.passed[this.stepIndex] ?? false, detail: result?.detail ?? 'not checked yet' },
      };
    }
    const { id, title, level, minutes, concepts, summary } = this.lab;
    return {
      lab: { id, title, level, minutes, concepts, summary },
      phase: this.phase,
      stepIndex: this.stepIndex,
      steps,
      step: current,
      autopilotRunning: this.autopilotRunning,
      debrief: this.debriefLines,
      clusterGeneration: this.generation,
      message: this.message,
    };
  }

  private emit(): void {
    if (this.listeners.size === 0) return;
    const state = this.buildState();
    const signature = JSON.stringify(state);
    if (signature === this.lastSignature) return;
    this.lastSignature = signature;
    for (const listener of this.listeners) listener(state);
  }
}

/**
 * What a person is told when a run ends: where the history and the rollback
 * files are, with a command for each, or that the temporary dir went with them.
 */
export function describeEvidence(evidence: readonly LabEvidence[], rerun: string): string[] {
  const lines: string[] = [];
  for (const e of evidence) {
    const files = e.rollbackFiles.length;
    if (e.kept) {
      lines.push(`Kept in ${e.dataDir}:`);
      if (e.historyPath !== null) lines.push(`  history: ${e.historyPath} (check it: replica-lab check ${e.historyPath})`);
      if (files === 0) lines.push('  no rollback files: no node undid an entry');
      for (const path of e.rollbackFiles) lines.push(`  rollback file: ${path} (one JSON line per undone entry, with its statement: cat ${path})`);
    } else {
      const what = [...(e.historyPath === null ? [] : ['its history']), ...(files === 0 ? [] : [plural(files, 'rollback file')])];
      lines.push(`The temporary dir ${e.dataDir} was removed when its cluster stopped${what.length === 0 ? '' : `, with ${what.join(' and ')}`}.`);
    }
  }
  if (evidence.some((e) => !e.kept)) lines.push(`To keep the data, the history and the rollback files: ${rerun} --data-dir <empty dir>`);
  return lines;
}

function plural(count: number, one: string): string {
  return `${count} ${one}${count === 1 ? '' : 's'}`;
}

function evaluate(check: () => CheckResult<unknown>): CheckResult<unknown> {
  try {
    return check();
  } catch (error) {
    return { passed: false, detail: `the check failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function live(text: LiveText, o: Observation, before: Baseline): string {
  if (typeof text === 'string') return text;
  try {
    return text(o, before);
  } catch (error) {
    return `(could not describe the step: ${error instanceof Error ? error.message : String(error)})`;
  }
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done() && performance.now() < deadline) await sleep(waitPollMs);
}
