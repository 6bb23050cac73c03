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

/** The error apply raises inside the statement's SAVEPOINT (a careful re-apply), so the statement is undone. */
export class RowidAtMaxError extends Error {
  override name = 'RowidAtMaxError';
  constructor(readonly table: string) {
    super(rowidAtMaxMessage(table));
  }
}

/**
 * One statement that names the first rowid table holding the largest rowid,
 * or null when there is none. `max(rowid)` is one b-tree seek per table.
 * Tables whose columns shadow all three rowid aliases cannot be checked and
 * are skipped (SQLite gives no other way to read their rowid).
 */
export function prepareRowidCheck(db: Database.Database): Database.Statement | null {
  const tables = db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'shadow') AND wr = 0 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_replica\\_%' ESCAPE '\\' ORDER BY name").pluck().all() as string[];
  const probes: string[] = [];
  for (const table of tables) {
    const columns = new Set((db.prepare('SELECT name FROM pragma_table_xinfo(?)').pluck().all(table) as string[]).map((c) => c.toLowerCase()));
    const rowid = ['rowid', '_rowid_', 'oid'].find((alias) => !columns.has(alias));
    if (rowid === undefined) continue;
    const name = `'${table.replaceAll("'", "''")}'`;
    probes.push(`SELECT ${name} WHERE (SELECT max(${rowid}) FROM ${quoteIdentifier(table)}) = ${rowidMax}`);
  }
  if (probes.length === 0) return null;
  return db.prepare(`${probes.join(' UNION ALL ')} LIMIT 1`).pluck();
}
