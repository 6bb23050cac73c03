// Rebuilding a node whose WAL is corrupt: its log and state are wiped and it
// is copied again from the leader by ordinary replication. What makes that
// safe is the floor written here before the wipe: the position (term, index)
// of the last record its old log held. Until its own durable log is at least
// as up to date as the floor, the node votes only for candidates whose log is
// (its old log's vote restriction, Raft §5.4.1, kept), never campaigns (its
// election timer does not run), and takes no leadership handed to it: it may
// have acknowledged entries it no longer holds, and an empty log would
// otherwise vote a leader without them into office. `meta` (term and vote) is
// kept, so it never votes twice in one term either.
//
// The supervisor writes the floor and wipes (wipeForRebuild); the node reads it
// on start (readRebuildFloor) and removes it once caught up (clearRebuildFloor).

import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { lastRecordPosition, WalError } from '../wal/index.js';
import { readHardState, writeHardState } from '../wal/hard-state.js';

/** `<node dir>/rebuild.json`: {"term":T,"index":I} of the last record the wiped log held. */
export const rebuildFloorFile = 'rebuild.json';

export interface LogPoint {
  readonly index: number;
  readonly term: number;
}

/** Raft's "at least as up to date" (§5.4.1): a higher last term, or the same term and a log at least as long. */
export function atLeastAsUpToDate(log: LogPoint, than: LogPoint): boolean {
  return log.term > than.term || (log.term === than.term && log.index >= than.index);
}

/** The floor of a node being rebuilt, or null. A floor file that does not parse is an error: refusing to start beats voting unsafely. */
export function readRebuildFloor(dir: string): LogPoint | null {
  let text: string;
  try {
    text = fs.readFileSync(join(dir, rebuildFloorFile), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const file = join(dir, rebuildFloorFile);
  let value: { index?: unknown; term?: unknown } | null = null;
  try {
    value = JSON.parse(text) as { index?: unknown; term?: unknown } | null;
  } catch {
    // Reported below, as any other floor that does not read back.
  }
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  // The node refuses to start on it (corrupt.ts); a rebuild replaces it (wipeForRebuild).
  if (typeof value !== 'object' || value === null || !ok(value.index) || !ok(value.term)) {
    throw new WalError('corrupt-meta', `${file} is not a rebuild floor ({"term":T,"index":I}): ${JSON.stringify(text.slice(0, 200))}`, { file });
  }
  return { index: value.index, term: value.term };
}

/** Removes the floor once the node's durable log reached it; durable before it returns. */
export function clearRebuildFloor(dir: string): void {
  fs.rmSync(join(dir, rebuildFloorFile), { force: true });
  syncDir(dir);
}

/**
 * Wipes a (stopped) node's log and state for a rebuild: `wal/`, `state.db`
 * (and its -wal, -shm), `snapshots/`. `meta` (term, vote) and `node.log` stay;
 * `rollback/` (records of rolled-back writes, evidence for the user) is moved
 * aside to `rollback-before-rebuild-<time>/`, out of the fresh store's way, and
 * so is anything of the wrong kind at those names (a directory named state.db,
 * a file named wal, a state.db that is not an SQLite database): never deleted,
 * since replica-lab did not write it. Their new names go to `keptAside`.
 * The floor is written, durably, before anything is removed, and never
 * lowered: a second rebuild before the node caught up keeps the first floor.
 * It is the most up to date of the last record the old log held and the
 * position state.db had applied (a log that lost its end, see
 * snapshots.ts refuseLostEntries, held entries up to there).
 *
 * A `meta` that does not read back (corrupt.ts) is moved aside to
 * `meta-corrupt-<time>` and replaced, before the wipe, by term
 * max(`termSeen`, the floor's term) with the vote given to the node itself.
 * `termSeen` is the highest term the caller knows of (every other node's
 * `meta`, what the nodes reported): a node votes in a term only when a
 * candidate asks, and that candidate saved the term first, so no term this
 * node voted in for another is above it; holding its own vote in that term,
 * the node cannot vote again in it, and later terms are new. (A term above it
 * that only this node ever reached it can have voted in only for itself, with
 * no other vote: no leader came of that.)
 * Returns the floor (null: the old log held nothing, so there is nothing to protect).
 */
export function wipeForRebuild(
  dir: string,
  now: Date = new Date(),
  options: { id?: string; termSeen?: number; keptAside?: string[]; floorSeen?: () => LogPoint | null } = {},
): LogPoint | null {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  let old: LogPoint | null;
  try {
    old = readRebuildFloor(dir);
  } catch (error) {
    if (!(error instanceof WalError) || error.code !== 'corrupt-meta') throw error;
    // The floor of an earlier rebuild is lost: its log is gone, so the most up to date log any other node holds stands in
    // (an entry this node acknowledged and that was committed is on another node of that majority).
    if (options.floorSeen === undefined) throw new Error(`${join(dir, rebuildFloorFile)} does not read back, and no other node's log position was given to replace it safely`);
    old = options.floorSeen();
    const aside = join(dir, `${rebuildFloorFile}-corrupt-${stamp}`);
    fs.renameSync(join(dir, rebuildFloorFile), aside);
    options.keptAside?.push(aside);
  }
  let floor = old;
  for (const point of [lastRecordPosition(fs, join(dir, 'wal')), appliedPosition(dir)]) {
    if (point !== null && (floor === null || !atLeastAsUpToDate(floor, point))) floor = point;
  }
  replaceCorruptMeta(dir, stamp, floor, options);
  if (floor !== null) {
    const tmp = join(dir, `${rebuildFloorFile}.tmp`);
    // Never through a symbolic link (the supervisor refuses a node dir holding one, see refuseLinksInNodeDir).
    const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = fs.constants;
    const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify({ term: floor.term, index: floor.index })}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, join(dir, rebuildFloorFile));
    syncDir(dir);
  }
  const rollback = join(dir, 'rollback');
  if (fs.existsSync(rollback)) fs.renameSync(rollback, join(dir, `rollback-before-rebuild-${stamp}`));
  for (const name of ['wal', 'snapshots', 'state.db', 'state.db-wal', 'state.db-shm', 'state.db-journal']) {
    const path = join(dir, name);
    if (inTheWay(path, name === 'wal' || name === 'snapshots' ? 'dir' : 'file', name === 'state.db')) {
      const aside = join(dir, `${name}-in-the-way-${stamp}`);
      fs.renameSync(path, aside);
      options.keptAside?.push(aside);
    } else {
      fs.rmSync(path, { recursive: true, force: true });
    }
  }
  syncDir(dir);
  return floor;
}

