// Guided labs (data + checks + autopilot) and the quiz bank. The CLI and the
// dashboard's lab panel use this; the labs drive the cluster through its API.
export { labs, findLab, labIds, replayLabs, findReplayLab, catalog, labEngines, labOn, labsOn, labEngineRefusal } from './catalog/index.js';
export { ReplaySession, runReplayAuto, type ReplaySessionState, type ReplayStepView, type ReplayAutoResult } from './replay/session.js';
export type { ReplayLab, ReplayStepDef } from './replay/figure-8.js';
export { LabSession, describeEvidence, type LabEvidence, type LabSessionState, type LabSessionOptions, type LabInfo, type LabPhase, type StepView, type StepStatus, type CurrentStep, type AutopilotOutcome } from './session.js';
export { runLabAuto, type AutoRunResult, type AutoStepResult, type AutoRunOptions } from './auto.js';
export { ProgressStore, ProgressFileError, stateDir, emptyProgress, type Progress, type LabProgress, type LabRun, type QuizSession } from './progress.js';
export type * from './types.js';
export * as quiz from './quiz/index.js';
