// The vocabulary of snapshots on disk. `Membership` and `SnapshotMeta` are the
// core's (cluster/core/types.ts): the contract between the core, which decides
// when, and these modules, which do the files and the bytes.

import type { Membership, SnapshotMeta } from '../core/index.js';

export type { Membership, SnapshotMeta };

/** A snapshot on disk: its meta, and the state.db copy with its size and sha256. */
export interface SavedSnapshot {
  readonly meta: SnapshotMeta;
  /** The SQLite file: a complete database, the node's state at meta.index. */
  readonly path: string;
  readonly bytes: number;
  /** sha256 of the file's bytes, hex. */
  readonly sha256: string;
}

/** What the node log hears about files found on start (partial, corrupt) and what was done with them. */
export type SnapshotLog = (line: string) => void;

/** A failure with a reason worth a log line: bad input, a damaged file, a refused path. */
export class SnapshotError extends Error {
  override name = 'SnapshotError';
}
