// Why a node refuses to start on damaged files: the WAL (a bad record with
// valid ones after it, wal/recovery.ts), a log that lost entries state.db had
// already applied (snapshots.ts), or a `meta` or `wal/base` that does not read
// back. Each becomes one `node-corrupt` event and one line in the node's log,
// and the process exits with corruptExitCode touching nothing: the supervisor
// shows it `✕ corrupt`, and `restart(id, { rebuild: true })` brings it back.

import { basename } from 'node:path';
import { WalError } from '../wal/index.js';

/** Where the damage is, in the shape of the node-corrupt event. */
export interface CorruptAt {
  /** The file (a segment's name, `meta`, `wal/base`). */
  readonly segment: string;
  readonly offset: number;
  /** The index the log lacks (0 when no index is involved, as for `meta`). */
  readonly index: number;
  readonly reason: string;
}

/** The log ends below what state.db applied: entries that were durable before they were applied are gone. */
export class CorruptStateError extends Error {
  override name = 'CorruptStateError';
  constructor(
    message: string,
    readonly at: CorruptAt,
  ) {
    super(message);
  }
}

/** The one-line message and the place, when `error` is damage the node must refuse to start on; else null. */
export function corruptionOf(error: unknown): { message: string; at: CorruptAt } | null {
  if (error instanceof CorruptStateError) return { message: error.message, at: error.at };
  const sqlite = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && error.name === 'SqliteError' && (sqlite === 'SQLITE_CORRUPT' || sqlite === 'SQLITE_NOTADB')) {
    // Opening state.db (or the snapshot it is restored from) on start: a damaged database file, not a statement's fault.
    return {
      message: `corrupt state.db: SQLite says "${error.message}" (${sqlite}) while the node opens its state; it does not start; rebuild it from the others (restart with { rebuild: true }, or :rebuild in the dashboard), which replaces its state with a copy from the others`,
      at: { segment: 'state.db', offset: 0, index: 0, reason: sqlite.toLowerCase().replace('_', '-') },
    };
  }
  if (!(error instanceof WalError)) return null;
  if (error.code === 'corrupt' && error.corruption !== null) {
    const c = error.corruption;
    return { message: error.message, at: { segment: c.segment, offset: c.offset, index: c.index, reason: c.reason } };
  }
  if (error.code === 'corrupt-meta' && error.file !== null) {
    const name = basename(error.file) === 'base' ? 'wal/base' : basename(error.file);
    const what = name === 'meta' ? 'its term and vote' : name === 'wal/base' ? 'where its compacted log begins' : 'the log position it must not vote below';
    return {
      message: `corrupt ${name}: ${error.message}; the node does not know ${what}, so it does not start; rebuild it from the others (restart with { rebuild: true }, or :rebuild in the dashboard), which keeps the damaged file aside and loses nothing the others hold`,
      at: { segment: name, offset: 0, index: 0, reason: 'corrupt-meta' },
    };
  }
  return null;
}
