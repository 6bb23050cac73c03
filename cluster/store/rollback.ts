// Rollback: the entries a new leader's log does not hold are written to a
// file (MongoDB's rollback files) before the state that contains them is
// thrown away, so a person can see, and re-apply by hand, every undone write.

import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Entry } from '../core/index.js';
import { quoteIdentifier } from './checksum.js';
import { MalformedEntryError } from './errors.js';
import { decodeStatement } from './statement.js';

/** One line of a rollback file: the entry with its statement decoded. */
function rollbackLine(entry: Entry): string {
  let statement: { sql: string | null; params: unknown[] | null; data?: string } = { sql: null, params: null };
  if (entry.kind === 'sql') {
    try {
      const decoded = decodeStatement(entry.data);
      statement = { sql: decoded.sql, params: [...decoded.params] };
    } catch (error) {
      if (!(error instanceof MalformedEntryError)) throw error;
      statement = { sql: null, params: null, data: entry.data };
    }
  }
  const { index, term, lsn, kind } = entry;
  return JSON.stringify({ index, term, lsn, kind, ...statement, client: entry.client ?? null, request: entry.request ?? null });
}

/** Makes a new directory entry durable; a no-op where directories cannot be fsynced (Windows). */
function fsyncDirectory(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `entries` (ascending index) durably to `<dir>/rollback/<time>-<from>-<to>.jsonl`
 * and returns the path. The time is ISO 8601 with ':' replaced by '-', so the
 * name is valid on every file system; a second file in the same millisecond gets a suffix.
 */
export function writeRollbackFile(dir: string, entries: readonly Entry[], now: Date): string {
  const folder = join(dir, 'rollback');
  mkdirSync(folder, { recursive: true });
  const stem = `${now.toISOString().replaceAll(':', '-')}-${entries[0]?.index}-${entries.at(-1)?.index}`;
  for (let attempt = 1; ; attempt++) {
    const path = join(folder, `${stem}${attempt === 1 ? '' : `-${attempt}`}.jsonl`);
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
    try {
      writeSync(fd, entries.map((entry) => `${rollbackLine(entry)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    fsyncDirectory(folder);
    return path;
  }
}

/**
 * Drops every object that is not the store's bookkeeping: views, triggers,
 * tables (kv too: the caller recreates it, so an altered kv is reset) and
 * ANALYZE's statistics. Runs inside the caller's transaction. Foreign keys are
 * deferred while dropping, so parents may go before their children.
 */
export function dropUserObjects(db: Database.Database): void {
  db.pragma('defer_foreign_keys = ON');
  const objects = db
    .prepare(
      `SELECT type, name FROM sqlite_schema
       WHERE type IN ('view', 'trigger', 'table') AND name NOT LIKE '\\_replica\\_%' ESCAPE '\\'
         AND (name NOT LIKE 'sqlite\\_%' ESCAPE '\\' OR name LIKE 'sqlite\\_stat%' ESCAPE '\\')
       ORDER BY CASE type WHEN 'view' THEN 0 WHEN 'trigger' THEN 1 ELSE 2 END, name`,
    )
    .all() as { type: 'view' | 'trigger' | 'table'; name: string }[];
  // IF EXISTS: dropping a virtual table drops its shadow tables with it.
  for (const { type, name } of objects) db.exec(`DROP ${type.toUpperCase()} IF EXISTS ${quoteIdentifier(name)}`);
  const sequence = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'").get();
  if (sequence !== undefined) db.exec('DELETE FROM sqlite_sequence');
  db.pragma('defer_foreign_keys = OFF');
}
