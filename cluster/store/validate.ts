// validateStatement: what the leader asks before it proposes a write. It runs
// the lexical rules (sql-rules.ts), then lets SQLite parse the statement on a
// scratch in-memory database that holds only the store's own tables.

import Database from 'better-sqlite3';
import { StatementError } from './errors.js';
import { internalTablesSql, kvTableSql, registerLogIndex } from './schema.js';
import { checkStatementText, type RuleOptions } from './sql-rules.js';
import { unboundedProblem } from './bounds.js';
import { normalizeParams } from './statement.js';
import { statementCacheMax } from './constants.js';
import { memoizeText } from './memo.js';

/**
 * SQLite errors that do not depend on the schema: the statement is wrong on
 * every node, whatever tables exist. Any other prepare error on the scratch
 * database (no such table, no such column, …) may be fine on the real one, so
 * it is left for apply time, where it fails the same way on every node.
 */
const parseErrors = [/syntax error/, /incomplete input/, /unrecognized token/];
const schemaFreeErrors = [
  /^no such function/,
  /^wrong number of arguments to function/,
  /^trigger cannot use variables/,
  /^parameters are not allowed/,
  /^default value of column .* is not constant/,
  /^no such module/,
  /^unknown table option/,
  /^misuse of (aggregate|window) function/,
  /^too many SQL variables/,
];

let scratch: Database.Database | null = null;

/** A connection that never executes anything: it only prepares statements to find parse errors. */
function scratchDatabase(): Database.Database {
  if (scratch !== null) return scratch;
  scratch = new Database(':memory:');
  for (const sql of [kvTableSql, ...internalTablesSql]) scratch.exec(sql);
  registerLogIndex(scratch, () => null);
  return scratch;
}

/** What SQLite says about the statement when it cannot be right on any node; null otherwise. Memoized per text. */
const parseProblem = memoizeText(scratchParseProblem, statementCacheMax);

function scratchParseProblem(sql: string): StatementError | null {
  let statement: Database.Statement;
  try {
    statement = scratchDatabase().prepare(sql);
  } catch (error) {
    const message = (error as Error).message;
    if (parseErrors.some((pattern) => pattern.test(message))) return new StatementError('syntax', `SQLite cannot parse the statement: ${message}`);
    if (schemaFreeErrors.some((pattern) => pattern.test(message))) return new StatementError('invalid', `SQLite rejects the statement: ${message}`);
    return null;
  }
  if (statement.readonly) return new StatementError('read-only', 'this statement only reads: send it with query(), which reads one node without going through the log');
  return null;
}

/**
 * Null when `sql` with `params` may be proposed as a replicated write, else a
 * StatementError whose `problem` says what kind of mistake it is and whose
 * message tells a person what to change. Pure: it depends on its arguments
 * only, never on a store's schema or data.
 */
export function findStatementProblem(sql: string, params: readonly unknown[] = [], rules: RuleOptions = {}): StatementError | null {
  if (typeof sql !== 'string') return new StatementError('syntax', 'the statement must be a string of SQL');
  const normalized = normalizeParams(params);
  if (normalized instanceof StatementError) return normalized;
  return checkStatementText(sql, normalized, rules) ?? unboundedProblem(sql, normalized) ?? parseProblem(sql);
}

/**
 * True when this process has checked `sql`'s text before and kept what it found (the trial prepare, the slowest
 * part of the check): a write of a text met for the first time pays for that analysis once.
 */
export function statementTextKnown(sql: string): boolean {
  return parseProblem.has(sql);
}

/** The leader's check before it proposes a write: null, or a message a person can act on. */
export function validateStatement(sql: string, params: readonly unknown[] = [], rules: RuleOptions = {}): string | null {
  return findStatementProblem(sql, params, rules)?.message ?? null;
}
