// Rowid exhaustion. SQLite gives a new row max(rowid) + 1, but once a table
// holds the largest rowid (2^63 - 1) it picks unused rowids at random, so
// every node would store the next plain insert under a different rowid. A
// rowid can reach the maximum in many ways the text does not show (a literal,
// a parameter, arithmetic, a string cast to an INTEGER PRIMARY KEY, a
// trigger), so the check is on the state instead: after each statement, no
// rowid table may hold the largest rowid, or the statement fails (and is
// undone) on every node alike. Statements run without a SAVEPOINT of their
// own; when the check trips, Store.applyBatch rolls the batch back and applies
// it again with one per statement, which undoes the offending one alone.

import type Database from 'better-sqlite3';
import { quoteIdentifier } from './checksum.js';

export const rowidMax = 9223372036854775807n;

export const rowidAtMaxMessage = (table: string): string =>
  `table ${table} would hold rowid 9223372036854775807, the largest SQLite has: after it SQLite picks new rowids at random, differently on every node, so the statement is refused; keep rowids and INTEGER PRIMARY KEY values below 9223372036854775807`;

export const sequenceAtMaxMessage = (table: string): string =>
  `the AUTOINCREMENT counter of table ${table} (its row in sqlite_sequence) would reach 9223372036854775807, the largest rowid SQLite has (or hold a value that is not an integer): its next insert would then fail with SQLITE_FULL, which SQLite also reports for a full disk, so the statement is refused; keep sqlite_sequence.seq below 9223372036854775807`;

/** What the check found: a table at the largest rowid, or an AUTOINCREMENT counter (sqlite_sequence) at it. */
export interface AtMax {
  readonly table: string;
  readonly counter: boolean;
}

/** The error apply raises inside the statement's SAVEPOINT (a careful re-apply), so the statement is undone. */
export class RowidAtMaxError extends Error {
  override name = 'RowidAtMaxError';
  constructor(readonly found: AtMax) {
    super(found.counter ? sequenceAtMaxMessage(found.table) : rowidAtMaxMessage(found.table));
  }
}

/**
 * One statement that names the first rowid table holding the largest rowid,
 * or the first AUTOINCREMENT counter at it, or null when there is none.
 * `max(rowid)` is one b-tree seek per table; sqlite_sequence holds a row per
 * AUTOINCREMENT table. A counter at the largest rowid makes the table's next
 * insert fail with SQLITE_FULL ("database or disk is full"), the code of a
 * full disk, which stops a node; SQLite reads a counter that is not an
 * integer as a number too, so a REAL, TEXT or BLOB counter counts as at the
 * maximum (`seq >= max` holds for every TEXT and BLOB in SQLite's ordering):
 * a false alarm, never a miss. Tables whose columns shadow all three rowid
 * aliases cannot be checked and are skipped (SQLite gives no other way to
 * read their rowid).
 */
export function prepareRowidCheck(db: Database.Database): Database.Statement | null {
  const tables = db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'shadow') AND wr = 0 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_replica\\_%' ESCAPE '\\' ORDER BY name").pluck().all() as string[];
  const probes: string[] = [];
  for (const table of tables) {
    const columns = new Set((db.prepare('SELECT name FROM pragma_table_xinfo(?)').pluck().all(table) as string[]).map((c) => c.toLowerCase()));
    const rowid = ['rowid', '_rowid_', 'oid'].find((alias) => !columns.has(alias));
    if (rowid === undefined) continue;
    const name = `'${table.replaceAll("'", "''")}'`;
    probes.push(`SELECT ${name} AS "table", 0 AS counter WHERE (SELECT max(${rowid}) FROM ${quoteIdentifier(table)}) = ${rowidMax}`);
  }
  const sequence = db.prepare("SELECT 1 FROM pragma_table_list WHERE schema = 'main' AND name = 'sqlite_sequence'").get() !== undefined;
  if (sequence) probes.push(`SELECT name AS "table", 1 AS counter FROM sqlite_sequence WHERE seq >= ${rowidMax}`);
  if (probes.length === 0) return null;
  return db.prepare(`${probes.join(' UNION ALL ')} LIMIT 1`);
}
