// The write-ahead log's public surface: the node process opens one per data dir.
export { openWal, Wal, type WalStats } from './wal.js';
export { corruptionMessage, WalError } from './types.js';
export { lastRecordPosition } from './scan.js';
export type { CompactOptions, Compaction, LogBase, LogPosition, Recovery, RecoveryProblem, RecoveryProblemReason, WalCorruption, WalErrorCode, WalFs, WalOptions } from './types.js';
export * as walLimits from './constants.js';