/** True when `path` exists and is not what replica-lab keeps there (a symbolic link is refused before, by the supervisor). */
function inTheWay(path: string, kind: 'dir' | 'file', sqlite: boolean): boolean {
  let stats: fs.Stats;
  try {
    stats = fs.lstatSync(path);
  } catch {
    return false;
  }
  if (kind === 'dir') return !stats.isDirectory();
  if (!stats.isFile()) return true;
  return sqlite && !looksLikeSqlite(path);
}

/** SQLite's file header, the first 16 bytes of every database file (an empty file is a database not yet written). */
const sqliteHeader = Buffer.from('SQLite format 3\0', 'latin1');

/** True when the regular file at `path` is empty or starts with SQLite's header. */
export function looksLikeSqlite(path: string): boolean {
  const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    const head = Buffer.alloc(sqliteHeader.length);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return n === 0 || (n === head.length && head.equals(sqliteHeader));
  } finally {
    fs.closeSync(fd);
  }
}

/** The (index, term) state.db had applied, or null when it cannot be read (absent, damaged, not a database). */
function appliedPosition(dir: string): LogPoint | null {
  const path = join(dir, 'state.db');
  try {
    if (!fs.lstatSync(path).isFile() || !looksLikeSqlite(path)) return null;
  } catch {
    return null;
  }
  let db: Database.Database | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const row = db.prepare('SELECT applied_index AS "index", applied_term AS term FROM _replica_state').get() as { index?: unknown; term?: unknown } | undefined;
    const ok = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
    return row !== undefined && ok(row.index) && ok(row.term) && row.index > 0 ? { index: row.index, term: row.term } : null;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/** The most up to date last position of the logs in these node dirs (read past any damage), or null. */
export function mostUpToDateLog(dirs: readonly string[]): LogPoint | null {
  let best: LogPoint | null = null;
  for (const dir of dirs) {
    let point: LogPoint | null = null;
    try {
      point = lastRecordPosition(fs, join(dir, 'wal'));
    } catch {
      // A node dir in no state to read tells nothing.
    }
    if (point !== null && (best === null || !atLeastAsUpToDate(best, point))) best = point;
  }
  return best;
}

/** The highest term in the `meta` of these node dirs (those that read back); 0 when none does. */
export function highestSavedTerm(dirs: readonly string[]): number {
  let term = 0;
  for (const dir of dirs) {
    try {
      term = Math.max(term, readHardState({ fs, dir }).term);
    } catch {
      // Absent dir, corrupt meta: it tells nothing.
    }
  }
  return term;
}

/** See wipeForRebuild: a meta that does not read back is kept aside and replaced by a safe one, durably. */
function replaceCorruptMeta(dir: string, stamp: string, floor: LogPoint | null, options: { id?: string; termSeen?: number; keptAside?: string[] }): void {
  try {
    readHardState({ fs, dir });
    return;
  } catch (error) {
    // EISDIR: a directory named meta, in the way (the supervisor refuses to start the node on it): kept aside too.
    const inTheWay = (error as NodeJS.ErrnoException).code === 'EISDIR';
    if (!inTheWay && (!(error instanceof WalError) || error.code !== 'corrupt-meta')) throw error;
  }
  if (options.id === undefined || options.termSeen === undefined) throw new Error(`${join(dir, 'meta')} does not read back, and no node id and highest term were given to replace it safely`);
  const aside = join(dir, `meta-corrupt-${stamp}`);
  fs.renameSync(join(dir, 'meta'), aside);
  options.keptAside?.push(aside);
  writeHardState({ fs, dir, fsync: true, hardState: { term: Math.max(options.termSeen, floor?.term ?? 0), vote: options.id } });
}

/**
 * True when the node dir holds a log to copy from: WAL segments, or a
 * compacted log's base (after a snapshot install its log may hold no segment
 * yet, the snapshot being its state), and no floor (it is not awaiting a
 * rebuild itself).
 */
export function holdsData(dir: string): boolean {
  if (fs.existsSync(join(dir, rebuildFloorFile))) return false;
  try {
    return fs.readdirSync(join(dir, 'wal')).some((name) => name.endsWith('.seg') || name === 'base');
  } catch {
    return false;
  }
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
