// The tables every state.db has, the SQL function `log_index()`, and the
// check that an existing state.db is one this code can read. The validator's
// scratch database gets the same tables, so a statement on kv is checked
// against the real columns.

import type Database from 'better-sqlite3';
import { storeFormatVersion } from './constants.js';
import { assert } from './errors.js';

/** The workload table: `idx` is the log index of the write that last changed the row. */
export const kvTableSql = 'CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT, idx INTEGER)';

/** Tables that are the store's bookkeeping, not data: writes to `_replica_*` are rejected. */
export const internalTablesSql = [
  'CREATE TABLE _replica_state (applied_index INTEGER NOT NULL, applied_term INTEGER NOT NULL)',
  'CREATE TABLE _replica_requests (client TEXT PRIMARY KEY, request INTEGER NOT NULL)',
];

/**
 * The rollback files whose undo has committed, by name (see rollback.ts): a
 * file not listed here whose last entry is the applied one was written by an
 * undo a crash interrupted. Created in every state.db, old ones included; not
 * in the checksum (each node has its own history of rollbacks).
 */
export const rollbacksTableSql = 'CREATE TABLE IF NOT EXISTS _replica_rollbacks (file TEXT NOT NULL)';

export const logIndexOutsideApply =
  'log_index() is the index of the log entry being applied: it works only in a replicated write (execute), never in a query';

/**
 * Registers `log_index()`. It is deterministic (the same entry gives the same
 * value on every node), so SQLite also allows it in CHECK constraints, index
 * expressions and generated columns. `current` returns null outside apply.
 */
export function registerLogIndex(db: Database.Database, current: () => number | null): void {
  db.function('log_index', { deterministic: true }, () => {
    const index = current();
    if (index === null) throw new Error(logIndexOutsideApply);
    return index;
  });
}

/** Creates the tables of a new state.db, or checks that an existing one is a store this code can read. */
export function initialize(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === 0) {
      for (const sql of [...internalTablesSql, kvTableSql]) db.exec(sql);
      db.prepare('INSERT INTO _replica_state (applied_index, applied_term) VALUES (0, 0)').run();
      db.pragma(`user_version = ${storeFormatVersion}`);
    } else if (version !== storeFormatVersion) {
      throw new Error(`${db.name} has store format ${version}; this replica-lab reads format ${storeFormatVersion}. Move the node's data dir away to start it afresh.`);
    }
    db.exec(rollbacksTableSql);
    const rows = db.prepare('SELECT count(*) AS count FROM _replica_state').get() as { count: number };
    assert(rows.count === 1, `_replica_state holds ${rows.count} rows, not 1`);
  }).immediate();
}
