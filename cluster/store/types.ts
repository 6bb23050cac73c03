// The store's public data types. Results are plain data: they cross IPC to
// the supervisor and into recorded histories.

import type { Entry } from '../core/index.js';

export interface StoreOptions {
  /** The node's data dir; the database is `<dir>/state.db`, rollback files go to `<dir>/rollback/`. */
  readonly dir: string;
  /** Apply random() and clock reads as each node evaluates them (the unsafe option; see sql-rules.ts RuleOptions). */
  readonly allowNondeterministic?: boolean;
}

/** What applying one entry did, for the leader to tell the client. Plain data: it crosses IPC. */
export type ApplyResult =
  | {
      readonly ok: true;
      /** True when the entry repeated a client request already applied: nothing ran. */
      readonly duplicate: boolean;
      /** Rows inserted, updated or deleted by the statement itself (0 for DDL, noop, config). */
      readonly changes: number;
      /** The rowid of the last row inserted, when the statement changed rows; else 0. */
      readonly lastInsertRowid: number;
    }
  | {
      readonly ok: false;
      /** A message for a person: what SQLite or the store's rules said. */
      readonly error: string;
      /** The SQLite error code (`SQLITE_CONSTRAINT_UNIQUE`, …), a StatementProblem, or 'malformed-entry'. */
      readonly code: string;
    };

/** A value as a query returns it: INTEGER and REAL as number, TEXT as string, BLOB as bytes. */
export type SqlValue = string | number | null | Uint8Array;

export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly SqlValue[])[];
  /** True when the statement had more than queryRowsMax rows and only the first ones are here. */
  readonly truncated: boolean;
}

export interface RollbackOptions {
  /** The entries to undo, highest index first, as Ready.rollback gives them; the first is the last applied. */
  readonly undone: readonly Entry[];
  /** Entries 1..n to replay, where n + 1 is the lowest undone index. */
  readonly log: readonly Entry[];
  /** The time in the rollback file's name; tests pass one. */
  readonly now?: Date;
}
