// Which SQLite errors are this node's trouble (a disk, memory, a lock, a
// corrupt database file) and which are the statement's result (the same on
// every replica), and how query() reports them.

import Database from 'better-sqlite3';
import { StatementError } from './errors.js';
import { logIndexOutsideApply } from './schema.js';
import type { ApplyResult } from './types.js';

/**
 * SQLite result codes of the node's environment, not of the statement: I/O,
 * a full disk, out of memory, busy or locked, a database file that is corrupt
 * or not a database, a file that cannot be opened or written. A deny-list: any
 * other SQLite error is the statement's result, so an error code this list
 * forgot records a failure on every node instead of crashing them all. Codes
 * match exactly or with an extended suffix (`SQLITE_IOERR_WRITE`), except
 * SQLITE_CORRUPT, which matches exactly: SQLITE_CORRUPT_VTAB (a virtual table,
 * e.g. an fts5 integrity-check on its content table) and SQLITE_CORRUPT_INDEX
 * are about the data and the statement, the same on every node.
 */
const environmentCodes: readonly { readonly code: string; readonly extended: boolean }[] = [
  { code: 'SQLITE_IOERR', extended: true },
  { code: 'SQLITE_FULL', extended: true },
  { code: 'SQLITE_NOMEM', extended: true },
  { code: 'SQLITE_BUSY', extended: true },
  { code: 'SQLITE_LOCKED', extended: true },
  { code: 'SQLITE_CORRUPT', extended: false },
  { code: 'SQLITE_CANTOPEN', extended: true },
  { code: 'SQLITE_READONLY', extended: true },
  { code: 'SQLITE_NOTADB', extended: true },
  { code: 'SQLITE_PROTOCOL', extended: true },
  { code: 'SQLITE_NOLFS', extended: true },
  { code: 'SQLITE_PERM', extended: true },
];

/** True for an SQLite error of this node's environment (see environmentCodes): the node must stop, not record a failure. */
export function isEnvironmentError(error: unknown): error is InstanceType<typeof Database.SqliteError> {
  if (!(error instanceof Database.SqliteError)) return false;
  return environmentCodes.some(({ code, extended }) => error.code === code || (extended && error.code.startsWith(`${code}_`)));
}

/**
 * True for an error that the statement and the data caused, so it happens on
 * every replica alike: every SQLite error outside the environment deny-list,
 * and better-sqlite3's RangeError for a wrong number of parameters. Anything
 * else thrown during apply (an environment error, a StoreAssertionError, a bug)
 * is rethrown and stops the node.
 */
export function isStatementFailure(error: unknown): error is Error {
  if (error instanceof RangeError) return true; // better-sqlite3: wrong number of parameters
  return error instanceof Database.SqliteError && !isEnvironmentError(error);
}

/** Thrown by apply for an environment error: the node stops with this message and applies the entries again on restart. */
export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
  constructor(
    readonly firstIndex: number,
    readonly lastIndex: number,
    readonly code: string,
    cause: Error,
  ) {
    const entries = firstIndex === lastIndex ? `entry ${firstIndex}` : `entries ${firstIndex}-${lastIndex}`;
    super(
      `state.db failed applying ${entries} with ${code} (${cause.message}): an error of this node's environment (disk, memory, lock or database file), not of the statement, so the node stops instead of recording a result its peers may not have; fix the cause and restart the node, which applies the entries again`,
    );
    // No `cause`: Node prints its whole stack after this one, pushing the message out of the node.log tail the supervisor reports.
  }
}

export function failure(code: string, error: string): ApplyResult {
  return { ok: false, error, code };
}

/** Errors from query(): the user's mistake becomes a StatementError, anything else is rethrown. */
export function queryError(error: unknown): unknown {
  if (error instanceof StatementError) return error;
  if (error instanceof Error && error.message === logIndexOutsideApply) return new StatementError('failed', error.message);
  if (error instanceof RangeError) {
    if (/more than one statement/.test(error.message)) return new StatementError('multiple-statements', 'query() runs one statement per call');
    if (/no statements/.test(error.message)) return new StatementError('empty', 'there is no SQL statement to run');
    return new StatementError('params', error.message);
  }
  if (!isStatementFailure(error)) return error;
  const syntax = /syntax error|incomplete input|unrecognized token/.test(error.message);
  return new StatementError(syntax ? 'syntax' : 'failed', `SQLite: ${error.message}`);
}
