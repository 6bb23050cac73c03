// Which SQLite errors are the statement's fault (the same on every replica)
// and which are this node's trouble (a disk, a lock), and how query() reports them.

import Database from 'better-sqlite3';
import { StatementError } from './errors.js';
import { logIndexOutsideApply } from './schema.js';
import type { ApplyResult } from './types.js';

/** SQLite result codes that a statement earns by itself: every replica gets the same one. */
const statementFailureCodes = ['SQLITE_ERROR', 'SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_TOOBIG', 'SQLITE_RANGE'];

/**
 * True for an error that the statement and the data caused, so it happens on
 * every replica alike. I/O errors, a full disk, corruption or a lock are this
 * node's trouble: they are rethrown and crash the node, which retries the
 * entry on restart instead of recording a failure its peers did not have.
 */
export function isStatementFailure(error: unknown): error is Error {
  if (error instanceof RangeError) return true; // better-sqlite3: wrong number of parameters
  if (!(error instanceof Database.SqliteError)) return false;
  return statementFailureCodes.some((code) => error.code === code || error.code.startsWith(`${code}_`));
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
