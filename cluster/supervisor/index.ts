// The supervisor's public surface: the Cluster API and its typed errors.
export { Cluster, raftCluster, type ClusterOptions, type ClusterEvent, type ExecuteOptions, type ExecuteResult, type NodeStatus, type Position, type QueryOptions, type QueryResult, type SupervisorEvent, type ClusterMembership, type JoinAs } from './cluster.js';
export { learnerCaughtUpEntries, membershipTimeoutMsDefault } from './membership.js';
export { BadRequestError, BadStatementError, ClusterError, NotLeaderError, TimeoutError, UnavailableError, type ClusterErrorKind } from './errors.js';
export type { LinkOptions } from './network.js';
export { unsafeOptions, type UnsafeOption, type SnapshotPolicy } from './types.js';
export { Workload, defaultWorkload, classifyWriteError, workloadWriteSql, type ReadTarget, type SessionGuarantee, type WorkloadOptions, type WorkloadStats } from './workload.js';
export { HistoryRecorder, type HistoryStats } from './history.js';
export { runNemesis, nemesisFaults, nemesisWorkload, engineRefusal, lostNotByRewind, postgresLines, type PostgresNemesisResult, type NemesisFault, type NemesisOptions, type NemesisProgress, type NemesisResult, type FaultLogEntry } from './nemesis.js';
export { settle, undoAllFaults, recordFinalState, readCommittedWrites, readRolledBackWrites, type SettleResult, type FinalStateSummary } from './final-state.js';
export { type TraceOptions } from './trace.js';
export type { WriteTrace, TraceSpan, TraceLane, TraceMark, TraceSummary, TraceRule, NodeTraceRecord } from '../trace/types.js';
export { formatTrace } from '../trace/format.js';
export type { MessagesView } from './message-journal.js';
export type { ElectionTimer, LinkCount, MessageRecord, MessageReport } from '../message-report.js';
