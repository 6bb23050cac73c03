// The vocabulary of snapshots. `Membership` and `SnapshotMeta` have exactly the
// shape issue 14's core contract gives them (cluster/core/types.ts will export
// both); they are declared here until that core lands, and are then to be
// imported from there instead.

import type { NodeId } from '../core/index.js';

export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMeta {
  /** The last index the snapshot's state includes (applied). */
  readonly index: number;
  /** The term of that entry. */
  readonly term: number;
  /** The lsn of that entry, so the log after it keeps its lsn chain. */
  readonly lsn: number;
  /** The configuration in force at `index`. */
  readonly membership: Membership;
}

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
