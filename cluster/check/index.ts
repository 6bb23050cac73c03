// History checkers: lost acknowledged writes, stale reads, session anomalies,
// divergent replicas. Online (OnlineChecker, fed records as they complete) and
// offline (HistoryChecker, streamed over a file by checkHistoryFile).
export * from './records.js';
export { OnlineChecker, type OnlineCheckerOptions, type OnlineCounts, type ReadAnomaly, type StaleRead, type ReadYourWritesViolation, type MonotonicReadViolation, type SecondBucket } from './online.js';
export { collectFinalState, CommittedLog, findDivergence, FinalStateCollector, HistoryLimitError, isLost, LostWriteConfirmer, writeHash, type DivergentReplicas, type FinalState, type IndeterminateWrite, type LostConfirmation, type LostWrite } from './final.js';
export { checkHistory, HistoryChecker, summarize, anomalyKinds, invalidatingKinds, type AnomalyKind, type CheckOptions, type CheckReport, type CheckSummary } from './check.js';
export { formatText, formatMarkdown, describeAnomalies, verdictLine, anomalyLabels } from './format.js';
export { checkHistoryFile, forEachLine, forEachRecord, readHistoryFile, HistoryReadError } from './file.js';
export { printable, quoted } from './printable.js';
export * as checkLimits from './constants.js';
