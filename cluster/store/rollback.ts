// Rollback: the entries a new leader's log does not hold are written to a
// file (MongoDB's rollback files) before the state that contains them is
// thrown away, so a person can see, and re-apply by hand, every undone write.

import { closeSync, constants, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Entry, EntryKind } from '../core/index.js';
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

/** Where a rollback file was written, and the entries it records (lowest index first). */
export interface RollbackRecord {
  /** The file's path. */
  readonly path: string;
  /** Its name in `<dir>/rollback/`: what state.db's `_replica_rollbacks` records once the undo commits. */
  readonly name: string;
  readonly entries: readonly { readonly index: number; readonly term: number }[];
}

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/**
 * Writes `entries` (ascending index) durably to `<dir>/rollback/<time>-<from>-<to>.jsonl`
 * and returns the path. The time is ISO 8601 with ':' replaced by '-', so the
 * name is valid on every file system; a second file in the same millisecond gets a suffix.
 * The lines go to `<name>.tmp` first, which is fsynced and then linked to its
 * name (a link never replaces a file) and the directory fsynced: a crash leaves
 * the whole file or none, never a torn record.
 */
export function writeRollbackFile(dir: string, entries: readonly Entry[], now: Date): string {
  const folder = join(dir, 'rollback');
  mkdirSync(folder, { recursive: true });
  const stem = `${now.toISOString().replaceAll(':', '-')}-${entries[0]?.index}-${entries.at(-1)?.index}`;
  const text = entries.map((entry) => `${rollbackLine(entry)}\n`).join('');
  for (let attempt = 1; ; attempt++) {
    const path = join(folder, `${stem}${attempt === 1 ? '' : `-${attempt}`}.jsonl`);
    const temporary = `${path}.tmp`;
    rmSync(temporary, { force: true }); // left by a crash while it was written
    const fd = openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temporary, path);
    } catch (error) {
      rmSync(temporary, { force: true });
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
    rmSync(temporary);
    fsyncDirectory(folder);
    return path;
  }
}

/** The (index, term) of each line of a rollback file, or null when a line is not one this code writes. */
function recordedEntries(path: string): { index: number; term: number }[] | null {
  const entries: { index: number; term: number }[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      const { index, term } = JSON.parse(line) as { index?: unknown; term?: unknown };
      if (typeof index !== 'number' || typeof term !== 'number') return null;
      entries.push({ index, term });
    } catch {
      return null;
    }
  }
  return entries;
}

/**
 * The writes a rollback file records, lowest index first, as a node reports
 * them in 'rollback-written': for a rollback that a start completes from its
 * file (Store.finishInterruptedRollback). A line this code did not write
 * gives a write of kind 'sql' without its statement.
 */
export function recordedWrites(record: RollbackRecord): { index: number; term: number; kind: EntryKind; sql: string | null }[] {
  const lines = readFileSync(record.path, 'utf8').split('\n').filter((line) => line !== '');
  return record.entries.map(({ index, term }, i) => {
    let parsed: { kind?: unknown; sql?: unknown } = {};
    try {
      parsed = JSON.parse(lines[i] ?? '{}') as { kind?: unknown; sql?: unknown };
    } catch {
      // recordedEntries read this line already; a file changed since keeps its (index, term).
    }
    const kind: EntryKind = parsed.kind === 'noop' || parsed.kind === 'config' ? parsed.kind : 'sql';
    return { index, term, kind, sql: kind === 'sql' && typeof parsed.sql === 'string' ? parsed.sql : null };
  });
}

/**
 * Rollback files written for an undo that has not committed: not listed in
 * `done` (state.db's `_replica_rollbacks`) and ending with the entry state.db
 * still has applied. A crash after the file was made durable and before the
 * undo committed leaves one (Store.finishInterruptedRollback settles it).
 * Stray `.tmp` files of a crash mid-write are removed.
 */
export function pendingRollbacks(dir: string, applied: { index: number; term: number }, done: (name: string) => boolean): RollbackRecord[] {
  const folder = join(dir, 'rollback');
  if (!existsSync(folder) || applied.index === 0) return [];
  const ending = new RegExp(`-${applied.index}(?:-\\d+)?\\.jsonl$`);
  const pending: RollbackRecord[] = [];
  for (const name of readdirSync(folder).sort()) {
    if (name.endsWith('.jsonl.tmp')) {
      rmSync(join(folder, name), { force: true });
      continue;
    }
    if (!ending.test(name) || done(name)) continue;
    const path = join(folder, name);
    const entries = recordedEntries(path);
    const last = entries?.at(-1);
    if (entries === null || last?.index !== applied.index || last.term !== applied.term) continue;
    pending.push({ path, name, entries });
  }
  return pending;
}

/** Removes rollback files whose undo never happened (superseded by another), and makes the removal durable. */
export function removeRollbackFiles(records: readonly RollbackRecord[]): void {
  if (records.length === 0) return;
  for (const record of records) rmSync(record.path, { force: true });
  fsyncDirectory(dirname(records[0]!.path));
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
