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
import { lastRecordPosition } from '../wal/index.js';

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
  const value = JSON.parse(text) as { index?: unknown; term?: unknown };
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!ok(value.index) || !ok(value.term)) throw new Error(`${join(dir, rebuildFloorFile)} is not a rebuild floor ({"term":T,"index":I}): ${text.slice(0, 200)}`);
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
 * aside to `rollback-before-rebuild-<time>/`, out of the fresh store's way.
 * The floor is written, durably, before anything is removed, and never
 * lowered: a second rebuild before the node caught up keeps the first floor.
 * Returns the floor (null: the old log held nothing, so there is nothing to protect).
 */
export function wipeForRebuild(dir: string, now: Date = new Date()): LogPoint | null {
  const old = readRebuildFloor(dir);
  const last = lastRecordPosition(fs, join(dir, 'wal'));
  const floor = old === null ? last : last === null || atLeastAsUpToDate(old, last) ? old : last;
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
  if (fs.existsSync(rollback)) fs.renameSync(rollback, join(dir, `rollback-before-rebuild-${now.toISOString().replace(/[:.]/g, '-')}`));
  for (const name of ['wal', 'snapshots', 'state.db', 'state.db-wal', 'state.db-shm', 'state.db-journal']) fs.rmSync(join(dir, name), { recursive: true, force: true });
  syncDir(dir);
  return floor;
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
