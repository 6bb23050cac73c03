// The write-ahead log's public surface: the node process opens one per data dir.
export { openWal, Wal, type WalStats } from './wal.js';
export { WalError } from './types.js';
export type { CompactOptions, Compaction, LogBase, LogPosition, Recovery, RecoveryProblem, RecoveryProblemReason, WalErrorCode, WalFs, WalOptions } from './types.js';
export * as walLimits from './constants.js';
